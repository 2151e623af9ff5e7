//! Raw shape -> `Intent`: resolve names, parse CIDRs, addresses, ports and
//! dates, and check what only the whole spec can tell (overlaps, a host
//! outside its declared zone, duplicate names). Every problem is collected.
//!
//! Invariant: `resolve` returns an `Intent` only when it recorded no error, so
//! an `Intent` in hand is always valid (see `intent`'s invariants).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use ipnetwork::IpNetwork;

use super::diag::{Diagnostic, Diags, Location, did_you_mean, one_of};
use super::intent::{
    Action, DefaultPolicy, DenyMode, Dns, DnsExpect, DnsForbid, DnsServer, Endpoint, Flow, Host,
    HostId, Intent, PolicyId, Proto, Require, Service, ServiceId, Severity, StartTls, Sweep,
    TlsPolicy, TlsProfile, Vantage, VantageId, Waiver, WaiverSource, Zone, ZoneId, ZoneIndex,
    net_contains,
};
use super::ports::{PortSet, port_number, port_range};
use super::shape::{L, PortItem, RawInclude, RawSpec};
use crate::tls::names::{self as tls_names, ProtocolVersion};
use crate::tls::profile::Guideline;

/// DNS record types an expectation may name.
const DNS_TYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "TXT", "NS", "CAA", "PTR", "SRV", "SOA"];

/// The finding rules a waiver's `match.rule` may name (DESIGN.md's list).
pub const RULES: &[&str] = &[
    "exposure",
    "unreachable",
    "deny-mode",
    "undeclared-host",
    "tls-protocol",
    "tls-cipher",
    "tls-cert-expired",
    "tls-cert-expiring",
    "tls-cert-hostname",
    "tls-cert-untrusted",
    "tls-cert-weak-key",
    "tls-cert-weak-signature",
    "tls-missing",
    "dns-mismatch",
    "dns-leak",
    "dns-axfr",
    "dns-open-recursion",
    "dns-dangling-cname",
    "waiver-expired",
    "waiver-unused",
    "scan-incomplete",
];

struct Resolver<'d> {
    diags: &'d mut Diags,
}

impl Resolver<'_> {
    fn err(&mut self, code: &'static str, at: &Location, message: String) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(code, at.clone(), message))
    }

    fn warn(&mut self, code: &'static str, at: &Location, message: String) -> &mut Diagnostic {
        self.diags.push(Diagnostic::warning(code, at.clone(), message))
    }

    fn enum_value<T: Copy>(
        &mut self,
        v: &L<String>,
        what: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        if let Some((_, t)) = options.iter().find(|(name, _)| *name == v.value) {
            return Some(*t);
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        let hint = did_you_mean(&v.value, names.iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        let d = self.err("bad-value", &v.at, format!("`{}` is not a valid {what}{hint}", v.value));
        d.value = Some(v.value.clone());
        d.expected = Some(one_of(names));
        None
    }

    fn unknown_name(&mut self, code: &'static str, v: &L<String>, kind: &str, known: &[&str]) {
        let hint = did_you_mean(&v.value, known.iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        let d = self.err(code, &v.at, format!("no {kind} is named `{}`{hint}", v.value));
        d.value = Some(v.value.clone());
        d.expected = Some(format!("a declared {kind}: {}", one_of(known.iter().copied())));
    }

    fn ports(&mut self, items: &[L<PortItem>], set: &mut PortSet) {
        let mut ranges = Vec::with_capacity(items.len());
        for item in items {
            let parsed = match &item.value {
                PortItem::Number(n) => port_number(*n).map(|p| (p, p)),
                PortItem::Text(t) => port_range(t),
            };
            match parsed {
                Ok(range) => ranges.push(range),
                Err(e) => {
                    let value = match &item.value {
                        PortItem::Number(n) => n.to_string(),
                        PortItem::Text(t) => t.clone(),
                    };
                    let d = self.err("bad-port", &item.at, format!("invalid port: {e}"));
                    d.value = Some(value);
                    d.expected = Some("a port 1-65535 or a range like \"8000-8100\"".to_owned());
                }
            }
        }
        set.extend(&PortSet::from_ranges(ranges));
    }

    fn severity(&mut self, v: Option<&L<String>>) -> Option<Severity> {
        let v = v?;
        self.enum_value(
            v,
            "severity",
            &[
                ("info", Severity::Info),
                ("low", Severity::Low),
                ("medium", Severity::Medium),
                ("high", Severity::High),
                ("critical", Severity::Critical),
            ],
        )
    }
}

/// Parses a CIDR or a bare address (a /32 or /128). The address part must be
/// the network address: `198.18.10.5/24` is almost always a typo for a host or
/// for `198.18.10.0/24`, and silently widening it would widen the scope.
///
/// IPv4-mapped IPv6 (`::ffff:198.18.0.0/112`) is rewritten as the IPv4
/// network it means: on a dual-stack socket it reaches the IPv4 address, so
/// it must be judged (and scoped) as one.
fn parse_cidr(s: &str) -> Result<IpNetwork, String> {
    let s = s.trim();
    if let Ok(addr) = s.parse::<IpAddr>() {
        return Ok(IpNetwork::from(addr.to_canonical()));
    }
    let net: IpNetwork = s.parse().map_err(|e: ipnetwork::IpNetworkError| e.to_string())?;
    if net.ip() != net.network() {
        return Err(format!(
            "host bits are set; the network is {}/{}",
            net.network(),
            net.prefix()
        ));
    }
    if let IpNetwork::V6(v6) = net
        && v6.prefix() >= 96
        && let IpAddr::V4(v4) = IpAddr::V6(v6.network()).to_canonical()
    {
        return IpNetwork::new(IpAddr::V4(v4), v6.prefix() - 96).map_err(|e| e.to_string());
    }
    Ok(net)
}

/// Parses a host or server address; IPv4-mapped IPv6 becomes IPv4 (see `parse_cidr`).
fn parse_addr(s: &str) -> Option<IpAddr> {
    s.trim().parse::<IpAddr>().ok().map(|a| a.to_canonical())
}

/// Every pair of overlapping networks of different probe-able zones, as
/// (earlier zone, its CIDR, later zone, its CIDR), by declaration order.
///
/// Two CIDRs either nest or are disjoint, so a sort by (family, start, size
/// descending) and a stack of the currently open networks finds every
/// containing network in O(n log n), where comparing all pairs would be
/// quadratic in a spec with many CIDRs.
fn overlaps(zones: &[Zone]) -> Vec<(usize, usize, usize, usize)> {
    let mut nets: Vec<(usize, usize, &IpNetwork)> = Vec::new();
    for (zi, z) in zones.iter().enumerate().filter(|(_, z)| z.probe) {
        nets.extend(z.cidrs.iter().enumerate().map(|(ci, n)| (zi, ci, n)));
    }
    let key = |n: &IpNetwork| (n.is_ipv6(), n.network(), n.prefix());
    nets.sort_by_key(|n| key(n.2));
    // `open` is the chain of distinct networks containing the current one
    // (at most 129 deep); each CIDR is reported once, against the nearest
    // network of another zone that contains it.
    let mut open: Vec<(usize, usize, &IpNetwork)> = Vec::new();
    let mut out = Vec::new();
    for (zi, ci, n) in nets {
        open.retain(|(_, _, o)| net_contains(o, n));
        if let Some(&(oz, oc, _)) = open.iter().rev().find(|(oz, _, _)| *oz != zi) {
            out.push(if (oz, oc) < (zi, ci) { (oz, oc, zi, ci) } else { (zi, ci, oz, oc) });
        }
        if open.last().is_none_or(|(_, _, o)| *o != n) {
            open.push((zi, ci, n));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Resolves the main spec and its includes into an `Intent`, pushing every
/// problem into `diags`. Returns `None` when any error was recorded.
pub(crate) fn resolve(
    file: &Path,
    spec: &RawSpec,
    includes: &[(Arc<str>, RawInclude)],
    diags: &mut Diags,
) -> Option<Intent> {
    let errors_before = diags.errors();
    let mut r = Resolver { diags };
    let spec_dir = file.parent().unwrap_or_else(|| Path::new("."));

    if let Some(v) = &spec.version
        && v.value != 1
    {
        let d = r.err("bad-version", &v.at, format!("spec version {} is not supported", v.value));
        d.value = Some(v.value.to_string());
        d.expected = Some("`version: 1`".to_owned());
    }

    // Gather zones, hosts and services from the main file and the includes,
    // rejecting a name declared twice (with both places).
    let mut raw_zones = Vec::new();
    let mut raw_hosts = Vec::new();
    let mut raw_services = Vec::new();
    let sources = std::iter::once((&spec.zones, &spec.hosts, &spec.services))
        .chain(includes.iter().map(|(_, i)| (&i.zones, &i.hosts, &i.services)));
    for (z, h, s) in sources {
        raw_zones.extend(z.0.iter());
        raw_hosts.extend(h.0.iter());
        raw_services.extend(s.0.iter());
    }
    let mut first_seen: BTreeMap<&str, (&str, &Location)> = BTreeMap::new();
    let kinds = [
        ("zone", raw_zones.iter().map(|(n, _)| n).collect::<Vec<_>>()),
        ("host", raw_hosts.iter().map(|(n, _)| n).collect()),
    ];
    for (kind, names) in &kinds {
        for name in names {
            if let Some((other_kind, at)) = first_seen.get(name.value.as_str()) {
                let msg = format!(
                    "{kind} `{}` is already declared as a {other_kind} at {at}",
                    name.value
                );
                let d = r.err("duplicate-name", &name.at, msg);
                d.value = Some(name.value.clone());
                d.expected = Some("a name not used by another zone or host".to_owned());
            } else {
                first_seen.insert(&name.value, (kind, &name.at));
            }
        }
    }
    for (kind, list) in [("service", raw_services.iter().map(|(n, _)| n).collect::<Vec<_>>())] {
        let mut seen: BTreeMap<&str, &Location> = BTreeMap::new();
        for name in list {
            if let Some(at) = seen.get(name.value.as_str()) {
                let d = r.err(
                    "duplicate-name",
                    &name.at,
                    format!("{kind} `{}` is already declared at {at}", name.value),
                );
                d.value = Some(name.value.clone());
            } else {
                seen.insert(&name.value, &name.at);
            }
        }
    }

    // Zones.
    let mut zones: Vec<Zone> = Vec::new();
    // Where each parsed CIDR was written, parallel to `zones[i].cidrs`.
    let mut cidr_locs: Vec<Vec<Location>> = Vec::new();
    let mut network_owner: HashMap<IpNetwork, (&str, &Location)> = HashMap::new();
    for (name, z) in &raw_zones {
        let mut cidrs = Vec::new();
        let mut locs = Vec::new();
        for c in &z.cidrs {
            match parse_cidr(&c.value) {
                Ok(net) if cidrs.contains(&net) => {
                    let d = r.warn(
                        "duplicate-cidr",
                        &c.at,
                        format!("zone `{}` lists {net} twice", name.value),
                    );
                    d.value = Some(c.value.clone());
                }
                Ok(net) => {
                    if let Some((other, at)) = network_owner.get(&net) {
                        let d = r.err(
                            "same-network",
                            &c.at,
                            format!(
                                "zone `{}` and zone `{other}` (at {at}) both declare {net}",
                                name.value
                            ),
                        );
                        d.value = Some(c.value.clone());
                        d.expected = Some(
                            "each network in one zone only, so every address has one intent"
                                .to_owned(),
                        );
                    } else {
                        network_owner.insert(net, (name.value.as_str(), &c.at));
                    }
                    cidrs.push(net);
                    locs.push(c.at.clone());
                }
                Err(e) => {
                    let d = r.err(
                        "bad-cidr",
                        &c.at,
                        format!("invalid CIDR in zone `{}`: {e}", name.value),
                    );
                    d.value = Some(c.value.clone());
                    d.expected = Some(
                        "an IPv4 or IPv6 network such as 198.18.10.0/24 or 2001:db8::/64"
                            .to_owned(),
                    );
                }
            }
        }
        cidr_locs.push(locs);
        zones.push(Zone {
            name: name.value.clone(),
            cidrs,
            probe: z.probe.as_ref().is_none_or(|p| p.value),
            at: name.at.clone(),
        });
    }
    // Probe-able zones must not overlap, or an address would have two intents.
    for (i, ci, j, cj) in overlaps(&zones) {
        let (a, b) = (&zones[i].cidrs[ci], &zones[j].cidrs[cj]);
        let msg = format!(
            "zone `{}` network {b} overlaps zone `{}` network {a} (declared at {})",
            zones[j].name, zones[i].name, cidr_locs[i][ci]
        );
        let d = r.err("overlapping-cidrs", &cidr_locs[j][cj], msg);
        d.value = Some(b.to_string());
        d.expected = Some("probe-able zones with disjoint networks".to_owned());
    }
    let zone_names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
    let zone_index: HashMap<&str, usize> =
        zones.iter().enumerate().map(|(i, z)| (z.name.as_str(), i)).collect();
    let find_zone = |n: &str| zone_index.get(n).copied().map(ZoneId);

    // Zones alone, to find the most specific zone of an address.
    let partial = Intent {
        name: None,
        file: file.to_path_buf(),
        zones: zones.clone(),
        hosts: Vec::new(),
        services: Vec::new(),
        flows: Vec::new(),
        default: DefaultPolicy::Deny,
        deny_mode: DenyMode::Any,
        vantages: Vec::new(),
        sweep: Sweep::default(),
        tls_policies: Vec::new(),
        dns: Dns::default(),
        waivers: Vec::new(),
        zone_index: ZoneIndex::new(&zones),
    };
    // Hosts.
    let mut hosts: Vec<Host> = Vec::new();
    let mut host_by_addr: HashMap<IpAddr, usize> = HashMap::new();
    let mut host_ok = Vec::new();
    for (name, h) in &raw_hosts {
        let Some(address) = parse_addr(&h.address.value) else {
            let d = r.err(
                "bad-address",
                &h.address.at,
                format!("host `{}` has an invalid address", name.value),
            );
            d.value = Some(h.address.value.clone());
            d.expected = Some("an IPv4 or IPv6 address such as 198.18.10.10".to_owned());
            host_ok.push(false);
            continue;
        };
        let zone = match &h.zone {
            Some(zname) => match find_zone(&zname.value) {
                Some(z) => {
                    if !zones[z.0].cidrs.iter().any(|c| c.contains(address))
                        && !zones[z.0].cidrs.is_empty()
                    {
                        let nets: Vec<String> =
                            zones[z.0].cidrs.iter().map(ToString::to_string).collect();
                        let d = r.err(
                            "host-outside-zone",
                            &h.address.at,
                            format!(
                                "host `{}` address {address} is outside its declared zone `{}`",
                                name.value, zname.value
                            ),
                        );
                        d.value = Some(address.to_string());
                        d.expected = Some(format!("an address in {}", nets.join(", ")));
                    } else if let Some(inner) = partial.zone_of(address)
                        && inner != z
                    {
                        // `internet` (0.0.0.0/0) contains a dmz address, but a
                        // zone means its CIDRs minus every zone nested in them:
                        // the address belongs to `dmz`, and a host claiming
                        // otherwise would be judged by the wrong flows.
                        let d = r.err(
                            "host-outside-zone",
                            &h.address.at,
                            format!(
                                "host `{}` address {address} is in zone `{}`, which is nested in its declared zone `{}`",
                                name.value, zones[inner.0].name, zname.value
                            ),
                        );
                        d.value = Some(address.to_string());
                        d.expected = Some(format!(
                            "`zone: {}`, or no `zone` (it is inferred)",
                            zones[inner.0].name
                        ));
                    }
                    Some(z)
                }
                None => {
                    r.unknown_name("unknown-zone", zname, "zone", &zone_names);
                    None
                }
            },
            None => None,
        };
        for n in &h.names {
            if !valid_dns_name(&n.value) {
                let d = r.err("bad-dns-name", &n.at, format!("`{}` is not a DNS name", n.value));
                d.value = Some(n.value.clone());
                d.expected = Some("a name like www.example.test".to_owned());
            }
        }
        if let Some(other) = host_by_addr.get(&address).map(|&i| &hosts[i]) {
            let msg = format!(
                "host `{}` has the address of host `{}` ({address}), declared at {}",
                name.value, other.name, other.at
            );
            let d = r.err("duplicate-address", &h.address.at, msg);
            d.value = Some(address.to_string());
            d.expected = Some(
                "one host per address; list extra DNS names under that host's `names`".to_owned(),
            );
        }
        host_ok.push(true);
        host_by_addr.entry(address).or_insert(hosts.len());
        hosts.push(Host {
            name: name.value.clone(),
            address,
            names: h
                .names
                .iter()
                .map(|n| n.value.trim_end_matches('.').to_ascii_lowercase())
                .collect(),
            zone,
            at: name.at.clone(),
        });
    }
    // Inferred zones: most specific CIDR wins.
    for h in &mut hosts {
        if h.zone.is_none() {
            h.zone = partial.zone_of(h.address);
        }
    }
    let host_names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let host_index: HashMap<&str, usize> =
        host_names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    // Names of hosts whose address failed to parse still count as declared,
    // so a flow naming them doesn't add a second, misleading error.
    let broken_hosts: Vec<&str> = raw_hosts
        .iter()
        .zip(&host_ok)
        .filter(|(_, ok)| !**ok)
        .map(|((n, _), _)| n.value.as_str())
        .collect();

    // TLS policies.
    let mut tls_policies = Vec::new();
    let raw_policies = spec.tls.as_ref().map(|t| &t.value.policies);
    for (name, p) in raw_policies.map(|n| n.0.as_slice()).unwrap_or(&[]) {
        let profile = r.enum_value(
            &p.profile,
            "TLS profile",
            &[
                ("modern", TlsProfile::Modern),
                ("intermediate", TlsProfile::Intermediate),
                ("old", TlsProfile::Old),
            ],
        );
        let trusted_ca = p.trusted_ca.as_ref().map(|ca| {
            let path = spec_dir.join(&ca.value);
            if !path.is_file() {
                let d = r.err(
                    "missing-file",
                    &ca.at,
                    format!("trusted_ca file {} does not exist", path.display()),
                );
                d.value = Some(ca.value.clone());
                d.expected = Some("a PEM file, relative to the spec".to_owned());
            }
            path
        });
        let min_days_left = match &p.min_days_left {
            None => 14,
            Some(v) => match u32::try_from(v.value) {
                Ok(d) if d <= 3650 => d,
                _ => {
                    let d = r.err("bad-value", &v.at, "min_days_left is out of range".to_owned());
                    d.value = Some(v.value.to_string());
                    d.expected = Some("a number of days from 0 to 3650".to_owned());
                    0
                }
            },
        };
        let guideline = match &p.guideline {
            None => Some(Guideline::CURRENT),
            Some(g) => {
                let versions: Vec<(&str, Guideline)> =
                    Guideline::ALL.iter().map(|g| (g.version, *g)).collect();
                let text = L { value: g.value.0.clone(), at: g.at.clone() };
                r.enum_value(&text, "Mozilla guideline version", &versions)
            }
        };
        // "old" left the guidelines in 6.0: say so where the profile is named.
        if let (Some(profile), Some(guideline)) = (profile, guideline)
            && let Err(e) = guideline.profile(profile.as_str())
        {
            let d = r.err("bad-value", &p.profile.at, e.to_string());
            d.value = Some(p.profile.value.clone());
            d.expected = Some(format!(
                "one of {} (or `guideline: \"5.7\"` for `old`)",
                guideline.profile_names().join(", ")
            ));
        }
        let min_version = p.min_version.as_ref().and_then(|v| {
            let found = ProtocolVersion::from_name(&v.value.0);
            if found.is_none() {
                let d = r.err(
                    "bad-value",
                    &v.at,
                    format!("`{}` is not a TLS protocol version", v.value.0),
                );
                d.value = Some(v.value.0.clone());
                d.expected = Some("one of 1.0, 1.1, 1.2, 1.3 (or TLSv1.2 etc., SSLv3)".to_owned());
            }
            found
        });
        let mut suites = |list: &[L<String>]| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for name in list {
                match tls_names::to_iana(&name.value) {
                    Some(iana) if !out.iter().any(|o| o == iana) => out.push(iana.to_owned()),
                    Some(_) => {}
                    None => {
                        let hint = did_you_mean(&name.value, tls_names::all_names())
                            .map(|s| format!(" (did you mean `{s}`?)"))
                            .unwrap_or_default();
                        let d = r.err(
                            "unknown-cipher",
                            &name.at,
                            format!("`{}` is not a cipher suite we know{hint}", name.value),
                        );
                        d.value = Some(name.value.clone());
                        d.expected = Some(
                            "an IANA name (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) or an \
                             OpenSSL name (ECDHE-RSA-AES128-GCM-SHA256)"
                                .to_owned(),
                        );
                    }
                }
            }
            out
        };
        let ciphers = p.ciphers.as_ref().map(|c| &c.value);
        let ciphers_allow = suites(ciphers.map_or(&[][..], |c| &c.allow));
        let ciphers_deny = suites(ciphers.map_or(&[][..], |c| &c.deny));
        let min_rsa_bits = p.min_rsa_bits.as_ref().and_then(|v| match u32::try_from(v.value) {
            Ok(b) if (1024..=16384).contains(&b) => Some(b),
            _ => {
                let d = r.err("bad-value", &v.at, "min_rsa_bits is out of range".to_owned());
                d.value = Some(v.value.to_string());
                d.expected = Some("a number of bits from 1024 to 16384".to_owned());
                None
            }
        });
        if let (Some(profile), Some(guideline)) = (profile, guideline) {
            tls_policies.push(TlsPolicy {
                name: name.value.clone(),
                profile,
                guideline,
                hostname: p.hostname.as_ref().is_none_or(|h| h.value),
                trusted_ca,
                min_days_left,
                min_version,
                ciphers_allow,
                ciphers_deny,
                min_rsa_bits,
                require_ocsp_staple: p.require_ocsp_staple.as_ref().is_some_and(|b| b.value),
                at: name.at.clone(),
            });
        }
    }
    let policy_names: Vec<&str> = raw_policies
        .map(|n| n.0.iter().map(|(n, _)| n.value.as_str()).collect())
        .unwrap_or_default();
    let policy_index: HashMap<&str, usize> =
        tls_policies.iter().enumerate().map(|(i, p)| (p.name.as_str(), i)).collect();

    // Services.
    let mut services = Vec::new();
    for (name, s) in &raw_services {
        let (mut tcp, mut udp) = (PortSet::new(), PortSet::new());
        r.ports(&s.tcp, &mut tcp);
        r.ports(&s.udp, &mut udp);
        let tls = s.tls.as_ref().and_then(|t| match policy_index.get(t.value.as_str()).copied() {
            Some(i) => Some(PolicyId(i)),
            None => {
                if !policy_names.contains(&t.value.as_str()) {
                    r.unknown_name("unknown-policy", t, "TLS policy", &policy_names);
                }
                None
            }
        });
        let starttls = s.starttls.as_ref().and_then(|v| {
            r.enum_value(v, "STARTTLS protocol", &StartTls::ALL.map(|p| (p.name(), p)))
        });
        // STARTTLS only says how to reach a service's TLS; without a policy
        // nothing probes that TLS, so the key would be silently ignored.
        if let Some(v) = &s.starttls
            && s.tls.is_none()
        {
            let d = r.err(
                "starttls-without-tls",
                &v.at,
                format!("service `{}` names a STARTTLS protocol but no TLS policy", name.value),
            );
            d.value = Some(v.value.clone());
            d.expected = Some("a `tls` policy next to `starttls`, or no `starttls`".to_owned());
        }
        if let Some(t) = &s.tls
            && tcp.is_empty()
        {
            let d = r.err(
                "tls-without-tcp",
                &t.at,
                format!("service `{}` has a TLS policy but no TCP port", name.value),
            );
            d.expected = Some("a `tcp` list for a TLS service".to_owned());
        }
        let severity = r.severity(s.severity.as_ref());
        services.push(Service {
            name: name.value.clone(),
            tcp,
            udp,
            tls,
            starttls,
            severity,
            at: name.at.clone(),
        });
    }
    let service_names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let service_index: HashMap<&str, usize> =
        service_names.iter().enumerate().map(|(i, n)| (*n, i)).collect();

    // Endpoints: a zone or a host name. Vantage names are not flow endpoints:
    // a flow states the network's intent, whoever probes it.
    let mut endpoint_names: Vec<&str> = zone_names.clone();
    endpoint_names.extend(host_names.iter().copied());
    let resolve_endpoint = |r: &mut Resolver<'_>, v: &L<String>| -> Option<Endpoint> {
        if let Some(z) = find_zone(&v.value) {
            return Some(Endpoint::Zone(z));
        }
        if let Some(&h) = host_index.get(v.value.as_str()) {
            return Some(Endpoint::Host(HostId(h)));
        }
        if !broken_hosts.contains(&v.value.as_str()) {
            r.unknown_name("unknown-name", v, "zone or host", &endpoint_names);
        }
        None
    };

    // Flows.
    let mut flows = Vec::new();
    for (i, f) in spec.flows.iter().enumerate() {
        let raw = &f.value;
        let from = resolve_list(&mut r, &raw.from.0, &resolve_endpoint);
        let to = resolve_list(&mut r, &raw.to.0, &resolve_endpoint);
        // A flow naming a host that no zone's CIDRs contain states an intent
        // about an address outside the spec's scope: it could never be
        // probed, and no vantage's zone could be its source, so the flow
        // would be silently unchecked. Refused where the host is named.
        for (side, names) in [("from", &raw.from.0), ("to", &raw.to.0)] {
            for n in names {
                let Some(&h) = host_index.get(n.value.as_str()) else { continue };
                let host = &hosts[h];
                if host.zone.is_some() {
                    continue;
                }
                let d = r.err(
                    "flow-outside-zones",
                    &n.at,
                    format!(
                        "flow #{} names host `{}` ({}) in `{side}`, but no zone's CIDRs contain {}: the flow could never be checked",
                        i + 1,
                        host.name,
                        host.address,
                        host.address
                    ),
                );
                d.value = Some(n.value.clone());
                d.expected = Some(format!(
                    "a zone whose `cidrs` contain {} (`probe: false` for an address never probed), or a host inside a zone",
                    host.address
                ));
            }
        }
        let require = match &raw.require {
            None => Require::Reachable,
            Some(v) => r
                .enum_value(
                    v,
                    "`require`",
                    &[("reachable", Require::Reachable), ("optional", Require::Optional)],
                )
                .unwrap_or(Require::Reachable),
        };
        if let (Some(req), true) = (&raw.require, raw.allow.is_empty()) {
            let d = r.err(
                "require-without-allow",
                &req.at,
                format!("flow #{} sets `require` but allows nothing", i + 1),
            );
            d.expected = Some("`require` only on flows with `allow`".to_owned());
        }
        let severity = r.severity(raw.severity.as_ref());
        for (action, list) in [(Action::Allow, &raw.allow), (Action::Deny, &raw.deny)] {
            if list.is_empty() {
                continue;
            }
            let find_service =
                |r: &mut Resolver<'_>, s: &L<String>| match service_index.get(s.value.as_str()) {
                    Some(&x) => Some(ServiceId(x)),
                    None => {
                        r.unknown_name("unknown-service", s, "service", &service_names);
                        None
                    }
                };
            let svcs = resolve_list(&mut r, list, &find_service);
            if let (Some(from), Some(to), Some(svcs)) = (&from, &to, svcs)
                && !from.is_empty()
                && !to.is_empty()
            {
                flows.push(Flow {
                    from: from.clone(),
                    to: to.clone(),
                    action,
                    services: svcs,
                    require,
                    severity,
                    index: i + 1,
                    at: f.at.clone(),
                });
            }
        }
    }

    let default = spec
        .default
        .as_ref()
        .and_then(|v| {
            r.enum_value(
                v,
                "`default`",
                &[("deny", DefaultPolicy::Deny), ("allow", DefaultPolicy::Allow)],
            )
        })
        .unwrap_or(DefaultPolicy::Deny);
    let deny_mode = spec
        .deny_mode
        .as_ref()
        .and_then(|v| {
            r.enum_value(
                v,
                "`deny_mode`",
                &[("any", DenyMode::Any), ("drop", DenyMode::Drop), ("reject", DenyMode::Reject)],
            )
        })
        .unwrap_or(DenyMode::Any);

    // Vantages.
    let mut vantages = Vec::new();
    for (name, v) in &spec.vantages.0 {
        let Some(zone) = find_zone(&v.zone.value) else {
            r.unknown_name("unknown-zone", &v.zone, "zone", &zone_names);
            continue;
        };
        if let Some(agent) = &v.agent
            && !valid_agent_url(&agent.value)
        {
            let d = r.err(
                "bad-agent-url",
                &agent.at,
                format!("vantage `{}` has an invalid agent URL", name.value),
            );
            d.value = Some(agent.value.clone());
            d.expected = Some("https://HOST:PORT (agents speak mutual TLS only)".to_owned());
        }
        vantages.push(Vantage {
            name: name.value.clone(),
            zone,
            agent: v.agent.as_ref().map(|a| a.value.clone()),
            at: name.at.clone(),
        });
    }
    for (name, _) in &spec.vantages.0 {
        if zone_names.contains(&name.value.as_str()) || host_names.contains(&name.value.as_str()) {
            let d = r.err(
                "duplicate-name",
                &name.at,
                format!("vantage `{}` has the name of a zone or host", name.value),
            );
            d.value = Some(name.value.clone());
            d.expected = Some("vantage names distinct from zone and host names (waivers and DNS expectations name either)".to_owned());
        }
    }
    let vantage_names: Vec<&str> = spec.vantages.0.iter().map(|(n, _)| n.value.as_str()).collect();
    let vantage_index: HashMap<&str, usize> =
        vantages.iter().enumerate().map(|(i, v)| (v.name.as_str(), i)).collect();

    // Sweep.
    let mut sweep = Sweep::default();
    if let Some(s) = &spec.sweep {
        r.ports(&s.value.tcp, &mut sweep.tcp);
        r.ports(&s.value.udp, &mut sweep.udp);
        sweep.at = Some(s.at.clone());
    }

    // DNS.
    let mut dns = Dns::default();
    if let Some(d) = &spec.dns {
        for s in &d.value.servers {
            match parse_server(&s.value) {
                Some(a) if dns.servers.iter().any(|x| x.addr == a) => {
                    let e = r.err(
                        "duplicate-address",
                        &s.at,
                        format!("DNS server `{a}` is listed twice"),
                    );
                    e.value = Some(s.value.clone());
                }
                Some(addr) => dns.servers.push(DnsServer { addr, at: s.at.clone() }),
                None => {
                    let e = r.err("bad-address", &s.at, "invalid DNS server address".to_owned());
                    e.value = Some(s.value.clone());
                    e.expected = Some(
                        "an IP address, or address:port (`[v6]:port` for IPv6), port 1-65535"
                            .to_owned(),
                    );
                }
            }
        }
        if let Some(n) = &d.value.recursion_name {
            if valid_dns_name(&n.value) && !n.value.contains('*') {
                dns.recursion_name = n.value.trim_end_matches('.').to_ascii_lowercase();
            } else {
                let e = r.err("bad-dns-name", &n.at, format!("`{}` is not a DNS name", n.value));
                e.value = Some(n.value.clone());
                e.expected = Some("a name without wildcards, such as example.com".to_owned());
            }
        }
        for f in &d.value.forbid {
            if let Some(x) = r.enum_value(
                f,
                "forbidden DNS behaviour",
                &[
                    ("zone-transfer", DnsForbid::ZoneTransfer),
                    ("open-recursion", DnsForbid::OpenRecursion),
                    ("dangling-cname", DnsForbid::DanglingCname),
                ],
            ) {
                dns.forbid.push(x);
                dns.forbid_at.push(f.at.clone());
            }
        }
        for e in &d.value.expect {
            let x = &e.value;
            let rtype =
                x.r#type.as_ref().map_or_else(|| "A".to_owned(), |t| t.value.to_ascii_uppercase());
            if let Some(t) = &x.r#type
                && !DNS_TYPES.contains(&rtype.as_str())
            {
                let d = r.err(
                    "bad-value",
                    &t.at,
                    format!("`{}` is not a supported DNS record type", t.value),
                );
                d.value = Some(t.value.clone());
                d.expected = Some(one_of(DNS_TYPES.iter().copied()));
            }
            if !valid_dns_name(&x.name.value) {
                let d = r.err(
                    "bad-dns-name",
                    &x.name.at,
                    format!("`{}` is not a DNS name", x.name.value),
                );
                d.value = Some(x.name.value.clone());
            }
            let absent = x.absent.as_ref().is_some_and(|a| a.value);
            if absent && !x.values.is_empty() {
                let d = r.err(
                    "absent-with-values",
                    &e.at,
                    format!("DNS expectation for `{}` is `absent` but lists values", x.name.value),
                );
                d.expected = Some("either `absent: true` or `values`, not both".to_owned());
            }
            if !absent && x.values.is_empty() {
                let d = r.err(
                    "missing-key",
                    &e.at,
                    format!("DNS expectation for `{}` has no `values`", x.name.value),
                );
                d.expected = Some("a `values` list, or `absent: true`".to_owned());
            }
            if rtype == "A" || rtype == "AAAA" {
                for v in &x.values {
                    let ok = match rtype.as_str() {
                        "A" => v.value.parse::<std::net::Ipv4Addr>().is_ok(),
                        _ => v.value.parse::<std::net::Ipv6Addr>().is_ok(),
                    };
                    if !ok {
                        let d = r.err(
                            "bad-address",
                            &v.at,
                            format!("`{}` is not an {rtype} record value", v.value),
                        );
                        d.value = Some(v.value.clone());
                        d.expected = Some(
                            if rtype == "A" { "an IPv4 address" } else { "an IPv6 address" }
                                .to_owned(),
                        );
                    }
                }
            }
            let mut from = Vec::new();
            for v in &x.from.0 {
                match vantage_index.get(v.value.as_str()).copied() {
                    Some(i) => from.push(VantageId(i)),
                    // A declared vantage that failed to resolve already has its error.
                    None if vantage_names.contains(&v.value.as_str()) => {}
                    None => r.unknown_name("unknown-vantage", v, "vantage", &vantage_names),
                }
            }
            dns.expect.push(DnsExpect {
                name: x.name.value.trim_end_matches('.').to_ascii_lowercase(),
                rtype,
                type_given: x.r#type.is_some(),
                values: x.values.iter().map(|v| v.value.clone()).collect(),
                from,
                absent,
                at: e.at.clone(),
            });
        }
    }

    // Waivers.
    let mut waivers = Vec::new();
    let mut waiver_ids: BTreeMap<&str, &Location> = BTreeMap::new();
    for w in &spec.waivers {
        let x = &w.value;
        if let Some(at) = waiver_ids.get(x.id.value.as_str()) {
            let d = r.err(
                "duplicate-name",
                &x.id.at,
                format!("waiver id `{}` is already used at {at}", x.id.value),
            );
            d.value = Some(x.id.value.clone());
        } else {
            waiver_ids.insert(&x.id.value, &x.id.at);
        }
        let expires = match x.expires.value.trim().parse::<jiff::civil::Date>() {
            Ok(d) if x.expires.value.trim().len() == 10 => Some(d),
            _ => {
                let d = r.err(
                    "bad-date",
                    &x.expires.at,
                    format!("waiver `{}` has an invalid expiry date", x.id.value),
                );
                d.value = Some(x.expires.value.clone());
                d.expected = Some("a date as YYYY-MM-DD, e.g. 2026-12-31".to_owned());
                None
            }
        };
        for (field, v) in [("reason", &x.reason), ("approved_by", &x.approved_by)] {
            if v.value.trim().is_empty() {
                let d = r.err(
                    "empty-value",
                    &v.at,
                    format!("waiver `{}` has an empty `{field}`", x.id.value),
                );
                d.expected = Some(format!("a non-empty `{field}`"));
            }
        }
        let m = &x.r#match.value;
        let from = m.from.as_ref().and_then(|f| {
            if let Some(&i) = vantage_index.get(f.value.as_str()) {
                return Some(WaiverSource::Vantage(VantageId(i)));
            }
            if let Some(z) = find_zone(&f.value) {
                return Some(WaiverSource::Zone(z));
            }
            if vantage_names.contains(&f.value.as_str()) {
                return None;
            }
            let mut known = vantage_names.clone();
            known.extend(zone_names.iter().copied());
            r.unknown_name("unknown-name", f, "vantage or zone", &known);
            None
        });
        let to = m.to.as_ref().and_then(|t| resolve_endpoint(&mut r, t));
        let port = m.port.as_ref().and_then(|p| match parse_proto_port(&p.value) {
            Some(pp) => Some(pp),
            None => {
                let d = r.err(
                    "bad-port",
                    &p.at,
                    format!("waiver `{}` has an invalid port", x.id.value),
                );
                d.value = Some(p.value.clone());
                d.expected = Some("`tcp/PORT` or `udp/PORT`, e.g. tcp/22".to_owned());
                None
            }
        });
        if let Some(rule) = &m.rule
            && !RULES.contains(&rule.value.as_str())
        {
            r.unknown_name("unknown-rule", rule, "finding rule", RULES);
        }
        let matched_all = m.from.is_some() == from.is_some()
            && m.to.is_some() == to.is_some()
            && m.port.is_some() == port.is_some();
        if let (Some(expires), true) = (expires, matched_all) {
            waivers.push(Waiver {
                id: x.id.value.clone(),
                from,
                to,
                port,
                rule: m.rule.as_ref().map(|r| r.value.clone()),
                reason: x.reason.value.clone(),
                approved_by: x.approved_by.value.clone(),
                expires,
                at: w.at.clone(),
            });
        }
    }

    let errors_after = r.diags.errors();
    if errors_after > errors_before {
        return None;
    }
    Some(Intent {
        name: spec.name.as_ref().map(|n| n.value.clone()),
        file: file.to_path_buf(),
        zones,
        hosts,
        services,
        flows,
        default,
        deny_mode,
        vantages,
        sweep,
        tls_policies,
        dns,
        waivers,
        zone_index: partial.zone_index,
    })
}

/// Resolves every name of a list with `find`, warning about (and dropping)
/// a name listed twice, so `to: [web, web, ...]` cannot multiply work
/// downstream. `None` when any name failed (its error is already recorded).
fn resolve_list<T: Copy + Eq + std::hash::Hash>(
    r: &mut Resolver<'_>,
    names: &[L<String>],
    find: &dyn Fn(&mut Resolver<'_>, &L<String>) -> Option<T>,
) -> Option<Vec<T>> {
    let mut out = Vec::with_capacity(names.len());
    let mut seen = std::collections::HashSet::new();
    let mut ok = true;
    for n in names {
        match find(r, n) {
            Some(t) if !seen.insert(t) => {
                let d = r.warn("duplicate-entry", &n.at, format!("`{}` is listed twice", n.value));
                d.value = Some(n.value.clone());
            }
            Some(t) => out.push(t),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Parses `tcp/22`.
pub fn parse_proto_port(s: &str) -> Option<(Proto, u16)> {
    let (proto, port) = s.trim().split_once('/')?;
    let proto = match proto {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        _ => return None,
    };
    let port: u16 = port.parse().ok()?;
    (port != 0).then_some((proto, port))
}

/// A DNS server: an address (port 53) or `address:port`, `[v6]:port`.
fn parse_server(s: &str) -> Option<SocketAddr> {
    if let Some(a) = parse_addr(s) {
        return Some(SocketAddr::new(a, 53));
    }
    let a: SocketAddr = s.trim().parse().ok()?;
    (a.port() != 0).then(|| SocketAddr::new(a.ip().to_canonical(), a.port()))
}

fn valid_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*')
        })
}

fn valid_agent_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else { return false };
    let authority = rest.trim_end_matches('/');
    let Some((host, port)) = authority.rsplit_once(':') else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0) && !host.contains('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert!(parse_cidr("198.18.10.0/24").is_ok());
        assert!(parse_cidr("2001:db8::/64").is_ok());
        assert_eq!(parse_cidr("198.18.10.10").map(|n| n.prefix()), Ok(32));
        assert!(parse_cidr("198.18.10.5/24").is_err());
        assert!(parse_cidr("198.18.10.0/33").is_err());
        assert!(parse_cidr("dmz").is_err());
    }

    #[test]
    fn proto_ports_and_urls() {
        assert_eq!(parse_proto_port("tcp/22"), Some((Proto::Tcp, 22)));
        let server = |s: &str| parse_server(s).map(|a| a.to_string());
        assert_eq!(server("198.18.10.53").as_deref(), Some("198.18.10.53:53"));
        assert_eq!(server("127.0.0.1:5353").as_deref(), Some("127.0.0.1:5353"));
        assert_eq!(server("[2001:db8::53]:5353").as_deref(), Some("[2001:db8::53]:5353"));
        assert_eq!(server("2001:db8::53").as_deref(), Some("[2001:db8::53]:53"));
        assert_eq!(server("[::ffff:198.18.10.53]:53").as_deref(), Some("198.18.10.53:53"));
        assert_eq!(server("127.0.0.1:0"), None);
        assert_eq!(server("ns1.example.test"), None);
        assert_eq!(parse_proto_port("udp/0"), None);
        assert_eq!(parse_proto_port("icmp/1"), None);
        assert!(valid_agent_url("https://198.18.20.9:7443"));
        assert!(valid_agent_url("https://[2001:db8::1]:7443"));
        assert!(!valid_agent_url("http://198.18.20.9:7443"));
        assert!(!valid_agent_url("https://198.18.20.9"));
    }
}
