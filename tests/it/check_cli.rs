//! `vantage check`: plan, scan and verdict in one process, against this
//! machine's loopback (the README's main command, no root, no packet
//! beyond 127.0.0.1). What it reports depends on what listens here, so the
//! test holds it to `verdict` over the observations it saved: the two must
//! agree exactly, in every format and exit code.

use crate::util::{stdout, vantage};

const SPEC: &str = "specs/examples/localhost.yaml";
const NOW: &str = "2026-03-02T08:00:00Z";

#[test]
fn check_equals_verdict_over_its_saved_observations() {
    let saved = std::env::temp_dir().join(format!("vantage-it-{}-check.jsonl", std::process::id()));
    let saved = saved.display().to_string();
    let check = vantage(&[
        "check",
        SPEC,
        "--from",
        "this-machine",
        "--now",
        NOW,
        "--format",
        "json",
        "--save",
        &saved,
        "--quiet",
    ]);
    let code = check.status.code();
    assert!(matches!(code, Some(0 | 1)), "{code:?}: {}", String::from_utf8_lossy(&check.stderr));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&check)).expect("JSON");
    assert_eq!(doc["coverage"]["vantages"], serde_json::json!(["this-machine"]));
    assert_eq!(doc["coverage"]["incomplete"], 0);
    for format in ["json", "table", "sarif"] {
        let verdict = vantage(&["verdict", SPEC, &saved, "--now", NOW, "--format", format]);
        assert_eq!(verdict.status.code(), code, "{format}");
        if format == "json" {
            assert_eq!(stdout(&verdict), stdout(&check));
        }
    }
    let _ = std::fs::remove_file(&saved);
}

#[test]
fn check_refuses_what_it_cannot_run() {
    let cases: [(&[&str], &str); 3] = [
        (&["check", SPEC, "--from", "elsewhere"], "no vantage is named `elsewhere`"),
        (&["check", "tests/fixtures/bad-specs/bad-cidr.yaml", "--from", "x"], "bad-cidr.yaml"),
        (&["check", SPEC, "--from", "this-machine", "--rate", "0"], "--rate"),
    ];
    for (args, text) in cases {
        let out = vantage(args);
        let both = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {both}");
        assert!(both.contains(text), "{args:?}: {text:?} not in {both}");
    }
}
