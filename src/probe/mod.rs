//! Probes: one module per kind. Each turns what a target did into a fact
//! (an outcome); only local failures (descriptors, ephemeral ports, raw
//! socket permission) are errors, and those are outcomes too, so the engine
//! can back off instead of failing.
//!
//! - `tcp`: connect() scan with tokio, self-connect detection, a short
//!   banner read, and an abortive (RST) close.
//! - `syn`: half-open SYN scan over raw sockets (CAP_NET_RAW), with
//!   stateless reply validation; `packet` builds and reads its bytes
//!   (sans-I/O, fuzzed).
//! - `udp`: a protocol payload for well-known ports, an empty datagram
//!   otherwise; ICMP port unreachable arrives as ECONNREFUSED on a connected
//!   socket.
//! - `payloads`: the UDP payload table.
//! - `tls`: TLS versions, suites and chains (`tls::wire` gives the bytes).
//! - `dns`: DNS questions over UDP and TCP, and zone transfers (`dns`
//!   gives the bytes).

pub mod dns;
pub mod packet;
pub mod payloads;
pub mod syn;
pub mod tcp;
pub mod tls;
pub mod udp;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::engine::pace::Pacer;

/// Waits for the rate limits' cells (global, then `target`'s host) for
/// one datagram or connection to `target`; no wait without limits.
///
/// # Cancel safety
///
/// Cancel safe: a cell is taken only when its wait returns.
pub(crate) async fn paced(pace: Option<&Pacer>, target: SocketAddr) {
    if let Some(p) = pace {
        p.global().await;
        p.host(target.ip()).await;
    }
}

/// What one TCP connect attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOutcome {
    /// The handshake completed: the port is open. `banner` holds the first
    /// bytes the server sent within the banner budget, if any.
    Open {
        /// Time to the handshake's completion.
        rtt: Duration,
        /// First bytes sent by the server.
        banner: Option<Vec<u8>>,
    },
    /// Refused with a RST: the port is closed.
    Refused {
        /// Time to the refusal.
        rtt: Duration,
    },
    /// A connect on loopback that met itself (the kernel picked the
    /// destination port as our own source port): nothing listens there.
    SelfConnect,
    /// An ICMP unreachable (host, network, or administratively prohibited)
    /// came back: filtered.
    Unreachable {
        /// Time to the ICMP error.
        rtt: Duration,
    },
    /// SYN mode: the target answered our SYN with SYN-ACK: open.
    SynAck {
        /// Time to the SYN-ACK from the attempt it answers.
        rtt: Duration,
        /// First bytes the port sent to a follow-up connect, if one was
        /// made for the banner.
        banner: Option<Vec<u8>>,
        /// The attempt answered (from 1): an earlier one than the current
        /// when its answer came after its timeout.
        attempt: u8,
    },
    /// SYN mode: the target answered with RST: closed.
    Rst {
        /// Time to the RST from the attempt it answers.
        rtt: Duration,
        /// The attempt answered (from 1).
        attempt: u8,
    },
    /// SYN mode: an ICMP destination unreachable quoting our SYN came back
    /// (from the target or a router): filtered, as nmap `-sS` says, even
    /// for "port unreachable".
    Icmp {
        /// Time to the error.
        rtt: Duration,
        /// ICMP type as sent (3, or 1 for ICMPv6).
        icmp_type: u8,
        /// ICMP code as sent.
        code: u8,
        /// The attempt answered (from 1).
        attempt: u8,
    },
    /// Nothing came back within the timeout.
    Silent,
    /// This machine could not make the attempt (descriptors, ephemeral
    /// ports, buffers): not a fact about the target; back off and retry.
    LocalPressure(io::ErrorKind),
    /// This machine cannot probe this target at all (no route, address
    /// family unsupported): reported as a local error.
    LocalError(io::ErrorKind),
}

/// What one UDP probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UdpOutcome {
    /// A datagram came back: open.
    Response {
        /// Time to the response.
        rtt: Duration,
        /// Its first bytes.
        bytes: Vec<u8>,
    },
    /// ICMP port unreachable (ECONNREFUSED): closed.
    PortUnreachable {
        /// Time to the ICMP error.
        rtt: Duration,
    },
    /// Another ICMP unreachable: filtered.
    Unreachable {
        /// Time to the ICMP error.
        rtt: Duration,
    },
    /// Nothing came back: open|filtered after every attempt.
    Silent,
    /// Local pressure, as for TCP.
    LocalPressure(io::ErrorKind),
    /// Local error, as for TCP.
    LocalError(io::ErrorKind),
}

/// What an I/O error says: the target refused, something on the path
/// answered unreachable, this machine ran short of a resource (back off
/// and retry), or this machine cannot probe the target at all.
pub(crate) enum ErrorMeaning {
    Refused,
    Unreachable,
    Pressure,
    Local,
}

/// Sorts an error that *arrived* from the network: one reported after the
/// attempt left (a connect's SO_ERROR after EINPROGRESS, a connected UDP
/// socket's recv), which the kernel derived from a RST or an ICMP error.
pub(crate) fn classify_remote(e: &io::Error) -> ErrorMeaning {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused | K::ConnectionReset => ErrorMeaning::Refused,
        K::HostUnreachable | K::NetworkUnreachable => ErrorMeaning::Unreachable,
        _ => match e.raw_os_error() {
            // EHOSTDOWN, ENONET: ICMP host unknown / isolated.
            Some(112 | 64) => ErrorMeaning::Unreachable,
            _ => classify_local(e),
        },
    }
}

/// `EACCES`: what the kernel answers a datagram socket's `connect()` to a
/// broadcast address (see `is_broadcast_here`).
pub(crate) const EACCES: i32 = 13;

/// Whether `addr` is a broadcast address from this machine (the broadcast
/// address of a subnet on one of its links): the kernel refuses to
/// connect a datagram socket to one without SO_BROADCAST (EACCES), and a
/// UDP `connect()` sends nothing. A TCP connect to such an address fails
/// with ENETUNREACH, which would otherwise read as a local error: the
/// address is no host, so nothing there is reachable. (The SYN scanner's
/// route lookup is that same UDP connect, and says so by its EACCES.)
pub(crate) fn is_broadcast_here(addr: std::net::IpAddr) -> bool {
    let std::net::IpAddr::V4(v4) = addr else { return false };
    std::net::UdpSocket::bind((std::net::Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.connect((v4, 9)))
        .is_err_and(|e| e.raw_os_error() == Some(EACCES))
}

/// Sorts an error returned *directly* by a socket call (socket, bind,
/// connect, send), before anything left this machine: never the target's
/// doing. EPERM and EACCES here are a local firewall or policy, and
/// EHOSTUNREACH/ENETUNREACH a missing local route, not an ICMP answer.
pub(crate) fn classify_local(e: &io::Error) -> ErrorMeaning {
    use io::ErrorKind as K;
    match e.kind() {
        K::AddrNotAvailable | K::OutOfMemory | K::WouldBlock => ErrorMeaning::Pressure,
        _ => match e.raw_os_error() {
            // EMFILE, ENFILE, ENOBUFS: out of descriptors or buffers.
            Some(24 | 23 | 105) => ErrorMeaning::Pressure,
            _ => ErrorMeaning::Local,
        },
    }
}
