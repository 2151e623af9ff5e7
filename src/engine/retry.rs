//! How many attempts a silent probe gets, as nmap adapts its "tryno": at
//! least `--retries + 1`, and one more than the most any probe of the same
//! host needed before it was answered, up to `EXTRA` beyond `--retries`.
//!
//! Why: "filtered" must mean every attempt stayed silent, and on a lossy
//! path three attempts are not always enough. When a host's answers have
//! been seen to need the third attempt, the path loses two in a row often
//! enough that a silent port deserves a fourth before it is called
//! filtered. Through a path that loses bursts (scenario B: 20 ms, ~1 %
//! loss, 100k SYNs a second through a user-space relay), a fixed three
//! attempts misread one to three of 6,336 closed ports as filtered per
//! run. A host whose answers all come first time gets no extra attempt,
//! so a clean path pays nothing. Pure: no clock, no I/O.

use std::collections::HashMap;
use std::net::IpAddr;

/// Attempts beyond `--retries + 1` that a host's losses can earn.
pub const EXTRA: u8 = 2;

/// The retry policy of one scan.
#[derive(Debug, Clone, Default)]
pub struct Retries {
    retries: u8,
    /// Per host, the highest attempt (from 1) that was answered.
    needed: HashMap<IpAddr, u8>,
}

impl Retries {
    /// `retries`: how many times a silent probe is sent again at least.
    pub fn new(retries: u8) -> Self {
        Self { retries, needed: HashMap::new() }
    }

    /// A probe of `host` was answered on attempt `attempt` (from 1).
    pub fn on_answer(&mut self, host: IpAddr, attempt: u8) {
        if attempt > 1 {
            let n = self.needed.entry(host).or_insert(1);
            *n = (*n).max(attempt);
        }
    }

    /// Whether a probe of `host` whose `sent` attempts all stayed silent
    /// is sent again.
    pub fn again(&self, host: IpAddr, sent: u8) -> bool {
        let floor = self.retries.saturating_add(1);
        let earned = self.needed.get(&host).map_or(0, |n| n.saturating_add(1));
        let allowed = floor.max(earned).min(floor.saturating_add(EXTRA));
        sent < allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_path_gets_the_floor_and_a_lossy_one_earns_more() {
        let (clean, lossy): (IpAddr, IpAddr) =
            ("198.18.0.1".parse().expect("ip"), "198.18.0.2".parse().expect("ip"));
        let mut r = Retries::new(2);
        r.on_answer(clean, 1);
        assert!(r.again(clean, 2) && !r.again(clean, 3), "three attempts on a clean path");
        // An answer on the third attempt: silent probes get a fourth.
        r.on_answer(lossy, 3);
        assert!(r.again(lossy, 3) && !r.again(lossy, 4));
        // Never more than EXTRA beyond the floor, however late answers came.
        r.on_answer(lossy, 9);
        assert!(r.again(lossy, 4) && !r.again(lossy, 5));
        // Other hosts are not affected.
        assert!(!r.again(clean, 3));
        // --retries 0: one attempt, until losses are seen.
        let mut once = Retries::new(0);
        assert!(!once.again(clean, 1));
        once.on_answer(clean, 2);
        assert!(once.again(clean, 1) && !once.again(clean, 3));
    }
}
