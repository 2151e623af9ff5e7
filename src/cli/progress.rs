//! Progress bars on a terminal (indicatif): probes concluded of planned,
//! the rate achieved, an ETA, open ports and how many of them the intent
//! does not allow ("unexpected": what may become `exposure` findings,
//! before waivers). One bar per vantage, all in `log::bars`, so log lines
//! never tear them. Never shown when stderr is not a TTY, nor with `-q`.
//!
//! The ETA is the time left at the rate achieved since this run started
//! (a resumed scan's earlier probes do not count as speed), never less
//! than `--rate` allows: every probe left needs at least one attempt.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;
use vantage::scan::Progress;

/// Whether bars are drawn: stderr is a terminal and `-q` was not given.
pub(crate) fn wanted() -> bool {
    !super::log::quiet() && std::io::stderr().is_terminal()
}

/// The counters at one moment, as the bar's message shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// Probes in the plan.
    pub(crate) planned: u64,
    /// Probes concluded, with those of a resumed file.
    pub(crate) concluded: u64,
    /// Of them, concluded by this run.
    pub(crate) this_run: u64,
    /// Open ports so far.
    pub(crate) open: u64,
    /// Open ports the intent does not allow from this vantage.
    pub(crate) unexpected: u64,
}

/// Time left: the probes left at the rate this run achieved, never
/// faster than `rate_cap` probes a second; `None` before anything
/// concluded, or when nothing is left to estimate.
pub(crate) fn eta(s: &Snapshot, elapsed: Duration, rate_cap: u32) -> Option<Duration> {
    let left = s.planned.saturating_sub(s.concluded);
    if left == 0 {
        return Some(Duration::ZERO);
    }
    let secs = elapsed.as_secs_f64();
    if s.this_run == 0 || secs <= 0.0 {
        return None;
    }
    let achieved = s.this_run as f64 / secs;
    let rate = achieved.min(f64::from(rate_cap.max(1)));
    Some(Duration::from_secs_f64((left as f64 / rate).min(1e9)))
}

/// `1h02m`, `3m05s`, `42s`.
pub(crate) fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s / 60) % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m{sec:02}s"),
        (h, min, _) => format!("{h}h{min:02}m"),
    }
}

/// The bar's message: `1,234/s, ETA 3m05s, 12 open (3 unexpected)`.
pub(crate) fn message(s: &Snapshot, elapsed: Duration, rate_cap: u32) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { (s.this_run as f64 / secs).round() as u64 } else { 0 };
    let eta = eta(s, elapsed, rate_cap).map_or_else(|| "-".to_owned(), short_duration);
    let unexpected =
        if s.unexpected > 0 { format!(" ({} unexpected)", s.unexpected) } else { String::new() };
    format!("{rate}/s, ETA {eta}, {} open{unexpected}", s.open)
}

/// Updates a bar from `progress` until `stop` fires, then clears it, so
/// the summary stands alone. `label` names the vantage when there are
/// several bars; `rate_cap` is `--rate`.
pub(crate) async fn show(
    progress: Arc<Progress>,
    stop: CancellationToken,
    label: Option<String>,
    rate_cap: u32,
) {
    let style = ProgressStyle::with_template(
        "{prefix}{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    // Drawn once the plan's size is known (an agent says it in its first
    // line): an empty bar would show as full.
    let mut bar: Option<ProgressBar> = None;
    // From the moment the plan is known (an agent's connection and
    // handshake are no probing time).
    let mut started: Option<Instant> = None;
    let mut before: Option<u64> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let planned = progress.planned.load(Ordering::Acquire);
        if planned == 0 {
            continue;
        }
        let concluded = progress.concluded.load(Ordering::Relaxed);
        // What a resumed file had concluded is there at the first look.
        let first = *before.get_or_insert(concluded);
        let started = *started.get_or_insert_with(Instant::now);
        let s = Snapshot {
            planned,
            concluded,
            this_run: concluded.saturating_sub(first),
            open: progress.open.load(Ordering::Relaxed),
            unexpected: progress.unexpected.load(Ordering::Relaxed),
        };
        let bar = bar.get_or_insert_with(|| {
            let bar = super::log::bars().add(ProgressBar::new(s.planned));
            bar.set_style(style.clone());
            if let Some(label) = &label {
                bar.set_prefix(format!("{label} "));
            }
            bar
        });
        bar.set_length(s.planned);
        bar.set_position(s.concluded);
        bar.set_message(message(&s, started.elapsed(), rate_cap));
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
        super::log::bars().remove(&bar);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(planned: u64, concluded: u64, this_run: u64, open: u64, unexpected: u64) -> Snapshot {
        Snapshot { planned, concluded, this_run, open, unexpected }
    }

    #[test]
    fn eta_follows_the_achieved_rate_but_never_beats_the_cap() {
        let s = Duration::from_secs;
        let cases = [
            // 1,000 done in 10 s, 9,000 left: 90 s at 100/s.
            (snap(10_000, 1_000, 1_000, 0, 0), s(10), 10_000, Some(s(90))),
            // Faster than --rate cannot last: 9,000 left at most 1,000/s.
            (snap(10_000, 1_000, 1_000, 0, 0), s(0) + Duration::from_millis(1), 1_000, Some(s(9))),
            // A resumed file's 5,000 probes are no speed: 5,000 left at 100/s.
            (snap(10_000, 5_100, 100, 0, 0), s(1), 10_000, Some(s(49))),
            (snap(10_000, 0, 0, 0, 0), s(5), 10_000, None),
            (snap(10, 10, 10, 0, 0), s(5), 10_000, Some(s(0))),
        ];
        for (snapshot, elapsed, cap, want) in cases {
            assert_eq!(eta(&snapshot, elapsed, cap), want, "{snapshot:?} after {elapsed:?}");
        }
    }

    #[test]
    fn the_message_says_rate_eta_open_and_unexpected() {
        let s = Duration::from_secs;
        let cases = [
            (snap(2_000, 500, 500, 0, 0), s(2), "250/s, ETA 6s, 0 open"),
            (snap(2_000, 500, 500, 12, 3), s(2), "250/s, ETA 6s, 12 open (3 unexpected)"),
            (snap(1_000_000, 100, 100, 1, 0), s(1), "100/s, ETA 2h46m, 1 open"),
            (snap(100, 0, 0, 0, 0), s(0), "0/s, ETA -, 0 open"),
        ];
        for (snapshot, elapsed, want) in cases {
            assert_eq!(message(&snapshot, elapsed, 10_000), want);
        }
        assert_eq!(short_duration(s(185)), "3m05s");
    }
}
