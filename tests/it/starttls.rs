//! STARTTLS (issue 5): the preamble's fuzz corpus, the spec's
//! `starttls:`, and the prober, `check` and the verdict against real
//! STARTTLS servers on 127.0.0.1 (`tests/data/tls/starttls_server.py`,
//! Python's `ssl` with the TLS bed's certificates).

#![allow(clippy::print_stderr, reason = "a test without its servers says it skipped")]

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use vantage::observe::{StartTls, TlsVersion};
use vantage::probe::tls::{Limits, probe_endpoint};
use vantage::tls::wire::starttls::Protocol;

use crate::tlsbed::Certs;
use crate::util::{root, stdout, vantage};

/// `starttls_server.py` on an ephemeral port of 127.0.0.1, serving
/// `leaf-good-chain.pem`; killed by its id when dropped, also when the
/// test fails.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(certs: &Certs, protocol: Protocol, extra: &[&str]) -> Self {
        let child = Command::new("python3")
            .arg(root().join("tests/data/tls/starttls_server.py"))
            .arg(protocol.name())
            .args(["--cert", &certs.file("leaf-good-chain.pem")])
            .args(["--key", &certs.file("leaf-good.key")])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the server");
        // Owned from here, so a server that fails to start is still ended.
        let mut server = Self { child, addr: SocketAddr::from(([127, 0, 0, 1], 0)) };
        let mut line = String::new();
        let out = server.child.stdout.take().expect("piped stdout");
        std::io::BufReader::new(out).read_line(&mut line).expect("the server's port line");
        let port: u16 = line.trim().parse().unwrap_or_else(|_| panic!("no port: {line:?}"));
        server.addr.set_port(port);
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn starttls_fuzz_corpus_runs_through_the_fuzz_entry_point() {
    let dir = root().join("fuzz/corpus/starttls_preamble");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let seed = std::fs::read(entry.expect("entry").path()).expect("read");
        vantage::fuzzing::starttls(&seed);
        // And a few hundred deterministic mutations of it: a cheap
        // stand-in for the fuzzer in every test run.
        for i in 0..300usize {
            let mut bytes = seed.clone();
            if let Some(b) = bytes.get_mut(i.wrapping_mul(7919) % seed.len().max(1)) {
                *b ^= u8::try_from(i % 255).unwrap_or(0) + 1;
            }
            vantage::fuzzing::starttls(&bytes);
        }
        n += 1;
    }
    assert!(n >= 10, "the seed corpus has {n} entries");
}

#[test]
fn a_starttls_service_gives_its_tls_endpoints_the_protocol() {
    use vantage::spec::intent::StartTls;
    let loaded = vantage::spec::load(&root().join("tests/fixtures/good-specs/starttls.yaml"));
    let intent = loaded.intent.expect("a valid spec");
    let by_port: Vec<(u16, Option<StartTls>)> =
        intent.tls_endpoints().iter().map(|e| (e.port, e.starttls)).collect();
    assert_eq!(
        by_port,
        [
            (25, Some(StartTls::Smtp)),
            (110, Some(StartTls::Pop3)),
            (143, Some(StartTls::Imap)),
            (587, Some(StartTls::Smtp)),
            (993, None),
            (5432, Some(StartTls::Postgres)),
        ]
    );
}

#[tokio::test]
async fn starttls_servers_of_each_protocol_give_their_versions_and_chain() {
    let Some(certs) = Certs::make("starttls-ok", &["openssl", "python3"]) else { return };
    let chain = certs.ders("leaf-good-chain.pem");
    assert_eq!(chain.len(), 2, "leaf and intermediate");
    // SMTP and IMAP with TLS 1.2 (the chain comes from the cleartext
    // Certificate message of a raw hello), POP3 and PostgreSQL with TLS 1.3
    // only (the chain comes from the rustls handshake).
    let both = [TlsVersion::Tls12, TlsVersion::Tls13];
    let cases: [(Protocol, &[&str], &[TlsVersion]); 4] = [
        (Protocol::Smtp, &[], &both),
        (Protocol::Imap, &[], &both),
        (Protocol::Pop3, &["--tls13-only"], &[TlsVersion::Tls13]),
        (Protocol::Postgres, &["--tls13-only"], &[TlsVersion::Tls13]),
    ];
    for (protocol, extra, want) in cases {
        let server = Server::start(&certs, protocol, extra);
        let fact =
            probe_endpoint(server.addr, Some("good.test"), Some(protocol), Limits::default()).await;
        assert_eq!(fact.starttls, Some(StartTls::from_protocol(protocol)));
        assert!(fact.speaks_tls && fact.error.is_none() && fact.plaintext.is_none(), "{fact:?}");
        let versions: Vec<TlsVersion> = fact.versions.iter().map(|v| v.version).collect();
        assert_eq!(versions, want, "{protocol}: {fact:?}");
        assert!(fact.versions.iter().all(|v| !v.suites.is_empty()), "{fact:?}");
        for old in [TlsVersion::Ssl3, TlsVersion::Tls10, TlsVersion::Tls11] {
            assert!(fact.refused.contains(&old), "{protocol}: {old:?} refused: {fact:?}");
        }
        assert_eq!(fact.chain_der(), chain, "{protocol}: the chain as served");
        // Without STARTTLS, the same port does not speak TLS.
        let plain = probe_endpoint(server.addr, None, None, Limits::default()).await;
        assert!(!plain.speaks_tls && plain.versions.is_empty(), "{protocol}: {plain:?}");
    }
}

#[tokio::test]
async fn starttls_servers_that_do_not_offer_it_are_told_with_their_reply() {
    let Some(certs) = Certs::make("starttls-refuse", &["openssl", "python3"]) else { return };
    let cases: [(Protocol, &str, &str); 4] = [
        (Protocol::Smtp, "its EHLO reply does not list STARTTLS", "250-localhost greets you"),
        (Protocol::Imap, "it refused the STARTTLS command", "a001 BAD STARTTLS not available"),
        (Protocol::Pop3, "it refused the STARTTLS command", "-ERR unknown command"),
        (Protocol::Postgres, "it answered the SSLRequest with N (no SSL)", "N"),
    ];
    for (protocol, reason, reply) in cases {
        let server = Server::start(&certs, protocol, &["--refuse"]);
        let fact =
            probe_endpoint(server.addr, Some("good.test"), Some(protocol), Limits::default()).await;
        assert!(
            !fact.speaks_tls && fact.versions.is_empty() && fact.refused.is_empty(),
            "{fact:?}"
        );
        assert_eq!(fact.starttls, Some(StartTls::from_protocol(protocol)));
        assert_eq!(
            fact.error,
            Some(format!("{protocol}: the server does not offer STARTTLS: {reason}")),
        );
        let sent = fact.plaintext.as_deref().unwrap_or_default();
        assert!(sent.starts_with(reply), "{protocol}: {sent:?}");
        assert!(fact.chain.is_empty());
        // The line is one the writer accepts and the reader reads back.
        let line = vantage::observe::encode_line(&vantage::observe::Record::Tls(fact.clone()))
            .expect("a valid tls line");
        let back: vantage::observe::Record = serde_json::from_slice(&line).expect("it reads");
        assert_eq!(back, vantage::observe::Record::Tls(fact));
    }
    // A server that closes at once, and one that never greets (an
    // implicit-TLS port declared as STARTTLS): the stage is named.
    let closing = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = closing.local_addr().expect("addr");
    let closer = std::thread::spawn(move || {
        // The preamble's connection, closed before any greeting.
        if let Ok((c, _)) = closing.accept() {
            drop(c);
        }
    });
    let fact = probe_endpoint(addr, None, Some(Protocol::Smtp), Limits::default()).await;
    assert_eq!(
        fact.error.as_deref(),
        Some("SMTP: the server closed the connection during the greeting"),
        "{fact:?}"
    );
    closer.join().expect("the closing server ends");
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let limits = Limits { exchange: std::time::Duration::from_millis(300), ..Limits::default() };
    let fact =
        probe_endpoint(silent.local_addr().expect("addr"), None, Some(Protocol::Imap), limits)
            .await;
    assert_eq!(
        fact.error.as_deref(),
        Some("IMAP: the greeting did not come before the deadline"),
        "{fact:?}"
    );
}

#[test]
fn check_reports_a_mail_server_without_starttls_as_tls_missing() {
    // `vantage check` end to end: the spec's `starttls:` reaches the scan,
    // the tls lines say STARTTLS, and the verdict explains the one server
    // that does not offer it.
    let Some(certs) = Certs::make("starttls-check", &["openssl", "python3"]) else { return };
    let good = Server::start(&certs, Protocol::Smtp, &["--tls13-only"]);
    let bad = Server::start(&certs, Protocol::Smtp, &["--refuse"]);
    let spec = certs.0.join("mail.yaml");
    std::fs::write(
        &spec,
        format!(
            "version: 1
zones:
  local: {{ cidrs: [127.0.0.0/8], probe: false }}
  me: {{ cidrs: [127.0.0.1/32] }}
hosts:
  mx: {{ address: 127.0.0.1, names: [good.test] }}
services:
  smtp: {{ tcp: [{}], tls: mail, starttls: smtp }}
  submission: {{ tcp: [{}], tls: mail, starttls: smtp }}
flows:
  - {{ from: local, to: mx, allow: [smtp, submission] }}
vantages:
  here: {{ zone: local }}
tls:
  policies:
    mail: {{ profile: modern, trusted_ca: root.pem }}
",
            good.addr.port(),
            bad.addr.port()
        ),
    )
    .expect("spec");
    let saved = certs.0.join("obs.jsonl");
    let spec_arg = spec.display().to_string();
    let saved_arg = saved.display().to_string();
    let out = vantage(&[
        "check", &spec_arg, "--from", "here", "--mode", "connect", "--quiet", "--format", "json",
        "--save", &saved_arg,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let file = vantage::observe::read(&saved).expect("a valid observation file");
    assert_eq!(file.tls.len(), 2, "{:?}", file.tls);
    assert!(file.tls.iter().all(|t| t.starttls == Some(StartTls::Smtp)), "{:?}", file.tls);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let findings = doc["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "only the server without STARTTLS: {findings:?}");
    let f = &findings[0];
    assert_eq!(f["rule"], "tls-missing");
    assert_eq!(f["port"], bad.addr.port());
    assert_eq!(f["observed"], "no TLS after SMTP STARTTLS");
    let evidence = f["evidence"].as_str().expect("evidence");
    assert!(
        evidence.starts_with(
            "asked with SMTP STARTTLS, the endpoint did not start TLS; SMTP: the server does \
             not offer STARTTLS: its EHLO reply does not list STARTTLS; it sent \"250-localhost"
        ),
        "{evidence}"
    );
}

#[test]
fn starttls_tls_lines_read_back_through_the_observation_fuzz_entry_point() {
    let bytes = std::fs::read(root().join("fuzz/corpus/observation_jsonl/with-starttls.jsonl"))
        .expect("corpus file");
    let file = vantage::observe::parse(&bytes, "with-starttls.jsonl").expect("a valid file");
    let protocols: Vec<Option<StartTls>> = file.tls.iter().map(|t| t.starttls).collect();
    assert_eq!(protocols, [Some(StartTls::Smtp), Some(StartTls::Imap)]);
    vantage::fuzzing::observations(&bytes);
}
