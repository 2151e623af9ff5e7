//! `--format html`: one self-contained page for people. A header with the
//! verdict, the one-line summary, spec, time, coverage and exclusions; the
//! zone-to-zone matrix (`matrix::derive`: a row per vantage, a column per
//! target group, each cell intended vs observed and its state, told by a
//! symbol and a word as well as an Okabe-Ito colour, with a legend); then
//! every finding, expandable to its evidence and the spec line it concerns,
//! with filters by severity, vantage, rule and waived (plain JavaScript).
//!
//! Invariants: everything the page needs is inline (`html/report.css`,
//! `html/report.js`); it loads nothing, and its Content-Security-Policy
//! allows only that style and that script, by their SHA-256, so the page
//! can fetch nothing and no injected script could run. Every text from the
//! document (spec names, evidence, banners: a hostile server writes some of
//! it) goes through `escape`. Pure: it writes only to the writer it is
//! given.

use std::collections::BTreeSet;
use std::io::{self, Write};

use base64::Engine as _;
use sha2::Digest as _;

use super::document::{Document, Finding, Rule, Severity};
use super::matrix::{self, Cell, Matrix, State};
use super::{counts, summary, target_text};

/// The page's style sheet, inlined.
const STYLE: &str = include_str!("html/report.css");
/// The page's script, inlined.
const SCRIPT: &str = include_str!("html/report.js");

/// Observed items a cell lists before `+N more`.
const CELL_ITEMS: usize = 3;

/// Escapes text for HTML content and quoted attribute values: the five
/// markup characters as entities, and the characters HTML must not carry
/// (C0 controls other than tab, line feed and carriage return, DEL, C1
/// controls, noncharacters) as U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c if is_noncharacter(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn is_noncharacter(c: char) -> bool {
    let n = c as u32;
    (0xfdd0..=0xfdef).contains(&n) || (n & 0xfffe) == 0xfffe
}

/// `'sha256-…'`, a CSP source for an inline element with this text.
fn csp_hash(text: &str) -> String {
    let digest = sha2::Sha256::digest(text.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// Writes `doc` as one HTML page.
pub fn write(doc: &Document, out: &mut dyn Write) -> io::Result<()> {
    let m = matrix::derive(doc);
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, r#"<html lang="en">"#)?;
    writeln!(out, "<head>")?;
    writeln!(out, r#"<meta charset="utf-8">"#)?;
    writeln!(
        out,
        r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src {}; script-src {}; base-uri 'none'; form-action 'none'">"#,
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    )?;
    writeln!(out, r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#)?;
    writeln!(out, "<title>vantage report: {}</title>", escape(&doc.spec))?;
    writeln!(out, "<style>{STYLE}</style>")?;
    writeln!(out, "</head>")?;
    writeln!(out, "<body>")?;
    writeln!(out, "<main>")?;
    header(doc, out)?;
    matrix_section(doc, &m, out)?;
    findings_section(doc, &m, out)?;
    writeln!(
        out,
        "<footer>This page is self-contained: it loads nothing from anywhere, and works offline.</footer>"
    )?;
    writeln!(out, "</main>")?;
    writeln!(out, "<script>{SCRIPT}</script>")?;
    writeln!(out, "</body>")?;
    writeln!(out, "</html>")
}

fn header(doc: &Document, out: &mut dyn Write) -> io::Result<()> {
    let (by, waived) = counts(doc);
    let unwaived: usize = by.iter().sum();
    writeln!(out, "<header>")?;
    writeln!(out, r#"<h1>vantage report: <span class="spec">{}</span></h1>"#, escape(&doc.spec))?;
    writeln!(
        out,
        r#"<p class="meta">Generated <time id="generated">{}</time> by {} {}</p>"#,
        escape(&doc.generated),
        escape(&doc.tool.name),
        escape(&doc.tool.version)
    )?;
    writeln!(out, r#"<div class="verdict-row">"#)?;
    if unwaived == 0 {
        writeln!(
            out,
            r#"<p class="verdict ok" id="verdict"><span class="sym conforms" aria-hidden="true">{}</span>Conforms: what was observed matches the intent</p>"#,
            State::Conforms.symbol()
        )?;
    } else {
        writeln!(
            out,
            r#"<p class="verdict bad" id="verdict"><span class="sym exposure" aria-hidden="true">{}</span>Differs from the intent: {unwaived} unwaived finding{}</p>"#,
            State::Exposure.symbol(),
            if unwaived == 1 { "" } else { "s" }
        )?;
    }
    for s in Severity::ALL.iter().rev().filter(|s| by[**s as usize] > 0) {
        writeln!(out, r#"<span class="badge {0}">{1} {0}</span>"#, s.as_str(), by[*s as usize])?;
    }
    if waived > 0 {
        writeln!(out, r#"<span class="tag">{waived} waived</span>"#)?;
    }
    writeln!(out, "</div>")?;
    writeln!(out, r#"<p class="summary" id="summary">{}</p>"#, escape(&summary(doc)))?;
    let c = &doc.coverage;
    writeln!(out, r#"<dl class="stats">"#)?;
    let stat = |out: &mut dyn Write, k: &str, v: &str, note: &str| {
        writeln!(
            out,
            "<div><dt>{k}</dt><dd>{}<small>{}</small></dd></div>",
            escape(v),
            escape(note)
        )
    };
    stat(out, "Vantages", &c.vantages.len().to_string(), &c.vantages.join(", "))?;
    stat(out, "Probes sent", &c.probes_sent.to_string(), "")?;
    stat(
        out,
        "Incomplete",
        &c.incomplete.to_string(),
        if c.incomplete == 0 {
            "every planned probe concluded"
        } else {
            "planned probes without a conclusion"
        },
    )?;
    let excluded = c.excluded_addresses > 0 || c.excluded_probes > 0;
    stat(
        out,
        "Excluded",
        &c.excluded_addresses.to_string(),
        &if excluded {
            format!(
                "address{} ({} probes), never probed, not judged",
                if c.excluded_addresses == 1 { "" } else { "es" },
                c.excluded_probes
            )
        } else {
            "nothing was excluded".to_owned()
        },
    )?;
    stat(out, "Waived", &waived.to_string(), "findings an unexpired waiver covers")?;
    writeln!(out, "</dl>")?;
    writeln!(out, "</header>")
}

/// `tcp/443` for each intended flow, grouped: `allow tcp/443; deny tcp/22; else deny`.
fn intended_short(cell: &Cell<'_>) -> String {
    let Some(t) = cell.intent else { return "-".to_owned() };
    let mut parts = Vec::new();
    for i in &t.intended {
        let verb = match (i.allow, i.required) {
            (true, true) => "allow",
            (true, false) => "may allow",
            (false, _) => "deny",
        };
        let ports = if i.ports.is_empty() { "no port" } else { i.ports.as_str() };
        parts.push(format!("{verb} {ports}"));
    }
    let rest = if t.default_deny { "deny" } else { "allow" };
    if parts.is_empty() {
        format!("{rest} all")
    } else {
        parts.push(format!("else {rest}"));
        parts.join("; ")
    }
}

/// Every flow of a cell, one a line, for its tooltip.
fn intended_long(cell: &Cell<'_>) -> String {
    let Some(t) = cell.intent else { return String::new() };
    let mut lines: Vec<String> = t
        .intended
        .iter()
        .map(|i| {
            let what = if i.allow {
                if i.required { "allow, must be reachable" } else { "allow, optional" }
            } else {
                "deny"
            };
            format!("flow #{}: {what}: {} ({})", i.flow, i.services, i.ports)
        })
        .collect();
    lines.push(format!(
        "default: {}",
        if t.default_deny { "deny (any other open port is an exposure)" } else { "allow" }
    ));
    format!(
        "{} ({})\n{}",
        t.host.as_deref().unwrap_or("other addresses"),
        t.addresses,
        lines.join("\n")
    )
}

/// What a cell's findings observed: `tcp/3389 open; tcp/8080 open (waived)`.
fn observed_short(doc: &Document, cell: &Cell<'_>) -> String {
    if cell.state == State::NotChecked {
        return cell.why.clone().unwrap_or_else(|| "not checked".to_owned());
    }
    let findings: Vec<&Finding> =
        cell.findings.iter().filter_map(|&i| doc.findings.get(i)).collect();
    let services = services_short(doc, cell);
    if findings.is_empty() {
        return match (services, &cell.why) {
            // A scan that left probes unconcluded: say so before the rules.
            (Some(s), Some(why)) => format!("{why}; {s}"),
            (Some(s), None) => format!("ports as intended; {s}"),
            (None, _) => "as intended".to_owned(),
        };
    }
    let mut items: Vec<String> = findings
        .iter()
        .take(CELL_ITEMS)
        .map(|f| {
            let what = match f.rule {
                Rule::UndeclaredHost => {
                    format!("undeclared host {} {}", f.target.as_deref().unwrap_or("-"), f.observed)
                }
                // A zone's cell covers many addresses: say which.
                _ if f.host.is_none() => format!(
                    "{} {} {}",
                    f.target.as_deref().unwrap_or("-"),
                    f.port_text(),
                    f.observed
                ),
                _ => format!("{} {}", f.port_text(), f.observed),
            };
            match &f.waived {
                Some(w) => format!("{what} (waived: {w})"),
                None => what,
            }
        })
        .collect();
    if findings.len() > CELL_ITEMS {
        items.push(format!("+{} more", findings.len() - CELL_ITEMS));
    }
    items.extend(services);
    items.join("; ")
}

/// A host cell's TLS and DNS findings, by rule: `tls-protocol, tls-cert-untrusted
/// (waived: CHG-2)`.
fn services_short(doc: &Document, cell: &Cell<'_>) -> Option<String> {
    let mut rules: Vec<String> = Vec::new();
    for f in cell.services.iter().filter_map(|&i| doc.findings.get(i)) {
        let rule = match &f.waived {
            Some(w) => format!("{} (waived: {w})", f.rule.as_str()),
            None => f.rule.as_str().to_owned(),
        };
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }
    (!rules.is_empty()).then(|| rules.join(", "))
}

fn column_key(c: &matrix::Column) -> String {
    format!("{}/{}", c.zone, c.host.as_deref().unwrap_or("*"))
}

fn matrix_section(doc: &Document, m: &Matrix<'_>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, r#"<section id="matrix">"#)?;
    writeln!(out, "<h2>Zone-to-zone matrix</h2>")?;
    writeln!(
        out,
        "<p>A row per vantage (the zone it probes from), a column per target: each declared host and each zone's other addresses (when it has some). A cell says what the intent allows from the row's zone, what was observed, and the state; a host's cell also counts its TLS and DNS findings.</p>"
    )?;
    writeln!(out, r#"<ul class="legend" id="legend">"#)?;
    for s in State::LEGEND {
        writeln!(
            out,
            r#"<li><span class="sym {}" aria-hidden="true">{}</span><b>{}</b> <span class="why">{}</span></li>"#,
            s.as_str(),
            s.symbol(),
            s.label(),
            s.meaning()
        )?;
    }
    writeln!(out, "</ul>")?;
    if m.columns.is_empty() {
        writeln!(out, "<p>No target was checked from any vantage.</p>")?;
        return writeln!(out, "</section>");
    }
    writeln!(out, r#"<div class="scroll"><table class="matrix">"#)?;
    writeln!(out, "<thead>")?;
    write!(out, r#"<tr><th rowspan="2">from \ to</th>"#)?;
    let mut i = 0;
    while i < m.columns.len() {
        let zone = &m.columns[i].zone;
        let span = m.columns[i..].iter().take_while(|c| &c.zone == zone).count();
        write!(
            out,
            r#"<th class="zone" colspan="{span}" scope="colgroup">zone {}</th>"#,
            escape(zone)
        )?;
        i += span;
    }
    writeln!(out, "</tr>")?;
    write!(out, "<tr>")?;
    for c in &m.columns {
        let (name, small) = match &c.host {
            Some(h) => (format!("host {h}"), c.addresses.clone()),
            None => ("other addresses".to_owned(), c.addresses.clone()),
        };
        write!(
            out,
            r#"<th scope="col" title="{}">{}<small class="mono">{}</small></th>"#,
            escape(&c.addresses),
            escape(&name),
            escape(&small)
        )?;
    }
    writeln!(out, "</tr>")?;
    writeln!(out, "</thead>")?;
    writeln!(out, "<tbody>")?;
    for (ri, r) in m.rows.iter().enumerate() {
        write!(out, r#"<tr><th scope="row">{}"#, escape(&r.vantage))?;
        match &r.zone {
            Some(z) => write!(out, "<small>from zone {}</small>", escape(z))?,
            None => write!(out, "<small>zone unknown</small>")?,
        }
        if r.incomplete {
            write!(out, r#" <span class="tag incomplete">scan incomplete</span>"#)?;
        }
        writeln!(out, "</th>")?;
        for (ci, (c, cell)) in m.columns.iter().zip(&r.cells).enumerate() {
            let s = cell.state;
            writeln!(
                out,
                r#"<td class="cell {}" data-state="{}" data-vantage="{}" data-column="{}" title="{}">"#,
                s.as_str(),
                s.as_str(),
                escape(&r.vantage),
                escape(&column_key(c)),
                escape(&intended_long(cell))
            )?;
            writeln!(
                out,
                r#"<span class="state"><span class="sym {}" aria-hidden="true">{}</span>{}</span>"#,
                s.as_str(),
                s.symbol(),
                s.label()
            )?;
            writeln!(
                out,
                r#"<span class="want"><span class="k">intended:</span> {}</span>"#,
                escape(&intended_short(cell))
            )?;
            writeln!(
                out,
                r#"<span class="seen"><span class="k">observed:</span> {}</span>"#,
                escape(&observed_short(doc, cell))
            )?;
            let count = cell.findings.len() + cell.services.len();
            if count > 0 {
                let label = format!(
                    "{} \u{2192} {}",
                    r.vantage,
                    c.host.clone().unwrap_or_else(|| format!("zone {} (other addresses)", c.zone))
                );
                writeln!(
                    out,
                    r#"<button type="button" data-cell="{ri}:{ci}" data-label="{}">show {} finding{}</button>"#,
                    escape(&label),
                    count,
                    if count == 1 { "" } else { "s" }
                )?;
            }
            writeln!(out, "</td>")?;
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</tbody>")?;
    writeln!(out, "</table></div>")?;
    writeln!(out, "</section>")
}

/// For each finding, the `row:column` of the cell it places in, if any.
fn cell_of(doc: &Document, m: &Matrix<'_>) -> Vec<Option<String>> {
    let mut out = vec![None; doc.findings.len()];
    for (ri, r) in m.rows.iter().enumerate() {
        for (ci, cell) in r.cells.iter().enumerate() {
            for &i in cell.findings.iter().chain(&cell.services) {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(format!("{ri}:{ci}"));
                }
            }
        }
    }
    out
}

fn findings_section(doc: &Document, m: &Matrix<'_>, out: &mut dyn Write) -> io::Result<()> {
    let total = doc.findings.len();
    writeln!(out, r#"<section id="findings">"#)?;
    writeln!(out, "<h2>Findings</h2>")?;
    if total == 0 {
        writeln!(out, r#"<p id="no-findings">No findings.</p>"#)?;
        return writeln!(out, "</section>");
    }
    // The filters: hidden until the script shows them, so a page without
    // it shows every finding and no control that does nothing.
    writeln!(out, r#"<form class="filters" id="filters" hidden>"#)?;
    write!(out, "<fieldset><legend>Severity</legend>")?;
    for s in Severity::ALL.iter().rev() {
        let n = doc.findings.iter().filter(|f| f.severity == *s).count();
        write!(
            out,
            r#"<label><input type="checkbox" name="severity" value="{0}" id="sev-{0}" checked> {0} ({n})</label>"#,
            s.as_str()
        )?;
    }
    writeln!(out, "</fieldset>")?;
    let vantages: BTreeSet<&str> =
        doc.findings.iter().filter_map(|f| f.vantage.as_deref()).collect();
    write!(
        out,
        r#"<label>Vantage <select name="vantage" id="f-vantage"><option value="*">all</option>"#
    )?;
    for v in &vantages {
        write!(out, r#"<option value="{0}">{0}</option>"#, escape(v))?;
    }
    if doc.findings.iter().any(|f| f.vantage.is_none()) {
        write!(out, r#"<option value="-">(spec)</option>"#)?;
    }
    writeln!(out, "</select></label>")?;
    let rules: BTreeSet<Rule> = doc.findings.iter().map(|f| f.rule).collect();
    write!(out, r#"<label>Rule <select name="rule" id="f-rule"><option value="*">all</option>"#)?;
    for r in &rules {
        write!(out, r#"<option value="{0}">{0}</option>"#, r.as_str())?;
    }
    writeln!(out, "</select></label>")?;
    writeln!(
        out,
        r#"<label><input type="checkbox" name="waived" id="f-waived" checked> show waived</label>"#
    )?;
    writeln!(out, r#"<button type="reset">show all</button>"#)?;
    writeln!(
        out,
        r#"<span class="count" id="shown"><span id="shown-count">{total}</span> of {total} findings shown</span>"#
    )?;
    writeln!(out, "</form>")?;
    writeln!(
        out,
        r#"<p id="cell-filter" hidden>Only the findings of the cell <b id="cell-filter-label"></b> <button type="button" id="cell-filter-clear">show all</button></p>"#
    )?;
    let cells = cell_of(doc, m);
    writeln!(out, r#"<ol class="findings" id="findings-list">"#)?;
    for (i, f) in doc.findings.iter().enumerate() {
        finding(doc, f, cells.get(i).cloned().flatten(), out)?;
    }
    writeln!(out, "</ol>")?;
    writeln!(out, "</section>")
}

fn finding(
    doc: &Document,
    f: &Finding,
    cell: Option<String>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let sev = f.severity.as_str();
    writeln!(
        out,
        r#"<li class="finding{}" data-severity="{sev}" data-vantage="{}" data-rule="{}" data-waived="{}" data-cell="{}">"#,
        if f.waived.is_some() { " is-waived" } else { "" },
        escape(f.vantage.as_deref().unwrap_or("-")),
        f.rule.as_str(),
        if f.waived.is_some() { "yes" } else { "no" },
        escape(cell.as_deref().unwrap_or(""))
    )?;
    writeln!(out, "<details>")?;
    let port = f.port_text();
    write!(
        out,
        r#"<summary><span class="badge {sev}">{sev}</span><span class="rule">{}</span><span class="mono">{}{}</span><span>from {}</span>"#,
        f.rule.as_str(),
        escape(&target_text(f)),
        if port.is_empty() { String::new() } else { format!(" {port}") },
        escape(f.vantage.as_deref().unwrap_or("the spec"))
    )?;
    if let Some(w) = &f.waived {
        write!(out, r#"<span class="tag">waived: {}</span>"#, escape(w))?;
    }
    writeln!(out, r#"<span class="obs">{}</span></summary>"#, escape(&f.observed))?;
    writeln!(out, r#"<dl class="finding">"#)?;
    writeln!(out, "<dt>Expected</dt><dd>{}</dd>", escape(&f.expected))?;
    writeln!(out, "<dt>Observed</dt><dd>{}</dd>", escape(&f.observed))?;
    writeln!(out, "<dt>Evidence</dt><dd><pre>{}</pre></dd>", escape(&f.evidence))?;
    let l = &f.location;
    write!(
        out,
        r#"<dt>Spec</dt><dd><code>{}:{}{}</code>"#,
        escape(&l.file),
        l.line,
        if l.column > 0 { format!(":{}", l.column) } else { String::new() }
    )?;
    if let Some(text) = doc.spec_lines.get(&(l.file.clone(), l.line)) {
        write!(
            out,
            r#"<pre class="specline"><span class="lineno">{:>4} | </span>{}</pre>"#,
            l.line,
            escape(text)
        )?;
    }
    writeln!(out, "</dd>")?;
    if let Some(w) = &f.waived {
        writeln!(out, "<dt>Waived by</dt><dd>{}</dd>", escape(w))?;
    }
    writeln!(out, "</dl>")?;
    writeln!(out, "</details>")?;
    writeln!(out, "</li>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::{Coverage, Proto, SpecLocation, Tool};

    fn doc(findings: Vec<Finding>) -> Document {
        Document {
            tool: Tool { name: "vantage".into(), version: "0.1.0".into() },
            spec: "<b>spec</b>.yaml".into(),
            generated: "2026-03-02T00:00:00.000Z".into(),
            coverage: Coverage {
                vantages: vec!["out<side>".into()],
                probes_sent: 3,
                incomplete: 0,
                excluded_addresses: 0,
                excluded_probes: 0,
            },
            findings,
            checks: Vec::new(),
            vantage_zones: Vec::new(),
            spec_lines: std::collections::BTreeMap::new(),
        }
    }

    fn hostile() -> Finding {
        Finding {
            rule: Rule::Exposure,
            severity: Severity::High,
            vantage: Some("out<side>".into()),
            target: Some("198.18.10.10".into()),
            host: Some("web\"onmouseover=\"x".into()),
            port: Some(22),
            proto: Some(Proto::Tcp),
            expected: "denied".into(),
            observed: "open".into(),
            evidence: "banner \"<script>alert(1)</script>\u{0}\u{7f}\u{fffe}\"".into(),
            waived: None,
            location: SpecLocation { file: "s.yaml".into(), line: 2, column: 3 },
        }
    }

    fn render(d: &Document) -> String {
        let mut out = Vec::new();
        write(d, &mut out).expect("renders");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn escape_covers_markup_quotes_and_forbidden_characters() {
        let cases = [
            ("plain", "plain"),
            ("<script>", "&lt;script&gt;"),
            ("a & b", "a &amp; b"),
            ("\"x\" 'y'", "&quot;x&quot; &#39;y&#39;"),
            ("tab\tline\ncr\r", "tab\tline\ncr\r"),
            ("nul\u{0}bel\u{7}del\u{7f}c1\u{85}", "nul\u{fffd}bel\u{fffd}del\u{fffd}c1\u{fffd}"),
            ("\u{fdd0}\u{fffe}\u{1ffff}", "\u{fffd}\u{fffd}\u{fffd}"),
            ("ünïcödé ✓", "ünïcödé ✓"),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want, "{input:?}");
        }
    }

    #[test]
    fn hostile_text_is_shown_as_text() {
        let mut d = doc(vec![hostile()]);
        d.spec_lines.insert(("s.yaml".into(), 2), "  - { from: <img src=x> }".into());
        let html = render(&d);
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert_eq!(html.matches("<script").count(), 1, "only the page's own script");
        assert!(!html.contains("<b>spec"), "the spec name is escaped");
        assert!(!html.contains("<side>"), "vantage names are escaped");
        assert!(!html.contains("\"onmouseover"), "attribute quotes are escaped");
        assert!(!html.contains("<img"), "the spec line is escaped");
        assert!(html.contains("{ from: &lt;img src=x&gt; }"), "and quoted");
        assert!(!html.contains('\u{0}') && !html.contains('\u{7f}') && !html.contains('\u{fffe}'));
    }

    #[test]
    fn the_page_loads_nothing_and_allows_only_its_own_style_and_script() {
        let html = render(&doc(vec![hostile()]));
        for banned in ["<link", "<script src", "<img", "<iframe", "@import", "url("] {
            assert!(!html.contains(banned), "{banned} in the page");
        }
        for attr in ["src=", "href="] {
            for quote in ["\"", "'"] {
                for scheme in ["http:", "https:", "//"] {
                    let s = format!("{attr}{quote}{scheme}");
                    assert!(!html.contains(&s), "{s} in the page");
                }
            }
        }
        let csp = format!(
            "default-src 'none'; style-src {}; script-src {};",
            csp_hash(STYLE),
            csp_hash(SCRIPT)
        );
        assert!(html.contains(&csp), "{csp}");
        assert!(html.contains(&format!("<style>{STYLE}</style>")));
        assert!(html.contains(&format!("<script>{SCRIPT}</script>")));
        // A known SHA-256 in CSP form: of the empty string.
        assert_eq!(csp_hash(""), "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='");
    }

    #[test]
    fn an_empty_document_says_it_conforms() {
        let html = render(&doc(Vec::new()));
        assert!(html.contains("Conforms: what was observed matches the intent"));
        assert!(html.contains(r#"<p id="no-findings">No findings.</p>"#));
        assert!(html.contains("No target was checked from any vantage."));
        assert!(html.contains("0 findings, 0 waived; 1 vantage (out&lt;side&gt;), 3 probes sent"));
    }

    #[test]
    fn filters_count_every_finding_and_list_rules_and_vantages_present() {
        let mut spec_level = hostile();
        spec_level.vantage = None;
        spec_level.rule = Rule::WaiverUnused;
        spec_level.severity = Severity::Low;
        let html = render(&doc(vec![hostile(), spec_level]));
        assert!(html.contains(r#"<span id="shown-count">2</span> of 2 findings shown"#));
        assert!(html.contains(
            r#"<option value="exposure">exposure</option><option value="waiver-unused">"#
        ));
        assert!(html.contains(r#"<option value="out&lt;side&gt;">"#));
        assert!(html.contains(r#"<option value="-">(spec)</option>"#));
        assert!(html.contains(r#"value="high" id="sev-high" checked> high (1)"#));
        assert!(html.contains(r#"data-vantage="-" data-rule="waiver-unused""#));
    }
}
