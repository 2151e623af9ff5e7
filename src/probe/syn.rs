//! SYN ("half-open") scanning over raw sockets, as nmap `-sS` and masscan
//! do: send a SYN, read the answer off a raw socket, never complete the
//! handshake. Needs CAP_NET_RAW; [`SynScanner::start`] says
//! `PermissionDenied` without it, and the caller falls back to connect().
//!
//! Sockets: one raw TCP socket per address family sends SYNs and RSTs and
//! receives every TCP segment addressed to this host; one raw ICMP (ICMPv6)
//! socket receives destination-unreachable errors. The kernel still builds
//! the IP header and routes (so loopback, veths and routers all work, and
//! no neighbour or MAC handling is ours, unlike masscan's datalink sender,
//! which waits forever for a router MAC on `lo`). A raw socket has datagram
//! semantics, so each is driven through tokio's `UdpSocket` (`sendto`,
//! `recvfrom` on the descriptor), which keeps this module free of `unsafe`.
//!
//! Matching is stateless (`packet::Secret`): a reply counts only if it
//! acknowledges (or an ICMP error quotes) the keyed-hash sequence number of
//! a SYN we could have sent; the pending table then finds the probe it
//! answers. A probe keeps its place there from its first attempt until it
//! is answered, or a while after its last attempt timed out (`linger`), so
//! an answer that comes after an attempt's timeout is still its answer (the
//! next attempt takes it instead of sending). Each attempt of a probe
//! leaves from its own source port (`base + attempt - 1`), so an answer
//! always names the attempt it answers and its round trip is exact even
//! for retransmissions (nmap encodes its "tryno" the same way). The source
//! ports are reserved by binding them, so
//! the kernel never hands them to another connection; a SYN-ACK for them
//! finds no socket, and both the kernel and we answer it with a RST, so no
//! half-open connection is left on the target.
//!
//! Sending has a thread of its own: the SYNs of attempts queue (at most
//! `SEND_QUEUE`) for a thread that makes the `sendto` calls. On loopback
//! and veths the kernel does the whole round trip inside `sendto` (our SYN
//! crosses the stack, the target's RST is built and queued on our raw
//! socket), which was 57 % of a 65,535-port loopback sweep's CPU; on its
//! own thread it runs beside the dispatcher and the receive tasks instead
//! of between them (0.66 s to 0.47 s for that sweep on two cores). A send
//! error (a local firewall's EPERM, no route, no buffers) reaches the
//! attempt as its answer, as a local error. An attempt's send time is
//! taken when it queues, so its round trip includes the queue's wait:
//! `SEND_QUEUE` SYNs at a few microseconds each, under a millisecond.
//!
//! Receive-side drops (the raw sockets' `drops` counters in
//! `/proc/net/raw{,6}`) are sampled and exposed, so the engine can treat
//! them as congestion: a reply lost in our own buffer is not a filter.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

use super::packet::{self, IcmpError, Secret, TcpReply};
use super::{ErrorMeaning, TcpOutcome, classify_local};

/// Source ports reserved per scan: attempts beyond this many reuse them
/// (and their round trips may then be attributed to a later attempt).
pub const SOURCE_PORTS: u16 = 16;

/// The receive buffer asked for on each raw socket (the kernel caps it at
/// `net.core.rmem_max` unless we may force it).
const RECV_BUFFER: usize = 8 << 20;

/// The most targets whose source address is remembered at once.
const SOURCE_CACHE: usize = 65_536;

/// SYNs that may wait for the sending thread (see the module's header).
const SEND_QUEUE: usize = 128;

/// How long the sending thread waits when a raw socket's send buffer is
/// full before it tries again.
const SEND_FULL_PAUSE: Duration = Duration::from_micros(50);

/// Raw sockets SYNs leave from, per family. A SYN to a neighbour on our
/// link that does not answer ARP is held in the kernel's neighbour queue,
/// charged to its socket's send buffer, for the seconds resolution takes;
/// sweeping a subnet from inside it, the silent addresses filled one
/// socket's buffer and the sending waited on them (a /24 with 253 silent
/// neighbours took 150 s where connect() took under one). More sockets,
/// more buffer: the sending thread moves on to the next when one is full.
const SEND_SOCKETS: usize = 16;

/// How often the receive-drop counters are read.
const DROP_POLL: Duration = Duration::from_millis(100);

/// What came back for one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    SynAck,
    Rst,
    Icmp {
        icmp_type: u8,
        code: u8,
    },
    /// The SYN could not be sent: a local error, not the target's answer.
    Unsent {
        pressure: bool,
        kind: io::ErrorKind,
    },
}

/// An answer, when it was read, and which attempt (from 0) it answers.
#[derive(Debug, Clone, Copy)]
struct Reply {
    answer: Answer,
    at: Instant,
    attempt: usize,
}

/// Attempts whose send times are kept, so a late answer to any of them
/// gives an exact round trip; later attempts' answers still count.
const TRACKED: usize = 4;

/// The longest a probe's slot outlives its last attempt's timeout, so an
/// answer that arrives late is still the probe's answer (nmap keeps probes
/// around for late answers too).
const GRACE: Duration = Duration::from_secs(2);

/// How many of its timeouts a silent attempt's slot is kept (at most
/// `GRACE`): the engine rests a silent probe at most seven timeouts before
/// its next attempt, which then finds an answer that came meanwhile. Kept
/// the full `GRACE` whatever the timeout, the slots of a 64,000-probe scan
/// through a dropping firewall (a few seconds long) nearly all lived at
/// once, and the table grew to 131,072 entries (20 MiB). A slot forgotten
/// too early costs one more SYN, never a wrong state.
fn linger(wait: Duration) -> Duration {
    wait.saturating_mul(8).min(GRACE)
}

/// A probe's place in the pending table, from its first attempt until its
/// answer, or `linger` after its last attempt timed out.
struct Slot {
    /// The attempt waiting now, if one is.
    waiter: Option<oneshot::Sender<Reply>>,
    /// When each tracked attempt left.
    sent: [Option<Instant>; TRACKED],
    /// An answer that came while no attempt was waiting (between a timeout
    /// and the retry): the next attempt takes it instead of sending.
    late: Option<Reply>,
    /// When an idle slot (no attempt waiting) is forgotten.
    expires: Instant,
}

/// (target address, target port): a probe. The source port of an answer
/// says which of its attempts it answers.
type Key = (IpAddr, u16);

/// A SYN waiting for the sending thread, with the attempt it belongs to
/// (from 0), so a send error can be handed to it.
struct Outgoing {
    syn: [u8; packet::SYN_LEN],
    to: IpAddr,
    key: Key,
    attempt: usize,
}

/// The raw sockets of one address family.
struct Family {
    tcp: UdpSocket,
    icmp: UdpSocket,
}

/// A running SYN scanner: its sockets, its secret, the attempts waiting
/// for answers, and the receive tasks, which stop when it is dropped.
pub struct SynScanner {
    inner: Arc<Inner>,
}

/// What the receive tasks share with the scanner.
struct Inner {
    secret: Secret,
    base_port: u16,
    v4: Option<Family>,
    v6: Option<Family>,
    pending: Mutex<HashMap<Key, Slot>>,
    sources: Mutex<HashMap<IpAddr, IpAddr>>,
    drops: AtomicU64,
    /// Bound, never listening: keeps our source ports ours.
    _reserved: Vec<Socket>,
    stop: CancellationToken,
    /// The sending thread's queue; it ends when this is dropped.
    outgoing: mpsc::Sender<Outgoing>,
}

impl std::fmt::Debug for SynScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SynScanner")
            .field("base_port", &self.inner.base_port)
            .field("v4", &self.inner.v4.is_some())
            .field("v6", &self.inner.v6.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for SynScanner {
    fn drop(&mut self) {
        self.inner.stop.cancel();
    }
}

impl SynScanner {
    /// Opens the raw sockets, reserves the source ports and starts the
    /// receive tasks on the current tokio runtime.
    ///
    /// Errors: `PermissionDenied` without CAP_NET_RAW (the caller falls
    /// back to connect mode); any other local failure as it came. A family
    /// the host cannot open raw sockets for (no IPv6) is left out, and its
    /// targets get local errors; failing both is an error.
    pub fn start() -> io::Result<Self> {
        let v4 = Inner::family(Domain::IPV4, Protocol::ICMPV4);
        let v6 = Inner::family(Domain::IPV6, Protocol::ICMPV6);
        let (v4, v6) = match (v4, v6) {
            (Err(e), Err(_)) => return Err(e),
            (a, b) => (a.ok(), b.ok()),
        };
        let secret = Secret::new();
        let (base_port, reserved) = reserve_ports(&secret, v6.is_some())?;
        // Best effort: without the filters, the same packets are read and
        // dropped in user space instead.
        if let Some(f) = &v4 {
            let _ = SockRef::from(&f.tcp).attach_filter(&bpf::tcp_replies(base_port));
            let _ = SockRef::from(&f.icmp).attach_filter(&bpf::ICMP_UNREACHABLE);
        }
        if let Some(f) = &v6 {
            let _ = SockRef::from(&f.tcp).attach_filter(&bpf::tcp6_replies(base_port));
            let _ = SockRef::from(&f.icmp).attach_filter(&bpf::ICMP6_UNREACHABLE);
        }
        // The sending thread's own handles on the TCP sockets (`dup`s), and
        // send-only raw sockets beside them (see `SEND_SOCKETS`).
        let senders = [(&v4, Domain::IPV4), (&v6, Domain::IPV6)].map(|(f, domain)| {
            let Some(f) = f.as_ref() else { return Vec::new() };
            let first = SockRef::from(&f.tcp).try_clone().ok();
            first
                .into_iter()
                .chain((1..SEND_SOCKETS).filter_map(|_| send_only(domain).ok()))
                .collect()
        });
        let (outgoing, queue) = mpsc::channel(SEND_QUEUE);
        let inner = Arc::new(Inner {
            secret,
            base_port,
            v4,
            v6,
            pending: Mutex::new(HashMap::new()),
            sources: Mutex::new(HashMap::new()),
            drops: AtomicU64::new(0),
            _reserved: reserved,
            stop: CancellationToken::new(),
            outgoing,
        });
        let (weak, stop) = (Arc::downgrade(&inner), inner.stop.clone());
        std::thread::Builder::new()
            .name("vantage-syn-send".into())
            .spawn(move || send_loop(queue, &senders, &weak, &stop))?;
        // The tasks end when the scanner (the handle) is dropped.
        for (v6, icmp) in FAMILIES {
            if inner.socket(v6, icmp).is_some() {
                let inner = Arc::clone(&inner);
                tokio::spawn(async move { receive(&inner, v6, icmp).await });
            }
        }
        let watched = Arc::clone(&inner);
        tokio::spawn(async move { watch_drops(&watched).await });
        Ok(Self { inner })
    }

    /// Waits until a SYN can be queued for sending without waiting, so a
    /// caller starts no more attempts than the sending thread keeps up
    /// with (they would only wait in memory, each with its timer).
    pub async fn ready(&self) {
        // The permit is given back at once: this only waits for room.
        let _ = self.inner.outgoing.reserve().await;
    }

    /// Replies lost in our own receive buffers so far.
    pub fn receive_drops(&self) -> u64 {
        self.inner.drops.load(Ordering::Relaxed)
    }

    /// Sends attempt `attempt` (from 1) of a SYN probe to `target` and
    /// waits at most `wait` for its answer, which may be the answer to an
    /// earlier attempt that came after that attempt's timeout (then no SYN
    /// is sent, and the outcome names the attempt answered).
    ///
    /// Errors returned by the kernel when sending (no route, a local
    /// firewall's EPERM) are local: they say nothing about the target.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future removes the probe from the pending
    /// table; a late answer is then ignored (and its SYN-ACK still reset).
    pub async fn probe(&self, target: SocketAddr, attempt: u8, wait: Duration) -> TcpOutcome {
        self.inner.probe(target, attempt, wait).await
    }
}

/// Whether this process may open raw sockets (CAP_NET_RAW), without
/// starting anything: `PermissionDenied` if not. Lets a caller choose the
/// scan mode, and the runtime for it, before any runtime exists.
pub fn raw_sockets_permitted() -> io::Result<()> {
    Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::TCP))
        .or_else(|_| Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::TCP)))
        .map(drop)
}

/// (IPv6?, ICMP?) for each raw socket.
const FAMILIES: [(bool, bool); 4] = [(false, false), (false, true), (true, false), (true, true)];

impl Inner {
    fn family(domain: Domain, icmp: Protocol) -> io::Result<Family> {
        let open = |protocol| -> io::Result<UdpSocket> {
            let s = Socket::new(domain, Type::RAW, Some(protocol))?;
            s.set_nonblocking(true)?;
            // Best effort: a small buffer only means earlier drops, which
            // the drop counters then report.
            let _ = s.set_recv_buffer_size(RECV_BUFFER);
            UdpSocket::from_std(StdUdpSocket::from(s))
        };
        Ok(Family { tcp: open(Protocol::TCP)?, icmp: open(icmp)? })
    }

    fn socket(&self, v6: bool, icmp: bool) -> Option<&UdpSocket> {
        let family = if v6 { self.v6.as_ref() } else { self.v4.as_ref() }?;
        Some(if icmp { &family.icmp } else { &family.tcp })
    }

    /// The source port attempt `attempt` (from 1) leaves from.
    fn source_port(&self, attempt: u8) -> u16 {
        self.base_port + u16::from(attempt.saturating_sub(1)) % SOURCE_PORTS
    }

    /// The address the kernel routes to `target` from (a connected UDP
    /// socket sends nothing, and its local address is the answer), cached
    /// per target.
    fn source_for(&self, target: IpAddr) -> io::Result<IpAddr> {
        let mut cache = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(src) = cache.get(&target) {
            return Ok(*src);
        }
        let bind: SocketAddr = match target {
            IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let probe = StdUdpSocket::bind(bind)?;
        probe.connect(SocketAddr::new(target, 9))?;
        let src = probe.local_addr()?.ip();
        // Bounded: a sweep of millions of addresses must not keep one
        // entry each; starting over costs a lookup per address, no more.
        if cache.len() >= SOURCE_CACHE {
            cache.clear();
        }
        cache.insert(target, src);
        Ok(src)
    }

    async fn probe(&self, target: SocketAddr, attempt: u8, wait: Duration) -> TcpOutcome {
        let ip = target.ip();
        if self.socket(ip.is_ipv6(), false).is_none() {
            return TcpOutcome::LocalError(io::ErrorKind::Unsupported);
        }
        let src = match self.source_for(ip) {
            Ok(s) => s,
            // The route lookup's UDP connect is refused for the broadcast
            // address of a subnet on our link (`is_broadcast_here`): no host.
            Err(e) if e.raw_os_error() == Some(super::EACCES) => {
                return TcpOutcome::Unreachable { rtt: Duration::ZERO };
            }
            Err(e) => return local(&e),
        };
        let sport = self.source_port(attempt);
        let seq = self.secret.cookie(ip, target.port(), sport);
        let Some(syn) = packet::syn(src, sport, ip, target.port(), seq) else {
            return TcpOutcome::LocalError(io::ErrorKind::InvalidInput);
        };
        let key = (ip, target.port());
        let index = usize::from(attempt.saturating_sub(1));
        let (tx, rx) = oneshot::channel();
        let sent = Instant::now();
        let mut guard = match Pending::start(&self.pending, key, index, sent, tx) {
            Started::Waiting(guard) => guard,
            // An earlier attempt was answered while none was waiting.
            Started::Answered { reply, sent } => return outcome(reply, sent),
        };
        let queued = self.outgoing.send(Outgoing { syn, to: ip, key, attempt: index }).await;
        if queued.is_err() {
            // The sending thread is gone: only when the scanner shuts down.
            return TcpOutcome::LocalError(io::ErrorKind::Interrupted);
        }
        match timeout(wait, rx).await {
            Ok(Ok(reply)) => outcome(reply, guard.sent(reply.attempt).unwrap_or(sent)),
            // Timed out: keep the slot a while for a late answer.
            Err(_) => {
                guard.keep(linger(wait));
                TcpOutcome::Silent
            }
            // The sender went away: only when the scanner shuts down.
            Ok(Err(_)) => TcpOutcome::LocalError(io::ErrorKind::Interrupted),
        }
    }

    /// Hands an answer to attempt `attempt` (from 0) of the probe `key`:
    /// to the attempt waiting now, or, between attempts, to the slot for
    /// the next one. An answer for an attempt never sent is ignored.
    fn deliver(&self, key: Key, attempt: usize, answer: Answer, at: Instant) {
        let mut table = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(slot) = table.get_mut(&key) else { return };
        let known = attempt >= TRACKED || slot.sent.get(attempt).is_some_and(Option::is_some);
        if !known {
            return;
        }
        let reply = Reply { answer, at, attempt };
        match slot.waiter.take() {
            Some(w) => {
                // The attempt may be timing out this very moment; then the
                // answer is kept for the next one instead.
                if let Err(reply) = w.send(reply) {
                    slot.late.get_or_insert(reply);
                }
            }
            None => {
                slot.late.get_or_insert(reply);
            }
        }
    }

    /// Forgets idle probes whose time is up.
    fn expire(&self) {
        let now = Instant::now();
        let mut table = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        table.retain(|_, slot| slot.waiter.is_some() || now < slot.expires);
    }

    fn is_our_port(&self, port: u16) -> bool {
        port.wrapping_sub(self.base_port) < SOURCE_PORTS
    }

    /// A TCP segment off a raw socket: an answer if it acknowledges one of
    /// our cookies.
    async fn on_tcp(&self, r: TcpReply, at: Instant) {
        if !self.is_our_port(r.dport) || !(r.is_syn_ack() || r.is_rst()) {
            return;
        }
        let cookie = self.secret.cookie(r.from, r.sport, r.dport);
        if r.ack != cookie.wrapping_add(1) {
            return;
        }
        let (key, attempt) = ((r.from, r.sport), self.attempt_of(r.dport));
        if r.is_rst() {
            self.deliver(key, attempt, Answer::Rst, at);
            return;
        }
        self.deliver(key, attempt, Answer::SynAck, at);
        // Tear down the half-open connection (the kernel does too, having
        // no socket for it; ours also covers a local firewall that eats the
        // kernel's).
        if let (Ok(src), Some(tcp)) =
            (self.source_for(r.from), self.socket(r.from.is_ipv6(), false))
            && let Some(rst) = packet::rst(src, r.dport, r.from, r.sport, r.ack)
        {
            let _ = tcp.send_to(&rst, SocketAddr::new(r.from, 0)).await;
        }
    }

    /// An ICMP error off a raw socket: an answer if it quotes one of our
    /// SYNs, cookie and all.
    fn on_icmp(&self, e: IcmpError, at: Instant) {
        if !self.is_our_port(e.sport) || e.seq != self.secret.cookie(e.target, e.dport, e.sport) {
            return;
        }
        // The codes nmap takes as "filtered" (ICMPv4: net, host, protocol,
        // port unreachable and the three administratively prohibited;
        // ICMPv6: no route, prohibited, beyond scope, address, port,
        // policy, reject route). Others (fragmentation needed...) are not
        // an answer about the port.
        let filtered = match e.icmp_type {
            3 => matches!(e.code, 0..=3 | 9 | 10 | 13),
            1 => e.code <= 6,
            _ => false,
        };
        if !filtered {
            return;
        }
        let answer = Answer::Icmp { icmp_type: e.icmp_type, code: e.code };
        self.deliver((e.target, e.dport), self.attempt_of(e.sport), answer, at);
    }

    /// The attempt (from 0) that left from our source port `sport`.
    fn attempt_of(&self, sport: u16) -> usize {
        usize::from(sport.wrapping_sub(self.base_port))
    }
}

/// Classic BPF programs for the raw sockets, so the kernel drops what could
/// never be an answer before it is copied to us. On loopback the raw TCP
/// socket otherwise reads every one of our own SYNs too, doubling the
/// receive work of a sweep. The IPv4 programs see the packet from its IPv4
/// header on, the IPv6 ones from the transport header (a raw IPv6 socket
/// never sees the IPv6 header); the user-space checks stay (these only
/// narrow).
mod bpf {
    use socket2::SockFilter;

    // Opcodes (linux/filter.h).
    const LDX_B_MSH: u16 = 0xb1; // X = 4 * (P[k] & 0xf): the IP header length
    const LD_H_IND: u16 = 0x48; // A = P[X + k], 16 bits
    const LD_B_IND: u16 = 0x50; // A = P[X + k], 8 bits
    const LD_H_ABS: u16 = 0x28; // A = P[k], 16 bits
    const LD_B_ABS: u16 = 0x30; // A = P[k], 8 bits
    const JGE_K: u16 = 0x35;
    const JGT_K: u16 = 0x25;
    const JEQ_K: u16 = 0x15;
    const JSET_K: u16 = 0x45;
    const RET_K: u16 = 0x06;
    /// Bytes kept of an accepted packet: the headers are all we read.
    const KEEP: u32 = 256;

    /// TCP segments to one of our source ports with ACK set (SYN-ACK and
    /// RST-ACK answer a SYN; our own SYNs and RSTs carry no ACK).
    pub(super) fn tcp_replies(base: u16) -> [SockFilter; 8] {
        let last = u32::from(base) + u32::from(super::SOURCE_PORTS) - 1;
        [
            SockFilter::new(LDX_B_MSH, 0, 0, 0),
            SockFilter::new(LD_H_IND, 0, 0, 2), // TCP destination port
            SockFilter::new(JGE_K, 0, 4, u32::from(base)),
            SockFilter::new(JGT_K, 3, 0, last),
            SockFilter::new(LD_B_IND, 0, 0, 13), // TCP flags
            SockFilter::new(JSET_K, 0, 1, 0x10), // ACK
            SockFilter::new(RET_K, 0, 0, KEEP),
            SockFilter::new(RET_K, 0, 0, 0),
        ]
    }

    /// As `tcp_replies`, for a raw IPv6 socket: the TCP header is at 0.
    pub(super) fn tcp6_replies(base: u16) -> [SockFilter; 7] {
        let last = u32::from(base) + u32::from(super::SOURCE_PORTS) - 1;
        [
            SockFilter::new(LD_H_ABS, 0, 0, 2), // TCP destination port
            SockFilter::new(JGE_K, 0, 4, u32::from(base)),
            SockFilter::new(JGT_K, 3, 0, last),
            SockFilter::new(LD_B_ABS, 0, 0, 13), // TCP flags
            SockFilter::new(JSET_K, 0, 1, 0x10), // ACK
            SockFilter::new(RET_K, 0, 0, KEEP),
            SockFilter::new(RET_K, 0, 0, 0),
        ]
    }

    /// ICMPv6 destination unreachable (type 1) only; the ICMPv6 header is
    /// at 0.
    pub(super) const ICMP6_UNREACHABLE: [SockFilter; 4] = [
        SockFilter::new(LD_B_ABS, 0, 0, 0), // ICMPv6 type
        SockFilter::new(JEQ_K, 0, 1, 1),
        SockFilter::new(RET_K, 0, 0, KEEP),
        SockFilter::new(RET_K, 0, 0, 0),
    ];

    /// Nothing: for sockets that only send.
    pub(super) const DROP_ALL: [SockFilter; 1] = [SockFilter::new(RET_K, 0, 0, 0)];

    /// ICMP destination unreachable (type 3) only.
    pub(super) const ICMP_UNREACHABLE: [SockFilter; 5] = [
        SockFilter::new(LDX_B_MSH, 0, 0, 0),
        SockFilter::new(LD_B_IND, 0, 0, 0), // ICMP type
        SockFilter::new(JEQ_K, 0, 1, 3),
        SockFilter::new(RET_K, 0, 0, KEEP),
        SockFilter::new(RET_K, 0, 0, 0),
    ];
}

/// The outcome of an answer to the attempt that left at `sent`.
fn outcome(reply: Reply, sent: Instant) -> TcpOutcome {
    let rtt = reply.at.saturating_duration_since(sent);
    // At most TRACKED + SOURCE_PORTS, far below u8::MAX.
    let attempt = u8::try_from(reply.attempt + 1).unwrap_or(u8::MAX);
    match reply.answer {
        Answer::SynAck => TcpOutcome::SynAck { rtt, banner: None, attempt },
        Answer::Rst => TcpOutcome::Rst { rtt, attempt },
        Answer::Icmp { icmp_type, code } => TcpOutcome::Icmp { rtt, icmp_type, code, attempt },
        Answer::Unsent { pressure: true, kind } => TcpOutcome::LocalPressure(kind),
        Answer::Unsent { pressure: false, kind } => TcpOutcome::LocalError(kind),
    }
}

/// How an attempt began.
enum Started<'a> {
    /// It waits for its answer; the guard tidies the table when it ends.
    Waiting(Pending<'a>),
    /// An earlier attempt's answer was already there.
    Answered { reply: Reply, sent: Instant },
}

/// An attempt's hold on its probe's slot: when the attempt ends, the slot
/// goes, unless the attempt timed out (`keep`), when it stays for a late
/// answer until `Inner::expire` forgets it.
struct Pending<'a> {
    table: &'a Mutex<HashMap<Key, Slot>>,
    key: Key,
    keep: Option<Duration>,
}

impl<'a> Pending<'a> {
    fn start(
        table: &'a Mutex<HashMap<Key, Slot>>,
        key: Key,
        attempt: usize,
        now: Instant,
        tx: oneshot::Sender<Reply>,
    ) -> Started<'a> {
        let mut t = table.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = t.entry(key).or_insert_with(|| Slot {
            waiter: None,
            sent: [None; TRACKED],
            late: None,
            expires: now,
        });
        if let Some(reply) = slot.late.take() {
            let sent = slot.sent.get(reply.attempt).copied().flatten().unwrap_or(now);
            t.remove(&key);
            return Started::Answered { reply, sent };
        }
        slot.waiter = Some(tx);
        if let Some(s) = slot.sent.get_mut(attempt) {
            *s = Some(now);
        }
        Started::Waiting(Self { table, key, keep: None })
    }

    /// When attempt `attempt` (from 0) of this probe left, if tracked.
    fn sent(&self, attempt: usize) -> Option<Instant> {
        let t = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        t.get(&self.key)?.sent.get(attempt).copied().flatten()
    }

    /// The attempt timed out: leave the slot for a late answer, for
    /// `linger`.
    fn keep(&mut self, linger: Duration) {
        self.keep = Some(linger);
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let mut t = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(linger) = self.keep
            && let Some(slot) = t.get_mut(&self.key)
        {
            slot.waiter = None;
            slot.expires = Instant::now() + linger;
        } else {
            t.remove(&self.key);
        }
    }
}

fn local(e: &io::Error) -> TcpOutcome {
    match classify_local(e) {
        ErrorMeaning::Pressure => TcpOutcome::LocalPressure(e.kind()),
        _ => TcpOutcome::LocalError(e.kind()),
    }
}

/// A raw TCP socket that only sends: its filter drops every packet it
/// would otherwise be handed a copy of.
fn send_only(domain: Domain) -> io::Result<Socket> {
    let s = Socket::new(domain, Type::RAW, Some(Protocol::TCP))?;
    s.set_nonblocking(true)?;
    s.attach_filter(&bpf::DROP_ALL)?;
    Ok(s)
}

/// The sending thread: sends queued SYNs on `sockets` (IPv4, IPv6) until
/// the scanner is gone, handing each send error to its attempt. What is
/// still queued when the scan stops is not sent.
fn send_loop(
    mut queue: mpsc::Receiver<Outgoing>,
    sockets: &[Vec<Socket>; 2],
    scanner: &Weak<Inner>,
    stop: &CancellationToken,
) {
    let mut next = 0;
    while let Some(out) = queue.blocking_recv() {
        if stop.is_cancelled() {
            return;
        }
        let family = &sockets[usize::from(out.to.is_ipv6())];
        if family.is_empty() {
            continue;
        }
        let to = SocketAddr::new(out.to, 0).into();
        // The sockets are non-blocking (the receive tasks share the first):
        // a full send buffer moves the SYN to the next socket, and only
        // when every one is full is it waited out here.
        let sent = 'sent: loop {
            for _ in 0..family.len() {
                next = (next + 1) % family.len();
                match family[next].send_to(&out.syn, &to) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    other => break 'sent other,
                }
            }
            std::thread::sleep(SEND_FULL_PAUSE);
        };
        let Err(e) = sent else { continue };
        let Some(inner) = scanner.upgrade() else { return };
        let answer = Answer::Unsent {
            pressure: matches!(classify_local(&e), ErrorMeaning::Pressure),
            kind: e.kind(),
        };
        inner.deliver(out.key, out.attempt, answer, Instant::now());
    }
}

/// Binds `SOURCE_PORTS` consecutive TCP ports (on both families when IPv6
/// is in use), starting at a random base above the usual ephemeral range;
/// tries other bases when one is taken.
fn reserve_ports(secret: &Secret, v6: bool) -> io::Result<(u16, Vec<Socket>)> {
    const LOW: u32 = 61_000;
    const SPAN: u32 = 65_536 - LOW - SOURCE_PORTS as u32;
    let mut last = io::Error::from(io::ErrorKind::AddrInUse);
    for salt in 0..32u16 {
        let pick = secret.cookie(IpAddr::V4(Ipv4Addr::UNSPECIFIED), salt, 0);
        let base = u16::try_from(LOW + pick % SPAN).unwrap_or(61_000);
        let mut held = Vec::new();
        let bound = (0..SOURCE_PORTS).try_for_each(|i| {
            let port = base + i;
            let s4 = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
            s4.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)).into())?;
            held.push(s4);
            if v6 {
                let s6 = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP))?;
                s6.set_only_v6(true)?;
                s6.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)).into())?;
                held.push(s6);
            }
            Ok::<_, io::Error>(())
        });
        match bound {
            Ok(()) => return Ok((base, held)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Reads one raw socket until the scanner is dropped, handing answers to
/// their attempts.
async fn receive(s: &Inner, v6: bool, icmp: bool) {
    // Large enough for any datagram a raw socket returns on an Ethernet or
    // loopback MTU; a longer one is truncated, and we only read headers.
    let mut buf = vec![0u8; 65_536];
    let Some(socket) = s.socket(v6, icmp) else { return };
    loop {
        let got = tokio::select! {
            () = s.stop.cancelled() => return,
            got = socket.recv_from(&mut buf) => got,
        };
        let at = Instant::now();
        let Ok((n, from)) = got else { continue };
        let bytes = buf.get(..n).unwrap_or_default();
        match (v6, icmp, from.ip()) {
            (false, false, _) => {
                if let Ok(r) = packet::v4_tcp(bytes) {
                    s.on_tcp(r, at).await;
                }
            }
            (false, true, _) => {
                if let Ok(Some(e)) = packet::v4_icmp(bytes) {
                    s.on_icmp(e, at);
                }
            }
            (true, false, IpAddr::V6(from)) => {
                if let Ok(r) = packet::v6_tcp(from, bytes) {
                    s.on_tcp(r, at).await;
                }
            }
            (true, true, IpAddr::V6(from)) => {
                if let Ok(Some(e)) = packet::v6_icmp(from, bytes) {
                    s.on_icmp(e, at);
                }
            }
            _ => {}
        }
    }
}

/// Samples the raw sockets' drop counters until the scanner is dropped.
async fn watch_drops(s: &Inner) {
    use std::os::fd::AsRawFd as _;
    let inodes: Vec<u64> = FAMILIES
        .into_iter()
        .filter_map(|(v6, icmp)| s.socket(v6, icmp))
        .filter_map(|sock| socket_inode(sock.as_raw_fd()))
        .collect();
    loop {
        tokio::select! {
            () = s.stop.cancelled() => return,
            () = tokio::time::sleep(DROP_POLL) => {}
        }
        s.expire();
        let mut total = 0;
        for table in ["/proc/net/raw", "/proc/net/raw6"] {
            if let Ok(text) = tokio::fs::read_to_string(table).await {
                total += raw_drops(&text, &inodes);
            }
        }
        s.drops.fetch_max(total, Ordering::Relaxed);
    }
}

/// The inode of the socket behind descriptor `fd` (`socket:[N]`).
fn socket_inode(fd: i32) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let text = link.to_str()?;
    text.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// Sums the `drops` column (the last) of the rows of a `/proc/net/raw`
/// table whose inode (the tenth column) is one of `inodes`.
fn raw_drops(table: &str, inodes: &[u64]) -> u64 {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let inode: u64 = cols.get(9)?.parse().ok()?;
            inodes.contains(&inode).then(|| cols.last()?.parse::<u64>().ok())?
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_counters_are_read_for_our_sockets_only() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
    6: 00000000:0006 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17
    1: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 99 2 0000000000000000 5
   garbage line
";
        assert_eq!(raw_drops(table, &[4242]), 17);
        assert_eq!(raw_drops(table, &[4242, 99]), 22);
        assert_eq!(raw_drops(table, &[1]), 0);
        assert_eq!(raw_drops("", &[1]), 0);
    }
}
