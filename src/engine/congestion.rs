//! The congestion window: how many probes may be in flight at once, grown
//! while answers come back and halved when a loss is proven (an answer to a
//! retransmission), like TCP's AIMD.
//!
//! The window only ever limits below the hard ceilings (the fd-derived
//! concurrency bound and the `--rate` token bucket); it never exceeds them.
//! Pure: no clock, no I/O.

/// Additive-increase, multiplicative-decrease window.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    cwnd: f64,
    ssthresh: f64,
    min: f64,
    max: f64,
}

impl Window {
    /// A window starting at `initial`, never below `min` nor above `max`.
    pub fn new(initial: usize, min: usize, max: usize) -> Self {
        let max = max.max(1) as f64;
        let min = (min.max(1) as f64).min(max);
        Self { cwnd: (initial as f64).clamp(min, max), ssthresh: max, min, max }
    }

    /// Probes that may be in flight now.
    pub fn size(&self) -> usize {
        // The window is clamped to [1, max] with max from a usize.
        self.cwnd.floor() as usize
    }

    /// An answer came back: grow by one per answer below the threshold
    /// (slow start), by about one per window above it.
    pub fn on_answer(&mut self) {
        let step = if self.cwnd < self.ssthresh { 1.0 } else { 1.0 / self.cwnd };
        self.cwnd = (self.cwnd + step).min(self.max);
    }

    /// A probe was lost (its retransmission was answered): halve the window.
    pub fn on_loss(&mut self) {
        self.ssthresh = (self.cwnd / 2.0).max(self.min);
        self.cwnd = self.ssthresh;
    }

    /// The local system pushed back (file descriptors, ephemeral ports):
    /// shrink to three quarters, without touching the threshold, since the
    /// network said nothing.
    pub fn on_local_pressure(&mut self) {
        self.cwnd = (self.cwnd * 0.75).max(self.min);
        self.max = self.max.min(self.cwnd.max(self.min) * 2.0).max(self.min);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_halves_and_recovers() {
        let mut w = Window::new(10, 2, 100);
        for _ in 0..20 {
            w.on_answer();
        }
        assert_eq!(w.size(), 30, "slow start adds one per answer");
        w.on_loss();
        assert_eq!(w.size(), 15, "halved");
        for _ in 0..16 {
            w.on_answer();
        }
        assert_eq!(w.size(), 16, "congestion avoidance adds about one per window of answers");
        for _ in 0..10 {
            w.on_loss();
        }
        assert_eq!(w.size(), 2, "never below the minimum");
        for _ in 0..100_000 {
            w.on_answer();
        }
        assert_eq!(w.size(), 100, "never above the maximum");
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
    }
}
