//! Timeouts from measured round-trip times, RFC 6298 style: a smoothed RTT
//! and its variance per host, and a global pair for hosts not yet heard
//! from; the timeout is `srtt + 4 * rttvar`, clamped to `[min, max]`.
//!
//! Every answered attempt is sampled: the engine sends each attempt on its
//! own 4-tuple, so an answer always names its attempt and Karn's ambiguity
//! does not arise (nmap encodes its "tryno" for the same reason).
//!
//! Back-off that outlives one probe (RFC 6298 5.5 and 5.7): when a host
//! that has answered before falls silent *improbably*, its timeouts double,
//! and stay doubled for new probes until it answers again. Without this, a
//! host whose round trip jumps past what the retries allow would read as
//! filtered port after port, each probe starting again from the stale
//! estimate.
//!
//! But silence is also what a dropping firewall sends, so a run of silent
//! attempts counts only when the host's own answer rates make it unlikely:
//! with `p1` the share of its first attempts that were answered and `pr`
//! the share of its retransmissions, a run of `k1` silent first attempts
//! and `kr` silent retransmissions backs it off once
//! `(1 - p1)^k1 * (1 - pr)^kr` falls below `SURPRISE` (1 %). A host that
//! answers everything backs off within one probe's attempts; one behind a
//! firewall that drops most ports needs a long run, which its open and
//! closed ports keep breaking. Retransmissions are judged by their own
//! rate because they go to ports already silent, mostly filtered ones:
//! near the end of a 64k-probe lab scan only those were left, and judged
//! by the first attempts' rate their silence backed most hosts off, some
//! three times over, stretching the last probes to seconds. (A first version
//! backed off on any timeout with no answer meanwhile; with few probes in
//! flight per host, that ratcheted every filtering host up to the longest
//! timeout, and a 64k-probe scan through a dropping router took minutes.)
//! Hosts never heard from use the global estimate and never back off: a dead
//! address is not a slow one. At most one back-off per timeout period (an
//! epoch), however many silent attempts were in flight.
//!
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

/// The most times a host's timeouts are doubled (16x), before the bounds.
pub const MAX_BACKOFF: u8 = 4;

/// How unlikely a run of silent attempts must be, given the host's answer
/// rate, to be taken for a slower path rather than a filter.
pub const SURPRISE: f64 = 0.01;

/// Until a host's own retransmissions say otherwise, they are expected to
/// be answered as often as its first attempts, with the weight of this
/// many retransmissions seen: a host that answered everything and falls
/// silent backs off within one probe's attempts (with a weight of 2, a
/// path whose round trip jumped lost five probes to "filtered" before the
/// back-off caught up, instead of three), while a host whose thousands of
/// retransmissions went to filtered ports is judged by those.
const RETRY_PRIOR: f64 = 10.0;

/// A host's back-off epoch when an attempt left. Compared when the attempt
/// ends in silence, so the attempts in flight during one timeout period
/// back the host off once, not once each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stamp {
    epoch: u32,
    /// The attempt (from 1); 0 for a stamp taken before any attempt.
    attempt: u8,
}

/// One host's estimator, answer statistics and back-off.
#[derive(Debug, Clone, Copy)]
struct Host {
    rtt: RttEstimator,
    /// First attempts and retransmissions, answered and silent, before
    /// the current quiet run.
    first: Tally,
    retry: Tally,
    /// Silent first attempts and retransmissions since the last answer or
    /// back-off.
    run: Run,
    epoch: u32,
    backoff: u8,
}

/// Answered and silent attempts of one kind.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    answered: u64,
    silent: u64,
}

impl Tally {
    /// The share answered, starting from `prior` as if `weight` attempts
    /// had been seen at that rate (with 1/2, Laplace's rule of succession: a
    /// host heard from once is not taken to answer every time; found in
    /// review, its first silent attempt backed it off).
    fn rate(self, prior: f64, weight: f64) -> f64 {
        (self.answered as f64 + weight * prior) / ((self.answered + self.silent) as f64 + weight)
    }
}

/// A run of silent attempts, by kind.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    first: u32,
    retry: u32,
}

impl Host {
    /// The run ends: its silences join the tallies.
    fn end_run(&mut self) {
        self.first.silent += u64::from(self.run.first);
        self.retry.silent += u64::from(self.run.retry);
        self.run = Run::default();
    }

    /// How likely the current run is at the host's answer rates.
    /// Retransmissions start from the first attempts' rate
    /// (`RETRY_PRIOR`).
    fn chance_of_run(&self) -> f64 {
        let pow = |p: f64, k: u32| (1.0 - p).powi(i32::try_from(k).unwrap_or(i32::MAX));
        let first = self.first.rate(0.5, 2.0);
        pow(first, self.run.first) * pow(self.retry.rate(first, RETRY_PRIOR), self.run.retry)
    }
}

/// Per-host and global estimators.
#[derive(Debug, Clone)]
pub struct Timing {
    bounds: Bounds,
    global: Option<RttEstimator>,
    hosts: HashMap<IpAddr, Host>,
}

impl Timing {
    /// No samples yet.
    pub fn new(bounds: Bounds) -> Self {
        Self { bounds, global: None, hosts: HashMap::new() }
    }

    /// Records the round trip of attempt `attempt` (from 1) to `host`,
    /// answered; any back-off of the host ends (RFC 6298 5.7: a fresh
    /// sample resets the timer).
    pub fn sample(&mut self, host: IpAddr, rtt: Duration, attempt: u8) {
        match &mut self.global {
            Some(g) => g.sample(rtt),
            None => self.global = Some(RttEstimator::new(rtt)),
        }
        let h = self.hosts.entry(host).or_insert(Host {
            rtt: RttEstimator::new(rtt),
            first: Tally::default(),
            retry: Tally::default(),
            run: Run::default(),
            epoch: 0,
            backoff: 0,
        });
        if h.first.answered + h.retry.answered > 0 {
            h.rtt.sample(rtt);
        }
        if attempt > 1 {
            h.retry.answered += 1
        } else {
            h.first.answered += 1
        }
        h.end_run();
        h.backoff = 0;
    }

    /// The host's state as attempt `attempt` (from 1) leaves, for
    /// [`Timing::on_silence`].
    pub fn stamp(&self, host: IpAddr, attempt: u8) -> Stamp {
        Stamp { epoch: self.hosts.get(&host).map_or(0, |h| h.epoch), attempt }
    }

    /// An attempt that left at `stamp` timed out. If the host has answered
    /// before, the run of silence since is improbable at its answer rates
    /// (`SURPRISE`), and no other silent attempt already backed it off in
    /// this epoch, its timeouts double.
    pub fn on_silence(&mut self, host: IpAddr, stamp: Stamp) {
        let Some(h) = self.hosts.get_mut(&host) else { return };
        if stamp.attempt > 1 {
            h.run.retry = h.run.retry.saturating_add(1);
        } else {
            h.run.first = h.run.first.saturating_add(1);
        }
        if h.chance_of_run() < SURPRISE && h.epoch == stamp.epoch && h.backoff < MAX_BACKOFF {
            h.backoff += 1;
            h.epoch += 1;
            h.end_run();
            tracing::debug!(
                %host,
                backoff = h.backoff,
                rto_ms = u64::try_from(h.rtt.rto().as_millis()).unwrap_or(u64::MAX),
                "host fell silent: timeouts doubled"
            );
        }
    }

    /// The host's timeout without any back-off (its own estimate, else the
    /// global one, else the initial timeout), clamped: what the path's
    /// round trip alone asks for.
    pub fn base_timeout(&self, host: IpAddr) -> Duration {
        let base = match (self.hosts.get(&host), self.global.as_ref()) {
            (Some(h), _) => h.rtt.rto(),
            (None, Some(g)) => g.rto(),
            (None, None) => self.bounds.initial,
        };
        base.clamp(self.bounds.min, self.bounds.max.max(self.bounds.min))
    }

    /// How long to wait for `host` to answer: its own estimate, else the
    /// global one, else the initial timeout, clamped to the bounds. A
    /// retransmission waits twice as long per attempt already made (RFC
    /// 6298's back-off), still clamped.
    pub fn timeout(&self, host: IpAddr, attempt: u8) -> Duration {
        let (base, kept) = match (self.hosts.get(&host), self.global.as_ref()) {
            (Some(h), _) => (h.rtt.rto(), u32::from(h.backoff)),
            (None, Some(g)) => (g.rto(), 0),
            (None, None) => (self.bounds.initial, 0),
        };
        // A retransmission doubles per attempt already made (at most 4
        // times, as before), on top of the back-off the host keeps.
        let doublings = kept + u32::from(attempt.saturating_sub(1).min(4));
        let backed_off = base.saturating_mul(1 << doublings);
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
        t.sample(a, 40 * MS, 1);
        assert_eq!(t.timeout(a, 1), 120 * MS, "40 + 4 * 20");
        assert_eq!(t.timeout(c, 1), 120 * MS, "global for a host not heard from");
        assert_eq!(t.timeout(a, 2), 240 * MS, "doubled on the first retransmission");
        assert_eq!(t.timeout(a, 9), 1920 * MS, "capped back-off");
        t.sample(c, 1 * MS, 1);
        assert_eq!(t.timeout(c, 1), 10 * MS, "clamped to the minimum");
        let slow = Bounds { max: 100 * MS, ..b };
        assert_eq!(Timing::new(slow).timeout(a, 1), 100 * MS, "clamped to --max-rtt");
    }

    #[test]
    fn a_host_gone_quiet_keeps_its_back_off_until_it_answers() {
        let b = Bounds { min: 10 * MS, max: 10_000 * MS, initial: 1000 * MS };
        let mut t = Timing::new(b);
        let a: IpAddr = "198.18.0.1".parse().expect("ip");
        // A host that answered every attempt so far.
        t.sample(a, 40 * MS, 1);
        assert_eq!(t.timeout(a, 1), 120 * MS);
        for _ in 0..49 {
            t.sample(a, 40 * MS, 1);
        }
        let base = t.timeout(a, 1);
        // Three probes in flight, all silent, nothing heard meanwhile: one
        // back-off for the epoch, not three.
        let stamps = [t.stamp(a, 1), t.stamp(a, 1), t.stamp(a, 1)];
        for s in stamps {
            t.on_silence(a, s);
        }
        assert_eq!(t.timeout(a, 1), base * 2, "new probes start backed off");
        assert_eq!(t.timeout(a, 2), base * 4, "and retransmissions double on top");
        // Further improbable silence doubles again, up to MAX_BACKOFF.
        for _ in 0..40 {
            let s = t.stamp(a, 1);
            t.on_silence(a, s);
        }
        assert_eq!(t.timeout(a, 1), base * 16);
        // A fresh sample ends it, and it follows the new round trip.
        t.sample(a, 400 * MS, 1);
        let after = t.timeout(a, 1);
        assert!(after > 400 * MS && after < base * 16, "{after:?}");
    }

    #[test]
    fn silence_at_a_filtering_hosts_usual_rate_is_a_filter_not_a_slow_path() {
        let b = Bounds { min: 10 * MS, max: 10_000 * MS, initial: 1000 * MS };
        let mut t = Timing::new(b);
        let (a, dead): (IpAddr, IpAddr) =
            ("198.18.0.1".parse().expect("ip"), "198.18.0.9".parse().expect("ip"));
        // A host behind a firewall that drops most ports: one answer in
        // ten attempts, in a steady mix.
        for _ in 0..100 {
            t.sample(a, 40 * MS, 1);
            for _ in 0..9 {
                let s = t.stamp(a, 1);
                t.on_silence(a, s);
            }
        }
        // Twenty silent attempts in a row: 0.9^20 is 12 %, no surprise.
        for _ in 0..11 {
            let s = t.stamp(a, 1);
            t.on_silence(a, s);
        }
        assert!(t.timeout(a, 1) < 240 * MS, "no back-off: {:?}", t.timeout(a, 1));
        let steady = t.timeout(a, 1);
        // A hundred more (0.9^120): the path changed, not the filter.
        for _ in 0..100 {
            let s = t.stamp(a, 1);
            t.on_silence(a, s);
        }
        assert!(t.timeout(a, 1) >= steady * 2, "backed off: {:?}", t.timeout(a, 1));
        t.sample(a, 40 * MS, 1);
        // A host never heard from is not backed off either.
        for _ in 0..5 {
            let s = t.stamp(dead, 1);
            t.on_silence(dead, s);
        }
        assert_eq!(t.timeout(dead, 1), t.timeout(a, 1), "uses the global estimate");
    }

    #[test]
    fn retransmissions_are_judged_by_their_own_answer_rate() {
        let b = Bounds { min: 10 * MS, max: 10_000 * MS, initial: 1000 * MS };
        let mut t = Timing::new(b);
        let a: IpAddr = "198.18.0.1".parse().expect("ip");
        // A filtering host: one first attempt in ten answered, and its
        // retransmissions (to ports silent already) almost never.
        for i in 0..200 {
            t.sample(a, 40 * MS, if i % 50 == 0 { 2 } else { 1 });
            for _ in 0..9 {
                let s = t.stamp(a, 1);
                t.on_silence(a, s);
            }
            for _ in 0..20 {
                let s = t.stamp(a, 2);
                t.on_silence(a, s);
            }
        }
        let base = t.timeout(a, 1);
        // The end of its scan: only retransmissions left, hundreds of them
        // silent in a row. Expected; no back-off.
        for _ in 0..300 {
            let s = t.stamp(a, 2);
            t.on_silence(a, s);
        }
        assert_eq!(t.timeout(a, 1), base);
        // First attempts falling silent as often are a surprise.
        for _ in 0..60 {
            let s = t.stamp(a, 1);
            t.on_silence(a, s);
        }
        assert!(t.timeout(a, 1) > base);
        assert_eq!(t.base_timeout(a), base, "the base ignores the back-off");
        // A host that answers everything backs off within one probe's
        // three attempts.
        let c: IpAddr = "198.18.0.2".parse().expect("ip");
        for _ in 0..30 {
            t.sample(c, 40 * MS, 1);
        }
        let before = t.timeout(c, 1);
        for attempt in 1..=3 {
            let s = t.stamp(c, attempt);
            t.on_silence(c, s);
        }
        assert!(t.timeout(c, 1) > before);
    }
}
