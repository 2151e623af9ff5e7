//! Engine tests against a scripted network on tokio's paused clock: no
//! sockets, no sleeps in real time, no wall-clock assertions.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::plan::{Options, Plan};
use crate::probe::{TcpOutcome, UdpOutcome};

/// What a scripted port does on each attempt (the last entry repeats).
#[derive(Clone)]
struct Script(Vec<Behaviour>);

#[derive(Clone, Copy)]
enum Behaviour {
    Open(u64),
    Refuse(u64),
    Silent,
    Pressure,
    /// Refuses after `.0` ms until `.2` ms into the run, after `.1` ms
    /// from then on (a path whose round trip jumps).
    Jump(u64, u64, u64),
    /// The RST answering the first attempt, arriving during this one (as
    /// the SYN scanner reports an answer that came after its timeout).
    LateRst(u64),
}

struct FakeNet {
    start: tokio::time::Instant,
    scripts: HashMap<u16, Script>,
    /// Every attempt: (port, attempt number, timeout given).
    log: Mutex<Vec<(u16, usize, Duration)>>,
    /// One answer dropped in "our receive buffer" per this many attempts
    /// (0: none), as the drop counter reports it.
    drop_every: usize,
    /// Whether it hears late answers (as `SynNet` does).
    late: bool,
    /// When each attempt started, since the fake was made.
    starts: Mutex<Vec<Duration>>,
}

impl FakeNet {
    fn with(scripts: &[(u16, &[Behaviour])]) -> Arc<Self> {
        Arc::new(Self {
            start: tokio::time::Instant::now(),
            scripts: scripts.iter().map(|(p, b)| (*p, Script(b.to_vec()))).collect(),
            log: Mutex::default(),
            drop_every: 0,
            late: false,
            starts: Mutex::default(),
        })
    }

    fn behave(&self, target: SocketAddr, wait: Duration) -> Behaviour {
        self.starts.lock().expect("starts lock").push(self.start.elapsed());
        let mut log = self.log.lock().expect("log lock");
        let n = log.iter().filter(|(p, _, _)| *p == target.port()).count();
        log.push((target.port(), n + 1, wait));
        let script = self.scripts.get(&target.port()).map_or(&[Behaviour::Silent][..], |s| &s.0);
        match script.get(n).or(script.last()).copied().unwrap_or(Behaviour::Silent) {
            Behaviour::Jump(fast, slow, at) => {
                let late = self.start.elapsed() >= Duration::from_millis(at);
                Behaviour::Refuse(if late { slow } else { fast })
            }
            b => b,
        }
    }
}

impl Net for FakeNet {
    fn hears_late_answers(&self) -> bool {
        self.late
    }

    fn receive_drops(&self) -> u64 {
        let attempts = self.log.lock().expect("log lock").len();
        attempts.checked_div(self.drop_every).map_or(0, |d| d as u64)
    }

    async fn tcp(
        &self,
        target: SocketAddr,
        _attempt: u8,
        wait: Duration,
        _banner: Duration,
    ) -> TcpOutcome {
        match self.behave(target, wait) {
            // An answer slower than the attempt's timeout is never seen by
            // it, as on a real socket.
            Behaviour::Open(ms) | Behaviour::Refuse(ms) if Duration::from_millis(ms) > wait => {
                tokio::time::sleep(wait).await;
                TcpOutcome::Silent
            }
            Behaviour::Open(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                TcpOutcome::Open { rtt: Duration::from_millis(ms), banner: None }
            }
            Behaviour::Refuse(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                TcpOutcome::Refused { rtt: Duration::from_millis(ms) }
            }
            Behaviour::Silent => {
                tokio::time::sleep(wait).await;
                TcpOutcome::Silent
            }
            Behaviour::Pressure => TcpOutcome::LocalPressure(std::io::ErrorKind::Other),
            Behaviour::LateRst(ms) => {
                TcpOutcome::Rst { rtt: Duration::from_millis(ms), attempt: 1 }
            }
            Behaviour::Jump(..) => unreachable!("`behave` resolves jumps"),
        }
    }

    async fn udp(&self, target: SocketAddr, wait: Duration) -> UdpOutcome {
        match self.behave(target, wait) {
            Behaviour::Open(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                UdpOutcome::Response { rtt: Duration::from_millis(ms), bytes: b"pong".to_vec() }
            }
            Behaviour::Refuse(ms) => UdpOutcome::PortUnreachable { rtt: Duration::from_millis(ms) },
            Behaviour::Silent => {
                tokio::time::sleep(wait).await;
                UdpOutcome::Silent
            }
            Behaviour::Pressure => UdpOutcome::LocalPressure(std::io::ErrorKind::Other),
            Behaviour::LateRst(_) | Behaviour::Jump(..) => unreachable!("TCP only"),
        }
    }
}

fn plan(tcp: &str, udp: &str) -> Plan {
    let spec = format!(
        "version: 1\nzones:\n  out: {{ cidrs: [0.0.0.0/0], probe: false }}\n  lab: {{ cidrs: [198.18.0.1/32] }}\nvantages:\n  o: {{ zone: out }}\nsweep:\n  tcp: [{tcp}]\n  udp: [{udp}]\n"
    );
    let file: Arc<str> = Arc::from("engine.yaml");
    let intent = crate::spec::load_bytes(Path::new("engine.yaml"), &file, spec.as_bytes())
        .intent
        .expect("valid spec");
    Plan::new(&intent, "o", Options::default()).expect("plans")
}

fn config() -> Config {
    Config {
        // Generous: these tests are about states and timing, not pacing
        // (`pace` has its own tests on the paused clock).
        rate: NonZeroU32::new(1_000_000).expect("nonzero"),
        host_rate: NonZeroU32::new(1_000_000).expect("nonzero"),
        retries: 2,
        bounds: Bounds {
            min: Duration::from_millis(20),
            max: Duration::from_secs(2),
            initial: Duration::from_secs(1),
        },
        max_parallel: 8,
        banner: Duration::ZERO,
    }
}

async fn scan(
    net: Arc<FakeNet>,
    plan: &Plan,
    config: &Config,
) -> (Summary, HashMap<(Proto, u16), ProbeResult>) {
    let (tx, mut rx) = mpsc::channel(1024);
    let summary = run(net, config, plan.probes(), tx, CancellationToken::new()).await;
    let mut results = HashMap::new();
    while let Ok(r) = rx.try_recv() {
        results.insert((r.probe.proto, r.probe.port), r);
    }
    (summary, results)
}

#[tokio::test(start_paused = true)]
async fn states_follow_nmap() {
    use Behaviour::*;
    let net = FakeNet::with(&[
        (22, &[Open(5)]),
        (23, &[Refuse(5)]),
        (24, &[Silent]),
        (53, &[Open(5)]),
        (54, &[Refuse(5)]),
    ]);
    let plan = plan("22, 23, 24", "53, 54, 55");
    let (summary, r) = scan(Arc::clone(&net), &plan, &config()).await;
    let state = |p, port| r.get(&(p, port)).map(|x| (x.state, x.reason, x.attempts));
    assert_eq!(state(Proto::Tcp, 22), Some((State::Open, Reason::Connected, 1)));
    assert_eq!(state(Proto::Tcp, 23), Some((State::Closed, Reason::ConnRefused, 1)));
    assert_eq!(
        state(Proto::Tcp, 24),
        Some((State::Filtered, Reason::NoResponse, 3)),
        "filtered only after every attempt"
    );
    assert_eq!(state(Proto::Udp, 53), Some((State::Open, Reason::UdpResponse, 1)));
    assert_eq!(state(Proto::Udp, 54), Some((State::Closed, Reason::PortUnreachable, 1)));
    assert_eq!(state(Proto::Udp, 55), Some((State::OpenFiltered, Reason::NoResponse, 3)));
    assert_eq!(summary.concluded, 6);
    assert_eq!(summary.attempts, 4 + 3 + 3, "only silent probes were sent again");
    assert!(!summary.interrupted);
}

#[tokio::test(start_paused = true)]
async fn one_lost_packet_is_not_filtered() {
    use Behaviour::*;
    let net = FakeNet::with(&[(80, &[Silent, Open(5)]), (81, &[Silent, Silent, Refuse(5)])]);
    let (_, r) = scan(net, &plan("80, 81", ""), &config()).await;
    assert_eq!(r[&(Proto::Tcp, 80)].state, State::Open);
    assert_eq!(r[&(Proto::Tcp, 80)].attempts, 2);
    assert_eq!(r[&(Proto::Tcp, 81)].state, State::Closed);
    assert_eq!(r[&(Proto::Tcp, 81)].attempts, 3);
}

#[tokio::test(start_paused = true)]
async fn timeouts_come_from_measured_round_trips() {
    use Behaviour::*;
    // 40 ports answering in 10 ms, then one silent port.
    let mut scripts: Vec<(u16, &[Behaviour])> = (1..=40).map(|p| (p, &[Refuse(10)][..])).collect();
    scripts.push((41, &[Silent]));
    let net = FakeNet::with(&scripts);
    let config = Config { max_parallel: 1, ..config() };
    let (_, r) = scan(Arc::clone(&net), &plan("1-41", ""), &config).await;
    assert_eq!(r.len(), 41);
    let log = net.log.lock().expect("log");
    let first = log.first().expect("an attempt").2;
    assert_eq!(first, Duration::from_secs(1), "the first attempt waits the initial timeout");
    let silent: Vec<Duration> =
        log.iter().filter(|(p, _, _)| *p == 41).map(|(_, _, w)| *w).collect();
    assert_eq!(silent.len(), 3);
    // After 40 samples of 10 ms, the timeout is near 10 ms (clamped to the
    // 20 ms minimum); retransmissions back off, doubling.
    let late =
        log.iter().rev().find(|(p, _, _)| *p != 41).map(|(_, _, w)| *w).expect("answered ports");
    assert!(late < Duration::from_millis(60), "{late:?}");
    assert!(
        silent[1] >= silent[0] * 2 - Duration::from_millis(1) && silent[2] >= silent[1],
        "{silent:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn losses_shrink_the_window_and_answers_grow_it() {
    use Behaviour::*;
    let mut scripts: Vec<(u16, &[Behaviour])> = (1..=200).map(|p| (p, &[Refuse(5)][..])).collect();
    // A burst of losses on a host that answers.
    for p in 201..=220 {
        scripts.push((p, &[Silent, Refuse(5)]));
    }
    let net = FakeNet::with(&scripts);
    let config = Config { max_parallel: 64, ..config() };
    let (summary, r) = scan(net, &plan("1-220", ""), &config).await;
    assert_eq!(r.len(), 220);
    assert!(
        r.values().all(|x| x.state == State::Closed),
        "every lost probe was retried and answered"
    );
    assert!(summary.min_window < 64, "losses halved the window: {summary:?}");
}

#[tokio::test(start_paused = true)]
async fn local_pressure_backs_off_without_counting() {
    use Behaviour::*;
    let net = FakeNet::with(&[(10, &[Pressure, Pressure, Open(5)])]);
    let (summary, r) = scan(net, &plan("10", ""), &config()).await;
    assert_eq!(r[&(Proto::Tcp, 10)].state, State::Open);
    assert_eq!(r[&(Proto::Tcp, 10)].attempts, 1, "refused sockets are not attempts");
    assert_eq!(summary.attempts, 1);
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_sending_and_says_so() {
    let net = FakeNet::with(&[]);
    let plan = plan("1-1000", "");
    let (tx, mut rx) = mpsc::channel(4096);
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        stop.cancel();
    });
    let summary = run(net, &config(), plan.probes(), tx, cancel).await;
    assert!(summary.interrupted);
    let mut concluded = 0;
    while rx.try_recv().is_ok() {
        concluded += 1;
    }
    assert!(concluded < 1000, "{concluded}");
    assert_eq!(u64::try_from(concluded).expect("fits"), summary.concluded);
}

#[tokio::test(start_paused = true)]
async fn a_vanished_receiver_stops_the_run() {
    // Found in review: with the receiver gone the engine used to scan the
    // whole plan, and with a stalled one it blocked forever.
    let net = FakeNet::with(&[]);
    let plan = plan("1-300", "");
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    let summary =
        run(Arc::clone(&net), &config(), plan.probes(), tx, CancellationToken::new()).await;
    assert!(summary.interrupted);
    assert_eq!(summary.concluded, 0, "nothing was delivered");
    assert!(summary.attempts < 300, "{summary:?}");
}

#[tokio::test(start_paused = true)]
async fn a_stalled_receiver_does_not_block_cancellation() {
    use Behaviour::*;
    let scripts: Vec<(u16, &[Behaviour])> = (1..=50).map(|p| (p, &[Refuse(1)][..])).collect();
    let net = FakeNet::with(&scripts);
    let (tx, _rx) = mpsc::channel(1);
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        stop.cancel();
    });
    let summary = run(net, &config(), plan("1-50", "").probes(), tx, cancel).await;
    assert!(summary.interrupted);
    assert!(summary.concluded <= 1, "{summary:?}");
}

#[tokio::test(start_paused = true)]
async fn timeouts_follow_a_rising_round_trip() {
    // Found in review: when a host's round trip jumps past what the
    // retries allow, every new probe restarted from the stale estimate and
    // read filtered. Now the back-off outlives the probe (RFC 6298 5.7)
    // until a fresh sample, and retransmissions' answers are samples too.
    use Behaviour::*;
    // 10 ms for the first 300 ms (about 30 probes), 500 ms after: well
    // past the 20 ms floor times the 1, 2 and 4 of three attempts.
    let scripts: Vec<(u16, &[Behaviour])> =
        (1..=80).map(|p| (p, &[Jump(10, 500, 300)][..])).collect();
    let net = FakeNet::with(&scripts);
    // One at a time, so the jump is seen by the probes after it.
    let config = Config { max_parallel: 1, ..config() };
    let (_, r) = scan(Arc::clone(&net), &plan("1-80", ""), &config).await;
    assert_eq!(r.len(), 80);
    let slow = r.values().filter(|x| x.rtt.is_some_and(|t| t >= Duration::from_millis(500)));
    assert!(slow.count() > 20, "the jump came early enough to matter");
    let filtered: Vec<u16> =
        r.values().filter(|x| x.state == State::Filtered).map(|x| x.probe.port).collect();
    // A few probes right after the jump are lost to it: the back-off needs a
    // run of silence that is improbable at the host's answer rate first.
    assert!(filtered.len() <= 3, "ports read filtered after the jump: {filtered:?}");
}

#[tokio::test(start_paused = true)]
async fn endless_local_pressure_ends_as_a_local_error() {
    use Behaviour::*;
    let net = FakeNet::with(&[(10, &[Pressure]), (11, &[Refuse(5)])]);
    let (summary, r) = scan(net, &plan("10, 11", ""), &config()).await;
    assert_eq!(r[&(Proto::Tcp, 10)].reason, Reason::LocalError);
    assert_eq!(r[&(Proto::Tcp, 11)].state, State::Closed, "the rest of the scan went on");
    assert_eq!(summary.local_errors, 1);
}

#[tokio::test(start_paused = true)]
async fn receive_drops_are_congestion_not_filtering() {
    use Behaviour::*;
    let scripts: Vec<(u16, &[Behaviour])> = (1..=300).map(|p| (p, &[Refuse(5)][..])).collect();
    let mut net = FakeNet::with(&scripts);
    Arc::get_mut(&mut net).expect("sole owner").drop_every = 20;
    let config = Config { max_parallel: 64, ..config() };
    let (summary, r) = scan(net, &plan("1-300", ""), &config).await;
    assert!(r.values().all(|x| x.state == State::Closed));
    assert!(summary.receive_drops > 0);
    assert!(summary.min_window < 64, "drops cut the window: {summary:?}");
}

#[tokio::test(start_paused = true)]
async fn a_late_answer_is_a_short_timeout_not_a_loss() {
    // Found in review: a SYN-ACK or RST arriving just after its attempt's
    // timeout used to be dropped, and the retransmission's answer then
    // counted as a proven loss, cutting the window on a jittery path.
    use Behaviour::*;
    let late: Vec<(u16, &[Behaviour])> =
        (1..=40).map(|p| (p, &[Silent, LateRst(30)][..])).collect();
    let config = Config { max_parallel: 64, ..config() };
    let (summary, r) = scan(FakeNet::with(&late), &plan("1-40", ""), &config).await;
    assert!(r.values().all(|x| x.state == State::Closed && x.attempts == 2));
    assert_eq!(summary.min_window, 64, "no cut: nothing was lost");
    // The same answers to the retransmissions themselves prove losses.
    let lost: Vec<(u16, &[Behaviour])> = (1..=40).map(|p| (p, &[Silent, Refuse(30)][..])).collect();
    let (summary, _) = scan(FakeNet::with(&lost), &plan("1-40", ""), &config).await;
    assert!(summary.min_window < 64, "{summary:?}");
}

#[tokio::test(start_paused = true)]
async fn with_late_answers_heard_retries_rest_between_attempts_instead_of_waiting_longer() {
    use Behaviour::*;
    let mut net = FakeNet::with(&[(7, &[Silent])]);
    Arc::get_mut(&mut net).expect("sole owner").late = true;
    let config = Config { retries: 3, ..config() };
    let (_, r) = scan(Arc::clone(&net), &plan("7", ""), &config).await;
    assert_eq!((r[&(Proto::Tcp, 7)].state, r[&(Proto::Tcp, 7)].attempts), (State::Filtered, 4));
    let log = net.log.lock().expect("log");
    let waits: Vec<Duration> = log.iter().map(|(_, _, w)| *w).collect();
    assert!(waits.iter().all(|w| *w == waits[0]), "every attempt waits one timeout: {waits:?}");
    // Attempts start at 0, T, 3T and 7T: the doubling schedule, with the
    // pauses spent outside the window.
    let t = waits[0];
    let starts = net.starts.lock().expect("starts").clone();
    assert_eq!(starts, vec![Duration::ZERO, t, t * 3, t * 7]);
}
