//! What the CLI says besides the report, all on stderr: structured logs,
//! notes, and the area progress bars are drawn in.
//!
//! - Logs: the library emits `tracing` events (plan built, engine started,
//!   back-offs, TLS and DNS steps, agent connections, files written); this
//!   is the one place a subscriber is installed, so only the CLI writes
//!   them, and never to stdout, which is the report's. Warnings by
//!   default; `-v` info, `-vv` debug, `-vvv` trace; `-q` errors only;
//!   `VANTAGE_LOG` (an `EnvFilter`, as `RUST_LOG`) overrides all of them.
//!   `--log-format json` writes one JSON object a line.
//! - Notes: the `vantage: ...` lines (which vantage was chosen, the end
//!   summary, an agent's delivery); none with `-q`.
//! - Bars: every progress bar is drawn through one `MultiProgress`, and
//!   every log line and note is written with the bars suspended, so a line
//!   never tears a bar.

use std::io::{self, Write};
use std::sync::OnceLock;

use clap::ValueEnum;
use indicatif::MultiProgress;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The environment variable that overrides the log level with a filter
/// (`debug`, `vantage::engine=trace`, ...).
pub(crate) const LOG_VAR: &str = "VANTAGE_LOG";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// One line of text per event, fields as `key=value`.
    Text,
    /// One JSON object per event (fields under "fields").
    Json,
}

/// How much the CLI says on stderr, for every subcommand.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Feedback {
    /// Log more on stderr: -v info (plan, engine, files), -vv debug (back-offs, TLS and DNS
    /// steps), -vvv trace (every retry). Default: warnings. VANTAGE_LOG=FILTER overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    /// Only errors and the report: no progress, no notes, no summary on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// How log lines are written on stderr.
    #[arg(long, value_enum, value_name = "FORMAT", global = true, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
}

struct State {
    quiet: bool,
    bars: MultiProgress,
}

static FEEDBACK: OnceLock<State> = OnceLock::new();

fn feedback() -> &'static State {
    FEEDBACK.get_or_init(|| State { quiet: false, bars: MultiProgress::new() })
}

/// The filter `-v` and `-q` ask for: warnings by default, then info,
/// debug, trace; errors only when quiet. Other crates stay at warnings.
pub(crate) fn filter(verbose: u8, quiet: bool) -> String {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let others = if quiet { "error" } else { "warn" };
    format!("{others},vantage={level}")
}

/// Installs the log subscriber and remembers `-q`; called once, before
/// the command runs.
pub(crate) fn init(verbose: u8, quiet: bool, format: LogFormat) {
    let _ = FEEDBACK.set(State { quiet, bars: MultiProgress::new() });
    let filter = match std::env::var(LOG_VAR) {
        Ok(text) if !text.trim().is_empty() => EnvFilter::try_new(&text).unwrap_or_else(|e| {
            note_always(&format!(
                "warning: {LOG_VAR}={text:?} is not a log filter ({e}); using -v's"
            ));
            EnvFilter::new(filter(verbose, quiet))
        }),
        _ => EnvFilter::new(filter(verbose, quiet)),
    };
    let colour = io::IsTerminal::is_terminal(&io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(Suspending).with_target(true);
    // Setting the subscriber fails only if one is set already: then that
    // one writes, which is as good.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(colour).try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}

/// Whether `-q` was given: no progress, no notes.
pub(crate) fn quiet() -> bool {
    feedback().quiet
}

/// The bars' shared area (stderr).
pub(crate) fn bars() -> &'static MultiProgress {
    &feedback().bars
}

/// Says `vantage: LINE` on stderr, unless `-q`.
pub(crate) fn note(line: &str) {
    if !quiet() {
        note_always(line);
    }
}

/// Writes `lines` as they are (a summary block) on stderr, unless `-q`.
pub(crate) fn block(lines: &[String]) {
    if quiet() || lines.is_empty() {
        return;
    }
    block_always(lines);
}

/// Writes `lines` as they are on stderr, even with `-q`.
pub(crate) fn block_always(lines: &[String]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let _ = Suspending.make_writer().write_all(text.as_bytes());
}

/// Says `vantage: LINE` on stderr even with `-q`: errors and refusals.
pub(crate) fn note_always(line: &str) {
    let text = format!("vantage: {line}\n");
    let _ = Suspending.make_writer().write_all(text.as_bytes());
}

/// Writes to stderr with every progress bar cleared for the moment.
#[derive(Debug, Clone, Copy)]
struct Suspending;

impl Write for Suspending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Whole lines at once: the formatter hands each event over in one
        // `write_all`, and stderr's lock keeps it in one piece.
        feedback().bars.suspend(|| io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for Suspending {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_maps_to_a_filter() {
        let cases = [
            (0, false, "warn,vantage=warn"),
            (1, false, "warn,vantage=info"),
            (2, false, "warn,vantage=debug"),
            (3, false, "warn,vantage=trace"),
            (7, false, "warn,vantage=trace"),
            (0, true, "error,vantage=error"),
        ];
        for (verbose, quiet, want) in cases {
            assert_eq!(filter(verbose, quiet), want, "-v x{verbose}, quiet {quiet}");
            assert!(EnvFilter::try_new(want).is_ok(), "{want} parses");
        }
    }
}
