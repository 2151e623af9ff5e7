//! `vantage agent`: takes plans from authenticated controllers and streams
//! back what the scan observes.
//!
//! Order of checks, each a refusal before anything is probed: the TLS
//! handshake (a client certificate from the pinned CA, TLS 1.3), the
//! request line (within [`HANDSHAKE_TIMEOUT`] and its size bound, every
//! field checked), one scan at a time, the spec files giving the digest the
//! request names, the vantage (if the agent is pinned to one), the plan
//! itself, and the scope: every address the plan could probe must lie in
//! the agent's scope file. Rates above the agent's ceilings are lowered to
//! them, and the reply says so.
//!
//! While the scan runs, the connection's read side is watched: the
//! controller closing it (or vanishing, by keepalive) stops the scan, so
//! an abandoned agent does not go on probing for nobody.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::proto::{Limits, ModeWish, PlanRequest, Reply};
use super::{HANDSHAKE_TIMEOUT, keepalive, read_line};
use crate::engine::net::{SynNet, SystemNet};
use crate::observe::ScanMode;
use crate::plan::ranges::AddrRanges;
use crate::plan::{Exclusions, Options, Plan, ScopeGuard, Shard};
use crate::report::document::{AuditVantage, ExcludedSummary};
use crate::scan::{self, Output, Progress, Report, Request};
use crate::spec::Intent;

/// How long the controller may leave a chunk of observations unread
/// before the agent gives up on it and stops the scan.
const WRITE_STALL: Duration = Duration::from_secs(60);

/// How long a stopping agent waits for its scan to write its trailer.
const DRAIN: Duration = Duration::from_secs(10);

/// A dialling agent's first wait after a failed attempt, doubled after
/// each failure up to `DIAL_MAX`; also its pause after each session.
const DIAL_FIRST: Duration = Duration::from_secs(1);

/// Its longest wait between attempts: a controller that starts listening
/// (`check --agent-listen`) is reached within this.
const DIAL_MAX: Duration = Duration::from_secs(5);

/// What the agent is allowed to do, set by its operator.
#[derive(Debug)]
pub struct Agent {
    /// The TLS configuration (`tls::server_config`): who may connect.
    pub tls: Arc<rustls::ServerConfig>,
    /// The networks it may probe (`scope::parse`).
    pub scope: AddrRanges,
    /// The scope file's name, for refusals.
    pub scope_name: String,
    /// Highest probe rate, all targets together.
    pub max_rate: u32,
    /// Highest probe rate to one host.
    pub max_host_rate: u32,
    /// The only vantage it may scan as, if pinned.
    pub vantage: Option<String>,
    /// Whether to try a SYN scan (raw sockets), falling back to connect.
    pub syn: bool,
    /// Probe sockets the engine may hold (`engine::limits::probe_sockets`).
    pub max_parallel: usize,
}

/// What happened, for the agent's log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A peer was turned away before any scan: why.
    Refused {
        /// Its address.
        peer: SocketAddr,
        /// The controller's certificate name, once authenticated.
        controller: Option<String>,
        /// Why.
        why: String,
    },
    /// A plan was accepted and its scan started.
    Started {
        /// The controller's address.
        peer: SocketAddr,
        /// Its certificate's common name.
        controller: String,
        /// The vantage, shard and granted limits, in words.
        what: String,
        /// The plan accepted, for an audit log.
        plan: Box<AcceptedPlan>,
    },
    /// The scan ended.
    Finished {
        /// The controller's address.
        peer: SocketAddr,
        /// How it ended, in words.
        how: String,
    },
    /// A dialling agent reached its controller: the session follows.
    Dialled {
        /// The controller's address.
        peer: SocketAddr,
    },
    /// A dialling agent could not reach its controller (said once per run
    /// of failures; it keeps trying).
    Unreachable {
        /// The address dialled.
        controller: String,
        /// Why.
        why: String,
    },
}

/// A plan an agent accepted: what its audit log records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedPlan {
    /// The spec's path, as the controller named it.
    pub spec: String,
    /// Its digest.
    pub spec_digest: String,
    /// The vantage, shard and scope scanned (exclusions taken out).
    pub vantage: AuditVantage,
    /// The controller's exclusions, if it sent any.
    pub excluded: Option<ExcludedSummary>,
    /// The limits granted.
    pub limits: Limits,
    /// Whether TCP is probed with SYNs (else connect()).
    pub syn: bool,
}

/// Where events go (the CLI prints them).
pub type Events = Arc<dyn Fn(Event) + Send + Sync>;

/// Serves controllers on `listener` until `shutdown`: then every running
/// scan is stopped, writes its trailer (interrupted) to its controller, and
/// `serve` returns.
pub async fn serve(
    listener: TcpListener,
    agent: Arc<Agent>,
    events: Events,
    shutdown: CancellationToken,
) {
    let busy = Arc::new(Semaphore::new(1));
    let mut tasks = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of descriptors or a connection reset before accept:
                // the listener itself is fine; wait a moment and go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        tracing::info!(%peer, "connection accepted");
        // Finished connections leave their results here; reap them.
        while tasks.try_join_next().is_some() {}
        let conn = Connection::new(&agent, &busy, &events, &shutdown, peer);
        tasks.spawn(conn.serve(stream));
    }
    // Stopped: the scans see the cancellation, and each ends its stream
    // with an interrupted trailer.
    let _ = tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
}

/// Dials the controller at `controller` (`HOST:PORT`) until `shutdown`,
/// for agents whose segment takes no inbound connection: each time the
/// connection opens, it says which vantage it is ([`super::hello`]: the
/// agent must be pinned to one, with a name a hello can carry), then
/// serves that one session exactly as an accepted connection (the same
/// TLS handshake and roles, the same checks), then dials again.
///
/// Between attempts it waits 1 s, doubling up to 5 s while no session
/// gets a plan accepted: a controller that is not listening (no `check`
/// running), or a peer on that port that takes the connection and drops
/// it (another service, a check that already met this vantage), is not
/// dialled in a tight loop, and is said once, not at every attempt. On
/// `shutdown` a running scan gets `DRAIN` to write its interrupted trailer,
/// as in `serve`.
pub async fn dial(
    controller: String,
    agent: Arc<Agent>,
    events: Events,
    shutdown: CancellationToken,
) {
    let busy = Arc::new(Semaphore::new(1));
    let hello = super::hello(agent.vantage.as_deref().unwrap_or_default());
    let mut wait = DIAL_FIRST;
    let mut told = false;
    loop {
        let attempt = tokio::select! {
            () = shutdown.cancelled() => break,
            t = tokio::time::timeout(HANDSHAKE_TIMEOUT, open(&controller, &hello)) => t,
        };
        let failed = match attempt {
            Ok(Ok((stream, peer))) => {
                tracing::info!(%peer, "dialled the controller");
                (events)(Event::Dialled { peer });
                let session =
                    Connection::new(&agent, &busy, &events, &shutdown, peer).serve(stream);
                tokio::pin!(session);
                let accepted = tokio::select! {
                    accepted = &mut session => accepted,
                    () = shutdown.cancelled() => {
                        // The scan sees the cancellation and ends its
                        // stream with an interrupted trailer.
                        let _ = tokio::time::timeout(DRAIN, session).await;
                        break;
                    }
                };
                (!accepted).then(|| format!("{peer} took the connection but sent no plan"))
            }
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("no answer within 10 s".to_owned()),
        };
        match failed {
            None => {
                told = false;
                wait = DIAL_FIRST;
            }
            Some(why) => {
                tracing::debug!(%controller, %why, "no session with the controller");
                if !told {
                    told = true;
                    (events)(Event::Unreachable { controller: controller.clone(), why });
                } else {
                    wait = (wait * 2).min(DIAL_MAX);
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Connects to `controller` and sends `hello`.
async fn open(controller: &str, hello: &[u8]) -> std::io::Result<(TcpStream, SocketAddr)> {
    let mut stream = TcpStream::connect(controller).await?;
    let peer = stream.peer_addr()?;
    stream.write_all(hello).await?;
    Ok((stream, peer))
}

struct Connection {
    agent: Arc<Agent>,
    busy: Arc<Semaphore>,
    events: Events,
    stop: CancellationToken,
    peer: SocketAddr,
}

/// A plan that passed every check.
struct Prepared {
    intent: Intent,
    digest: String,
    limits: Limits,
    exclusions: Exclusions,
    notes: Vec<String>,
    /// The plan's vantage, shard and scope, and the exclusions' summary.
    audit: (AuditVantage, Option<ExcludedSummary>),
}

impl Connection {
    /// A session with `peer`, accepted or dialled alike: one plan at a
    /// time (`busy`), stopped with `shutdown`.
    fn new(
        agent: &Arc<Agent>,
        busy: &Arc<Semaphore>,
        events: &Events,
        shutdown: &CancellationToken,
        peer: SocketAddr,
    ) -> Self {
        Self {
            agent: Arc::clone(agent),
            busy: Arc::clone(busy),
            events: Arc::clone(events),
            stop: shutdown.child_token(),
            peer,
        }
    }

    /// Says the peer was refused; `false`: no plan was accepted.
    fn refused(&self, controller: Option<&str>, why: String) -> bool {
        tracing::info!(peer = %self.peer, controller, why = %why, "refused");
        (self.events)(Event::Refused {
            peer: self.peer,
            controller: controller.map(str::to_owned),
            why,
        });
        false
    }

    /// Serves one connection; whether a plan was accepted (a scan ran).
    async fn serve(self, stream: TcpStream) -> bool {
        keepalive(&stream);
        let acceptor = TlsAcceptor::from(Arc::clone(&self.agent.tls));
        // Nothing is read from a peer before it has proved its certificate:
        // the request comes inside the authenticated stream.
        let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return self.refused(None, format!("TLS handshake failed: {e}")),
            Err(_) => {
                return self.refused(None, "no TLS handshake within 10 s".to_owned());
            }
        };
        let controller = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(<[_]>::first)
            .map_or_else(|| "(no certificate)".to_owned(), super::tls::common_name);
        let (rd, mut wr) = tokio::io::split(tls);
        let mut rd = BufReader::new(rd);
        let line = tokio::time::timeout(
            HANDSHAKE_TIMEOUT,
            read_line(&mut rd, super::proto::MAX_REQUEST_BYTES),
        )
        .await;
        let request = match line {
            Ok(Ok(Some(line))) => PlanRequest::decode(&line).map_err(|e| e.to_string()),
            Ok(Ok(None)) => Err("the controller closed the connection without a plan".to_owned()),
            Ok(Err(e)) => Err(format!("reading the plan: {e}")),
            Err(_) => Err("no plan within 10 s".to_owned()),
        };
        let prepared = match request {
            Ok(request) => match self.busy.clone().try_acquire_owned() {
                Ok(permit) => self.prepare(&request).map(|p| (request, p, permit)),
                Err(_) => Err("busy: another controller's scan is running on this agent; one \
                               plan at a time"
                    .to_owned()),
            },
            Err(e) => Err(e),
        };
        let (request, prepared, _permit) = match prepared {
            Ok(p) => p,
            Err(why) => {
                let reply = Reply::Refused { reason: why.clone() };
                // Best effort: the peer may already be gone.
                let _ = wr.write_all(&reply.encode()).await;
                let _ = wr.shutdown().await;
                return self.refused(Some(&controller), why);
            }
        };
        let (net, mut notes) = match self.net(request.mode) {
            Ok(n) => n,
            Err(why) => {
                let reply = Reply::Refused { reason: why.clone() };
                let _ = wr.write_all(&reply.encode()).await;
                let _ = wr.shutdown().await;
                return self.refused(Some(&controller), why);
            }
        };
        notes.extend(prepared.notes.iter().cloned());
        let mode = if net.is_some() { ScanMode::Syn } else { ScanMode::Connect };
        let reply = Reply::Accepted {
            version: crate::VERSION.to_owned(),
            mode,
            limits: prepared.limits,
            notes,
        };
        if wr.write_all(&reply.encode()).await.is_err() || wr.flush().await.is_err() {
            return self.refused(Some(&controller), "the controller left".to_owned());
        }
        (self.events)(Event::Started {
            peer: self.peer,
            controller: controller.clone(),
            what: format!(
                "vantage `{}`, shard {}/{}, {} probes/s ({} per host), {} mode",
                request.vantage,
                request.shard_index,
                request.shard_count,
                prepared.limits.rate,
                prepared.limits.host_rate,
                if net.is_some() { "SYN" } else { "connect" }
            ),
            plan: Box::new(AcceptedPlan {
                spec: request.spec.path.clone(),
                spec_digest: prepared.digest.clone(),
                vantage: prepared.audit.0.clone(),
                excluded: prepared.audit.1.clone(),
                limits: prepared.limits,
                syn: net.is_some(),
            }),
        });
        let how = self.run(&request, &prepared, net, rd, wr).await;
        (self.events)(Event::Finished { peer: self.peer, how });
        true
    }

    /// The SYN scanner when the controller does not ask for connect and
    /// the agent may and can use one; otherwise a note on why it scans with
    /// connect(), or a refusal when the controller insisted on SYN.
    fn net(&self, wish: ModeWish) -> Result<(Option<SynNet>, Vec<String>), String> {
        if wish == ModeWish::Connect {
            return Ok((None, Vec::new()));
        }
        let started = if self.agent.syn {
            SynNet::start().map_err(|e| format!("cannot start the SYN scanner: {e}"))
        } else {
            Err("this agent does not use raw sockets".to_owned())
        };
        match (started, wish) {
            (Ok(net), _) => Ok((Some(net), Vec::new())),
            (Err(why), ModeWish::Syn) => Err(format!("SYN mode was asked for, but {why}")),
            (Err(why), _) if self.agent.syn => Ok((None, vec![format!("connect scan: {why}")])),
            (Err(_), _) => Ok((None, Vec::new())),
        }
    }

    /// Every check a plan must pass before a packet is sent.
    fn prepare(&self, r: &PlanRequest) -> Result<Prepared, String> {
        let files: HashMap<PathBuf, Vec<u8>> = r
            .spec
            .files
            .iter()
            .filter_map(|f| Some((PathBuf::from(&f.path), f.bytes()?)))
            .collect();
        let loaded = crate::spec::load_with(Path::new(&r.spec.path), &mut |p: &Path| {
            files.get(p).cloned().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "not sent by the controller")
            })
        });
        if loaded.digest != r.spec_digest {
            return Err(format!(
                "the spec files sent give digest {}, not the {} the plan names",
                loaded.digest, r.spec_digest
            ));
        }
        let Some(intent) = loaded.intent else {
            let errors: Vec<String> = loaded
                .diagnostics
                .iter()
                .filter(|d| d.severity == crate::spec::Severity::Error)
                .take(3)
                .map(ToString::to_string)
                .collect();
            return Err(format!("the spec was refused: {}", errors.join("; ")));
        };
        if let Some(only) = &self.agent.vantage
            && *only != r.vantage
        {
            return Err(format!("this agent scans only as vantage `{only}`, not `{}`", r.vantage));
        }
        let shard = Shard::new(r.shard_index, r.shard_count).map_err(|e| e.to_string())?;
        let options = Options { seed: r.seed, shard, allow_large: r.limits.allow_large };
        let exclusions = r.exclusions().map_err(|e| e.to_string())?;
        let plan = Plan::with_exclusions(&intent, &r.vantage, options, &exclusions)
            .map_err(|e| e.to_string())?;
        let audit = (
            AuditVantage::of_plan(&plan, &r.vantage, None),
            (!exclusions.is_empty())
                .then(|| ExcludedSummary::of(&exclusions, "sent by the controller", plan.excluded)),
        );
        // What the scan may probe: the spec's scope less the controller's
        // exclusions (which only narrow it), all inside this agent's scope.
        let outside =
            ScopeGuard::new(&intent).excluding(&exclusions).ranges().difference(&self.agent.scope);
        if !outside.is_empty() {
            let cidrs: Vec<String> = outside.cidrs().iter().map(ToString::to_string).collect();
            let more = cidrs.len().saturating_sub(5);
            return Err(format!(
                "the plan reaches outside this agent's scope ({}): {}{}; ask its operator to widen the scope file, or scan from another vantage",
                self.agent.scope_name,
                cidrs.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ));
        }
        let mut limits = r.limits;
        let mut notes = Vec::new();
        if limits.rate > self.agent.max_rate {
            notes.push(format!(
                "rate lowered from {} to this agent's ceiling of {} probes/s",
                limits.rate, self.agent.max_rate
            ));
            limits.rate = self.agent.max_rate;
        }
        let host_ceiling = self.agent.max_host_rate.min(limits.rate);
        if limits.host_rate > host_ceiling {
            notes.push(format!(
                "per-host rate lowered from {} to {host_ceiling} probes/s",
                limits.host_rate
            ));
            limits.host_rate = host_ceiling;
        }
        Ok(Prepared { intent, digest: loaded.digest, limits, exclusions, notes, audit })
    }

    /// Runs the scan, streaming its observation lines to the controller;
    /// returns how it ended, in words.
    async fn run<R, W>(
        &self,
        r: &PlanRequest,
        p: &Prepared,
        net: Option<SynNet>,
        mut rd: R,
        mut wr: W,
    ) -> String
    where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
        W: tokio::io::AsyncWrite + Unpin,
    {
        let cancel = self.stop.child_token();
        // The controller's side says nothing after its plan: any end of it
        // (close, reset, keepalive timeout) means nobody is listening.
        let gone = cancel.clone();
        let watch = tokio::spawn(async move {
            let mut sink = [0u8; 256];
            while let Ok(n) = rd.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
            gone.cancel();
        });
        let (pipe_in, mut pipe_out) = tokio::io::duplex(64 * 1024);
        // The scan runs on a thread and runtime of its own, as `vantage
        // scan` runs it (one thread suits the SYN scanner best); the pipe,
        // the token and the channel below work across runtimes.
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let job = Job {
            request: r.clone(),
            intent: p.intent.clone(),
            digest: p.digest.clone(),
            limits: p.limits,
            exclusions: p.exclusions.clone(),
            max_parallel: self.agent.max_parallel,
        };
        let scan_cancel = cancel.clone();
        let thread =
            std::thread::Builder::new().name("vantage-agent-scan".to_owned()).spawn(move || {
                let _ = done_tx.send(job.run(net, pipe_in, scan_cancel));
            });
        if let Err(e) = thread {
            watch.abort();
            return format!("the scan could not start: {e}");
        }
        let scan =
            async { done_rx.await.unwrap_or_else(|_| Err("the scan thread panicked".to_owned())) };
        let copy = async {
            let mut buf = vec![0u8; 16 * 1024];
            let result: std::io::Result<()> = async {
                loop {
                    let n = pipe_out.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    stall(wr.write_all(&buf[..n])).await?;
                    stall(wr.flush()).await?;
                }
                // The trailer is out: close_notify tells the controller the
                // stream ended here, not cut.
                stall(wr.shutdown()).await
            }
            .await;
            if result.is_err() {
                // Nobody reads: stop probing. Dropping `pipe_out` makes the
                // scan's writer fail too, so it cannot block on it.
                cancel.cancel();
            }
            result
        };
        let (scanned, copied) = tokio::join!(scan, copy);
        watch.abort();
        describe(&scanned, &copied, cancel.is_cancelled() && !self.stop.is_cancelled())
    }
}

async fn stall<T>(f: impl Future<Output = std::io::Result<T>>) -> std::io::Result<T> {
    tokio::time::timeout(WRITE_STALL, f).await.unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the controller read nothing for 60 s",
        ))
    })
}

/// A scan to run on its own thread: everything it needs, owned.
struct Job {
    request: PlanRequest,
    intent: Intent,
    digest: String,
    limits: Limits,
    exclusions: Exclusions,
    max_parallel: usize,
}

impl Job {
    fn run(
        self,
        net: Option<SynNet>,
        sink: tokio::io::DuplexStream,
        cancel: CancellationToken,
    ) -> Result<Report, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        let r = &self.request;
        let shard = Shard::new(r.shard_index, r.shard_count).unwrap_or(Shard::WHOLE);
        let request = Request {
            intent: &self.intent,
            spec: &r.spec.path,
            spec_digest: &self.digest,
            vantage: &r.vantage,
            plan: Options { seed: r.seed, shard, allow_large: r.limits.allow_large },
            exclude: &self.exclusions,
            engine: self.limits.engine(self.max_parallel),
            mode: if net.is_some() { ScanMode::Syn } else { ScanMode::Connect },
        };
        let output = Output::Sink(Box::new(sink), "the controller's stream");
        let progress = Arc::new(Progress::default());
        let report = runtime.block_on(async {
            match net {
                Some(net) => scan::run(Arc::new(net), &request, output, progress, cancel).await,
                None => scan::run(Arc::new(SystemNet), &request, output, progress, cancel).await,
            }
        });
        report.map_err(|e| e.to_string())
    }
}

fn describe(
    scanned: &Result<Report, String>,
    copied: &std::io::Result<()>,
    controller_left: bool,
) -> String {
    match (scanned, copied) {
        (Ok(r), Ok(())) => format!(
            "{} of {} probes concluded ({} open){}",
            r.trailer.open + r.trailer.closed + r.trailer.filtered + r.trailer.open_filtered,
            r.planned,
            r.trailer.open,
            if r.trailer.interrupted { "; interrupted" } else { "" }
        ),
        (_, Err(e)) => format!("stopped: the stream to the controller failed: {e}"),
        (Err(_), Ok(())) if controller_left => "stopped: the controller left".to_owned(),
        (Err(e), Ok(())) => format!("the scan failed: {e}"),
    }
}
