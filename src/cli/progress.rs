//! Progress display on a terminal (indicatif): probes concluded of planned,
//! rate, ETA and open ports so far. Never shown when stderr is not a TTY.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use vantage::scan::Progress;

/// Updates a progress bar from the scan's counters until `stop` fires,
/// then clears it, so the final summary line stands alone.
pub(crate) async fn show(progress: Arc<Progress>, stop: tokio_util::sync::CancellationToken) {
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} probes, {per_sec}, ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        bar.set_length(progress.planned.load(Ordering::Relaxed));
        bar.set_position(progress.concluded.load(Ordering::Relaxed));
        bar.set_message(format!("{} open", progress.open.load(Ordering::Relaxed)));
    }
    bar.finish_and_clear();
}
