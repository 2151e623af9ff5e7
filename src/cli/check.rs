//! `vantage check SPEC --from VANTAGE...`: plan, scan and verdict in one
//! run, the main job, from one vantage or several at once.
//!
//! A vantage the spec gives an `agent:` URL is run by that agent over
//! mutual TLS (`--agent-ca`, `--agent-cert`, `--agent-key`), which streams
//! its observations back into a local file as they are made; a vantage
//! without one is this machine, scanned in-process by `vantage scan`
//! itself (the same `ProbeOpts`, so check follows the engine's defaults
//! and checks as they change). All run at once; the verdict then reads
//! every file back exactly as `vantage verdict` would, so `check` and
//! `verdict` over the saved files report the same. A vantage whose agent
//! cannot be reached, or refuses, is a `scan-incomplete` finding, never a
//! silent gap.
//!
//! Exit codes as `verdict`: 0, 1, 2, and 3 when a scan did not finish
//! (an interrupted scan still reports what it observed).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::args::{Mode, ProbeOpts, ScanArgs, ShardOpts};
use super::audit::{AuditLog, Run};
use super::exit::Outcome;
use super::verdict::{self, ReportOpts};
use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use vantage::agent::client::{self, Remote};
use vantage::agent::proto::{self, ModeWish, PlanRequest, SpecBundle, SpecFile};
use vantage::agent::tls::{Pem, client_config};
use vantage::plan::{Options, Plan};
use vantage::report::document::Document;
use vantage::scan::Progress;
use vantage::verdict::ExposureCheck;

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The spec file.
    pub(crate) spec: PathBuf,
    /// A vantage to check from (a name under `vantages:`; repeat for several). One without an
    /// `agent:` URL is this machine; default: the vantage whose zone holds this machine's address.
    #[arg(long, value_name = "VANTAGE")]
    pub(crate) from: Vec<String>,
    /// Check from every vantage the spec declares.
    #[arg(long, conflicts_with = "from")]
    pub(crate) all_vantages: bool,
    /// How to report.
    #[command(flatten)]
    pub(crate) report: ReportOpts,
    /// Keep the observations: in FILE for one vantage, in the folder FILE (as VANTAGE.jsonl)
    /// for several.
    #[arg(long, value_name = "FILE")]
    pub(crate) save: Option<PathBuf>,
    /// How to reach agents.
    #[command(flatten)]
    pub(crate) agents: AgentOpts,
    /// How to probe, exactly as `vantage scan`.
    #[command(flatten)]
    pub(crate) probe: ProbeOpts,
    /// Append one JSON line to FILE when the check starts and one when it ends: who, when,
    /// spec and digest, each vantage with its shard and scope, exclusions, rates, mode, exit code.
    #[arg(long, value_name = "FILE")]
    pub(crate) audit_log: Option<PathBuf>,
    /// The spec's text when the binary carries it (`demo`), read under
    /// `spec`'s name (`cli::load_spec`); `vantage check` reads the file.
    #[arg(skip)]
    pub(crate) built_in: Option<&'static str>,
    /// The caller's stop, when the caller handles SIGINT and SIGTERM
    /// (`demo`, which takes them before the check starts): cancelling it
    /// stops every scan as a signal does, and the check installs no
    /// handler of its own, so a signal is told once. `None` for `vantage
    /// check` itself, which handles the signals.
    #[arg(skip)]
    pub(crate) stop: Option<CancellationToken>,
}

/// The controller's credentials for the spec's `agent:` vantages.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct AgentOpts {
    /// The CA agents' certificates must chain to (PEM): the only one trusted.
    #[arg(long, value_name = "FILE")]
    pub(crate) agent_ca: Option<PathBuf>,
    /// This controller's certificate (PEM; `vantage certs controller` makes one).
    #[arg(long, value_name = "FILE")]
    pub(crate) agent_cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) agent_key: Option<PathBuf>,
    /// Meet the agents here instead of connecting to their URLs: each dials in
    /// (`vantage agent --dial`), for segments that take no inbound connection. Their
    /// certificates must still be for their URLs' hosts.
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) agent_listen: Option<std::net::SocketAddr>,
    /// How long to wait for each agent to dial in (with --agent-listen).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, requires = "agent_listen", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) agent_wait: u64,
}

/// How evidence names observations that were not kept (no `--save`).
const TEMPORARY_SOURCE: &str = "this check's scan";

/// Where one vantage's observations go.
struct Slot {
    vantage: String,
    path: PathBuf,
    temporary: bool,
}

/// Every vantage's slot; the temporary files are removed when it is
/// dropped, on every way out of `check` (an error, a panic in the agents'
/// thread, a spec changed while starting), not only the way that reports.
struct Slots(Vec<Slot>);

impl std::ops::Deref for Slots {
    type Target = [Slot];
    fn deref(&self) -> &[Slot] {
        &self.0
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        for s in self.0.iter().filter(|s| s.temporary) {
            // Said, never fatal: a leftover file in the temporary folder
            // is harmless, but the user (and the demo's "cleaned up")
            // should know of it.
            match std::fs::remove_file(&s.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    super::log::note(&format!("cannot remove {}: {e}", s.path.display()));
                }
                _ => {}
            }
        }
    }
}

pub(crate) fn run(a: &CheckArgs) -> anyhow::Result<Outcome> {
    run_reporting(a).map(|(outcome, _)| outcome)
}

/// `check`, with the findings document it reported (none when the run
/// was refused before a verdict): what `demo` explains after the report.
pub(crate) fn run_reporting(a: &CheckArgs) -> anyhow::Result<(Outcome, Option<Document>)> {
    let mut audit = AuditLog::open(a.audit_log.as_deref(), "check", &a.spec, &a.probe)?;
    let result = audited(a, audit.as_mut());
    if let Some(log) = &mut audit {
        let outcome = match &result {
            Ok((outcome, _)) => Ok(*outcome),
            Err(e) => Err(anyhow::anyhow!("{e:#}")),
        };
        log.finish(&outcome);
    }
    result
}

fn audited(
    a: &CheckArgs,
    audit: Option<&mut AuditLog>,
) -> anyhow::Result<(Outcome, Option<Document>)> {
    let now = verdict::now(a.report.now.as_deref())?;
    // Checked here too: remote vantages never pass through `scan`'s flags.
    a.probe.check_rates()?;
    let exclusions = a.probe.exclusions()?;
    let Some(loaded) = verdict::load(&a.spec, a.built_in) else {
        return Ok((Outcome::Refused, None));
    };
    let Some(intent) = &loaded.intent else { return Ok((Outcome::Refused, None)) };
    let names: Vec<String> = if a.all_vantages {
        intent.vantages.iter().map(|v| v.name.clone()).collect()
    } else if a.from.is_empty() {
        vec![super::locate::resolve_from(intent, None)?]
    } else {
        let mut seen = Vec::new();
        for v in &a.from {
            if !seen.contains(v) {
                seen.push(v.clone());
            }
        }
        seen
    };
    for name in &names {
        if intent.vantage(name).is_none() {
            let known: Vec<&str> = intent.vantages.iter().map(|v| v.name.as_str()).collect();
            anyhow::bail!(
                "--from {name}: no vantage is named `{name}`; {} declares: {}",
                a.spec.display(),
                known.join(", ")
            );
        }
    }
    let agent_of =
        |name: &str| intent.vantage(name).and_then(|id| intent.vantages[id.0].agent.clone());
    let local: Vec<&String> = names.iter().filter(|n| agent_of(n).is_none()).collect();
    if local.len() > 1 {
        anyhow::bail!(
            "vantages {} have no `agent:` URL, so each would be this machine: a machine is one vantage; run check at each, or give them agents",
            local.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        );
    }
    let remotes: Vec<(String, String)> =
        names.iter().filter_map(|n| agent_of(n).map(|url| (n.clone(), url))).collect();
    if let Some(addr) = a.agents.agent_listen {
        dial_in_hosts(addr, &remotes)?;
    }
    let tls = if remotes.is_empty() { None } else { Some(controller_tls(&a.agents)?) };
    // Every vantage's plan, as each scan will make it: refused here if
    // any is, and what the audit line records.
    let options =
        Options { seed: a.probe.seed, allow_large: a.probe.allow_large, ..Options::default() };
    let mut plans = Vec::new();
    for name in &names {
        let plan = Plan::with_exclusions(intent, name, options, &exclusions)
            .with_context(|| format!("cannot plan from vantage `{name}`"))?;
        plans.push((plan, name.clone(), agent_of(name)));
    }
    if let Some(log) = audit {
        let exclude = a.probe.exclude.as_ref().map(|p| (&exclusions, p.display().to_string()));
        log.start(&Run {
            spec_digest: &loaded.digest,
            vantages: plans.iter().map(|(p, n, u)| (p, n.clone(), u.clone())).collect(),
            exclude,
        })?;
    }
    let slots = slots(&names, a.save.as_deref())?;
    let path_of = |v: &str| slots.iter().find(|s| s.vantage == v).map(|s| s.path.clone());

    // Remote vantages run on a thread of their own while this one scans.
    let remote_thread = match tls {
        None => None,
        Some(tls) => {
            let bundle = bundle(&a.spec, a.built_in, &loaded.digest)?;
            // Bound now, so a taken address is refused before any scan.
            let meet = match a.agents.agent_listen {
                Some(addr) => {
                    let l = std::net::TcpListener::bind(addr)
                        .with_context(|| format!("--agent-listen {addr}"))?;
                    l.set_nonblocking(true).with_context(|| format!("--agent-listen {addr}"))?;
                    say(&format!(
                        "waiting up to {} s on {addr} for the agents of {} to dial in",
                        a.agents.agent_wait,
                        remotes
                            .iter()
                            .map(|(v, _)| format!("`{v}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    Some(l)
                }
                None => None,
            };
            let wait = Duration::from_secs(a.agents.agent_wait);
            let limits = a.probe.limits();
            let jobs: Vec<(String, Remote, PathBuf)> = remotes
                .iter()
                .filter_map(|(v, url)| {
                    let request = PlanRequest {
                        protocol: proto::PROTOCOL,
                        spec: bundle.clone(),
                        spec_digest: loaded.digest.clone(),
                        vantage: v.clone(),
                        shard_index: 0,
                        shard_count: 1,
                        seed: a.probe.seed,
                        limits,
                        mode: match a.probe.mode {
                            Mode::Auto => ModeWish::Auto,
                            Mode::Connect => ModeWish::Connect,
                            Mode::Syn => ModeWish::Syn,
                        },
                        // The agent's scope guard leaves them out too.
                        exclude: exclusions.networks().iter().map(ToString::to_string).collect(),
                    };
                    let remote =
                        Remote { url: url.clone(), tls: Arc::clone(&tls), request, meet: None };
                    Some((v.clone(), remote, path_of(v)?))
                })
                .collect();
            let tell = local.is_empty();
            let shown =
                Bars { intent: intent.clone(), labelled: names.len() > 1, rate: limits.rate };
            let stop = a.stop.clone();
            let meet = meet.map(|l| (l, wait));
            Some(std::thread::spawn(move || run_remotes(jobs, meet, tell, stop, &shown)))
        }
    };
    let mut failed: Vec<(String, String)> = Vec::new();
    let mut local_error = None;
    if let Some(v) = local.first() {
        let args = ScanArgs {
            spec: a.spec.clone(),
            from: (*v).clone(),
            output: path_of(v).unwrap_or_default(),
            resume: false,
            shard: ShardOpts::whole(),
            probe: a.probe.clone(),
            built_in: a.built_in,
            stop: a.stop.clone(),
        };
        let shown = super::scan::Shown {
            kept: a.save.as_ref().and(path_of(v)).map(|p| p.display().to_string()),
            label: (names.len() > 1).then(|| (*v).clone()),
        };
        if let Err(e) = super::scan::run(&args, shown) {
            local_error = Some(e);
        }
    }
    if let Some(t) = remote_thread {
        match t.join() {
            Ok(results) => failed.extend(results),
            Err(_) => anyhow::bail!("the thread driving the agents panicked"),
        }
    }
    let mut files = Vec::new();
    let mut read_error = None;
    for s in slots.iter() {
        if failed.iter().any(|(v, _)| *v == s.vantage) {
            continue;
        }
        match vantage::observe::read(&s.path) {
            // Evidence names the file it came from; a temporary one is
            // removed below, so it is named for what it was.
            Ok(f) if s.temporary => files.push((TEMPORARY_SOURCE.to_owned(), f)),
            Ok(f) => files.push((s.path.display().to_string(), f)),
            Err(e) => {
                read_error.get_or_insert(e);
            }
        }
    }
    // The temporary files are read: gone now, whatever follows.
    drop(slots);
    if let Some(e) = local_error {
        return Err(e);
    }
    if let Some(e) = read_error {
        return Err(anyhow::Error::new(e).context("reading back the observations"));
    }
    for (v, why) in &failed {
        say(&format!("vantage `{v}`: no observations: {why}"));
    }
    let absent: Vec<(String, String)> = failed;
    let spec = verdict::Judged { path: &a.spec, built_in: a.built_in, digest: &loaded.digest };
    verdict::judge_and_report(intent, &spec, &files, &absent, now, &a.report)
        .map(|(outcome, doc)| (outcome, Some(doc)))
}

fn say(line: &str) {
    super::log::note(line);
}

/// How the agents' progress is shown: a bar each, labelled with its
/// vantage when there are several, counting the lines as they arrive.
struct Bars {
    intent: vantage::spec::Intent,
    labelled: bool,
    rate: u32,
}

/// Counts one streamed observation line into `progress`: the header's
/// plan, each port line (and each port of a `filtered` line, which an
/// agent writes at the end of its sweep) as concluded, open ports and
/// those the intent does not allow.
fn count(
    progress: &Progress,
    exposure: &mut Option<ExposureCheck<'_>>,
    record: &vantage::observe::Record,
) {
    use vantage::observe::{PortState, Proto, Record};
    match record {
        Record::Header(h) => progress.planned.store(h.probes_planned, Ordering::Relaxed),
        Record::Port(p) => {
            progress.concluded.fetch_add(1, Ordering::Relaxed);
            if p.state == PortState::Open {
                progress.open.fetch_add(1, Ordering::Relaxed);
                let proto = match p.proto {
                    Proto::Tcp => vantage::spec::intent::Proto::Tcp,
                    Proto::Udp => vantage::spec::intent::Proto::Udp,
                };
                if exposure.as_mut().is_some_and(|e| e.unexpected(p.target, proto, p.port)) {
                    progress.unexpected.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Record::Filtered(f) => {
            progress.concluded.fetch_add(u64::from(f.count), Ordering::Relaxed);
        }
        _ => {}
    }
}

/// With `--agent-listen`: some vantage must be an agent's, and no two may
/// share their URL's host. A dialling agent is known by the certificate
/// it proves for that host alone (the URL's port is not used), so two
/// vantages on one host could not be told apart: the agent of one could
/// take the other's plan.
fn dial_in_hosts(addr: std::net::SocketAddr, remotes: &[(String, String)]) -> anyhow::Result<()> {
    if remotes.is_empty() {
        anyhow::bail!(
            "--agent-listen {addr}: no vantage of this check has an `agent:` URL, so no agent would dial in"
        );
    }
    let mut hosts: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for (v, url) in remotes {
        let Some((host, _)) = client::parse_url(url) else { continue };
        if let Some(other) = hosts.insert(host.clone(), v) {
            anyhow::bail!(
                "--agent-listen: vantages `{other}` and `{v}` have agents on the same host ({host}); dialling agents are known by their certificate's host alone, so give each its own"
            );
        }
    }
    Ok(())
}

/// The controller's TLS configuration from `--agent-*`.
fn controller_tls(o: &AgentOpts) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let (Some(ca), Some(cert), Some(key)) = (&o.agent_ca, &o.agent_cert, &o.agent_key) else {
        anyhow::bail!(
            "a vantage to check from is reached through its agent (`agent:` in the spec): give --agent-ca, --agent-cert and --agent-key (`vantage certs` makes them)"
        );
    };
    let read = |p: &PathBuf, flag: &str| {
        std::fs::read(p).with_context(|| format!("{flag} {}", p.display()))
    };
    let (ca_pem, cert_pem, key_pem) =
        (read(ca, "--agent-ca")?, read(cert, "--agent-cert")?, read(key, "--agent-key")?);
    let name = |p: &PathBuf| p.display().to_string();
    Ok(client_config(
        Pem { name: &name(ca), bytes: &ca_pem },
        Pem { name: &name(cert), bytes: &cert_pem },
        Pem { name: &name(key), bytes: &key_pem },
    )?)
}

/// The spec and its includes as agents receive them, read again the way
/// `spec::load` reads them; refused if they changed since they were loaded.
fn bundle(spec: &Path, built_in: Option<&'static str>, digest: &str) -> anyhow::Result<SpecBundle> {
    let mut files = Vec::new();
    let loaded = vantage::spec::load_with(spec, &mut |p: &Path| {
        let bytes = super::read_spec_file(spec, built_in, p)?;
        files.push(SpecFile::new(p.display().to_string(), &bytes));
        Ok(bytes)
    });
    if loaded.digest != digest {
        anyhow::bail!("{} changed while check was starting; run it again", spec.display());
    }
    Ok(SpecBundle { path: spec.display().to_string(), files })
}

/// Runs every remote vantage at once; returns those that gave nothing,
/// each with why. SIGINT or SIGTERM closes the connections, which stops
/// the agents; `tell` says so on stderr (when no local scan does). With
/// the caller's `stop` (`demo`), that stops them instead, and the caller
/// handles the signals.
fn run_remotes(
    mut jobs: Vec<(String, Remote, PathBuf)>,
    meet: Option<(std::net::TcpListener, Duration)>,
    tell: bool,
    stop: Option<CancellationToken>,
    bars: &Bars,
) -> Vec<(String, String)> {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            return jobs.into_iter().map(|(v, ..)| (v, format!("no runtime: {e}"))).collect();
        }
    };
    runtime.block_on(async {
        // This machine's scan, if there is one, says what the signal did.
        let (cancel, handled) = match stop {
            Some(stop) => (stop, Ok(())),
            None => {
                let cancel = CancellationToken::new();
                let handled = if tell {
                    super::signals::stop_on_signals(cancel.clone(), super::signals::say_stopping)
                } else {
                    super::signals::stop_on_signals(cancel.clone(), |_, _| {})
                };
                (cancel, handled)
            }
        };
        if let Err(e) = handled {
            return jobs.iter().map(|(v, ..)| (v.clone(), format!("{e:#}"))).collect();
        }
        // Dialling agents are met on the listener `check` bound.
        if let Some((listener, wait)) = meet {
            let started = tokio::net::TcpListener::from_std(listener).and_then(|l| {
                let vantages = jobs.iter().map(|(v, ..)| v.clone());
                client::Rendezvous::start(l, vantages, wait)
            });
            match started {
                Ok(r) => {
                    let r = Arc::new(r);
                    for (_, remote, _) in &mut jobs {
                        remote.meet = Some(Arc::clone(&r));
                    }
                }
                Err(e) => {
                    return jobs
                        .iter()
                        .map(|(v, ..)| (v.clone(), format!("--agent-listen: {e}")))
                        .collect();
                }
            }
        }
        let runs = jobs.iter().map(|(v, remote, path)| {
            let cancel = cancel.clone();
            async move {
                let progress = Arc::new(Progress::default());
                let stop = CancellationToken::new();
                let label = bars.labelled.then(|| v.clone());
                let bar = super::progress::wanted().then(|| {
                    let show = super::progress::show(
                        Arc::clone(&progress),
                        stop.clone(),
                        label,
                        bars.rate,
                    );
                    tokio::spawn(show)
                });
                let mut exposure = ExposureCheck::new(&bars.intent, v);
                let watch = |r: &vantage::observe::Record| count(&progress, &mut exposure, r);
                let result = client::run_watched(remote, path, &cancel, watch).await;
                stop.cancel();
                if let Some(bar) = bar {
                    let _ = bar.await;
                }
                (v.clone(), remote.url.clone(), result)
            }
        });
        let mut failed = Vec::new();
        for (v, url, result) in futures_util::future::join_all(runs).await {
            match result {
                Ok(d) => {
                    let mut line = format!(
                        "vantage `{v}`: agent {url}: {} lines, {} scan",
                        d.lines,
                        match d.mode {
                            vantage::observe::ScanMode::Syn => "SYN",
                            vantage::observe::ScanMode::Connect => "connect",
                        }
                    );
                    for note in &d.notes {
                        line.push_str("; ");
                        line.push_str(note);
                    }
                    if let Some(cut) = &d.cut {
                        line.push_str("; incomplete: ");
                        line.push_str(cut);
                    }
                    say(&line);
                }
                Err(e) => failed.push((v, e.to_string())),
            }
        }
        failed
    })
}

/// One observation file per vantage: `--save` (a file for one vantage, a
/// folder for several) or new temporary files.
fn slots(names: &[String], save: Option<&Path>) -> anyhow::Result<Slots> {
    let mut out = Slots(Vec::new());
    match save {
        Some(p) if names.len() == 1 => {
            out.0.push(Slot { vantage: names[0].clone(), path: p.to_owned(), temporary: false });
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("--save {}: cannot create the folder", dir.display()))?;
            for v in names {
                let path = dir.join(format!("{v}.jsonl"));
                out.0.push(Slot { vantage: v.clone(), path, temporary: false });
            }
        }
        None => {
            for v in names {
                // A failure here drops `out`, removing those made so far.
                out.0.push(Slot { vantage: v.clone(), path: temporary_file()?, temporary: true });
            }
        }
    }
    Ok(out)
}

/// A new, empty file of our own in the temporary folder: created with
/// `create_new` (O_EXCL), so a name someone else made there in advance (a
/// symlink planted in a shared /tmp) is never written through.
fn temporary_file() -> anyhow::Result<PathBuf> {
    super::temporary("check", ".jsonl", |p| {
        std::fs::OpenOptions::new().write(true).create_new(true).open(p).map(drop)
    })
}
