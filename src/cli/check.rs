//! `vantage check SPEC --from VANTAGE`: plan, scan and verdict in one
//! process, the main job. The scan is `vantage scan` itself (its flags are
//! parsed by `ScanArgs`, so check follows the engine's defaults and checks
//! as they change), writing observations to `--save FILE` or a temporary
//! file; the verdict reads that file back exactly as `vantage verdict`
//! would, so `check` and `verdict` over the saved file report the same.
//!
//! Exit codes as `verdict`: 0, 1, 2, and 3 when the scan did not finish
//! (an interrupted scan still reports what it observed).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args as _, FromArgMatches as _};

use super::args::ScanArgs;
use super::exit::Outcome;
use super::verdict::{self, ReportOpts};

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The spec file.
    pub(crate) spec: PathBuf,
    /// The vantage this machine is (a name under `vantages:`).
    #[arg(long, value_name = "VANTAGE")]
    pub(crate) from: String,
    /// How to report.
    #[command(flatten)]
    pub(crate) report: ReportOpts,
    /// Keep the observations in FILE (JSON Lines, as `vantage scan -o` writes them).
    #[arg(long, value_name = "FILE")]
    pub(crate) save: Option<PathBuf>,
    /// Seed of the probe order (as `scan --seed`).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Probe attempts per second (as `scan --rate`).
    #[arg(long)]
    pub(crate) rate: Option<u32>,
    /// Probe attempts per second to one host (as `scan --host-rate`).
    #[arg(long)]
    pub(crate) host_rate: Option<u32>,
    /// Retries of silent probes (as `scan --retries`).
    #[arg(long)]
    pub(crate) retries: Option<u8>,
    /// Longest wait for an answer, in milliseconds (as `scan --max-rtt`).
    #[arg(long, value_name = "MS")]
    pub(crate) max_rtt: Option<u64>,
    /// Shortest wait for an answer, in milliseconds (as `scan --min-rtt`).
    #[arg(long, value_name = "MS")]
    pub(crate) min_rtt: Option<u64>,
    /// Banner wait on open TCP ports, in milliseconds (as `scan --banner-ms`).
    #[arg(long, value_name = "MS")]
    pub(crate) banner_ms: Option<u64>,
    /// Permit sweeping more than 65,536 addresses.
    #[arg(long)]
    pub(crate) allow_large: bool,
    /// No progress display, even on a terminal.
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

/// The `vantage scan` arguments this check amounts to: only the flags given
/// are passed, so everything else takes scan's own defaults.
fn scan_args(a: &CheckArgs, output: &str) -> anyhow::Result<ScanArgs> {
    let mut argv: Vec<String> = vec![
        "scan".into(),
        a.spec.display().to_string(),
        "--from".into(),
        a.from.clone(),
        "--output".into(),
        output.into(),
    ];
    let numbers = [
        ("--seed", a.seed.map(|v| v.to_string())),
        ("--rate", a.rate.map(|v| v.to_string())),
        ("--host-rate", a.host_rate.map(|v| v.to_string())),
        ("--retries", a.retries.map(|v| v.to_string())),
        ("--max-rtt", a.max_rtt.map(|v| v.to_string())),
        ("--min-rtt", a.min_rtt.map(|v| v.to_string())),
        ("--banner-ms", a.banner_ms.map(|v| v.to_string())),
    ];
    for (flag, value) in numbers {
        if let Some(v) = value {
            argv.extend([flag.to_owned(), v]);
        }
    }
    if a.allow_large {
        argv.push("--allow-large".into());
    }
    if a.quiet {
        argv.push("--quiet".into());
    }
    let matches = ScanArgs::augment_args(clap::Command::new("scan")).try_get_matches_from(argv)?;
    Ok(ScanArgs::from_arg_matches(&matches)?)
}

pub(crate) fn run(a: &CheckArgs) -> anyhow::Result<Outcome> {
    let now = verdict::now(a.report.now.as_deref())?;
    let Some(loaded) = verdict::load(&a.spec) else { return Ok(Outcome::Refused) };
    let Some(intent) = &loaded.intent else { return Ok(Outcome::Refused) };
    let (path, temporary) = match &a.save {
        Some(p) => (p.clone(), false),
        None => {
            (std::env::temp_dir().join(format!("vantage-check-{}.jsonl", std::process::id())), true)
        }
    };
    let scanned =
        scan_args(a, &path.display().to_string()).and_then(|args| super::scan::run(&args));
    let read = scanned.and_then(|_| {
        vantage::observe::read(&path).with_context(|| "reading back the observations")
    });
    if temporary {
        // Best effort: a leftover file in the temporary folder is harmless.
        let _ = std::fs::remove_file(&path);
    }
    let file = read?;
    let name = path.display().to_string();
    verdict::judge_and_report(intent, &loaded.digest, &a.spec, &[(name, file)], now, &a.report)
}
