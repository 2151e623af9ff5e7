//! Every report format against golden files (`tests/data/golden/<format>/`,
//! rewritten with `UPDATE_GOLDEN=1`), rendered from one verdict over the
//! fixtures in `tests/data/verdict/`, and parsed back where the format
//! allows: JSON against `specs/findings.schema.json`, SARIF against the
//! SARIF 2.1.0 schema and GitHub's ingestion rules.

use std::path::Path;

use vantage::report::document::Document;
use vantage::verdict::{Source, TlsPolicies, judge};

use crate::util::{golden, root};

/// The fixtures' verdict at a fixed time: CHG-1042 in force, CHG-0999 expired.
pub(crate) fn fixture_document(files: &[&str]) -> Document {
    let spec = "tests/data/verdict/spec.yaml";
    let loaded = vantage::spec::load(&root().join(spec));
    let intent = loaded.intent.expect("the fixture spec is valid");
    let read: Vec<(String, vantage::observe::ObservationFile)> = files
        .iter()
        .map(|f| {
            let path = format!("tests/data/verdict/{f}");
            let file = vantage::observe::read(&root().join(&path)).expect("fixture reads");
            (path, file)
        })
        .collect();
    let sources: Vec<Source<'_>> = read.iter().map(|(name, file)| Source { name, file }).collect();
    let now: jiff::Timestamp = "2026-03-02T08:00:00Z".parse().expect("time");
    let tls = TlsPolicies::load(&intent, |p| std::fs::read(p)).expect("TLS policies");
    let verdict = judge(&intent, &tls, &sources, &[], Some(&loaded.digest), now).expect("judged");
    // Locations name the spec as loaded (an absolute path here): make them
    // relative, as the CLI run from the root gives them.
    let mut doc = verdict.document(spec, now);
    let prefix = format!("{}/", root().display());
    for f in &mut doc.findings {
        f.location.file = f.location.file.trim_start_matches(&prefix).to_owned();
    }
    doc
}

const ALL: &[&str] = &["outside.jsonl", "inside-0.jsonl", "inside-1.jsonl"];

fn render(write: fn(&Document, &mut dyn std::io::Write) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&fixture_document(ALL), &mut out).expect("renders");
    String::from_utf8(out).expect("UTF-8")
}

fn golden_of(format: &str, text: &str) {
    golden(&root().join(format!("tests/data/golden/{format}/verdict.out")), text);
}

fn validator(schema: &Path) -> jsonschema::Validator {
    let text = std::fs::read_to_string(schema).expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn assert_valid(v: &jsonschema::Validator, doc: &serde_json::Value) {
    let errors: Vec<String> =
        v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "invalid: {errors:#?}");
}

#[test]
fn report_table_golden() {
    let text = render(vantage::report::table::write);
    golden_of("table", &text);
    assert!(!text.contains('\x1b'), "no colour unless asked");
    let last = text.lines().last().expect("a summary line");
    assert!(
        last.starts_with("vantage: 10 findings (2 critical, 4 high, 1 medium, 3 low), 1 waived;"),
        "{last}"
    );
    let mut coloured = Vec::new();
    let style = vantage::report::table::Style { colour: true };
    vantage::report::table::write_styled(&fixture_document(ALL), &mut coloured, style)
        .expect("renders");
    assert!(String::from_utf8_lossy(&coloured).contains("\x1b[1;31mCRITICAL\x1b[0m"));
}

#[test]
fn report_json_golden_and_schema() {
    let text = render(vantage::report::json::write);
    golden_of("json", &text);
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_valid(&validator(&root().join("specs/findings.schema.json")), &value);
    // Exactly the fields of the DESIGN.md contract, plus the spec location.
    let finding = value["findings"][0].as_object().expect("a finding");
    let mut keys: Vec<&str> = finding.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "evidence", "expected", "host", "location", "observed", "port", "proto", "rule",
            "severity", "target", "vantage", "waived"
        ]
    );
    assert!(value.get("checks").is_none(), "checks are not part of the JSON contract");
}

#[test]
fn report_sarif_golden_schema_and_github_rules() {
    let text = render(vantage::report::sarif::write);
    golden_of("sarif", &text);
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_valid(&validator(&root().join("tests/data/sarif/sarif-2.1.0-rtm.5.json")), &value);
    let run = &value["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), vantage::report::document::Rule::ALL.len(), "one rule per kind");
    for r in rules {
        assert!(r["help"]["text"].as_str().is_some_and(|h| h.len() > 40), "{r}");
    }
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 10, "waived findings are left out");
    let mut prints = std::collections::HashSet::new();
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().expect("uri");
        assert_eq!(uri, "tests/data/verdict/spec.yaml", "a file, never a network URI");
        assert!(loc["region"]["startLine"].as_u64().is_some_and(|l| l >= 1));
        assert!(r["locations"][0]["logicalLocations"][0]["name"].is_string());
        let print = r["partialFingerprints"]["vantageFinding/v1"].as_str().expect("fingerprint");
        assert!(prints.insert(print.to_owned()), "fingerprints are distinct: {print}");
    }
    // With waived findings, as suppressed results, still valid.
    let mut out = Vec::new();
    vantage::report::sarif::write_with_waived(&fixture_document(ALL), &mut out).expect("renders");
    let all: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    assert_valid(&validator(&root().join("tests/data/sarif/sarif-2.1.0-rtm.5.json")), &all);
    assert_eq!(all["runs"][0]["results"].as_array().map(Vec::len), Some(11));
}

#[test]
fn report_sarif_fingerprints_ignore_spec_lines() {
    let doc = fixture_document(ALL);
    let mut moved = doc.clone();
    for f in &mut moved.findings {
        f.location.line += 7;
    }
    let prints = |d: &Document| {
        d.findings.iter().map(vantage::report::sarif::fingerprint).collect::<Vec<_>>()
    };
    assert_eq!(prints(&doc), prints(&moved));
}

#[test]
fn report_junit_golden() {
    let text = render(vantage::report::junit::write);
    golden_of("junit", &text);
    // One suite per vantage (and `spec` for the waivers), every tag closed.
    for suite in ["inside", "outside", "spec"] {
        assert!(text.contains(&format!("<testsuite name=\"{suite}\"")), "{suite}");
    }
    assert_eq!(text.matches("<testsuite ").count(), text.matches("</testsuite>").count());
    assert_eq!(
        text.matches("<testcase ").count(),
        text.matches("</testcase>").count() + text.matches("\"/>").count()
    );
    assert!(text.contains(
        "<testcase classname=\"vantage.inside\" name=\"flow #2 (app -&gt; db1: allow pg)\">"
    ));
    assert_eq!(
        vantage::report::junit::escape("a<b>&\"'\u{1}"),
        "a&lt;b&gt;&amp;&quot;&apos;\u{fffd}"
    );
}

#[test]
fn report_markdown_golden() {
    let text = render(vantage::report::markdown::write);
    golden_of("markdown", &text);
    assert!(
        text.starts_with("### vantage: `tests/data/verdict/spec.yaml` differs from the intent")
    );
    // Ten unwaived findings, one row each, plus the header rows.
    assert_eq!(text.lines().filter(|l| l.starts_with("| ")).count(), 11);
}

#[test]
fn report_html_golden() {
    let text = render(vantage::report::html::write);
    golden_of("html", &text);
}

fn comparison(spec: bool) -> vantage::report::document::Comparison {
    let loaded = vantage::spec::load(&root().join("tests/data/verdict/spec.yaml"));
    let intent = loaded.intent.expect("valid");
    let read = |f: &str| vantage::observe::read(&root().join(f)).expect("fixture");
    let (old, new) =
        (read("tests/data/compare/before.jsonl"), read("tests/data/compare/after.jsonl"));
    let mut cmp = vantage::verdict::compare(
        spec.then_some(&intent),
        Source { name: "tests/data/compare/before.jsonl", file: &old },
        Source { name: "tests/data/compare/after.jsonl", file: &new },
    )
    .expect("compared");
    cmp.spec = cmp.spec.map(|_| "tests/data/verdict/spec.yaml".to_owned());
    cmp
}

#[test]
fn report_compare_goldens() {
    use vantage::report::compare::{write_json, write_markdown, write_table};
    type Render =
        fn(&vantage::report::document::Comparison, &mut dyn std::io::Write) -> std::io::Result<()>;
    let formats: [(&str, Render); 3] =
        [("table", write_table), ("json", write_json), ("markdown", write_markdown)];
    for (format, render) in formats {
        let mut out = Vec::new();
        render(&comparison(true), &mut out).expect("renders");
        golden(
            &root().join(format!("tests/data/golden/{format}/compare.out")),
            &String::from_utf8(out).expect("UTF-8"),
        );
    }
    // Without a spec, the same changes, unmarked.
    let bare = comparison(false);
    assert_eq!(bare.changes.len(), comparison(true).changes.len());
    assert!(bare.changes.iter().all(|c| c.intent.is_none() && c.expected.is_none()));
    let marks: Vec<(String, Option<u16>, String, Option<String>)> = comparison(true)
        .changes
        .into_iter()
        .map(|c| (c.target, c.port, c.change, c.intent))
        .collect();
    let want = |t: &str, p: Option<u16>, c: &str, i: &str| {
        (t.to_owned(), p, c.to_owned(), Some(i.to_owned()))
    };
    assert_eq!(
        marks,
        [
            want("198.18.10.10", Some(22), "filtered", "towards"),
            want("198.18.10.10", Some(443), "opened", "towards"),
            want("198.18.10.10", Some(8080), "opened", "away"),
            want("198.18.10.11", None, "new-host", "away"),
            want("198.18.10.11", Some(22), "opened", "away"),
            want("198.18.10.12", None, "vanished-host", "towards"),
            want("198.18.10.12", Some(80), "closed", "towards"),
        ]
    );
}

/// Microsoft's SARIF Multitool (npm `@microsoft/sarif-multitool`, which CI
/// installs; `VANTAGE_SARIF_MULTITOOL` names its platform binary,
/// `Sarif.Multitool`, not the npm wrapper, which splits arguments at `;`
/// through a shell) checks the schema and
/// its ingestion rules, GitHub's included, and finds nothing but SARIF2005:
/// the project publishes no homepage for `informationUri` yet (it is taken
/// from Cargo.toml's `homepage` once there is one).
#[test]
#[allow(clippy::print_stderr, reason = "a test without its peer tool says it skipped")]
fn report_sarif_passes_the_multitool() {
    let Some(tool) = std::env::var_os("VANTAGE_SARIF_MULTITOOL") else {
        eprintln!("SKIPPED: set VANTAGE_SARIF_MULTITOOL to the Sarif.Multitool binary");
        return;
    };
    let dir = std::env::temp_dir().join(format!("vantage-it-{}-multitool", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    for waived in [false, true] {
        let input = dir.join(format!("in-{waived}.sarif"));
        let output = dir.join(format!("out-{waived}.sarif"));
        let mut text = Vec::new();
        let doc = fixture_document(ALL);
        if waived {
            vantage::report::sarif::write_with_waived(&doc, &mut text).expect("renders");
        } else {
            vantage::report::sarif::write(&doc, &mut text).expect("renders");
        }
        std::fs::write(&input, text).expect("write");
        let _ = std::fs::remove_file(&output);
        let run = std::process::Command::new(&tool)
            .arg("validate")
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .args(["--rule-kind", "Sarif;Gh"])
            .output()
            .expect("the multitool runs");
        // It exits non-zero for any warning: its log says which.
        let log = std::fs::read_to_string(&output)
            .unwrap_or_else(|e| panic!("no log ({e}): {}", String::from_utf8_lossy(&run.stdout)));
        let log: serde_json::Value = serde_json::from_str(&log).expect("JSON");
        let problems: Vec<String> = log["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter(|r| r["ruleId"] != "SARIF2005")
            .map(|r| format!("{} {}", r["ruleId"], r["message"]))
            .collect();
        assert!(problems.is_empty(), "{problems:#?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
