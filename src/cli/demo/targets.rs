//! The demo's target set: a small shop on loopback that differs from
//! `specs/demo.yaml` in planted ways, served by tasks of one runtime of its
//! own, so that `check` runs beside it exactly as it runs anywhere.
//!
//! Every listener binds a 127.0.0.x address on an unprivileged port (no
//! root, no setup: Linux answers on all of 127.0.0.0/8), and every one is
//! bound before the first probe, so a port already taken fails the demo
//! naming the address and port rather than skewing its findings. Each
//! connection is served at most [`CONNECTION_LIFE`] and each listener
//! serves at most [`CONNECTIONS`] at once; [`Targets::stop`] (or dropping
//! `Targets`) ends the runtime, which drops every task and closes every
//! socket, so nothing outlives the demo.
//!
//! The planted differences, which `tests/it/demo.rs` expects as findings:
//! - db (127.0.0.3): the cache (16379) answers, which a deny flow forbids
//!   (`exposure`); PostgreSQL (15432) does not, which a flow requires
//!   (`unreachable`);
//! - 127.0.0.5, declared by no one, greets on 12222 as an old OpenSSH
//!   (`undeclared-host`);
//! - web (127.0.0.2): HTTPS on 18443 offers TLS 1.2 where the policy asks
//!   for 1.3 only, with a self-signed certificate made now for another
//!   name (`tls-protocol`, `tls-cert-untrusted`, `tls-cert-hostname`); a
//!   metrics exporter on 19090 that no flow allows, waived in the spec
//!   (`exposure`, waived);
//! - ns (127.0.0.4, port 18053, UDP and TCP): still sends
//!   www.shop.demo.test to the old server 127.0.0.9 (`dns-mismatch`), and
//!   resolves names it has no authority for for anyone (`dns-open-recursion`).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// How long one connection is served, whatever the peer does.
const CONNECTION_LIFE: Duration = Duration::from_secs(5);

/// Connections one listener serves at once; more are closed on accept.
const CONNECTIONS: usize = 64;

/// The name the TLS certificate is made for: not the host's.
pub(super) const CERT_NAME: &str = "old-shop.demo.test";

/// The stale address the DNS server gives for www.
const STALE_WWW: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 9);

/// What the DNS server answers for `recursion_name` (example.com): any
/// answer at all shows recursion; this one is from the benchmarking range
/// and is never probed.
const RECURSED: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 80);

/// One listening socket of the shop.
#[derive(Debug, Clone)]
pub(super) struct Listener {
    /// Where it listens.
    pub(super) addr: SocketAddr,
    /// `tcp` or `udp`.
    pub(super) proto: &'static str,
    /// What it plays, for the demo's narration.
    pub(super) role: &'static str,
}

/// What a plain TCP service does with a connection.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    /// Sends a greeting first (an SSH server), then waits.
    Greet(&'static [u8]),
    /// Reads what the client sends (bounded), answers once, closes.
    Answer(&'static [u8]),
}

/// The plain TCP services: address, port, role, behaviour.
const TCP: [(Ipv4Addr, u16, &str, Behaviour); 4] = [
    (
        Ipv4Addr::new(127, 0, 0, 2),
        18080,
        "web: HTTP",
        Behaviour::Answer(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ),
    (
        Ipv4Addr::new(127, 0, 0, 2),
        19090,
        "web: a metrics exporter (no flow allows it; a waiver does)",
        Behaviour::Answer(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nup 1\n"),
    ),
    (
        Ipv4Addr::new(127, 0, 0, 3),
        16379,
        "db: the cache (denied by the spec)",
        Behaviour::Answer(b"-NOAUTH Authentication required.\r\n"),
    ),
    (
        Ipv4Addr::new(127, 0, 0, 5),
        12222,
        "a host nobody declared, greeting as an old OpenSSH",
        Behaviour::Greet(b"SSH-2.0-OpenSSH_7.4 vantage-demo\r\n"),
    ),
];

/// Where HTTPS listens.
const HTTPS: (Ipv4Addr, u16) = (Ipv4Addr::new(127, 0, 0, 2), 18443);

/// Where the DNS server listens (UDP and TCP).
const DNS: (Ipv4Addr, u16) = (Ipv4Addr::new(127, 0, 0, 4), 18053);

/// Where the spec expects PostgreSQL, which the shop does not run: the
/// demo checks that nothing else answers there either.
pub(super) const ABSENT: (Ipv4Addr, u16) = (Ipv4Addr::new(127, 0, 0, 3), 15432);

/// The shop, running.
pub(super) struct Targets {
    runtime: Option<Runtime>,
    /// Every socket listening, in the order they were bound.
    pub(super) listeners: Vec<Listener>,
}

impl Targets {
    /// Binds every socket of the shop and starts serving on `runtime`
    /// (which the caller made, with the demo's signal handling in it).
    /// Fails, naming the address and port, if any is taken, or if
    /// something already listens where the shop runs nothing.
    pub(super) fn start(runtime: Runtime, now: jiff::Timestamp) -> anyhow::Result<Self> {
        let tls = Arc::new(tls_config(now)?);
        let mut targets = Self { runtime: None, listeners: Vec::new() };
        let started = runtime.block_on(async {
            let absent = SocketAddr::V4(SocketAddrV4::new(ABSENT.0, ABSENT.1));
            drop(bind_tcp(absent).await.with_context(|| {
                format!(
                    "{absent} must be free: the demo runs no PostgreSQL there, so the spec's \
                     flow to it must fail; stop the program listening on that port (often on \
                     0.0.0.0) and run the demo again"
                )
            })?);
            for (ip, port, role, behaviour) in TCP {
                let addr = SocketAddr::V4(SocketAddrV4::new(ip, port));
                let listener = bind_tcp(addr).await?;
                tokio::spawn(accept(listener, move |s| serve(s, behaviour)));
                targets.listeners.push(Listener { addr, proto: "tcp", role });
            }
            let addr = SocketAddr::V4(SocketAddrV4::new(HTTPS.0, HTTPS.1));
            let listener = bind_tcp(addr).await?;
            let acceptor = TlsAcceptor::from(tls);
            tokio::spawn(accept(listener, move |s| https(s, acceptor.clone())));
            targets.listeners.push(Listener {
                addr,
                proto: "tcp",
                role: "web: HTTPS, TLS 1.2 and 1.3, a self-signed certificate for another name",
            });
            let addr = SocketAddr::V4(SocketAddrV4::new(DNS.0, DNS.1));
            let udp = UdpSocket::bind(addr).await.with_context(|| bind_error("udp", addr))?;
            tokio::spawn(dns_udp(udp));
            let listener = bind_tcp(addr).await?;
            tokio::spawn(accept(listener, dns_tcp));
            let role = "ns: DNS, a stale record for www, recursion for anyone";
            targets.listeners.push(Listener { addr, proto: "udp", role });
            targets.listeners.push(Listener { addr, proto: "tcp", role });
            anyhow::Ok(())
        });
        targets.runtime = Some(runtime);
        started?;
        Ok(targets)
    }

    /// Stops every task and closes every socket, waiting at most a
    /// second for tasks blocked outside tokio (there are none).
    pub(super) fn stop(mut self) {
        if let Some(r) = self.runtime.take() {
            r.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl Drop for Targets {
    fn drop(&mut self) {
        if let Some(r) = self.runtime.take() {
            r.shutdown_background();
        }
    }
}

fn bind_error(proto: &str, addr: SocketAddr) -> String {
    format!("cannot listen on {proto} {addr} for the demo (is another program using it?)")
}

async fn bind_tcp(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| bind_error("tcp", addr))
}

/// Accepts connections for ever, each served by `serve` in a task this
/// loop owns, at most [`CONNECTIONS`] at once, each for at most
/// [`CONNECTION_LIFE`].
async fn accept<F, Fut>(listener: TcpListener, serve: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = tasks.join_next() => {}
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                if tasks.len() < CONNECTIONS {
                    let served = serve(stream);
                    tasks.spawn(async move {
                        let _ = tokio::time::timeout(CONNECTION_LIFE, served).await;
                    });
                }
            }
        }
    }
}

async fn serve(mut s: TcpStream, behaviour: Behaviour) {
    match behaviour {
        Behaviour::Greet(greeting) => {
            if s.write_all(greeting).await.is_ok() {
                let mut buf = [0u8; 512];
                while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
            }
        }
        Behaviour::Answer(reply) => {
            let mut buf = [0u8; 1024];
            if matches!(s.read(&mut buf).await, Ok(n) if n > 0) {
                let _ = s.write_all(reply).await;
            }
        }
    }
}

async fn https(s: TcpStream, acceptor: TlsAcceptor) {
    // Probes send their own ClientHellos and hang up; a failed handshake
    // is the normal end here.
    if let Ok(mut tls) = acceptor.accept(s).await {
        let mut buf = [0u8; 1024];
        if matches!(tls.read(&mut buf).await, Ok(n) if n > 0) {
            let _ = tls.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").await;
            let _ = tls.shutdown().await;
        }
    }
}

/// The weak TLS configuration: TLS 1.2 as well as 1.3, and a self-signed
/// certificate (made now, valid from yesterday for 61 days, within every profile's lifespan, so only the
/// planted problems show) for [`CERT_NAME`] rather than www.shop.demo.test.
fn tls_config(now: jiff::Timestamp) -> anyhow::Result<rustls::ServerConfig> {
    let key = rcgen::KeyPair::generate().context("cannot make the demo's TLS key")?;
    let mut params = rcgen::CertificateParams::new(vec![CERT_NAME.to_owned()])
        .context("cannot make the demo's certificate")?;
    let at =
        |s: i64| time::OffsetDateTime::from_unix_timestamp(s).context("the clock is out of range");
    params.not_before = at(now.as_second() - 86_400)?;
    params.not_after = at(now.as_second() + 60 * 86_400)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{CERT_NAME} (vantage demo, self-signed)"));
    let cert = params.self_signed(&key).context("cannot sign the demo's certificate")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .context("the demo's TLS versions")?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .context("the demo's certificate and key")
}

async fn dns_udp(socket: UdpSocket) {
    let mut buf = vec![0u8; 4096];
    loop {
        // An unconnected UDP socket on Linux fails here only for local
        // reasons; stopping beats spinning on one.
        let Ok((len, from)) = socket.recv_from(&mut buf).await else { return };
        let Some(reply) = buf.get(..len).and_then(answer) else { continue };
        let _ = socket.send_to(&reply, from).await;
    }
}

async fn dns_tcp(mut s: TcpStream) {
    let mut len = [0u8; 2];
    while s.read_exact(&mut len).await.is_ok() {
        let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if s.read_exact(&mut q).await.is_err() {
            return;
        }
        let Some(reply) = answer(&q) else { return };
        let Ok(size) = u16::try_from(reply.len()) else { return };
        let mut out = size.to_be_bytes().to_vec();
        out.extend(reply);
        if s.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// The DNS server's answer to the message `query`, encoded; `None` for
/// bytes that are no query.
fn answer(query: &[u8]) -> Option<Vec<u8>> {
    let q = Message::from_vec(query).ok()?;
    if q.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = q.metadata.recursion_desired;
    m.metadata.recursion_available = true;
    m.add_queries(q.queries.clone());
    let zone = Name::from_str("shop.demo.test.").ok()?;
    let www = Name::from_str("www.shop.demo.test.").ok()?;
    let recursed = Name::from_str("example.com.").ok()?;
    match q.queries.first() {
        None => m.metadata.response_code = ResponseCode::FormErr,
        Some(question) if zone.zone_of(&question.name) => {
            m.metadata.authoritative = true;
            if question.name == www && question.query_type == RecordType::A {
                m.add_answer(Record::from_rdata(www, 300, RData::A(A(STALE_WWW))));
            } else if question.name != www {
                m.metadata.response_code = ResponseCode::NXDomain;
            }
        }
        Some(question) if question.name == recursed && question.query_type == RecordType::A => {
            m.add_answer(Record::from_rdata(recursed, 300, RData::A(A(RECURSED))));
        }
        Some(_) => m.metadata.response_code = ResponseCode::Refused,
    }
    m.to_vec().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(name: &str, rtype: RecordType) -> Message {
        let q = vantage::dns::Question::new(name, rtype, true).expect("question");
        let reply = answer(&q.encode(7, false).expect("encodes")).expect("answered");
        Message::from_vec(&reply).expect("decodes")
    }

    fn addresses(m: &Message) -> Vec<String> {
        m.answers.iter().map(|r| r.data.to_string()).collect()
    }

    #[test]
    fn the_dns_server_gives_the_stale_www_and_recurses_for_anyone() {
        let www = ask("www.shop.demo.test", RecordType::A);
        assert_eq!(addresses(&www), ["127.0.0.9"]);
        assert!(www.metadata.authoritative);
        let rec = ask("example.com", RecordType::A);
        assert_eq!(addresses(&rec), ["198.18.0.80"]);
        assert!(rec.metadata.recursion_available && !rec.metadata.authoritative);
        assert_eq!(
            ask("db.shop.demo.test", RecordType::A).metadata.response_code,
            ResponseCode::NXDomain
        );
        assert_eq!(ask("example.org", RecordType::A).metadata.response_code, ResponseCode::Refused);
        assert_eq!(answer(b"not dns"), None);
    }

    #[test]
    fn the_tls_configuration_is_made_at_run_time() {
        assert!(tls_config(jiff::Timestamp::now()).is_ok());
    }
}
