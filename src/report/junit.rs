//! `--format junit`: JUnit XML as GitLab and Jenkins render it. One test
//! suite per vantage, one test case per intended flow (whose source covers
//! the vantage's zone) and per swept target group (each declared host, each
//! zone's other addresses), plus "scan complete"; a suite `spec` holds the
//! waivers. A case fails with each unwaived finding that concerns it, the
//! finding's text as the failure; waived findings are noted in
//! `system-out`; a case whose addresses were all excluded from the scan
//! (`--exclude`) is `skipped`, never passed. The cases come from
//! `Document::checks`.
//!
//! Written by hand with escaping (`escape`), not with an XML crate: the
//! format is small and flat.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::document::{Check, Document, Finding};
use super::{location_text, target_text};

/// Escapes text for XML 1.0 content and attribute values, replacing the
/// control characters XML 1.0 cannot carry.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// One line naming a finding.
fn headline(f: &Finding) -> String {
    let port = f.port_text();
    format!(
        "{} {}: {}{}: observed {}; expected {}",
        f.severity.as_str(),
        f.rule.as_str(),
        target_text(f),
        if port.is_empty() { String::new() } else { format!(" {port}") },
        f.observed,
        f.expected
    )
}

fn details(f: &Finding) -> String {
    format!("{}\nspec: {}\nevidence: {}", headline(f), location_text(f), f.evidence)
}

/// Writes `doc` as JUnit XML.
pub fn write(doc: &Document, out: &mut dyn Write) -> io::Result<()> {
    let mut suites: BTreeMap<&str, Vec<&Check>> = BTreeMap::new();
    for c in &doc.checks {
        suites.entry(c.vantage.as_str()).or_default().push(c);
    }
    let failing = |c: &Check| {
        c.findings.iter().any(|&i| doc.findings.get(i).is_some_and(|f| f.waived.is_none()))
    };
    let tests = doc.checks.len();
    let failures = doc.checks.iter().filter(|c| failing(c)).count();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="vantage {}" tests="{tests}" failures="{failures}" errors="0">"#,
        escape(&doc.spec)
    )?;
    for (vantage, checks) in suites {
        let name = if vantage.is_empty() { "spec" } else { vantage };
        let fails = checks.iter().filter(|c| failing(c)).count();
        let skips = checks.iter().filter(|c| !failing(c) && c.skipped.is_some()).count();
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{fails}" errors="0" skipped="{skips}" timestamp="{}">"#,
            escape(name),
            checks.len(),
            escape(doc.generated.trim_end_matches('Z'))
        )?;
        for c in checks {
            write!(
                out,
                r#"    <testcase classname="vantage.{}" name="{}""#,
                escape(name),
                escape(&c.name)
            )?;
            let findings: Vec<&Finding> =
                c.findings.iter().filter_map(|&i| doc.findings.get(i)).collect();
            if findings.is_empty() {
                match &c.skipped {
                    None => writeln!(out, "/>")?,
                    // Excluded from the scan: neither passed nor failed.
                    Some(why) => {
                        writeln!(out, ">")?;
                        writeln!(out, r#"      <skipped message="{}"/>"#, escape(why))?;
                        writeln!(out, "    </testcase>")?;
                    }
                }
                continue;
            }
            writeln!(out, ">")?;
            for f in findings.iter().filter(|f| f.waived.is_none()) {
                writeln!(
                    out,
                    r#"      <failure type="{}" message="{}">{}</failure>"#,
                    f.rule.as_str(),
                    escape(&headline(f)),
                    escape(&details(f))
                )?;
            }
            let waived: Vec<String> = findings
                .iter()
                .filter_map(|f| {
                    f.waived.as_ref().map(|w| format!("waived by {w}: {}", headline(f)))
                })
                .collect();
            if !waived.is_empty() {
                writeln!(out, "      <system-out>{}</system-out>", escape(&waived.join("\n")))?;
            }
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}
