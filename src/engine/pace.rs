//! Pacing: a global token bucket (`--rate`) and one per host
//! (`--host-rate`, paced to the millisecond: a host gets at most one
//! millisecond's share of its rate at once), both governor GCRA limiters,
//! read on tokio's clock.
//!
//! Why tokio's clock and not governor's default: governor's default clock
//! reads the CPU's time-stamp counter through `quanta`, calibrated against
//! the system clock at start-up; on a virtual machine that calibration was
//! seen to run about 15 % fast here, so `--rate 40` sent 46 SYNs a second
//! (the router's counter said so). tokio's clock is the monotonic clock,
//! and it is the one the engine's tests pause and advance, so pacing is
//! tested without real time (STYLE rule 10). For the same reason waiting
//! is a tokio sleep, not governor's own timer.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{NotUntil, Quota, RateLimiter};
use tokio::time::Instant;

/// tokio's monotonic clock, as time since the pacer was made.
#[derive(Debug, Clone, Copy)]
struct TokioClock {
    start: Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        self.start.elapsed()
    }
}

type Global = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;
type PerHost = RateLimiter<IpAddr, DashMapStateStore<IpAddr>, TokioClock, NoOpMiddleware<Duration>>;

/// The global and per-host limiters.
#[derive(Debug)]
pub struct Pacer {
    clock: TokioClock,
    global: Global,
    per_host: PerHost,
}

impl Pacer {
    /// `rate` attempts per second in all, `host_rate` to any one host.
    /// The global bucket allows a burst of 10 ms worth of `rate` (enough to
    /// fill the pipe, never a flood). A host's allows one millisecond's
    /// worth (one attempt below 1,000 a second): tokio's timer ticks in
    /// milliseconds, so a finer spacing cannot be kept anyway, and asking
    /// for it made every attempt at a high `--host-rate` sleep a whole tick
    /// (a 65,535-port sweep of one host took twice as long).
    pub fn new(rate: NonZeroU32, host_rate: NonZeroU32) -> Self {
        let clock = TokioClock { start: Instant::now() };
        let burst = NonZeroU32::new(rate.get() / 1_000).unwrap_or(NonZeroU32::MIN);
        let host_burst = NonZeroU32::new(host_rate.get() / 1_000).unwrap_or(NonZeroU32::MIN);
        Self {
            clock,
            global: RateLimiter::direct_with_clock(
                Quota::per_second(rate).allow_burst(burst),
                clock,
            ),
            per_host: RateLimiter::dashmap_with_clock(
                Quota::per_second(host_rate).allow_burst(host_burst),
                clock,
            ),
        }
    }

    /// Waits for the global bucket's next cell.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a cell is taken only when this returns.
    pub async fn global(&self) {
        while let Err(later) = self.global.check() {
            self.wait(&later).await;
        }
    }

    /// Waits for `host`'s bucket's next cell; says whether it had to wait.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a cell is taken only when this returns.
    pub async fn host(&self, host: IpAddr) -> bool {
        let mut waited = false;
        while let Err(later) = self.per_host.check_key(&host) {
            self.wait(&later).await;
            waited = true;
        }
        waited
    }

    async fn wait(&self, later: &NotUntil<Duration>) {
        tokio::time::sleep(later.wait_time_from(self.clock.now())).await;
    }

    /// Forgets the state of hosts whose buckets are full again, so a sweep
    /// of many hosts does not keep one entry per host forever.
    pub fn prune(&self) {
        self.per_host.retain_recent();
        self.per_host.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paces_on_tokios_clock() {
        let rate = NonZeroU32::new(100).expect("nonzero");
        let pacer = Pacer::new(rate, rate);
        let start = Instant::now();
        let host: IpAddr = "198.18.0.1".parse().expect("ip");
        for _ in 0..101 {
            pacer.global().await;
            pacer.host(host).await;
        }
        // 101 cells at 100 a second, the first free: one second of
        // (paused, virtual) time, exactly.
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        // Another host is not held back by the first one's bucket, only by
        // the global one.
        let other: IpAddr = "198.18.0.2".parse().expect("ip");
        let t = Instant::now();
        pacer.host(other).await;
        assert_eq!(t.elapsed(), Duration::ZERO);
        pacer.prune();
    }
}
