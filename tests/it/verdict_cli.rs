//! `vantage verdict` as CI meets it: exit codes 0/1/2/3, every format, `-o`,
//! `--fail-on`, refused inputs, and output equal to the library's.

use std::process::Output;

use crate::util::{root, stdout, vantage};

const SPEC: &str = "tests/data/verdict/spec.yaml";
const OUTSIDE: &str = "tests/data/verdict/outside.jsonl";
const INSIDE: [&str; 2] =
    ["tests/data/verdict/inside-0.jsonl", "tests/data/verdict/inside-1.jsonl"];
const NOW: &str = "2026-03-02T08:00:00Z";

fn verdict(extra: &[&str]) -> Output {
    verdict_at(NOW, extra)
}

fn verdict_at(now: &str, extra: &[&str]) -> Output {
    let mut args = vec!["verdict", SPEC, OUTSIDE, INSIDE[0], INSIDE[1], "--now", now];
    args.extend_from_slice(extra);
    vantage(&args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch copy of a fixture with `from` replaced by `to`, removed when
/// dropped (so also when the test fails).
fn altered(name: &str, fixture: &str, from: &str, to: &str) -> Scratch {
    let text = std::fs::read_to_string(root().join(fixture)).expect("fixture");
    assert!(text.contains(from), "{fixture} has no {from:?}");
    let path = std::env::temp_dir().join(format!("vantage-it-{}-{name}", std::process::id()));
    std::fs::write(&path, text.replace(from, to)).expect("write scratch file");
    Scratch(path.display().to_string())
}

/// A scratch file's path; the file is removed on drop.
struct Scratch(String);

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: a panic here could abort a test already failing.
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn verdict_exit_codes() {
    // (arguments, exit code, text expected on stdout or stderr)
    let interrupted = "tests/data/verdict/inside-interrupted.jsonl";
    let reseeded = altered("seed.jsonl", INSIDE[1], "\"seed\":7", "\"seed\":8");
    // Shard 1/2 run again: the same header, a later start.
    let rerun = altered(
        "rerun.jsonl",
        INSIDE[1],
        "\"started\":\"2026-03-01T12",
        "\"started\":\"2026-03-01T13",
    );
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["tests/data/verdict/conforms.yaml", "tests/data/verdict/conforms.jsonl"],
            0,
            "0 findings, 0 waived; 1 vantage (outside)",
        ),
        (vec![SPEC, OUTSIDE, INSIDE[0], INSIDE[1]], 1, "10 findings (2 critical"),
        (vec![SPEC, OUTSIDE, INSIDE[0], INSIDE[1], "--fail-on", "critical"], 1, "critical"),
        (vec![SPEC, INSIDE[0], INSIDE[1], "--fail-on", "critical"], 0, "4 high"),
        (vec![SPEC, OUTSIDE, INSIDE[0], interrupted], 3, "was interrupted"),
        (vec![SPEC, INSIDE[0]], 3, "shard is 1/2 missing"),
        (vec![SPEC, INSIDE[0], &reseeded.0], 2, "disagree on seed (7 vs 8)"),
        (vec![SPEC, INSIDE[0], INSIDE[1], &rerun.0], 2, "are both shard 1/2 of vantage `inside`"),
        (
            vec![SPEC, OUTSIDE, OUTSIDE],
            2,
            "tests/data/verdict/outside.jsonl was given twice (shard 0/1 of vantage `outside`)",
        ),
        (vec!["tests/data/verdict/conforms.yaml", OUTSIDE], 2, "made from another spec"),
        (vec![SPEC, "tests/data/observations/malformed.jsonl"], 2, "malformed.jsonl"),
        (vec!["tests/fixtures/bad-specs/bad-cidr.yaml", OUTSIDE], 2, "bad-cidr.yaml"),
        (vec![SPEC], 2, "OBS.jsonl"),
        (vec![SPEC, OUTSIDE, "--fail-on", "severe"], 2, "severe"),
    ];
    for (args, code, text) in cases {
        let mut all = vec!["verdict"];
        all.extend(args.iter().copied());
        all.extend(["--now", NOW]);
        let out = vantage(&all);
        let both = format!("{}{}", stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(code), "{args:?}: {both}");
        assert!(both.contains(text), "{args:?}: {text:?} not in {both}");
    }
}

#[test]
fn verdict_formats_match_the_library_renderers() {
    let doc =
        crate::report::fixture_document(&["outside.jsonl", "inside-0.jsonl", "inside-1.jsonl"]);
    type Render =
        fn(&vantage::report::document::Document, &mut dyn std::io::Write) -> std::io::Result<()>;
    let formats: [(&str, Render); 5] = [
        ("table", vantage::report::table::write),
        ("json", vantage::report::json::write),
        ("sarif", vantage::report::sarif::write),
        ("junit", vantage::report::junit::write),
        ("markdown", vantage::report::markdown::write),
    ];
    for (format, render) in formats {
        let mut want = Vec::new();
        render(&doc, &mut want).expect("renders");
        let out = verdict(&["--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}: {}", stderr(&out));
        assert_eq!(stdout(&out), String::from_utf8_lossy(&want), "{format}");
    }
}

#[test]
fn verdict_writes_to_a_file_and_summarises_on_stderr() {
    let path = std::env::temp_dir().join(format!("vantage-it-{}-report.sarif", std::process::id()));
    let report = Scratch(path.display().to_string());
    let out = verdict(&["--format", "sarif", "-o", &report.0]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).starts_with("vantage: 10 findings"), "{}", stderr(&out));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("written")).expect("JSON");
    assert_eq!(sarif["version"], "2.1.0");
}

#[test]
fn verdict_waivers_follow_now() {
    // CHG-1042 expires 2026-12-31: in force on its last day, lapsed the next.
    let on = verdict_at("2026-12-31", &["--format", "json"]);
    let after = verdict_at("2027-01-01", &["--format", "json"]);
    let waived = |o: &Output| {
        let v: serde_json::Value = serde_json::from_str(&stdout(o)).expect("JSON");
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["waived"] == "CHG-1042")
            .count()
    };
    assert_eq!((waived(&on), waived(&after)), (1, 0));
    assert!(stdout(&after).contains("\"rule\": \"waiver-expired\""));
}

#[test]
fn compare_exit_codes() {
    let (before, after) = ("tests/data/compare/before.jsonl", "tests/data/compare/after.jsonl");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec![before, after], 1, "7 changes"),
        (vec![before, after, SPEC], 1, "7 changes: 4 towards the intent, 3 away from it"),
        (vec![before, before, SPEC], 0, "0 changes"),
        (vec![before, after, SPEC, "--format", "markdown"], 1, "| **away** (denied by flow #4) |"),
        (vec![before, INSIDE[0]], 2, "compare scans from one vantage"),
        (vec![before, after, "tests/fixtures/bad-specs/bad-cidr.yaml"], 2, "bad-cidr.yaml"),
    ];
    for (args, code, text) in cases {
        let mut all = vec!["compare"];
        all.extend(args.iter().copied());
        let out = vantage(&all);
        let both = format!("{}{}", stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(code), "{args:?}: {both}");
        assert!(both.contains(text), "{args:?}: {text:?} not in {both}");
    }
}

#[test]
fn verdict_vantages_required_by_flag_without_a_file_are_incomplete() {
    let absent =
        "no observations from vantage inside: no observation file from this vantage was given";
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec![SPEC, OUTSIDE, "--vantage", "inside"], 3, absent),
        (vec![SPEC, "--all-vantages"], 3, "no observations from vantage outside: no observation"),
        (vec![SPEC, "--vantage", "inside", "--vantage", "outside"], 3, absent),
        (
            vec![SPEC, OUTSIDE, "--vantage", "nowhere"],
            2,
            "vantage `nowhere` is not declared in the spec (it declares: outside, inside)",
        ),
        (vec![SPEC, OUTSIDE, "--vantage", "inside", "--all-vantages"], 2, "cannot be used with"),
    ];
    for (args, code, text) in cases {
        let mut all = vec!["verdict"];
        all.extend(args.iter().copied());
        all.extend(["--now", NOW]);
        let out = vantage(&all);
        let both = format!("{}{}", stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(code), "{args:?}: {both}");
        assert!(both.contains(text), "{args:?}: {text:?} not in {both}");
    }
    // The absent vantage's finding, beside what the files show.
    let out = vantage(&[
        "verdict",
        SPEC,
        OUTSIDE,
        "--vantage",
        "inside",
        "--vantage",
        "outside",
        "--now",
        NOW,
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["coverage"]["vantages"], serde_json::json!(["inside", "outside"]));
    let inside: Vec<&serde_json::Value> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["vantage"] == "inside")
        .collect();
    assert_eq!(inside.len(), 1, "{inside:?}");
    assert_eq!(inside[0]["rule"], "scan-incomplete");
    assert_eq!(inside[0]["severity"], "high");
    assert_eq!(inside[0]["observed"], absent);
    assert!(doc["coverage"]["incomplete"].as_u64().is_some_and(|n| n > 0), "{doc}");
    assert_eq!(inside[0]["location"]["line"], 29, "the vantage's line in the spec");
    // Every vantage with a file: the report is the one without the flags.
    let plain = verdict(&["--format", "json"]);
    let required = verdict(&["--format", "json", "--all-vantages"]);
    assert_eq!((required.status.code(), stdout(&required)), (plain.status.code(), stdout(&plain)));
}
