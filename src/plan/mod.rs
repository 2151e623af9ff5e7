//! Planning: `(Intent, vantage, Options) -> Plan`, a lazy stream of probes.
//!
//! A plan is a list of target groups (a zone's addresses minus its declared
//! hosts, or one declared host), each with the ports to probe there: the
//! sweep plus every port any flow names for that destination (allowed ports
//! to confirm reachability, denied and other ports to confirm they are shut,
//! whoever the flow's source is). Probe `i` of the scan is found by
//! arithmetic: a keyed permutation spreads the order across hosts, then a
//! binary search over cumulative counts finds the group, the port and the
//! address. Nothing is materialized, so a /16 with 1,000 ports (65 M probes)
//! is counted and listed in constant memory.
//!
//! Invariants:
//! - pure: no I/O, no clock, no tokio;
//! - every probe's `Target` comes from `scope::ScopeGuard::admit`, and
//!   the guard of a plan made `with_exclusions` refuses the excluded
//!   addresses, so they are never probes;
//! - the same (Intent, vantage, seed, shard) always gives the same sequence;
//! - the N shards of a plan are disjoint and their union is the plan.

pub mod done;
pub mod exclude;
pub mod locate;
pub mod permute;
pub mod ranges;
pub mod scope;
pub mod shard;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::spec::intent::{Action, Endpoint, HostId, Intent, Proto, VantageId, ZoneId};
use crate::spec::ports::PortSet;

pub use done::Done;
pub use exclude::Exclusions;
use permute::Permutation;
use ranges::AddrRanges;
pub use scope::{ScopeGuard, Target};
pub use shard::Shard;

/// Sweeps over more addresses than this need `allow_large`.
pub const LARGE_SWEEP_ADDRESSES: u128 = 65_536;

/// Plans larger than this are refused outright: at a million probes per
/// second they would take more than a year.
pub const MAX_PROBES: u64 = 1 << 45;

/// Port ranges that flows may name, summed over their destinations. A
/// realistic spec names a few per flow; ten thousand flows of a hundred
/// ranges each stay far below.
pub const MAX_FLOW_PORT_RANGES: usize = 2_000_000;

/// How to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Seed of the probe order; shards of one scan must share it.
    pub seed: u64,
    /// Which slice of the plan to take.
    pub shard: Shard,
    /// Permit sweeps over more than `LARGE_SWEEP_ADDRESSES` addresses.
    pub allow_large: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { seed: 1, shard: Shard::WHOLE, allow_large: false }
    }
}

/// One probe to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Probe {
    /// Where to.
    pub target: Target,
    /// TCP or UDP.
    pub proto: Proto,
    /// Destination port.
    pub port: u16,
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// `--from` names no vantage of the spec.
    #[error("no vantage is named `{name}`; the spec declares: {known}")]
    UnknownVantage {
        /// The name given.
        name: String,
        /// The declared vantages, comma-separated.
        known: String,
    },
    /// The sweep covers too many addresses without `allow_large`.
    #[error(
        "the plan covers {addresses} addresses, more than {limit}; pass --allow-large if you mean it"
    )]
    TooLarge {
        /// Addresses in scope.
        addresses: u128,
        /// The limit.
        limit: u128,
    },
    /// The flows name too many port ranges across their destinations.
    #[error(
        "the flows name {ranges} port ranges across their destinations, more than {limit}; list fewer ports per flow or move them into the sweep"
    )]
    TooComplex {
        /// Port ranges, summed over destinations.
        ranges: usize,
        /// The limit.
        limit: usize,
    },
    /// Even with `allow_large` the plan cannot be scanned.
    #[error(
        "the plan has {probes} probes, more than any scan can send (limit {limit}); narrow the zones (an IPv6 /64 cannot be swept: declare its hosts)"
    )]
    Unscannable {
        /// Probes (saturated).
        probes: u128,
        /// The limit.
        limit: u64,
    },
}

/// The sweep's ports, shared by every group: a spec may sweep thousands of
/// port ranges over thousands of hosts, and a copy per group would make
/// planning memory O(groups × sweep).
#[derive(Debug, Default)]
struct SweepPorts {
    tcp: PortSet,
    udp: PortSet,
}

/// A set of targets that share one port list: the sweep plus the ports
/// flows name for this destination.
#[derive(Debug, Clone)]
pub struct Group {
    /// The declared host, for a host group.
    pub host: Option<HostId>,
    /// The zone the addresses are in.
    pub zone: Option<ZoneId>,
    /// The addresses.
    pub addresses: AddrRanges,
    /// TCP ports probed here beyond the sweep (disjoint from it).
    pub extra_tcp: PortSet,
    /// UDP ports probed here beyond the sweep (disjoint from it).
    pub extra_udp: PortSet,
    /// TCP ports some flow names for this destination (sweep or not): a
    /// result on one of them bears on a declared flow.
    pub flow_tcp: PortSet,
    /// UDP ports some flow names for this destination.
    pub flow_udp: PortSet,
    sweep: Arc<SweepPorts>,
    addr_count: u64,
}

impl Group {
    /// Every TCP port probed here (sweep and extra).
    pub fn tcp(&self) -> PortSet {
        let mut all = self.sweep.tcp.clone();
        all.extend(&self.extra_tcp);
        all
    }

    /// Every UDP port probed here (sweep and extra).
    pub fn udp(&self) -> PortSet {
        let mut all = self.sweep.udp.clone();
        all.extend(&self.extra_udp);
        all
    }

    /// Whether some flow names `proto`/`port` for this group's addresses.
    pub fn bears_on_flow(&self, proto: Proto, port: u16) -> bool {
        match proto {
            Proto::Tcp => self.flow_tcp.contains(port),
            Proto::Udp => self.flow_udp.contains(port),
        }
    }

    /// Whether `proto`/`port` is probed on this group's addresses.
    pub fn probes_port(&self, proto: Proto, port: u16) -> bool {
        match proto {
            Proto::Tcp => self.sweep.tcp.contains(port) || self.extra_tcp.contains(port),
            Proto::Udp => self.sweep.udp.contains(port) || self.extra_udp.contains(port),
        }
    }

    /// Ports per address.
    pub fn port_count(&self) -> u64 {
        let n = self.sweep.tcp.len()
            + self.extra_tcp.len()
            + self.sweep.udp.len()
            + self.extra_udp.len();
        u64::from(n)
    }

    /// The `i`-th (proto, port) of this group: sweep TCP, extra TCP, sweep
    /// UDP, extra UDP. The order inside a group does not matter; the plan's
    /// permutation spreads it.
    fn port(&self, i: u64) -> Option<(Proto, u16)> {
        let mut i = u32::try_from(i).ok()?;
        for (proto, set) in [
            (Proto::Tcp, &self.sweep.tcp),
            (Proto::Tcp, &self.extra_tcp),
            (Proto::Udp, &self.sweep.udp),
            (Proto::Udp, &self.extra_udp),
        ] {
            if i < set.len() {
                return set.nth(i).map(|p| (proto, p));
            }
            i -= set.len();
        }
        None
    }

    /// Probes in this group.
    pub fn probes(&self) -> u64 {
        self.addr_count * self.port_count()
    }
}

/// A flow this vantage's probes can confirm or refute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmable {
    /// Index in `Intent::flows`.
    pub flow: usize,
    /// TCP ports of the flow.
    pub tcp: PortSet,
    /// UDP ports of the flow.
    pub udp: PortSet,
}

/// What a scan from one vantage sends.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The vantage.
    pub vantage: VantageId,
    /// How it was planned.
    pub options: Options,
    /// Target groups, in a fixed order.
    pub groups: Vec<Group>,
    /// Flows whose source covers the vantage's zone.
    pub confirmable: Vec<Confirmable>,
    /// Zones never probed (`probe: false`).
    pub skipped_zones: Vec<ZoneId>,
    /// What the exclusions took out of the plan (all shards).
    pub excluded: Excluded,
    scope: ScopeGuard,
    host_group: HashMap<HostId, usize>,
    zone_group: HashMap<ZoneId, usize>,
    cumulative: Vec<u64>,
    total: u64,
    permutation: Permutation,
}

/// What exclusions (`--exclude`) took out of a plan: addresses that would
/// have been targets, and their probes, over all shards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Excluded {
    /// Addresses left out.
    pub addresses: u128,
    /// Probes left out.
    pub probes: u128,
}

/// The TCP and UDP ports flows name for each destination zone or host,
/// computed in one pass over the flows. Refuses (with the count) when the
/// flows name more port ranges per destination, summed, than
/// `MAX_FLOW_PORT_RANGES`: only an adversarial spec gets there, and it must
/// not take the planner's memory with it.
fn ports_by_destination(
    intent: &Intent,
) -> Result<HashMap<Endpoint, (PortSet, PortSet)>, PlanError> {
    // Per destination: (TCP ranges, UDP ranges), merged once at the end.
    type Ranges = Vec<(u16, u16)>;
    let mut by_dest: HashMap<Endpoint, (Ranges, Ranges)> = HashMap::new();
    let mut total: usize = 0;
    for f in &intent.flows {
        let (tcp, udp) = intent.ports_of(&f.services);
        let per_dest = tcp.ranges().len() + udp.ranges().len();
        total = total.saturating_add(per_dest.saturating_mul(f.to.len()));
        if total > MAX_FLOW_PORT_RANGES {
            return Err(PlanError::TooComplex { ranges: total, limit: MAX_FLOW_PORT_RANGES });
        }
        for t in &f.to {
            let entry = by_dest.entry(*t).or_default();
            entry.0.extend_from_slice(tcp.ranges());
            entry.1.extend_from_slice(udp.ranges());
        }
    }
    Ok(by_dest
        .into_iter()
        .map(|(e, (t, u))| (e, (PortSet::from_ranges(t), PortSet::from_ranges(u))))
        .collect())
}

impl Plan {
    /// Plans a scan of `intent` from the vantage named `vantage`.
    pub fn new(intent: &Intent, vantage: &str, options: Options) -> Result<Self, PlanError> {
        Self::with_exclusions(intent, vantage, options, &Exclusions::none())
    }

    /// Plans a scan of `intent` from `vantage` that never probes an
    /// address of `exclusions`: the scope guard refuses them, so the plan
    /// has fewer probes, and `excluded` counts what was left out.
    pub fn with_exclusions(
        intent: &Intent,
        vantage: &str,
        options: Options,
        exclusions: &Exclusions,
    ) -> Result<Self, PlanError> {
        let Some(vid) = intent.vantage(vantage) else {
            let known: Vec<&str> = intent.vantages.iter().map(|v| v.name.as_str()).collect();
            return Err(PlanError::UnknownVantage {
                name: vantage.to_owned(),
                known: if known.is_empty() { "(none)".to_owned() } else { known.join(", ") },
            });
        };
        let whole = ScopeGuard::new(intent);
        let scope = whole.excluding(exclusions);
        let by_dest = ports_by_destination(intent)?;
        let flow_ports = |e: Endpoint| by_dest.get(&e).cloned().unwrap_or_default();
        let sweep =
            Arc::new(SweepPorts { tcp: intent.sweep.tcp.clone(), udp: intent.sweep.udp.clone() });
        let group = |host, zone, addresses, (tcp, udp): (PortSet, PortSet)| Group {
            host,
            zone,
            addresses,
            extra_tcp: tcp.difference(&sweep.tcp),
            extra_udp: udp.difference(&sweep.udp),
            flow_tcp: tcp,
            flow_udp: udp,
            sweep: Arc::clone(&sweep),
            addr_count: 0,
        };
        let all_hosts = AddrRanges::from_parts([], intent.hosts.iter().map(|h| h.address));
        let mut groups = Vec::new();
        let mut skipped_zones = Vec::new();
        for (zi, z) in intent.zones.iter().enumerate() {
            let zid = ZoneId(zi);
            if !z.probe {
                skipped_zones.push(zid);
                continue;
            }
            // Declared hosts are planned as their own groups.
            let addresses =
                AddrRanges::from_parts(z.cidrs.iter().copied(), []).difference(&all_hosts);
            groups.push(group(None, Some(zid), addresses, flow_ports(Endpoint::Zone(zid))));
        }
        for (hi, h) in intent.hosts.iter().enumerate() {
            // A host is a target only through a probe-able zone (see `scope`).
            if !h.zone.is_some_and(|z| intent.zones[z.0].probe) {
                continue;
            }
            let addresses = AddrRanges::from_parts([], [h.address]);
            // A host gets what flows name for it and for its zone.
            let (mut tcp, mut udp) = flow_ports(Endpoint::Host(HostId(hi)));
            if let Some(z) = h.zone {
                let (zt, zu) = flow_ports(Endpoint::Zone(z));
                tcp.extend(&zt);
                udp.extend(&zu);
            }
            groups.push(group(Some(HostId(hi)), h.zone, addresses, (tcp, udp)));
        }
        // Only what the scope guard admits is planned: intersect each group
        // with the scope (this removes, e.g., source-only zones nested in a
        // probe-able one) and drop groups with nothing left to probe.
        for g in &mut groups {
            g.addresses = g.addresses.intersection(whole.ranges());
        }
        groups.retain(|g| g.port_count() > 0 && !g.addresses.is_empty());
        // Then the exclusions, counting what they take out of the plan.
        let mut excluded = Excluded::default();
        for g in &mut groups {
            let before = g.addresses.len();
            g.addresses = g.addresses.intersection(scope.ranges());
            let gone = before - g.addresses.len();
            excluded.addresses = excluded.addresses.saturating_add(gone);
            excluded.probes =
                excluded.probes.saturating_add(gone.saturating_mul(u128::from(g.port_count())));
        }
        groups.retain(|g| !g.addresses.is_empty());
        // Counted after the retain: a huge zone with no port to probe is no sweep.
        let mut addresses_total: u128 = 0;
        let mut probes_total: u128 = 0;
        for g in &groups {
            let n = g.addresses.len();
            addresses_total = addresses_total.saturating_add(n);
            probes_total =
                probes_total.saturating_add(n.saturating_mul(u128::from(g.port_count())));
        }
        if addresses_total > LARGE_SWEEP_ADDRESSES && !options.allow_large {
            return Err(PlanError::TooLarge {
                addresses: addresses_total,
                limit: LARGE_SWEEP_ADDRESSES,
            });
        }
        if probes_total > u128::from(MAX_PROBES) {
            return Err(PlanError::Unscannable { probes: probes_total, limit: MAX_PROBES });
        }
        let mut cumulative = Vec::with_capacity(groups.len());
        let mut total = 0u64;
        for g in &mut groups {
            // Bounded by MAX_PROBES above, so these fit.
            g.addr_count = u64::try_from(g.addresses.len()).unwrap_or(u64::MAX);
            total += g.probes();
            cumulative.push(total);
        }
        let vzone = intent.vantages[vid.0].zone;
        let confirmable = intent
            .flows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.from.iter().any(|s| intent.covers(*s, Endpoint::Zone(vzone))))
            .map(|(i, f)| {
                let (tcp, udp) = intent.ports_of(&f.services);
                Confirmable { flow: i, tcp, udp }
            })
            .collect();
        let permutation = Permutation::new(total, options.seed);
        let host_group =
            groups.iter().enumerate().filter_map(|(i, g)| g.host.map(|h| (h, i))).collect();
        let zone_group = groups
            .iter()
            .enumerate()
            .filter_map(|(i, g)| if g.host.is_none() { g.zone.map(|z| (z, i)) } else { None })
            .collect();
        Ok(Self {
            vantage: vid,
            options,
            groups,
            confirmable,
            skipped_zones,
            excluded,
            scope,
            host_group,
            zone_group,
            cumulative,
            total,
            permutation,
        })
    }

    /// Probes in the whole plan (all shards).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Probes in this plan's shard.
    pub fn len(&self) -> u64 {
        self.options.shard.len_of(self.total)
    }

    /// Whether this shard sends nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Addresses in the plan.
    pub fn addresses(&self) -> u128 {
        self.groups.iter().map(|g| g.addresses.len()).sum()
    }

    /// The probe at position `i` of the unpermuted plan order.
    fn probe_at(&self, i: u64) -> Option<Probe> {
        let gi = self.cumulative.partition_point(|c| *c <= i);
        let g = self.groups.get(gi)?;
        let j = i - if gi == 0 { 0 } else { self.cumulative[gi - 1] };
        // Address varies fastest, so consecutive plan positions are different
        // hosts even before the permutation.
        let (port_idx, addr_idx) = (j / g.addr_count, j % g.addr_count);
        let addr = g.addresses.nth(u128::from(addr_idx))?;
        let (proto, port) = g.port(port_idx)?;
        let target = self.scope.admit(addr, g.host, g.zone)?;
        Some(Probe { target, proto, port })
    }

    /// The `j`-th probe of this shard, in scan order.
    pub fn nth(&self, j: u64) -> Option<Probe> {
        if j >= self.len() {
            return None;
        }
        self.probe_at(self.permutation.permute(self.options.shard.position(j)))
    }

    /// Every probe of this shard, in scan order, computed lazily.
    pub fn probes(&self) -> impl Iterator<Item = Probe> + '_ {
        (0..self.len()).filter_map(move |j| self.nth(j))
    }

    /// Whether the plan would ever probe `addr` on `proto`/`port`.
    pub fn covers(&self, addr: IpAddr, proto: Proto, port: u16) -> bool {
        self.groups.iter().any(|g| g.addresses.contains(addr) && g.probes_port(proto, port))
    }

    /// The group a planned target belongs to.
    pub fn group_of(&self, t: &Target) -> Option<&Group> {
        match t.host() {
            Some(h) => self.host_group(h),
            None => t.zone().and_then(|z| self.zone_group.get(&z)).map(|&i| &self.groups[i]),
        }
    }

    /// The group that probes declared host `h`, if it is a target.
    pub fn host_group(&self, h: HostId) -> Option<&Group> {
        self.host_group.get(&h).map(|&i| &self.groups[i])
    }

    /// The scope guard this plan admits targets with.
    pub fn scope(&self) -> &ScopeGuard {
        &self.scope
    }
}

/// Whether a flow is a deny.
pub fn is_deny(intent: &Intent, flow: usize) -> bool {
    intent.flows[flow].action == Action::Deny
}
