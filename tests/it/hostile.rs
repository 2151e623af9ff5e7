//! Hostile servers (issue 8): the real binary, `vantage check`, against
//! servers written here to misbehave, each on a loopback address of its
//! own (127.0.0.81 to 127.0.0.87) and stopped when its test ends (its
//! guard's drop, panics included): one that accepts and never speaks, one
//! whose banner never ends, TLS servers that answer a ClientHello with a
//! 16 MB certificate chain, a ServerHello dripped byte by byte, garbage
//! after their flight or an endless storm of alerts, and a DNS server that
//! answers with compression loops, cut messages and wrong ids only.
//!
//! For each, the run must end (under a watchdog: `timeout -s KILL`, so a
//! hang fails the test instead of blocking it), exit 0, 1 or 3 (never a
//! panic or a signal), write an observation file the reader accepts, with
//! its trailer, and report the endpoint; and its peak RSS, as GNU time's
//! `%M` measures it, must stay under [`MAX_RSS_KIB`]. No wall-clock
//! duration is asserted.

#![allow(clippy::print_stderr, reason = "each run's peak RSS is printed, and a skip says why")]

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};
use vantage::observe::{ObservationFile, PortState, TlsFact, TlsVersion};

use crate::util::root;

/// The most memory one run may use (peak resident set), 16 MB chain and
/// endless streams included. A run takes 21 to 23 MiB here (the debug
/// build), so one that held the 16 MB chain even once would be over it.
const MAX_RSS_KIB: u64 = 36 * 1024;

/// A run still going after this many seconds is killed and fails its
/// test: generous, since the machine may be busy with other tests.
const WATCHDOG_S: u64 = 300;

/// How often a server's blocked read, write or accept looks at its stop flag.
const TICK: Duration = Duration::from_millis(10);

// --- the servers ---------------------------------------------------------

/// A hostile TCP server on `ip` (the kernel picks the port): each
/// connection is served on a thread of its own. Dropping it stops the
/// accept loop and waits for every connection's thread, each of which
/// looks at the stop flag at least every [`TICK`].
struct Hostile {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Hostile {
    fn start<F>(ip: [u8; 4], serve: F) -> Self
    where
        F: Fn(TcpStream, &AtomicBool) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind((Ipv4Addr::from(ip), 0)).expect("bind a loopback port");
        Self::serve_on(listener, serve)
    }

    fn serve_on<F>(listener: TcpListener, serve: F) -> Self
    where
        F: Fn(TcpStream, &AtomicBool) + Send + Sync + 'static,
    {
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let serve = Arc::new(serve);
        let accept = std::thread::spawn(move || {
            let mut connections: Vec<JoinHandle<()>> = Vec::new();
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((c, _)) => {
                        let (s, serve) = (Arc::clone(&s), Arc::clone(&serve));
                        connections.push(std::thread::spawn(move || {
                            let ready = c.set_nonblocking(false).is_ok()
                                && c.set_read_timeout(Some(TICK)).is_ok()
                                && c.set_write_timeout(Some(TICK)).is_ok()
                                && c.set_nodelay(true).is_ok();
                            if ready {
                                serve(c, &s);
                            }
                        }));
                    }
                    Err(_) => std::thread::sleep(TICK),
                }
                // Finished threads need no join; keep the list short.
                connections.retain(|h| !h.is_finished());
            }
            for h in connections {
                let _ = h.join();
            }
        });
        Self { addr, stop, accept: Some(accept) }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// A read or write that timed out (the socket's [`TICK`]): try again
/// unless stopped.
fn waiting(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted)
}

/// Reads exactly `buf.len()` bytes; false at the end of the stream, an
/// error, or `stop`.
fn read_full(c: &mut TcpStream, buf: &mut [u8], stop: &AtomicBool) -> bool {
    let mut filled = 0;
    while filled < buf.len() {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        match c.read(&mut buf[filled..]) {
            Ok(0) => return false,
            Ok(n) => filled += n,
            Err(e) if waiting(&e) => {}
            Err(_) => return false,
        }
    }
    true
}

/// Writes all of `bytes`; false once the peer is gone, or at `stop`.
fn write_full(c: &mut TcpStream, bytes: &[u8], stop: &AtomicBool) -> bool {
    let mut sent = 0;
    while sent < bytes.len() {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        match c.write(&bytes[sent..]) {
            Ok(0) => return false,
            Ok(n) => sent += n,
            Err(e) if waiting(&e) => {}
            Err(_) => return false,
        }
    }
    true
}

/// Holds the connection open, silent, until the peer leaves or `stop`.
fn hold(mut c: TcpStream, stop: &AtomicBool) {
    let mut sink = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        match c.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if waiting(&e) => {}
            Err(_) => return,
        }
    }
}

/// Writes `chunk` over and over until the peer leaves or `stop`.
fn endless(c: &mut TcpStream, chunk: &[u8], stop: &AtomicBool) {
    while write_full(c, chunk, stop) {}
}

// --- TLS by hand -----------------------------------------------------------

/// What the servers read of a ClientHello.
#[derive(Debug)]
struct Hello {
    /// The legacy version field.
    version: u16,
    session_id: Vec<u8>,
    suites: Vec<u16>,
    /// `supported_versions` offers TLS 1.3.
    tls13: bool,
    /// The first `key_share` entry: group and key.
    share: Option<(u16, Vec<u8>)>,
}

/// A cursor over bytes that answers `None` past their end.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
}

/// Reads one TLS record holding a ClientHello; `None` for anything else
/// (an SSLv2 hello among them: these servers do not answer it).
fn read_hello(c: &mut TcpStream, stop: &AtomicBool) -> Option<Hello> {
    let mut head = [0u8; 5];
    if !read_full(c, &mut head, stop) || head[0] != 22 {
        return None;
    }
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([head[3], head[4]]))];
    if !read_full(c, &mut body, stop) {
        return None;
    }
    let mut r = Cursor(&body);
    if r.u8()? != 1 {
        return None;
    }
    r.take(3)?;
    let version = r.u16()?;
    r.take(32)?;
    let n = r.u8()?;
    let session_id = r.take(usize::from(n))?.to_vec();
    let n = r.u16()?;
    let suites =
        r.take(usize::from(n))?.chunks(2).map(|s| u16::from_be_bytes([s[0], s[1]])).collect();
    let n = r.u8()?;
    r.take(usize::from(n))?;
    let (mut tls13, mut share) = (false, None);
    if let Some(n) = r.u16() {
        let mut exts = Cursor(r.take(usize::from(n))?);
        while let Some(kind) = exts.u16() {
            let n = exts.u16()?;
            let data = exts.take(usize::from(n))?;
            match kind {
                43 => tls13 = data.get(1..)?.chunks(2).any(|v| v == [3, 4]),
                51 => {
                    let mut k = Cursor(data.get(2..)?);
                    if let (Some(group), Some(n)) = (k.u16(), k.u16()) {
                        share = Some((group, k.take(usize::from(n))?.to_vec()));
                    }
                }
                _ => {}
            }
        }
    }
    Some(Hello { version, session_id, suites, tls13, share })
}

fn u24(n: usize) -> [u8; 3] {
    let b = u32::try_from(n).expect("a 24-bit length").to_be_bytes();
    assert_eq!(b[0], 0, "a 24-bit length");
    [b[1], b[2], b[3]]
}

/// `payload` as records of `kind`, at most 2^14 bytes each.
fn records(kind: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload.len() / 16_384 * 5 + 5);
    for fragment in payload.chunks(16_384) {
        out.push(kind);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&u16::try_from(fragment.len()).expect("short").to_be_bytes());
        out.extend_from_slice(fragment);
    }
    out
}

/// A handshake message.
fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend_from_slice(&u24(body.len()));
    out.extend_from_slice(body);
    out
}

/// One alert record.
fn alert(level: u8, description: u8) -> Vec<u8> {
    records(21, 0x0303, &[level, description])
}

const HANDSHAKE_FAILURE: u8 = 40;
const PROTOCOL_VERSION: u8 = 70;
const USER_CANCELED: u8 = 90;

/// The suite a server takes from `hello`: the first TLS 1.3 suite offered
/// to a 1.3 hello; else ECDHE-RSA-AES128-GCM-SHA256 (0xC02F) to a TLS 1.2
/// hello that offers it. `None`: the server refuses (older versions, or
/// 0xC02F not offered), with the alert to send.
fn choose(hello: &Hello) -> Result<u16, u8> {
    if hello.tls13 {
        return hello
            .suites
            .iter()
            .copied()
            .find(|s| (0x1301..=0x1305).contains(s))
            .ok_or(HANDSHAKE_FAILURE);
    }
    if hello.version != 0x0303 {
        return Err(PROTOCOL_VERSION);
    }
    if hello.suites.contains(&0xC02F) { Ok(0xC02F) } else { Err(HANDSHAKE_FAILURE) }
}

/// The ServerHello message for `hello` choosing `suite`: TLS 1.3 (with
/// `supported_versions` and the client's own key share echoed, a valid
/// point of its group) to a 1.3 hello, else TLS 1.2.
fn server_hello(hello: &Hello, suite: u16) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0x42; 32]);
    body.push(u8::try_from(hello.session_id.len()).expect("short"));
    body.extend_from_slice(&hello.session_id);
    body.extend_from_slice(&suite.to_be_bytes());
    body.push(0);
    let mut exts = Vec::new();
    if hello.tls13 {
        exts.extend_from_slice(&[0, 43, 0, 2, 3, 4]);
        let (group, key) = hello.share.clone().unwrap_or((0x001d, vec![9; 32]));
        exts.extend_from_slice(&[0, 51]);
        exts.extend_from_slice(&u16::try_from(key.len() + 4).expect("short").to_be_bytes());
        exts.extend_from_slice(&group.to_be_bytes());
        exts.extend_from_slice(&u16::try_from(key.len()).expect("short").to_be_bytes());
        exts.extend_from_slice(&key);
    }
    body.extend_from_slice(&u16::try_from(exts.len()).expect("short").to_be_bytes());
    body.extend_from_slice(&exts);
    handshake(2, &body)
}

/// The first flight for `hello` choosing `suite`: the ServerHello alone
/// for TLS 1.3 (the rest would be encrypted), ServerHello and
/// ServerHelloDone in one record for TLS 1.2.
fn flight(hello: &Hello, suite: u16) -> Vec<u8> {
    let mut messages = server_hello(hello, suite);
    if !hello.tls13 {
        messages.extend_from_slice(&handshake(14, &[]));
    }
    records(22, 0x0303, &messages)
}

/// Reads a ClientHello and answers it: `Ok` with the chosen suite after
/// `answer` wrote what it wanted, or the refusal's alert.
fn tls_server(
    mut c: TcpStream,
    stop: &AtomicBool,
    answer: impl FnOnce(&mut TcpStream, &Hello, u16),
) {
    let Some(hello) = read_hello(&mut c, stop) else { return };
    match choose(&hello) {
        Ok(suite) => answer(&mut c, &hello, suite),
        Err(description) => {
            let _ = write_full(&mut c, &alert(2, description), stop);
        }
    }
}

/// The largest handshake message there is (2^24 - 1 bytes): a Certificate
/// whose list holds 256 "certificates" of 64 KiB (a DER SEQUENCE header,
/// then zeros), as TLS 1.2 records.
fn huge_certificate() -> Vec<u8> {
    const BODY: usize = 0xFF_FFFF;
    let list = BODY - 3;
    let mut msg = Vec::with_capacity(BODY + 4);
    msg.push(11);
    msg.extend_from_slice(&u24(BODY));
    msg.extend_from_slice(&u24(list));
    let mut left = list;
    while left > 0 {
        let entry = (left - 3).min(65_533);
        msg.extend_from_slice(&u24(entry));
        msg.extend_from_slice(&[0x30, 0x82]);
        msg.extend_from_slice(&u16::try_from(entry - 4).expect("short").to_be_bytes());
        msg.resize(msg.len() + entry - 4, 0);
        left -= 3 + entry;
    }
    assert_eq!(msg.len(), BODY + 4);
    records(22, 0x0303, &msg)
}

// --- running vantage -------------------------------------------------------

/// A folder for one test's spec and files, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("vantage-hostile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one `vantage check` run left.
struct Run {
    code: Option<i32>,
    stderr: String,
    /// The findings document (`--format json`).
    report: serde_json::Value,
    /// The observation file it saved.
    observed: ObservationFile,
}

impl Run {
    /// The findings about `port` (TCP) or, with `None`, about DNS.
    fn findings(&self, port: Option<u16>) -> Vec<&serde_json::Value> {
        let all = self.report["findings"].as_array().map(Vec::as_slice).unwrap_or_default();
        all.iter()
            .filter(|f| match port {
                Some(p) => f["port"] == p,
                None => f["rule"].as_str().is_some_and(|r| r.starts_with("dns-")),
            })
            .collect()
    }

    /// The `tls` line for `addr`.
    fn tls(&self, addr: SocketAddr) -> &TlsFact {
        let found =
            self.observed.tls.iter().find(|t| t.target == addr.ip() && t.port == addr.port());
        found.unwrap_or_else(|| panic!("no tls line for {addr}: {:?}", self.observed.tls))
    }
}

/// GNU time (Debian's `time`), which reports a child's peak RSS.
const GNU_TIME: &str = "/usr/bin/time";

/// Writes `spec` and runs `vantage check` on it from vantage `here`
/// (connect mode, JSON report, observations saved), under the watchdog and,
/// where installed, GNU time. Asserts what every hostile run must give: an
/// end, a documented exit code, no panic, a valid observation file with
/// its trailer, and a peak RSS under [`MAX_RSS_KIB`].
fn check(scratch: &Scratch, spec: &str, extra: &[&str]) -> Run {
    let dir = &scratch.0;
    let spec_path = dir.join("spec.yaml");
    std::fs::write(&spec_path, spec).expect("write the spec");
    let saved = dir.join("observed.jsonl");
    let rss_path = dir.join("rss");
    let measured = Path::new(GNU_TIME).exists();
    let mut cmd = if measured {
        let mut c = Command::new(GNU_TIME);
        c.args(["-f", "%M", "-o"]).arg(&rss_path).arg("timeout");
        c
    } else if std::env::var_os("VANTAGE_REQUIRE_LAB").is_some() {
        panic!("{GNU_TIME} is missing (Debian's `time`): the peak RSS cannot be measured");
    } else {
        eprintln!("SKIPPED the RSS bound: {GNU_TIME} is missing (Debian's `time`)");
        Command::new("timeout")
    };
    cmd.args(["-s", "KILL", &WATCHDOG_S.to_string()])
        .arg(env!("CARGO_BIN_EXE_vantage"))
        .arg("check")
        .arg(&spec_path)
        .args(["--from", "here", "--mode", "connect", "--quiet", "--format", "json", "--save"])
        .arg(&saved)
        .args(extra)
        .current_dir(root());
    let out = cmd.output().expect("vantage runs under timeout");
    let code = out.status.code();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(code, Some(137), "killed by the {WATCHDOG_S} s watchdog: vantage hung\n{stderr}");
    assert!(matches!(code, Some(0 | 1 | 3)), "exit {code:?}, not 0, 1 or 3:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{stderr}"));
    let observed = vantage::observe::read(&saved).expect("a valid observation file");
    assert!(observed.trailer.is_some(), "the observation file has its trailer");
    // Peak resident set, KiB.
    let rss_kib = measured.then(|| {
        // GNU time writes "Command exited with non-zero status N" first
        // when the status is not 0.
        let text = std::fs::read_to_string(&rss_path).expect("GNU time's output");
        let last = text.lines().last().unwrap_or_default().trim().to_owned();
        last.parse::<u64>().unwrap_or_else(|e| panic!("GNU time wrote {text:?}: {e}"))
    });
    if let Some(kib) = rss_kib {
        eprintln!("hostile: peak RSS {kib} KiB ({})", spec.lines().nth(1).unwrap_or_default());
        // `timeout` alone is about 2 MiB: GNU time's figure is the largest
        // of its reaped descendants, so vantage's.
        assert!(kib > 8 * 1024, "GNU time measured {kib} KiB: not vantage's peak");
        assert!(kib < MAX_RSS_KIB, "peak RSS {kib} KiB, over the {MAX_RSS_KIB} KiB bound");
    }
    Run { code, stderr, report, observed }
}

/// A spec with one host at `addr` whose port speaks `service` (a YAML
/// flow mapping such as `{ tcp: [443], tls: web }`), flowed with `flow`
/// (`allow` or `deny`), and an intermediate TLS policy `web`.
fn spec_for(title: &str, addr: SocketAddr, service: &str, flow: &str) -> String {
    let ip = addr.ip();
    format!(
        "version: 1
name: hostile-{title}
zones:
  local: {{ cidrs: [127.0.0.0/8], probe: false }}
  me: {{ cidrs: [{ip}/32] }}
hosts:
  server: {{ address: {ip}, names: [hostile.test] }}
services:
  svc: {service}
flows:
  - {{ from: local, to: server, {flow}: [svc] }}
vantages:
  here: {{ zone: local }}
tls:
  policies:
    web: {{ profile: intermediate }}
"
    )
}

/// A TLS endpoint's spec.
fn tls_spec(title: &str, addr: SocketAddr) -> String {
    spec_for(title, addr, &format!("{{ tcp: [{}], tls: web }}", addr.port()), "allow")
}

/// The suites of `version` on a `tls` line, by code point.
fn suites(fact: &TlsFact, version: TlsVersion) -> Vec<&str> {
    fact.versions
        .iter()
        .filter(|v| v.version == version)
        .flat_map(|v| v.suites.iter().map(|s| s.code.as_str()))
        .collect()
}

/// The TLS endpoint at `addr` spoke TLS, but its chain was never read:
/// its `tls` line says why (starting with `why`), and no finding claims it
/// sent no certificate; a finding about it says the probe was cut short.
/// Its certificate policy went unjudged: one `scan-incomplete` finding for
/// the endpoint says so, and the run exits 3, never 0.
fn chain_unread_and_said_so(run: &Run, addr: SocketAddr, why: &str) {
    assert_eq!(run.code, Some(3), "an unjudged chain is incomplete:\n{}", run.stderr);
    let unjudged: Vec<_> = run
        .findings(Some(addr.port()))
        .into_iter()
        .filter(|f| f["rule"] == "scan-incomplete" && f["target"] == addr.ip().to_string())
        .collect();
    assert_eq!(unjudged.len(), 1, "{:?}", run.report["findings"]);
    let observed = unjudged[0]["observed"].as_str().unwrap_or_default();
    assert!(observed.contains("the certificate policy is unjudged"), "{observed}");
    assert!(observed.contains(why), "{observed} does not say {why:?}");
    let fact = run.tls(addr);
    assert!(fact.speaks_tls && fact.chain.is_empty(), "{fact:?}");
    let error = fact.error.as_deref().unwrap_or_default();
    assert!(error.starts_with("no certificate was read: "), "{fact:?}");
    assert!(error.contains(why), "{error:?} does not say {why:?}");
    for f in run.findings(Some(addr.port())) {
        let evidence = f["evidence"].as_str().unwrap_or_default();
        assert_ne!(f["observed"], "no certificate", "{f}");
        assert!(evidence.contains("the probe was cut short: no certificate was read"), "{f}");
    }
}

// --- plain TCP -------------------------------------------------------------

#[test]
fn a_server_that_accepts_and_never_speaks_is_an_open_port_without_banner() {
    let server = Hostile::start([127, 0, 0, 81], hold);
    let scratch = Scratch::new("silent");
    let service = format!("{{ tcp: [{}] }}", server.addr.port());
    let spec = spec_for("silent", server.addr, &service, "deny");
    let run = check(&scratch, &spec, &["--banner-ms", "1500"]);
    let port =
        run.observed.facts.iter().find(|p| p.port == server.addr.port()).expect("the port's line");
    assert_eq!((port.state, port.banner.as_deref()), (PortState::Open, None), "{port:?}");
    // The port is denied: an exposure, with no banner in its evidence.
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let findings = run.findings(Some(server.addr.port()));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["rule"], "exposure");
    assert!(
        !findings[0]["evidence"].as_str().unwrap_or_default().contains("banner"),
        "{findings:?}"
    );
}

#[test]
fn an_endless_banner_is_cut_and_memory_stays_bounded() {
    let server = Hostile::start([127, 0, 0, 82], |mut c, stop| {
        endless(&mut c, &b"ENDLESS BANNER ".repeat(4096), stop);
    });
    let scratch = Scratch::new("banner");
    let service = format!("{{ tcp: [{}] }}", server.addr.port());
    let spec = spec_for("banner", server.addr, &service, "deny");
    let run = check(&scratch, &spec, &["--banner-ms", "2000"]);
    let port =
        run.observed.facts.iter().find(|p| p.port == server.addr.port()).expect("the port's line");
    assert_eq!(port.state, PortState::Open);
    // The first 256 bytes, as sent (nothing to escape).
    let sent = b"ENDLESS BANNER ".repeat(20);
    let want = String::from_utf8_lossy(&sent[..vantage::observe::MAX_BANNER_BYTES]);
    assert_eq!(port.banner.as_deref(), Some(&*want));
    let findings = run.findings(Some(server.addr.port()));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!((run.code, &findings[0]["rule"]), (Some(1), &serde_json::json!("exposure")));
}

// --- TLS -------------------------------------------------------------------

#[test]
fn a_16_mb_certificate_chain_is_refused_at_the_cap_within_bounded_memory() {
    let chain = Arc::new(huge_certificate());
    let served = Arc::clone(&chain);
    let server = Hostile::start([127, 0, 0, 83], move |c, stop| {
        tls_server(c, stop, |c, hello, suite| {
            let _ = write_full(c, &records(22, 0x0303, &server_hello(hello, suite)), stop)
                && write_full(c, &served, stop);
        });
    });
    let scratch = Scratch::new("huge-chain");
    // `check` asserts the peak RSS bound (36 MiB, against a 16 MiB chain).
    let run = check(&scratch, &tls_spec("huge-chain", server.addr), &[]);
    let fact = run.tls(server.addr);
    // The hello before the chain still counts; the chain is refused at
    // the Certificate message's cap (128 KiB), from its announced length.
    assert_eq!(suites(fact, TlsVersion::Tls12), ["0xC02F"], "{fact:?}");
    chain_unread_and_said_so(
        &run,
        server.addr,
        "TLSv1.2: the peer's handshake message is 16777215 bytes, over our limit of 131072",
    );
    drop(chain);
}

#[test]
fn a_server_hello_dripped_byte_by_byte_is_read_whole() {
    let server = Hostile::start([127, 0, 0, 84], |c, stop| {
        tls_server(c, stop, |c, hello, suite| {
            for byte in flight(hello, suite) {
                if !write_full(c, &[byte], stop) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
    });
    let scratch = Scratch::new("drip");
    let run = check(&scratch, &tls_spec("drip", server.addr), &[]);
    let fact = run.tls(server.addr);
    // Read whole, byte after byte: the suite chosen, in each version.
    assert_eq!(suites(fact, TlsVersion::Tls12), ["0xC02F"], "{fact:?}");
    assert!(!suites(fact, TlsVersion::Tls13).is_empty(), "{fact:?}");
    // The server closes after its ServerHello: the recording handshake
    // never sees a certificate.
    chain_unread_and_said_so(&run, server.addr, "the handshake failed before one");
}

#[test]
fn garbage_after_the_handshake_flight_is_ignored() {
    let server = Hostile::start([127, 0, 0, 85], |c, stop| {
        tls_server(c, stop, |c, hello, suite| {
            if write_full(c, &flight(hello, suite), stop) {
                endless(c, &[0xde, 0xad, 0xbe, 0xef].repeat(4096), stop);
            }
        });
    });
    let scratch = Scratch::new("garbage");
    let run = check(&scratch, &tls_spec("garbage", server.addr), &[]);
    let fact = run.tls(server.addr);
    // The flight is read to its end; what follows is not.
    assert_eq!(suites(fact, TlsVersion::Tls12), ["0xC02F"], "{fact:?}");
    assert!(!suites(fact, TlsVersion::Tls13).is_empty(), "{fact:?}");
    // rustls meets the garbage where it expects encrypted records.
    chain_unread_and_said_so(&run, server.addr, "the handshake failed before one");
}

#[test]
fn an_endless_storm_of_alerts_ends_the_probe() {
    // To a TLS 1.3 hello, a ServerHello first (so the recording handshake
    // meets the storm too); to any other, the storm alone.
    let server = Hostile::start([127, 0, 0, 86], |mut c, stop| {
        let Some(hello) = read_hello(&mut c, stop) else { return };
        if let (true, Ok(suite)) = (hello.tls13, choose(&hello))
            && !write_full(&mut c, &flight(&hello, suite), stop)
        {
            return;
        }
        endless(&mut c, &alert(1, USER_CANCELED).repeat(1024), stop);
    });
    let scratch = Scratch::new("alerts");
    let run = check(&scratch, &tls_spec("alerts", server.addr), &[]);
    let fact = run.tls(server.addr);
    // The first alert answers a hello: refused, whatever follows.
    assert!(suites(fact, TlsVersion::Tls12).is_empty(), "{fact:?}");
    assert!(fact.refused.contains(&TlsVersion::Tls12), "{fact:?}");
    // rustls stops counting warnings after a few.
    chain_unread_and_said_so(&run, server.addr, "the handshake failed before one");
}

// --- DNS -------------------------------------------------------------------

/// The reply to `query` with one A record for its name, as bytes.
fn answer_bytes(query: &Message, last: u8) -> Vec<u8> {
    let mut m = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = query.metadata.recursion_desired;
    m.metadata.authoritative = true;
    m.add_queries(query.queries.clone());
    if let Some(q) = query.queries.first() {
        m.add_answer(Record::from_rdata(q.name.clone(), 300, RData::A(A::new(198, 18, 10, last))));
    }
    m.to_vec().expect("encodes")
}

/// The reply with its answer's owner name pointing at itself: a
/// compression loop (the answer is the last 16 bytes: a 2-byte pointer,
/// then type, class, TTL, length and the address).
fn compression_loop(query: &Message) -> Vec<u8> {
    let mut b = answer_bytes(query, 10);
    let owner = b.len() - 16;
    b[owner] = 0xc0;
    b[owner + 1] = u8::try_from(owner).expect("a short message");
    b
}

/// The reply cut inside its answer's address (TC not set).
fn cut_message(query: &Message) -> Vec<u8> {
    let mut b = answer_bytes(query, 10);
    b.truncate(b.len() - 3);
    b
}

/// What the hostile DNS server answers over UDP, by the name asked.
fn dns_udp(query: &Message) -> Vec<Vec<u8>> {
    let name = query.queries.first().map(|q| q.name.to_ascii()).unwrap_or_default();
    match name.as_str() {
        "ok.example.test." => vec![answer_bytes(query, 10)],
        "loop.example.test." => vec![compression_loop(query)],
        "cut.example.test." => vec![cut_message(query)],
        // A flood of answers, none with the id asked.
        "spoof.example.test." => (1..=64u16)
            .map(|k| {
                let mut b = answer_bytes(query, 66);
                b[..2].copy_from_slice(&query.metadata.id.wrapping_add(k).to_be_bytes());
                b
            })
            .collect(),
        // Truncated: ask again over TCP.
        _ => {
            let mut m = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
            m.metadata.truncation = true;
            m.add_queries(query.queries.clone());
            vec![m.to_vec().expect("encodes")]
        }
    }
}

/// What it answers over TCP (one framed message, then it closes).
fn dns_tcp(query: &Message) -> Vec<u8> {
    let name = query.queries.first().map(|q| q.name.to_ascii()).unwrap_or_default();
    let message = match name.as_str() {
        "tcp-loop.example.test." => compression_loop(query),
        _ => cut_message(query),
    };
    let mut framed = u16::try_from(message.len()).expect("short").to_be_bytes().to_vec();
    framed.extend_from_slice(&message);
    framed
}

/// The hostile DNS server: UDP and TCP on one port of `ip`, each on a
/// thread that looks at the stop flag every [`TICK`].
struct HostileDns {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    udp: Option<JoinHandle<()>>,
    _tcp: Hostile,
}

impl HostileDns {
    fn start(ip: [u8; 4]) -> Self {
        // A port free for both protocols.
        let (listener, socket) = (0..50)
            .find_map(|_| {
                let l = TcpListener::bind((Ipv4Addr::from(ip), 0)).ok()?;
                let u = UdpSocket::bind(l.local_addr().ok()?).ok()?;
                Some((l, u))
            })
            .expect("a port free for TCP and UDP");
        let tcp = Hostile::serve_on(listener, |mut c, stop| {
            let mut len = [0u8; 2];
            if !read_full(&mut c, &mut len, stop) {
                return;
            }
            let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if !read_full(&mut c, &mut q, stop) {
                return;
            }
            if let Ok(query) = Message::from_vec(&q) {
                let _ = write_full(&mut c, &dns_tcp(&query), stop);
            }
        });
        socket.set_read_timeout(Some(TICK)).expect("read timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let udp = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_535];
            while !s.load(Ordering::SeqCst) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else { continue };
                let Ok(query) = Message::from_vec(&buf[..n]) else { continue };
                for reply in dns_udp(&query) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        Self { addr: tcp.addr, stop, udp: Some(udp), _tcp: tcp }
    }
}

impl Drop for HostileDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(udp) = self.udp.take() {
            let _ = udp.join();
        }
    }
}

#[test]
fn a_dns_server_with_loops_cut_messages_and_wrong_ids_is_reported_not_believed() {
    let server = HostileDns::start([127, 0, 0, 87]);
    let ip = server.addr.ip();
    let names = ["ok", "loop", "cut", "spoof", "tcp-loop", "tcp-cut"];
    let expect: String = names
        .iter()
        .map(|n| format!("    - {{ name: {n}.example.test, type: A, values: [198.18.10.10] }}\n"))
        .collect();
    let spec = format!(
        "version: 1
name: hostile-dns
zones:
  local: {{ cidrs: [127.0.0.0/8], probe: false }}
  dns: {{ cidrs: [{ip}/32] }}
vantages:
  here: {{ zone: local }}
dns:
  servers: [\"{}\"]
  expect:
{expect}",
        server.addr
    );
    let scratch = Scratch::new("dns");
    let run = check(&scratch, &spec, &[]);
    let line = |name: &str| {
        let full = format!("{name}.example.test");
        let found = run.observed.dns.iter().find(|d| d.name == full);
        found.unwrap_or_else(|| panic!("no dns line for {full}: {:?}", run.observed.dns))
    };
    let ok = line("ok");
    let values: Vec<&str> = ok.answers.iter().map(|r| r.value.as_str()).collect();
    assert_eq!((values, ok.error.as_deref()), (vec!["198.18.10.10"], None), "{ok:?}");
    for name in ["loop", "cut", "spoof", "tcp-loop", "tcp-cut"] {
        let d = line(name);
        // Nothing believed: no answer, no RCODE; the error says why.
        assert!(d.answers.is_empty() && d.rcode.is_none(), "{name}: {d:?}");
        let error = d.error.as_deref().unwrap_or_default();
        let why = match name {
            "spoof" => "no answer to",
            "tcp-loop" | "tcp-cut" => "over TCP",
            _ => "malformed",
        };
        assert!(error.contains(why), "{name}: {error:?} does not say {why:?}");
    }
    // Each is a finding: the expected address was not had.
    let findings = run.findings(None);
    assert_eq!(findings.len(), 5, "{findings:?}");
    assert!(findings.iter().all(|f| f["rule"] == "dns-mismatch"), "{findings:?}");
    assert_eq!(run.code, Some(1), "{}", run.stderr);
}
