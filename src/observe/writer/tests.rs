//! The writer on a real tokio runtime: what it writes reads back equal, and
//! its guarantees hold when producers are cancelled, the owner drops it, a
//! producer breaks the contract, or the disk fails.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use super::*;
use crate::observe::{
    FilteredSummary, PortFact, PortState, Proto, Reason, SCHEMA_VERSION, ScanMode, read,
};

/// A file in the temporary directory, removed when dropped.
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str) -> Self {
        Self(
            std::env::temp_dir()
                .join(format!("vantage-writer-{}-{name}.jsonl", std::process::id())),
        )
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
        shard_index: 1,
        shard_count: 4,
        seed: 42,
        mode: ScanMode::Syn,
        started: "2026-03-01T12:00:00.000Z".into(),
        probes_planned: 100,
        excluded: None,
    }
}

fn fact(port: u16) -> PortFact {
    PortFact {
        target: "198.18.10.10".parse().expect("literal address"),
        proto: Proto::Tcp,
        port,
        state: PortState::Closed,
        reason: Reason::Rst,
        attempts: 1,
        rtt_us: Some(u64::from(port)),
        banner: None,
        at: "2026-03-01T12:00:01.000Z".into(),
    }
}

fn trailer() -> Trailer {
    Trailer {
        ended: "2026-03-01T12:05:00.000Z".into(),
        complete: true,
        interrupted: false,
        probes_sent: 100,
        open: 1,
        closed: 98,
        filtered: 1,
        open_filtered: 0,
        errors: 0,
    }
}

fn ports(facts: &[PortFact]) -> BTreeSet<u16> {
    facts.iter().map(|f| f.port).collect()
}

/// Reads `path` until `done` says the file is as expected, for at most about
/// five seconds: the writer is a separate task, so a test observes it
/// eventually, never at a set time.
async fn eventually(path: &Path, done: impl Fn(&crate::observe::ObservationFile) -> bool) -> bool {
    for _ in 0..500 {
        if read(path).is_ok_and(|f| done(&f)) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn what_is_written_reads_back_equal() {
    let tmp = Temp::new("round-trip");
    let writer = ObservationWriter::create(&tmp.0, header()).await.expect("create");
    let tx = writer.sender();
    let open = PortFact {
        state: PortState::Open,
        reason: Reason::SynAck,
        banner: Some(crate::observe::printable_banner(b"SSH-2.0-OpenSSH_9.6\r\n\0\xff")),
        ..fact(22)
    };
    let icmp = PortFact {
        target: "2001:db8::1".parse().expect("literal address"),
        state: PortState::Filtered,
        reason: Reason::IcmpUnreachable { icmp_type: 1, code: 1 },
        rtt_us: None,
        ..fact(3306)
    };
    let target = "198.18.10.11".parse().expect("literal address");
    let silent = FilteredSummary::from_ports(target, Proto::Udp, 1..=1000, 3, Reason::NoResponse);
    tx.send(Record::Port(open.clone())).await.expect("send");
    tx.send(Record::Port(icmp.clone())).await.expect("send");
    for s in &silent {
        tx.send(Record::Filtered(s.clone())).await.expect("send");
    }
    drop(tx);
    let summary = writer.finish(trailer()).await.expect("finish");

    let file = read(&tmp.0).expect("read back");
    assert_eq!(file.header, header());
    assert_eq!(file.facts, [open, icmp]);
    assert_eq!(file.filtered, silent);
    assert_eq!(file.trailer, Some(trailer()));
    assert_eq!(file.truncated_last_line, None);
    let len = std::fs::metadata(&tmp.0).expect("metadata").len();
    assert_eq!(
        summary,
        WriteSummary { lines: 5, facts: 2, filtered: 1, tls: 0, dns: 0, bytes: len }
    );
}

#[tokio::test]
async fn the_header_is_on_disk_when_create_returns() {
    let tmp = Temp::new("header-first");
    let writer = ObservationWriter::create(&tmp.0, header()).await.expect("create");
    let file = read(&tmp.0).expect("the header alone is a valid file");
    assert_eq!((file.header, file.facts.len(), file.trailer), (header(), 0, None));
    writer.finish(trailer()).await.expect("finish");
}

#[tokio::test]
async fn records_reach_the_file_before_finish() {
    let tmp = Temp::new("prompt");
    let writer = ObservationWriter::create(&tmp.0, header()).await.expect("create");
    writer.sender().send(Record::Port(fact(80))).await.expect("send");
    assert!(eventually(&tmp.0, |f| f.facts == [fact(80)]).await, "the record was not flushed");
    writer.finish(trailer()).await.expect("finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_record_is_written_even_when_producers_are_cancelled() {
    let tmp = Temp::new("cancelled");
    let writer = ObservationWriter::create(&tmp.0, header()).await.expect("create");
    let accepted = Arc::new(Mutex::new(BTreeSet::new()));
    let mut producers = tokio::task::JoinSet::new();
    for k in 0..8u16 {
        let tx = writer.sender();
        let accepted = Arc::clone(&accepted);
        producers.spawn(async move {
            for i in 0..2000u16 {
                let port = 1 + k * 2000 + i;
                if tx.send(Record::Port(fact(port))).await.is_err() {
                    return;
                }
                // No await between the send and this: an abort cannot fall
                // between them.
                accepted.lock().expect("not poisoned").insert(port);
            }
        });
    }
    // Let them fill the channel a few times over (so some are waiting in
    // `send` when cancelled), then cancel them wherever they are.
    for _ in 0..500 {
        if accepted.lock().expect("not poisoned").len() > 4 * CHANNEL_CAPACITY {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    producers.abort_all();
    while producers.join_next().await.is_some() {}
    let summary = writer.finish(trailer()).await.expect("finish");

    let file = read(&tmp.0).expect("read back");
    let accepted = accepted.lock().expect("not poisoned").clone();
    assert_eq!(ports(&file.facts), accepted);
    assert_eq!(file.facts.len(), accepted.len(), "no record written twice");
    assert_eq!(summary.facts, accepted.len() as u64);
    assert_eq!(file.trailer, Some(trailer()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trailer_is_last_even_with_producers_still_sending() {
    let tmp = Temp::new("late");
    let writer = ObservationWriter::create(&tmp.0, header()).await.expect("create");
    let tx = writer.sender();
    let producer = tokio::spawn(async move {
        let mut sent = 0u64;
        for port in 1..=u16::MAX {
            if tx.send(Record::Port(fact(port))).await.is_err() {
                break;
            }
            sent += 1;
        }
        sent
    });
    tokio::task::yield_now().await;
    let summary = writer.finish(trailer()).await.expect("finish");
    let sent = producer.await.expect("producer");
    let file = read(&tmp.0).expect("read back: nothing after the trailer");
    assert_eq!(file.trailer, Some(trailer()));
    assert_eq!((file.facts.len() as u64, summary.facts), (sent, sent));
}

#[tokio::test]
async fn a_cancelled_finish_still_completes_the_file() {
    let tmp = Temp::new("finish-cancelled");
    let writer = ObservationWriter::create(&tmp.0, header()).await.expect("create");
    writer.sender().send(Record::Port(fact(5))).await.expect("send");
    // The other branch is ready at once, so `finish`'s future is dropped
    // without ever being polled.
    tokio::select! {
        biased;
        () = std::future::ready(()) => {}
        _ = writer.finish(trailer()) => panic!("finish ran first"),
    }
    assert!(eventually(&tmp.0, |f| f.facts == [fact(5)] && f.trailer == Some(trailer())).await);
}

#[tokio::test]
async fn sends_fail_once_finished() {
    let tmp = Temp::new("after-finish");
    let writer = ObservationWriter::create(&tmp.0, header()).await.expect("create");
    let tx = writer.sender();
    writer.finish(trailer()).await.expect("finish");
    assert!(tx.send(Record::Port(fact(1))).await.is_err());
}

#[tokio::test]
async fn dropping_the_writer_keeps_what_was_sent_without_a_trailer() {
    let tmp = Temp::new("dropped");
    let writer = ObservationWriter::create(&tmp.0, header()).await.expect("create");
    let tx = writer.sender();
    for port in 1..=300 {
        tx.send(Record::Port(fact(port))).await.expect("send");
    }
    drop(writer);
    drop(tx);
    let all: BTreeSet<u16> = (1..=300).collect();
    assert!(eventually(&tmp.0, |f| ports(&f.facts) == all && f.trailer.is_none()).await);
}

#[tokio::test]
async fn contract_breaking_records_are_refused() {
    let bad: [(&str, Record); 3] = [
        ("header", Record::Header(header())),
        ("trailer", Record::Trailer(trailer())),
        ("port", Record::Port(PortFact { banner: Some("\u{1b}[2J".into()), ..fact(1) })),
    ];
    for (kind, record) in bad {
        let tmp = Temp::new(&format!("refused-{kind}"));
        let writer = ObservationWriter::create(&tmp.0, header()).await.expect("create");
        writer.sender().send(Record::Port(fact(7))).await.expect("send");
        writer.sender().send(record).await.expect("send");
        writer.sender().send(Record::Port(fact(8))).await.expect("send");
        let err = writer.finish(trailer()).await.expect_err("refused");
        assert!(
            matches!(&err, ObserveError::Refused { kind: k, .. } if *k == kind),
            "{kind}: {err:?}"
        );
        // Every other record is written, and the file says it is not whole.
        let file = read(&tmp.0).expect("readable");
        assert_eq!((file.facts, file.trailer), (vec![fact(7), fact(8)], None));
    }
}

#[tokio::test]
async fn an_invalid_header_leaves_an_existing_file_alone() {
    let tmp = Temp::new("bad-header");
    std::fs::write(&tmp.0, b"precious").expect("write");
    let bad = Header { shard_index: 4, ..header() };
    let err = ObservationWriter::create(&tmp.0, bad).await.expect_err("refused");
    assert!(matches!(err, ObserveError::Refused { kind: "header", .. }), "{err:?}");
    assert_eq!(std::fs::read(&tmp.0).expect("read"), b"precious");
}

#[tokio::test]
async fn an_invalid_trailer_is_refused() {
    let tmp = Temp::new("bad-trailer");
    let writer = ObservationWriter::create(&tmp.0, header()).await.expect("create");
    writer.sender().send(Record::Port(fact(9))).await.expect("send");
    let bad = Trailer { ended: "later".into(), ..trailer() };
    let err = writer.finish(bad).await.expect_err("refused");
    assert!(matches!(err, ObserveError::Refused { kind: "trailer", .. }), "{err:?}");
    let file = read(&tmp.0).expect("readable");
    assert_eq!((file.facts, file.trailer), (vec![fact(9)], None));
}

#[tokio::test]
async fn an_uncreatable_file_is_a_local_error() {
    let err = ObservationWriter::create(Path::new("/nonexistent/dir/obs.jsonl"), header())
        .await
        .expect_err("no such directory");
    assert!(matches!(err, ObserveError::Io { action: "create", .. }), "{err:?}");
}

/// A sink that takes `budget` bytes, then fails like a full disk.
struct FullDisk {
    budget: usize,
}

impl AsyncWrite for FullDisk {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.budget == 0 {
            return Poll::Ready(Err(std::io::Error::from_raw_os_error(28)));
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_failing_sink_fails_the_writer_and_stops_the_producers() {
    let err = ObservationWriter::with_sink(FullDisk { budget: 10 }, "full", header())
        .await
        .expect_err("the header does not fit");
    assert!(matches!(err, ObserveError::Io { action: "write", .. }), "{err:?}");

    let writer = ObservationWriter::with_sink(FullDisk { budget: 2000 }, "full", header())
        .await
        .expect("header fits");
    let tx = writer.sender();
    let mut refused = false;
    for port in 1..=u16::MAX {
        if tx.send(Record::Port(fact(port))).await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "producers learn that the writer has failed");
    let err = writer.finish(trailer()).await.expect_err("disk full");
    assert!(err.to_string().starts_with("full: cannot write: "), "{err}");
}

#[tokio::test]
async fn a_sink_gets_the_same_bytes_as_a_file() {
    let (client, mut server) = tokio::io::duplex(1 << 20);
    let writer = ObservationWriter::with_sink(client, "-", header()).await.expect("create");
    writer.sender().send(Record::Port(fact(443))).await.expect("send");
    let summary = writer.finish(trailer()).await.expect("finish");
    let mut bytes = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut server, &mut bytes).await.expect("read");
    assert_eq!(summary.bytes, bytes.len() as u64);
    let file = crate::observe::parse(&bytes, "-").expect("valid");
    assert_eq!((file.facts, file.trailer), (vec![fact(443)], Some(trailer())));
}
