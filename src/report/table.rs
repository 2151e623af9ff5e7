//! `--format table`, for people: findings grouped by severity (most severe
//! first) then vantage, in aligned columns, each followed by its spec
//! location and evidence; waived findings last, under their own heading;
//! then a one-line summary (findings by severity, waived, coverage).
//!
//! Colour (ANSI, severity headings only) is the caller's decision
//! (`write_styled`): a terminal without `NO_COLOR`. `write` never colours.

use std::io::{self, Write};

use super::document::{Document, Finding, Severity};
use super::{location_text, summary, target_text};

/// How to style the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// Use ANSI colours.
    pub colour: bool,
}

/// Writes `doc` as a plain table.
pub fn write(doc: &Document, out: &mut dyn Write) -> io::Result<()> {
    write_styled(doc, out, Style::default())
}

fn paint(style: Style, severity: Option<Severity>, text: &str) -> String {
    if !style.colour {
        return text.to_owned();
    }
    let code = match severity {
        Some(Severity::Critical) => "1;31",
        Some(Severity::High) => "31",
        Some(Severity::Medium) => "33",
        Some(Severity::Low) => "36",
        Some(Severity::Info) | None => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Writes `doc` as a table, coloured if `style` says so.
pub fn write_styled(doc: &Document, out: &mut dyn Write, style: Style) -> io::Result<()> {
    let w_rule = doc.findings.iter().map(|f| f.rule.as_str().len()).max().unwrap_or(0);
    let w_target = doc.findings.iter().map(|f| target_text(f).len()).max().unwrap_or(0);
    let w_port = doc.findings.iter().map(|f| f.port_text().len().max(1)).max().unwrap_or(0);
    let indent = 4 + w_rule + 2;
    let mut groups: Vec<(String, Option<Severity>, Vec<&Finding>)> = Severity::ALL
        .iter()
        .rev()
        .map(|s| {
            let fs = doc.findings.iter().filter(|f| f.waived.is_none() && f.severity == *s);
            (s.as_str().to_uppercase(), Some(*s), fs.collect())
        })
        .collect();
    groups.push((
        "WAIVED".to_owned(),
        None,
        doc.findings.iter().filter(|f| f.waived.is_some()).collect(),
    ));
    if doc.findings.is_empty() {
        writeln!(out, "No findings: what was observed matches {}.", doc.spec)?;
    }
    for (heading, severity, findings) in groups {
        if findings.is_empty() {
            continue;
        }
        writeln!(out, "{}", paint(style, severity, &heading))?;
        let mut vantages: Vec<Option<&str>> =
            findings.iter().map(|f| f.vantage.as_deref()).collect();
        vantages.sort();
        vantages.dedup();
        // Spec-level findings (no vantage) last.
        let spec_first = usize::from(vantages.first() == Some(&None));
        vantages.rotate_left(spec_first);
        for v in vantages {
            writeln!(out, "  {}", v.unwrap_or("(spec)"))?;
            for f in findings.iter().filter(|f| f.vantage.as_deref() == v) {
                let port = f.port_text();
                let waived =
                    f.waived.as_ref().map(|w| format!(" [waived: {w}]")).unwrap_or_default();
                writeln!(
                    out,
                    "    {:w_rule$}  {:w_target$}  {:w_port$}  {}; expected {}{waived}",
                    f.rule.as_str(),
                    target_text(f),
                    if port.is_empty() { "-" } else { &port },
                    f.observed,
                    f.expected,
                )?;
                writeln!(out, "{:indent$}at {}; {}", "", location_text(f), f.evidence)?;
            }
        }
    }
    writeln!(out)?;
    writeln!(out, "vantage: {}", summary(doc))
}
