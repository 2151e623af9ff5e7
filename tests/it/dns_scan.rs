//! The DNS step of `scan` (issue 6) against a scripted authoritative and
//! recursive server on 127.0.0.1 (UDP and TCP on one port, a task of the
//! test, aborted when it ends): which questions are asked of which server
//! from which vantage, and that a server outside the scope, or excluded, is
//! never asked.

use std::net::SocketAddr;
use std::str::FromStr as _;
use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;
use vantage::observe::{DnsCheck, DnsFact, Record as Line};
use vantage::plan::Exclusions;
use vantage::probe::dns::Limits;
use vantage::scan::dns::{Work, run};

use crate::util::{intent, vantage};

fn n(s: &str) -> Name {
    Name::from_str(s).expect("name")
}

fn rr(owner: &str, data: RData) -> Record {
    Record::from_rdata(n(owner), 300, data)
}

fn soa() -> Record {
    let s =
        SOA::new(n("ns1.example.test."), n("hostmaster.example.test."), 7, 3600, 600, 86400, 300);
    rr("example.test.", RData::SOA(s))
}

/// The zone the server is authoritative for, in transfer order.
fn zone() -> Vec<Record> {
    vec![
        soa(),
        rr("www.example.test.", RData::A(A::new(198, 18, 10, 10))),
        rr("ns1.example.test.", RData::A(A::new(127, 0, 0, 1))),
        rr("alias.example.test.", RData::CNAME(CNAME(n("www.example.test.")))),
        rr("old.example.test.", RData::CNAME(CNAME(n("gone.cloud.test.")))),
        rr("cdn.example.test.", RData::CNAME(CNAME(n("edge.cloud.test.")))),
        rr("db.internal.example.test.", RData::A(A::new(198, 18, 20, 5))),
    ]
}

/// What the scripted server answers: authoritative for example.test
/// (transfers open to all), and recursive for anyone (example.com
/// resolves, gone.cloud.test does not, edge.cloud.test does).
fn answer(q: &Message) -> Vec<Message> {
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = q.metadata.recursion_desired;
    m.metadata.recursion_available = true;
    m.add_queries(q.queries.clone());
    let Some(question) = q.queries.first() else { return vec![m] };
    let (name, t) = (question.name.clone(), question.query_type);
    let in_zone = n("example.test.").zone_of(&name);
    if in_zone {
        m.metadata.authoritative = true;
    }
    let zone = zone();
    if t == RecordType::AXFR {
        if name != n("example.test.") {
            m.metadata.response_code = ResponseCode::NotAuth;
            return vec![m];
        }
        let mut second = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
        second.metadata.authoritative = true;
        m.add_answers(zone[..3].to_vec());
        second.add_answers(zone[3..].to_vec());
        second.add_answer(soa());
        return vec![m, second];
    }
    if in_zone {
        let owned: Vec<&Record> = zone.iter().filter(|r| r.name == name).collect();
        let data: Vec<Record> =
            owned.iter().filter(|r| r.record_type() == t).map(|r| (*r).clone()).collect();
        if !data.is_empty() {
            m.add_answers(data);
        } else if let Some(c) = owned.iter().find(|r| r.record_type() == RecordType::CNAME) {
            m.add_answer((*c).clone());
            // In-zone targets are finished here; out-of-zone ones are not.
            if let RData::CNAME(target) = &c.data
                && n("example.test.").zone_of(&target.0)
            {
                let data: Vec<Record> = zone
                    .iter()
                    .filter(|r| r.name == target.0 && r.record_type() == t)
                    .cloned()
                    .collect();
                if data.is_empty() {
                    m.add_authority(soa());
                }
                m.add_answers(data);
            }
        } else {
            if owned.is_empty() {
                m.metadata.response_code = ResponseCode::NXDomain;
            }
            m.add_authority(soa());
        }
        return vec![m];
    }
    match name.to_string().as_str() {
        "example.com." if t == RecordType::A => {
            m.add_answer(rr("example.com.", RData::A(A::new(93, 184, 215, 14))));
        }
        "edge.cloud.test." if t == RecordType::A => {
            m.add_answer(rr("edge.cloud.test.", RData::A(A::new(198, 18, 30, 1))));
        }
        "gone.cloud.test." | "edge.cloud.test." | "example.com." => {
            m.metadata.response_code = ResponseCode::NXDomain;
        }
        _ => m.metadata.response_code = ResponseCode::Refused,
    }
    vec![m]
}

/// The scripted server on 127.0.0.1, UDP and TCP on one port; its tasks
/// are aborted when this is dropped.
struct Server {
    addr: SocketAddr,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for Server {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn server() -> Server {
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let udp = Arc::new(UdpSocket::bind(addr).await.expect("bind UDP on the same port"));
    let udp_task = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((len, from)) = udp.recv_from(&mut buf).await else { return };
            let Ok(q) = Message::from_vec(&buf[..len]) else { continue };
            for m in answer(&q) {
                let _ = udp.send_to(&m.to_vec().expect("encodes"), from).await;
            }
        }
    });
    let tcp_task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = tcp.accept().await else { return };
            tokio::spawn(async move {
                let mut len = [0u8; 2];
                while s.read_exact(&mut len).await.is_ok() {
                    let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if s.read_exact(&mut q).await.is_err() {
                        return;
                    }
                    let Ok(q) = Message::from_vec(&q) else { return };
                    for m in answer(&q) {
                        let b = m.to_vec().expect("encodes");
                        let mut out = u16::try_from(b.len()).expect("fits").to_be_bytes().to_vec();
                        out.extend(b);
                        if s.write_all(&out).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    Server { addr, tasks: vec![udp_task.abort_handle(), tcp_task.abort_handle()] }
}

fn spec(server: SocketAddr) -> String {
    format!(
        "version: 1
zones:
  local: {{ cidrs: [127.0.0.0/8], probe: false }}
  lab: {{ cidrs: [127.0.0.1/32] }}
  far: {{ cidrs: [203.0.113.0/24], probe: false }}
hosts:
  ns: {{ address: 127.0.0.1, names: [ns1.example.test, www.example.test] }}
vantages:
  here: {{ zone: local }}
  there: {{ zone: local }}
dns:
  servers: [\"{server}\", 203.0.113.53]
  expect:
    - {{ name: www.example.test, type: A, values: [198.18.10.10] }}
    - {{ name: alias.example.test, type: A, values: [198.18.10.10], from: here }}
    - {{ name: old.example.test, type: CNAME, values: [gone.cloud.test] }}
    - {{ name: cdn.example.test, type: A, values: [198.18.30.1] }}
    - {{ name: db.internal.example.test, absent: true, from: here }}
    - {{ name: only-there.example.test, type: A, values: [198.18.10.11], from: there }}
  forbid: [zone-transfer, open-recursion, dangling-cname]
"
    )
}

/// (check, name, type) of each line, sorted; the wildcard names made
/// stable.
fn asked(lines: &[DnsFact]) -> Vec<(DnsCheck, String, String)> {
    let mut out: Vec<_> = lines
        .iter()
        .map(|f| {
            let name = if f.check == DnsCheck::Wildcard {
                let (label, parent) = f.name.split_once('.').expect("a parent");
                assert!(label.starts_with("vantage-wildcard-"), "{label}");
                format!("*.{parent}")
            } else {
                f.name.clone()
            };
            (f.check, name, f.rtype.clone())
        })
        .collect();
    out.sort();
    out
}

fn line(c: DnsCheck, name: &str, t: &str) -> (DnsCheck, String, String) {
    (c, name.to_owned(), t.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_asks_the_listed_server_what_the_spec_needs_and_never_one_out_of_scope() {
    let server = server().await;
    let dir = std::env::temp_dir().join(format!("vantage-it-dns-scan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spec_path = dir.join("dns.yaml");
    std::fs::write(&spec_path, spec(server.addr)).expect("spec");
    let out = dir.join("here.jsonl");
    let (spec_arg, out_arg) = (spec_path.display().to_string(), out.display().to_string());
    let run = tokio::task::spawn_blocking(move || {
        let args = ["scan", &spec_arg, "--from", "here", "-o", &out_arg, "--mode", "connect"];
        vantage(&args)
    });
    let scanned = run.await.expect("the scan ran");
    let stderr = String::from_utf8_lossy(&scanned.stderr).into_owned();
    let file = vantage::observe::read(&out).expect("observations");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(scanned.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("DNS servers outside every probe-able zone, not asked: 203.0.113.53:53"),
        "{stderr}"
    );
    assert!(file.is_complete());
    assert!(
        file.dns
            .iter()
            .all(|f| f.server == server.addr.ip() && f.port == server.addr.port() && !f.discovered)
    );
    use DnsCheck::*;
    let mut expected = vec![
        line(Expect, "www.example.test", "A"),
        line(Expect, "alias.example.test", "A"),
        line(Expect, "old.example.test", "CNAME"),
        line(Expect, "cdn.example.test", "A"),
        line(CnameTarget, "edge.cloud.test", "A"),
        line(Expect, "db.internal.example.test", "A"),
        line(Expect, "db.internal.example.test", "AAAA"),
        line(Wildcard, "*.internal.example.test", "A"),
        line(Wildcard, "*.internal.example.test", "AAAA"),
        line(Apex, "alias.example.test", "SOA"),
        line(Axfr, "example.test", "AXFR"),
        line(Recursion, "example.com", "A"),
        line(CnameTarget, "gone.cloud.test", "A"),
    ];
    expected.sort();
    assert_eq!(asked(&file.dns), expected);
    let by = |c: DnsCheck, name: &str| {
        file.dns.iter().find(|f| f.check == c && f.name == name).expect(name)
    };
    let axfr = by(Axfr, "example.test");
    assert_eq!((axfr.complete, axfr.records, axfr.rcode.as_deref()), (true, 8, Some("NOERROR")));
    assert_eq!(by(Apex, "alias.example.test").authority.as_deref(), Some("example.test"));
    assert_eq!(by(CnameTarget, "gone.cloud.test").rcode.as_deref(), Some("NXDOMAIN"));
    let rec = by(Recursion, "example.com");
    assert!(rec.recursion_desired && rec.recursion_available && rec.answers.len() == 1);
    // Its A line: the AAAA line (no answer) is asked at the same time and
    // may be written first.
    let leak = file
        .dns
        .iter()
        .find(|f| f.check == Expect && f.name == "db.internal.example.test" && f.rtype == "A")
        .expect("db.internal.example.test A");
    assert_eq!(leak.answers.iter().map(|r| r.value.as_str()).collect::<Vec<_>>(), ["198.18.20.5"]);
}

#[tokio::test]
async fn a_server_found_with_53_open_gets_the_forbidden_checks() {
    let server = server().await;
    let intent = intent(&spec("127.0.0.1:53".parse().expect("addr")));
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let work = Work {
        intent: &intent,
        vantage: intent.vantage("here"),
        listed: false,
        open_53: vec![server.addr],
        exclusions: &Exclusions::none(),
    };
    let report = run(work, Limits::default(), &tx, &CancellationToken::new()).await;
    drop(tx);
    let mut lines = Vec::new();
    while let Some(Line::Dns(f)) = rx.recv().await {
        lines.push(f);
    }
    assert_eq!(
        (report.discovered.as_slice(), report.written, report.cut, report.capped),
        (&[server.addr][..], 6, false, false)
    );
    assert!(lines.iter().all(|f| f.discovered));
    use DnsCheck::*;
    let mut expected = vec![
        line(Apex, "alias.example.test", "SOA"),
        line(Axfr, "example.test", "AXFR"),
        line(Recursion, "example.com", "A"),
        line(CnameTarget, "gone.cloud.test", "A"),
    ];
    expected.sort();
    // The transfer's CNAMEs: www (in the zone) was not asked here, so it
    // is asked too.
    let mut got = asked(&lines);
    got.retain(|l| l.1 != "www.example.test" && l.1 != "edge.cloud.test");
    assert_eq!(got, expected);
}

#[tokio::test]
async fn an_excluded_server_is_never_asked_listed_or_found() {
    // `--exclude` narrows the scope guard the DNS step asks through: the
    // listed server and the same server found with 53 open are both
    // refused, and the report names the listed one.
    let server = server().await;
    let intent = intent(&spec(server.addr));
    let exclusions = Exclusions::parse("exclude.txt", b"127.0.0.1\n").expect("exclusions");
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let work = Work {
        intent: &intent,
        vantage: intent.vantage("here"),
        listed: true,
        open_53: vec![server.addr],
        exclusions: &exclusions,
    };
    let report = run(work, Limits::default(), &tx, &CancellationToken::new()).await;
    drop(tx);
    assert!(rx.recv().await.is_none(), "nothing was asked");
    assert_eq!(report.written, 0);
    assert!(report.discovered.is_empty());
    assert!(report.out_of_scope.contains(&server.addr), "{:?}", report.out_of_scope);
}
