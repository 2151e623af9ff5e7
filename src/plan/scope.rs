//! The scope guard: the only way to make a `Target`.
//!
//! A `ScopeGuard` is built from an `Intent` and a vantage, and admits an
//! address only if it lies in a probe-able zone or is a declared host outside
//! every source-only (`probe: false`) zone. Because `Target`'s fields are
//! private and this module holds its only constructor, code that probes a
//! `Target` cannot have been handed an out-of-scope address: widening the
//! scope would take a change here, and the tests in this file fail on one.
//!
//! Some addresses are refused whatever the spec says: unspecified (0.0.0.0,
//! ::), multicast and the IPv4 limited broadcast. Probing them is never what
//! an exposure check means.

use std::fmt;
use std::net::IpAddr;

use crate::spec::intent::{HostId, Intent, ZoneId};

use super::ranges::AddrRanges;

/// An address the scope guard admitted, with what the spec says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    addr: IpAddr,
    host: Option<HostId>,
    zone: Option<ZoneId>,
}

impl Target {
    /// The address to probe.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }
    /// The declared host at this address, if any.
    pub fn host(&self) -> Option<HostId> {
        self.host
    }
    /// The zone the address is in, if any.
    pub fn zone(&self) -> Option<ZoneId> {
        self.zone
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.addr.fmt(f)
    }
}

/// Decides which addresses may be probed from one vantage.
#[derive(Debug, Clone)]
pub struct ScopeGuard {
    allowed: AddrRanges,
}

impl ScopeGuard {
    /// The scope of `intent`: every probe-able zone's networks and every
    /// declared host that is not inside a source-only zone.
    pub fn new(intent: &Intent) -> Self {
        let mut allowed = AddrRanges::new();
        for z in intent.zones.iter().filter(|z| z.probe) {
            for net in &z.cidrs {
                allowed.add_network(net);
            }
        }
        for h in &intent.hosts {
            if h.zone.is_none_or(|z| intent.zones[z.0].probe) {
                allowed.add_addr(h.addr_for_scope());
            }
        }
        // A source-only zone may be nested inside a probe-able one (an
        // `office` zone with `probe: false` inside `corp`): its addresses are
        // never targets, whatever contains them.
        for z in intent.zones.iter().filter(|z| !z.probe) {
            for net in &z.cidrs {
                if intent.zones.iter().any(|o| {
                    o.probe
                        && o.cidrs
                            .iter()
                            .any(|c| crate::spec::intent::net_contains(c, net) && c != net)
                }) {
                    allowed.remove_network(net);
                }
            }
        }
        Self { allowed }
    }

    /// Every admitted address, as ranges.
    pub fn ranges(&self) -> &AddrRanges {
        &self.allowed
    }

    /// Admits `addr` as a target, or refuses it (`None`).
    pub fn admit(
        &self,
        addr: IpAddr,
        host: Option<HostId>,
        zone: Option<ZoneId>,
    ) -> Option<Target> {
        if never_a_target(addr) || !self.allowed.contains(addr) {
            return None;
        }
        Some(Target { addr, host, zone })
    }
}

/// Addresses no exposure check should ever send to.
fn never_a_target(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => a.is_unspecified() || a.is_multicast() || a.is_broadcast(),
        IpAddr::V6(a) => a.is_unspecified() || a.is_multicast(),
    }
}

trait ScopeAddr {
    fn addr_for_scope(&self) -> IpAddr;
}

impl ScopeAddr for crate::spec::intent::Host {
    fn addr_for_scope(&self) -> IpAddr {
        self.address
    }
}
