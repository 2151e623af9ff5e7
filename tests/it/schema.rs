//! The published JSON Schemas match the Rust types they are generated from.

use crate::util::{golden, root};

#[test]
fn checked_in_schemas_match_the_code() {
    golden(&root().join("specs/spec.schema.json"), &vantage::schema::spec());
    golden(&root().join("specs/findings.schema.json"), &vantage::schema::findings());
}

#[test]
fn schemas_are_draft_07_and_closed() {
    let spec: serde_json::Value = serde_json::from_str(&vantage::schema::spec()).expect("JSON");
    assert_eq!(spec["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(
        spec["additionalProperties"], false,
        "unknown top-level keys are refused by the schema too"
    );
    assert_eq!(spec["required"], serde_json::json!(["version"]));
    let findings: serde_json::Value =
        serde_json::from_str(&vantage::schema::findings()).expect("JSON");
    let mut rules: Vec<&str> = findings["definitions"]["Rule"]["enum"]
        .as_array()
        .expect("rule enum")
        .iter()
        .map(|r| r.as_str().expect("rule name"))
        .collect();
    let mut waivable = vantage::spec::resolve::RULES.to_vec();
    rules.sort_unstable();
    waivable.sort_unstable();
    assert_eq!(rules, waivable, "findings schema and waiver `rule` accept the same rule names");
    let required = findings["definitions"]["Finding"]["required"].as_array().expect("required");
    for field in [
        "rule", "severity", "vantage", "target", "host", "port", "proto", "expected", "observed",
        "evidence", "waived",
    ] {
        assert!(
            required.iter().any(|r| r == field),
            "`{field}` is always present (null where it does not apply)"
        );
    }
}
