//! UDP probes: send the port's payloads on a connected socket and wait for
//! a datagram (open) or an ICMP error, which Linux reports on a connected
//! UDP socket as ECONNREFUSED (port unreachable: closed) or EHOSTUNREACH
//! and friends (filtered). Silence is open|filtered, as nmap defines it,
//! once the engine's retries are spent.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::{Instant, timeout};

use super::{ErrorMeaning, UdpOutcome, classify_local, classify_remote, payloads};

/// The most response bytes kept.
pub const MAX_RESPONSE: usize = 512;

/// Probes `target` once, waiting at most `wait`.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future closes the socket.
pub async fn probe(target: SocketAddr, wait: Duration) -> UdpOutcome {
    let bind: SocketAddr = if target.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = match UdpSocket::bind(bind).await {
        Ok(s) => s,
        Err(e) => return local(&e),
    };
    if let Err(e) = socket.connect(target).await {
        // EACCES: the broadcast address of a subnet on our link
        // (`super::is_broadcast_here`), no host.
        if e.raw_os_error() == Some(super::EACCES) {
            return UdpOutcome::Unreachable { rtt: Duration::ZERO };
        }
        return local(&e);
    }
    let start = Instant::now();
    // An error `send` returns is this machine's (no route, a local
    // firewall), except ECONNREFUSED: the ICMP port unreachable for an
    // earlier payload, reported on the next call. Otherwise only what
    // `recv` reports came back from the network.
    for payload in payloads::for_port(target.port()) {
        match socket.send(payload).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return error(&e, start.elapsed());
            }
            Err(e) => return local(&e),
        }
    }
    let mut buf = vec![0u8; MAX_RESPONSE];
    match timeout(wait, socket.recv(&mut buf)).await {
        Err(_) => UdpOutcome::Silent,
        Ok(Ok(n)) => {
            buf.truncate(n);
            UdpOutcome::Response { rtt: start.elapsed(), bytes: buf }
        }
        Ok(Err(e)) => error(&e, start.elapsed()),
    }
}

fn error(e: &std::io::Error, rtt: Duration) -> UdpOutcome {
    match classify_remote(e) {
        ErrorMeaning::Refused => UdpOutcome::PortUnreachable { rtt },
        ErrorMeaning::Unreachable => UdpOutcome::Unreachable { rtt },
        ErrorMeaning::Pressure => UdpOutcome::LocalPressure(e.kind()),
        ErrorMeaning::Local => UdpOutcome::LocalError(e.kind()),
    }
}

fn local(e: &std::io::Error) -> UdpOutcome {
    match classify_local(e) {
        ErrorMeaning::Pressure => UdpOutcome::LocalPressure(e.kind()),
        _ => UdpOutcome::LocalError(e.kind()),
    }
}
