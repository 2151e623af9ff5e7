//! JSON Schemas (draft-07) of the spec and of the findings document,
//! generated from the Rust types that define them. `specs/*.schema.json`
//! are these functions' output, checked by a test so they never drift.

use schemars::generate::SchemaSettings;
use serde_json::Value;

/// The schema of the intent spec (`specs/spec.schema.json`).
///
/// Optional fields are simply optional: the spec walker refuses `null`
/// where a value is expected, so the schema must not advertise `null`.
pub fn spec() -> String {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<crate::spec::shape::RawSpec>();
    let mut value = schema.to_value();
    strip_null(&mut value);
    pretty(&value)
}

/// The schema of the findings document (`specs/findings.schema.json`).
/// Here `null` is meaningful (`"port": null` where no port applies), and
/// every field of a finding is always present: schemars lists an `Option`
/// field as optional, and marking it required drops its `null`, so the
/// finding's properties are all made required here instead.
pub fn findings() -> String {
    let schema = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<crate::report::document::Document>();
    let mut value = schema.to_value();
    if let Some(finding) = value.pointer_mut("/definitions/Finding")
        && let Some(Value::Object(props)) = finding.get("properties")
    {
        let all: Vec<Value> = props.keys().map(|k| Value::String(k.clone())).collect();
        finding["required"] = Value::Array(all);
    }
    pretty(&value)
}

/// Turns `"type": ["T", "null"]` into `"type": "T"` and drops `{"type": "null"}`
/// alternatives of `anyOf`, everywhere.
fn strip_null(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(alternatives)) = map.get_mut("anyOf") {
                alternatives.retain(|a| a.get("type").is_none_or(|t| t != "null"));
                if alternatives.len() == 1 {
                    let only = alternatives.remove(0);
                    map.remove("anyOf");
                    if let Value::Object(inner) = only {
                        for (k, v) in inner {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
            }
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".to_owned(), only);
                }
            }
            map.values_mut().for_each(strip_null);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

fn pretty(value: &Value) -> String {
    // Serializing a `serde_json::Value` cannot fail.
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}
