//! The verdict: a pure function of (Intent, observation files, now) ->
//! findings. This is where the semantics live; it is tested without a
//! network (`verdict/tests.rs`, tests as data).
//!
//! Stages, each its own file:
//! - `merge`: refuses a mixed set of files (another spec, unknown vantage,
//!   shards that disagree on count, seed, mode or tool version), and merges
//!   the rest per vantage; a (vantage, target, proto, port) seen twice
//!   resolves as open > closed > filtered > open|filtered (one answer proves
//!   a port open; filtered needs every attempt silent), and the evidence
//!   says so;
//! - `ports`: exposure, unreachable, deny-mode and undeclared-host, from the
//!   merged port facts and the flows that apply from each vantage's zone;
//! - `dns`: each vantage's `dns` lines against `dns:` (`dns-mismatch`,
//!   `dns-leak`, `dns-axfr`, `dns-open-recursion`, `dns-dangling-cname`);
//! - `incomplete`: scan-incomplete, per vantage (missing shards, no trailer,
//!   interrupted runs, planned vs concluded probes, and vantages expected
//!   but absent: `Absent`);
//! - `waivers`: marks covered findings `waived`, reports expired and unused
//!   waivers (UTC, expiry day inclusive);
//! - `severity` and `evidence`: how bad, and what was sent and came back;
//! - `diff`: `compare`, what changed between two scans, towards or away
//!   from the intent.
//!
//! Invariants: no I/O, no clock (`now` is a parameter), no tokio; the same
//! input gives the same findings in the same order, whatever the order of
//! the files. Every finding carries evidence and the spec location of what
//! it concerns.

mod diff;
mod dns;
mod evidence;
mod incomplete;
mod merge;
mod ports;
mod severity;
#[cfg(test)]
mod tests;
mod tls;
mod waivers;

use std::cmp::Reverse;
use std::collections::HashSet;
use std::net::IpAddr;

use crate::observe::ObservationFile;
use crate::report::document::{
    Check, CheckKind, CheckTarget, Coverage, Document, Finding, Intended, Rule, Severity, Tool,
    VantageZone,
};
use crate::spec::Intent;
use crate::spec::intent::{Action, DefaultPolicy, Endpoint, HostId, Require, ZoneId};

pub use diff::compare;
pub use merge::VerdictError;
pub use ports::ExposureCheck;
pub use severity::{RiskClass, risk_class};
pub use tls::{TlsPolicies, TlsPolicyError};

/// One observation file, with the name messages and evidence call it by.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The file's name, as the user gave it.
    pub name: &'a str,
    /// Its content, read and checked (`observe::read`).
    pub file: &'a ObservationFile,
}

/// A vantage the verdict expected to hear from but has no observations of
/// (an agent that could not be reached, a file that was not given), and
/// why: one `scan-incomplete` finding says so, so a missing vantage is never
/// a silent gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Absent<'a> {
    /// The vantage's name; it must be declared in the spec.
    pub vantage: &'a str,
    /// Why nothing came from it, as the finding should say it.
    pub why: &'a str,
}

/// What the verdict found, and how much it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Every finding, most severe first, in a fixed order.
    pub findings: Vec<Finding>,
    /// Vantages, probes sent, probes without a conclusion.
    pub coverage: Coverage,
    /// The checks the findings belong to (for JUnit): each intended flow and
    /// each target group, per vantage.
    pub checks: Vec<Check>,
    /// Whether every planned probe of every vantage concluded and every
    /// probed TLS endpoint's chain was read (no `scan-incomplete` finding).
    pub complete: bool,
    /// Each vantage of the coverage and its zone (for the HTML matrix).
    pub vantage_zones: Vec<VantageZone>,
}

impl Verdict {
    /// The findings document for `spec` (the path as the user gave it).
    pub fn document(self, spec: &str, now: jiff::Timestamp) -> Document {
        Document {
            tool: Tool { name: "vantage".to_owned(), version: crate::VERSION.to_owned() },
            spec: spec.to_owned(),
            generated: crate::observe::timestamp(now),
            coverage: self.coverage,
            findings: self.findings,
            checks: self.checks,
            vantage_zones: self.vantage_zones,
            spec_lines: std::collections::BTreeMap::new(),
        }
    }
}

/// Judges `sources` against `intent` as of `now`, TLS endpoints against
/// `tls` (`TlsPolicies::load`).
///
/// `absent` names the vantages that were expected but have no file, each
/// with why: each is one `scan-incomplete` finding, is counted in the
/// coverage and makes the verdict incomplete. One the spec does not declare,
/// or one a file is from, is refused. With no source, `absent` must not be
/// empty either.
///
/// `spec_digest`, when given, is the digest of the spec as loaded: files
/// made from another version of it are refused. An `Err` is a refused input
/// (exit 2); everything a target did is a finding.
pub fn judge<'a>(
    intent: &Intent,
    tls: &TlsPolicies,
    sources: &[Source<'a>],
    absent: &[Absent<'a>],
    spec_digest: Option<&str>,
    now: jiff::Timestamp,
) -> Result<Verdict, VerdictError> {
    let merged = merge::merge(intent, sources, absent, spec_digest)?;
    let mut findings = ports::findings(intent, sources, &merged);
    findings.extend(tls::findings(intent, tls, sources, &merged, now));
    findings.extend(dns::findings(intent, sources, &merged));
    let (incomplete, coverage) = incomplete::findings(intent, sources, &merged);
    findings.extend(incomplete);
    // Complete when nothing went unjudged: a vantage's scan (`incomplete`)
    // or an endpoint's probe (an unread TLS chain) alike.
    let complete = !findings.iter().any(|f| f.rule == Rule::ScanIncomplete);
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    waivers::apply(intent, &merged, today, &mut findings);
    sort(&mut findings);
    let checks = checks(intent, sources, &merged, &findings);
    let vantage_zones = coverage
        .vantages
        .iter()
        .filter_map(|name| {
            let v = intent.vantages.iter().find(|v| &v.name == name)?;
            Some(VantageZone { vantage: name.clone(), zone: intent.zones[v.zone.0].name.clone() })
        })
        .collect();
    Ok(Verdict { findings, coverage, checks, complete, vantage_zones })
}

/// For each zone, whether the scope holds an address of it that is no
/// declared host's: the zone's own target group (its "other addresses")
/// exists only then. Source-only zones have none.
fn zones_with_other_targets(intent: &Intent) -> Vec<bool> {
    use crate::plan::ranges::AddrRanges;
    let scope = crate::plan::scope::ScopeGuard::new(intent);
    let mut hosts: Vec<Vec<IpAddr>> = vec![Vec::new(); intent.zones.len()];
    for h in &intent.hosts {
        if let Some(list) = h.zone.and_then(|z| hosts.get_mut(z.0)) {
            list.push(h.address);
        }
    }
    intent
        .zones
        .iter()
        .zip(hosts)
        .map(|(z, hosts)| {
            if !z.probe {
                return false;
            }
            let zone = AddrRanges::from_parts(z.cidrs.iter().copied(), []);
            let hosts = AddrRanges::from_parts([], hosts);
            !zone.intersection(scope.ranges()).difference(&hosts).is_empty()
        })
        .collect()
}

/// Why a check of excluded addresses is skipped.
const NOT_PROBED: &str = "excluded from the scan (--exclude): never probed, not judged";

/// Most severe first, then by rule, vantage, address, protocol and port:
/// a fixed order whatever the order the files came in.
fn sort(findings: &mut [Finding]) {
    findings.sort_by_cached_key(|f| {
        (
            Reverse(f.severity),
            f.rule,
            f.vantage.clone(),
            f.target.as_deref().and_then(|t| t.parse::<IpAddr>().ok()),
            f.proto,
            f.port,
            f.location.clone(),
            f.evidence.clone(),
        )
    });
}

/// The checks (intended flows and target groups, per vantage observed) and
/// which findings fail each: a flow's findings are those at its location
/// from that vantage; a target group's are the port and host findings on
/// its addresses. An absent vantage has one check, its scan, which fails:
/// nothing it would have checked is shown as passing.
fn checks(
    intent: &Intent,
    sources: &[Source<'_>],
    merged: &merge::Merged<'_>,
    findings: &[Finding],
) -> Vec<Check> {
    let mut out = Vec::new();
    let tls_endpoints = intent.tls_endpoints();
    let others = zones_with_other_targets(intent);
    for v in &merged.vantages {
        let vantage = &intent.vantages[v.id.0];
        // With exclusions (`--exclude`), a host or zone of which nothing
        // was observed was left out of the plan (a complete scan has a
        // line for every planned probe; an incomplete one is its own
        // finding): its checks are skipped, neither passed nor failed.
        let excluded = v.files.iter().any(|&i| sources[i].file.header.excluded.is_some());
        let observed: HashSet<IpAddr> =
            v.ports.keys().map(|k| k.0).chain(v.silent.keys().copied()).collect();
        let left_out = |e: Endpoint| {
            let (probed, seen) = match e {
                Endpoint::Host(h) => {
                    let host = &intent.hosts[h.0];
                    (
                        host.zone.is_some_and(|z| intent.zones[z.0].probe),
                        observed.contains(&host.address),
                    )
                }
                Endpoint::Zone(z) => (
                    intent.zones[z.0].probe,
                    observed.iter().any(|a| intent.zone_of(*a) == Some(z)),
                ),
            };
            excluded && probed && !seen
        };
        let skipped = |left_out: bool| left_out.then(|| NOT_PROBED.to_owned());
        let vz = Endpoint::Zone(vantage.zone);
        let of = |pred: &dyn Fn(&Finding) -> bool| -> Vec<usize> {
            findings
                .iter()
                .enumerate()
                .filter(|(_, f)| f.vantage.as_deref() == Some(vantage.name.as_str()) && pred(f))
                .map(|(i, _)| i)
                .collect()
        };
        for f in &intent.flows {
            if !f.from.iter().any(|s| intent.covers(*s, vz)) {
                continue;
            }
            let at = crate::report::document::SpecLocation::from(&f.at);
            out.push(Check {
                vantage: vantage.name.clone(),
                kind: CheckKind::Flow,
                name: ports::describe_flow(intent, f),
                findings: of(&|x: &Finding| x.location == at),
                skipped: skipped(f.to.iter().all(|t| left_out(*t))),
                target: None,
            });
        }
        let port_rule = |f: &Finding| {
            matches!(
                f.rule,
                Rule::Exposure | Rule::DenyMode | Rule::Unreachable | Rule::UndeclaredHost
            )
        };
        for (hi, h) in intent.hosts.iter().enumerate() {
            if !h.zone.is_some_and(|z| intent.zones[z.0].probe) {
                continue;
            }
            let addr = h.address.to_string();
            out.push(Check {
                vantage: vantage.name.clone(),
                kind: CheckKind::Target,
                name: format!("host {} ({addr})", h.name),
                findings: of(&|x: &Finding| port_rule(x) && x.target.as_deref() == Some(&addr)),
                skipped: skipped(left_out(Endpoint::Host(HostId(hi)))),
                target: Some(check_target(intent, vantage.zone, Endpoint::Host(HostId(hi)))),
            });
        }
        for (i, z) in intent.zones.iter().enumerate() {
            // A zone its hosts fill (a /32 zone for one host) has no
            // other address to check: no group, no matrix column.
            if !z.probe || !others[i] {
                continue;
            }
            let in_zone = |x: &Finding| {
                x.host.is_none()
                    && x.target
                        .as_deref()
                        .and_then(|t| t.parse::<IpAddr>().ok())
                        .is_some_and(|a| intent.zone_of(a) == Some(ZoneId(i)))
            };
            out.push(Check {
                vantage: vantage.name.clone(),
                kind: CheckKind::Target,
                name: format!("zone {}", z.name),
                findings: of(&|x: &Finding| port_rule(x) && in_zone(x)),
                skipped: skipped(left_out(Endpoint::Zone(ZoneId(i)))),
                target: Some(check_target(intent, vantage.zone, Endpoint::Zone(ZoneId(i)))),
            });
        }
        for e in &tls_endpoints {
            let host = &intent.hosts[e.host.0];
            let addr = host.address.to_string();
            if !v.tls.contains_key(&(host.address, e.port)) {
                continue;
            }
            out.push(Check {
                vantage: vantage.name.clone(),
                kind: CheckKind::Tls,
                name: format!(
                    "TLS {}:{} ({addr}) meets policy `{}`",
                    host.name, e.port, intent.tls_policies[e.policy.0].name
                ),
                findings: of(&|x: &Finding| {
                    x.rule.is_tls() && x.target.as_deref() == Some(&addr) && x.port == Some(e.port)
                }),
                skipped: None,
                target: None,
            });
        }
        let dns_rule = |f: &Finding| f.rule.is_dns();
        for e in intent.dns.expect.iter().filter(|e| e.from.is_empty() || e.from.contains(&v.id)) {
            let at = crate::report::document::SpecLocation::from(&e.at);
            let what = if e.absent { "absent".to_owned() } else { e.values.join(", ") };
            out.push(Check {
                vantage: vantage.name.clone(),
                kind: CheckKind::Dns,
                name: format!("DNS {} {} = {what}", e.name, e.rtype),
                findings: of(&|x: &Finding| dns_rule(x) && x.location == at),
                skipped: None,
                target: None,
            });
        }
        for (what, at) in intent.dns.forbid.iter().zip(&intent.dns.forbid_at) {
            let at = crate::report::document::SpecLocation::from(at);
            let name = match what {
                crate::spec::intent::DnsForbid::ZoneTransfer => "no zone transfer",
                crate::spec::intent::DnsForbid::OpenRecursion => "no open recursion",
                crate::spec::intent::DnsForbid::DanglingCname => "no dangling CNAME",
            };
            out.push(Check {
                vantage: vantage.name.clone(),
                kind: CheckKind::Dns,
                name: format!("DNS: {name}"),
                findings: of(&|x: &Finding| dns_rule(x) && x.location == at),
                skipped: None,
                target: None,
            });
        }
        out.push(Check {
            vantage: vantage.name.clone(),
            kind: CheckKind::Scan,
            name: "scan complete".to_owned(),
            findings: of(&|x: &Finding| x.rule == Rule::ScanIncomplete),
            skipped: None,
            target: None,
        });
    }
    for (id, _) in &merged.absent {
        let name = &intent.vantages[id.0].name;
        out.push(Check {
            vantage: name.clone(),
            kind: CheckKind::Scan,
            name: "scan complete".to_owned(),
            findings: findings
                .iter()
                .enumerate()
                .filter(|(_, f)| f.vantage.as_ref() == Some(name) && f.rule == Rule::ScanIncomplete)
                .map(|(i, _)| i)
                .collect(),
            skipped: None,
            target: None,
        });
    }
    let spec_level: Vec<usize> =
        findings.iter().enumerate().filter(|(_, f)| f.vantage.is_none()).map(|(i, _)| i).collect();
    if !intent.waivers.is_empty() || !spec_level.is_empty() {
        out.push(Check {
            vantage: String::new(),
            kind: CheckKind::Waivers,
            name: "waivers".to_owned(),
            findings: spec_level,
            skipped: None,
            target: None,
        });
    }
    out
}

/// Where a target group is and every flow from `zone` to it: what the
/// HTML report's matrix shows as intended.
fn check_target(intent: &Intent, zone: ZoneId, target: Endpoint) -> CheckTarget {
    let (zone_id, host, addresses) = match target {
        Endpoint::Host(h) => {
            let host = &intent.hosts[h.0];
            (host.zone, Some(host.name.clone()), host.address.to_string())
        }
        Endpoint::Zone(z) => {
            let cidrs: Vec<String> =
                intent.zones[z.0].cidrs.iter().map(ToString::to_string).collect();
            (Some(z), None, cidrs.join(", "))
        }
    };
    let zone_name = zone_id.map_or(String::new(), |z| intent.zones[z.0].name.clone());
    let zone_order = zone_id.map_or(usize::MAX, |z| z.0);
    let intended = intent
        .flows
        .iter()
        .filter(|f| {
            f.from.iter().any(|s| intent.covers(*s, Endpoint::Zone(zone)))
                && f.to.iter().any(|t| intent.covers(*t, target))
        })
        .map(|f| {
            let (tcp, udp) = intent.ports_of(&f.services);
            let mut ports = Vec::new();
            if !tcp.is_empty() {
                ports.push(format!("tcp/{tcp}"));
            }
            if !udp.is_empty() {
                ports.push(format!("udp/{udp}"));
            }
            let services: Vec<&str> =
                f.services.iter().map(|s| intent.services[s.0].name.as_str()).collect();
            Intended {
                flow: f.index,
                allow: f.action == Action::Allow,
                services: services.join(", "),
                ports: ports.join(" "),
                required: f.action == Action::Allow && f.require == Require::Reachable,
            }
        })
        .collect();
    CheckTarget {
        zone: zone_name,
        zone_order,
        host,
        addresses,
        intended,
        default_deny: intent.default == DefaultPolicy::Deny,
    }
}

/// Whether a document has an unwaived finding at or above `threshold`.
pub fn fails(findings: &[Finding], threshold: Severity) -> bool {
    findings.iter().any(|f| f.waived.is_none() && f.severity >= threshold)
}
