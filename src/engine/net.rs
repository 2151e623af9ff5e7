//! The network as the engine sees it: a small trait, so tests can plug in
//! silence, refusals, loss and delay, and the two real implementations:
//! `SystemNet` (connect() scans with the OS's TCP stack, any user) and
//! `SynNet` (half-open SYN scans over raw sockets, CAP_NET_RAW). UDP is
//! probed the same way in both. Time is tokio's, which tests pause and
//! advance (`tokio::time::pause`), so fakes need no wall clock either
//! (STYLE rule 10; quinn and hickory inject their I/O the same way).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use crate::probe::syn::SynScanner;
use crate::probe::{TcpOutcome, UdpOutcome, tcp, udp};

/// Sends probes and reports what came back.
pub trait Net: Send + Sync + 'static {
    /// Attempt `attempt` (from 1) of a TCP probe of `target`, waiting at
    /// most `wait` for an answer, then at most `banner` for a banner on an
    /// open port.
    ///
    /// Every attempt must travel on its own 4-tuple (its own socket, or
    /// its own source port), so an answer names the attempt it answers and
    /// its round trip is a clean sample even for a retransmission.
    fn tcp(
        &self,
        target: SocketAddr,
        attempt: u8,
        wait: Duration,
        banner: Duration,
    ) -> impl Future<Output = TcpOutcome> + Send;
    /// One UDP probe; see `probe::udp::probe`.
    fn udp(&self, target: SocketAddr, wait: Duration) -> impl Future<Output = UdpOutcome> + Send;
    /// Answers lost in this machine's own receive buffers so far (a
    /// monotonic count): congestion, never evidence of a filter.
    fn receive_drops(&self) -> u64 {
        0
    }
    /// Whether an answer that comes after its attempt's timeout still
    /// reaches a later attempt of the probe (`SynNet` keeps listening; a
    /// connect() socket is closed at its timeout). When it does, a
    /// retransmission need not wait longer than the first attempt: a slow
    /// answer is caught anyway, so the RFC 6298 doubling per attempt would
    /// only hold silent probes for longer.
    fn hears_late_answers(&self) -> bool {
        false
    }
    /// Resolves when another attempt can leave without queueing in
    /// memory: `SynNet` hands SYNs to a sending thread through a short
    /// queue, and attempts started faster than it sends would only wait
    /// there, each with its timer (a loopback sweep held 100,000 of them).
    fn ready(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// The operating system's sockets: connect() for TCP.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemNet;

impl Net for SystemNet {
    fn tcp(
        &self,
        target: SocketAddr,
        _attempt: u8,
        wait: Duration,
        banner: Duration,
    ) -> impl Future<Output = TcpOutcome> + Send {
        tcp::connect(target, wait, banner)
    }
    fn udp(&self, target: SocketAddr, wait: Duration) -> impl Future<Output = UdpOutcome> + Send {
        udp::probe(target, wait)
    }
}

/// Raw sockets: SYN probes for TCP (see `probe::syn`), with a follow-up
/// connect() on open ports only when a banner is wanted, as evidence.
#[derive(Debug)]
pub struct SynNet {
    scanner: SynScanner,
}

impl SynNet {
    /// Opens the raw sockets; `PermissionDenied` without CAP_NET_RAW.
    ///
    /// Must be called within a tokio runtime (it starts receive tasks).
    pub fn start() -> std::io::Result<Self> {
        Ok(Self { scanner: SynScanner::start()? })
    }
}

impl Net for SynNet {
    async fn tcp(
        &self,
        target: SocketAddr,
        attempt: u8,
        wait: Duration,
        banner: Duration,
    ) -> TcpOutcome {
        let outcome = self.scanner.probe(target, attempt, wait).await;
        match outcome {
            TcpOutcome::SynAck { rtt, attempt, .. } if !banner.is_zero() => {
                // The SYN-ACK already proved the port open; the connect is
                // only for evidence, and its failure changes nothing.
                let banner = match tcp::connect(target, wait, banner).await {
                    TcpOutcome::Open { banner, .. } => banner,
                    _ => None,
                };
                TcpOutcome::SynAck { rtt, banner, attempt }
            }
            other => other,
        }
    }
    fn udp(&self, target: SocketAddr, wait: Duration) -> impl Future<Output = UdpOutcome> + Send {
        udp::probe(target, wait)
    }
    fn receive_drops(&self) -> u64 {
        self.scanner.receive_drops()
    }
    fn hears_late_answers(&self) -> bool {
        true
    }
    fn ready(&self) -> impl Future<Output = ()> + Send {
        self.scanner.ready()
    }
}
