//! The block `scan` and `check` end with on stderr: what ran, what it
//! found, how fast, where the results went, in a few short lines that fit
//! a terminal (none with `-q`). Pure: the text from the counts, so it is
//! tested as data; `scan.rs` and `check.rs` print it.
//!
//! ```text
//! vantage: SYN scan: 4106 of 4106 probes concluded
//!   12 open (3 unexpected), 1022 closed, 3072 filtered, 0 open|filtered
//!   4210 probes sent in 4.1 s (1027/s)
//!   observations: out.jsonl
//! ```

use std::time::Duration;

/// What one scan did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScanBlock {
    /// The first line after `vantage: `, as the scan has always said it
    /// (`connect scan of shard 0/2, resuming x.jsonl (...)`), ending in
    /// the probes concluded and what cut the run short.
    pub(crate) headline: String,
    /// Port states.
    pub(crate) open: u64,
    /// Ports closed.
    pub(crate) closed: u64,
    /// Ports filtered.
    pub(crate) filtered: u64,
    /// UDP ports silent.
    pub(crate) open_filtered: u64,
    /// Open ports the intent does not allow from this vantage.
    pub(crate) unexpected: u64,
    /// Attempts sent (retries included; a resumed file's too).
    pub(crate) sent: u64,
    /// Attempts this run sent, and how long it took: the rate achieved.
    pub(crate) sent_now: u64,
    /// How long this run took.
    pub(crate) took: Duration,
    /// Probes this machine could not send.
    pub(crate) local_errors: u64,
    /// Answers dropped in this machine's receive buffers (and retried).
    pub(crate) receive_drops: u64,
    /// Where the observations went (`-` for stdout), or `None` when they
    /// were not kept.
    pub(crate) observations: Option<String>,
}

/// `4.1 s`, `2 min 5 s`, `1 h 2 min`.
pub(crate) fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{:.1} s", d.as_secs_f64())
    } else if s < 3600 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{} h {} min", s / 3600, (s / 60) % 60)
    }
}

/// The lines of a scan's block (the first with `vantage: `, the others
/// indented), without newlines.
pub(crate) fn scan(b: &ScanBlock) -> Vec<String> {
    let mut lines = vec![format!("vantage: {}", b.headline)];
    let unexpected =
        if b.unexpected > 0 { format!(" ({} unexpected)", b.unexpected) } else { String::new() };
    lines.push(format!(
        "  {} open{unexpected}, {} closed, {} filtered, {} open|filtered",
        b.open, b.closed, b.filtered, b.open_filtered
    ));
    let secs = b.took.as_secs_f64();
    let rate = if secs > 0.0 { (b.sent_now as f64 / secs).round() as u64 } else { 0 };
    let mut speed = format!("  {} probes sent in {} ({rate}/s)", b.sent, duration(b.took));
    if b.local_errors > 0 {
        speed.push_str(&format!(", {} local errors", b.local_errors));
    }
    if b.receive_drops > 0 {
        speed.push_str(&format!(", {} answers dropped here and retried", b.receive_drops));
    }
    lines.push(speed);
    if let Some(o) = &b.observations {
        let o = if o == "-" { "stdout" } else { o.as_str() };
        lines.push(format!("  observations: {o}"));
    }
    lines
}

/// The lines `check` and `verdict` end with: the findings by severity
/// (`report::summary`) and where the report went. `None` when the report
/// is a table on stdout, which ends with that summary already.
pub(crate) fn verdict(summary: &str, report: Option<&str>, table_on_stdout: bool) -> Vec<String> {
    match report {
        Some(file) => vec![format!("vantage: {summary}"), format!("  report: {file}")],
        None if table_on_stdout => Vec::new(),
        None => vec![format!("vantage: {summary}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> ScanBlock {
        ScanBlock {
            headline: "SYN scan: 4106 of 4106 probes concluded".to_owned(),
            open: 12,
            closed: 1022,
            filtered: 3072,
            open_filtered: 0,
            unexpected: 3,
            sent: 4210,
            sent_now: 4210,
            took: Duration::from_millis(4100),
            local_errors: 0,
            receive_drops: 0,
            observations: Some("out.jsonl".to_owned()),
        }
    }

    #[test]
    fn a_scan_block_is_four_short_lines() {
        let lines = scan(&block());
        assert_eq!(
            lines,
            [
                "vantage: SYN scan: 4106 of 4106 probes concluded",
                "  12 open (3 unexpected), 1022 closed, 3072 filtered, 0 open|filtered",
                "  4210 probes sent in 4.1 s (1027/s)",
                "  observations: out.jsonl",
            ]
        );
        assert!(lines.iter().all(|l| l.len() <= 80), "{lines:#?}");
    }

    #[test]
    fn a_scan_block_says_what_went_wrong_and_where_the_file_went() {
        let b = ScanBlock {
            unexpected: 0,
            sent: 9_000,
            sent_now: 3_000,
            took: Duration::from_secs(125),
            local_errors: 2,
            receive_drops: 40,
            observations: Some("-".to_owned()),
            ..block()
        };
        assert_eq!(
            scan(&b)[1..],
            [
                "  12 open, 1022 closed, 3072 filtered, 0 open|filtered",
                "  9000 probes sent in 2 min 5 s (24/s), 2 local errors, 40 answers dropped here and retried",
                "  observations: stdout",
            ]
        );
        let kept_nowhere = ScanBlock { observations: None, ..block() };
        assert_eq!(scan(&kept_nowhere).len(), 3);
        assert_eq!(duration(Duration::from_secs(3725)), "1 h 2 min");
    }

    #[test]
    fn the_verdict_lines_say_what_the_report_does_not() {
        let s = "1 finding (1 high), 0 waived; 1 vantage (a), 5 probes sent, 0 incomplete";
        assert_eq!(
            verdict(s, Some("r.sarif"), false),
            [format!("vantage: {s}"), "  report: r.sarif".to_owned()]
        );
        assert_eq!(verdict(s, None, false), [format!("vantage: {s}")]);
        assert!(verdict(s, None, true).is_empty(), "the table ends with the summary already");
    }
}
