//! The network as the engine sees it: a small trait, so tests can plug in
//! silence, refusals, loss and delay, and the real implementation that
//! calls `probe::tcp` and `probe::udp` (STYLE rule 10; quinn and hickory
//! inject their I/O the same way). Time is tokio's, which tests pause and
//! advance (`tokio::time::pause`), so fakes need no wall clock either.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use crate::probe::{TcpOutcome, UdpOutcome, tcp, udp};

/// Sends probes and reports what came back.
pub trait Net: Send + Sync + 'static {
    /// One TCP connect attempt; see `probe::tcp::connect`.
    fn tcp(
        &self,
        target: SocketAddr,
        wait: Duration,
        banner: Duration,
    ) -> impl Future<Output = TcpOutcome> + Send;
    /// One UDP probe; see `probe::udp::probe`.
    fn udp(&self, target: SocketAddr, wait: Duration) -> impl Future<Output = UdpOutcome> + Send;
}

/// The operating system's sockets.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemNet;

impl Net for SystemNet {
    fn tcp(
        &self,
        target: SocketAddr,
        wait: Duration,
        banner: Duration,
    ) -> impl Future<Output = TcpOutcome> + Send {
        tcp::connect(target, wait, banner)
    }
    fn udp(&self, target: SocketAddr, wait: Duration) -> impl Future<Output = UdpOutcome> + Send {
        udp::probe(target, wait)
    }
}
