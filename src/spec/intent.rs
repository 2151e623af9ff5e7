//! The resolved intent: every name resolved, every CIDR parsed, every service
//! expanded to ports. Nothing downstream of `spec` sees raw YAML.
//!
//! Invariants (kept by `resolve`, the only constructor):
//! - every `ZoneId`, `HostId`, `ServiceId`, `PolicyId` and `VantageId` indexes
//!   its vector;
//! - probe-able zones do not overlap one another;
//! - every host has a zone unless no zone contains its address;
//! - every flow has at least one source, one destination and one service;
//! - a service names a STARTTLS protocol only when it has a TLS policy.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use ipnetwork::IpNetwork;
use jiff::civil::Date;

use super::diag::Location;
use super::ports::PortSet;
pub use crate::tls::wire::starttls::Protocol as StartTls;

macro_rules! id {
    ($($(#[$m:meta])* $name:ident;)*) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub usize);
    )*};
}

id! {
    /// Index of a zone in `Intent::zones`.
    ZoneId;
    /// Index of a host in `Intent::hosts`.
    HostId;
    /// Index of a service in `Intent::services`.
    ServiceId;
    /// Index of a TLS policy in `Intent::tls_policies`.
    PolicyId;
    /// Index of a vantage in `Intent::vantages`.
    VantageId;
}

/// The whole resolved spec.
#[derive(Debug, Clone)]
pub struct Intent {
    /// The spec's `name`, if any.
    pub name: Option<String>,
    /// The main spec file, as given.
    pub file: PathBuf,
    /// Zones, in declaration order (main file first, then includes).
    pub zones: Vec<Zone>,
    /// Hosts.
    pub hosts: Vec<Host>,
    /// Services.
    pub services: Vec<Service>,
    /// Flows, in order.
    pub flows: Vec<Flow>,
    /// What an open port no flow mentions means.
    pub default: DefaultPolicy,
    /// How denied ports must look.
    pub deny_mode: DenyMode,
    /// Vantage points.
    pub vantages: Vec<Vantage>,
    /// Ports probed on every target.
    pub sweep: Sweep,
    /// TLS policies.
    pub tls_policies: Vec<TlsPolicy>,
    /// DNS policy.
    pub dns: Dns,
    /// Approved exceptions.
    pub waivers: Vec<Waiver>,
    /// Longest-prefix lookup of zones. Private to the crate, which also
    /// means an `Intent` cannot be built outside it: `resolve` is the way.
    pub(crate) zone_index: ZoneIndex,
}

/// Longest-prefix match from addresses to zones: a hash of every zone
/// network, probed at each prefix length from the longest down (at most 33
/// or 129 lookups, whatever the number of CIDRs).
#[derive(Debug, Clone, Default)]
pub(crate) struct ZoneIndex {
    by_net: HashMap<IpNetwork, ZoneId>,
}

impl ZoneIndex {
    /// Indexes `zones`; where two zones declare the same network (an error
    /// `resolve` reports), the first wins.
    pub(crate) fn new(zones: &[Zone]) -> Self {
        let mut by_net = HashMap::new();
        for (i, z) in zones.iter().enumerate() {
            for net in &z.cidrs {
                by_net.entry(*net).or_insert(ZoneId(i));
            }
        }
        Self { by_net }
    }

    fn lookup(&self, addr: IpAddr) -> Option<ZoneId> {
        let bits: u8 = if addr.is_ipv4() { 32 } else { 128 };
        (0..=bits).rev().find_map(|p| self.by_net.get(&prefix_net(addr, p)?).copied())
    }
}

/// The network of `prefix` bits containing `addr`, with host bits cleared
/// (the form `resolve` stores networks in), or `None` if `prefix` is too long.
pub fn prefix_net(addr: IpAddr, prefix: u8) -> Option<IpNetwork> {
    let network = match addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
        }
    };
    IpNetwork::new(network, prefix).ok()
}

/// A segmentation unit.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Its name.
    pub name: String,
    /// Its networks.
    pub cidrs: Vec<IpNetwork>,
    /// `false`: a source only, never a target.
    pub probe: bool,
    /// Where it is declared.
    pub at: Location,
}

/// A named host.
#[derive(Debug, Clone)]
pub struct Host {
    /// Its name.
    pub name: String,
    /// Its address.
    pub address: IpAddr,
    /// DNS names it serves.
    pub names: Vec<String>,
    /// Its zone: declared, or the most specific zone containing the address;
    /// `None` when no zone contains it (a lint warning).
    pub zone: Option<ZoneId>,
    /// Where it is declared.
    pub at: Location,
}

/// A named port set.
#[derive(Debug, Clone)]
pub struct Service {
    /// Its name.
    pub name: String,
    /// TCP ports.
    pub tcp: PortSet,
    /// UDP ports.
    pub udp: PortSet,
    /// TLS policy its TCP ports must meet.
    pub tls: Option<PolicyId>,
    /// How its TLS is reached: after this protocol's STARTTLS preamble, or
    /// (`None`) from the first byte. Only ever set together with `tls`.
    pub starttls: Option<StartTls>,
    /// Severity of its unintended exposure, when the spec sets it.
    pub severity: Option<Severity>,
    /// Where it is declared.
    pub at: Location,
}

/// Finding severities, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// For information.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "info" => Self::Info,
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "critical" => Self::Critical,
            _ => return None,
        })
    }
}

/// A flow endpoint: a whole zone or one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// One host.
    Host(HostId),
    /// A zone.
    Zone(ZoneId),
}

/// Whether a flow allows or denies its services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The services may (or must) be reachable.
    Allow,
    /// The services must not be reachable; wins over any allow.
    Deny,
}

/// Whether an allowed flow must be reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Require {
    /// May be open, need not be.
    Optional,
    /// Must be open (the default).
    Reachable,
}

/// One flow rule. A flow with both `allow` and `deny` in the spec becomes two.
#[derive(Debug, Clone)]
pub struct Flow {
    /// Sources.
    pub from: Vec<Endpoint>,
    /// Destinations.
    pub to: Vec<Endpoint>,
    /// Allow or deny.
    pub action: Action,
    /// The services.
    pub services: Vec<ServiceId>,
    /// For allows: must it be reachable.
    pub require: Require,
    /// Severity override.
    pub severity: Option<Severity>,
    /// 1-based position in the spec's `flows` list.
    pub index: usize,
    /// Where it is declared.
    pub at: Location,
}

/// What an open port that no flow mentions means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultPolicy {
    /// It is allowed.
    Allow,
    /// It is an exposure.
    Deny,
}

/// How denied ports must look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyMode {
    /// Filtered or closed.
    Any,
    /// Filtered (silently dropped).
    Drop,
    /// Closed (refused with RST / ICMP).
    Reject,
}

/// A vantage point.
#[derive(Debug, Clone)]
pub struct Vantage {
    /// Its name.
    pub name: String,
    /// Its zone.
    pub zone: ZoneId,
    /// Remote agent URL.
    pub agent: Option<String>,
    /// Where it is declared.
    pub at: Location,
}

/// Ports probed on every target.
#[derive(Debug, Clone, Default)]
pub struct Sweep {
    /// TCP.
    pub tcp: PortSet,
    /// UDP.
    pub udp: PortSet,
    /// Where it is declared, if it is.
    pub at: Option<Location>,
}

/// Mozilla Server Side TLS profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsProfile {
    /// Intermediate: TLS 1.2 and 1.3.
    Intermediate,
    /// Modern: TLS 1.3 only.
    Modern,
    /// Old: back to TLS 1.0.
    Old,
}

impl TlsProfile {
    /// The name Mozilla's guidelines give it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intermediate => "intermediate",
            Self::Modern => "modern",
            Self::Old => "old",
        }
    }
}

/// A TLS policy: a Mozilla profile of one guideline version, and the
/// spec's overrides (`tls::policy::Policy::from_intent` makes it usable).
#[derive(Debug, Clone)]
pub struct TlsPolicy {
    /// Its name.
    pub name: String,
    /// The profile.
    pub profile: TlsProfile,
    /// The guideline version the profile is taken from (default: current);
    /// `resolve` checked that it has the profile.
    pub guideline: crate::tls::profile::Guideline,
    /// Check the certificate against the host's names.
    pub hostname: bool,
    /// CA file, resolved against the spec's folder.
    pub trusted_ca: Option<PathBuf>,
    /// Days of validity that must remain.
    pub min_days_left: u32,
    /// Lowest version allowed, replacing the profile's list.
    pub min_version: Option<crate::tls::names::ProtocolVersion>,
    /// Suites allowed besides the profile's, as IANA names.
    pub ciphers_allow: Vec<String>,
    /// Suites denied despite the profile, as IANA names.
    pub ciphers_deny: Vec<String>,
    /// Smallest RSA key in bits, when the spec sets one.
    pub min_rsa_bits: Option<u32>,
    /// Whether an OCSP response must be stapled.
    pub require_ocsp_staple: bool,
    /// Where it is declared.
    pub at: Location,
}

/// DNS policy.
#[derive(Debug, Clone)]
pub struct Dns {
    /// Servers to query, in spec order, each once.
    pub servers: Vec<DnsServer>,
    /// Expected records.
    pub expect: Vec<DnsExpect>,
    /// Forbidden behaviours.
    pub forbid: Vec<DnsForbid>,
    /// Where each `forbid` entry is written, in the same order.
    pub forbid_at: Vec<Location>,
    /// The name asked with recursion desired for the open-recursion check,
    /// lower case without the final dot.
    pub recursion_name: String,
}

/// A DNS server of `dns.servers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsServer {
    /// Its address and port (53 unless the spec says otherwise).
    pub addr: SocketAddr,
    /// Where it is listed.
    pub at: Location,
}

/// The name asked for the open-recursion check when the spec names none:
/// reserved for documentation (RFC 2606), served by IANA, outside any zone
/// a spec's servers are likely to serve.
pub const DEFAULT_RECURSION_NAME: &str = "example.com";

impl Default for Dns {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            expect: Vec::new(),
            forbid: Vec::new(),
            forbid_at: Vec::new(),
            recursion_name: DEFAULT_RECURSION_NAME.to_owned(),
        }
    }
}

/// An expected record set.
#[derive(Debug, Clone)]
pub struct DnsExpect {
    /// Name to resolve.
    pub name: String,
    /// Record type, upper case (`A`, `AAAA`, ...); `A` when the spec
    /// names none.
    pub rtype: String,
    /// The spec named the type. An `absent` entry without one is asked
    /// as both A and AAAA (an IPv6-only leak is a leak).
    pub type_given: bool,
    /// Expected answer set.
    pub values: Vec<String>,
    /// Vantages it applies from; empty means all.
    pub from: Vec<VantageId>,
    /// The name must not resolve.
    pub absent: bool,
    /// Where it is declared.
    pub at: Location,
}

/// A forbidden DNS behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsForbid {
    /// A CNAME whose target does not resolve.
    DanglingCname,
    /// Recursion for outsiders.
    OpenRecursion,
    /// AXFR for outsiders.
    ZoneTransfer,
}

/// Transport protocol of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// Who a waiver's `from` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaiverSource {
    /// A vantage.
    Vantage(VantageId),
    /// Every vantage in a zone.
    Zone(ZoneId),
}

/// An approved exception.
#[derive(Debug, Clone)]
pub struct Waiver {
    /// Its id.
    pub id: String,
    /// Matches findings from this source only.
    pub from: Option<WaiverSource>,
    /// Matches findings on this target only.
    pub to: Option<Endpoint>,
    /// Matches findings on this port only.
    pub port: Option<(Proto, u16)>,
    /// Matches findings of this rule only.
    pub rule: Option<String>,
    /// Why.
    pub reason: String,
    /// Who approved it.
    pub approved_by: String,
    /// Last day it applies (UTC, inclusive).
    pub expires: Date,
    /// Where it is declared.
    pub at: Location,
}

impl Intent {
    /// The zone named `name`.
    pub fn zone(&self, name: &str) -> Option<ZoneId> {
        self.zones.iter().position(|z| z.name == name).map(ZoneId)
    }

    /// The vantage named `name`.
    pub fn vantage(&self, name: &str) -> Option<VantageId> {
        self.vantages.iter().position(|v| v.name == name).map(VantageId)
    }

    /// The networks an endpoint covers. For a zone with `probe: false` that
    /// contains other zones, this is still its full CIDR list; callers that
    /// need "minus the other zones" use `Intent::zone_of`.
    pub fn networks(&self, e: Endpoint) -> Vec<IpNetwork> {
        match e {
            Endpoint::Zone(z) => self.zones[z.0].cidrs.clone(),
            Endpoint::Host(h) => vec![IpNetwork::from(self.hosts[h.0].address)],
        }
    }

    /// The name of an endpoint.
    pub fn endpoint_name(&self, e: Endpoint) -> &str {
        match e {
            Endpoint::Zone(z) => &self.zones[z.0].name,
            Endpoint::Host(h) => &self.hosts[h.0].name,
        }
    }

    /// The most specific zone containing `addr` (longest prefix), which is
    /// how a source-only zone like `internet` (0.0.0.0/0) "minus every other
    /// zone" works: an address in `dmz` belongs to `dmz`, not `internet`.
    pub fn zone_of(&self, addr: IpAddr) -> Option<ZoneId> {
        self.zone_index.lookup(addr)
    }

    /// Whether `outer` covers every address of `inner`. A zone means its
    /// CIDRs minus every other zone nested in them (so `internet` does not
    /// cover `dmz`), and a host belongs to its zone.
    pub fn covers(&self, outer: Endpoint, inner: Endpoint) -> bool {
        match (outer, inner) {
            (Endpoint::Zone(a), Endpoint::Zone(b)) => a == b,
            (Endpoint::Zone(z), Endpoint::Host(h)) => self.hosts[h.0].zone == Some(z),
            (Endpoint::Host(a), Endpoint::Host(b)) => {
                self.hosts[a.0].address == self.hosts[b.0].address
            }
            (Endpoint::Host(h), Endpoint::Zone(z)) => {
                let addr = IpNetwork::from(self.hosts[h.0].address);
                let cidrs = &self.zones[z.0].cidrs;
                !cidrs.is_empty() && cidrs.iter().all(|c| *c == addr)
            }
        }
    }

    /// The TCP and UDP ports of a list of services.
    pub fn ports_of(&self, services: &[ServiceId]) -> (PortSet, PortSet) {
        // Merged once, not once per service.
        let tcp = services.iter().flat_map(|s| self.services[s.0].tcp.ranges().iter().copied());
        let udp = services.iter().flat_map(|s| self.services[s.0].udp.ranges().iter().copied());
        (PortSet::from_ranges(tcp), PortSet::from_ranges(udp))
    }

    /// The TCP ports the spec says speak TLS: a service with a `tls:`
    /// policy that an allowing flow opens to a host. One per (address,
    /// port), ordered by address then port; where several services or
    /// flows name the same port, the first flow in spec order, and its
    /// first such service, decide the policy.
    pub fn tls_endpoints(&self) -> Vec<TlsEndpoint> {
        // Hosts by zone and by address, so a flow costs what it reaches,
        // not a pass over every host (a spec may declare tens of thousands).
        let mut by_zone: HashMap<ZoneId, Vec<HostId>> = HashMap::new();
        let mut by_address: HashMap<IpAddr, Vec<HostId>> = HashMap::new();
        for (i, h) in self.hosts.iter().enumerate() {
            if let Some(z) = h.zone {
                by_zone.entry(z).or_default().push(HostId(i));
            }
            by_address.entry(h.address).or_default().push(HostId(i));
        }
        let mut out: std::collections::BTreeMap<(IpAddr, u16), TlsEndpoint> =
            std::collections::BTreeMap::new();
        for flow in self.flows.iter().filter(|f| f.action == Action::Allow) {
            for &service in &flow.services {
                let Some(policy) = self.services[service.0].tls else { continue };
                let mut reached: Vec<HostId> = Vec::new();
                for to in &flow.to {
                    match *to {
                        Endpoint::Zone(z) => {
                            reached.extend(by_zone.get(&z).into_iter().flatten().copied());
                        }
                        Endpoint::Host(h) => reached.extend(
                            by_address.get(&self.hosts[h.0].address).into_iter().flatten().copied(),
                        ),
                    }
                }
                reached.sort_unstable();
                for host in reached {
                    let address = self.hosts[host.0].address;
                    for port in self.services[service.0].tcp.iter() {
                        out.entry((address, port)).or_insert(TlsEndpoint {
                            host,
                            port,
                            service,
                            policy,
                            starttls: self.services[service.0].starttls,
                        });
                    }
                }
            }
        }
        out.into_values().collect()
    }
}

/// A TCP port that must speak TLS (`Intent::tls_endpoints`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsEndpoint {
    /// The host.
    pub host: HostId,
    /// The port.
    pub port: u16,
    /// The service that gives it a policy.
    pub service: ServiceId,
    /// The policy.
    pub policy: PolicyId,
    /// The STARTTLS protocol spoken before TLS, if the service names one.
    pub starttls: Option<StartTls>,
}

/// Whether network `outer` contains all of network `inner`.
pub fn net_contains(outer: &IpNetwork, inner: &IpNetwork) -> bool {
    outer.prefix() <= inner.prefix() && outer.contains(inner.network())
}
