//! `vantage compare`: a `Comparison` of two scans as a table (aligned, one
//! change a line, then a one-line summary), JSON (the serde contract in
//! `document`), or Markdown (for a pull-request comment). Same signature as
//! the findings renderers, over a `Comparison`.

use std::io::{self, Write};

use super::document::{Change, Comparison};

fn port(c: &Change) -> String {
    match (c.proto, c.port) {
        (Some(p), Some(n)) => format!("{}/{n}", p.as_str()),
        _ => "-".to_owned(),
    }
}

fn target(c: &Change) -> String {
    match &c.host {
        Some(h) => format!("{} ({h})", c.target),
        None => c.target.clone(),
    }
}

fn states(c: &Change) -> String {
    format!("{} -> {}", c.before.as_deref().unwrap_or("-"), c.after.as_deref().unwrap_or("-"))
}

/// `5 changes: 2 towards the intent, 1 away, 2 neutral`.
pub fn summary(cmp: &Comparison) -> String {
    let n = cmp.changes.len();
    let mut text = format!("{n} change{}", if n == 1 { "" } else { "s" });
    if cmp.spec.is_some() {
        let count = |d: &str| cmp.changes.iter().filter(|c| c.intent.as_deref() == Some(d)).count();
        text.push_str(&format!(
            ": {} towards the intent, {} away from it, {} neutral",
            count("towards"),
            count("away"),
            count("neutral")
        ));
    }
    text
}

/// Writes `cmp` as an aligned table.
pub fn write_table(cmp: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{} -> {}", cmp.old, cmp.new)?;
    let w_v = cmp.changes.iter().map(|c| c.vantage.len()).max().unwrap_or(0);
    let w_t = cmp.changes.iter().map(|c| target(c).len()).max().unwrap_or(0);
    let w_p = cmp.changes.iter().map(|c| port(c).len()).max().unwrap_or(0);
    let w_c = cmp.changes.iter().map(|c| c.change.len()).max().unwrap_or(0);
    let w_s = cmp.changes.iter().map(|c| states(c).len()).max().unwrap_or(0);
    for c in &cmp.changes {
        let intent = match (&c.intent, &c.expected) {
            (Some(d), Some(e)) => format!("  {d} ({e})"),
            _ => String::new(),
        };
        let line = format!(
            "  {:w_v$}  {:w_t$}  {:w_p$}  {:w_c$}  {:w_s$}{intent}",
            c.vantage,
            target(c),
            port(c),
            c.change,
            states(c)
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;
    writeln!(out, "vantage: {}", summary(cmp))
}

/// Writes `cmp` as JSON.
pub fn write_json(cmp: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, cmp).map_err(io::Error::other)?;
    writeln!(out)
}

fn cell(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Writes `cmp` as Markdown.
pub fn write_markdown(cmp: &Comparison, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### vantage compare: `{}` -> `{}`", cell(&cmp.old), cell(&cmp.new))?;
    writeln!(out)?;
    writeln!(out, "{}", summary(cmp))?;
    if cmp.changes.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "| Vantage | Target | Port | Change | Before -> after | Intent |")?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    for c in &cmp.changes {
        let intent = match (&c.intent, &c.expected) {
            (Some(d), Some(e)) => format!("**{d}** ({})", cell(e)),
            _ => "-".to_owned(),
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {intent} |",
            cell(&c.vantage),
            cell(&target(c)),
            port(c),
            c.change,
            cell(&states(c)),
        )?;
    }
    Ok(())
}
