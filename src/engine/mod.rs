//! The scheduler: probes come lazily from the plan, one dispatcher owns
//! every in-flight attempt, and results flow to the caller through a bounded
//! channel. It knows nothing about intent: it takes probes, returns facts.
//!
//! Bounds, all enforced here (STYLE rule 9):
//! - in flight: the congestion window (`congestion`), itself capped by the
//!   socket budget derived from the file-descriptor limit (`limits`); the
//!   dispatcher's `FuturesUnordered` of attempts *is* the in-flight set;
//! - rate: a global token bucket (`--rate`) and one per host
//!   (`--host-rate`), each holding 4 ms of its rate and at least two
//!   cells, with governor on tokio's clock (`pace`); an attempt held back by its host's bucket takes a fresh
//!   global cell before it leaves;
//! - time: each attempt waits a timeout derived from measured RTTs
//!   (`timing`), so a run finishes on timers, never on a packet's arrival.
//!
//! Retries: only attempts that stayed silent are sent again (with RFC 6298
//! back-off), `retries` times, and more for a host whose answers have been
//! seen to need more (`retry`); filtered (TCP) and open|filtered (UDP)
//! mean every attempt was silent. An answer to a retransmission (proof that
//! an attempt was lost) and replies lost in our own receive buffers
//! (`Net::receive_drops`) are congestion and may halve the window; silence
//! alone is not, since a dropping firewall is not congestion. Local
//! pressure (EMFILE, ephemeral ports) shrinks it and re-queues the attempt
//! after a pause, without counting it, at most `MAX_PRESSURE` times.
//!
//! Every attempt travels on its own 4-tuple (`Net::tcp`), so every answer,
//! retransmissions' included, is a clean round-trip sample; a host that
//! answered before and then falls improbably silent has its timeouts
//! backed off until it answers again (`timing`).
//!
//! Attempts are futures in the dispatcher's `FuturesUnordered`. On a
//! multi-threaded runtime each is spawned as a task (aborted when dropped),
//! so the kernel work of many connect() calls spreads over the cores; on a
//! current-thread runtime they are polled in place. The CLI runs SYN scans
//! on a current-thread runtime: a SYN costs one `sendto`, and spawning a
//! task per attempt then cost more than the probe (a 65,535-port loopback
//! sweep spent its time waking worker threads, and held 40 MiB of tasks
//! instead of 8). Either way dropping the set drops every attempt.
//!
//! Cancellation: when the token fires, no new attempt starts; attempts in
//! flight are dropped (their sockets close), and probes that never got an
//! answer are not reported, so the caller's trailer can say "incomplete".

pub mod congestion;
pub mod limits;
pub mod net;
pub mod pace;
pub mod retry;
pub mod timing;

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use crate::plan::Probe;
use crate::probe::{TcpOutcome, UdpOutcome};
use crate::spec::intent::Proto;
use congestion::Window;
use net::Net;
use pace::Pacer;
use retry::Retries;
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
    /// Another ICMP unreachable (host, network, prohibited), as the
    /// kernel reported it to a socket, without type and code.
    HostUnreachable,
    /// An ICMP destination unreachable quoting our SYN, read off a raw
    /// socket with its type and code.
    Icmp {
        /// ICMP type (3, or 1 for ICMPv6).
        icmp_type: u8,
        /// ICMP code.
        code: u8,
    },
    /// This machine could not probe the target.
    LocalError,
    /// Every attempt was silent.
    NoResponse,
    /// ICMP port unreachable (UDP).
    PortUnreachable,
    /// SYN answered with RST.
    Rst,
    /// A loopback connect met itself: nothing listens.
    SelfConnect,
    /// SYN answered with SYN-ACK.
    SynAck,
    /// A UDP datagram came back.
    UdpResponse,
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
    /// Answers this machine itself dropped (receive buffers full).
    pub receive_drops: u64,
}

/// One attempt's outcome, protocol-independent.
enum Attempt {
    Answer {
        state: State,
        reason: Reason,
        rtt: Duration,
        banner: Option<Vec<u8>>,
        /// The attempt answered (from 1), when the probe says so; `None`
        /// means the attempt that returned it.
        answered: Option<u8>,
    },
    Silent,
    Pressure,
    Local,
}

impl From<TcpOutcome> for Attempt {
    fn from(o: TcpOutcome) -> Self {
        match o {
            TcpOutcome::Open { rtt, banner } => Self::Answer {
                state: State::Open,
                reason: Reason::Connected,
                rtt,
                banner,
                answered: None,
            },
            TcpOutcome::Refused { rtt } => Self::Answer {
                state: State::Closed,
                reason: Reason::ConnRefused,
                rtt,
                banner: None,
                answered: None,
            },
            TcpOutcome::SelfConnect => Self::Answer {
                state: State::Closed,
                reason: Reason::SelfConnect,
                rtt: Duration::ZERO,
                banner: None,
                answered: None,
            },
            TcpOutcome::Unreachable { rtt } => Self::Answer {
                state: State::Filtered,
                reason: Reason::HostUnreachable,
                rtt,
                banner: None,
                answered: None,
            },
            TcpOutcome::SynAck { rtt, banner, attempt } => Self::Answer {
                state: State::Open,
                reason: Reason::SynAck,
                rtt,
                banner,
                answered: Some(attempt),
            },
            TcpOutcome::Rst { rtt, attempt } => Self::Answer {
                state: State::Closed,
                reason: Reason::Rst,
                rtt,
                banner: None,
                answered: Some(attempt),
            },
            TcpOutcome::Icmp { rtt, icmp_type, code, attempt } => Self::Answer {
                state: State::Filtered,
                reason: Reason::Icmp { icmp_type, code },
                rtt,
                banner: None,
                answered: Some(attempt),
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
                answered: None,
            },
            UdpOutcome::PortUnreachable { rtt } => Self::Answer {
                state: State::Closed,
                reason: Reason::PortUnreachable,
                rtt,
                banner: None,
                answered: None,
            },
            UdpOutcome::Unreachable { rtt } => Self::Answer {
                state: State::Filtered,
                reason: Reason::HostUnreachable,
                rtt,
                banner: None,
                answered: None,
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
    /// Times the local system refused to let it go (EMFILE and kin).
    pressure: u8,
    /// The host's timing state when the last attempt left.
    stamp: timing::Stamp,
}

impl Pending {
    fn new(probe: Probe) -> Self {
        Self { probe, sent: 0, pressure: 0, stamp: timing::Stamp::default() }
    }
}

/// How many times one probe may be put back for local pressure before it
/// is given up as a local error (at the longest pause, about 10 s).
const MAX_PRESSURE: u8 = 100;

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
    // The window starts at what `--rate` fills in 100 ms (Little's law for
    // a probe that lives about a timeout), at least 64: the rate is the
    // user's cap, and the window's job is to back off from it on proven
    // loss. Starting at 64 and growing only on answers, a scan through a
    // firewall that drops most ports (whose silent probes hold their slots
    // for every retry's timeout) crawled: 64,000 probes to 32 hosts took
    // 14 s at 20 ms RTT.
    let initial = usize::try_from(config.rate.get() / 10).unwrap_or(usize::MAX).max(64).min(max);
    let mut window = Window::new(initial, 1, max);
    tracing::info!(
        rate = config.rate.get(),
        host_rate = config.host_rate.get(),
        retries = config.retries,
        window = initial,
        max_in_flight = max,
        min_rtt_ms = u64::try_from(config.bounds.min.as_millis()).unwrap_or(u64::MAX),
        max_rtt_ms = u64::try_from(config.bounds.max.as_millis()).unwrap_or(u64::MAX),
        "engine started"
    );
    let mut timing = Timing::new(config.bounds);
    let mut retries = Retries::new(config.retries);
    let pacer = Arc::new(Pacer::new(config.rate, config.host_rate));
    let mut probes = probes.peekable();
    let mut retry = Queue::default();
    let spread = net.hears_late_answers();
    let mut inflight: FuturesUnordered<InFlight> = FuturesUnordered::new();
    let mut summary = Summary { min_window: window.size(), ..Summary::default() };
    let mut drops_seen = net.receive_drops();
    let mut conclusions: u64 = 0;
    // Our own token, cancelled with the caller's, and also when results can
    // no longer be delivered (the receiver is gone): then nothing more we
    // learn can reach anyone, and scanning on would only send packets.
    let cancel = cancel.child_token();

    loop {
        retry.wake(Instant::now());
        let more = retry.has_ready() || probes.peek().is_some();
        let room = inflight.len() < window.size().max(1);
        let resting = retry.next_due();
        if !more && inflight.is_empty() && resting.is_none() {
            break;
        }
        // One event at a time: a finished attempt (reaped first, so the
        // window and the timers stay current), or, when the window has
        // room and something is left to send, the rate limiter's next cell.
        // Attempts are polled here too, so waiting for the rate never
        // delays an answer or a timeout.
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            Some(done) = inflight.next(), if !inflight.is_empty() => {
                // Answers lost in our own buffers: congestion, like a
                // proven loss (their probes stay silent and are retried).
                let drops = net.receive_drops();
                if drops > drops_seen {
                    summary.receive_drops += drops - drops_seen;
                    tracing::debug!(
                        dropped = drops - drops_seen,
                        "answers dropped in this machine's receive buffers: window cut"
                    );
                    drops_seen = drops;
                    window.on_congestion();
                    tracing::debug!(window = window.size(), "congestion window");
                }
                conclusions += 1;
                if conclusions.is_multiple_of(PRUNE_EVERY) {
                    // Forget per-host pacing state of hosts no longer paced.
                    pacer.prune();
                }
                conclude(
                    done,
                    &mut window,
                    &mut timing,
                    &mut retries,
                    &mut retry,
                    spread,
                    &out,
                    &mut summary,
                    &cancel,
                )
                .await;
            }
            // Room in the sending path first, then the rate's cell, so no
            // cell is spent on an attempt that would wait in memory.
            () = async { net.ready().await; pacer.global().await }, if more && room => {
                let Some(pending) = retry.pop().or_else(|| probes.next().map(Pending::new))
                else {
                    continue;
                };
                summary.attempts += 1;
                inflight.push(attempt(&net, &pacer, &mut timing, pending, config.banner));
                summary.min_window = summary.min_window.min(window.size());
            }
            // Only retries resting until their time are left (or the
            // window is full and they will be due first): wake for them.
            () = sleep_until(resting.unwrap_or_else(Instant::now)), if resting.is_some() => {}
        }
    }
    tracing::info!(
        attempts = summary.attempts,
        concluded = summary.concluded,
        local_errors = summary.local_errors,
        min_window = summary.min_window,
        receive_drops = summary.receive_drops,
        interrupted = cancel.is_cancelled(),
        "engine finished"
    );
    if cancel.is_cancelled() {
        // Dropping the attempts closes their sockets and leaves the
        // pending table; nothing half-done is reported.
        drop(inflight);
        summary.interrupted = true;
    }
    summary
}

/// Probes waiting for another attempt: ready now, or resting until a time.
#[derive(Debug, Default)]
struct Queue {
    ready: VecDeque<Pending>,
    resting: BTreeMap<(Instant, u64), Pending>,
    /// Tie-breaker, so two probes resting until the same instant both stay.
    seq: u64,
}

impl Queue {
    fn push(&mut self, p: Pending) {
        self.ready.push_back(p);
    }

    fn rest(&mut self, p: Pending, until: Instant) {
        self.seq += 1;
        self.resting.insert((until, self.seq), p);
    }

    /// Moves the probes whose rest is over to the ready queue.
    fn wake(&mut self, now: Instant) {
        while let Some(entry) = self.resting.first_entry() {
            if entry.key().0 > now {
                break;
            }
            self.ready.push_back(entry.remove());
        }
    }

    fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    fn next_due(&self) -> Option<Instant> {
        self.resting.keys().next().map(|(at, _)| *at)
    }

    fn pop(&mut self) -> Option<Pending> {
        self.ready.pop_front()
    }
}

/// An attempt in flight: a future the dispatcher polls until it yields the
/// probe (with its attempt counted) and what the network said.
type InFlight = Pin<Box<dyn Future<Output = (Pending, Attempt)> + Send>>;

/// Starts the next attempt of `pending`: its timeout from the host's
/// timing, then (inside the future, so the dispatcher keeps reaping) any
/// pressure pause and the host's rate limit, then the probe itself.
fn attempt<N: Net>(
    net: &Arc<N>,
    pacer: &Arc<Pacer>,
    timing: &mut Timing,
    mut pending: Pending,
    banner: Duration,
) -> InFlight {
    let host = pending.probe.target.addr();
    let attempt_no = pending.sent + 1;
    // See `Net::hears_late_answers`.
    let wait = timing.timeout(host, if net.hears_late_answers() { 1 } else { attempt_no });
    pending.stamp = timing.stamp(host, attempt_no);
    let net = Arc::clone(net);
    let pacer = Arc::clone(pacer);
    let lost = (Pending { sent: attempt_no, ..pending }, Attempt::Local);
    let attempt = async move {
        if pending.pressure > 0 {
            // Give the system a moment to free what it ran out of.
            let pause = PRESSURE_PAUSE * u32::from(pending.pressure.min(10));
            tokio::time::sleep(pause).await;
        }
        // The dispatcher took a global cell when it started this attempt;
        // if the host's bucket then held it back, that cell is spent and
        // the packet leaves later, so it takes a fresh one: sends in any
        // second stay within --rate and the global bucket's one extra cell
        // (found in review: with a low --host-rate, held-back attempts left
        // together with fresh ones).
        if pacer.host(host).await {
            pacer.global().await;
        }
        let target = SocketAddr::new(host, pending.probe.port);
        let attempt = match pending.probe.proto {
            Proto::Tcp => Attempt::from(net.tcp(target, attempt_no, wait, banner).await),
            Proto::Udp => Attempt::from(net.udp(target, wait).await),
        };
        (Pending { sent: attempt_no, ..pending }, attempt)
    };
    match Handle::current().runtime_flavor() {
        RuntimeFlavor::CurrentThread => Box::pin(attempt),
        _ => {
            let task = AbortOnDropHandle::new(tokio::spawn(attempt));
            // A task that panicked concluded nothing about the target: a
            // local error, reported as such.
            Box::pin(async move { task.await.unwrap_or(lost) })
        }
    }
}

/// How long to pause after the system refused a socket (EMFILE and kin),
/// per refusal so far (up to ten).
const PRESSURE_PAUSE: Duration = Duration::from_millis(10);

/// Conclusions between two prunings of the per-host rate limiter.
const PRUNE_EVERY: u64 = 4_096;

#[allow(
    clippy::too_many_arguments,
    reason = "the dispatcher's state, passed apart so each borrow stays narrow"
)]
async fn conclude(
    (pending, attempt): (Pending, Attempt),
    window: &mut Window,
    timing: &mut Timing,
    retries: &mut Retries,
    retry: &mut Queue,
    spread: bool,
    out: &mpsc::Sender<ProbeResult>,
    summary: &mut Summary,
    cancel: &CancellationToken,
) {
    let host: IpAddr = pending.probe.target.addr();
    let result = match attempt {
        Attempt::Answer { state, reason, rtt, banner, answered } => {
            let answered = answered.unwrap_or(pending.sent);
            retries.on_answer(host, answered);
            // Every attempt has its own 4-tuple (`Net::tcp`), so an answer
            // names the attempt it answers and its round trip is a clean
            // sample, retransmission or not: Karn's ambiguity does not
            // arise. A self-connect took no round trip; an ICMP error may
            // come from a router nearer than the host, so it is no sample
            // of the host's round trip.
            if !matches!(
                reason,
                Reason::SelfConnect | Reason::Icmp { .. } | Reason::HostUnreachable
            ) {
                timing.sample(host, rtt, answered);
            }
            // An answer to a retransmission proves an earlier attempt was
            // lost: that, not silence, is the congestion signal. A port
            // that never answers is filtered, and says nothing about the
            // path; treating its silence as loss would collapse the window
            // on every firewall that drops. A late answer to an earlier
            // attempt proves nothing lost, only a timeout too short (the
            // sample above corrects it).
            if answered > 1 && answered == pending.sent {
                let before = window.size();
                window.on_loss();
                if window.size() < before {
                    tracing::debug!(%host, before, window = window.size(), "loss proven: window cut");
                }
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
            timing.on_silence(host, pending.stamp);
            if retries.again(host, pending.sent) {
                tracing::trace!(
                    %host,
                    port = pending.probe.port,
                    proto = pending.probe.proto.as_str(),
                    attempt = pending.sent + 1,
                    "silent: sent again"
                );
                if spread {
                    // The network hears late answers, so each attempt
                    // waits one timeout; the pauses between attempts grow
                    // instead (1, 3, 7 timeouts after the first, the
                    // schedule RFC 6298's doubling gives), resting outside
                    // the window: a burst of loss longer than one timeout
                    // does not swallow every attempt, and a silent probe
                    // holds its slot for one timeout per attempt, not for
                    // the doubled ones. The pauses follow the path's round
                    // trip, not the host's back-off: they spread attempts
                    // over a loss burst, whose length has nothing to do
                    // with how slowly the host answers (with the back-off,
                    // the last probes of a lossy scan rested for seconds).
                    let rest =
                        timing.base_timeout(host).saturating_mul((1 << pending.sent.min(8)) - 2);
                    retry.rest(pending, Instant::now() + rest / 2);
                } else {
                    retry.push(pending);
                }
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
        Attempt::Pressure if pending.pressure < MAX_PRESSURE => {
            window.on_local_pressure();
            tracing::debug!(
                window = window.size(),
                "local pressure (file descriptors, ephemeral ports): window shrunk, probe re-queued"
            );
            // Not the target's doing: try again (after a pause) without
            // counting the attempt.
            retry.push(Pending {
                sent: pending.sent.saturating_sub(1),
                pressure: pending.pressure + 1,
                ..pending
            });
            summary.attempts = summary.attempts.saturating_sub(1);
            return;
        }
        // The system stayed out of resources for this probe: give it up
        // as a local error rather than loop forever.
        Attempt::Pressure | Attempt::Local => {
            summary.local_errors += 1;
            // One warning a run (a firewall refusing a whole zone would
            // otherwise print a line per probe); the summary counts them
            // all, and -vv lists each.
            if summary.local_errors == 1 {
                tracing::warn!(
                    %host,
                    port = pending.probe.port,
                    proto = pending.probe.proto.as_str(),
                    "this machine could not send a probe: local error, not concluded \
                     (the first; the summary counts them all, -vv lists each)"
                );
            } else {
                tracing::debug!(
                    %host,
                    port = pending.probe.port,
                    proto = pending.probe.proto.as_str(),
                    "this machine could not send the probe: local error, not concluded"
                );
            }
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
