//! A scan from one vantage: plan -> engine -> observation file. The glue
//! between the pure planner, the intent-blind engine and the observation
//! writer; the only part of the library that knows all three.
//!
//! What is written: every open and closed port, and every result on a
//! port some flow names for that destination, one line each; filtered
//! (and open|filtered) sweep results aggregated per host and protocol, so a
//! /16 sweep does not write millions of lines; a trailer with the counts
//! and whether the run was complete. An interrupted run still writes what
//! it observed and a trailer saying so.
//!
//! After the ports: a `tls` line for each open port the spec says speaks
//! TLS, then the `dns` lines of the DNS step (`scan::dns`), all paced at
//! the scan's rates by one `Pacer`.
//!
//! A scan can also continue the file of an unfinished run of itself
//! ([`Output::Resume`], `scan::resume`): the probes that file concluded
//! are filtered out of the plan's stream before the engine sees it (the
//! engine stays blind to why), TLS endpoints it probed are not probed
//! again, and the one trailer counts the whole file.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub mod dns;
pub mod resume;

pub use dns::{DnsReport, MAX_QUESTIONS};
pub use resume::{Dropped, Resume, ResumeError};

use crate::engine::pace::Pacer;
use crate::engine::{self, Config, ProbeResult, Reason, State, net::Net};
use crate::observe::{
    ExclusionRecord, FilteredSummary, Header, ObservationWriter, ObserveError, PortFact, PortState,
    Proto as WireProto, Reason as WireReason, Record, SCHEMA_VERSION, ScanMode, TOOL, Trailer,
    printable_banner, timestamp,
};
use crate::plan::{Exclusions, Options, Plan, PlanError};
use crate::probe::{self, tls};
use crate::spec::Intent;
use crate::spec::intent::{Proto, StartTls};
use crate::verdict::ExposureCheck;

/// Live counters a progress display may read while a scan runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Probes in this shard; set (with `Release`) once `concluded` holds
    /// what a resumed file had concluded.
    pub planned: AtomicU64,
    /// Probes concluded so far.
    pub concluded: AtomicU64,
    /// Open ports found so far.
    pub open: AtomicU64,
    /// Open ports found so far that the intent does not allow from this
    /// vantage (`verdict::ExposureCheck`): what may become `exposure`
    /// findings, before waivers.
    pub unexpected: AtomicU64,
}

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The spec, resolved.
    pub intent: &'a Intent,
    /// The spec path, as given (recorded in the header).
    pub spec: &'a str,
    /// `sha256:...` of the spec (recorded in the header).
    pub spec_digest: &'a str,
    /// The vantage scanned from.
    pub vantage: &'a str,
    /// Seed, shard, `--allow-large`.
    pub plan: Options,
    /// Addresses never to probe (`--exclude`): the plan, the TLS step and
    /// the DNS step all go through a scope guard without them.
    pub exclude: &'a Exclusions,
    /// Engine settings.
    pub engine: Config,
    /// How TCP is probed (what `net` does), recorded in the header.
    pub mode: ScanMode,
}

/// How a scan ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The trailer written.
    pub trailer: Trailer,
    /// Probes planned in this shard.
    pub planned: u64,
    /// Answers this machine dropped in its own receive buffers (SYN mode;
    /// they were retried, and cut the congestion window).
    pub receive_drops: u64,
    /// What the DNS step did (servers out of scope, the question cap).
    pub dns: DnsReport,
}

/// Why a scan could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// The plan was refused (unknown vantage, too large...).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The observation file could not be written (local failure).
    #[error(transparent)]
    Observe(#[from] ObserveError),
    /// The file to resume is another scan, complete, or changed.
    #[error(transparent)]
    Resume(#[from] ResumeError),
}

/// Where observations go.
pub enum Output<'a> {
    /// A file, created or truncated.
    File(&'a Path),
    /// An already open stream (the CLI's stdout for `-o -`), with the name
    /// to use in messages.
    Sink(Box<dyn tokio::io::AsyncWrite + Unpin + Send>, &'a str),
    /// The file of an unfinished run of this same scan, to be continued:
    /// refused ([`ScanError::Resume`]) unless its header is this scan's
    /// and it is unfinished; else cut after its last complete line and
    /// appended to, skipping every probe it concluded.
    Resume(&'a Resume),
}

/// Runs a scan through `net` (connect or SYN, as `request.mode` says) and
/// writes observations to `output`.
pub async fn run<N: Net>(
    net: Arc<N>,
    request: &Request<'_>,
    output: Output<'_>,
    progress: Arc<Progress>,
    cancel: CancellationToken,
) -> Result<Report, ScanError> {
    let plan =
        Plan::with_exclusions(request.intent, request.vantage, request.plan, request.exclude)?;
    let planned = plan.len();
    tracing::info!(
        vantage = request.vantage,
        probes = planned,
        shard = %plan.options.shard,
        seed = plan.options.seed,
        mode = ?request.mode,
        excluded_addresses = u64::try_from(plan.excluded.addresses).unwrap_or(u64::MAX),
        "plan built"
    );
    let header = Header {
        schema_version: SCHEMA_VERSION,
        tool: TOOL.to_owned(),
        version: crate::VERSION.to_owned(),
        spec: request.spec.to_owned(),
        spec_digest: request.spec_digest.to_owned(),
        vantage: request.vantage.to_owned(),
        shard_index: plan.options.shard.index(),
        shard_count: plan.options.shard.count(),
        seed: plan.options.seed,
        mode: request.mode,
        started: now(),
        probes_planned: planned,
        excluded: (!request.exclude.is_empty()).then(|| ExclusionRecord {
            networks: request.exclude.networks().len() as u64,
            digest: request.exclude.digest(),
            addresses: u64::try_from(plan.excluded.addresses).unwrap_or(u64::MAX),
            probes: u64::try_from(plan.excluded.probes).unwrap_or(u64::MAX),
        }),
    };
    let (writer, resume) = match output {
        Output::File(path) => (ObservationWriter::create(path, header).await?, None),
        Output::Sink(sink, name) => (ObservationWriter::with_sink(sink, name, header).await?, None),
        Output::Resume(resume) => {
            resume.check(&header)?;
            tracing::info!(
                file = resume.name(),
                concluded = resume.concluded(),
                left = planned.saturating_sub(resume.concluded()),
                "resuming: the file's concluded probes are skipped"
            );
            (resume.append().await?, Some(resume))
        }
    };
    let records = writer.sender();
    let (tx, mut rx) = mpsc::channel::<ProbeResult>(1024);
    let config = request.engine.clone();
    let engine_cancel = cancel.clone();
    // The engine runs on its own task; results are turned into records as
    // they arrive by the loop below, which ends when the engine drops `tx`.
    // A resumed scan's stream skips what the file concluded; `pulled`
    // counts what the engine took, so the trailer knows when it has
    // concluded all that was left.
    let plan = Arc::new(plan);
    let engine_plan = Arc::clone(&plan);
    let done = resume.map(|r| Arc::clone(&r.done)).unwrap_or_default();
    let pulled = Arc::new(AtomicU64::new(0));
    let engine_pulled = Arc::clone(&pulled);
    let engine = tokio::spawn(async move {
        let probes = engine_plan.remaining(&done).inspect(|_| {
            engine_pulled.fetch_add(1, Ordering::Relaxed);
        });
        engine::run(net, &config, probes, tx, engine_cancel).await
    });
    let mut counts = resume.map(|r| r.counts).unwrap_or_default();
    progress.concluded.store(resume.map_or(0, Resume::concluded), Ordering::Relaxed);
    progress.open.store(counts.open, Ordering::Relaxed);
    // Last, and released: a display that sees the plan's size sees what a
    // resumed file had concluded too, so it never takes that for speed.
    progress.planned.store(planned, Ordering::Release);
    // The plan was made for this vantage, so the intent declares it.
    let mut exposure = ExposureCheck::new(request.intent, request.vantage);
    let mut unexpected = |addr: IpAddr, proto: Proto, port: u16| {
        if exposure.as_mut().is_some_and(|e| e.unexpected(addr, proto, port)) {
            progress.unexpected.fetch_add(1, Ordering::Relaxed);
        }
    };
    let mut silent = SilentPorts::new(SILENT_BUDGET);
    let tls_endpoints = tls_endpoints(request.intent);
    let mut tls_open: Vec<(SocketAddr, &TlsTarget)> = Vec::new();
    let mut open_53: Vec<SocketAddr> = Vec::new();
    // What the file being resumed found open: its TLS endpoints without a
    // `tls` line are probed, and its DNS servers asked, as if found now.
    for &(addr, proto, port) in resume.map_or(&[][..], |r| &r.open[..]) {
        unexpected(addr, proto, port);
        if port == 53 {
            open_53.push(SocketAddr::new(addr, 53));
        }
        if proto == Proto::Tcp
            && let Some(how) = tls_endpoints.get(&(addr, port))
            && !resume.is_some_and(|r| r.tls.contains(&(addr, port)))
        {
            tls_open.push((SocketAddr::new(addr, port), how));
        }
    }
    while let Some(result) = rx.recv().await {
        progress.concluded.fetch_add(1, Ordering::Relaxed);
        if result.reason == Reason::LocalError {
            // This machine could not probe it: no state to record (the
            // trailer counts it under `errors` and says incomplete).
            continue;
        }
        counts.add(result.state);
        if result.state == State::Open {
            progress.open.fetch_add(1, Ordering::Relaxed);
            let at = (result.probe.target.addr(), result.probe.port);
            // A self-connect proves nothing about the target (the verdict
            // ignores it too).
            if result.reason != Reason::SelfConnect {
                unexpected(at.0, result.probe.proto, at.1);
            }
            if at.1 == 53 {
                open_53.push(SocketAddr::new(at.0, 53));
            }
            if result.probe.proto == Proto::Tcp
                && let Some(how) = tls_endpoints.get(&at)
            {
                tls_open.push((SocketAddr::new(at.0, at.1), how));
            }
        }
        let on_flow = plan
            .group_of(&result.probe.target)
            .is_some_and(|g| g.bears_on_flow(result.probe.proto, result.probe.port));
        let aggregate = matches!(result.state, State::Filtered | State::OpenFiltered)
            && result.reason == Reason::NoResponse
            && !on_flow;
        if aggregate {
            // Memory stays bounded whatever the sweep's size: when the
            // budget fills, what is held is written and holding starts
            // again (a host's silent ports then span several lines, which
            // readers merge).
            if let Some(full) = silent.add(&result)
                && write_silent(full, &records).await.is_err()
            {
                cancel.cancel();
                break;
            }
            continue;
        }
        if records.send(Record::Port(fact(&result))).await.is_err() {
            // The writer failed (disk full, closed pipe): stop the engine
            // rather than let it block on a channel nobody reads.
            cancel.cancel();
            break;
        }
    }
    drop(rx);
    // A panicked engine task concluded nothing more; what it did conclude
    // is written, and the trailer says the run is incomplete.
    let summary = engine.await.unwrap_or_default();
    // A failed writer is reported by `finish` below.
    let _ = write_silent(silent.take(), &records).await;
    // The TLS endpoints found open, each probed for what it speaks and
    // presents (a few at a time: each runs its versions concurrently).
    let mut tls_written = 0;
    // The scan's --rate and --host-rate hold for TLS connections and DNS
    // questions too.
    let pacer = Arc::new(Pacer::new(request.engine.rate, request.engine.host_rate));
    if !cancel.is_cancelled() {
        let limits = tls::Limits { pace: Some(Arc::clone(&pacer)), ..tls::Limits::default() };
        let probes = futures_util::stream::iter(tls_open.iter().map(|(addr, how)| {
            let limits = limits.clone();
            async move {
                tracing::debug!(
                    endpoint = %addr,
                    sni = how.sni.as_deref(),
                    starttls = ?how.starttls,
                    "TLS probe started"
                );
                let fact =
                    tls::probe_endpoint(*addr, how.sni.as_deref(), how.starttls, limits).await;
                tracing::debug!(endpoint = %addr, "TLS probe ended");
                fact
            }
        }))
        .buffer_unordered(TLS_PARALLEL);
        let mut probes = std::pin::pin!(probes);
        loop {
            let fact = tokio::select! {
                () = cancel.cancelled() => break,
                next = probes.next() => match next {
                    Some(fact) => fact,
                    None => break,
                },
            };
            if records.send(Record::Tls(fact)).await.is_err() {
                break;
            }
            tls_written += 1;
        }
    }
    // Then DNS: the spec's servers (shard 0 only) and those found with 53
    // open, asked what `dns:` needs (see `scan::dns`).
    let mut dns = DnsReport::default();
    if !cancel.is_cancelled() {
        let work = dns::Work {
            intent: request.intent,
            vantage: request.intent.vantage(request.vantage),
            listed: plan.options.shard.index() == 0,
            open_53,
            exclusions: request.exclude,
        };
        let limits = probe::dns::Limits { pace: Some(pacer), ..probe::dns::Limits::default() };
        dns = dns::run(work, limits, &records, &cancel).await;
    }
    drop(records);
    // Stopped during the TLS or DNS step: the ports are all there, some
    // TLS endpoints or DNS questions are not, and the trailer must not say
    // complete. So with the DNS question cap reached.
    let tls_cut = tls_written < tls_open.len();
    let interrupted = summary.interrupted || ((tls_cut || dns.cut) && cancel.is_cancelled());
    // Every probe left was taken and concluded: the file's and this run's
    // together are the plan (`pulled` is final once the engine has ended).
    let complete = !interrupted
        && !tls_cut
        && !dns.cut
        && !dns.capped
        && !summary.interrupted
        && summary.concluded == pulled.load(Ordering::Relaxed)
        && summary.local_errors == 0;
    let trailer = Trailer {
        ended: now(),
        complete,
        interrupted,
        probes_sent: resume.map_or(0, |r| r.probes_sent) + summary.attempts,
        open: counts.open,
        closed: counts.closed,
        filtered: counts.filtered,
        open_filtered: counts.open_filtered,
        errors: summary.local_errors,
    };
    writer.finish(trailer.clone()).await?;
    tracing::info!(
        complete = trailer.complete,
        interrupted = trailer.interrupted,
        probes_sent = trailer.probes_sent,
        open = trailer.open,
        closed = trailer.closed,
        filtered = trailer.filtered,
        tls_endpoints = tls_written,
        dns_lines = dns.written,
        "scan finished"
    );
    Ok(Report { trailer, planned, receive_drops: summary.receive_drops, dns })
}

/// TLS endpoints probed at once.
const TLS_PARALLEL: usize = 4;

/// How to probe one TLS endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TlsTarget {
    /// The name to send as SNI: the host's first DNS name.
    sni: Option<String>,
    /// The STARTTLS protocol its service names.
    starttls: Option<StartTls>,
}

/// The (address, TCP port) pairs the spec says speak TLS
/// (`Intent::tls_endpoints`), with how to probe each.
fn tls_endpoints(intent: &Intent) -> HashMap<(IpAddr, u16), TlsTarget> {
    intent
        .tls_endpoints()
        .into_iter()
        .map(|e| {
            let host = &intent.hosts[e.host.0];
            let target = TlsTarget { sni: host.names.first().cloned(), starttls: e.starttls };
            ((host.address, e.port), target)
        })
        .collect()
}

/// Ports concluded, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    open: u64,
    closed: u64,
    filtered: u64,
    open_filtered: u64,
}

impl Counts {
    fn add(&mut self, s: State) {
        match s {
            State::Open => self.open += 1,
            State::Closed => self.closed += 1,
            State::Filtered => self.filtered += 1,
            State::OpenFiltered => self.open_filtered += 1,
        }
    }
}

/// Silent sweep ports held before they are written out (2 bytes each):
/// about 2 MiB, however large the sweep. Found in review: a /16 by 1,000
/// ports, all filtered, would have held 130 MB until the end.
const SILENT_BUDGET: usize = 1 << 20;

/// Writes held silent sweep ports as `filtered` summary lines, host by
/// host in address order. `Err` when the writer has failed.
async fn write_silent(
    silent: HashMap<(IpAddr, Proto), Silent>,
    records: &mpsc::Sender<Record>,
) -> Result<(), ()> {
    let mut silent: Vec<_> = silent.into_iter().collect();
    silent.sort_by_key(|((addr, proto), _)| (*addr, *proto));
    for ((target, proto), s) in silent {
        // `from_ports` dedupes, counts, and splits lists too long for one line.
        let lines = FilteredSummary::from_ports(
            target,
            wire_proto(proto),
            s.ports,
            s.attempts,
            WireReason::NoResponse,
        );
        for line in lines {
            records.send(Record::Filtered(line)).await.map_err(drop)?;
        }
    }
    Ok(())
}

/// Silent sweep results of one host and protocol (filtered for TCP,
/// open|filtered for UDP: the protocol says which).
#[derive(Debug, Default, PartialEq, Eq)]
struct Silent {
    ports: Vec<u16>,
    attempts: u8,
}

/// Silent sweep results held until they are written, at most `budget`
/// ports at a time.
#[derive(Debug)]
struct SilentPorts {
    hosts: HashMap<(IpAddr, Proto), Silent>,
    held: usize,
    budget: usize,
}

impl SilentPorts {
    fn new(budget: usize) -> Self {
        Self { hosts: HashMap::new(), held: 0, budget: budget.max(1) }
    }

    /// Holds `r`'s port; when that fills the budget, hands back everything
    /// held, to be written now.
    fn add(&mut self, r: &ProbeResult) -> Option<HashMap<(IpAddr, Proto), Silent>> {
        let s = self.hosts.entry((r.probe.target.addr(), r.probe.proto)).or_default();
        s.ports.push(r.probe.port);
        s.attempts = s.attempts.max(r.attempts);
        self.held += 1;
        (self.held >= self.budget).then(|| self.take())
    }

    /// Everything held, leaving nothing.
    fn take(&mut self) -> HashMap<(IpAddr, Proto), Silent> {
        self.held = 0;
        std::mem::take(&mut self.hosts)
    }
}

fn wire_proto(p: Proto) -> WireProto {
    match p {
        Proto::Tcp => WireProto::Tcp,
        Proto::Udp => WireProto::Udp,
    }
}

fn fact(r: &ProbeResult) -> PortFact {
    PortFact {
        target: r.probe.target.addr(),
        proto: wire_proto(r.probe.proto),
        port: r.probe.port,
        state: match r.state {
            State::Open => PortState::Open,
            State::Closed => PortState::Closed,
            State::Filtered => PortState::Filtered,
            State::OpenFiltered => PortState::OpenFiltered,
        },
        reason: match r.reason {
            Reason::Connected => WireReason::Connected,
            Reason::ConnRefused => WireReason::ConnRefused,
            Reason::SelfConnect => WireReason::SelfConnect,
            Reason::UdpResponse => WireReason::UdpResponse,
            Reason::PortUnreachable => WireReason::PortUnreachable,
            Reason::HostUnreachable => WireReason::HostUnreachable,
            Reason::Icmp { icmp_type, code } => WireReason::IcmpUnreachable { icmp_type, code },
            Reason::Rst => WireReason::Rst,
            Reason::SynAck => WireReason::SynAck,
            Reason::NoResponse => WireReason::NoResponse,
            Reason::LocalError => WireReason::LocalError,
        },
        attempts: r.attempts,
        rtt_us: r.rtt.map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        banner: r.banner.as_deref().map(printable_banner),
        at: now(),
    }
}

/// Now, as observation files write times.
fn now() -> String {
    timestamp(jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Options, Plan};

    #[test]
    fn silent_ports_are_held_within_the_budget() {
        let spec = "version: 1\nzones:\n  out: { cidrs: [0.0.0.0/0], probe: false }\n  lab: { cidrs: [198.18.0.0/30] }\nvantages:\n  o: { zone: out }\nsweep:\n  tcp: ['1-100']\n";
        let file: Arc<str> = Arc::from("budget.yaml");
        let intent =
            crate::spec::load_bytes(Path::new("budget.yaml"), &file, spec.as_bytes()).intent;
        let plan = Plan::new(&intent.expect("valid spec"), "o", Options::default()).expect("plans");
        let mut held = SilentPorts::new(64);
        let mut written = Vec::new();
        for probe in plan.probes() {
            let r = ProbeResult {
                probe,
                state: State::Filtered,
                reason: Reason::NoResponse,
                attempts: 3,
                rtt: None,
                banner: None,
            };
            if let Some(full) = held.add(&r) {
                assert_eq!(full.values().map(|s| s.ports.len()).sum::<usize>(), 64);
                written.push(full);
            }
            assert!(held.held < 64);
        }
        written.push(held.take());
        // Every silent port was handed out exactly once, whatever the
        // budget cut.
        let mut all: Vec<(IpAddr, u16)> = written
            .iter()
            .flat_map(|batch| batch.iter().flat_map(|((a, _), s)| s.ports.iter().map(|p| (*a, *p))))
            .collect();
        all.sort_unstable();
        let total = all.len();
        all.dedup();
        assert_eq!((total, all.len()), (plan.len() as usize, plan.len() as usize));
        assert!(written.len() > 2, "the budget cut it: {} batches", written.len());
    }
}
