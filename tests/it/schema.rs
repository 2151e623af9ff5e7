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
    let rules = findings["definitions"]["Rule"]["enum"].as_array().expect("rule enum").len();
    assert_eq!(
        rules,
        vantage::spec::resolve::RULES.len(),
        "findings schema and waiver rules list the same rules"
    );
}
