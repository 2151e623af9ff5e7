//! Reports: the findings document (the JSON contract) and one renderer per
//! format, all with the signature
//! `fn write(&Document, &mut dyn Write) -> io::Result<()>`:
//! - `table`: for people, grouped by severity then vantage (`write_styled`
//!   adds colour, which the caller decides: a TTY, no `NO_COLOR`);
//! - `json`: the `Document` itself, valid against `specs/findings.schema.json`;
//! - `sarif`: SARIF 2.1.0 for code scanning, every result located on the
//!   spec line that made the expectation;
//! - `junit`: JUnit XML, a suite per vantage, a case per flow and target;
//! - `markdown`: a compact summary for a pull-request comment;
//! - `html`: one self-contained page (inline style and script, loads
//!   nothing): summary header, the zone-to-zone matrix (`matrix`, derived
//!   from the document's checks and findings), and the findings, filterable
//!   and expandable to evidence and the spec line;
//! - `compare`: the `Comparison` of two scans (`vantage compare`) as a
//!   table, JSON or Markdown.
//!
//! Invariant: renderers are pure; they write only to the writer they are
//! given, and only `document` derives serde.

pub mod compare;
pub mod document;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod matrix;
pub mod sarif;
pub mod table;

use document::{Document, Finding, Severity};

/// Counts of unwaived findings per severity (index: `Severity as usize`,
/// lowest first), and the waived ones.
pub fn counts(doc: &Document) -> ([usize; 5], usize) {
    let mut by = [0usize; 5];
    let mut waived = 0;
    for f in &doc.findings {
        if f.waived.is_some() {
            waived += 1;
        } else {
            by[f.severity as usize] += 1;
        }
    }
    (by, waived)
}

/// The one-line summary: `3 findings (1 critical, 2 high), 1 waived; 2 vantages (a, b), 4106 probes sent, 0 incomplete`,
/// and the exclusions when there were any (`excluded_text`).
pub fn summary(doc: &Document) -> String {
    let (by, waived) = counts(doc);
    let total: usize = by.iter().sum();
    let parts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter(|s| by[**s as usize] > 0)
        .map(|s| format!("{} {}", by[*s as usize], s.as_str()))
        .collect();
    let c = &doc.coverage;
    format!(
        "{total} finding{}{}, {waived} waived; {} vantage{} ({}), {} probes sent, {} incomplete{}",
        if total == 1 { "" } else { "s" },
        if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) },
        c.vantages.len(),
        if c.vantages.len() == 1 { "" } else { "s" },
        c.vantages.join(", "),
        c.probes_sent,
        c.incomplete,
        excluded_text(c)
    )
}

/// `; 3 addresses (120 probes) excluded, not judged`, when the scans
/// excluded any (`--exclude`); empty otherwise.
pub fn excluded_text(c: &document::Coverage) -> String {
    if c.excluded_addresses == 0 && c.excluded_probes == 0 {
        return String::new();
    }
    format!(
        "; {} address{} ({} probes) excluded, not judged",
        c.excluded_addresses,
        if c.excluded_addresses == 1 { "" } else { "es" },
        c.excluded_probes
    )
}

/// `198.18.10.10 (web)`, the address alone, or `-`.
pub(crate) fn target_text(f: &Finding) -> String {
    match (&f.target, &f.host) {
        (Some(t), Some(h)) => format!("{t} ({h})"),
        (Some(t), None) => t.clone(),
        (None, Some(h)) => h.clone(),
        (None, None) => "-".to_owned(),
    }
}

/// `file:line`.
pub(crate) fn location_text(f: &Finding) -> String {
    format!("{}:{}", f.location.file, f.location.line)
}

#[cfg(test)]
mod tests {
    use super::document::{Coverage, Document, Tool};

    fn empty() -> Document {
        Document {
            tool: Tool { name: "vantage".into(), version: "0.1.0".into() },
            spec: "a|b.yaml".into(),
            generated: "2026-03-02T00:00:00.000Z".into(),
            coverage: Coverage {
                vantages: vec!["outside".into()],
                probes_sent: 3,
                incomplete: 0,
                excluded_addresses: 0,
                excluded_probes: 0,
            },
            findings: Vec::new(),
            checks: Vec::new(),
            vantage_zones: Vec::new(),
            spec_lines: std::collections::BTreeMap::new(),
        }
    }

    type Render = fn(&Document, &mut dyn std::io::Write) -> std::io::Result<()>;

    fn render(write: Render) -> String {
        let mut out = Vec::new();
        write(&empty(), &mut out).expect("renders");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn an_empty_document_renders_in_every_format() {
        let cases: [(Render, &str); 5] = [
            (
                super::table::write,
                "No findings: what was observed matches a|b.yaml.\n\nvantage: 0 findings, 0 waived; 1 vantage (outside), 3 probes sent, 0 incomplete\n",
            ),
            (
                super::markdown::write,
                "### vantage: `a\\|b.yaml` conforms\n\n0 findings, 0 waived; 1 vantage (outside), 3 probes sent, 0 incomplete\n",
            ),
            (
                super::junit::write,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"vantage a|b.yaml\" tests=\"0\" failures=\"0\" errors=\"0\">\n</testsuites>\n",
            ),
            (super::json::write, "\"findings\": []"),
            (super::sarif::write, "\"results\": []"),
        ];
        for (write, want) in cases {
            let got = render(write);
            assert!(got == want || got.contains(want), "{got:?} lacks {want:?}");
        }
    }
}
