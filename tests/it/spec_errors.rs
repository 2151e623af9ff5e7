//! Golden tests: every broken spec under `tests/fixtures/bad-specs/` is
//! refused (exit 2) with the locations and messages in its `.out` file.

use std::path::Path;

use crate::util::{golden, root, stdout, vantage};

#[test]
fn every_bad_spec_is_refused_with_its_golden_diagnostics() {
    let dir = root().join("tests/fixtures/bad-specs");
    let mut specs: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 25, "at least 25 broken specs, found {}", specs.len());
    for spec in &specs {
        let rel =
            spec.strip_prefix(root()).expect("under root").to_str().expect("utf-8 path").to_owned();
        let out = vantage(&["lint", &rel, "--now", "2026-11-24"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{rel}: exit code; stderr: {stderr}");
        assert!(!stderr.contains("panicked"), "{rel} panicked: {stderr}");
        let text = stdout(&out);
        assert!(text.lines().any(|l| l.contains(": error[")), "{rel}: no error line in:\n{text}");
        golden(&spec.with_extension("out"), &text);
    }
}

#[test]
fn json_diagnostics_carry_file_line_column_value_and_expectation() {
    let out = vantage(&["lint", "tests/fixtures/bad-specs/unknown-zone.yaml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("lint --format json is JSON");
    assert_eq!(v["errors"], 1);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "unknown-name");
    assert_eq!(d["file"], "tests/fixtures/bad-specs/unknown-zone.yaml");
    assert_eq!((d["line"].as_u64(), d["column"].as_u64()), (Some(9), Some(27)));
    assert_eq!(d["value"], "dmzz");
    assert!(d["expected"].as_str().is_some_and(|e| e.contains("dmz")), "{d}");
}

#[test]
fn a_50_mb_spec_is_refused_quickly_without_reading_it_as_yaml() {
    let dir = std::env::temp_dir().join(format!("vantage-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("big.yaml");
    let mut body = String::from("version: 1\nzones:\n");
    while body.len() < 50 * 1024 * 1024 {
        body.push_str("  # padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&path, &body).expect("write big spec");
    let out = vantage(&["lint", path.to_str().expect("utf-8")]);
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("error[spec-too-large]"), "{}", stdout(&out));
}

#[test]
fn a_missing_spec_file_is_refused() {
    let out = vantage(&["lint", "tests/fixtures/no-such-spec.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("error[unreadable]"), "{}", stdout(&out));
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap, deterministic sweep over mutations of a real spec; the fuzz
    // target `spec_yaml` does this without bounds.
    let good = std::fs::read(root().join("specs/examples/staging.yaml")).expect("staging spec");
    let file: std::sync::Arc<str> = std::sync::Arc::from("mutant.yaml");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        let mut bytes = good.clone();
        for _ in 0..8 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = usize::try_from(state % bytes.len() as u64).expect("fits");
            bytes[i] = u8::try_from(state >> 56).expect("fits");
        }
        let _ = vantage::spec::load_bytes(Path::new("specs/examples/mutant.yaml"), &file, &bytes);
    }
}

#[test]
fn fuzz_corpus_runs_through_the_fuzz_entry_point() {
    // The fuzz target's own function over its seed corpus, in every test run,
    // so a crash the fuzzer once found stays fixed.
    let dir = root().join("fuzz/corpus/spec_yaml");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        vantage::fuzzing::spec(&bytes);
        n += 1;
    }
    assert!(n >= 5, "the seed corpus has {n} entries");
    // The corpus's staging spec is valid, so the pipeline ran to planning.
    let staging = std::fs::read(dir.join("staging.yaml")).expect("staging corpus entry");
    let file: std::sync::Arc<str> = std::sync::Arc::from("staging.yaml");
    assert!(
        vantage::spec::load_bytes(Path::new("/nonexistent/staging.yaml"), &file, &staging)
            .intent
            .is_some()
    );
}
