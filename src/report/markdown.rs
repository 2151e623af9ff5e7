//! `--format markdown`: a compact summary for a pull-request comment: the
//! one-line summary, a table of unwaived findings (most severe first, at
//! most `MAX_ROWS`), and the waived ones in one line.

use std::io::{self, Write};

use super::document::Document;
use super::{location_text, summary, target_text};

/// Rows of the findings table; the rest are counted.
pub const MAX_ROWS: usize = 50;

/// A table cell: no line breaks, `|` escaped, code spans for values.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Writes `doc` as Markdown.
pub fn write(doc: &Document, out: &mut dyn Write) -> io::Result<()> {
    let unwaived: Vec<_> = doc.findings.iter().filter(|f| f.waived.is_none()).collect();
    let verdict = if unwaived.is_empty() { "conforms" } else { "differs from the intent" };
    writeln!(out, "### vantage: `{}` {verdict}", cell(&doc.spec))?;
    writeln!(out)?;
    writeln!(out, "{}", cell(&summary(doc)))?;
    if !unwaived.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "| Severity | Rule | Vantage | Target | Port | Observed | Expected | Spec |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|")?;
        for f in unwaived.iter().take(MAX_ROWS) {
            let port = f.port_text();
            writeln!(
                out,
                "| **{}** | {} | {} | {} | {} | {} | {} | `{}` |",
                f.severity.as_str(),
                f.rule.as_str(),
                cell(f.vantage.as_deref().unwrap_or("-")),
                cell(&target_text(f)),
                if port.is_empty() { "-".to_owned() } else { port },
                cell(&f.observed),
                cell(&f.expected),
                cell(&location_text(f)),
            )?;
        }
        if unwaived.len() > MAX_ROWS {
            writeln!(out)?;
            writeln!(
                out,
                "... and {} more (see the JSON or SARIF report).",
                unwaived.len() - MAX_ROWS
            )?;
        }
    }
    let waived: Vec<String> = doc
        .findings
        .iter()
        .filter_map(|f| {
            f.waived.as_ref().map(|w| {
                let port = f.port_text();
                format!("{} {} {} ({w})", f.rule.as_str(), cell(&target_text(f)), port)
            })
        })
        .collect();
    if !waived.is_empty() {
        writeln!(out)?;
        writeln!(out, "Waived: {}.", waived.join("; "))?;
    }
    Ok(())
}
