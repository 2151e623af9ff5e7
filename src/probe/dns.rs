//! DNS probes, the I/O half: questions over UDP with retransmits and a
//! TCP fallback, and zone transfers over TCP, every datagram and
//! connection paced by the scan's rates (`engine::pace::Pacer`), at most
//! [`Limits::per_server`] questions in flight to one server. The bytes
//! are `dns`'s: it builds the queries and judges what comes back.
//!
//! Why our own I/O and not hickory's clients: an exposure check needs to
//! choose RD, see a refusal as a fact rather than an error to route
//! around, count retransmissions, bound a transfer, and keep to the
//! engine's pacing; resolvers decide all of that for themselves.
//!
//! - UDP: a connected socket (the kernel drops datagrams from elsewhere
//!   and reports ICMP port unreachable), the source checked again on
//!   every datagram; one id for every retransmission, so a late answer to
//!   the first datagram still counts. A datagram that is not the answer
//!   (another id or question: a spoof or a stale reply) is ignored and the
//!   wait goes on; one with our id that does not decode is remembered, and
//!   is the error only if nothing better comes. Waits double from
//!   [`Limits::first_wait`]. A server that has answered nothing after two
//!   whole questions gets one datagram per further question, so a
//!   firewalled server costs seconds, not minutes.
//! - A truncated answer (TC) is asked again over TCP; a FORMERR or NOTIMP
//!   without EDNS in it is asked again without EDNS (servers that predate
//!   RFC 6891).
//! - AXFR: one connection, messages cut by `dns::frame` and accumulated
//!   by `dns::Transfer` until the closing SOA, within a deadline for the
//!   whole transfer and one for each read (a server that drips bytes).
//!
//! Every function returns a [`DnsFact`]: what the target did, never an
//! `Err`; failures of this machine (no socket) are in its `error` too.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout_at};

use crate::dns::frame::{Frames, frame};
use crate::dns::{
    Judged, Message, Name, Question, RecordType, Summary, Transfer, TransferStep, judge, present,
};
use crate::engine::pace::Pacer;
use crate::observe::{DnsCheck, DnsFact, MAX_NAME_BYTES, Proto, timestamp};

use super::paced;

/// Bounds of DNS probing.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Datagrams sent for one question over UDP (the first and its
    /// retransmissions).
    pub attempts: u8,
    /// The wait for an answer to the first datagram; each retransmission
    /// waits twice as long as the one before (1 s, 2 s, 4 s by default:
    /// dig's and the stub resolvers' order of magnitude).
    pub first_wait: Duration,
    /// One question over TCP: connect, send, answer.
    pub tcp: Duration,
    /// A whole zone transfer.
    pub transfer: Duration,
    /// The longest a transfer may wait for its next bytes.
    pub idle: Duration,
    /// Questions (and transfers) in flight to one server at a time.
    pub per_server: usize,
    /// The scan's rate limits, shared with every other probe: each
    /// datagram and connection takes a cell of both, as a port probe does.
    /// `None`: unpaced (the per-server cap still holds).
    pub pace: Option<Arc<Pacer>>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            attempts: 3,
            first_wait: Duration::from_secs(1),
            tcp: Duration::from_secs(5),
            transfer: Duration::from_secs(60),
            idle: Duration::from_secs(10),
            per_server: 4,
            pace: None,
        }
    }
}

/// One question to ask of one server, and why.
#[derive(Debug, Clone)]
pub struct Ask {
    /// The server.
    pub server: SocketAddr,
    /// The check it serves.
    pub check: DnsCheck,
    /// The question.
    pub question: Question,
    /// The server was found by the port scan, not listed in the spec.
    pub discovered: bool,
}

/// What a question brought: its observation, and the answer itself when
/// one came (for the CNAME chains the scan follows).
#[derive(Debug, Clone)]
pub struct Asked {
    /// The observation line.
    pub fact: DnsFact,
    /// The deciding answer.
    pub answer: Option<Box<Message>>,
}

/// What a zone transfer brought: its observation and the CNAME targets of
/// the zone (for the dangling check).
#[derive(Debug, Clone)]
pub struct Transferred {
    /// The observation line.
    pub fact: DnsFact,
    /// CNAME targets in the records transferred, each once, bounded.
    pub cnames: Vec<Name>,
}

/// What the prober knows of one server.
#[derive(Debug)]
struct Server {
    permits: Semaphore,
    /// Questions that ended with nothing at all from the server.
    silent: AtomicU32,
    /// The server has answered something.
    answered: AtomicBool,
}

/// Asks questions of DNS servers within [`Limits`]. Shared by every
/// question of a scan, so the per-server cap holds across them.
#[derive(Debug)]
pub struct Prober {
    limits: Limits,
    servers: Mutex<HashMap<SocketAddr, Arc<Server>>>,
}

impl Prober {
    /// A prober with these limits.
    pub fn new(limits: Limits) -> Self {
        Self { limits, servers: Mutex::new(HashMap::new()) }
    }

    fn server(&self, addr: SocketAddr) -> Arc<Server> {
        let mut servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(servers.entry(addr).or_insert_with(|| {
            Arc::new(Server {
                permits: Semaphore::new(self.limits.per_server.max(1)),
                silent: AtomicU32::new(0),
                answered: AtomicBool::new(false),
            })
        }))
    }

    /// Asks `ask.question` of `ask.server`: over UDP, again without EDNS
    /// if the server does not speak it, over TCP if the answer is
    /// truncated.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping it closes its sockets; nothing is recorded.
    pub async fn ask(&self, ask: &Ask) -> Asked {
        let server = self.server(ask.server);
        // The semaphore is never closed; without a permit, ask anyway.
        let _permit = server.permits.acquire().await.ok();
        let dead =
            !server.answered.load(Ordering::Relaxed) && server.silent.load(Ordering::Relaxed) >= 2;
        let attempts = if dead { 1 } else { self.limits.attempts.max(1) };
        let pace = self.limits.pace.as_deref();
        let mut used = 0u8;
        let mut edns = true;
        let mut without_edns: Option<(Box<Message>, Duration)> = None;
        let (result, transport) = loop {
            let udp =
                udp(ask.server, &ask.question, edns, attempts, self.limits.first_wait, pace).await;
            used = used.saturating_add(udp.used);
            if udp.heard {
                server.answered.store(true, Ordering::Relaxed);
            } else {
                server.silent.fetch_add(1, Ordering::Relaxed);
            }
            match udp.end {
                UdpEnd::Answer(m, rtt)
                    if edns
                        && m.edns.is_none()
                        && matches!(
                            m.metadata.response_code,
                            hickory_proto::op::ResponseCode::FormErr
                                | hickory_proto::op::ResponseCode::NotImp
                        ) =>
                {
                    // A server that predates EDNS: ask it plainly. Its
                    // plain answer decides; should none come, this one does.
                    edns = false;
                    without_edns = Some((m, rtt));
                }
                UdpEnd::Answer(m, rtt) => break (Ok((m, rtt)), Proto::Udp),
                UdpEnd::Truncated => {
                    used = used.saturating_add(1);
                    let tcp = tcp_question(ask.server, &ask.question, self.limits.tcp, pace).await;
                    break (
                        tcp.map_err(|e| format!("truncated over UDP; over TCP: {e}")),
                        Proto::Tcp,
                    );
                }
                UdpEnd::Failed(e) => break (without_edns.take().ok_or(e), Proto::Udp),
            }
        };
        let at = timestamp(jiff::Timestamp::now());
        match result {
            Ok((m, rtt)) => {
                let s = Summary::of(&m, &ask.question);
                let fact = fact(ask, transport, used, Some(rtt), Some(s), None, at);
                Asked { fact, answer: Some(m) }
            }
            Err(e) => {
                Asked { fact: fact(ask, transport, used, None, None, Some(e), at), answer: None }
            }
        }
    }

    /// Asks `server` for a transfer of `zone` (AXFR over TCP, whatever
    /// type `zone` names) and reads it
    /// to its closing SOA, within [`Limits::transfer`] for the whole and
    /// [`Limits::idle`] for each read.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping it closes the connection.
    pub async fn transfer(
        &self,
        server: SocketAddr,
        zone: &Question,
        discovered: bool,
    ) -> Transferred {
        let state = self.server(server);
        let _permit = state.permits.acquire().await.ok();
        let at = || timestamp(jiff::Timestamp::now());
        let question = zone.with_type(RecordType::AXFR);
        let ask = Ask { server, check: DnsCheck::Axfr, question, discovered };
        paced(self.limits.pace.as_deref(), server).await;
        let start = Instant::now();
        let deadline = start + self.limits.transfer;
        let id: u16 = rand::random();
        let mut t = Transfer::new(id, &ask.question);
        let mut first_at = None;
        let error = read_transfer(
            server,
            &ask.question,
            id,
            deadline,
            self.limits.idle,
            &mut t,
            &mut first_at,
            start,
        )
        .await
        .err();
        let done = t.finish();
        if done.first.is_some() {
            state.answered.store(true, Ordering::Relaxed);
        }
        let cnames = done.cnames.clone();
        Transferred { fact: transfer_fact(&ask, done, first_at, error, at()), cnames }
    }
}

/// The observation line for a transfer asked by `ask`: what came, and
/// `error` when it stopped before it was done.
pub(crate) fn transfer_fact(
    ask: &Ask,
    done: crate::dns::Transferred,
    rtt: Option<Duration>,
    error: Option<String>,
    at: String,
) -> DnsFact {
    let mut fact = fact(ask, Proto::Tcp, 1, rtt, None, error, at);
    if let Some((rcode, aa, ra)) = done.first {
        fact.rcode = Some(rcode);
        fact.authoritative = aa;
        fact.recursion_available = ra;
    }
    if fact.rcode.is_none() && fact.error.is_none() {
        fact.error = Some("no answer".to_owned());
    }
    fact.records = done.records.seen;
    fact.answers = done.records.records;
    fact.complete = done.complete;
    fact
}

/// Reads a transfer into `t`. `Err` says why it stopped before it was done.
#[allow(clippy::too_many_arguments, reason = "one call site; the state is the caller's")]
async fn read_transfer(
    server: SocketAddr,
    q: &Question,
    id: u16,
    deadline: Instant,
    idle: Duration,
    t: &mut Transfer,
    first_at: &mut Option<Duration>,
    start: Instant,
) -> Result<(), String> {
    let secs = deadline.saturating_duration_since(start).as_secs();
    let mut tcp = match timeout_at(deadline, TcpStream::connect(server)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(format!("no TCP connection: {e}")),
        Err(_) => return Err(format!("no TCP connection within {secs} s")),
    };
    let query = q.encode(id, false).and_then(|b| frame(&b)).map_err(|e| e.to_string())?;
    match timeout_at(deadline, tcp.write_all(&query)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("cannot send the transfer request: {e}")),
        Err(_) => return Err(format!("cannot send the transfer request within {secs} s")),
    }
    let mut frames = Frames::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut messages = 0u64;
    loop {
        let wait = deadline.min(Instant::now() + idle);
        let n = match timeout_at(wait, tcp.read(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                return Err(format!("the connection failed after {messages} messages: {e}"));
            }
            Err(_) if Instant::now() >= deadline => {
                return Err(format!(
                    "the transfer did not end within {secs} s ({messages} messages)"
                ));
            }
            Err(_) => {
                return Err(format!(
                    "nothing came for {} s after {messages} messages",
                    idle.as_secs()
                ));
            }
        };
        if n == 0 {
            let cut = frames.pending();
            return Err(if messages == 0 && cut == 0 {
                "the server closed the connection without an answer".to_owned()
            } else if cut > 0 {
                format!(
                    "the server closed the connection inside a message ({cut} bytes of it) after {messages} messages"
                )
            } else {
                format!(
                    "the server closed the connection before the closing SOA ({messages} messages)"
                )
            });
        }
        frames.push(buf.get(..n).unwrap_or_default());
        while let Some(message) = frames.next_frame() {
            messages += 1;
            if first_at.is_none() {
                *first_at = Some(start.elapsed());
            }
            match t.push(&message) {
                Ok(TransferStep::Done) => return Ok(()),
                Ok(TransferStep::More) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

/// How a UDP question ended.
enum UdpEnd {
    Answer(Box<Message>, Duration),
    Truncated,
    Failed(String),
}

struct Udp {
    end: UdpEnd,
    /// Datagrams sent.
    used: u8,
    /// Something came from the server (an answer, garbage, an ICMP error).
    heard: bool,
}

/// What was ignored while waiting, for the error if no answer comes.
#[derive(Default)]
struct Ignored {
    count: u32,
    last: &'static str,
    malformed: Option<String>,
}

impl Ignored {
    fn describe(&self, base: String) -> String {
        let mut out = base;
        if let Some(m) = &self.malformed {
            out.push_str("; with our id came only a ");
            out.push_str(m);
        }
        if self.count > 0 {
            out.push_str(&format!(
                "; ignored {} datagram{} that were not the answer (last: {})",
                self.count,
                if self.count == 1 { "" } else { "s" },
                self.last
            ));
        }
        out
    }
}

/// Asks `q` of `server` over UDP: `attempts` datagrams with one id, the
/// wait doubling from `first_wait`.
async fn udp(
    server: SocketAddr,
    q: &Question,
    edns: bool,
    attempts: u8,
    first_wait: Duration,
    pace: Option<&Pacer>,
) -> Udp {
    let failed = |e: String, used: u8, heard: bool| Udp { end: UdpEnd::Failed(e), used, heard };
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = match UdpSocket::bind(local).await {
        Ok(s) => s,
        Err(e) => return failed(format!("local: cannot open a UDP socket: {e}"), 1, false),
    };
    if let Err(e) = socket.connect(server).await {
        return failed(format!("local: cannot address {server}: {e}"), 1, false);
    }
    let id: u16 = rand::random();
    let query = match q.encode(id, edns) {
        Ok(b) => b,
        Err(e) => return failed(format!("local: {e}"), 1, false),
    };
    let mut buf = vec![0u8; 65_535];
    let mut ignored = Ignored::default();
    let mut used = 0u8;
    let mut waited = Duration::ZERO;
    for attempt in 0..attempts {
        paced(pace, server).await;
        let sent = Instant::now();
        used += 1;
        if let Err(e) = socket.send(&query).await {
            return match e.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    failed("port unreachable (ICMP)".to_owned(), used, true)
                }
                _ => failed(format!("local: cannot send: {e}"), used, false),
            };
        }
        let wait = first_wait.saturating_mul(1 << attempt.min(16));
        waited += wait;
        let deadline = sent + wait;
        loop {
            let (n, from) = match timeout_at(deadline, socket.recv_from(&mut buf)).await {
                Err(_) => break,
                Ok(Ok(got)) => got,
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return failed("port unreachable (ICMP)".to_owned(), used, true);
                }
                Ok(Err(e)) => return failed(format!("local: cannot receive: {e}"), used, false),
            };
            if canonical(from) != canonical(server) {
                ignored.count = ignored.count.saturating_add(1);
                ignored.last = "from another address";
                continue;
            }
            match judge(buf.get(..n).unwrap_or_default(), id, q) {
                Judged::Answer(m) => {
                    return Udp { end: UdpEnd::Answer(m, sent.elapsed()), used, heard: true };
                }
                Judged::Truncated => return Udp { end: UdpEnd::Truncated, used, heard: true },
                Judged::Malformed(e) => ignored.malformed = Some(e.to_string()),
                Judged::NotOurs(why) => {
                    ignored.count = ignored.count.saturating_add(1);
                    ignored.last = why;
                }
            }
        }
    }
    let heard = ignored.malformed.is_some();
    let base = format!(
        "no answer to {used} datagram{} in {:.1} s",
        if used == 1 { "" } else { "s" },
        waited.as_secs_f64()
    );
    failed(ignored.describe(base), used, heard)
}

/// An address as compared for "came from the server": an IPv4-mapped IPv6
/// source is its IPv4 address.
fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

/// Asks `q` of `server` over one TCP connection within `wait` (connect,
/// send, answer).
///
/// # Cancel safety
///
/// Cancel safe: dropping it closes the connection.
async fn tcp_question(
    server: SocketAddr,
    q: &Question,
    wait: Duration,
    pace: Option<&Pacer>,
) -> Result<(Box<Message>, Duration), String> {
    paced(pace, server).await;
    let start = Instant::now();
    let deadline = start + wait;
    let secs = wait.as_secs();
    let mut tcp = match timeout_at(deadline, TcpStream::connect(server)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(format!("no connection: {e}")),
        Err(_) => return Err(format!("no connection within {secs} s")),
    };
    let id: u16 = rand::random();
    let query = q.encode(id, false).and_then(|b| frame(&b)).map_err(|e| format!("local: {e}"))?;
    let run = async {
        tcp.write_all(&query).await.map_err(|e| format!("cannot send: {e}"))?;
        let mut frames = Frames::new();
        let mut buf = vec![0u8; 16 * 1024];
        let mut ignored = 0u32;
        loop {
            while let Some(message) = frames.next_frame() {
                match judge(&message, id, q) {
                    Judged::Answer(m) => return Ok((m, start.elapsed())),
                    Judged::Truncated => {
                        return Err("the answer is truncated over TCP too".to_owned());
                    }
                    // The connection is ours alone: what comes on it with
                    // our id is the server's answer, malformed or not.
                    Judged::Malformed(e) => return Err(e.to_string()),
                    Judged::NotOurs(why) => {
                        ignored += 1;
                        if ignored > 8 {
                            return Err(format!(
                                "{ignored} messages that were not the answer (last: {why})"
                            ));
                        }
                    }
                }
            }
            let n = tcp.read(&mut buf).await.map_err(|e| format!("the connection failed: {e}"))?;
            if n == 0 {
                return Err(match frames.pending() {
                    0 => "the server closed the connection without an answer".to_owned(),
                    cut => format!(
                        "the server closed the connection inside a message ({cut} bytes of it)"
                    ),
                });
            }
            frames.push(buf.get(..n).unwrap_or_default());
        }
    };
    timeout_at(deadline, run).await.unwrap_or_else(|_| Err(format!("no answer within {secs} s")))
}

/// The observation line for `ask`, answered (`summary`) or not (`error`).
pub(crate) fn fact(
    ask: &Ask,
    transport: Proto,
    attempts: u8,
    rtt: Option<Duration>,
    summary: Option<Summary>,
    error: Option<String>,
    at: String,
) -> DnsFact {
    let error = error.map(|mut e| {
        if e.len() > MAX_NAME_BYTES {
            let mut cut = MAX_NAME_BYTES - 3;
            while !e.is_char_boundary(cut) {
                cut -= 1;
            }
            e.truncate(cut);
            e.push_str("...");
        }
        e
    });
    let (rcode, authoritative, recursion_available, answers, records, authority) = match summary {
        Some(s) => (
            Some(s.rcode),
            s.authoritative,
            s.recursion_available,
            s.answers.records,
            s.answers.seen,
            s.authority,
        ),
        None => (None, false, false, Vec::new(), 0, None),
    };
    DnsFact {
        server: ask.server.ip(),
        port: ask.server.port(),
        check: ask.check,
        name: present::name(ask.question.name()),
        rtype: present::rtype(ask.question.rtype()),
        recursion_desired: ask.question.rd(),
        discovered: ask.discovered,
        transport,
        rcode,
        authoritative,
        recursion_available,
        answers,
        authority,
        records,
        complete: false,
        attempts: attempts.max(1),
        rtt_us: rtt.map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        error,
        at,
    }
}
