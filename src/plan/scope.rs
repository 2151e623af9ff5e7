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

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

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
        let probe_nets =
            intent.zones.iter().filter(|z| z.probe).flat_map(|z| z.cidrs.iter().copied());
        let host_addrs = intent
            .hosts
            .iter()
            .filter(|h| h.zone.is_none_or(|z| intent.zones[z.0].probe))
            .map(|h| h.address);
        let allowed = AddrRanges::from_parts(probe_nets, host_addrs);
        // A source-only zone may be nested inside a probe-able one (an
        // `office` zone with `probe: false` inside `corp`): its addresses are
        // never targets, whatever contains them. CIDRs nest or are disjoint,
        // so "strictly inside a probe-able CIDR" is a lookup of each shorter
        // prefix of the network.
        let probe_set: HashSet<IpNetwork> =
            intent.zones.iter().filter(|z| z.probe).flat_map(|z| z.cidrs.iter().copied()).collect();
        let nested =
            intent.zones.iter().filter(|z| !z.probe).flat_map(|z| z.cidrs.iter().copied()).filter(
                |n| (0..n.prefix()).any(|p| supernet(n, p).is_some_and(|s| probe_set.contains(&s))),
            );
        let nested = AddrRanges::from_parts(nested, []);
        Self { allowed: allowed.difference(&nested) }
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

/// The network of `prefix` bits that contains `net`.
fn supernet(net: &IpNetwork, prefix: u8) -> Option<IpNetwork> {
    IpNetwork::new(net.network(), prefix)
        .ok()
        .and_then(|n| IpNetwork::new(n.network(), prefix).ok())
}
