//! TCP connect() probes.
//!
//! Open means the handshake completed; closed means a RST (ECONNREFUSED);
//! an ICMP unreachable means filtered; silence is retried by the engine.
//! Every socket is closed abortively (SO_LINGER 0: a RST, no TIME_WAIT), so
//! a 65,535-port sweep does not leave 65,535 sockets lingering.
//!
//! Self-connect: on loopback, a connect to a port in the ephemeral range
//! can be given that same port as its source and "succeed" against itself
//! (TCP simultaneous open). RustScan reports these as open; we compare the
//! local and peer addresses, as nmap does, and report the port closed.

use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use super::{ErrorMeaning, TcpOutcome, classify_local, classify_remote};

/// The most banner bytes kept (nmap's service probes read more, but a
/// banner is evidence here, not a fingerprint).
pub const MAX_BANNER: usize = 256;

/// `EINPROGRESS`: a non-blocking connect has started.
const EINPROGRESS: i32 = 115;

/// Connects to `target`, waiting at most `wait` for the handshake, then
/// reads up to `MAX_BANNER` bytes for at most `banner_wait`.
///
/// The connect is non-blocking (socket2), so an error the `connect()` call
/// itself returns (no local route, a local firewall's EPERM, no ports) is
/// told apart from one that arrives later from the network (a RST, an ICMP
/// unreachable): only the latter says something about the target.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future drops the socket, which the kernel
/// closes; nothing is left half-recorded.
pub async fn connect(target: SocketAddr, wait: Duration, banner_wait: Duration) -> TcpOutcome {
    let socket = match Socket::new(Domain::for_address(target), Type::STREAM, Some(Protocol::TCP)) {
        Ok(s) => s,
        Err(e) => return local(&e),
    };
    // Non-blocking, and an abortive close: a RST instead of FIN and
    // TIME_WAIT.
    if let Err(e) =
        socket.set_nonblocking(true).and_then(|()| socket.set_linger(Some(Duration::ZERO)))
    {
        return local(&e);
    }
    let start = Instant::now();
    match socket.connect(&target.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(EINPROGRESS) => {
            // On loopback the kernel has usually handled the target's RST
            // before connect() returned (the segment is processed when the
            // call releases the socket): read the answer now, without
            // registering the socket with the reactor and waiting for a
            // wake-up that is already due (a 65,535-port loopback sweep
            // made that round trip 65,515 times).
            if let Ok(Some(e)) = socket.take_error() {
                return remote(&e, start.elapsed());
            }
        }
        // Only a RST makes ECONNREFUSED, even when it comes back at once
        // (loopback).
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return TcpOutcome::Refused { rtt: start.elapsed() };
        }
        // The broadcast address of a subnet on our link: no host.
        Err(e)
            if e.kind() == std::io::ErrorKind::NetworkUnreachable
                && super::is_broadcast_here(target.ip()) =>
        {
            return TcpOutcome::Unreachable { rtt: start.elapsed() };
        }
        Err(e) => return local(&e),
    }
    let stream = match TcpStream::from_std(std::net::TcpStream::from(socket)) {
        Ok(s) => s,
        Err(e) => return local(&e),
    };
    match timeout(wait, stream.writable()).await {
        Err(_) => return TcpOutcome::Silent,
        Ok(Err(e)) => return local(&e),
        Ok(Ok(())) => {}
    }
    let rtt = start.elapsed();
    match stream.take_error() {
        Ok(None) => {}
        Ok(Some(e)) => return remote(&e, rtt),
        Err(e) => return local(&e),
    }
    if stream.local_addr().is_ok_and(|local| local == target) {
        return TcpOutcome::SelfConnect;
    }
    let banner = if banner_wait.is_zero() { None } else { read_banner(stream, banner_wait).await };
    TcpOutcome::Open { rtt, banner }
}

async fn read_banner(mut stream: TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; MAX_BANNER];
    // A caller's huge budget must not overflow the clock; cap it at a minute.
    let deadline = Instant::now() + wait.min(Duration::from_secs(60));
    let mut filled = 0;
    // Servers may send a banner in pieces; keep reading until the buffer is
    // full, the server stops, or the budget runs out.
    while filled < buf.len() {
        let rest = buf.get_mut(filled..)?;
        match tokio::time::timeout_at(deadline, stream.read(rest)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => filled += n,
        }
    }
    buf.truncate(filled);
    (!buf.is_empty()).then_some(buf)
}

/// An error the connection attempt ended with, `rtt` after it started.
fn remote(e: &std::io::Error, rtt: Duration) -> TcpOutcome {
    match classify_remote(e) {
        ErrorMeaning::Refused => TcpOutcome::Refused { rtt },
        ErrorMeaning::Unreachable => TcpOutcome::Unreachable { rtt },
        ErrorMeaning::Pressure => TcpOutcome::LocalPressure(e.kind()),
        ErrorMeaning::Local => TcpOutcome::LocalError(e.kind()),
    }
}

fn local(e: &std::io::Error) -> TcpOutcome {
    match classify_local(e) {
        ErrorMeaning::Pressure => TcpOutcome::LocalPressure(e.kind()),
        _ => TcpOutcome::LocalError(e.kind()),
    }
}
