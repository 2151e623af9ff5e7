//! The controller's side of one remote vantage: connect to the agent's
//! URL, prove who we are, send the plan, and write the observation lines
//! it streams back to a local file as they arrive, so what was observed
//! survives a connection that breaks half-way (the file then has no
//! trailer, and the verdict says the vantage is incomplete).
//!
//! The stream is checked as it comes: every line is bounded, and the first
//! must be the header of the scan that was asked for (vantage, spec digest,
//! shard), so an agent cannot pass off another scan as this one. The rest
//! is checked by the observation reader when the verdict reads the file.
//!
//! An agent that dials out (`vantage agent --dial`) is met instead of
//! connected to: [`Rendezvous`] accepts its connection, reads its one
//! plaintext hello, and hands the connection to that vantage's run, which
//! then does the same handshake as with a connection it opened.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::sync::CancellationToken;

use super::proto::{Limits, MAX_REPLY_BYTES, PlanRequest, Reply};
use super::{HANDSHAKE_TIMEOUT, keepalive, read_line};
use crate::observe::{MAX_LINE_BYTES, Record, ScanMode};

/// How long the agent may take to check the plan and answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// A remote vantage to run.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The spec's `agent:` URL (`https://HOST:PORT`).
    pub url: String,
    /// The controller's TLS configuration (`tls::client_config`).
    pub tls: Arc<rustls::ClientConfig>,
    /// The plan.
    pub request: PlanRequest,
    /// Where the agent dials in (`check --agent-listen`); `None`: the
    /// controller connects to `url`.
    pub meet: Option<Arc<Rendezvous>>,
}

/// Where dialling agents are met: a listener that takes each connection's
/// hello line (within `HELLO_TIMEOUT`, at most [`super::MAX_HELLO_BYTES`];
/// at most `HELLOS_AT_ONCE` read at a time and `HELLOS_PER_PEER` from one
/// address, more closed at once) and queues the connection for the run of
/// the vantage it names; one naming no awaited vantage is closed. The
/// hello is only a routing hint: the run handshakes with every queued
/// connection at once, checking the certificate against its URL's host,
/// and takes the first that passes. So a peer that sends another
/// vantage's hello, and stalls or leaves, costs that vantage nothing but
/// a failed handshake, never its agent's place.
#[derive(Debug)]
pub struct Rendezvous {
    addr: SocketAddr,
    wait: Duration,
    awaited: Mutex<HashMap<String, mpsc::Receiver<TcpStream>>>,
    accepting: tokio::task::JoinHandle<()>,
}

/// Hello lines read at once; a peer beyond them is closed unread.
const HELLOS_AT_ONCE: usize = 64;

/// Hello lines read at once from one address: a host that holds
/// connections open cannot take every slot.
const HELLOS_PER_PEER: usize = 4;

/// How long a dialling peer has to send its hello (an agent sends it in
/// its first write).
const HELLO_TIMEOUT: Duration = Duration::from_secs(2);

/// Connections queued for one vantage; more are closed.
const QUEUED: usize = 4;

impl Rendezvous {
    /// Accepts on `listener` (inside a tokio runtime) the agents of
    /// `vantages`, each awaited for at most `wait`.
    pub fn start(
        listener: TcpListener,
        vantages: impl IntoIterator<Item = String>,
        wait: Duration,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let mut senders = HashMap::new();
        let mut awaited = HashMap::new();
        for v in vantages {
            let (tx, rx) = mpsc::channel(QUEUED);
            senders.insert(v.clone(), tx);
            awaited.insert(v, rx);
        }
        let senders = Arc::new(senders);
        let reading = Arc::new(Semaphore::new(HELLOS_AT_ONCE));
        let per_peer = Arc::new(Mutex::new(HashMap::new()));
        let accepting = tokio::spawn(async move {
            let mut hellos = JoinSet::new();
            loop {
                while hellos.try_join_next().is_some() {}
                let Ok((stream, peer)) = listener.accept().await else {
                    // Out of descriptors, or a connection reset before
                    // accept: the listener is fine; a moment, then on.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let Some(slot) = FromPeer::take(&per_peer, peer.ip()) else {
                    tracing::info!(%peer, "too many connections from this address at once; closed");
                    continue;
                };
                let Ok(permit) = Arc::clone(&reading).try_acquire_owned() else {
                    tracing::info!(%peer, "too many dialling peers at once; closed");
                    continue;
                };
                let senders = Arc::clone(&senders);
                // Aborted with the accept loop (the JoinSet is dropped).
                hellos.spawn(async move {
                    let mut stream = stream;
                    let hello = tokio::time::timeout(HELLO_TIMEOUT, read_hello(&mut stream)).await;
                    drop((permit, slot));
                    let Ok(Some(vantage)) = hello else {
                        tracing::info!(%peer, "a dialling peer sent no hello line; closed");
                        return;
                    };
                    match senders.get(&vantage).map(|tx| tx.try_send(stream)) {
                        Some(Ok(())) => tracing::info!(%peer, %vantage, "an agent dialled in"),
                        Some(Err(_)) => tracing::info!(
                            %peer,
                            %vantage,
                            "a dialling agent came for a vantage already met or with connections queued; closed"
                        ),
                        None => tracing::info!(
                            %peer,
                            %vantage,
                            "a dialling peer named no vantage awaited; closed"
                        ),
                    }
                });
            }
        });
        Ok(Self { addr, wait, awaited: Mutex::new(awaited), accepting })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `vantage`'s queue of dialled-in connections, taken once.
    fn waiter(&self, vantage: &str) -> Result<Waiter, String> {
        let rx = self.awaited.lock().ok().and_then(|mut a| a.remove(vantage));
        let Some(rx) = rx else {
            return Err(format!("vantage `{vantage}` is not awaited on {}", self.addr));
        };
        Ok(Waiter {
            rx,
            until: tokio::time::Instant::now() + self.wait,
            what: format!(
                "it did not dial in as vantage `{vantage}` on {} within {} s (--agent-wait)",
                self.addr,
                self.wait.as_secs()
            ),
        })
    }
}

/// One vantage's dialled-in connections, until its deadline.
struct Waiter {
    rx: mpsc::Receiver<TcpStream>,
    until: tokio::time::Instant,
    what: String,
}

impl Waiter {
    /// Handshakes with every connection that dials in as this vantage, all
    /// at once (one that stalls holds up nobody), until one proves a
    /// certificate for `name`: that one. Otherwise the last failed
    /// handshake, if any, and why the wait ended.
    async fn meet(
        &mut self,
        connector: &TlsConnector,
        name: &ServerName<'static>,
        cancel: &CancellationToken,
    ) -> Result<TlsStream<TcpStream>, (Option<String>, String)> {
        let mut tries = JoinSet::new();
        let mut last: Option<String> = None;
        let mut open = true;
        loop {
            tokio::select! {
                () = cancel.cancelled() => {
                    return Err((last, "interrupted while waiting for the agent to dial in".to_owned()));
                }
                () = tokio::time::sleep_until(self.until) => return Err((last, self.what.clone())),
                got = self.rx.recv(), if open => match got {
                    Some(tcp) => {
                        keepalive(&tcp);
                        let (connector, name) = (connector.clone(), name.clone());
                        tries.spawn(async move {
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(name, tcp)).await
                        });
                    }
                    None => open = false,
                },
                Some(done) = tries.join_next(), if !tries.is_empty() => {
                    let why = match done {
                        Ok(Ok(Ok(tls))) => return Ok(tls),
                        Ok(Ok(Err(e))) => e.to_string(),
                        Ok(Err(_)) => "no handshake within 10 s".to_owned(),
                        Err(e) => e.to_string(),
                    };
                    tracing::info!(why = %why, "a peer that dialled in failed the handshake");
                    last = Some(why);
                }
            }
        }
    }
}

/// Counts the hellos being read from one address; the count drops when
/// it is dropped (also when its task is aborted).
struct FromPeer {
    peer: IpAddr,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl FromPeer {
    /// A slot for `peer`, unless it already has `HELLOS_PER_PEER` open.
    fn take(counts: &Arc<Mutex<HashMap<IpAddr, usize>>>, peer: IpAddr) -> Option<Self> {
        let mut c = counts.lock().ok()?;
        let n = c.entry(peer).or_insert(0);
        if *n >= HELLOS_PER_PEER {
            return None;
        }
        *n += 1;
        Some(Self { peer, counts: Arc::clone(counts) })
    }
}

impl Drop for FromPeer {
    fn drop(&mut self) {
        if let Ok(mut c) = self.counts.lock()
            && let Some(n) = c.get_mut(&self.peer)
        {
            *n -= 1;
            if *n == 0 {
                c.remove(&self.peer);
            }
        }
    }
}

impl Drop for Rendezvous {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// A dialling agent's hello, read a byte at a time (nothing of the TLS
/// handshake that follows is consumed): the vantage it names, if any.
async fn read_hello(stream: &mut TcpStream) -> Option<String> {
    let mut line = Vec::with_capacity(64);
    loop {
        let byte = stream.read_u8().await.ok()?;
        if byte == b'\n' {
            return super::parse_hello(&line).map(str::to_owned);
        }
        if line.len() >= super::MAX_HELLO_BYTES {
            return None;
        }
        line.push(byte);
    }
}

/// What a remote scan delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// How the agent probed TCP.
    pub mode: ScanMode,
    /// The limits it used.
    pub limits: Limits,
    /// What it said about them.
    pub notes: Vec<String>,
    /// Observation lines written, the header and trailer included.
    pub lines: u64,
    /// Whether the stream ended with a trailer and close_notify; when not,
    /// the file holds what came and the verdict reports the rest missing.
    pub whole: bool,
    /// Why it was not whole.
    pub cut: Option<String>,
}

/// Why a remote vantage gave no observations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// The URL is not `https://HOST:PORT`.
    #[error("agent URL {0:?} is not https://HOST:PORT")]
    Url(String),
    /// No connection.
    #[error("cannot connect to the agent at {url}: {why}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        why: String,
    },
    /// The TLS handshake failed (wrong CA, name, expired certificate...).
    #[error("TLS with the agent at {url} failed: {why}")]
    Handshake {
        /// The URL.
        url: String,
        /// Why.
        why: String,
    },
    /// The agent refused the plan.
    #[error("the agent at {url} refused the plan: {reason}")]
    Refused {
        /// The URL.
        url: String,
        /// The agent's reason.
        reason: String,
    },
    /// The agent broke the protocol.
    #[error("the agent at {url} broke the protocol: {why}")]
    Protocol {
        /// The URL.
        url: String,
        /// What it did.
        why: String,
    },
    /// The local observation file could not be written.
    #[error("writing {file}: {source}")]
    Write {
        /// The file.
        file: String,
        /// The error.
        source: std::io::Error,
    },
}

/// `https://HOST:PORT` as (host, port); IPv6 hosts in brackets.
pub fn parse_url(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("https://")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, port) = v6.split_once("]:")?;
        (host, port)
    } else {
        rest.rsplit_once(':')?
    };
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    let ok = !host.is_empty()
        && (host.parse::<IpAddr>().is_ok()
            || host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    ok.then(|| (host.to_owned(), port))
}

/// Runs `remote`, writing its observations to `out` (created or
/// truncated). `cancel` closes the connection, which stops the agent's
/// scan; what arrived is kept.
pub async fn run(
    remote: &Remote,
    out: &Path,
    cancel: &CancellationToken,
) -> Result<Delivered, RemoteError> {
    run_watched(remote, out, cancel, |_| {}).await
}

/// [`run`], handing each observation line to `watch` as it arrives (a
/// progress display counts them), after it passed the checks.
pub async fn run_watched(
    remote: &Remote,
    out: &Path,
    cancel: &CancellationToken,
    mut watch: impl FnMut(&Record),
) -> Result<Delivered, RemoteError> {
    tracing::info!(agent = %remote.url, vantage = %remote.request.vantage, "connecting to the agent");
    let url = remote.url.clone();
    let (host, port) = parse_url(&url).ok_or_else(|| RemoteError::Url(url.clone()))?;
    let connect_error = |why: String| RemoteError::Connect { url: url.clone(), why };
    let name = ServerName::try_from(host.clone()).map_err(|e| connect_error(e.to_string()))?;
    let handshake_error = |why: String| RemoteError::Handshake { url: url.clone(), why };
    let connector = TlsConnector::from(Arc::clone(&remote.tls));
    let mut tls = if let Some(meet) = &remote.meet {
        // It dials in: every connection that names this vantage is tried
        // until one proves a certificate for `host`.
        let mut waiter = meet.waiter(&remote.request.vantage).map_err(connect_error)?;
        match waiter.meet(&connector, &name, cancel).await {
            Ok(tls) => tls,
            // The last failed handshake says more than the deadline.
            Err((Some(last), why)) => return Err(handshake_error(format!("{last} ({why})"))),
            Err((None, why)) => return Err(connect_error(why)),
        }
    } else {
        let tcp = tokio::select! {
            () = cancel.cancelled() => return Err(connect_error("interrupted".to_owned())),
            t = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect((host.as_str(), port))) => t,
        };
        let tcp = match tcp {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(connect_error(e.to_string())),
            Err(_) => return Err(connect_error("no answer within 10 s".to_owned())),
        };
        keepalive(&tcp);
        let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(name, tcp)).await;
        match handshake {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(handshake_error(e.to_string())),
            Err(_) => return Err(handshake_error("no handshake within 10 s".to_owned())),
        }
    };
    let protocol = |why: String| RemoteError::Protocol { url: url.clone(), why };
    // TLS 1.3: the agent checks our certificate after our first flight, so
    // a refusal of it shows up here, as the agent's alert, or at the reply.
    tls.write_all(&remote.request.encode())
        .await
        .map_err(|e| handshake_error(format!("sending the plan: {e}")))?;
    tls.flush().await.map_err(|e| handshake_error(format!("sending the plan: {e}")))?;
    let mut rd = BufReader::new(tls);
    let reply = tokio::select! {
        () = cancel.cancelled() => return Err(protocol("interrupted before the agent answered".to_owned())),
        r = tokio::time::timeout(REPLY_TIMEOUT, read_line(&mut rd, MAX_REPLY_BYTES)) => r,
    };
    let reply = match reply {
        Ok(Ok(Some(line))) => Reply::decode(&line).map_err(|e| protocol(e.to_string()))?,
        Ok(Ok(None)) => return Err(handshake_error("the agent closed the connection".to_owned())),
        Ok(Err(e)) => return Err(handshake_error(e.to_string())),
        Err(_) => return Err(protocol("no answer to the plan within 60 s".to_owned())),
    };
    let (mode, limits, notes) = match reply {
        Reply::Refused { reason } => {
            tracing::info!(agent = %url, reason = %reason, "the agent refused the plan");
            return Err(RemoteError::Refused { url, reason });
        }
        Reply::Accepted { mode, limits, notes, .. } => (mode, limits, notes),
    };
    tracing::info!(agent = %url, ?mode, rate = limits.rate, "the agent accepted the plan");
    let file = out.display().to_string();
    let write_error = |source| RemoteError::Write { file: file.clone(), source };
    let mut sink = BufWriter::new(tokio::fs::File::create(out).await.map_err(write_error)?);
    let mut delivered = Delivered { mode, limits, notes, lines: 0, whole: false, cut: None };
    let mut trailer = false;
    loop {
        let line = tokio::select! {
            () = cancel.cancelled() => {
                delivered.cut = Some("interrupted here: the agent was told to stop".to_owned());
                break;
            }
            line = read_line(&mut rd, MAX_LINE_BYTES) => line,
        };
        let line = match line {
            Ok(Some(line)) => line,
            Ok(None) => {
                delivered.whole = trailer;
                if !trailer {
                    delivered.cut = Some("the stream ended before the trailer".to_owned());
                }
                break;
            }
            Err(e) => {
                delivered.cut = Some(format!("the stream broke: {e}"));
                break;
            }
        };
        if trailer {
            delivered.cut = Some("the agent sent lines after the trailer".to_owned());
            break;
        }
        let record = match serde_json::from_slice::<Record>(&line) {
            Ok(r) => Ok(r),
            Err(e) if delivered.lines > 0 => {
                delivered.cut =
                    Some(format!("line {} is not an observation: {e}", delivered.lines + 1));
                break;
            }
            Err(e) => Err(format!("its first line is not an observation header: {e}")),
        };
        let first = if delivered.lines == 0 {
            record.as_ref().map_err(Clone::clone).and_then(|r| check_header(r, &remote.request))
        } else {
            Ok(())
        };
        if let Err(why) = first {
            drop(sink);
            // Best effort: a file that is not this scan's must not be judged.
            let _ = tokio::fs::remove_file(out).await;
            return Err(protocol(why));
        }
        trailer = matches!(record, Ok(Record::Trailer(_)));
        if let Ok(r) = &record {
            watch(r);
        }
        sink.write_all(&line).await.map_err(write_error)?;
        sink.write_all(b"\n").await.map_err(write_error)?;
        delivered.lines += 1;
    }
    sink.flush().await.map_err(write_error)?;
    Ok(delivered)
}

/// The first line must be the header of the scan asked for.
fn check_header(record: &Record, r: &PlanRequest) -> Result<(), String> {
    let Record::Header(h) = record else {
        return Err("its first line is not an observation header".to_owned());
    };
    if h.vantage != r.vantage
        || h.spec_digest != r.spec_digest
        || h.shard_index != r.shard_index
        || h.shard_count != r.shard_count
        || h.seed != r.seed
    {
        return Err(format!(
            "it sent the scan of vantage `{}` shard {}/{} seed {} ({}), not the one asked for (`{}` {}/{} seed {}, {})",
            h.vantage,
            h.shard_index,
            h.shard_count,
            h.seed,
            h.spec_digest,
            r.vantage,
            r.shard_index,
            r.shard_count,
            r.seed,
            r.spec_digest
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_urls() {
        assert_eq!(parse_url("https://198.18.20.9:7443"), Some(("198.18.20.9".into(), 7443)));
        assert_eq!(parse_url("https://[2001:db8::1]:7443/"), Some(("2001:db8::1".into(), 7443)));
        assert_eq!(
            parse_url("https://agent.example.test:1"),
            Some(("agent.example.test".into(), 1))
        );
        for bad in
            ["http://1.2.3.4:1", "https://1.2.3.4", "https://:7443", "https://a b:1", "https://x:0"]
        {
            assert_eq!(parse_url(bad), None, "{bad}");
        }
    }
}
