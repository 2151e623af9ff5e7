//! Timeouts from measured round-trip times, RFC 6298 style: a smoothed RTT
//! and its variance per host, and a global pair for hosts not yet heard
//! from; the timeout is `srtt + 4 * rttvar`, clamped to `[min, max]`.
//!
//! Only first attempts are sampled (Karn's algorithm: an answer to a
//! retransmitted probe cannot be matched to the attempt that caused it).
//! Pure: callers pass measured durations in; nothing here reads a clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// One smoothed RTT estimator (RFC 6298 section 2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RttEstimator {
    srtt: Duration,
    rttvar: Duration,
}

impl RttEstimator {
    /// The estimator after its first sample `r`: SRTT = R, RTTVAR = R/2.
    pub fn new(r: Duration) -> Self {
        Self { srtt: r, rttvar: r / 2 }
    }

    /// Folds in sample `r`: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, then
    /// SRTT = 7/8 SRTT + 1/8 R.
    pub fn sample(&mut self, r: Duration) {
        let delta = self.srtt.abs_diff(r);
        self.rttvar = (self.rttvar * 3 + delta) / 4;
        self.srtt = (self.srtt * 7 + r) / 8;
    }

    /// The smoothed round trip.
    pub fn srtt(&self) -> Duration {
        self.srtt
    }

    /// `srtt + 4 * rttvar`, unclamped.
    pub fn rto(&self) -> Duration {
        self.srtt + self.rttvar * 4
    }
}

/// Timeout bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Never wait less than this (a loopback RTT of 20 µs would otherwise
    /// give timeouts a scheduler hiccup exceeds).
    pub min: Duration,
    /// Never wait more than this (`--max-rtt`).
    pub max: Duration,
    /// The timeout before any sample (RFC 6298: 1 s).
    pub initial: Duration,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            min: Duration::from_millis(50),
            max: Duration::from_secs(3),
            initial: Duration::from_secs(1),
        }
    }
}

/// Per-host and global estimators.
#[derive(Debug, Clone)]
pub struct Timing {
    bounds: Bounds,
    global: Option<RttEstimator>,
    hosts: HashMap<IpAddr, RttEstimator>,
}

impl Timing {
    /// No samples yet.
    pub fn new(bounds: Bounds) -> Self {
        Self { bounds, global: None, hosts: HashMap::new() }
    }

    /// Records a first-attempt round trip to `host`.
    pub fn sample(&mut self, host: IpAddr, rtt: Duration) {
        match &mut self.global {
            Some(g) => g.sample(rtt),
            None => self.global = Some(RttEstimator::new(rtt)),
        }
        self.hosts
            .entry(host)
            .and_modify(|e| e.sample(rtt))
            .or_insert_with(|| RttEstimator::new(rtt));
    }

    /// How long to wait for `host` to answer: its own estimate, else the
    /// global one, else the initial timeout, clamped to the bounds. A
    /// retransmission waits twice as long per attempt already made (RFC
    /// 6298's back-off), still clamped.
    pub fn timeout(&self, host: IpAddr, attempt: u8) -> Duration {
        let base = match self.hosts.get(&host).or(self.global.as_ref()) {
            Some(e) => e.rto(),
            None => self.bounds.initial,
        };
        let backed_off = base.saturating_mul(1 << attempt.saturating_sub(1).min(4));
        backed_off.clamp(self.bounds.min, self.bounds.max.max(self.bounds.min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn follows_rfc_6298() {
        let mut e = RttEstimator::new(100 * MS);
        assert_eq!((e.srtt(), e.rto()), (100 * MS, 300 * MS));
        e.sample(100 * MS);
        // RTTVAR = 3/4 * 50 + 1/4 * 0 = 37.5; SRTT = 100.
        assert_eq!(e.rto(), 100 * MS + Duration::from_micros(37_500) * 4);
        for _ in 0..50 {
            e.sample(20 * MS);
        }
        assert!(e.srtt() < 21 * MS && e.rto() < 25 * MS, "{e:?}");
    }

    #[test]
    fn timeouts_use_host_then_global_then_initial_and_back_off() {
        let b = Bounds { min: 10 * MS, max: 2000 * MS, initial: 1000 * MS };
        let mut t = Timing::new(b);
        let (a, c): (IpAddr, IpAddr) =
            ("198.18.0.1".parse().expect("ip"), "198.18.0.2".parse().expect("ip"));
        assert_eq!(t.timeout(a, 1), 1000 * MS, "initial");
        t.sample(a, 40 * MS);
        assert_eq!(t.timeout(a, 1), 120 * MS, "40 + 4 * 20");
        assert_eq!(t.timeout(c, 1), 120 * MS, "global for a host not heard from");
        assert_eq!(t.timeout(a, 2), 240 * MS, "doubled on the first retransmission");
        assert_eq!(t.timeout(a, 9), 1920 * MS, "capped back-off");
        t.sample(c, 1 * MS);
        assert_eq!(t.timeout(c, 1), 10 * MS, "clamped to the minimum");
        let slow = Bounds { max: 100 * MS, ..b };
        assert_eq!(Timing::new(slow).timeout(a, 1), 100 * MS, "clamped to --max-rtt");
    }
}
