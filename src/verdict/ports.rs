//! The port rules: what each observed port means given the flows that apply
//! from the vantage's zone to the target.
//!
//! - `exposure`: open, and denied by a flow (a deny wins over any allow), or
//!   named by no allow while `default: deny`;
//! - `unreachable`: closed or filtered, allowed by a flow with `require:
//!   reachable` and denied by none. For a flow to a whole zone, only
//!   addresses that showed a live host (an open port, or a declared host)
//!   count: silence from an empty address is not a broken flow;
//! - `deny-mode`: a port a deny flow names, with `deny_mode: drop`, that
//!   answered (RST, or an ICMP error); with `reject`, that stayed silent;
//! - `undeclared-host`: an address that is not a declared host, in a zone
//!   that declares hosts, with an open port. Only open counts: a firewall
//!   that rejects with RST answers for addresses where no host lives.
//!
//! Observations that prove nothing about the target (`local-error`,
//! `self-connect`) and UDP silence (`open|filtered`) decide nothing here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use crate::observe::{PortState, Reason};
use crate::report::document::{Finding, Proto as DocProto, Rule, Severity, SpecLocation};
use crate::spec::Intent;
use crate::spec::intent::{
    Action, DefaultPolicy, DenyMode, Endpoint, Flow, HostId, Proto, Require, ZoneId,
};
use crate::spec::ports::PortSet;

use super::Source;
use super::evidence;
use super::merge::{Merged, PortObs, VantageObs};
use super::severity;

/// At most this many ports are listed in an `undeclared-host` evidence.
const LISTED_PORTS: usize = 10;

/// `flow #2 (app -> dmz: allow ssh)`.
pub(crate) fn describe_flow(intent: &Intent, f: &Flow) -> String {
    let names = |es: &[Endpoint]| {
        es.iter().map(|e| intent.endpoint_name(*e)).collect::<Vec<_>>().join(", ")
    };
    let services: Vec<&str> =
        f.services.iter().map(|s| intent.services[s.0].name.as_str()).collect();
    let action = match f.action {
        Action::Allow => "allow",
        Action::Deny => "deny",
    };
    format!(
        "flow #{} ({} -> {}: {action} {})",
        f.index,
        names(&f.from),
        names(&f.to),
        services.join(", ")
    )
}

pub(crate) fn doc_proto(p: Proto) -> DocProto {
    match p {
        Proto::Tcp => DocProto::Tcp,
        Proto::Udp => DocProto::Udp,
    }
}

/// The flows that apply from one zone to one destination, with their ports.
pub(crate) struct Flows<'i> {
    intent: &'i Intent,
    ports: Vec<(PortSet, PortSet)>,
    cache: HashMap<(ZoneId, Endpoint), Vec<usize>>,
}

impl<'i> Flows<'i> {
    pub(crate) fn new(intent: &'i Intent) -> Self {
        let ports = intent.flows.iter().map(|f| intent.ports_of(&f.services)).collect();
        Self { intent, ports, cache: HashMap::new() }
    }

    /// Indices of the flows from `zone` to `target`.
    fn matching(&mut self, zone: ZoneId, target: Endpoint) -> &[usize] {
        let intent = self.intent;
        self.cache.entry((zone, target)).or_insert_with(|| {
            intent
                .flows
                .iter()
                .enumerate()
                .filter(|(_, f)| {
                    f.from.iter().any(|s| intent.covers(*s, Endpoint::Zone(zone)))
                        && f.to.iter().any(|t| intent.covers(*t, target))
                })
                .map(|(i, _)| i)
                .collect()
        })
    }

    fn names(&self, flow: usize, proto: Proto, port: u16) -> bool {
        let (tcp, udp) = &self.ports[flow];
        match proto {
            Proto::Tcp => tcp.contains(port),
            Proto::Udp => udp.contains(port),
        }
    }

    /// (the first deny naming the port, every allow naming it).
    pub(crate) fn judge(
        &mut self,
        zone: ZoneId,
        target: Endpoint,
        proto: Proto,
        port: u16,
    ) -> (Option<usize>, Vec<usize>) {
        let flows = self.matching(zone, target).to_vec();
        let intent = self.intent;
        let naming: Vec<usize> =
            flows.into_iter().filter(|&f| self.names(f, proto, port)).collect();
        let deny = naming.iter().copied().find(|&f| intent.flows[f].action == Action::Deny);
        let allow =
            naming.into_iter().filter(|&f| intent.flows[f].action == Action::Allow).collect();
        (deny, allow)
    }

    /// The union of the ports every flow from `zone` to `target` names.
    fn flow_ports(&mut self, zone: ZoneId, target: Endpoint) -> (PortSet, PortSet) {
        let flows = self.matching(zone, target).to_vec();
        let mut tcp = PortSet::new();
        let mut udp = PortSet::new();
        for f in flows {
            tcp.extend(&self.ports[f].0);
            udp.extend(&self.ports[f].1);
        }
        (tcp, udp)
    }
}

/// What the spec says an address is.
pub(crate) struct Addresses<'i> {
    intent: &'i Intent,
    pub(crate) hosts: HashMap<IpAddr, HostId>,
    pub(crate) zones_with_hosts: HashSet<ZoneId>,
}

impl<'i> Addresses<'i> {
    pub(crate) fn new(intent: &'i Intent) -> Self {
        let mut hosts = HashMap::new();
        for (i, h) in intent.hosts.iter().enumerate() {
            hosts.entry(h.address).or_insert(HostId(i));
        }
        let zones_with_hosts = intent.hosts.iter().filter_map(|h| h.zone).collect();
        Self { intent, hosts, zones_with_hosts }
    }

    /// The endpoint an address is: its declared host, or its zone.
    pub(crate) fn endpoint(&self, addr: IpAddr) -> Option<Endpoint> {
        match self.hosts.get(&addr) {
            Some(h) => Some(Endpoint::Host(*h)),
            None => self.intent.zone_of(addr).map(Endpoint::Zone),
        }
    }

    pub(crate) fn host_name(&self, addr: IpAddr) -> Option<String> {
        self.hosts.get(&addr).map(|h| self.intent.hosts[h.0].name.clone())
    }

    /// Where the spec declares what an address is: its host, or its zone.
    fn location(&self, e: Endpoint) -> SpecLocation {
        match e {
            Endpoint::Host(h) => (&self.intent.hosts[h.0].at).into(),
            Endpoint::Zone(z) => (&self.intent.zones[z.0].at).into(),
        }
    }
}

/// Whether an open port, seen from one vantage, is what the port rules
/// report as an `exposure`: denied by a flow, or allowed by none under
/// `default: deny`. It is the same decision [`judge`](super::judge) makes, asked one
/// port at a time as a scan finds it (the CLI's "N unexpected open"), so it
/// knows nothing of waivers, of `undeclared-host` (which needs every port
/// of an address) or of the other vantages: it counts what may become a
/// finding, not the findings.
pub struct ExposureCheck<'i> {
    flows: Flows<'i>,
    addresses: Addresses<'i>,
    scope: crate::plan::ScopeGuard,
    zone: ZoneId,
}

impl std::fmt::Debug for ExposureCheck<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExposureCheck").field("zone", &self.zone).finish_non_exhaustive()
    }
}

impl<'i> ExposureCheck<'i> {
    /// The check for ports seen from `vantage`; `None` if the spec does
    /// not declare it.
    pub fn new(intent: &'i Intent, vantage: &str) -> Option<Self> {
        let zone = intent.vantages[intent.vantage(vantage)?.0].zone;
        Some(Self {
            flows: Flows::new(intent),
            addresses: Addresses::new(intent),
            scope: crate::plan::ScopeGuard::new(intent),
            zone,
        })
    }

    /// Whether `proto/port` open on `addr` is unexpected: in scope, and
    /// denied as [`judge`](super::judge) judges an open port.
    pub fn unexpected(&mut self, addr: IpAddr, proto: Proto, port: u16) -> bool {
        if self.scope.admit(addr, None, None).is_none() {
            return false;
        }
        let Some(target) = self.addresses.endpoint(addr) else { return false };
        let (deny, allow) = self.flows.judge(self.zone, target, proto, port);
        open_is_exposure(self.flows.intent, deny, &allow)
    }
}

/// The rule for an open port: an exposure when a flow denies it, or when
/// none allows it and the spec's default is deny.
fn open_is_exposure(intent: &Intent, deny: Option<usize>, allow: &[usize]) -> bool {
    deny.is_some() || (allow.is_empty() && intent.default == DefaultPolicy::Deny)
}

/// Whether a sighting says something about the target.
fn conclusive(obs: &PortObs<'_>) -> bool {
    let reason = obs.best.fact.map(|f| f.reason).or(obs.best.summary.map(|s| s.reason));
    !matches!(reason, Some(Reason::LocalError | Reason::SelfConnect))
}

/// Whether a denied port looks the way `deny_mode` says; `None` when it does.
fn deny_mode_violation(mode: DenyMode, obs: &PortObs<'_>) -> Option<&'static str> {
    let reason = obs.best.fact.map(|f| f.reason).or(obs.best.summary.map(|s| s.reason));
    let silent = obs.best.state == PortState::Filtered && reason == Some(Reason::NoResponse);
    let answered = obs.best.state == PortState::Closed
        || (obs.best.state == PortState::Filtered && reason != Some(Reason::NoResponse));
    match mode {
        DenyMode::Any => None,
        DenyMode::Drop if answered => Some("dropped silently (deny_mode: drop)"),
        DenyMode::Reject if silent => Some("refused with RST or ICMP (deny_mode: reject)"),
        DenyMode::Drop | DenyMode::Reject => None,
    }
}

/// Every port and host finding of every vantage.
pub(crate) fn findings(
    intent: &Intent,
    sources: &[Source<'_>],
    merged: &Merged<'_>,
) -> Vec<Finding> {
    let mut flows = Flows::new(intent);
    let addresses = Addresses::new(intent);
    let mut out = Vec::new();
    for v in &merged.vantages {
        vantage(intent, sources, v, &mut flows, &addresses, &mut out);
    }
    out
}

fn vantage(
    intent: &Intent,
    sources: &[Source<'_>],
    v: &VantageObs<'_>,
    flows: &mut Flows<'_>,
    addresses: &Addresses<'_>,
    out: &mut Vec<Finding>,
) {
    let vantage = &intent.vantages[v.id.0];
    let zone = vantage.zone;
    let scope = crate::plan::ScopeGuard::new(intent);
    let zone_name = &intent.zones[zone.0].name;
    // Addresses with an open port: live hosts.
    let mut open: BTreeMap<IpAddr, Vec<(Proto, u16)>> = BTreeMap::new();
    for (&(addr, proto, port), obs) in &v.ports {
        if obs.best.state == PortState::Open && conclusive(obs) {
            open.entry(addr).or_default().push((proto, port));
        }
    }
    let finding = |rule, severity, addr: IpAddr, proto: Proto, port: u16| Finding {
        rule,
        severity,
        vantage: Some(vantage.name.clone()),
        target: Some(addr.to_string()),
        host: addresses.host_name(addr),
        port: Some(port),
        proto: Some(doc_proto(proto)),
        expected: String::new(),
        observed: String::new(),
        evidence: String::new(),
        waived: None,
        location: (&vantage.at).into(),
    };
    // Every observed port, plus flow ports found only in `filtered` lines.
    let mut observed: Vec<(IpAddr, Proto, u16, PortObs<'_>)> =
        v.ports.iter().map(|(&(a, p, n), o)| (a, p, n, o.clone())).collect();
    for (&addr, lines) in &v.silent {
        let Some(target) = addresses.endpoint(addr) else { continue };
        let (tcp, udp) = flows.flow_ports(zone, target);
        for line in lines {
            let named = match line.proto {
                Proto::Tcp => line.ports.intersection(&tcp),
                Proto::Udp => line.ports.intersection(&udp),
            };
            for port in named.iter() {
                if !v.ports.contains_key(&(addr, line.proto, port))
                    && let Some(obs) = v.lookup(addr, line.proto, port)
                {
                    observed.push((addr, line.proto, port, obs));
                }
            }
        }
    }
    for (addr, proto, port, obs) in observed {
        // Out of scope (no scan of this spec probes it: a hand-made or
        // foreign file): nothing in the spec says what it should expose.
        if !conclusive(&obs) || scope.admit(addr, None, None).is_none() {
            continue;
        }
        let Some(target) = addresses.endpoint(addr) else { continue };
        let target_name = intent.endpoint_name(target);
        let pp = format!("{}/{port}", proto.as_str());
        let evidence = evidence::port(sources, &vantage.name, v.mode, proto, &obs);
        let (deny, allow) = flows.judge(zone, target, proto, port);
        match obs.best.state {
            PortState::Open => {
                let (expected, location) = if let Some(d) = deny {
                    let f = &intent.flows[d];
                    (format!("denied by {}", describe_flow(intent, f)), (&f.at).into())
                } else if open_is_exposure(intent, deny, &allow) {
                    (
                        format!(
                            "denied: no flow allows {pp} from {zone_name} to {target_name} (default: deny)"
                        ),
                        addresses.location(target),
                    )
                } else {
                    continue;
                };
                let sev =
                    severity::exposure(intent, v.id, deny.map(|d| &intent.flows[d]), proto, port);
                out.push(Finding {
                    expected,
                    observed: "open".to_owned(),
                    evidence,
                    location,
                    ..finding(Rule::Exposure, sev, addr, proto, port)
                });
            }
            PortState::Closed | PortState::Filtered => {
                if let Some(d) = deny {
                    let f = &intent.flows[d];
                    if let Some(expected) = deny_mode_violation(intent.deny_mode, &obs) {
                        out.push(Finding {
                            expected: format!(
                                "{expected}, as {} denies it",
                                describe_flow(intent, f)
                            ),
                            observed: format!(
                                "{} ({})",
                                obs.best.state.as_str(),
                                evidence::answer(
                                    obs.best
                                        .fact
                                        .map(|x| x.reason)
                                        .or(obs.best.summary.map(|s| s.reason))
                                        .unwrap_or(Reason::NoResponse)
                                )
                            ),
                            evidence,
                            location: (&f.at).into(),
                            ..finding(Rule::DenyMode, Severity::Low, addr, proto, port)
                        });
                    }
                    continue;
                }
                let required = allow.iter().copied().find(|&a| {
                    intent.flows[a].require == Require::Reachable
                        // A flow to a zone is judged on live hosts only.
                        && (matches!(target, Endpoint::Host(_)) || open.contains_key(&addr))
                });
                if let Some(a) = required {
                    let f = &intent.flows[a];
                    out.push(Finding {
                        expected: format!("reachable: {}", describe_flow(intent, f)),
                        observed: obs.best.state.as_str().to_owned(),
                        evidence,
                        location: (&f.at).into(),
                        ..finding(
                            Rule::Unreachable,
                            f.severity.map_or(Severity::High, Into::into),
                            addr,
                            proto,
                            port,
                        )
                    });
                }
            }
            PortState::OpenFiltered => {}
        }
    }
    for (addr, ports) in open {
        if addresses.hosts.contains_key(&addr) || scope.admit(addr, None, None).is_none() {
            continue;
        }
        let Some(z) = intent.zone_of(addr) else { continue };
        if !intent.zones[z.0].probe || !addresses.zones_with_hosts.contains(&z) {
            continue;
        }
        let listed: Vec<String> =
            ports.iter().take(LISTED_PORTS).map(|(p, n)| format!("{}/{n}", p.as_str())).collect();
        let more = ports.len().saturating_sub(LISTED_PORTS);
        let first = ports
            .first()
            .and_then(|&(p, n)| v.ports.get(&(addr, p, n)).map(|o| (p, o)))
            .map(|(p, o)| evidence::port(sources, &vantage.name, v.mode, p, o))
            .unwrap_or_default();
        out.push(Finding {
            rule: Rule::UndeclaredHost,
            severity: Severity::Medium,
            vantage: Some(vantage.name.clone()),
            target: Some(addr.to_string()),
            host: None,
            port: None,
            proto: None,
            expected: format!(
                "no host at {addr}: zone {} declares its hosts, and this is not one",
                intent.zones[z.0].name
            ),
            observed: format!(
                "open on {}{}",
                listed.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ),
            evidence: first,
            waived: None,
            location: (&intent.zones[z.0].at).into(),
        });
    }
}
