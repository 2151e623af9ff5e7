//! `vantage check SPEC --from VANTAGE`: plan, scan and verdict in one
//! process, the main job. The scan is `vantage scan` itself (the same
//! `ProbeOpts`, so check follows the engine's defaults and checks as they
//! change), writing observations to `--save FILE` or a new temporary file;
//! the verdict reads that file back exactly as `vantage verdict` would, so
//! `check` and `verdict` over the saved file report the same.
//!
//! Exit codes as `verdict`: 0, 1, 2, and 3 when the scan did not finish
//! (an interrupted scan still reports what it observed).

use std::path::PathBuf;

use super::args::{ProbeOpts, ScanArgs};
use super::exit::Outcome;
use super::verdict::{self, ReportOpts};
use anyhow::Context as _;

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
    /// How to probe, exactly as `vantage scan`.
    #[command(flatten)]
    pub(crate) probe: ProbeOpts,
}

pub(crate) fn run(a: &CheckArgs) -> anyhow::Result<Outcome> {
    let now = verdict::now(a.report.now.as_deref())?;
    let Some(loaded) = verdict::load(&a.spec) else { return Ok(Outcome::Refused) };
    let Some(intent) = &loaded.intent else { return Ok(Outcome::Refused) };
    let (path, temporary) = match &a.save {
        Some(p) => (p.clone(), false),
        None => (temporary_file()?, true),
    };
    let args = ScanArgs {
        spec: a.spec.clone(),
        from: a.from.clone(),
        output: path.clone(),
        shard: "0/1".to_owned(),
        probe: a.probe.clone(),
    };
    let scanned = super::scan::run(&args);
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

/// A new, empty file of our own in the temporary folder: created with
/// `create_new` (O_EXCL), so a name someone else made there in advance (a
/// symlink planted in a shared /tmp) is never written through.
fn temporary_file() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let mut last = None;
    for n in 0..100u32 {
        let path = dir.join(format!("vantage-check-{pid}-{n}.jsonl"));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => return Ok(path),
            Err(e) => last = Some(e),
        }
    }
    Err(anyhow::anyhow!("cannot create a temporary file in {}: {last:?}", dir.display()))
}
