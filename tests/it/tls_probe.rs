//! The TLS prober's real handshake (rustls, recording the chain) against
//! the real servers of the TLS bed on 127.0.0.1.

#![allow(clippy::print_stderr, reason = "a test without its servers says it skipped")]

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vantage::probe::tls::{Handshake, handshake};

use crate::tlsbed::Certs;

/// `openssl s_server` on 127.0.0.1, killed by its id when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(certs: &Certs, leaf: &str, chain: Option<&str>, extra: &[&str]) -> Self {
        let port =
            TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut cmd = Command::new("openssl");
        cmd.args(["s_server", "-accept", &addr.to_string(), "-www", "-quiet"])
            .args(["-cert", &certs.file(&format!("{leaf}.pem"))])
            .args(["-key", &certs.file(&format!("{leaf}.key"))]);
        if let Some(chain) = chain {
            cmd.args(["-cert_chain", &certs.file(chain)]);
        }
        let child = cmd
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server starts");
        let start = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "s_server never listened on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_handshake_records_the_chain_as_presented_with_and_without_sni() {
    let Some(certs) = Certs::make("tlshs-hs", &["openssl"]) else { return };
    let good = Server::start(&certs, "leaf-good", Some("intermediate.pem"), &[]);
    let chain = certs.ders("leaf-good-chain.pem");
    assert_eq!(chain.len(), 2, "leaf and intermediate");
    for sni in [Some("good.test"), None] {
        match handshake(good.addr, sni, None, Duration::from_secs(5)).await {
            Handshake::Done { version, suite, presented } => {
                assert_eq!(version, 0x0304, "TLS 1.3");
                assert!(matches!(suite, 0x1301..=0x1303), "a TLS 1.3 suite: {suite:#06x}");
                assert_eq!(presented.chain, chain, "{sni:?}");
                assert_eq!(presented.ocsp, None);
            }
            other => panic!("{sni:?}: {other:?}"),
        }
    }
    // Served without its intermediate: the chain says so.
    let nochain = Server::start(&certs, "leaf-nochain", None, &[]);
    match handshake(nochain.addr, Some("nochain.test"), None, Duration::from_secs(5)).await {
        Handshake::Done { presented, .. } => {
            assert_eq!(presented.chain, certs.ders("leaf-nochain.pem"));
        }
        other => panic!("{other:?}"),
    }
    // A server that speaks only what rustls refuses (static RSA, CBC): the
    // handshake fails, and says so, with nothing presented.
    let legacy = Server::start(
        &certs,
        "leaf-good",
        Some("intermediate.pem"),
        &["-no_tls1_3", "-cipher", "AES128-SHA:@SECLEVEL=0"],
    );
    match handshake(legacy.addr, Some("good.test"), None, Duration::from_secs(5)).await {
        Handshake::Failed { error, presented } => {
            assert!(presented.chain.is_empty(), "{presented:?}");
            assert!(!error.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_closed_port_and_a_silent_server_are_told_apart() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    assert!(matches!(
        handshake(closed, None, None, Duration::from_secs(2)).await,
        Handshake::Unreachable(_)
    ));
    // Accepts and never speaks: the deadline ends it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr");
    assert_eq!(handshake(addr, None, None, Duration::from_millis(300)).await, Handshake::TimedOut);
    drop(silent);
}

/// Whether `openssl s_client` completes a handshake with `addr` offering
/// only `cipher` in TLS 1.2 (the reference the enumeration is held to).
fn openssl_accepts_tls12(addr: SocketAddr, cipher: &str) -> bool {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &addr.to_string(), "-tls1_2", "-cipher"])
        .arg(format!("{cipher}:@SECLEVEL=0"))
        .stdin(Stdio::null())
        .output()
        .expect("s_client runs");
    String::from_utf8_lossy(&out.stdout).contains(&format!("Cipher is {cipher}"))
}

/// Every TLS 1.2 suite this OpenSSL knows: (code point, OpenSSL name).
pub(crate) fn openssl_tls12_suites() -> Vec<(u16, String)> {
    let out = Command::new("openssl")
        .args(["ciphers", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"])
        .output()
        .expect("openssl ciphers runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains("TLSv1.3"))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let code = w.next()?.replace(",0x", "").replace("0x", "");
            let name = w.nth(1)?.to_owned();
            Some((u16::from_str_radix(&code, 16).ok()?, name))
        })
        .collect()
}

#[tokio::test]
async fn the_enumeration_finds_exactly_what_openssl_s_client_finds() {
    use vantage::observe::TlsVersion;
    use vantage::probe::tls::{Limits, probe_endpoint};
    let Some(certs) = Certs::make("tlshs-enum", &["openssl"]) else { return };
    // TLS 1.2 only, a few suites of different kinds, the server's order.
    let suites =
        "ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA:DHE-RSA-AES256-SHA256:ECDHE-RSA-CHACHA20-POLY1305";
    let tls12 = Server::start(
        &certs,
        "leaf-good",
        Some("intermediate.pem"),
        &[
            "-no_tls1",
            "-no_tls1_1",
            "-no_tls1_3",
            "-serverpref",
            "-cipher",
            &format!("{suites}:@SECLEVEL=0"),
        ],
    );
    let fact = probe_endpoint(tls12.addr, Some("good.test"), None, Limits::default()).await;
    assert!(fact.speaks_tls && fact.error.is_none(), "{fact:?}");
    let found: Vec<TlsVersion> = fact.versions.iter().map(|v| v.version).collect();
    assert_eq!(found, [TlsVersion::Tls12], "only TLS 1.2: {fact:?}");
    let v12 = &fact.versions[0];
    let mut ours: Vec<u16> = v12
        .suites
        .iter()
        .map(|s| u16::from_str_radix(s.code.trim_start_matches("0x"), 16).expect("hex"))
        .collect();
    ours.sort_unstable();
    let mut theirs: Vec<u16> = openssl_tls12_suites()
        .into_iter()
        .filter(|(_, name)| openssl_accepts_tls12(tls12.addr, name))
        .map(|(code, _)| code)
        .collect();
    theirs.sort_unstable();
    assert_eq!(ours, theirs, "vantage and s_client agree suite by suite");
    assert_eq!(ours.len(), 4);
    assert_eq!(v12.server_order, Some(true), "-serverpref");
    assert_eq!(fact.chain_der(), certs.ders("leaf-good-chain.pem"), "the cleartext chain");
    for v in [
        TlsVersion::Ssl2,
        TlsVersion::Ssl3,
        TlsVersion::Tls10,
        TlsVersion::Tls11,
        TlsVersion::Tls13,
    ] {
        assert!(fact.refused.contains(&v), "{v:?} refused: {fact:?}");
    }

    // TLS 1.3 only: the suites in the clear, the chain from the handshake.
    let tls13 = Server::start(&certs, "leaf-good", Some("intermediate.pem"), &["-tls1_3"]);
    let fact = probe_endpoint(tls13.addr, Some("good.test"), None, Limits::default()).await;
    assert_eq!(fact.versions.len(), 1, "{fact:?}");
    assert_eq!(fact.versions[0].version, TlsVersion::Tls13);
    let codes: Vec<&str> = fact.versions[0].suites.iter().map(|s| s.code.as_str()).collect();
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["0x1301", "0x1302", "0x1303"], "OpenSSL's default TLS 1.3 suites");
    assert_eq!(fact.chain_der(), certs.ders("leaf-good-chain.pem"), "the chain, via rustls");

    // Plaintext where TLS was expected: evidence, and no versions.
    let plain = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = plain.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        use std::io::{Read as _, Write as _};
        // Every hello gets an HTTP error, as a plaintext web server answers.
        while let Ok((mut c, _)) = plain.accept() {
            let mut buf = [0u8; 512];
            let _ = c.read(&mut buf);
            if c.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n").is_err() {
                break;
            }
            if buf.starts_with(b"STOP") {
                break;
            }
        }
    });
    let fact = probe_endpoint(addr, None, None, Limits::default()).await;
    assert!(!fact.speaks_tls && fact.versions.is_empty(), "{fact:?}");
    assert!(fact.error.is_none(), "a plaintext answer is an answer: {fact:?}");
    assert_eq!(fact.plaintext.as_deref().map(|p| p.starts_with("HTTP/1.0 400")), Some(true));
    // A closed port: an error, and no version called refused.
    let closed = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port");
    let fact = probe_endpoint(closed, None, None, Limits::default()).await;
    assert!(fact.error.is_some() && fact.refused.is_empty() && !fact.speaks_tls, "{fact:?}");
    let mut stop = std::net::TcpStream::connect(addr).expect("connect");
    std::io::Write::write_all(&mut stop, b"STOP").expect("stop");
    drop(stop);
    server.join().expect("the plaintext server ends");
}

#[test]
fn the_bed_serves_every_endpoint_it_declares() {
    // The bed of the TLS lab tests and benchmark: every server answers a
    // TLS handshake from inside its namespace (openssl s_client at security
    // level 0, which still speaks the legacy endpoints' suites).
    let bed = match crate::tlsbed::Bed::start("serves") {
        Ok(b) => b,
        Err(crate::tlsbed::BedError::Missing(why))
            if std::env::var_os("VANTAGE_REQUIRE_LAB").is_none() =>
        {
            eprintln!("skipped: {why}");
            return;
        }
        Err(e) => panic!("the TLS bed did not start: {e:?}"),
    };
    assert_eq!(bed.endpoints().len(), 12);
    let planted: usize = bed.endpoints().iter().map(|e| e.flaws.len()).sum();
    assert_eq!(planted, 14);
    for e in bed.endpoints().iter().filter(|e| e.name != "plaintext") {
        let addr = e.addr.to_string();
        let out = bed.exec(&[
            "sh",
            "-c",
            &format!("openssl s_client -connect {addr} -cipher 'ALL:@SECLEVEL=0' </dev/null"),
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Cipher is") && !text.contains("Cipher is (NONE)"),
            "{}: {text}",
            e.name
        );
    }
}

#[test]
fn a_scan_writes_a_tls_line_for_each_open_tls_endpoint() {
    // `vantage scan` probes the TLS posture of the open ports the spec
    // says speak TLS (and only those), and writes it as observations.
    let Some(certs) = Certs::make("tlshs-scan", &["openssl"]) else { return };
    let server = Server::start(&certs, "leaf-good", Some("intermediate.pem"), &["-tls1_3"]);
    let port = server.addr.port();
    let spec = certs.0.join("tls.yaml");
    std::fs::write(
        &spec,
        format!(
            "version: 1
zones:
  local: {{ cidrs: [127.0.0.0/8], probe: false }}
  me: {{ cidrs: [127.0.0.1/32] }}
hosts:
  web: {{ address: 127.0.0.1, names: [good.test] }}
services:
  https: {{ tcp: [{port}], tls: web }}
flows:
  - {{ from: local, to: web, allow: [https] }}
vantages:
  here: {{ zone: local }}
tls:
  policies:
    web: {{ profile: modern }}
"
        ),
    )
    .expect("spec");
    let out = certs.0.join("obs.jsonl");
    let run = Command::new(env!("CARGO_BIN_EXE_vantage"))
        .args(["scan"])
        .arg(&spec)
        .args(["--from", "here", "--mode", "connect", "--quiet", "-o"])
        .arg(&out)
        .output()
        .expect("the scan runs");
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let file = vantage::observe::read(&out).expect("a valid observation file");
    assert_eq!(file.tls.len(), 1, "{:?}", file.tls);
    let fact = &file.tls[0];
    assert_eq!((fact.port, fact.sni.as_deref()), (port, Some("good.test")));
    assert!(fact.speaks_tls);
    assert_eq!(fact.versions.len(), 1);
    assert_eq!(fact.chain_der(), certs.ders("leaf-good-chain.pem"));
}

#[tokio::test]
async fn an_endpoint_is_never_given_more_than_five_connections_at_once() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use vantage::probe::tls::{Limits, MAX_CONNECTIONS, probe_endpoint};
    // A server that holds every connection 100 ms, then closes it without
    // a word, counting how many it holds at once.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (n, m, s) = (Arc::clone(&now), Arc::clone(&most), Arc::clone(&stop));
    let server = std::thread::spawn(move || {
        while let Ok((c, _)) = listener.accept() {
            if s.load(Ordering::SeqCst) {
                break;
            }
            let (n, m) = (Arc::clone(&n), Arc::clone(&m));
            std::thread::spawn(move || {
                let held = n.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(held, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(100));
                n.fetch_sub(1, Ordering::SeqCst);
                drop(c);
            });
        }
    });
    let fact = probe_endpoint(addr, None, None, Limits::default()).await;
    stop.store(true, Ordering::SeqCst);
    drop(std::net::TcpStream::connect(addr));
    server.join().expect("the server ends");
    assert!(!fact.speaks_tls, "{fact:?}");
    let most = most.load(Ordering::SeqCst);
    assert!(most <= MAX_CONNECTIONS, "{most} connections at once");
    assert!(most >= 2, "versions are still probed concurrently: {most}");
}

#[tokio::test]
async fn tls_connections_keep_to_the_scans_host_rate() {
    use std::num::NonZeroU32;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;
    use vantage::engine::pace::Pacer;
    use vantage::probe::tls::{Limits, probe_endpoint};
    // A server that notes when each connection came, then closes it.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (log, s) = (Arc::clone(&seen), Arc::clone(&stop));
    let server = std::thread::spawn(move || {
        while let Ok((c, _)) = listener.accept() {
            if s.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            log.lock().expect("log").push(Instant::now());
            drop(c);
        }
    });
    let rate = NonZeroU32::new(5).expect("nonzero");
    let limits = Limits {
        pace: Some(Arc::new(Pacer::new(NonZeroU32::new(1000).expect("nonzero"), rate))),
        ..Limits::default()
    };
    let fact = probe_endpoint(addr, None, None, limits).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    drop(std::net::TcpStream::connect(addr));
    server.join().expect("the server ends");
    assert!(!fact.speaks_tls, "{fact:?}");
    let seen = seen.lock().expect("log").clone();
    assert!(seen.len() >= 6, "a connection per version at least: {}", seen.len());
    // The host's bucket holds two cells (`engine::pace`): after the first
    // two, at most one connection per 200 ms. Only a lower bound on the
    // spacing is asserted (a slow machine can only space them more), with
    // 50 ms of slack for an accept noted late.
    let first = seen[0];
    for (k, t) in seen.iter().enumerate().skip(2) {
        let k = u64::try_from(k).expect("few");
        let least = std::time::Duration::from_millis(200 * (k - 1) - 50);
        assert!(
            t.duration_since(first) >= least,
            "connection {k} came {:?} after the first, under {least:?}: {seen:?}",
            t.duration_since(first)
        );
    }
}
