//! The scope guard: the only way to make a `Target`.
//!
//! A `ScopeGuard` is built from an `Intent` and admits an address only if it
//! lies in a probe-able zone and not in a source-only (`probe: false`) zone
//! nested inside it. Every vantage sees the same targets; what differs per
//! vantage is which flows its probes can confirm.
//!
//! Because `Target`'s fields are private and this module holds its only
//! constructor, code that probes a `Target` cannot have been handed an
//! out-of-scope address: widening the scope would take a change here, and
//! the scope tests in `tests/it/plan.rs` fail on one.
//!
//! `excluding` narrows a guard by the user's exclusions (`--exclude`):
//! those addresses are refused too, whatever zone holds them.
//!
//! Some addresses are refused whatever the spec says: unspecified (0.0.0.0,
//! ::), multicast, the IPv4 limited broadcast, and IPv4-mapped IPv6. Probing
//! them is never what an exposure check means.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::spec::intent::{HostId, Intent, ZoneId, prefix_net};

use super::exclude::Exclusions;
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
    /// What `excluding` took out, checked again at `admit`.
    excluded: AddrRanges,
}

impl ScopeGuard {
    /// The scope of `intent`: every probe-able zone's networks, minus any
    /// source-only zone nested in them, minus the addresses no scan should
    /// touch. A declared host is in scope only through its zone: a host in
    /// no zone is never probed, so a mistyped address cannot become a
    /// target.
    pub fn new(intent: &Intent) -> Self {
        let probe_nets =
            intent.zones.iter().filter(|z| z.probe).flat_map(|z| z.cidrs.iter().copied());
        let allowed = AddrRanges::from_parts(probe_nets, []);
        // A source-only zone may be nested inside a probe-able one (an
        // `office` zone with `probe: false` inside `corp`): its addresses are
        // never targets, whatever contains them. CIDRs nest or are disjoint,
        // so "inside a probe-able CIDR" is a lookup of each prefix of the
        // network, its own length included.
        let probe_set: HashSet<IpNetwork> =
            intent.zones.iter().filter(|z| z.probe).flat_map(|z| z.cidrs.iter().copied()).collect();
        let nested =
            intent.zones.iter().filter(|z| !z.probe).flat_map(|z| z.cidrs.iter().copied()).filter(
                |n| {
                    (0..=n.prefix())
                        .any(|p| prefix_net(n.network(), p).is_some_and(|s| probe_set.contains(&s)))
                },
            );
        let excluded = AddrRanges::from_parts(nested.chain(never_targets()), []);
        Self { allowed: allowed.difference(&excluded), excluded: AddrRanges::new() }
    }

    /// This scope without the addresses of `exclusions` (`--exclude`). It
    /// can only narrow: nothing outside `self` comes back in.
    #[must_use]
    pub fn excluding(&self, exclusions: &Exclusions) -> Self {
        Self {
            allowed: self.allowed.difference(exclusions.ranges()),
            excluded: self.excluded.union(exclusions.ranges()),
        }
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
        if never_a_target(addr) || self.excluded.contains(addr) || !self.allowed.contains(addr) {
            return None;
        }
        Some(Target { addr, host, zone })
    }
}

/// Networks no exposure check should ever send to: unspecified, multicast,
/// IPv4 limited broadcast, and IPv4-mapped IPv6 (which a dual-stack socket
/// would send to the IPv4 address, around the IPv4 scope).
fn never_targets() -> impl Iterator<Item = IpNetwork> {
    ["0.0.0.0/32", "224.0.0.0/4", "255.255.255.255/32", "::/128", "ff00::/8", "::ffff:0:0/96"]
        .into_iter()
        .filter_map(|n| n.parse().ok())
}

/// The same test for one address, checked again at `admit` so that no
/// future change to the ranges above can let one through.
fn never_a_target(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => a.is_unspecified() || a.is_multicast() || a.is_broadcast(),
        IpAddr::V6(a) => a.is_unspecified() || a.is_multicast() || a.to_ipv4_mapped().is_some(),
    }
}
