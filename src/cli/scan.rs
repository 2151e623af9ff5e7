//! `vantage scan SPEC [--from VANTAGE] -o FILE`: probe from this machine and
//! write observations (without `--from`, as the vantage `cli::locate`
//! finds). `--mode auto` (the default) scans with SYNs when raw sockets can
//! be opened and with connect() otherwise, and says which.
//! Progress goes to stderr on a terminal only; SIGINT (Ctrl-C) or SIGTERM
//! stops sending, flushes what was observed, writes a trailer saying the
//! run was interrupted, and exits 3 (`cli::signals`); so does a failure
//! to write the observations.
//!
//! `--resume FILE` continues the unfinished scan in FILE (`scan::resume`):
//! the same spec and flags as its first run (refused otherwise, exit 2;
//! `--mode auto` takes the file's mode), only the probes it did not
//! conclude, appended to it; a complete FILE has nothing to resume (exit
//! 0, the file untouched).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use vantage::engine::limits;
use vantage::engine::net::{Net, SynNet, SystemNet};
use vantage::observe::ScanMode;
use vantage::plan::{Exclusions, Options, Plan, Shard};
use vantage::probe::syn::raw_sockets_permitted;
use vantage::scan::{Dropped, Output, Progress, Report, Request, Resume, ResumeError, ScanError};
use vantage::spec::{self, Intent, Severity};

use super::args::{Mode, ProbeOpts, ScanArgs, ScanCommand, ShardOpts};
use super::audit::{AuditLog, Run};
use super::exit::Outcome;

/// `vantage scan`: the audit log opened, the flags checked, the spec
/// loaded, `--from` resolved (`locate::resolve_from`), then the scan; the
/// audit log (if any) gets the run's start and end, or why it was refused.
pub(crate) fn command(c: &ScanCommand) -> anyhow::Result<Outcome> {
    let mut audit = AuditLog::open(c.audit_log.as_deref(), "scan", &c.spec, &c.probe)?;
    let result = audited(c, audit.as_mut());
    if let Some(log) = &mut audit {
        log.finish(&result);
    }
    result
}

fn audited(c: &ScanCommand, audit: Option<&mut AuditLog>) -> anyhow::Result<Outcome> {
    let shard = flags(&c.shard, &c.probe)?;
    let exclusions = c.probe.exclusions()?;
    let loaded = spec::load(&c.spec);
    let Some(intent) = &loaded.intent else { return refused(&loaded) };
    let (output, resume) = match (&c.output, &c.resume) {
        (_, Some(file)) => (file.clone(), true),
        (Some(file), None) => (file.clone(), false),
        (None, None) => anyhow::bail!("give -o FILE, or --resume FILE"),
    };
    let a = ScanArgs {
        spec: c.spec.clone(),
        from: super::locate::resolve_from(intent, c.from.as_deref())?,
        output,
        resume,
        shard: c.shard.clone(),
        probe: c.probe.clone(),
        built_in: None,
        stop: None,
    };
    let shown = Shown { kept: Some(a.output.display().to_string()), label: None };
    scan(&a, shard, intent, &loaded.digest, &exclusions, audit, shown)
}

/// Runs the scan `a` describes, from the vantage it names (`check`'s
/// local vantage: `check` keeps the audit log), shown as `shown` says.
pub(crate) fn run(a: &ScanArgs, shown: Shown) -> anyhow::Result<Outcome> {
    let shard = flags(&a.shard, &a.probe)?;
    let exclusions = a.probe.exclusions()?;
    let loaded = super::load_spec(&a.spec, a.built_in);
    let Some(intent) = &loaded.intent else { return refused(&loaded) };
    scan(a, shard, intent, &loaded.digest, &exclusions, None, shown)
}

/// How a scan shows on stderr.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shown {
    /// Where the summary says the observations went (`None`: not kept).
    pub(crate) kept: Option<String>,
    /// The progress bar's label, when it is one of several.
    pub(crate) label: Option<String>,
}

/// The shard, once the flags that need no spec are checked (rates within
/// the maximums unless `--unsafe-rate`).
fn flags(shard: &ShardOpts, probe: &ProbeOpts) -> anyhow::Result<Shard> {
    let shard = shard.resolve()?;
    if probe.min_rtt > probe.max_rtt {
        anyhow::bail!("--min-rtt {} is above --max-rtt {}", probe.min_rtt, probe.max_rtt);
    }
    probe.check_rates()?;
    Ok(shard)
}

/// Prints the errors of a spec that was refused.
fn refused(loaded: &spec::Loaded) -> anyhow::Result<Outcome> {
    let errors: Vec<_> =
        loaded.diagnostics.iter().filter(|d| d.severity == Severity::Error).cloned().collect();
    super::write_stdout(|out| super::print_diagnostics(out, &errors))?;
    Ok(Outcome::Refused)
}

fn scan(
    a: &ScanArgs,
    shard: Shard,
    intent: &Intent,
    digest: &str,
    exclusions: &Exclusions,
    audit: Option<&mut AuditLog>,
    shown: Shown,
) -> anyhow::Result<Outcome> {
    tracing::debug!(
        spec = %a.spec.display(),
        digest,
        zones = intent.zones.len(),
        hosts = intent.hosts.len(),
        flows = intent.flows.len(),
        vantage = %a.from,
        "spec loaded"
    );
    // The file to continue, read before anything is probed; its own mode
    // is what `--mode auto` means then (an explicit other mode is refused
    // by `Resume::check`, as another seed or shard is).
    let resume = if a.resume { Some(Resume::open(&a.output)?) } else { None };
    let mode = match (a.probe.mode, resume.as_ref().map(|r| r.header().mode)) {
        (Mode::Auto, Some(ScanMode::Syn)) => Mode::Syn,
        (Mode::Auto, Some(ScanMode::Connect)) => Mode::Connect,
        (mode, _) => mode,
    };
    let sockets = limits::probe_sockets();
    tracing::info!(sockets, rate = a.probe.rate, "socket budget from the file-descriptor limit");
    let engine = a.probe.limits().engine(sockets);
    let spec_name = a.spec.display().to_string();
    let options = Options { seed: a.probe.seed, shard, allow_large: a.probe.allow_large };
    // The plan is made here too (it is pure and lazy): a refused one is
    // refused before anything else, and the audit line records its scope.
    let plan = Plan::with_exclusions(intent, &a.from, options, exclusions)
        .with_context(|| format!("scan from vantage `{}`", a.from))?;
    if let Some(log) = audit {
        let exclude = a.probe.exclude.as_ref().map(|p| (exclusions, p.display().to_string()));
        log.start(&Run {
            spec_digest: digest,
            vantages: vec![(&plan, a.from.clone(), None)],
            exclude,
        })?;
    }
    let mut request = Request {
        intent,
        spec: &spec_name,
        spec_digest: digest,
        vantage: &a.from,
        plan: options,
        exclude: exclusions,
        engine,
        mode: ScanMode::Connect,
    };
    // SYN mode needs raw sockets; `auto` falls back to connect() when they
    // cannot be opened, and the summary line says why.
    let mut fallback: Option<String> = None;
    let syn = match mode {
        Mode::Connect => false,
        Mode::Syn => {
            raw_sockets_permitted().with_context(|| match (&resume, a.probe.mode) {
                (Some(r), Mode::Auto) => format!(
                    "{} is a SYN scan: resuming it needs raw sockets (root or CAP_NET_RAW)",
                    r.name()
                ),
                _ => "--mode syn needs raw sockets (root or CAP_NET_RAW)".to_owned(),
            })?;
            true
        }
        Mode::Auto => match raw_sockets_permitted() {
            Ok(()) => true,
            Err(e) => {
                fallback = Some(e.to_string());
                false
            }
        },
    };
    // A SYN scan runs on one thread: each SYN is one `sendto`, and waking
    // other worker threads per answer cost more than the probes (see
    // `engine`). Connect scans spread their connect() calls over the cores.
    let runtime = if syn {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
    .enable_all()
    .build()
    .context("cannot start the async runtime")?;
    let progress = Arc::new(Progress::default());
    let cancel = a.stop.clone().unwrap_or_default();
    let started = Instant::now();
    let report = runtime.block_on(async {
        // Before the file is created or cut: from here on SIGINT and
        // SIGTERM stop the scan cleanly, however many arrive. A caller
        // that passed its own stop handles them already.
        if a.stop.is_none() {
            super::signals::stop_on_signals(cancel.clone(), super::signals::say_stopping)?;
        }
        let stop = CancellationToken::new();
        let ticker = super::progress::wanted().then(|| {
            let show = super::progress::show(
                Arc::clone(&progress),
                stop.clone(),
                shown.label.clone(),
                a.probe.rate,
            );
            tokio::spawn(show)
        });
        let output = match &resume {
            Some(r) => Output::Resume(r),
            None if a.output.as_os_str() == "-" => Output::Sink(Box::new(tokio::io::stdout()), "-"),
            None => Output::File(&a.output),
        };
        let progress = Arc::clone(&progress);
        // Raw sockets were permitted, but the scanner may still fail to
        // start (no source ports free, an ICMP socket refused): `--mode
        // syn` says so, `auto` scans with connect() instead and says why.
        let net = match (syn, mode) {
            (false, _) => None,
            (true, Mode::Syn) => {
                Some(SynNet::start().context("cannot start the SYN scanner's raw sockets")?)
            }
            (true, _) => match SynNet::start() {
                Ok(net) => Some(net),
                Err(e) => {
                    fallback = Some(e.to_string());
                    None
                }
            },
        };
        if let Some(why) = &fallback {
            tracing::info!(why = %why, "no raw sockets: connect scan");
        }
        tracing::info!(mode = if net.is_some() { "syn" } else { "connect" }, "scanner started");
        let report = match net {
            Some(net) => {
                request.mode = ScanMode::Syn;
                scan_with(net, &request, output, progress, cancel.clone()).await
            }
            None => scan_with(SystemNet, &request, output, progress, cancel.clone()).await,
        };
        stop.cancel();
        if let Some(t) = ticker {
            let _ = t.await;
        }
        anyhow::Ok(report)
    })?;
    let report = match report {
        Ok(r) => r,
        // The spec was fine but the plan was refused (unknown vantage,
        // too large without --allow-large): input refused.
        Err(e @ ScanError::Plan(_)) => {
            return Err(anyhow::Error::new(e).context(format!("scan from vantage `{}`", a.from)));
        }
        // A complete file: nothing to do, and nothing was touched.
        Err(ScanError::Resume(e @ ResumeError::Complete { .. })) => {
            super::log::note(&e.to_string());
            return Ok(Outcome::Conforms);
        }
        // Another scan than the file's, or the file changed: refused.
        Err(e @ ScanError::Resume(_)) => return Err(anyhow::Error::new(e)),
        // Observations could not be written: the run could not finish.
        Err(e) => {
            super::log::note_always(&format!("error: scan from vantage `{}`: {e}", a.from));
            return Ok(Outcome::Incomplete);
        }
    };
    let t = &report.trailer;
    let took = started.elapsed();
    let headline = format!(
        "{} scan{}{}{}: {} of {} probes concluded{}{}",
        mode_name(request.mode),
        if shard.count() > 1 { format!(" of shard {shard}") } else { String::new() },
        resume.as_ref().map(resumed).unwrap_or_default(),
        fallback.map(|why| format!(" (no raw sockets: {why})")).unwrap_or_default(),
        t.open + t.closed + t.filtered + t.open_filtered,
        report.planned,
        if t.interrupted { "; interrupted" } else { "" },
        excluded_note(&plan, exclusions),
    );
    let earlier = resume.as_ref().map_or(0, Resume::probes_sent);
    super::log::block(&super::summary::scan(&super::summary::ScanBlock {
        headline,
        open: t.open,
        closed: t.closed,
        filtered: t.filtered,
        open_filtered: t.open_filtered,
        unexpected: progress.unexpected.load(Ordering::Relaxed),
        sent: t.probes_sent,
        sent_now: t.probes_sent.saturating_sub(earlier),
        took,
        local_errors: t.errors,
        receive_drops: report.receive_drops,
        observations: shown.kept,
    }));
    let dns = &report.dns;
    if !dns.out_of_scope.is_empty() {
        let list: Vec<String> = dns.out_of_scope.iter().map(ToString::to_string).collect();
        super::log::note(&format!(
            "DNS servers outside every probe-able zone{}, not asked: {}",
            if exclusions.is_empty() { "" } else { " or excluded (--exclude)" },
            list.join(", ")
        ));
    }
    if !dns.discovered.is_empty() {
        let list: Vec<String> = dns.discovered.iter().map(ToString::to_string).collect();
        super::log::note(&format!("DNS servers found by the scan and asked: {}", list.join(", ")));
    }
    if dns.capped {
        super::log::note(&format!(
            "DNS: stopped at {} questions; the scan is incomplete",
            vantage::scan::MAX_QUESTIONS
        ));
    }
    Ok(if t.complete { Outcome::Conforms } else { Outcome::Incomplete })
}

/// How the summary line tells a resumed scan: what the file already held,
/// and what was cut from its end.
fn resumed(r: &Resume) -> String {
    let cut = match r.dropped() {
        Dropped::Nothing => String::new(),
        Dropped::CutLine(line) => format!(", its cut-off line {line} dropped"),
        Dropped::Trailer { interrupted: true } => ", its interrupted trailer replaced".to_owned(),
        Dropped::Trailer { interrupted: false } => ", its unfinished trailer replaced".to_owned(),
    };
    format!(", resuming {} ({} probes concluded there{cut})", r.name(), r.concluded())
}

/// Runs the library's scan over `net`.
async fn scan_with<N: Net>(
    net: N,
    request: &Request<'_>,
    output: Output<'_>,
    progress: Arc<Progress>,
    cancel: CancellationToken,
) -> Result<Report, ScanError> {
    vantage::scan::run(Arc::new(net), request, output, progress, cancel).await
}

/// `; 3 addresses (3600 probes) excluded by --exclude`, with exclusions
/// (of the whole plan, all shards).
fn excluded_note(plan: &Plan, exclusions: &Exclusions) -> String {
    if exclusions.is_empty() {
        return String::new();
    }
    let x = plan.excluded;
    format!(
        "; {} address{} ({} probes) excluded by --exclude",
        x.addresses,
        if x.addresses == 1 { "" } else { "es" },
        x.probes
    )
}

fn mode_name(mode: ScanMode) -> &'static str {
    match mode {
        ScanMode::Connect => "connect",
        ScanMode::Syn => "SYN",
    }
}
