//! The DNS prober (issue 6) against scripted servers on 127.0.0.1: UDP and
//! TCP servers in the test that answer with crafted messages (a wrong id
//! first, an answer from another port, truncation then TCP, silence then
//! an answer, transfers in several messages, refused, endless, dripping,
//! cut). Every fact must pass the observation contract's checks.
//!
//! The servers are tasks of the test's runtime, aborted when the test
//! ends (their guard's drop), so a failing test leaves nothing behind.

use std::net::SocketAddr;
use std::str::FromStr as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::AbortHandle;
use vantage::dns::Question;
use vantage::observe::{DnsCheck, DnsFact, MAX_DNS_VALUE, Proto, Record as Line, encode_line};
use vantage::probe::dns::{Ask, Limits, Prober};

/// Aborts the servers' tasks when the test ends, passed or failed.
struct Servers(Vec<AbortHandle>);

impl Drop for Servers {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

fn n(s: &str) -> Name {
    Name::from_str(s).expect("name")
}

fn limits() -> Limits {
    Limits {
        first_wait: Duration::from_millis(200),
        tcp: Duration::from_secs(2),
        transfer: Duration::from_secs(3),
        idle: Duration::from_secs(2),
        ..Limits::default()
    }
}

/// The reply to `query`: its id and question, RD copied, AA set.
fn reply_to(query: &Message) -> Message {
    let mut m = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = query.metadata.recursion_desired;
    m.metadata.authoritative = true;
    m.add_queries(query.queries.clone());
    m
}

fn a(owner: &str, last: u8) -> Record {
    Record::from_rdata(n(owner), 300, RData::A(A::new(198, 18, 10, last)))
}

fn soa() -> Record {
    let s =
        SOA::new(n("ns1.example.test."), n("hostmaster.example.test."), 7, 3600, 600, 86400, 300);
    Record::from_rdata(n("example.test."), 300, RData::SOA(s))
}

fn bytes(m: &Message) -> Vec<u8> {
    m.to_vec().expect("encodes")
}

fn framed(m: &Message) -> Vec<u8> {
    let b = bytes(m);
    let mut out = u16::try_from(b.len()).expect("fits").to_be_bytes().to_vec();
    out.extend(b);
    out
}

/// A UDP server on 127.0.0.1: for the `i`-th datagram (from 0), `script`
/// says what to send back, each after its delay.
async fn udp_server<F>(script: F) -> (SocketAddr, AbortHandle)
where
    F: Fn(usize, &Message) -> Vec<(Duration, Vec<u8>)> + Send + 'static,
{
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let socket = Arc::new(socket);
        let mut buf = vec![0u8; 65_535];
        for i in 0.. {
            let Ok((len, from)) = socket.recv_from(&mut buf).await else { return };
            let Ok(query) = Message::from_vec(&buf[..len]) else { continue };
            for (delay, reply) in script(i, &query) {
                let s = Arc::clone(&socket);
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = s.send_to(&reply, from).await;
                });
            }
        }
    });
    (addr, task.abort_handle())
}

/// A TCP server on `addr` (port 0: any): each connection's first framed
/// query is given to `script`, whose chunks are written in order, each
/// after its delay; then the connection is closed.
async fn tcp_server<F>(addr: SocketAddr, script: F) -> (SocketAddr, AbortHandle)
where
    F: Fn(&Message) -> Vec<(Duration, Vec<u8>)> + Send + Sync + 'static,
{
    let listener = TcpListener::bind(addr).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let script = Arc::new(script);
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { return };
            let script = Arc::clone(&script);
            tokio::spawn(async move {
                let mut len = [0u8; 2];
                if s.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if s.read_exact(&mut q).await.is_err() {
                    return;
                }
                let Ok(query) = Message::from_vec(&q) else { return };
                for (delay, chunk) in script(&query) {
                    tokio::time::sleep(delay).await;
                    if s.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, task.abort_handle())
}

fn ask(server: SocketAddr, name: &str, rtype: RecordType) -> Ask {
    Ask {
        server,
        check: DnsCheck::Expect,
        question: Question::new(name, rtype, true).expect("name"),
        discovered: false,
    }
}

/// The fact passes the contract: the writer would write it.
fn valid(f: &DnsFact) -> &DnsFact {
    if let Err(e) = encode_line(&Line::Dns(f.clone())) {
        panic!("the prober made a line the writer refuses ({e}): {f:?}");
    }
    f
}

fn values(f: &DnsFact) -> Vec<&str> {
    f.answers.iter().map(|r| r.value.as_str()).collect()
}

#[tokio::test]
async fn a_wrong_id_first_is_ignored_and_the_right_answer_taken() {
    let (addr, task) = udp_server(|_, q| {
        let mut spoof = reply_to(q);
        spoof.metadata.id = q.metadata.id.wrapping_add(1);
        spoof.add_answer(a("www.example.test.", 66));
        let mut other_question = reply_to(q);
        other_question.queries[0].name = n("evil.example.test.");
        other_question.add_answer(a("www.example.test.", 67));
        let mut real = reply_to(q);
        real.add_answer(a("www.example.test.", 10));
        vec![
            (Duration::ZERO, bytes(&spoof)),
            (Duration::from_millis(10), bytes(&other_question)),
            (Duration::from_millis(30), bytes(&real)),
        ]
    })
    .await;
    let _servers = Servers(vec![task]);
    let asked = Prober::new(limits()).ask(&ask(addr, "www.example.test", RecordType::A)).await;
    let f = valid(&asked.fact);
    assert_eq!(
        (f.rcode.as_deref(), values(f), f.attempts),
        (Some("NOERROR"), vec!["198.18.10.10"], 1)
    );
    assert!(f.authoritative && f.recursion_desired && f.error.is_none());
    assert_eq!(
        (f.name.as_str(), f.rtype.as_str(), f.transport),
        ("www.example.test", "A", Proto::Udp)
    );
}

#[tokio::test]
async fn an_answer_from_another_address_is_not_taken() {
    // The server itself stays silent; a socket on another port answers
    // every query with the right id and question.
    let other = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let server = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = server.local_addr().expect("addr");
    let forging = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((len, from)) = server.recv_from(&mut buf).await else { return };
            let Ok(q) = Message::from_vec(&buf[..len]) else { continue };
            let mut forged = reply_to(&q);
            forged.add_answer(a("www.example.test.", 66));
            let _ = other.send_to(&bytes(&forged), from).await;
        }
    });
    let _servers = Servers(vec![forging.abort_handle()]);
    let limits = Limits { attempts: 2, ..limits() };
    let f = Prober::new(limits).ask(&ask(addr, "www.example.test", RecordType::A)).await.fact;
    assert_eq!((valid(&f).rcode.as_deref(), f.attempts, f.answers.len()), (None, 2, 0));
    assert!(f.error.as_deref().is_some_and(|e| e.starts_with("no answer to 2 datagrams")), "{f:?}");
}

#[tokio::test]
async fn silence_is_retransmitted_and_a_silent_server_costs_little() {
    let (addr, task) = udp_server(|i, q| {
        let mut m = reply_to(q);
        m.add_answer(a("www.example.test.", 10));
        // The first datagram of each question is "lost".
        if i % 2 == 0 { Vec::new() } else { vec![(Duration::ZERO, bytes(&m))] }
    })
    .await;
    let silent = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let silent_addr = silent.local_addr().expect("addr");
    let _servers = Servers(vec![task]);
    let prober = Prober::new(limits());
    let f = prober.ask(&ask(addr, "www.example.test", RecordType::A)).await.fact;
    assert_eq!((valid(&f).attempts, values(&f)), (2, vec!["198.18.10.10"]));

    let started = std::time::Instant::now();
    let f = prober.ask(&ask(silent_addr, "www.example.test", RecordType::A)).await.fact;
    assert_eq!((valid(&f).attempts, f.rcode.as_deref()), (3, None));
    assert_eq!(f.error.as_deref(), Some("no answer to 3 datagrams in 1.4 s"));
    let f = prober.ask(&ask(silent_addr, "www.example.test", RecordType::A)).await.fact;
    assert_eq!(f.attempts, 3);
    // Two whole questions unanswered: the server is asked once from now on.
    let f = prober.ask(&ask(silent_addr, "mail.example.test", RecordType::A)).await.fact;
    assert_eq!((f.attempts, f.error.as_deref()), (1, Some("no answer to 1 datagram in 0.2 s")));
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(silent);
}

#[tokio::test]
async fn a_truncated_answer_is_asked_again_over_tcp() {
    let piece = vec![b'x'; 255];
    let (addr, udp) = udp_server(|_, q| {
        let mut m = reply_to(q);
        m.metadata.truncation = true;
        vec![(Duration::ZERO, bytes(&m))]
    })
    .await;
    let (_, tcp) = tcp_server(addr, move |q| {
        let mut m = reply_to(q);
        m.add_answer(Record::from_rdata(
            n("www.example.test."),
            60,
            RData::TXT(TXT::from_bytes(vec![&piece[..]; 200])),
        ));
        m.add_answer(Record::from_rdata(
            n("www.example.test."),
            60,
            RData::TXT(TXT::new(vec!["v=spf1 -all".into()])),
        ));
        // Written in small pieces, as TCP may deliver them.
        framed(&m).chunks(1000).map(|c| (Duration::ZERO, c.to_vec())).collect()
    })
    .await;
    let _servers = Servers(vec![udp, tcp]);
    let f = Prober::new(limits()).ask(&ask(addr, "www.example.test", RecordType::TXT)).await.fact;
    assert_eq!((valid(&f).transport, f.attempts, f.records), (Proto::Tcp, 2, 2));
    assert_eq!(f.answers[0].value.len(), MAX_DNS_VALUE);
    assert_eq!(f.answers[1].value, "\"v=spf1 -all\"");
}

#[tokio::test]
async fn a_server_without_edns_is_asked_plainly() {
    let (addr, task) = udp_server(|_, q| {
        let mut m = reply_to(q);
        if q.edns.is_some() {
            m.metadata.response_code = ResponseCode::FormErr;
        } else if q.queries[0].name == n("mute.example.test.") {
            return Vec::new();
        } else {
            m.add_answer(a("www.example.test.", 10));
        }
        vec![(Duration::ZERO, bytes(&m))]
    })
    .await;
    let _servers = Servers(vec![task]);
    let prober = Prober::new(limits());
    let f = prober.ask(&ask(addr, "www.example.test", RecordType::A)).await.fact;
    assert_eq!(
        (valid(&f).rcode.as_deref(), f.attempts, values(&f)),
        (Some("NOERROR"), 2, vec!["198.18.10.10"])
    );
    // No plain answer: the FORMERR stands.
    let f = prober.ask(&ask(addr, "mute.example.test", RecordType::A)).await.fact;
    assert_eq!(
        (valid(&f).rcode.as_deref(), f.attempts, f.error.as_deref()),
        (Some("FORMERR"), 4, None)
    );
}

#[tokio::test]
async fn malformed_answers_with_our_id_are_a_clear_error() {
    let (addr, task) = udp_server(|_, q| {
        let mut m = reply_to(q);
        m.add_answer(a("www.example.test.", 10));
        let mut b = bytes(&m);
        // The answer's owner name points at itself: a compression loop.
        let owner = b.len() - 16;
        b[owner] = 0xc0;
        b[owner + 1] = u8::try_from(owner).expect("small");
        vec![(Duration::ZERO, b)]
    })
    .await;
    let _servers = Servers(vec![task]);
    let limits = Limits { attempts: 1, ..limits() };
    let f = Prober::new(limits).ask(&ask(addr, "www.example.test", RecordType::A)).await.fact;
    let e = valid(&f).error.clone().unwrap_or_default();
    assert!(e.contains("with our id came only a malformed answer"), "{e}");
    assert_eq!(f.rcode, None);
}

#[tokio::test]
async fn a_tcp_answer_that_drips_or_is_cut_ends_with_an_error() {
    let (addr, udp) = udp_server(|_, q| {
        let mut m = reply_to(q);
        m.metadata.truncation = true;
        vec![(Duration::ZERO, bytes(&m))]
    })
    .await;
    let (_, tcp) = tcp_server(addr, |q| {
        let mut m = reply_to(q);
        m.add_answer(a("www.example.test.", 10));
        let f = framed(&m);
        if q.queries[0].name == n("drip.example.test.") {
            f.iter().map(|b| (Duration::from_millis(300), vec![*b])).collect()
        } else {
            vec![(Duration::ZERO, f[..f.len() - 5].to_vec())]
        }
    })
    .await;
    let _servers = Servers(vec![udp, tcp]);
    let prober = Prober::new(limits());
    let f = prober.ask(&ask(addr, "drip.example.test", RecordType::A)).await.fact;
    assert_eq!(
        valid(&f).error.as_deref(),
        Some("truncated over UDP; over TCP: no answer within 2 s")
    );
    let f = prober.ask(&ask(addr, "cut.example.test", RecordType::A)).await.fact;
    let e = valid(&f).error.clone().unwrap_or_default();
    assert!(e.contains("closed the connection inside a message"), "{e}");
}

fn axfr_zone() -> Question {
    Question::new("example.test", RecordType::AXFR, false).expect("name")
}

#[tokio::test]
async fn a_transfer_in_several_messages_is_read_to_its_closing_soa() {
    let (addr, tcp) = tcp_server("127.0.0.1:0".parse().expect("addr"), |q| {
        assert_eq!(q.queries[0].query_type, RecordType::AXFR);
        let mut first = reply_to(q);
        first.add_answer(soa());
        first.add_answer(Record::from_rdata(
            n("old.example.test."),
            300,
            RData::CNAME(CNAME(n("gone.cloud.test."))),
        ));
        let mut out = framed(&first);
        for chunk in 0..3u8 {
            let mut m = reply_to(q);
            m.queries.clear();
            for i in 0..100u8 {
                m.add_answer(a(&format!("h{chunk}-{i}.example.test."), i));
            }
            out.extend(framed(&m));
        }
        let mut last = reply_to(q);
        last.queries.clear();
        last.add_answer(soa());
        out.extend(framed(&last));
        out.chunks(700).map(|c| (Duration::ZERO, c.to_vec())).collect()
    })
    .await;
    let _servers = Servers(vec![tcp]);
    let t = Prober::new(limits()).transfer(addr, &axfr_zone(), true).await;
    let f = valid(&t.fact);
    assert_eq!(
        (f.check, f.rtype.as_str(), f.name.as_str()),
        (DnsCheck::Axfr, "AXFR", "example.test")
    );
    assert_eq!((f.complete, f.records, f.answers.len(), f.discovered), (true, 303, 200, true));
    assert_eq!(
        (f.rcode.as_deref(), f.error.as_deref(), f.transport),
        (Some("NOERROR"), None, Proto::Tcp)
    );
    assert_eq!(t.cnames, vec![n("gone.cloud.test.")]);
}

#[tokio::test]
async fn a_refused_transfer_has_no_records_and_no_error() {
    let (addr, tcp) = tcp_server("127.0.0.1:0".parse().expect("addr"), |q| {
        let mut m = reply_to(q);
        m.metadata.authoritative = false;
        m.metadata.response_code = ResponseCode::Refused;
        vec![(Duration::ZERO, framed(&m))]
    })
    .await;
    let _servers = Servers(vec![tcp]);
    let f = Prober::new(limits()).transfer(addr, &axfr_zone(), false).await.fact;
    assert_eq!(
        (valid(&f).rcode.as_deref(), f.records, f.complete, f.error.as_deref()),
        (Some("REFUSED"), 0, false, None)
    );
}

#[tokio::test]
async fn transfers_that_never_end_drip_or_are_cut_stop_with_an_error() {
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let (addr, tcp) = tcp_server("127.0.0.1:0".parse().expect("addr"), move |q| {
        let name = q.queries[0].name.to_string();
        let mut first = reply_to(q);
        first.add_answer(soa());
        let mut out = vec![(Duration::ZERO, framed(&first))];
        match name.as_str() {
            "endless.test." => {
                // Records without end (as many as 3 s allow), never the closing SOA.
                for i in 0..20_000u32 {
                    let mut m = reply_to(q);
                    m.queries.clear();
                    m.add_answer(a(&format!("h{i}.example.test."), 1));
                    out.push((Duration::from_micros(if i % 100 == 0 { 1 } else { 0 }), framed(&m)));
                }
                counter.fetch_add(1, Ordering::Relaxed);
            }
            "drip.test." => {
                let mut m = reply_to(q);
                m.queries.clear();
                m.add_answer(a("h.example.test.", 1));
                out.extend(framed(&m).into_iter().map(|b| (Duration::from_millis(400), vec![b])));
            }
            _ => {
                let mut m = reply_to(q);
                m.queries.clear();
                m.add_answer(a("h.example.test.", 1));
                let f = framed(&m);
                out.push((Duration::ZERO, f[..f.len() / 2].to_vec()));
            }
        }
        out
    })
    .await;
    let _servers = Servers(vec![tcp]);
    let zone = |name| Question::new(name, RecordType::AXFR, false).expect("name");
    let prober = Prober::new(Limits {
        transfer: Duration::from_secs(2),
        idle: Duration::from_secs(1),
        ..limits()
    });
    let f = prober.transfer(addr, &zone("endless.test"), false).await.fact;
    let e = valid(&f).error.clone().unwrap_or_default();
    assert!(!f.complete && f.records > 1, "{f:?}");
    assert!(e.contains("closing SOA") || e.contains("did not end within 2 s"), "{e}");
    let f = prober.transfer(addr, &zone("drip.test"), false).await.fact;
    let e = valid(&f).error.clone().unwrap_or_default();
    assert!(e.contains("did not end within 2 s"), "{e}");
    assert_eq!((f.records, f.rcode.as_deref()), (1, Some("NOERROR")), "the first message counted");
    let f = prober.transfer(addr, &zone("cut.test"), false).await.fact;
    let e = valid(&f).error.clone().unwrap_or_default();
    assert!(e.contains("inside a message"), "{e}");
    assert_eq!(sent.load(Ordering::Relaxed), 1);
}

#[test]
fn the_dns_fuzz_corpus_runs_through_the_fuzz_entry_point() {
    let dir = crate::util::root().join("fuzz/corpus/dns_message");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        vantage::fuzzing::dns_message(&bytes);
        // And every prefix: cut messages and streams are the usual case.
        for cut in 0..bytes.len() {
            vantage::fuzzing::dns_message(&bytes[..cut]);
        }
        n += 1;
    }
    assert!(n >= 10, "the seed corpus has {n} entries");
    // The seeds reach past the id and question checks.
    let seed = |name: &str| std::fs::read(dir.join(name)).expect("seed");
    let www = Question::new("www.example.test", RecordType::A, true).expect("name");
    assert!(matches!(
        vantage::dns::judge(&seed("reply-a.bin"), 0x1234, &www),
        vantage::dns::Judged::Answer(_)
    ));
    assert!(matches!(
        vantage::dns::judge(&seed("reply-compression-loop.bin"), 9, &www),
        vantage::dns::Judged::Malformed(_)
    ));
    let stream = seed("axfr-two-messages.bin");
    let zone = Question::new("example.test", RecordType::AXFR, false).expect("name");
    let mut t = vantage::dns::Transfer::new(0x4242, &zone);
    let mut frames = vantage::dns::frame::Frames::new();
    frames.push(&stream[1..]);
    while let Some(f) = frames.next_frame() {
        t.push(&f).expect("a valid transfer");
    }
    let done = t.finish();
    assert_eq!((done.complete, done.records.seen), (true, 4));
}
