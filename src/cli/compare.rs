//! `vantage compare OLD.jsonl NEW.jsonl [SPEC]`: what changed between two
//! scans from one vantage, each change marked towards or away from the
//! intent when a spec is given. Exit 0 when nothing changed, 1 when
//! something did (as ndiff), 2 when an input is refused.

use std::path::PathBuf;

use clap::ValueEnum;
use vantage::verdict::Source;

use super::exit::Outcome;

/// Output formats of `compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CompareFormat {
    /// Aligned text for people.
    Table,
    /// JSON for tools.
    Json,
    /// Markdown for a pull-request comment.
    Markdown,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CompareArgs {
    /// The earlier observation file.
    #[arg(value_name = "OLD.jsonl")]
    pub(crate) old: PathBuf,
    /// The later observation file, from the same vantage.
    #[arg(value_name = "NEW.jsonl")]
    pub(crate) new: PathBuf,
    /// A spec to mark each change towards or away from the intent.
    pub(crate) spec: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    pub(crate) format: CompareFormat,
}

pub(crate) fn run(a: &CompareArgs) -> anyhow::Result<Outcome> {
    let loaded = match &a.spec {
        None => None,
        Some(path) => match super::verdict::load(path, None) {
            Some(l) => Some(l),
            None => return Ok(Outcome::Refused),
        },
    };
    let intent = loaded.as_ref().and_then(|l| l.intent.as_ref());
    let (old_name, new_name) = (a.old.display().to_string(), a.new.display().to_string());
    let old = vantage::observe::read(&a.old)?;
    let new = vantage::observe::read(&a.new)?;
    let cmp = vantage::verdict::compare(
        intent,
        Source { name: &old_name, file: &old },
        Source { name: &new_name, file: &new },
    )?;
    use vantage::report::compare::{write_json, write_markdown, write_table};
    super::write_stdout(|out| match a.format {
        CompareFormat::Table => write_table(&cmp, out),
        CompareFormat::Json => write_json(&cmp, out),
        CompareFormat::Markdown => write_markdown(&cmp, out),
    })?;
    Ok(if cmp.changes.is_empty() { Outcome::Conforms } else { Outcome::Findings })
}
