//! TLS probes, the I/O half: a real handshake with rustls for what a
//! modern client sees (the version and suite it gets, the certificate
//! chain as presented, a stapled OCSP response), with and without SNI.
//!
//! rustls is used as a client that records instead of judging: its
//! certificate verifier keeps the chain and the OCSP response and accepts
//! them, so the handshake goes on to prove (with the provider's signature
//! checks, which stay) that the server holds the leaf's key. Judging the
//! chain (expiry, trust, names, key sizes) is `tls::cert`'s job, on the
//! recorded DER, with `now` as a parameter, so `verdict` can judge a saved
//! observation file again later.
//!
//! What rustls will not speak (SSLv2 and SSLv3, TLS 1.0 and 1.1, weak
//! suites) is found with our own ClientHellos (`tls::wire`); for a server
//! that speaks only those, the chain comes from its cleartext Certificate
//! message there.
//!
//! The other half, [`probe_endpoint`], runs the `tls::wire` enumerations
//! (every version from SSLv2 to TLS 1.3, concurrently, one connection per
//! hello) and gathers what they and the handshake learnt into one
//! observation line ([`TlsFact`]).
//!
//! With STARTTLS (SMTP, IMAP, POP3, PostgreSQL), every connection, each
//! raw hello's and the handshake's, first runs the protocol's plaintext
//! preamble (`tls::wire::starttls`); [`probe_endpoint`] tries it once on
//! its own first, so a server that will not start TLS is told once, with
//! its reply as evidence, and not once per hello.
//!
//! Every exchange is bounded: one deadline covers connect, preamble and
//! handshake (or hello and answer), and another the whole endpoint.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use super::paced;
use crate::engine::pace::Pacer;
use crate::observe::{
    StartTls, TlsFact, TlsSuite, TlsVersion, TlsVersionFact, printable_banner, timestamp,
};
use crate::tls::wire::starttls::{Preamble, Protocol, StartTlsError, Step};
use crate::tls::wire::{
    Answer, Enumeration, FlightReader, HelloOptions, ProtocolVersion, Refusal, ServerAnswer,
    VersionResult, candidates,
};

/// Why a connection never became ready for a ClientHello.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// No TCP connection: refused, unreachable, or no answer in time.
    #[error("no connection: {0}")]
    Connect(String),
    /// The STARTTLS preamble did not end in the server's go-ahead.
    #[error(transparent)]
    StartTls(#[from] StartTlsError),
}

/// Connects to `target` and, with `starttls`, runs that protocol's
/// preamble, so the stream is ready for a ClientHello; all before
/// `deadline`.
///
/// # Cancel safety
///
/// Cancel safe: dropping it closes the connection.
pub async fn open(
    target: SocketAddr,
    starttls: Option<Protocol>,
    deadline: Instant,
) -> Result<TcpStream, OpenError> {
    let mut tcp = match timeout_at(deadline, TcpStream::connect(target)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(OpenError::Connect(e.to_string())),
        Err(_) => return Err(OpenError::Connect("no answer before the deadline".to_owned())),
    };
    let _ = tcp.set_nodelay(true);
    if let Some(protocol) = starttls {
        preamble(&mut tcp, protocol, deadline).await?;
    }
    Ok(tcp)
}

/// Runs `protocol`'s STARTTLS preamble on `tcp` until the server's
/// go-ahead, before `deadline`. A reset reads as a close.
async fn preamble(
    tcp: &mut TcpStream,
    protocol: Protocol,
    deadline: Instant,
) -> Result<(), StartTlsError> {
    let mut p = Preamble::new(protocol);
    // Small reads: the server sends nothing after its go-ahead, and what
    // it sends before is capped by the preamble.
    let mut buf = [0u8; 4096];
    let mut step = p.start();
    loop {
        step = match step {
            Step::StartTls => return Ok(()),
            Step::Send(bytes) => match timeout_at(deadline, tcp.write_all(bytes)).await {
                Ok(Ok(())) => p.push(&[])?,
                Ok(Err(_)) => return Err(p.close()),
                Err(_) => return Err(p.timed_out()),
            },
            Step::Receive => match timeout_at(deadline, tcp.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => p.push(buf.get(..n).unwrap_or_default())?,
                Ok(_) => return Err(p.close()),
                Err(_) => return Err(p.timed_out()),
            },
        };
    }
}

/// What the server presented during one handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presented {
    /// The certificates in the order sent, leaf first, DER.
    pub chain: Vec<Vec<u8>>,
    /// The stapled OCSP response, if one came.
    pub ocsp: Option<Vec<u8>>,
}

/// How one rustls handshake went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    /// It completed.
    Done {
        /// The negotiated version's wire code (0x0304 for TLS 1.3).
        version: u16,
        /// The negotiated cipher suite's IANA code point.
        suite: u16,
        /// What the server presented.
        presented: Presented,
    },
    /// It failed after the TCP connection was made: an alert, a version or
    /// suite rustls does not speak, bytes that are not TLS. `presented`
    /// holds whatever certificates came before the failure.
    Failed {
        /// rustls's account of it.
        error: String,
        /// What the server presented before failing.
        presented: Presented,
    },
    /// The STARTTLS preamble did not end in the server's go-ahead, so no
    /// handshake began.
    StartTls(StartTlsError),
    /// No TCP connection: refused, unreachable, or no answer in time.
    Unreachable(String),
    /// Connected, but the handshake did not finish within the deadline.
    TimedOut,
}

/// Runs one handshake with `target`, sending `sni` as the server name when
/// given (none is sent otherwise), after the `starttls` preamble when one
/// is given, within `deadline` for connect, preamble and handshake
/// together.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future closes the connection; nothing is
/// recorded elsewhere.
pub async fn handshake(
    target: SocketAddr,
    sni: Option<&str>,
    starttls: Option<Protocol>,
    deadline: Duration,
) -> Handshake {
    let recorder = Arc::new(Recorder::new());
    let config = match client_config(Arc::clone(&recorder)) {
        Ok(c) => c,
        Err(e) => {
            return Handshake::Failed { error: e.to_string(), presented: Presented::default() };
        }
    };
    // An IP address as the server name makes rustls send no SNI.
    let name = match sni.map(|s| ServerName::try_from(s.to_owned())) {
        Some(Ok(name)) => name,
        Some(Err(e)) => {
            return Handshake::Failed {
                error: format!("server name {sni:?}: {e}"),
                presented: Presented::default(),
            };
        }
        None => ServerName::IpAddress(target.ip().into()),
    };
    let run = async {
        let tcp = match open(target, starttls, Instant::now() + deadline).await {
            Ok(s) => s,
            Err(OpenError::Connect(e)) => return Handshake::Unreachable(e),
            Err(OpenError::StartTls(e)) => return Handshake::StartTls(e),
        };
        match TlsConnector::from(Arc::new(config)).connect(name, tcp).await {
            Ok(mut stream) => {
                let (_, conn) = stream.get_ref();
                let version = conn.protocol_version().map_or(0, u16::from);
                let suite = conn.negotiated_cipher_suite().map_or(0, |s| u16::from(s.suite()));
                // A polite close; its failure changes nothing.
                let _ = stream.shutdown().await;
                Handshake::Done { version, suite, presented: recorder.take() }
            }
            Err(e) => Handshake::Failed { error: e.to_string(), presented: recorder.take() },
        }
    };
    timeout(deadline, run).await.unwrap_or(Handshake::TimedOut)
}

/// A client configuration for TLS 1.3 and 1.2 with the recorder's (ring)
/// provider, recording the server's certificates through `recorder`.
fn client_config(recorder: Arc<Recorder>) -> Result<ClientConfig, rustls::Error> {
    let provider = Arc::new(recorder.provider.clone());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .dangerous()
        .with_custom_certificate_verifier(recorder)
        .with_no_client_auth())
}

/// A certificate verifier that records what it is shown and accepts it
/// (the judging happens later, on the record); handshake signatures are
/// still checked with the provider's algorithms.
#[derive(Debug)]
struct Recorder {
    seen: Mutex<Presented>,
    provider: CryptoProvider,
}

impl Recorder {
    fn new() -> Self {
        Self {
            seen: Mutex::new(Presented::default()),
            provider: rustls::crypto::ring::default_provider(),
        }
    }

    fn take(&self) -> Presented {
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.chain =
            std::iter::once(end_entity).chain(intermediates).map(|c| c.as_ref().to_vec()).collect();
        seen.ocsp = (!ocsp_response.is_empty()).then(|| ocsp_response.to_vec());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Bounds of one endpoint's probe.
#[derive(Debug, Clone)]
pub struct Limits {
    /// One connection: connect, send the hello, read the answer.
    pub exchange: Duration,
    /// The whole endpoint: every version and the handshake.
    pub endpoint: Duration,
    /// The scan's rate limits (`--rate`, `--host-rate`), shared by every
    /// endpoint: each connection takes a cell of both, as a port probe
    /// does. `None`: unpaced (the connection cap still holds).
    pub pace: Option<Arc<Pacer>>,
}

impl Default for Limits {
    fn default() -> Self {
        Self { exchange: Duration::from_secs(5), endpoint: Duration::from_secs(60), pace: None }
    }
}

/// Sends `hello` on a fresh connection to `target` (after the `starttls`
/// preamble when one is given) and reads the server's answer (one flight,
/// bounded by `FlightReader`) within `wait`. `Err` only when the preamble
/// failed: then the hello was never sent, so there is no answer to it.
///
/// # Cancel safety
///
/// Cancel safe: dropping it closes the connection.
pub async fn exchange(
    target: SocketAddr,
    starttls: Option<Protocol>,
    hello: &[u8],
    wait: Duration,
) -> Result<Answer, StartTlsError> {
    let deadline = Instant::now() + wait;
    let mut tcp = match open(target, starttls, deadline).await {
        Ok(tcp) => tcp,
        Err(OpenError::Connect(_)) => return Ok(Answer::Closed),
        Err(OpenError::StartTls(e)) => return Err(e),
    };
    let run = async {
        if tcp.write_all(hello).await.is_err() {
            return Answer::Closed;
        }
        let mut reader = FlightReader::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            // A reset reads as the end of the stream: what came is judged.
            let n = tcp.read(&mut buf).await.unwrap_or(0);
            let step = match buf.get(..n) {
                Some(bytes) if n > 0 => reader.push(bytes),
                _ => reader.close(),
            };
            match step {
                Ok(Some(answer)) => return Answer::Flight(answer),
                Ok(None) if n == 0 => return Answer::Closed,
                Ok(None) => {}
                Err(e) => return Answer::Malformed(e),
            }
        }
    };
    Ok(timeout_at(deadline, run).await.unwrap_or(Answer::TimedOut))
}

/// Connections one endpoint is given at a time, whatever the number of
/// versions enumerated at once (sslyze's default is 5 too): a server with a
/// small accept backlog or a per-client limit is not taken for one that
/// refuses.
pub const MAX_CONNECTIONS: usize = 5;

/// What one version's enumeration found, and the STARTTLS failure that
/// cut it short, if one did (its result then holds what came before).
type Enumerated = (VersionResult, Option<StartTlsError>);

/// Runs `e` to its end against `target`, one connection per hello, each
/// under a permit of `connections`. A hello that met silence is sent once
/// more on a new connection before silence counts: one lost SYN or a
/// stalled accept queue is no refusal. Likewise a STARTTLS preamble that
/// met silence or a close (a busy mail server's connection limit) is
/// tried once more; one that fails again, or otherwise, ends the
/// enumeration.
async fn enumerate(
    target: SocketAddr,
    starttls: Option<Protocol>,
    mut e: Enumeration,
    wait: Duration,
    connections: &Semaphore,
    pace: Option<&Pacer>,
    plaintext: &CancellationToken,
) -> Enumerated {
    while let Some(hello) = e.next_hello() {
        let mut outcome = Ok(Answer::TimedOut);
        for _ in 0..2 {
            // The semaphore is never closed.
            let Ok(_permit) = connections.acquire().await else { break };
            paced(pace, target).await;
            outcome = tokio::select! {
                // Another version's hello was answered in plaintext: this
                // one will learn nothing more (and a line-based server
                // would wait for a newline our hello never sends).
                () = plaintext.cancelled() => return (e.finish(), None),
                o = exchange(target, starttls, &hello, wait) => o,
            };
            if matches!(outcome, Ok(Answer::Flight(ServerAnswer::NotTls { .. }))) {
                plaintext.cancel();
            }
            let again = matches!(
                outcome,
                Ok(Answer::TimedOut)
                    | Err(StartTlsError::Closed { .. } | StartTlsError::TimedOut { .. })
            );
            if !again {
                break;
            }
        }
        match outcome {
            Ok(answer) => e = e.on_answer(answer),
            Err(failed) => return (e.finish(), Some(failed)),
        }
    }
    (e.finish(), None)
}

/// Everything one TLS endpoint speaks and presents, as an observation:
/// every version from SSLv2 to TLS 1.3 enumerated suite by suite
/// (concurrently, each over its own connections), then, when no cleartext
/// Certificate message gave the chain (TLS 1.3 encrypts it), a rustls
/// handshake for it. `sni` is sent as the server name when given.
///
/// With `starttls`, one connection runs the preamble alone first: if the
/// server will not start TLS, the line says so (`speaks_tls: false`, the
/// reason in `error`, its reply in `plaintext`) and nothing more is sent.
/// A preamble that fails later, on one version's connection, ends that
/// version's enumeration; the line keeps what was learnt, and `error` says
/// the probe is incomplete.
///
/// # Cancel safety
///
/// Cancel safe: dropping it closes every connection.
pub async fn probe_endpoint(
    target: SocketAddr,
    sni: Option<&str>,
    starttls: Option<Protocol>,
    limits: Limits,
) -> TlsFact {
    let opts = HelloOptions {
        server_name: sni.map(str::to_owned),
        status_request: true,
        ..HelloOptions::default()
    };
    let at = || timestamp(jiff::Timestamp::now());
    let empty = || fact(target, sni, starttls, &[], Presented::default(), None, at());
    let pace = limits.pace.as_deref();
    if let Some(protocol) = starttls {
        paced(pace, target).await;
        match open(target, Some(protocol), Instant::now() + limits.exchange).await {
            Ok(tcp) => drop(tcp),
            Err(OpenError::Connect(e)) => {
                return TlsFact {
                    error: Some(format!("{protocol}: no connection: {e}")),
                    ..empty()
                };
            }
            Err(OpenError::StartTls(e)) => {
                let reply = e.reply();
                return TlsFact {
                    plaintext: (!reply.is_empty()).then(|| printable_banner(reply)),
                    error: Some(e.to_string()),
                    ..empty()
                };
            }
        }
    }
    let connections = Semaphore::new(MAX_CONNECTIONS);
    let plaintext = CancellationToken::new();
    let work = async {
        let versions = ProtocolVersion::ALL.map(|v| {
            let e = Enumeration::new(v, &candidates(v)).with_options(opts.clone());
            enumerate(target, starttls, e, limits.exchange, &connections, pace, &plaintext)
        });
        let mut results = futures_util::future::join_all(versions).await;
        let raw_chain = results.iter().find(|r| !r.0.chain.is_empty()).map(|r| r.0.chain.clone());
        let tls13 =
            results.iter().any(|r| r.0.version == ProtocolVersion::TLS13 && r.0.supported());
        // Why the handshake, when it was the chain's only source, gave none.
        let mut no_chain = None;
        let presented = match raw_chain {
            Some(chain) => Presented { chain, ocsp: None },
            None if tls13 => {
                paced(pace, target).await;
                match handshake(target, sni, starttls, limits.exchange).await {
                    Handshake::Done { presented, .. } => presented,
                    Handshake::Failed { presented, error } => {
                        if presented.chain.is_empty() {
                            no_chain = Some(format!("the handshake failed before one: {error}"));
                        }
                        presented
                    }
                    Handshake::StartTls(e) => {
                        // Kept with TLS 1.3's result: the chain is missing for it.
                        if let Some(r) =
                            results.iter_mut().find(|r| r.0.version == ProtocolVersion::TLS13)
                        {
                            r.1.get_or_insert(e);
                        }
                        Presented::default()
                    }
                    Handshake::Unreachable(e) => {
                        no_chain = Some(format!("the handshake found no connection: {e}"));
                        Presented::default()
                    }
                    Handshake::TimedOut => {
                        no_chain = Some(format!(
                            "the handshake did not end within {} s",
                            limits.exchange.as_secs()
                        ));
                        Presented::default()
                    }
                }
            }
            None => Presented::default(),
        };
        (results, presented, no_chain)
    };
    let Ok((results, presented, no_chain)) = timeout(limits.endpoint, work).await else {
        return TlsFact {
            error: Some(format!("no conclusion within {} s", limits.endpoint.as_secs())),
            ..empty()
        };
    };
    fact(target, sni, starttls, &results, presented, no_chain, at())
}

/// The longest `error` a `tls` line is given (the observation format
/// allows 4,096 bytes).
const MAX_ERROR: usize = 1024;

/// The observation line for what the enumerations and the handshake found.
/// `no_chain` says why the handshake gave no chain, when it was asked for
/// one.
fn fact(
    target: SocketAddr,
    sni: Option<&str>,
    starttls: Option<Protocol>,
    results: &[Enumerated],
    presented: Presented,
    no_chain: Option<String>,
    at: String,
) -> TlsFact {
    let plaintext = results.iter().find_map(|r| r.0.not_tls.as_deref()).map(printable_banner);
    let mut versions = Vec::new();
    let mut refused = Vec::new();
    let mut silent = true;
    for (r, cut_short) in results {
        let Some(version) = TlsVersion::from_protocol(r.version) else { continue };
        let answered = r.refusals.iter().any(|x| !matches!(x, Refusal::TimedOut | Refusal::Closed));
        silent &= !answered && !r.supported();
        if r.supported() {
            let mut suites: Vec<TlsSuite> = r
                .accepted
                .iter()
                .map(|s| TlsSuite {
                    code: format!("0x{:04X}", s.0),
                    name: s.name().map(str::to_owned),
                })
                .collect();
            suites.extend(r.ssl2_cipher_specs.iter().map(|s| TlsSuite {
                code: format!("0x{:06X}", s.0),
                name: s.name().map(str::to_owned),
            }));
            versions.push(TlsVersionFact { version, suites, server_order: r.server_order });
        } else if plaintext.is_none() && !r.refusals.is_empty() && cut_short.is_none() {
            // A version whose enumeration a failed preamble cut short is
            // unknown, not refused.
            refused.push(version);
        }
    }
    let ocsp_stapled =
        presented.ocsp.is_some() || results.iter().any(|r| r.0.ocsp_response.is_some());
    let (chain, chain_truncated) = TlsFact::encode_chain(&presented.chain);
    let speaks_tls = plaintext.is_none() && !versions.is_empty();
    let unanswered = plaintext.is_none() && versions.is_empty() && silent && !results.is_empty();
    if unanswered {
        // Nothing answered, so nothing was refused either: the versions
        // are unknown, not refused.
        refused.clear();
    }
    let cut_short: Vec<&StartTlsError> = results.iter().filter_map(|r| r.1.as_ref()).collect();
    let mut errors = Vec::new();
    if let Some(first) = cut_short.first() {
        errors.push(format!(
            "incomplete: STARTTLS failed on a later connection ({} of {} versions affected): {first}",
            cut_short.len(),
            results.len()
        ));
    } else if unanswered {
        errors.push("no answer to any ClientHello (closed or silent)".to_owned());
    }
    if chain.is_empty() && speaks_tls {
        // A server that accepted a hello but whose chain was never read (a
        // Certificate message over its cap, a handshake cut off) did not
        // show that it has none: say why, so no one reads "no certificate".
        let unread: Vec<String> = results
            .iter()
            .filter_map(|r| r.0.error_after.as_ref().map(|e| format!("{}: {e}", r.0.version)))
            .chain(no_chain)
            .collect();
        if !unread.is_empty() {
            errors.push(format!("no certificate was read: {}", unread.join("; ")));
        }
    }
    let error = (!errors.is_empty()).then(|| bounded(errors.join("; "), MAX_ERROR));
    TlsFact {
        target: target.ip(),
        port: target.port(),
        sni: sni.map(str::to_owned),
        starttls: starttls.map(StartTls::from_protocol),
        speaks_tls,
        plaintext,
        versions,
        refused,
        chain,
        chain_truncated,
        ocsp_stapled: Some(ocsp_stapled),
        error,
        at,
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn bounded(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
