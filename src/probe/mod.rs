//! Probes: one module per kind. Each turns what a target did into a fact
//! (an outcome); only local failures (descriptors, ephemeral ports, raw
//! socket permission) are errors, and those are outcomes too, so the engine
//! can back off instead of failing.
//!
//! - `tcp`: connect() scan with tokio, self-connect detection, a short
//!   banner read, and an abortive (RST) close.
//! - `udp`: a protocol payload for well-known ports, an empty datagram
//!   otherwise; ICMP port unreachable arrives as ECONNREFUSED on a connected
//!   socket.
//! - `payloads`: the UDP payload table.

pub mod payloads;
pub mod tcp;
pub mod udp;

use std::io;
use std::time::Duration;

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

/// Sorts an I/O error from connect/send/recv into what it says about the
/// target (`Some(true)` refused, `Some(false)` unreachable), local pressure,
/// or a local error.
pub(crate) enum ErrorMeaning {
    Refused,
    Unreachable,
    Pressure,
    Local,
}

pub(crate) fn classify(e: &io::Error) -> ErrorMeaning {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused | K::ConnectionReset => ErrorMeaning::Refused,
        K::HostUnreachable | K::NetworkUnreachable | K::PermissionDenied => {
            ErrorMeaning::Unreachable
        }
        K::AddrNotAvailable | K::OutOfMemory | K::WouldBlock => ErrorMeaning::Pressure,
        _ => match e.raw_os_error() {
            // EMFILE, ENFILE, ENOBUFS: out of descriptors or buffers.
            Some(24 | 23 | 105) => ErrorMeaning::Pressure,
            // EHOSTUNREACH/ENETUNREACH/EACCES/EPERM spelled as raw codes on
            // platforms where std has no kind for them.
            Some(113 | 101 | 13 | 1) => ErrorMeaning::Unreachable,
            _ => ErrorMeaning::Local,
        },
    }
}
