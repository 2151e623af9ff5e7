//! The agent's security and lifecycle, on loopback: an agent served in
//! this process (`vantage::agent::server::serve` on 127.0.0.1) and driven
//! by the controller's own client (`agent::client::run`), with
//! certificates this test makes with rcgen:
//!
//! - a client without a certificate, with one from another CA, with an
//!   expired one, or with a server-only certificate is refused in the
//!   handshake, before the agent reads a byte of request;
//! - an authenticated controller cannot widen the agent's scope or pass it
//!   a spec that does not match its digest, cannot make a pinned agent
//!   scan as another vantage, and gets its rate lowered to the ceiling;
//!   the exclusions it sends are never probed;
//! - a controller that leaves mid-scan stops the scan, a second controller
//!   is refused while one scan runs, and the agent serves the next one;
//! - an accepted plan streams a whole observation file, trailer included,
//!   equal in findings to a local scan of the same targets.
//!
//! Every packet goes to 127.0.0.0/8.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject as _;
use tokio_util::sync::CancellationToken;
use vantage::agent::client::{self, Delivered, Remote, RemoteError};
use vantage::agent::proto::{Limits, ModeWish, PROTOCOL, PlanRequest, Reply, SpecBundle, SpecFile};
use vantage::agent::server::{Agent, Event, serve};
use vantage::agent::tls::{Pem, client_config, server_config};

/// A CA that can issue leaves.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its key, PEM.
struct Leaf {
    cert: String,
    key: String,
}

impl Ca {
    fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let pem = params.self_signed(&key).expect("self-signed").pem();
        Self { pem, issuer: Issuer::new(params, key) }
    }

    fn leaf(
        &self,
        name: &str,
        sans: &[&str],
        usage: ExtendedKeyUsagePurpose,
        expired: bool,
    ) -> Leaf {
        let key = KeyPair::generate().expect("key");
        let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(sans).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        if expired {
            params.not_before = rcgen::date_time_ymd(2024, 1, 1);
            params.not_after = rcgen::date_time_ymd(2025, 1, 1);
        }
        let cert = params.signed_by(&key, &self.issuer).expect("signed").pem();
        Leaf { cert, key: key.serialize_pem() }
    }
}

fn pem<'a>(name: &'a str, text: &'a str) -> Pem<'a> {
    Pem { name, bytes: text.as_bytes() }
}

/// An agent serving in this process, with its log.
struct Running {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Event>>>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// An agent for 127.0.0.1 with a certificate from `ca`, connect mode.
fn agent(ca: &Ca, scope: &str, max_rate: u32, vantage: Option<&str>) -> Agent {
    let me = ca.leaf("agent", &["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth, false);
    let tls = server_config(
        pem("agent.pem", &me.cert),
        pem("agent.key", &me.key),
        pem("ca.pem", &ca.pem),
    )
    .expect("server config");
    Agent {
        tls,
        scope: vantage::agent::scope::parse("scope.txt", scope.as_bytes()).expect("scope"),
        scope_name: "scope.txt".to_owned(),
        max_rate,
        max_host_rate: max_rate,
        vantage: vantage.map(str::to_owned),
        syn: false,
        max_parallel: 64,
    }
}

impl Running {
    async fn start(ca: &Ca, scope: &str, max_rate: u32, vantage: Option<&str>) -> Self {
        let agent = agent(ca, scope, max_rate, vantage);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let stop = CancellationToken::new();
        let task = tokio::spawn(serve(
            listener,
            Arc::new(agent),
            Arc::new(move |e| sink.lock().expect("log").push(e)),
            stop.clone(),
        ));
        Self { addr, log, stop, task }
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    fn log(&self) -> Vec<Event> {
        self.log.lock().expect("log").clone()
    }

    /// Waits until the log has an event `pred` accepts.
    async fn wait_for(&self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        for _ in 0..600 {
            if let Some(e) = self.log().into_iter().find(|e| pred(e)) {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no {what} in the agent's log: {:?}", self.log());
    }

    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the agent stops")
            .expect("no panic");
    }
}

/// A scratch folder with a spec, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vantage-agent-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        Self(dir)
    }
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A spec with one remote vantage and the zone 127.77.0.0/29, where
/// `open` listens on 127.77.0.2 and a flow allows it; `extra` adds zones.
fn spec(url: &str, open: u16, sweep: &str, extra: &str) -> String {
    format!(
        "version: 1
zones:
  internet: {{ cidrs: [0.0.0.0/0], probe: false }}
  lab: {{ cidrs: [127.77.0.0/29] }}
{extra}hosts:
  web: {{ address: 127.77.0.2 }}
services:
  app: {{ tcp: [{open}] }}
flows:
  - {{ from: internet, to: web, allow: [app] }}
vantages:
  remote: {{ zone: internet, agent: \"{url}\" }}
  pinned: {{ zone: internet }}
sweep:
  tcp: [\"{sweep}\"]
"
    )
}

fn limits(rate: u32) -> Limits {
    Limits {
        rate,
        host_rate: rate,
        retries: 1,
        min_rtt_ms: 20,
        max_rtt_ms: 300,
        banner_ms: 0,
        allow_large: false,
    }
}

/// The plan request for the spec at `path`, as `check` builds it.
fn request(path: &Path, vantage: &str, rate: u32) -> PlanRequest {
    let mut files = Vec::new();
    let loaded = vantage::spec::load_with(path, &mut |p: &Path| {
        let bytes = std::fs::read(p)?;
        files.push(SpecFile::new(p.display().to_string(), &bytes));
        Ok(bytes)
    });
    assert!(loaded.intent.is_some(), "test spec is valid: {:?}", loaded.diagnostics);
    PlanRequest {
        protocol: PROTOCOL,
        spec: SpecBundle { path: path.display().to_string(), files },
        spec_digest: loaded.digest,
        vantage: vantage.to_owned(),
        shard_index: 0,
        shard_count: 1,
        seed: 1,
        limits: limits(rate),
        mode: ModeWish::Auto,
        exclude: Vec::new(),
    }
}

fn controller(ca: &Ca, leaf: &Leaf) -> Arc<rustls::ClientConfig> {
    client_config(pem("ca.pem", &ca.pem), pem("c.pem", &leaf.cert), pem("c.key", &leaf.key))
        .expect("client config")
}

async fn drive(
    url: &str,
    tls: Arc<rustls::ClientConfig>,
    request: PlanRequest,
    out: &Path,
) -> Result<Delivered, RemoteError> {
    let remote = Remote { url: url.to_owned(), tls, request, meet: None };
    client::run(&remote, out, &CancellationToken::new()).await
}

fn refusals(log: &[Event]) -> Vec<String> {
    log.iter()
        .filter_map(|e| match e {
            Event::Refused { why, .. } => Some(why.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_without_a_valid_client_certificate_are_refused_in_the_handshake() {
    let ca = Ca::new("vantage test CA");
    let agent = Running::start(&ca, "127.77.0.0/29", 1000, None).await;
    let dir = Scratch::new("auth");
    let listener = StdListener::bind("127.77.0.2:0").expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let path = dir.file("spec.yaml");
    std::fs::write(&path, spec(&agent.url(), port, "1-2", "")).expect("spec");
    let out = dir.file("obs.jsonl");

    // No certificate at all.
    let anonymous = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("tls13")
        .with_root_certificates({
            let mut roots = rustls::RootCertStore::empty();
            for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca.pem.as_bytes()) {
                roots.add(c.expect("ca")).expect("root");
            }
            Arc::new(roots)
        })
        .with_no_client_auth(),
    );
    let other = Ca::new("someone else's CA");
    let cases = [
        ("no certificate", anonymous),
        (
            "another CA's certificate",
            controller(&ca, &other.leaf("ctl", &[], ExtendedKeyUsagePurpose::ClientAuth, false)),
        ),
        (
            "an expired certificate",
            controller(&ca, &ca.leaf("ctl", &[], ExtendedKeyUsagePurpose::ClientAuth, true)),
        ),
        (
            "a server-only certificate",
            controller(&ca, &ca.leaf("ctl", &[], ExtendedKeyUsagePurpose::ServerAuth, false)),
        ),
    ];
    for (i, (what, tls)) in cases.into_iter().enumerate() {
        let result = drive(&agent.url(), tls, request(&path, "remote", 100), &out).await;
        assert!(
            matches!(result, Err(RemoteError::Handshake { .. })),
            "{what}: refused in the handshake, got {result:?}"
        );
        assert!(!out.exists(), "{what}: no observation file");
        let log = agent.wait_for(what, |_| refusals(&agent.log()).len() > i).await;
        drop(log);
        let why = &refusals(&agent.log())[i];
        assert!(why.starts_with("TLS handshake failed"), "{what}: {why}");
    }
    let whys = refusals(&agent.log());
    assert!(whys[0].contains("no certificate") || whys[0].contains("NoCertificate"), "{whys:?}");
    assert!(whys[2].to_lowercase().contains("expired"), "{whys:?}");
    // Nothing was ever scanned for any of them.
    assert!(!agent.log().iter().any(|e| matches!(e, Event::Started { .. })), "{:?}", agent.log());
    agent.stop().await;
    drop(listener);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticated_controller_cannot_widen_what_the_agent_does() {
    let ca = Ca::new("vantage test CA");
    let agent = Running::start(&ca, "127.77.0.0/29", 50, Some("remote")).await;
    let tls = controller(&ca, &ca.leaf("ci", &[], ExtendedKeyUsagePurpose::ClientAuth, false));
    let dir = Scratch::new("scope");
    let listener = StdListener::bind("127.77.0.2:0").expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let out = dir.file("obs.jsonl");

    // A spec whose probe-able zones reach past the agent's scope file.
    let wide = dir.file("wide.yaml");
    let extra = "  beyond: { cidrs: [127.78.0.0/30] }\n";
    std::fs::write(&wide, spec(&agent.url(), port, "1-2", extra)).expect("spec");
    match drive(&agent.url(), Arc::clone(&tls), request(&wide, "remote", 10), &out).await {
        Err(RemoteError::Refused { reason, .. }) => {
            assert!(reason.contains("outside this agent's scope"), "{reason}");
            assert!(reason.contains("127.78.0.0/30"), "names what is outside: {reason}");
        }
        other => panic!("a plan outside the scope must be refused, got {other:?}"),
    }

    // Files that do not give the digest the request names.
    let path = dir.file("spec.yaml");
    std::fs::write(&path, spec(&agent.url(), port, "1-2", "")).expect("spec");
    let mut forged = request(&path, "remote", 10);
    forged.spec_digest = request(&wide, "remote", 10).spec_digest;
    match drive(&agent.url(), Arc::clone(&tls), forged, &out).await {
        Err(RemoteError::Refused { reason, .. }) => assert!(reason.contains("digest"), "{reason}"),
        other => panic!("a digest mismatch must be refused, got {other:?}"),
    }

    // An agent pinned to a vantage scans as no other.
    match drive(&agent.url(), Arc::clone(&tls), request(&path, "pinned", 10), &out).await {
        Err(RemoteError::Refused { reason, .. }) => {
            assert!(reason.contains("only as vantage `remote`"), "{reason}");
        }
        other => panic!("another vantage must be refused, got {other:?}"),
    }
    assert!(!out.exists(), "no refused plan left a file");
    assert!(!agent.log().iter().any(|e| matches!(e, Event::Started { .. })), "{:?}", agent.log());

    // Within scope, the rate asked for is lowered to the agent's ceiling,
    // and the scan streams a whole observation file.
    let delivered = drive(&agent.url(), Arc::clone(&tls), request(&path, "remote", 10_000), &out)
        .await
        .expect("accepted");
    assert_eq!(delivered.limits.rate, 50, "{delivered:?}");
    assert!(delivered.notes.iter().any(|n| n.contains("ceiling of 50")), "{delivered:?}");
    assert!(delivered.whole && delivered.cut.is_none(), "{delivered:?}");
    let file = vantage::observe::read(&out).expect("a valid observation file");
    assert!(file.is_complete(), "the trailer says complete");
    assert_eq!(file.header.vantage, "remote");
    let open: Vec<_> = file
        .facts
        .iter()
        .filter(|f| f.state == vantage::observe::PortState::Open)
        .map(|f| (f.target.to_string(), f.port))
        .collect();
    assert_eq!(open, [("127.77.0.2".to_owned(), port)], "the listener was found open");
    agent.stop().await;
    drop(listener);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controllers_exclusions_are_never_probed_by_the_agent() {
    // `check --exclude` sends its exclusions with the plan: the agent's
    // scope guard leaves them out too, its header records them, and a
    // spec reaching past the agent's scope is accepted only because what
    // lies beyond is excluded (what the scan may probe is inside it).
    let ca = Ca::new("vantage test CA");
    let agent = Running::start(&ca, "127.77.0.0/29", 1000, None).await;
    let tls = controller(&ca, &ca.leaf("ci", &[], ExtendedKeyUsagePurpose::ClientAuth, false));
    let dir = Scratch::new("exclude");
    let listener = StdListener::bind("127.77.0.2:0").expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let wide = dir.file("wide.yaml");
    let extra = "  beyond: { cidrs: [127.78.0.0/30] }\n";
    std::fs::write(&wide, spec(&agent.url(), port, "1-2", extra)).expect("spec");
    let out = dir.file("obs.jsonl");
    let mut asked = request(&wide, "remote", 1000);
    asked.exclude = vec!["127.77.0.3/32".to_owned(), "127.78.0.0/30".to_owned()];
    let delivered = drive(&agent.url(), Arc::clone(&tls), asked, &out).await.expect("accepted");
    assert!(delivered.whole, "{delivered:?}");
    let file = vantage::observe::read(&out).expect("a valid observation file");
    assert!(file.is_complete());
    let x = file.header.excluded.as_ref().expect("the header records the exclusions");
    assert_eq!((x.networks, x.addresses), (2, 5), "{x:?}");
    let targets: std::collections::BTreeSet<String> = file
        .facts
        .iter()
        .map(|f| f.target.to_string())
        .chain(file.filtered.iter().map(|f| f.target.to_string()))
        .collect();
    assert_eq!(targets.len(), 7, "the 8 lab addresses but one: {targets:?}");
    assert!(!targets.iter().any(|t| t == "127.77.0.3" || t.starts_with("127.78.")), "{targets:?}");
    agent.stop().await;
    drop(listener);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_scan_at_a_time_and_a_controller_that_leaves_stops_its_scan() {
    let ca = Ca::new("vantage test CA");
    let agent = Running::start(&ca, "127.77.0.0/29", 100, None).await;
    let tls = controller(&ca, &ca.leaf("ci", &[], ExtendedKeyUsagePurpose::ClientAuth, false));
    let dir = Scratch::new("leave");
    let listener = StdListener::bind("127.77.0.2:0").expect("listener");
    let port = listener.local_addr().expect("addr").port();
    // 6 addresses x 1,000 ports at 100 probes/s: a minute, unless stopped.
    let path = dir.file("spec.yaml");
    std::fs::write(&path, spec(&agent.url(), port, "1-1000", "")).expect("spec");

    let first = dir.file("first.jsonl");
    let leave = CancellationToken::new();
    let remote = Remote {
        url: agent.url(),
        tls: Arc::clone(&tls),
        request: request(&path, "remote", 100),
        meet: None,
    };
    let running = {
        let (remote, first, leave) = (remote.clone(), first.clone(), leave.clone());
        tokio::spawn(async move { client::run(&remote, &first, &leave).await })
    };
    agent.wait_for("a started scan", |e| matches!(e, Event::Started { .. })).await;

    // A second controller while it runs: refused, the first goes on.
    let second = dir.file("second.jsonl");
    match drive(&agent.url(), Arc::clone(&tls), request(&path, "remote", 100), &second).await {
        Err(RemoteError::Refused { reason, .. }) => assert!(reason.starts_with("busy"), "{reason}"),
        other => panic!("a second plan must be refused while one runs, got {other:?}"),
    }

    // The first controller goes away: the agent stops that scan.
    tokio::time::sleep(Duration::from_millis(300)).await;
    leave.cancel();
    let delivered = running.await.expect("no panic").expect("the stream was accepted");
    assert!(!delivered.whole && delivered.cut.is_some(), "{delivered:?}");
    let how = agent.wait_for("the end of the scan", |e| matches!(e, Event::Finished { .. })).await;
    let Event::Finished { how, .. } = how else { unreachable!() };
    assert!(how.contains("interrupted") || how.contains("stopped"), "{how}");
    // What arrived before the controller left is kept, and reads as incomplete.
    let file = vantage::observe::read(&first).expect("a readable partial file");
    assert!(!file.is_complete());

    // The agent survived, and serves the next controller.
    std::fs::write(&path, spec(&agent.url(), port, "1-2", "")).expect("spec");
    let delivered = drive(&agent.url(), tls, request(&path, "remote", 100), &second)
        .await
        .expect("the next plan is accepted");
    assert!(delivered.whole, "{delivered:?}");
    agent.stop().await;
    drop(listener);
}

/// An agent for vantage `remote` dialling `addr` in this process, with its log.
struct Dialling {
    log: Arc<Mutex<Vec<Event>>>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Dialling {
    fn start(ca: &Ca, addr: SocketAddr) -> Self {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let stop = CancellationToken::new();
        let task = tokio::spawn(vantage::agent::server::dial(
            addr.to_string(),
            Arc::new(agent(ca, "127.77.0.0/29", 1000, Some("remote"))),
            Arc::new(move |e| sink.lock().expect("log").push(e)),
            stop.clone(),
        ));
        Self { log, stop, task }
    }

    /// Stops it; its log.
    async fn stop(self) -> Vec<Event> {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the dialling agent stops")
            .expect("no panic");
        self.log.lock().expect("log").clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialling_agent_is_met_past_hostile_peers_at_the_rendezvous() {
    // `check --agent-listen`'s rendezvous, then `agent --dial`: peers that
    // send a line without end, a hello for a vantage nobody awaits, a TLS
    // record instead of a hello, or nothing at all are closed (the silent
    // one after the handshake timeout) without holding up the agent, and
    // one that claims the agent's vantage without its certificate does
    // not take its place: the agent is met and handshakes as when the
    // controller connects to it.
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let ca = Ca::new("vantage test CA");
    let tls = controller(&ca, &ca.leaf("ci", &[], ExtendedKeyUsagePurpose::ClientAuth, false));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let wait = Duration::from_secs(30);
    let meet =
        Arc::new(client::Rendezvous::start(listener, ["remote".to_owned()], wait).expect("start"));
    assert_eq!(meet.addr(), addr);
    let silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let hostile: [&[u8]; 3] =
        [&[b'x'; 4096], b"vantage-agent-dial 1 other\n", b"\x16\x03\x01\x00\x05hello\n"];
    for bytes in hostile {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        // The peer may be closed before all is written: that is the point.
        let _ = s.write_all(bytes).await;
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf))
            .await
            .expect("closed, not left open");
        assert!(matches!(read, Ok(0) | Err(_)), "{:?}: {read:?}", &bytes[..bytes.len().min(20)]);
    }
    // The silent peer is closed after the hello timeout.
    let mut silent = silent;
    let mut buf = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(20), silent.read(&mut buf))
        .await
        .expect("the silent peer is closed, not left open");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // Peers that claim to be `remote` but cannot prove it, one that leaves
    // after its hello and one that stalls, cost failed handshakes, not
    // the agent's place: every queued connection is tried at once.
    let mut leaving = tokio::net::TcpStream::connect(addr).await.expect("connect");
    leaving.write_all(&vantage::agent::hello("remote")).await.expect("hello");
    drop(leaving);
    let mut stalling = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stalling.write_all(&vantage::agent::hello("remote")).await.expect("hello");
    // The agent dials in as `remote`.
    let dialling = Dialling::start(&ca, addr);
    let dir = Scratch::new("dial");
    let web = StdListener::bind("127.77.0.2:0").expect("listener");
    let port = web.local_addr().expect("addr").port();
    let path = dir.file("spec.yaml");
    // The URL names the host the agent's certificate is for; its port is
    // not used, as the agent dials in.
    std::fs::write(&path, spec("https://127.0.0.1:1", port, "1-2", "")).expect("spec");
    let out = dir.file("obs.jsonl");
    let remote = Remote {
        url: "https://127.0.0.1:1".to_owned(),
        tls,
        request: request(&path, "remote", 1000),
        meet: Some(Arc::clone(&meet)),
    };
    let delivered = client::run(&remote, &out, &CancellationToken::new()).await.expect("met");
    assert!(delivered.whole, "{delivered:?}");
    let file = vantage::observe::read(&out).expect("a valid observation file");
    assert!(file.is_complete());
    assert!(file.facts.iter().any(|f| f.port == port), "web's port was probed");
    // A vantage met once is not met again: a second run waits in vain.
    let again = client::run(&remote, &dir.file("again.jsonl"), &CancellationToken::new()).await;
    assert!(
        matches!(&again, Err(RemoteError::Connect { why, .. }) if why.contains("not awaited")),
        "{again:?}"
    );
    let events = dialling.stop().await;
    assert!(events.iter().any(|e| matches!(e, Event::Dialled { .. })), "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::Started { .. })), "{events:?}");
    drop((stalling, web));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialling_agent_backs_off_from_a_peer_that_sends_no_plan() {
    // Something on the controller's port takes each connection and drops
    // it (another service, or a check that already met this vantage): the
    // agent dials again after 1 s, then 2 s, then 4 s, and says so once,
    // not every second.
    let ca = Ca::new("vantage test CA");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = Arc::clone(&taken);
    let dropper = tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(s);
        }
    });
    let dialling = Dialling::start(&ca, addr);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let events = dialling.stop().await;
    dropper.abort();
    // At 0, 1 and 3 s at most (a slow machine only dials less); a second
    // apart, it would have been 4.
    let n = taken.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=3).contains(&n), "{n} connections in 3.5 s");
    let said = events.iter().filter(|e| matches!(e, Event::Unreachable { .. })).count();
    assert_eq!(said, 1, "{events:?}");
}

#[test]
fn the_agent_fuzz_corpus_runs_through_the_fuzz_entry_point() {
    let dir = crate::util::root().join("fuzz/corpus/agent_messages");
    let mut accepted = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        vantage::fuzzing::agent_messages(&bytes);
        accepted += usize::from(vantage::agent::proto::PlanRequest::decode(&bytes).is_ok());
        accepted += usize::from(vantage::agent::proto::Reply::decode(&bytes).is_ok());
    }
    assert_eq!(accepted, 3, "the seeds hold a valid request and two valid replies");
}

/// A hostile agent: authenticates properly, reads the plan, then sends
/// `bytes` and closes.
async fn hostile_agent(ca: &Ca, bytes: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
    let me = ca.leaf("agent", &["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth, false);
    let tls = server_config(pem("a.pem", &me.cert), pem("a.key", &me.key), pem("ca.pem", &ca.pem))
        .expect("server config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut tls = tokio_rustls::TlsAcceptor::from(tls).accept(tcp).await.expect("handshake");
        let mut line = Vec::new();
        tokio::io::BufReader::new(&mut tls).read_until(b'\n', &mut line).await.expect("plan");
        let _ = tls.write_all(&bytes).await;
        let _ = tls.shutdown().await;
    });
    (url, task)
}

fn record(r: &vantage::observe::Record) -> Vec<u8> {
    vantage::observe::encode_line(r).expect("a valid record")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_agents_stream_is_refused_or_cut_and_what_came_is_kept() {
    use vantage::observe::{Header, Record, ScanMode, Trailer};
    let ca = Ca::new("vantage test CA");
    let tls = controller(&ca, &ca.leaf("ci", &[], ExtendedKeyUsagePurpose::ClientAuth, false));
    let dir = Scratch::new("hostile");
    let path = dir.file("spec.yaml");
    std::fs::write(&path, spec("https://127.0.0.1:1", 80, "1-2", "")).expect("spec");
    let asked = request(&path, "remote", 10);
    let accepted = Reply::Accepted {
        version: "0.1.0".to_owned(),
        mode: ScanMode::Connect,
        limits: limits(10),
        notes: vec![],
    }
    .encode();
    let header = |vantage: &str| {
        record(&Record::Header(Header {
            schema_version: vantage::observe::SCHEMA_VERSION,
            tool: vantage::observe::TOOL.to_owned(),
            version: "0.1.0".to_owned(),
            spec: "spec.yaml".to_owned(),
            spec_digest: asked.spec_digest.clone(),
            vantage: vantage.to_owned(),
            shard_index: 0,
            shard_count: 1,
            seed: 1,
            mode: ScanMode::Connect,
            started: "2026-12-01T00:00:00Z".to_owned(),
            probes_planned: 2,
            excluded: None,
        }))
    };
    let trailer = record(&Record::Trailer(Trailer {
        ended: "2026-12-01T00:00:01Z".to_owned(),
        complete: true,
        interrupted: false,
        probes_sent: 2,
        open: 0,
        closed: 2,
        filtered: 0,
        open_filtered: 0,
        errors: 0,
    }));
    let cat = |parts: &[&[u8]]| parts.concat();
    let out = dir.file("obs.jsonl");

    // Refusals: nothing is kept.
    for (what, bytes, says) in [
        (
            "a reply that is not JSON",
            b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(),
            "not a valid message",
        ),
        (
            "another vantage's scan",
            cat(&[&accepted, &header("pinned"), &trailer]),
            "not the one asked for",
        ),
        ("no header first", cat(&[&accepted, &trailer]), "not an observation header"),
    ] {
        let (url, agent) = hostile_agent(&ca, bytes).await;
        match drive(&url, Arc::clone(&tls), asked.clone(), &out).await {
            Err(RemoteError::Protocol { why, .. }) => assert!(why.contains(says), "{what}: {why}"),
            other => panic!("{what}: a protocol error, got {other:?}"),
        }
        assert!(!out.exists(), "{what}: no file of another scan is left to judge");
        agent.await.expect("the hostile agent ran");
    }

    // Cut streams: what came before the cut is kept, and reads as incomplete.
    let endless = vec![b'x'; vantage::observe::MAX_LINE_BYTES + 10];
    for (what, bytes, says) in [
        ("a line without end", cat(&[&accepted, &header("remote"), &endless]), "longer than"),
        ("silence after the header", cat(&[&accepted, &header("remote")]), "before the trailer"),
        (
            "lines after the trailer",
            cat(&[&accepted, &header("remote"), &trailer, &trailer]),
            "after the trailer",
        ),
        (
            "a line that is not an observation",
            cat(&[&accepted, &header("remote"), b"{}\n"]),
            "not an observation",
        ),
    ] {
        let (url, agent) = hostile_agent(&ca, bytes).await;
        let delivered = drive(&url, Arc::clone(&tls), asked.clone(), &out).await.expect(what);
        let cut = delivered.cut.clone().unwrap_or_default();
        assert!(cut.contains(says), "{what}: {delivered:?}");
        let file = vantage::observe::read(&out).expect("what came is a readable file");
        assert_eq!(file.header.vantage, "remote", "{what}");
        assert!(
            what == "lines after the trailer" || !file.is_complete(),
            "{what}: a cut stream is incomplete"
        );
        std::fs::remove_file(&out).expect("remove");
        agent.await.expect("the hostile agent ran");
    }
}
