//! Observation files as `verdict` will meet them: a complete run, a run
//! killed mid-line, a run killed between lines, and a corrupt file, read
//! from `tests/data/observations/` and checked against what each holds.

use std::collections::BTreeMap;

use vantage::observe::{self, ObservationFile, PortState, Record};

use crate::util::root;

const COMPLETE: &[u8] = include_bytes!("../data/observations/complete.jsonl");
const TRUNCATED: &[u8] = include_bytes!("../data/observations/truncated.jsonl");
const NO_TRAILER: &[u8] = include_bytes!("../data/observations/no-trailer.jsonl");
const MALFORMED: &[u8] = include_bytes!("../data/observations/malformed.jsonl");

/// What a file should read as.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    /// Port lines by state name.
    states: BTreeMap<&'static str, usize>,
    /// Filtered lines, and the ports they cover.
    filtered: (usize, u32),
    /// Whether the trailer is there.
    trailer: bool,
    /// The cut-off line reported.
    truncated: Option<usize>,
    /// Whether the file counts as a finished run.
    complete: bool,
}

fn shape(file: &ObservationFile) -> Shape {
    let mut states = BTreeMap::new();
    for fact in &file.facts {
        *states.entry(fact.state.as_str()).or_insert(0) += 1;
    }
    Shape {
        states,
        filtered: (file.filtered.len(), file.filtered.iter().map(|f| f.count).sum()),
        trailer: file.trailer.is_some(),
        truncated: file.truncated_last_line,
        complete: file.is_complete(),
    }
}

fn states(pairs: &[(&'static str, usize)]) -> BTreeMap<&'static str, usize> {
    pairs.iter().copied().collect()
}

#[test]
fn observation_files_read_as_expected() {
    let cases: [(&str, &[u8], Result<Shape, &str>); 4] = [
        (
            "complete.jsonl",
            COMPLETE,
            Ok(Shape {
                states: states(&[
                    ("closed", 2),
                    ("filtered", 2),
                    ("open", 3),
                    ("open|filtered", 1),
                ]),
                filtered: (2, 2045),
                trailer: true,
                truncated: None,
                complete: true,
            }),
        ),
        (
            "truncated.jsonl",
            TRUNCATED,
            Ok(Shape {
                states: states(&[("closed", 1), ("open", 2)]),
                filtered: (0, 0),
                trailer: false,
                truncated: Some(5),
                complete: false,
            }),
        ),
        (
            "no-trailer.jsonl",
            NO_TRAILER,
            Ok(Shape {
                states: states(&[("open", 3), ("open|filtered", 1)]),
                filtered: (1, 1021),
                trailer: false,
                truncated: None,
                complete: false,
            }),
        ),
        (
            "malformed.jsonl",
            MALFORMED,
            Err(
                "malformed.jsonl:3: malformed record: invalid type: string \"twenty-two\", expected u16",
            ),
        ),
    ];
    for (name, bytes, want) in cases {
        let got = observe::parse(bytes, name);
        match (&want, &got) {
            (Ok(shape_want), Ok(file)) => assert_eq!(&shape(file), shape_want, "{name}"),
            (Err(text), Err(e)) => assert!(e.to_string().contains(text), "{name}: {e}"),
            _ => panic!("{name}: got {got:?}, want {want:?}"),
        }
        // Reading the file from disk gives the same as parsing its bytes.
        let path = root().join("tests/data/observations").join(name);
        let from_disk = observe::read(&path);
        match (&got, &from_disk) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{name}"),
            (Err(a), Err(b)) => assert_eq!(
                a.to_string(),
                b.to_string().replace(&path.display().to_string(), name),
                "{name}"
            ),
            _ => panic!("{name}: parse gave {got:?}, read gave {from_disk:?}"),
        }
    }
}

#[test]
fn the_complete_file_records_what_verdict_needs() {
    let file = observe::parse(COMPLETE, "complete.jsonl").expect("valid");
    let h = &file.header;
    assert_eq!((h.tool.as_str(), h.vantage.as_str()), ("vantage", "outside"));
    assert_eq!((h.shard_index, h.shard_count, h.seed), (0, 1, 42));
    assert_eq!(h.mode, observe::ScanMode::Syn);
    assert!(h.spec_digest.starts_with("sha256:"));
    let ssh = &file.facts[0];
    assert_eq!((ssh.port, ssh.state), (22, PortState::Open));
    // The banner's CR LF arrive escaped, as printable text.
    assert_eq!(ssh.banner.as_deref(), Some("SSH-2.0-OpenSSH_9.6\\r\\n"));
    let icmp = file.facts.iter().find(|f| f.port == 3306).expect("port 3306");
    assert_eq!(icmp.reason, observe::Reason::IcmpUnreachable { icmp_type: 3, code: 13 });
    let t = file.trailer.as_ref().expect("trailer");
    let counted = |s: PortState| file.facts.iter().filter(|f| f.state == s).count() as u64;
    assert_eq!(t.open, counted(PortState::Open));
    assert_eq!(t.closed, counted(PortState::Closed));
    assert_eq!(t.open_filtered, counted(PortState::OpenFiltered));
    let summarised: u64 = file.filtered.iter().map(|f| u64::from(f.count)).sum();
    assert_eq!(t.filtered, counted(PortState::Filtered) + summarised);
}

#[test]
fn every_line_of_the_complete_file_is_a_record_that_re_encodes_to_itself() {
    let text = std::str::from_utf8(COMPLETE).expect("utf-8");
    for (i, line) in text.lines().enumerate() {
        let record: Record =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        record.check().unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        let original: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let again = serde_json::to_value(&record).expect("encodes");
        assert_eq!(again, original, "line {}", i + 1);
        // Byte for byte, too: the writer would write this very line.
        let encoded = observe::encode_line(&record).expect("valid");
        assert_eq!(encoded, [line.as_bytes(), b"\n"].concat(), "line {}", i + 1);
    }
}

#[test]
fn the_fuzz_entry_point_accepts_the_test_data() {
    // The fuzz target's round-trip checks, run on every file in every test
    // run (the fuzz corpus is seeded from these files).
    for bytes in [COMPLETE, TRUNCATED, NO_TRAILER, MALFORMED] {
        vantage::fuzzing::observations(bytes);
    }
}

#[test]
fn the_fuzz_corpus_runs_through_the_fuzz_entry_point() {
    // The seed corpus too, `tls` lines included (the entry point once
    // dropped them when re-encoding, which only a corpus file with one shows).
    let dir = root().join("fuzz/corpus/observation_jsonl");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        vantage::fuzzing::observations(&std::fs::read(entry.expect("entry").path()).expect("read"));
        n += 1;
    }
    assert!(n >= 6, "the seed corpus has {n} entries");
}
