//! `vantage verdict SPEC OBS.jsonl...`: judge observation files written
//! anywhere (each vantage, each shard) against the spec, render the
//! findings, and exit 0 (conforms), 1 (findings at or above `--fail-on`),
//! 2 (refused input: spec, observation files, a mixed set) or 3 (the
//! observations are incomplete, or a vantage required by `--vantage` or
//! `--all-vantages` has no file). Also the rendering half of `check`.
//!
//! The flags live here rather than in `args.rs` so that `check` shares them
//! (`ReportOpts`), and so this subcommand is one file.

use std::io::{IsTerminal as _, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::ValueEnum;
use vantage::report::document::{Document, Severity as FindingSeverity};
use vantage::spec::{self, Severity};
use vantage::verdict::{self, Absent, Source};

use super::exit::Outcome;

/// Report formats of `check` and `verdict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// Aligned text for people (coloured on a terminal unless NO_COLOR is set).
    Table,
    /// The findings document (specs/findings.schema.json).
    Json,
    /// SARIF 2.1.0 for code scanning (waived findings left out).
    Sarif,
    /// JUnit XML: a suite per vantage, a case per flow and target.
    Junit,
    /// A compact Markdown summary for a pull-request comment.
    Markdown,
    /// One self-contained HTML page: summary, zone-to-zone matrix, filterable findings.
    Html,
}

/// Finding severities, for `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    /// Any finding.
    Info,
    /// Low and above (the default).
    Low,
    /// Medium and above.
    Medium,
    /// High and above.
    High,
    /// Critical only.
    Critical,
}

impl From<FailOn> for FindingSeverity {
    fn from(f: FailOn) -> Self {
        match f {
            FailOn::Info => Self::Info,
            FailOn::Low => Self::Low,
            FailOn::Medium => Self::Medium,
            FailOn::High => Self::High,
            FailOn::Critical => Self::Critical,
        }
    }
}

/// How to report, shared by `check` and `verdict`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ReportOpts {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub(crate) format: ReportFormat,
    /// Write the report to FILE instead of stdout (a summary still goes to stderr, unless -q).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Exit 1 when an unwaived finding is at or above this severity.
    #[arg(long, value_enum, value_name = "SEVERITY", default_value_t = FailOn::Low)]
    pub(crate) fail_on: FailOn,
    /// The time to judge waivers against and to stamp the report with
    /// (YYYY-MM-DD, midnight UTC, or RFC 3339); default now.
    #[arg(long, value_name = "DATE")]
    pub(crate) now: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct VerdictArgs {
    /// The spec file.
    pub(crate) spec: PathBuf,
    /// Observation files (JSON Lines from `vantage scan`): any vantages, any shards.
    #[arg(
        required_unless_present_any = ["vantage", "all_vantages"],
        value_name = "OBS.jsonl"
    )]
    pub(crate) observations: Vec<PathBuf>,
    /// A vantage that must have been observed (repeatable): without a file from it,
    /// it is a scan-incomplete finding (exit 3).
    #[arg(long, value_name = "NAME")]
    pub(crate) vantage: Vec<String>,
    /// Every vantage the spec declares must have been observed, as with --vantage.
    #[arg(long, conflicts_with = "vantage")]
    pub(crate) all_vantages: bool,
    /// How to report.
    #[command(flatten)]
    pub(crate) report: ReportOpts,
}

/// Why a vantage required by `--vantage` or `--all-vantages` is absent.
const NO_FILE: &str = "no observation file from this vantage was given";

/// `--now`: a date (midnight UTC) or an RFC 3339 time; default now.
pub(crate) fn now(text: Option<&str>) -> anyhow::Result<jiff::Timestamp> {
    let Some(s) = text else { return Ok(jiff::Timestamp::now()) };
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    match s.parse::<jiff::civil::Date>() {
        Ok(d) if s.len() == 10 => Ok(d
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .with_context(|| format!("--now {s:?}"))?
            .timestamp()),
        _ => anyhow::bail!(
            "--now {s:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time with an offset"
        ),
    }
}

/// Loads the spec (`cli::load_spec`), or prints its errors (to stderr:
/// stdout is the report's).
pub(crate) fn load(path: &Path, built_in: Option<&'static str>) -> Option<spec::Loaded> {
    let loaded = super::load_spec(path, built_in);
    if loaded.intent.is_some() {
        return Some(loaded);
    }
    let errors: Vec<_> =
        loaded.diagnostics.iter().filter(|d| d.severity == Severity::Error).cloned().collect();
    let mut err = std::io::stderr().lock();
    let _ = super::print_diagnostics(&mut err, &errors);
    None
}

pub(crate) fn run(a: &VerdictArgs) -> anyhow::Result<Outcome> {
    let now = now(a.report.now.as_deref())?;
    let Some(loaded) = load(&a.spec, None) else { return Ok(Outcome::Refused) };
    let Some(intent) = &loaded.intent else { return Ok(Outcome::Refused) };
    let mut files = Vec::with_capacity(a.observations.len());
    for path in &a.observations {
        files.push((path.display().to_string(), vantage::observe::read(path)?));
    }
    let required: Vec<&str> = if a.all_vantages {
        intent.vantages.iter().map(|v| v.name.as_str()).collect()
    } else {
        a.vantage.iter().map(String::as_str).collect()
    };
    let absent: Vec<(String, String)> = required
        .into_iter()
        .filter(|name| !files.iter().any(|(_, f)| f.header.vantage == *name))
        .map(|name| (name.to_owned(), NO_FILE.to_owned()))
        .collect();
    let spec = Judged { path: &a.spec, built_in: None, digest: &loaded.digest };
    judge_and_report(intent, &spec, &files, &absent, now, &a.report).map(|(outcome, _)| outcome)
}

/// The spec a verdict is judged against: its path, its text when the
/// binary carries it (`cli::load_spec`), and its digest.
pub(crate) struct Judged<'a> {
    pub(crate) path: &'a Path,
    pub(crate) built_in: Option<&'static str>,
    pub(crate) digest: &'a str,
}

impl Judged<'_> {
    /// A file the spec names (`trusted_ca`): from disk; a built-in spec
    /// reads none (`read_spec_file` says so).
    fn read_named(&self, p: &Path) -> std::io::Result<Vec<u8>> {
        match self.built_in {
            None => std::fs::read(p),
            Some(_) => super::read_spec_file(self.path, self.built_in, p),
        }
    }
}

/// Judges `files` with the vantages in `absent` (name, why) expected but
/// unheard, each a `scan-incomplete` finding saying why; writes the report,
/// and says how the run ends, with the document reported (which `demo`
/// explains).
pub(crate) fn judge_and_report(
    intent: &spec::Intent,
    spec: &Judged<'_>,
    files: &[(String, vantage::observe::ObservationFile)],
    absent: &[(String, String)],
    now: jiff::Timestamp,
    opts: &ReportOpts,
) -> anyhow::Result<(Outcome, Document)> {
    let absent: Vec<Absent<'_>> =
        absent.iter().map(|(vantage, why)| Absent { vantage, why }).collect();
    let sources: Vec<Source<'_>> = files.iter().map(|(name, file)| Source { name, file }).collect();
    let tls = verdict::TlsPolicies::load(intent, |path| spec.read_named(path))?;
    let verdict = verdict::judge(intent, &tls, &sources, &absent, Some(spec.digest), now)?;
    let complete = verdict.complete;
    let mut doc = verdict.document(&spec.path.display().to_string(), now);
    if opts.format == ReportFormat::Html {
        doc.spec_lines = spec_lines(&doc, spec);
    }
    emit(&doc, opts)?;
    let fails = verdict::fails(&doc.findings, opts.fail_on.into());
    let outcome = if !complete {
        Outcome::Incomplete
    } else if fails {
        Outcome::Findings
    } else {
        Outcome::Conforms
    };
    Ok((outcome, doc))
}

/// The spec lines the findings point at, for the HTML report to quote:
/// each file read again (bounded as the spec loader reads it) after the
/// verdict. A file that cannot be read now, or a line past its end, is
/// simply not quoted; its `file:line` is still shown.
fn spec_lines(
    doc: &Document,
    spec: &Judged<'_>,
) -> std::collections::BTreeMap<(String, u32), String> {
    let mut out = std::collections::BTreeMap::new();
    let files: std::collections::BTreeSet<&str> =
        doc.findings.iter().map(|f| f.location.file.as_str()).collect();
    for file in files {
        let Ok(bytes) = super::read_spec_file(spec.path, spec.built_in, Path::new(file)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        for f in doc.findings.iter().filter(|f| f.location.file == file) {
            let line = f.location.line;
            let Some(i) = usize::try_from(line).ok().and_then(|l| l.checked_sub(1)) else {
                continue;
            };
            if let Some(text) = lines.get(i) {
                out.insert((file.to_owned(), line), (*text).to_owned());
            }
        }
    }
    out
}

/// Renders `doc` in the chosen format to `-o FILE` or stdout.
fn emit(doc: &Document, opts: &ReportOpts) -> anyhow::Result<()> {
    use vantage::report::{html, json, junit, markdown, sarif, table};
    let colour = opts.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let render = |out: &mut dyn Write| match opts.format {
        ReportFormat::Table => table::write_styled(doc, out, table::Style { colour }),
        ReportFormat::Json => json::write(doc, out),
        ReportFormat::Sarif => sarif::write(doc, out),
        ReportFormat::Junit => junit::write(doc, out),
        ReportFormat::Markdown => markdown::write(doc, out),
        ReportFormat::Html => html::write(doc, out),
    };
    let report = opts.output.as_ref().map(|p| p.display().to_string());
    let table_on_stdout = report.is_none() && opts.format == ReportFormat::Table;
    match &opts.output {
        None => super::write_stdout(render)?,
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            render(&mut out)
                .and_then(|()| out.flush())
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::info!(file = %path.display(), "report written");
        }
    }
    let summary = vantage::report::summary(doc);
    super::log::block(&super::summary::verdict(&summary, report.as_deref(), table_on_stdout));
    Ok(())
}
