//! `vantage agent`: a long-running remote vantage. Listens with mutual TLS
//! (`--cert`/`--key`, clients must hold a certificate from `--client-ca`),
//! takes one plan at a time from an authenticated controller, and streams
//! the observations back. Its `--scope` file and rate ceilings are its
//! operator's: no controller can widen them. Runs until SIGINT or SIGTERM,
//! then stops any scan (its controller gets an interrupted trailer).
//!
//! With `--dial HOST:PORT` instead of `--listen`, for a segment that takes
//! no inbound connection, it dials the controller (`check --agent-listen`)
//! and keeps dialling: the same mutual TLS, the same checks, as the
//! vantage `--vantage` names.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use vantage::agent::server::{AcceptedPlan, Agent, Event, dial, serve};
use vantage::agent::tls::{Pem, server_config};

use super::audit::{self, AuditFile};
use super::exit::Outcome;

#[derive(Debug, clap::Args)]
pub(crate) struct AgentArgs {
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT", required_unless_present = "dial")]
    pub(crate) listen: Option<SocketAddr>,
    /// Dial the controller at HOST:PORT instead (`check --agent-listen`), again after each
    /// session and until stopped, for a segment that takes no inbound connection. Needs
    /// --vantage.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "listen", requires = "vantage")]
    pub(crate) dial: Option<String>,
    /// This agent's certificate (PEM; `vantage certs agent` makes one).
    #[arg(long, value_name = "FILE")]
    pub(crate) cert: PathBuf,
    /// Its private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// The CA whose client certificates are accepted (PEM); every other peer is refused.
    #[arg(long, value_name = "FILE")]
    pub(crate) client_ca: PathBuf,
    /// The networks this agent may probe: one CIDR or address a line, `#` comments.
    /// A plan reaching outside them is refused.
    #[arg(long, value_name = "FILE")]
    pub(crate) scope: PathBuf,
    /// Highest probe rate (per second, all targets) any plan gets (at most 50,000 without
    /// --unsafe-rate).
    #[arg(long, value_name = "N", default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_rate: u32,
    /// Highest probe rate to one host (default: --max-rate, at most 10,000 without
    /// --unsafe-rate).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_host_rate: Option<u32>,
    /// Lift the maximum rates (50,000 probes/s in all, 10,000 to one host).
    #[arg(long)]
    pub(crate) unsafe_rate: bool,
    /// Append one JSON line to FILE per plan accepted, before its first probe: the
    /// controller, the spec and digest, vantage, shard, scope, exclusions, rates, mode.
    #[arg(long, value_name = "FILE")]
    pub(crate) audit_log: Option<PathBuf>,
    /// Scan only as this vantage of the spec.
    #[arg(long, value_name = "VANTAGE")]
    pub(crate) vantage: Option<String>,
    /// Never use raw sockets, even when permitted (SYN scans otherwise, as `scan --mode auto`).
    #[arg(long)]
    pub(crate) connect_only: bool,
}

fn read(path: &PathBuf, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{what} {}", path.display()))
}

pub(crate) fn run(a: &AgentArgs) -> anyhow::Result<Outcome> {
    if !a.unsafe_rate
        && let Some(problem) = vantage::engine::limits::rate_problem(
            a.max_rate,
            a.max_host_rate,
            ("--max-rate", "--max-host-rate"),
        )
    {
        anyhow::bail!(problem);
    }
    let name = |p: &PathBuf| p.display().to_string();
    let audit = match &a.audit_log {
        Some(p) => Some(Mutex::new(AuditFile::open(p)?)),
        None => None,
    };
    let (cert, key, ca) =
        (read(&a.cert, "--cert")?, read(&a.key, "--key")?, read(&a.client_ca, "--client-ca")?);
    let tls = server_config(
        Pem { name: &name(&a.cert), bytes: &cert },
        Pem { name: &name(&a.key), bytes: &key },
        Pem { name: &name(&a.client_ca), bytes: &ca },
    )?;
    if let Some(v) = a.vantage.as_deref().filter(|_| a.dial.is_some()) {
        let hello = vantage::agent::hello(v);
        if vantage::agent::parse_hello(&hello[..hello.len() - 1]).is_none() {
            anyhow::bail!(
                "--vantage {v:?}: a dialling agent announces its vantage in one line, which takes letters, digits, `-`, `_` and `.` only"
            );
        }
    }
    let scope_name = name(&a.scope);
    let scope = vantage::agent::scope::parse(&scope_name, &read(&a.scope, "--scope")?)?;
    let syn = !a.connect_only && vantage::probe::syn::raw_sockets_permitted().is_ok();
    let agent = Arc::new(Agent {
        tls,
        scope,
        scope_name,
        max_rate: a.max_rate,
        max_host_rate: a
            .max_host_rate
            .unwrap_or_else(|| {
                vantage::engine::limits::default_host_rate(a.max_rate, a.unsafe_rate)
            })
            .min(a.max_rate),
        vantage: a.vantage.clone(),
        syn,
        max_parallel: vantage::engine::limits::probe_sockets(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = match a.listen {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?,
            ),
            None => None,
        };
        let shutdown = CancellationToken::new();
        super::signals::stop_on_signals(shutdown.clone(), |name, first| {
            say(&if first {
                format!("{name}: stopping (a running scan ends with an interrupted trailer)")
            } else {
                format!("{name}: already stopping")
            });
        })?;
        let how = match (&listener, &a.dial) {
            (Some(l), _) => match l.local_addr() {
                Ok(addr) => format!("listening on {addr}"),
                Err(_) => "listening".to_owned(),
            },
            (None, Some(controller)) => format!(
                "dialling {controller} as vantage `{}`",
                a.vantage.as_deref().unwrap_or_default()
            ),
            (None, None) => anyhow::bail!("give --listen ADDR:PORT or --dial HOST:PORT"),
        };
        say(&format!(
            "{how} (mutual TLS; scope {}; at most {} probes/s, {} per host; {} mode)",
            a.scope.display(),
            agent.max_rate,
            agent.max_host_rate,
            if syn { "SYN" } else { "connect" }
        ));
        let unsafe_rate = a.unsafe_rate;
        let events = move |event: Event| {
            if let (Some(file), Event::Started { peer, controller, plan, .. }) = (&audit, &event) {
                audit_plan(file, plan, &format!("{controller} ({peer})"), unsafe_rate);
            }
            log(event);
        };
        match (listener, &a.dial) {
            (Some(listener), _) => serve(listener, agent, Arc::new(events), shutdown).await,
            (None, Some(controller)) => {
                dial(controller.clone(), agent, Arc::new(events), shutdown).await;
            }
            (None, None) => {}
        }
        say("stopped");
        anyhow::Ok(())
    })?;
    Ok(Outcome::Conforms)
}

/// Appends the `plan` line of an accepted plan (before its first probe);
/// a failure is said in the agent's log.
fn audit_plan(file: &Mutex<AuditFile>, plan: &AcceptedPlan, controller: &str, unsafe_rate: bool) {
    let rates = (plan.limits.rate, plan.limits.host_rate, unsafe_rate);
    let mode = if plan.syn { "syn" } else { "connect" };
    let mut record = audit::record("agent", plan.spec.clone(), rates, mode);
    record.event = "plan";
    record.controller = Some(controller.to_owned());
    record.spec_digest = Some(plan.spec_digest.clone());
    record.vantages = vec![plan.vantage.clone()];
    record.excluded = plan.excluded.clone();
    let written = file.lock().map_err(|_| anyhow::anyhow!("the audit log's lock was poisoned"));
    if let Err(e) = written.and_then(|mut f| f.write(&record)) {
        say(&format!("error: {e:#}"));
    }
}

fn say(line: &str) {
    // Errors are said even with -q; the agent's events are notes.
    if line.starts_with("error:") {
        super::log::block_always(&[format!("vantage agent: {line}")]);
    } else {
        super::log::block(&[format!("vantage agent: {line}")]);
    }
}

fn log(event: Event) {
    match event {
        Event::Refused { peer, controller, why } => say(&format!(
            "refused {peer}{}: {why}",
            controller.map(|c| format!(" ({c})")).unwrap_or_default()
        )),
        Event::Started { peer, controller, what, .. } => {
            say(&format!("scanning for {peer} ({controller}): {what}"));
        }
        Event::Finished { peer, how } => say(&format!("done for {peer}: {how}")),
        Event::Dialled { peer } => say(&format!("dialled the controller at {peer}")),
        Event::Unreachable { controller, why } => say(&format!(
            "no session with the controller at {controller} ({why}); dialling again, every 5 s at most"
        )),
        _ => {}
    }
}
