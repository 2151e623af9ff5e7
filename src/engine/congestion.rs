//! The congestion window: how many probes may be in flight at once, grown
//! while answers come back and cut when losses (answers to retransmissions)
//! become frequent, like TCP's AIMD, but tolerant of the steady random loss
//! of a real path: plain AIMD at 1 % loss holds about 1.2/sqrt(0.01) = 12
//! probes in flight (the Mathis formula), which would make a scanner crawl.
//!
//! So a cut needs two things: an average loss rate (an exponential moving
//! average over answers) above `LOSS_THRESHOLD`, and a full window of
//! answers since the last cut (TCP's "once per round trip"), so one burst of
//! losses cuts once, not once per lost probe. Answers dropped in our own
//! receive buffers cut the same way, whatever the average.
//!
//! The window only ever limits below the hard ceilings (the fd-derived
//! concurrency bound and the `--rate` token bucket); it never exceeds them.
//! Pure: no clock, no I/O.

/// Loss rate above which the window is cut (nmap's timing templates back
/// off at similar rates of unanswered retransmissions).
pub const LOSS_THRESHOLD: f64 = 0.05;

/// Weight of the newest answer in the loss average (about the last 100).
const EMA_WEIGHT: f64 = 0.01;

/// Additive-increase, multiplicative-decrease window.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    cwnd: f64,
    ssthresh: f64,
    min: f64,
    /// The ceiling now: lowered by local pressure, regrown by answers.
    max: f64,
    /// The ceiling the window was made with, which `max` regrows towards.
    ceiling: f64,
    loss: f64,
    /// Answers since the last cut.
    since_cut: f64,
    /// Answers needed before another cut: the window right after the last
    /// one, so what was in flight when it happened drains first (TCP's
    /// "once per round trip"); nothing before the first cut.
    guard: f64,
}

impl Window {
    /// A window starting at `initial`, never below `min` nor above `max`.
    pub fn new(initial: usize, min: usize, max: usize) -> Self {
        let max = max.max(1) as f64;
        let min = (min.max(1) as f64).min(max);
        Self {
            cwnd: (initial as f64).clamp(min, max),
            ssthresh: max,
            min,
            max,
            ceiling: max,
            loss: 0.0,
            since_cut: 0.0,
            guard: 0.0,
        }
    }

    /// Probes that may be in flight now.
    pub fn size(&self) -> usize {
        // The window is clamped to [1, max] with max from a usize.
        self.cwnd.floor() as usize
    }

    /// The average loss rate seen.
    pub fn loss_rate(&self) -> f64 {
        self.loss
    }

    /// An answer to a first attempt: grow by one per answer below the
    /// threshold (slow start), by about one per window above it.
    pub fn on_answer(&mut self) {
        self.loss *= 1.0 - EMA_WEIGHT;
        self.since_cut += 1.0;
        // After local pressure, the ceiling comes back by about one per
        // window of answers: the system may have freed what it lacked.
        self.max = (self.max + 1.0 / self.max).min(self.ceiling);
        let step = if self.cwnd < self.ssthresh { 1.0 } else { 1.0 / self.cwnd };
        self.cwnd = (self.cwnd + step).min(self.max);
    }

    /// An answer to a retransmission: an earlier attempt was lost. Cut the
    /// window in half if losses are frequent and it was not cut within the
    /// last window of answers.
    pub fn on_loss(&mut self) {
        self.loss = self.loss * (1.0 - EMA_WEIGHT) + EMA_WEIGHT;
        self.since_cut += 1.0;
        if self.loss > LOSS_THRESHOLD {
            self.cut();
        }
    }

    /// Halves the window unless it was cut within the last window.
    fn cut(&mut self) {
        if self.since_cut >= self.guard {
            self.ssthresh = (self.cwnd / 2.0).max(self.min);
            self.cwnd = self.ssthresh;
            self.since_cut = 0.0;
            self.guard = self.cwnd;
        }
    }

    /// Congestion proven on our side (answers dropped in our own receive
    /// buffers): halve, at most once per window of answers, whatever the
    /// average loss rate.
    pub fn on_congestion(&mut self) {
        self.cut();
    }

    /// The local system pushed back (file descriptors, ephemeral ports):
    /// shrink to three quarters and lower the ceiling, without touching the
    /// loss state, since the network said nothing.
    pub fn on_local_pressure(&mut self) {
        self.cwnd = (self.cwnd * 0.75).max(self.min);
        self.max = self.max.min(self.cwnd.max(self.min) * 2.0).max(self.min);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_light_loss_does_not_throttle() {
        let mut w = Window::new(64, 1, 10_000);
        // 1 % loss: one retransmission answered per hundred answers.
        for i in 0..20_000 {
            if i % 100 == 0 { w.on_loss() } else { w.on_answer() }
        }
        assert!(w.size() > 1_000, "{}", w.size());
        assert!(w.loss_rate() < LOSS_THRESHOLD);
    }

    #[test]
    fn heavy_loss_halves_once_per_window_and_recovers() {
        let mut w = Window::new(100, 2, 1_000);
        for _ in 0..1_000 {
            w.on_answer();
        }
        assert_eq!(w.size(), 1_000, "slow start to the ceiling");
        // A burst of losses: the average crosses the threshold, and the
        // window is cut once per window of answers, not once per loss.
        for _ in 0..10 {
            w.on_loss();
        }
        assert_eq!(w.size(), 500, "one cut for the burst");
        for _ in 0..600 {
            w.on_loss();
        }
        assert!(w.size() < 500 && w.size() >= 2, "sustained loss keeps cutting: {}", w.size());
        let low = w.size();
        for _ in 0..5_000 {
            w.on_answer();
        }
        assert!(w.size() > low, "answers grow it again");
    }

    #[test]
    fn local_pressure_shrinks_and_caps() {
        let mut w = Window::new(1000, 4, 1000);
        w.on_local_pressure();
        assert_eq!(w.size(), 750);
        for _ in 0..100_000 {
            w.on_answer();
        }
        assert!(w.size() <= 1000, "{}", w.size());
        assert!(w.size() > 750, "the ceiling regrows after pressure: {}", w.size());
    }

    #[test]
    fn receive_drops_halve_once_per_window() {
        let mut w = Window::new(100, 1, 1_000);
        for _ in 0..100 {
            w.on_answer();
        }
        let before = w.size();
        w.on_congestion();
        assert_eq!(w.size(), before / 2);
        w.on_congestion();
        assert_eq!(w.size(), before / 2, "no second cut within the window");
    }
}
