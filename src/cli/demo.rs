//! `vantage demo`: the first thing a new user runs. It starts a small shop
//! on loopback (`demo::targets`: TCP services, a weak TLS endpoint and a
//! DNS server on 127.0.0.2 to 127.0.0.5, unprivileged ports, no root and
//! no setup), runs the real `vantage check` (`check::run_reporting`, the
//! same code and flags) against the spec the binary carries, read under
//! its name in the source tree (`specs/demo.yaml`, so each finding points
//! at a line the user can open, or print with `--print-spec`), shows the
//! report, stops the shop, then explains each rule that found something
//! (`demo::lessons`) and says what to run next.
//!
//! Nothing outlives it: the shop is tasks of a runtime of the demo's own,
//! ended before the lessons are printed, and `check`'s temporary
//! observation file is removed on every path, an error included. SIGINT
//! and SIGTERM are taken from the start (`cli::signals`), told once, and
//! passed on to the scan, so one that comes before the scan begins stops
//! it as soon as it starts: the report says the run is incomplete, the
//! shop is stopped, and the demo exits 3.
//!
//! Exit codes are `check`'s: 1 with the planted findings, 3 when the run
//! could not finish, 2 when it was refused (a port already taken: the
//! error names the address and port).
//!
//! With the table on stdout (the default), the narration and the lessons
//! go to stdout around it; with another format or `-o FILE` they go to
//! stderr, so stdout stays the report alone.

mod lessons;
mod targets;

use std::io::{self, Write};
use std::path::Path;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use super::args::ProbeOpts;
use super::check::{AgentOpts, CheckArgs};
use super::exit::Outcome;
use super::verdict::{ReportFormat, ReportOpts};

/// The demo's spec, `specs/demo.yaml`, built into the binary.
const SPEC: &str = include_str!("../../specs/demo.yaml");

/// Where the spec lives in the source tree.
const SPEC_NAME: &str = "specs/demo.yaml";

/// The vantage the demo checks from (the spec's one).
const VANTAGE: &str = "this-machine";

#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Print the demo's spec (specs/demo.yaml, built in) and exit, starting nothing.
    #[arg(long)]
    pub(crate) print_spec: bool,
    /// How to report, exactly as `vantage check`.
    #[command(flatten)]
    pub(crate) report: ReportOpts,
    /// How to probe, exactly as `vantage check`.
    #[command(flatten)]
    pub(crate) probe: ProbeOpts,
}

pub(crate) fn run(a: &DemoArgs) -> anyhow::Result<Outcome> {
    if a.print_spec {
        super::write_stdout(|out| out.write_all(SPEC.as_bytes()))?;
        return Ok(Outcome::Conforms);
    }
    let now = super::verdict::now(a.report.now.as_deref())?;
    let mut say = Narrator::for_report(&a.report);
    // Signals first: from here on SIGINT and SIGTERM only cancel, so the
    // shop and the temporary file are always cleaned up.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("vantage-demo")
        .enable_all()
        .build()
        .context("cannot start the demo's runtime")?;
    let cancel = CancellationToken::new();
    runtime.block_on(async { super::signals::stop_on_signals(cancel.clone(), say_stopping) })?;
    let targets = targets::Targets::start(runtime, now)?;

    say.line(
        "vantage demo: a small shop on loopback, checked against an intent it does not quite meet.",
    )?;
    say.line("The shop, running until the check ends:")?;
    for l in &targets.listeners {
        say.line(&format!("  {} {:<17} {}", l.proto, l.addr.to_string(), l.role))?;
    }
    let (ip, port) = targets::ABSENT;
    say.line(&format!(
        "  nothing on {ip}:{port}, where the spec requires PostgreSQL (db: the database is down)"
    ))?;
    say.line(&format!(
        "The intent: {SPEC_NAME}, built into vantage (`vantage demo --print-spec` prints it)"
    ))?;
    say.line(&format!(
        "Running vantage check on it from vantage {VANTAGE} (as `vantage demo --print-spec > demo.yaml; vantage check demo.yaml --from {VANTAGE}` would)"
    ))?;
    say.line("")?;
    say.flush()?;

    // A signal stops the scan through `stop`, even one that came before
    // the scan took the signals itself: it then stops at once, and the
    // report says the run is incomplete.
    let result = super::check::run_reporting(&CheckArgs {
        spec: Path::new(SPEC_NAME).to_path_buf(),
        from: vec![VANTAGE.to_owned()],
        all_vantages: false,
        report: a.report.clone(),
        save: None,
        agents: AgentOpts {
            agent_ca: None,
            agent_cert: None,
            agent_key: None,
            agent_listen: None,
            agent_wait: 60,
        },
        probe: a.probe.clone(),
        audit_log: None,
        built_in: Some(SPEC),
        stop: Some(cancel.clone()),
    });
    let listeners = targets.listeners.len();
    targets.stop();
    let (outcome, doc) = result?;
    if let Some(doc) = &doc {
        say.write(|out| lessons::write(&doc.findings, SPEC, SPEC_NAME, out))?;
        say.write(lessons::next_steps)?;
    }
    say.line("")?;
    say.line(&format!(
        "Cleaned up: the shop's {listeners} sockets are closed and check's temporary file is removed."
    ))?;
    say.flush()?;
    Ok(outcome)
}

/// What the demo says on stderr when a signal arrives (the only line:
/// the scan it passes the signal on to installs no handler of its own).
fn say_stopping(name: &'static str, first: bool) {
    if first {
        super::log::note(&format!(
            "demo: {name}: stopping; the report shows what was checked until now, then the shop is stopped"
        ));
    } else {
        super::log::note(&format!("demo: {name}: already stopping"));
    }
}

/// Where the narration and the lessons go: stdout beside a table there,
/// stderr otherwise, nowhere with `-q`.
struct Narrator {
    out: Box<dyn Write>,
}

impl Narrator {
    fn for_report(r: &ReportOpts) -> Self {
        let on_stdout = r.format == ReportFormat::Table && r.output.is_none();
        // `-q`: the report alone, as every command gives.
        let out: Box<dyn Write> = if super::log::quiet() {
            Box::new(io::sink())
        } else if on_stdout {
            Box::new(io::stdout())
        } else {
            Box::new(io::stderr())
        };
        Self { out }
    }

    /// One line; a closed pipe (`| head`) is the reader's choice.
    fn line(&mut self, text: &str) -> anyhow::Result<()> {
        self.write(|out| writeln!(out, "{text}"))
    }

    fn write(&mut self, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> anyhow::Result<()> {
        match f(&mut self.out) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => Ok(other?),
        }
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        match self.out.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => Ok(other?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_spec_is_specs_demo_yaml_and_lints_clean() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEC_NAME);
        assert_eq!(std::fs::read_to_string(&path).expect("specs/demo.yaml"), SPEC);
        let loaded = vantage::spec::load_with(&path, &mut |_| Ok(SPEC.as_bytes().to_vec()));
        assert!(loaded.intent.is_some(), "{:?}", loaded.diagnostics);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    }
}
