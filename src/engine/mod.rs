//! The scheduler: probes come lazily from the plan, one dispatcher owns
//! every in-flight attempt, and results flow to the caller through a bounded
//! channel. It knows nothing about intent: it takes probes, returns facts.
//!
//! Bounds, all enforced here (STYLE rule 9):
//! - in flight: the congestion window (`congestion`), itself capped by the
//!   socket budget derived from the file-descriptor limit (`limits`); the
//!   `JoinSet` of attempts *is* the in-flight set;
//! - rate: a global token bucket (`--rate`) and one per host
//!   (`--host-rate`, burst 1, so no host ever gets a burst), with governor;
//! - time: each attempt waits a timeout derived from measured RTTs
//!   (`timing`), so a run finishes on timers, never on a packet's arrival.
//!
//! Retries: only attempts that stayed silent are sent again (with RFC 6298
//! back-off), up to `retries` times; filtered (TCP) and open|filtered (UDP)
//! mean every attempt was silent. An answer to a retransmission (proof that
//! an attempt was lost) halves the window; silence alone does not, since
//! a dropping firewall is not congestion. Local pressure (EMFILE, ephemeral
//! ports) shrinks it and re-queues the attempt without counting it.
//!
//! Cancellation: when the token fires, no new attempt starts; attempts in
//! flight are dropped (their sockets close), and probes that never got an
//! answer are not reported, so the caller's trailer can say "incomplete".

pub mod congestion;
pub mod limits;
pub mod net;
pub mod timing;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{Quota, RateLimiter};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::plan::Probe;
use crate::probe::{TcpOutcome, UdpOutcome};
use crate::spec::intent::Proto;
use congestion::Window;
use net::Net;
use timing::{Bounds, Timing};

/// How to scan.
#[derive(Debug, Clone)]
pub struct Config {
    /// Attempts per second, all targets together.
    pub rate: NonZeroU32,
    /// Attempts per second to any one host.
    pub host_rate: NonZeroU32,
    /// How many times a silent attempt is sent again.
    pub retries: u8,
    /// Timeout bounds.
    pub bounds: Bounds,
    /// Most attempts in flight (the socket budget).
    pub max_parallel: usize,
    /// How long to wait for a banner on an open TCP port (0: don't read).
    pub banner: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rate: NonZeroU32::new(10_000).unwrap_or(NonZeroU32::MIN),
            host_rate: NonZeroU32::new(1_000).unwrap_or(NonZeroU32::MIN),
            retries: 2,
            bounds: Bounds::default(),
            max_parallel: 1_024,
            banner: Duration::from_millis(250),
        }
    }
}

/// Port states as nmap defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Answered: the handshake completed, or a UDP response came back.
    Open,
    /// Refused: a RST, or ICMP port unreachable for UDP.
    Closed,
    /// An ICMP unreachable, or (TCP) every attempt silent.
    Filtered,
    /// UDP: every attempt silent.
    OpenFiltered,
}

/// Why a state was concluded, as nmap's `--reason` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// TCP connect completed.
    Connected,
    /// TCP connect refused (RST).
    ConnRefused,
    /// A loopback connect met itself: nothing listens.
    SelfConnect,
    /// A UDP datagram came back.
    UdpResponse,
    /// ICMP port unreachable.
    PortUnreachable,
    /// Another ICMP unreachable (host, network, prohibited).
    HostUnreachable,
    /// Every attempt was silent.
    NoResponse,
    /// This machine could not probe the target.
    LocalError,
}

/// The conclusion about one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// The probe.
    pub probe: Probe,
    /// Its state.
    pub state: State,
    /// Why.
    pub reason: Reason,
    /// Attempts sent (local-pressure retries not counted).
    pub attempts: u8,
    /// Round trip of the answer that decided it.
    pub rtt: Option<Duration>,
    /// First bytes an open TCP port sent, or a UDP response's.
    pub banner: Option<Vec<u8>>,
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Attempts sent.
    pub attempts: u64,
    /// Probes concluded (results sent).
    pub concluded: u64,
    /// Probes given up on because of local errors.
    pub local_errors: u64,
    /// Whether the run was cancelled before every probe was concluded.
    pub interrupted: bool,
    /// The smallest the congestion window got (for reports and tests).
    pub min_window: usize,
}

/// One attempt's outcome, protocol-independent.
enum Attempt {
    Answer { state: State, reason: Reason, rtt: Duration, banner: Option<Vec<u8>> },
    Silent,
    Pressure,
    Local,
}

impl From<TcpOutcome> for Attempt {
    fn from(o: TcpOutcome) -> Self {
        match o {
            TcpOutcome::Open { rtt, banner } => {
                Self::Answer { state: State::Open, reason: Reason::Connected, rtt, banner }
            }
            TcpOutcome::Refused { rtt } => Self::Answer {
                state: State::Closed,
                reason: Reason::ConnRefused,
                rtt,
                banner: None,
            },
            TcpOutcome::SelfConnect => Self::Answer {
                state: State::Closed,
                reason: Reason::SelfConnect,
                rtt: Duration::ZERO,
                banner: None,
            },
            TcpOutcome::Unreachable { rtt } => Self::Answer {
                state: State::Filtered,
                reason: Reason::HostUnreachable,
                rtt,
                banner: None,
            },
            TcpOutcome::Silent => Self::Silent,
            TcpOutcome::LocalPressure(_) => Self::Pressure,
            TcpOutcome::LocalError(_) => Self::Local,
        }
    }
}

impl From<UdpOutcome> for Attempt {
    fn from(o: UdpOutcome) -> Self {
        match o {
            UdpOutcome::Response { rtt, bytes } => Self::Answer {
                state: State::Open,
                reason: Reason::UdpResponse,
                rtt,
                banner: Some(bytes),
            },
            UdpOutcome::PortUnreachable { rtt } => Self::Answer {
                state: State::Closed,
                reason: Reason::PortUnreachable,
                rtt,
                banner: None,
            },
            UdpOutcome::Unreachable { rtt } => Self::Answer {
                state: State::Filtered,
                reason: Reason::HostUnreachable,
                rtt,
                banner: None,
            },
            UdpOutcome::Silent => Self::Silent,
            UdpOutcome::LocalPressure(_) => Self::Pressure,
            UdpOutcome::LocalError(_) => Self::Local,
        }
    }
}

/// A probe waiting for (another) attempt.
#[derive(Debug, Clone, Copy)]
struct Pending {
    probe: Probe,
    /// Attempts already sent.
    sent: u8,
}

/// Runs `probes` to completion (or cancellation), sending one `ProbeResult`
/// per concluded probe to `out`.
///
/// # Cancel safety
///
/// Not meant for `select!`: cancel through `cancel`, which stops new
/// attempts and returns promptly with `interrupted` set.
pub async fn run<N: Net>(
    net: Arc<N>,
    config: &Config,
    probes: impl Iterator<Item = Probe>,
    out: mpsc::Sender<ProbeResult>,
    cancel: CancellationToken,
) -> Summary {
    let max = config.max_parallel.max(1);
    let mut window = Window::new(max.min(64), 1, max);
    let mut timing = Timing::new(config.bounds);
    let global =
        RateLimiter::direct(Quota::per_second(config.rate).allow_burst(burst(config.rate)));
    let per_host = Arc::new(RateLimiter::keyed(
        Quota::per_second(config.host_rate).allow_burst(NonZeroU32::MIN),
    ));
    let mut probes = probes.peekable();
    let mut retry: VecDeque<Pending> = VecDeque::new();
    let mut inflight: JoinSet<(Pending, Attempt)> = JoinSet::new();
    let mut summary = Summary { min_window: window.size(), ..Summary::default() };
    // Our own token, cancelled with the caller's, and also when results can
    // no longer be delivered (the receiver is gone): then nothing more we
    // learn can reach anyone, and scanning on would only send packets.
    let cancel = cancel.child_token();

    loop {
        // Reap answers while the window is full, or while nothing is left
        // to send but attempts are in flight (they may re-queue retries).
        while inflight.len() >= window.size().max(1)
            || (!inflight.is_empty() && retry.is_empty() && probes.peek().is_none())
        {
            let Some(done) = next_done(&mut inflight, &cancel).await else { break };
            conclude(
                done,
                config,
                &mut window,
                &mut timing,
                &mut retry,
                &out,
                &mut summary,
                &cancel,
            )
            .await;
        }
        if cancel.is_cancelled() {
            break;
        }
        let Some(pending) =
            retry.pop_front().or_else(|| probes.next().map(|probe| Pending { probe, sent: 0 }))
        else {
            break;
        };
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = global.until_ready() => {}
        }
        let host = pending.probe.target.addr();
        let wait = timing.timeout(host, pending.sent + 1);
        let net = Arc::clone(&net);
        let per_host = Arc::clone(&per_host);
        let banner = config.banner;
        summary.attempts += 1;
        inflight.spawn(async move {
            per_host.until_key_ready(&host).await;
            let target = SocketAddr::new(host, pending.probe.port);
            let attempt = match pending.probe.proto {
                Proto::Tcp => Attempt::from(net.tcp(target, wait, banner).await),
                Proto::Udp => Attempt::from(net.udp(target, wait).await),
            };
            (Pending { sent: pending.sent + 1, ..pending }, attempt)
        });
        summary.min_window = summary.min_window.min(window.size());
    }
    if cancel.is_cancelled() {
        inflight.abort_all();
        summary.interrupted = true;
    }
    summary
}

/// How long to pause after the system refused a socket (EMFILE and kin).
const PRESSURE_PAUSE: Duration = Duration::from_millis(10);

/// A start-up burst of 10 ms worth of the global rate: enough to fill the
/// pipe, never a flood.
fn burst(rate: NonZeroU32) -> NonZeroU32 {
    NonZeroU32::new(rate.get() / 100).unwrap_or(NonZeroU32::MIN)
}

/// The next finished attempt, or `None` when none is in flight or the run
/// is cancelled.
async fn next_done(
    inflight: &mut JoinSet<(Pending, Attempt)>,
    cancel: &CancellationToken,
) -> Option<(Pending, Attempt)> {
    loop {
        let joined = tokio::select! {
            () = cancel.cancelled() => return None,
            j = inflight.join_next() => j?,
        };
        // A task that panicked or was aborted has nothing to report; the
        // probe is then simply not concluded (and the run incomplete).
        if let Ok(done) = joined {
            return Some(done);
        }
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "the dispatcher's state, passed apart so each borrow stays narrow"
)]
async fn conclude(
    (pending, attempt): (Pending, Attempt),
    config: &Config,
    window: &mut Window,
    timing: &mut Timing,
    retry: &mut VecDeque<Pending>,
    out: &mpsc::Sender<ProbeResult>,
    summary: &mut Summary,
    cancel: &CancellationToken,
) {
    let host: IpAddr = pending.probe.target.addr();
    let result = match attempt {
        Attempt::Answer { state, reason, rtt, banner } => {
            // Karn: only a first attempt's answer is a clean RTT sample.
            if pending.sent == 1 && reason != Reason::SelfConnect {
                timing.sample(host, rtt);
            }
            // An answer to a retransmission proves an earlier attempt was
            // lost: that, not silence, is the congestion signal. A port
            // that never answers is filtered, and says nothing about the
            // path; treating its silence as loss would collapse the window
            // on every firewall that drops.
            if pending.sent > 1 {
                window.on_loss();
            } else {
                window.on_answer();
            }
            ProbeResult {
                probe: pending.probe,
                state,
                reason,
                attempts: pending.sent,
                rtt: Some(rtt),
                banner,
            }
        }
        Attempt::Silent => {
            if pending.sent <= config.retries {
                retry.push_back(pending);
                return;
            }
            let state = match pending.probe.proto {
                Proto::Tcp => State::Filtered,
                Proto::Udp => State::OpenFiltered,
            };
            ProbeResult {
                probe: pending.probe,
                state,
                reason: Reason::NoResponse,
                attempts: pending.sent,
                rtt: None,
                banner: None,
            }
        }
        Attempt::Pressure => {
            window.on_local_pressure();
            // Give the system a moment to free what it ran out of.
            tokio::time::sleep(PRESSURE_PAUSE).await;
            // Not the target's doing: try again without counting the attempt.
            retry.push_back(Pending { sent: pending.sent.saturating_sub(1), ..pending });
            summary.attempts = summary.attempts.saturating_sub(1);
            return;
        }
        Attempt::Local => {
            summary.local_errors += 1;
            ProbeResult {
                probe: pending.probe,
                state: State::Filtered,
                reason: Reason::LocalError,
                attempts: pending.sent,
                rtt: None,
                banner: None,
            }
        }
    };
    summary.min_window = summary.min_window.min(window.size());
    // A stalled consumer must not keep a cancelled run alive, and a result
    // counts as concluded only once it was delivered.
    tokio::select! {
        () = cancel.cancelled() => {}
        sent = out.send(result) => match sent {
            Ok(()) => summary.concluded += 1,
            Err(_) => cancel.cancel(),
        },
    }
}

#[cfg(test)]
mod tests;
