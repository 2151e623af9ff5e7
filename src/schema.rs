//! JSON Schemas (draft-07) of the spec and of the findings document,
//! generated from the Rust types that define them. `specs/*.schema.json`
//! are these functions' output, checked by a test so they never drift.

use schemars::generate::SchemaSettings;

/// The schema of the intent spec (`specs/spec.schema.json`).
pub fn spec() -> String {
    let schema = SchemaSettings::draft07().into_generator().into_root_schema_for::<crate::spec::shape::RawSpec>();
    pretty(&schema)
}

/// The schema of the findings document (`specs/findings.schema.json`).
pub fn findings() -> String {
    let schema = SchemaSettings::draft07().into_generator().into_root_schema_for::<crate::report::document::Document>();
    pretty(&schema)
}

fn pretty(schema: &schemars::Schema) -> String {
    // Serializing a `serde_json::Value` cannot fail.
    let mut s = serde_json::to_string_pretty(schema.as_value()).unwrap_or_default();
    s.push('\n');
    s
}
