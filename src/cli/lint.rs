//! `vantage lint SPEC`: every error and warning in a spec.

use vantage::report::document::{LintDiagnostic, LintReport};
use vantage::spec::{self, Severity};

use super::args::{Format, LintArgs};
use super::exit::Outcome;

pub(crate) fn run(a: &LintArgs) -> anyhow::Result<Outcome> {
    let today = today(a.now.as_deref())?;
    let mut loaded = spec::load(&a.spec);
    if let Some(intent) = &loaded.intent {
        loaded.diagnostics.extend(vantage::lint::lint(intent, today));
        spec::sort(&mut loaded.diagnostics);
    }
    let errors = loaded.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = loaded.diagnostics.len() - errors;
    match a.format {
        Format::Human => super::write_stdout(|out| {
            super::print_diagnostics(out, &loaded.diagnostics)?;
            let verdict = if errors > 0 { "refused" } else { "ok" };
            writeln!(
                out,
                "{}: {verdict}: {errors} error(s), {warnings} warning(s)",
                a.spec.display()
            )
        })?,
        Format::Json => {
            let report = LintReport {
                spec: a.spec.display().to_string(),
                errors,
                warnings,
                diagnostics: loaded.diagnostics.iter().map(LintDiagnostic::from).collect(),
            };
            super::write_stdout(|out| {
                serde_json::to_writer_pretty(&mut *out, &report)?;
                writeln!(out)
            })?;
        }
    }
    Ok(if errors > 0 || (a.strict && warnings > 0) { Outcome::Refused } else { Outcome::Conforms })
}

/// The date waivers are judged against: `--now`, or today in UTC. `--now`
/// takes a date (`2026-12-31`) or an RFC 3339 time with its offset
/// (`2026-12-31T23:00:00-05:00` is 2027-01-01 in UTC).
pub(crate) fn today(now: Option<&str>) -> anyhow::Result<jiff::civil::Date> {
    let utc = |t: jiff::Timestamp| t.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    match now {
        None => Ok(utc(jiff::Timestamp::now())),
        Some(s) => {
            if let Ok(t) = s.parse::<jiff::Timestamp>() {
                return Ok(utc(t));
            }
            match s.parse::<jiff::civil::Date>() {
                Ok(d) if s.len() == 10 => Ok(d),
                _ => anyhow::bail!(
                    "--now {s:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time with an offset"
                ),
            }
        }
    }
}
