//! Pacing: a global token bucket (`--rate`) and one per host
//! (`--host-rate`), both governor GCRA limiters read on tokio's clock,
//! each holding 4 ms of its rate and at least two cells (`burst`).
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

/// How long a bucket's burst lasts at its rate.
const BURST: Duration = Duration::from_millis(4);

/// The cells a bucket of `rate` holds: `BURST`'s worth, and at least two.
///
/// A waiting probe sleeps on tokio's timer, which ticks in milliseconds
/// and wakes late (by up to a tick, more on a loaded machine). A bucket of
/// one cell loses that lateness at every wait: at `--rate 600`, each
/// 1.7 ms gap became about 2.8 ms, and a scan sent 358 probes a second
/// (and 1,245 at `--rate 2000`). A bucket of a few cells keeps the credit
/// a late wake-up earned for the next cells, so a scan sends at the rate
/// asked. The price: at most the bucket leaves at once (4 ms worth above
/// 500 a second, 40 probes at `--rate 10000`; two probes below), and any
/// one second holds at most the rate plus the bucket less one (41 at
/// `--rate 40`, 10,039 at 10,000), which no network or host notices. The
/// same holds per host, where a finer spacing than the timer's tick
/// cannot be kept anyway (asking for one made each attempt at a high
/// `--host-rate` sleep a whole tick).
fn burst(rate: NonZeroU32) -> NonZeroU32 {
    let ms = u32::try_from(BURST.as_millis()).unwrap_or(u32::MAX);
    let cells = rate.get().saturating_mul(ms).div_ceil(1_000).max(2);
    NonZeroU32::new(cells).unwrap_or(NonZeroU32::MIN)
}

/// The global and per-host limiters.
#[derive(Debug)]
pub struct Pacer {
    clock: TokioClock,
    global: Global,
    per_host: PerHost,
}

impl Pacer {
    /// `rate` attempts per second in all, `host_rate` to any one host,
    /// each bucket holding `burst` of its rate.
    pub fn new(rate: NonZeroU32, host_rate: NonZeroU32) -> Self {
        let clock = TokioClock { start: Instant::now() };
        let (burst, host_burst) = (burst(rate), burst(host_rate));
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
        for _ in 0..102 {
            pacer.global().await;
            pacer.host(host).await;
        }
        // 102 cells at 100 a second, the bucket's two free: one second of
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

    #[test]
    fn a_bucket_holds_four_milliseconds_and_at_least_two_cells() {
        let cells = |rate: u32| burst(NonZeroU32::new(rate).expect("nonzero")).get();
        assert_eq!([1, 100, 600, 2_000, 10_000, 100_000].map(cells), [2, 2, 3, 8, 40, 400]);
        assert!(cells(u32::MAX) > 1_000_000, "saturates, never wraps");
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_wake_up_is_made_up_not_lost() {
        // 600 a second: a cell every 1.67 ms. Each wait here wakes a whole
        // millisecond late, as tokio's timer can; over one second the
        // pacer still lets 600 through (the bucket's three, then one per
        // cell), where a bucket of one sent 358.
        let rate = NonZeroU32::new(600).expect("nonzero");
        let pacer = Pacer::new(rate, NonZeroU32::new(100_000).expect("nonzero"));
        let start = Instant::now();
        let mut sent = 0u32;
        loop {
            // The wait the pacer asks for, and a tick more.
            while let Err(later) = pacer.global.check() {
                let wait = later.wait_time_from(pacer.clock.now());
                tokio::time::sleep(wait + Duration::from_millis(1)).await;
            }
            if start.elapsed() > Duration::from_secs(1) {
                break;
            }
            sent += 1;
        }
        assert!((600..=603).contains(&sent), "{sent} cells in one second at 600 a second");
    }
}
