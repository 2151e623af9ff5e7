//! `Resume` over files as killed, interrupted and finished runs leave
//! them: what it keeps, what it takes as concluded, what it counts, and
//! what it refuses; and the append that continues such a file.

use std::net::IpAddr;
use std::path::PathBuf;

use super::*;
use crate::observe::{
    Header, PortFact, PortState, Proto as WireProto, Reason, Record, SCHEMA_VERSION, ScanMode,
    Trailer, encode_line, read,
};

/// A file in the temporary directory, removed when dropped.
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str, bytes: &[u8]) -> Self {
        let path = std::env::temp_dir()
            .join(format!("vantage-resume-{}-{name}.jsonl", std::process::id()));
        std::fs::write(&path, bytes).expect("write the file");
        Self(path)
    }

    fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.0).expect("read the file")
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn header() -> Header {
    Header {
        schema_version: SCHEMA_VERSION,
        tool: "vantage".into(),
        version: crate::VERSION.into(),
        spec: "staging.yaml".into(),
        spec_digest: crate::spec::digest([&b"version: 1\n"[..]]),
        vantage: "outside".into(),
        shard_index: 0,
        shard_count: 1,
        seed: 42,
        mode: ScanMode::Connect,
        started: "2026-03-01T12:00:00.000Z".into(),
        probes_planned: 200,
        excluded: None,
    }
}

const WEB: &str = "198.18.10.10";

fn addr() -> IpAddr {
    WEB.parse().expect("literal address")
}

fn port(port: u16, state: PortState) -> Record {
    Record::Port(PortFact {
        target: addr(),
        proto: WireProto::Tcp,
        port,
        state,
        reason: if state == PortState::Open { Reason::Connected } else { Reason::ConnRefused },
        attempts: 1,
        rtt_us: Some(100),
        banner: None,
        at: "2026-03-01T12:00:01.000Z".into(),
    })
}

fn trailer(complete: bool, interrupted: bool) -> Record {
    Record::Trailer(Trailer {
        ended: "2026-03-01T12:00:09.000Z".into(),
        complete,
        interrupted,
        probes_sent: 7,
        open: 1,
        closed: 1,
        filtered: 0,
        open_filtered: 0,
        errors: 0,
    })
}

/// The lines of `records`, each with its `\n`.
fn lines(records: &[Record]) -> Vec<u8> {
    let mut out = encode_line(&Record::Header(header())).expect("a valid header");
    for r in records {
        out.extend(encode_line(r).expect("a valid record"));
    }
    out
}

/// A `filtered` line for TCP ports 1-21 and 23-100 (99 ports), two attempts each.
const SILENT: &str = r#"{"kind":"filtered","target":"198.18.10.10","proto":"tcp","count":99,"ports":"1-21,23-100","attempts":2,"reason":"no-response"}"#;

/// A `tls` line for 198.18.10.10:443.
const TLS: &str = r#"{"kind":"tls","target":"198.18.10.10","port":443,"sni":null,"starttls":null,"speaks_tls":false,"plaintext":null,"versions":[],"refused":[],"chain":[],"chain_truncated":false,"ocsp_stapled":false,"error":"no answer","at":"2026-03-01T12:00:02.100Z"}"#;

#[test]
fn a_killed_file_keeps_its_whole_lines_and_knows_what_they_concluded() {
    let mut bytes = lines(&[port(443, PortState::Open), port(22, PortState::Closed)]);
    bytes.extend(SILENT.as_bytes());
    bytes.push(b'\n');
    bytes.extend(TLS.as_bytes());
    bytes.push(b'\n');
    let whole = bytes.len() as u64;
    bytes.extend(br#"{"kind":"port","target":"198.18.10.10","pro"#);
    let file = Temp::new("killed", &bytes);
    let r = Resume::open(&file.0).expect("resumable");
    assert_eq!(r.dropped(), Dropped::CutLine(6));
    assert_eq!(r.keep, whole, "the cut-off line goes, every whole line stays");
    assert!(!r.is_complete());
    assert_eq!(r.concluded(), 101, "443, 22 and the 99 silent ports");
    for p in [1, 21, 22, 23, 100, 443] {
        assert!(r.done.contains(addr(), Proto::Tcp, p), "{p}");
    }
    for p in [101, 442, 444] {
        assert!(!r.done.contains(addr(), Proto::Tcp, p), "{p}");
    }
    assert!(!r.done.contains(addr(), Proto::Udp, 22));
    assert_eq!(r.counts, Counts { open: 1, closed: 1, filtered: 99, open_filtered: 0 });
    // No trailer: the attempts the lines record (1 + 1 + 99 x 2).
    assert_eq!(r.probes_sent, 200);
    assert_eq!(r.open, vec![(addr(), Proto::Tcp, 443)]);
    assert!(r.tls.contains(&(addr(), 443)));
}

#[test]
fn an_unfinished_trailer_is_dropped_and_its_attempts_kept() {
    for interrupted in [true, false] {
        let kept = lines(&[port(443, PortState::Open), port(22, PortState::Closed)]);
        let mut bytes = kept.clone();
        bytes.extend(encode_line(&trailer(false, interrupted)).expect("a valid trailer"));
        let file = Temp::new(&format!("trailer-{interrupted}"), &bytes);
        let r = Resume::open(&file.0).expect("resumable");
        assert_eq!(r.dropped(), Dropped::Trailer { interrupted });
        assert_eq!(r.keep, kept.len() as u64);
        assert_eq!(r.probes_sent, 7, "the trailer's count");
        assert_eq!(r.concluded(), 2);
        assert!(r.check(&header()).is_ok());
    }
    // A trailer without its `\n` (cut there by a kill) is dropped the same.
    let kept = lines(&[port(22, PortState::Closed)]);
    let mut bytes = kept.clone();
    let mut last = encode_line(&trailer(false, true)).expect("a valid trailer");
    last.pop();
    bytes.extend(last);
    let file = Temp::new("trailer-unended", &bytes);
    let r = Resume::open(&file.0).expect("resumable");
    assert_eq!(r.keep, kept.len() as u64);
}

#[test]
fn another_scan_is_refused_naming_the_setting_and_a_complete_one_has_nothing_to_resume() {
    let bytes = lines(&[port(22, PortState::Closed)]);
    let file = Temp::new("refusals", &bytes);
    let r = Resume::open(&file.0).expect("resumable");
    type Change = fn(&mut Header);
    let cases: [(&str, Change); 8] = [
        ("the spec digest", |h| h.spec_digest = crate::spec::digest([&b"version: 2\n"[..]])),
        ("--from", |h| h.vantage = "inside".into()),
        ("--shard", |h| h.shard_count = 2),
        ("--seed", |h| h.seed = 1),
        ("--mode", |h| h.mode = ScanMode::Syn),
        ("--exclude", |h| {
            h.excluded = Some(crate::observe::ExclusionRecord {
                networks: 1,
                digest: crate::spec::digest([&b"198.18.10.10/32\n"[..]]),
                addresses: 1,
                probes: 100,
            });
        }),
        ("vantage version", |h| h.version = "0.0.1".into()),
        ("probes planned", |h| h.probes_planned = 199),
    ];
    for (what, change) in cases {
        let mut other = header();
        change(&mut other);
        let err = r.check(&other).expect_err("refused");
        assert!(matches!(&err, ResumeError::Mismatch { what: w, .. } if *w == what), "{err}");
        assert!(err.to_string().contains(&format!("it was scanned with {what} ")), "{err}");
    }
    let err = r.check(&Header { seed: 1, ..header() }).expect_err("refused").to_string();
    assert!(err.contains("--seed 42, and this run has --seed 1"), "{err}");
    // A complete file is read, then has nothing to resume.
    let mut bytes = lines(&[port(22, PortState::Closed)]);
    bytes.extend(encode_line(&trailer(true, false)).expect("a valid trailer"));
    let file = Temp::new("complete", &bytes);
    let r = Resume::open(&file.0).expect("readable");
    assert!(r.is_complete());
    let err = r.check(&header()).expect_err("nothing to resume");
    assert!(matches!(err, ResumeError::Complete { concluded: 1, planned: 200, .. }), "{err}");
    // ... unless it is another scan: that is said first.
    assert!(matches!(r.check(&Header { seed: 1, ..header() }), Err(ResumeError::Mismatch { .. })));
}

#[test]
fn a_file_that_is_not_an_observation_file_is_refused() {
    let file = Temp::new("junk", b"hello\n");
    assert!(matches!(Resume::open(&file.0), Err(ResumeError::Read(_))));
    let file = Temp::new("empty", b"");
    assert!(matches!(Resume::open(&file.0), Err(ResumeError::Read(_))));
}

#[tokio::test]
async fn appending_continues_the_file_as_one_run() {
    // Killed twice over: after a cut-off line, and with a last line
    // written whole but for its `\n`.
    let mut cut = lines(&[port(443, PortState::Open)]);
    cut.extend(br#"{"kind":"po"#);
    let mut unended = lines(&[port(443, PortState::Open)]);
    unended.pop();
    let mut interrupted = lines(&[port(443, PortState::Open)]);
    interrupted.extend(encode_line(&trailer(false, true)).expect("a valid trailer"));
    for (name, bytes) in [("cut", cut), ("unended", unended), ("interrupted", interrupted)] {
        let file = Temp::new(&format!("append-{name}"), &bytes);
        let r = Resume::open(&file.0).expect("resumable");
        let writer = r.append().await.expect("appends");
        writer.sender().send(port(22, PortState::Closed)).await.expect("sent");
        let t = Trailer {
            ended: "2026-03-01T12:00:10.000Z".into(),
            complete: false,
            interrupted: false,
            probes_sent: 2,
            open: 1,
            closed: 1,
            filtered: 0,
            open_filtered: 0,
            errors: 0,
        };
        writer.finish(t).await.expect("finished");
        let back = read(&file.0).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back.truncated_last_line, None, "{name}");
        assert_eq!(back.header, header(), "{name}");
        let ports: Vec<u16> = back.facts.iter().map(|f| f.port).collect();
        assert_eq!(ports, [443, 22], "{name}");
        assert!(back.trailer.is_some_and(|t| t.probes_sent == 2), "{name}");
        assert!(file.bytes().ends_with(b"}\n"), "{name}");
    }
}

#[tokio::test]
async fn a_file_that_changed_since_it_was_read_is_not_cut() {
    let bytes = lines(&[port(443, PortState::Open)]);
    let file = Temp::new("changed", &bytes);
    let r = Resume::open(&file.0).expect("resumable");
    let mut more = bytes.clone();
    more.extend(encode_line(&port(22, PortState::Closed)).expect("a valid record"));
    std::fs::write(&file.0, &more).expect("write");
    assert!(matches!(r.append().await, Err(ResumeError::Changed { .. })));
    assert_eq!(file.bytes(), more, "left as it was");
}
