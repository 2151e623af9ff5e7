//! Warnings about a valid intent that is probably not what its author meant:
//! duplicate and shadowed flows, flows that can never be checked, hosts
//! outside every zone, unused services, waivers that are expired, about to
//! expire or can match nothing, plans too large to run by default (or at
//! all), and DNS servers outside the scope.
//!
//! Pure: `today` is a parameter, so lint output is reproducible (`--now`).
//! Bounded: the one quadratic analysis (comparing flows pairwise) is skipped,
//! with a warning saying so, past `MAX_FLOWS_COMPARED` flows or
//! `MAX_ENDPOINTS_COMPARED` endpoints, and at most `MAX_DIAGNOSTICS`
//! warnings are kept.

use std::collections::HashSet;
use std::sync::Arc;

use jiff::civil::Date;

use crate::plan::{Group, LARGE_SWEEP_ADDRESSES, Options, Plan, PlanError, ScopeGuard};
use crate::spec::diag::{Diagnostic, Diags, Location};
use crate::spec::intent::{Action, Endpoint, Flow, Intent, Require, Waiver, WaiverSource};

/// A waiver expiring within this many days is a warning.
pub const WAIVER_WARN_DAYS: i64 = 14;

/// Above this many flows, the pairwise duplicate/shadow analysis is skipped.
pub const MAX_FLOWS_COMPARED: usize = 2_000;

/// Above this many flow endpoints in all, the same.
pub const MAX_ENDPOINTS_COMPARED: usize = 20_000;

/// Returns every warning about `intent`, as of `today` (UTC).
pub fn lint(intent: &Intent, today: Date) -> Vec<Diagnostic> {
    let file: Arc<str> = Arc::from(intent.file.display().to_string());
    let mut out = Diags::new();
    flows(intent, &mut out);
    for h in &intent.hosts {
        // A host in no zone that a flow names is a spec error
        // (`flow-outside-zones`); here it is one no flow names.
        let (why, expected) = match h.zone {
            None => (
                "is in no zone".to_owned(),
                "a host address inside a zone (`probe: false` for one never probed), or no host",
            ),
            Some(z) if !intent.zones[z.0].probe => (
                format!("is in zone `{}`, which has `probe: false`", intent.zones[z.0].name),
                "a host address inside a probe-able zone, unless it is only a flow source",
            ),
            Some(_) => continue,
        };
        out.push(
            Diagnostic::warning(
                "host-not-probed",
                h.at.clone(),
                format!("host `{}` ({}) {why}, so it is never probed", h.name, h.address),
            )
            .value(h.address.to_string())
            .expected(expected),
        );
    }
    let used: HashSet<usize> =
        intent.flows.iter().flat_map(|f| f.services.iter().map(|s| s.0)).collect();
    for (i, s) in intent.services.iter().enumerate() {
        if !used.contains(&i) {
            out.push(
                Diagnostic::warning(
                    "unused-service",
                    s.at.clone(),
                    format!("service `{}` is used by no flow", s.name),
                )
                .expected("every service referenced by a flow, or removed"),
            );
        }
    }
    if intent.vantages.is_empty() {
        out.push(Diagnostic::warning(
            "no-vantages",
            Location::new(&file, 0, 0),
            "the spec declares no vantage, so nothing can be planned or scanned",
        ));
    }
    dns_servers(intent, &mut out);
    waivers(intent, today, &mut out);
    plan_size(intent, &mut out);
    out.finish(&file)
}

/// DNS servers the scope guard refuses: `scan` never asks them, so no
/// DNS check holds for them.
fn dns_servers(intent: &Intent, out: &mut Diags) {
    if intent.dns.servers.is_empty() {
        return;
    }
    let scope = ScopeGuard::new(intent);
    for s in &intent.dns.servers {
        if scope.admit(s.addr.ip(), None, None).is_none() {
            out.push(
                Diagnostic::warning(
                    "dns-server-not-probed",
                    s.at.clone(),
                    format!(
                        "DNS server {} is outside every probe-able zone, so it is never asked",
                        s.addr
                    ),
                )
                .value(s.addr.to_string())
                .expected("a DNS server address inside a probe-able zone"),
            );
        }
    }
}

/// Why a flow's destination can never be probed, if it can't.
fn unprobed(intent: &Intent, e: Endpoint) -> Option<String> {
    match e {
        Endpoint::Zone(z) if !intent.zones[z.0].probe => {
            Some(format!("zone `{}`, which has `probe: false`", intent.zones[z.0].name))
        }
        Endpoint::Zone(_) => None,
        Endpoint::Host(h) => {
            let host = &intent.hosts[h.0];
            match host.zone {
                None => Some(format!("host `{}`, which is in no zone", host.name)),
                Some(z) if !intent.zones[z.0].probe => Some(format!(
                    "host `{}`, in zone `{}`, which has `probe: false`",
                    host.name, intent.zones[z.0].name
                )),
                Some(_) => None,
            }
        }
    }
}

/// Whether every endpoint of `inner` is covered by one of `outer` (see
/// `Intent::covers`), in O(|inner|) hash lookups for the common cases.
fn covers_all(intent: &Intent, outer: &HashSet<Endpoint>, inner: &[Endpoint]) -> bool {
    inner.iter().all(|i| {
        outer.contains(i)
            || match i {
                Endpoint::Host(h) => {
                    intent.hosts[h.0].zone.is_some_and(|z| outer.contains(&Endpoint::Zone(z)))
                }
                // Only a host equal to a one-address zone covers a zone: rare,
                // so a scan of the (host) endpoints is fine.
                Endpoint::Zone(_) => outer.iter().any(|o| intent.covers(*o, *i)),
            }
    })
}

/// Whether flow `f` adds nothing to flow `g`, which covers its sources,
/// destinations and ports and has the same action.
fn adds_nothing(f: &Flow, g: &Flow) -> bool {
    // A reachable requirement is more than an optional one.
    let requirement = f.action == Action::Deny
        || f.require == Require::Optional
        || g.require == Require::Reachable;
    // A severity override (on either) changes how findings are rated, so
    // removing one of the two would change the report.
    let severity = f.severity == g.severity;
    // Other services on the same ports may carry other severities.
    let services = f.services.iter().all(|s| g.services.contains(s));
    requirement && severity && services
}

fn flows(intent: &Intent, out: &mut Diags) {
    let endpoints: usize = intent.flows.iter().map(|f| f.from.len() + f.to.len()).sum();
    let compare = intent.flows.len() <= MAX_FLOWS_COMPARED && endpoints <= MAX_ENDPOINTS_COMPARED;
    if !compare && let Some(first) = intent.flows.first() {
        out.push(Diagnostic::warning(
            "flows-not-compared",
            first.at.clone(),
            format!(
                "{} flows with {endpoints} endpoints: duplicate and shadowed flows are only looked for up to {MAX_FLOWS_COMPARED} flows and {MAX_ENDPOINTS_COMPARED} endpoints",
                intent.flows.len()
            ),
        ));
    }
    let sets: Vec<(HashSet<Endpoint>, HashSet<Endpoint>)> = if compare {
        intent
            .flows
            .iter()
            .map(|f| (f.from.iter().copied().collect(), f.to.iter().copied().collect()))
            .collect()
    } else {
        Vec::new()
    };
    let ports: Vec<_> = if compare {
        intent.flows.iter().map(|f| intent.ports_of(&f.services)).collect()
    } else {
        Vec::new()
    };
    for (i, f) in intent.flows.iter().enumerate() {
        for t in &f.to {
            if let Some(why) = unprobed(intent, *t) {
                out.push(
                    Diagnostic::warning(
                        "flow-to-unprobed",
                        f.at.clone(),
                        format!("flow #{} goes to {why}, so it can never be checked", f.index),
                    )
                    .expected("a destination that can be probed"),
                );
            }
        }
        if !compare {
            continue;
        }
        let (tcp, udp) = &ports[i];
        for (j, g) in intent.flows.iter().enumerate() {
            if i == j
                || !covers_all(intent, &sets[j].0, &f.from)
                || !covers_all(intent, &sets[j].1, &f.to)
            {
                continue;
            }
            let (gt, gu) = &ports[j];
            if !(gt.is_superset(tcp) && gu.is_superset(udp)) {
                continue;
            }
            let identical = covers_all(intent, &sets[i].0, &g.from)
                && covers_all(intent, &sets[i].1, &g.to)
                && tcp == gt
                && udp == gu
                && f.require == g.require
                && f.severity == g.severity;
            let (code, message) = match (f.action, g.action) {
                // An explicit deny wins over any allow, wherever it is.
                (Action::Allow, Action::Deny) => (
                    "shadowed-flow",
                    format!(
                        "flow #{} can never match: flow #{} denies all of it, and a deny wins over an allow",
                        f.index, g.index
                    ),
                ),
                (Action::Deny, Action::Allow) => continue,
                _ if !adds_nothing(f, g) => continue,
                _ if identical && j < i => {
                    ("duplicate-flow", format!("flow #{} duplicates flow #{}", f.index, g.index))
                }
                _ if identical => continue,
                _ => (
                    "shadowed-flow",
                    format!(
                        "flow #{} is redundant: flow #{} already covers its sources, destinations and ports",
                        f.index, g.index
                    ),
                ),
            };
            out.push(
                Diagnostic::warning(code, f.at.clone(), message)
                    .expected("each flow to add something the others don't"),
            );
            break;
        }
    }
}

fn waivers(intent: &Intent, today: Date, out: &mut Diags) {
    let opts = Options { allow_large: true, ..Options::default() };
    let plan = intent.vantages.first().and_then(|v| Plan::new(intent, &v.name, opts).ok());
    for w in &intent.waivers {
        let days_left = today.until(w.expires).map(|s| i64::from(s.get_days())).unwrap_or(0);
        if w.expires < today {
            out.push(
                Diagnostic::warning(
                    "waiver-expired",
                    w.at.clone(),
                    format!("waiver `{}` expired on {}", w.id, w.expires),
                )
                .value(w.expires.to_string())
                .expected(
                    "an unexpired waiver, or none: the findings it covered are reported again",
                ),
            );
        } else if days_left <= WAIVER_WARN_DAYS {
            out.push(Diagnostic::warning(
                "waiver-expiring",
                w.at.clone(),
                format!("waiver `{}` expires on {} ({days_left} days left)", w.id, w.expires),
            ));
        }
        if let Some(why) = waiver_cannot_match(intent, plan.as_ref(), w) {
            out.push(
                Diagnostic::warning(
                    "waiver-unused",
                    w.at.clone(),
                    format!("waiver `{}` can never match: {why}", w.id),
                )
                .expected("a `match` that some vantage's probes can produce"),
            );
        }
    }
}

/// Why a waiver can never match a finding, if it can't: no vantage is in
/// its `from`, its `to` is never probed, or no plan probes its port there.
/// Rules other than port findings (TLS, DNS) depend on observations and
/// are judged by the verdict.
fn waiver_cannot_match(intent: &Intent, plan: Option<&Plan>, w: &Waiver) -> Option<String> {
    let from_some_vantage = intent.vantages.iter().enumerate().any(|(i, v)| match w.from {
        None => true,
        Some(WaiverSource::Vantage(id)) => id.0 == i,
        Some(WaiverSource::Zone(z)) => v.zone == z,
    });
    if !from_some_vantage {
        return Some("no vantage is in its `from`".to_owned());
    }
    if let Some(to) = w.to
        && let Some(why) = unprobed(intent, to)
    {
        return Some(format!("it is for {why}"));
    }
    let (proto, port) = w.port?;
    // No plan: nothing can be scanned, which `plan_size` reports.
    let plan = plan?;
    let probes = |g: &Group| g.probes_port(proto, port);
    // Targets and ports are the same from every vantage (only the flows a
    // vantage can confirm differ), so one plan answers for all of them.
    let probed = match w.to {
        None => plan.groups.iter().any(probes),
        Some(Endpoint::Host(h)) => plan.host_group(h).is_some_and(probes),
        Some(Endpoint::Zone(z)) => plan.groups.iter().any(|g| g.zone == Some(z) && probes(g)),
    };
    (!probed).then(|| format!("{}/{port} is not probed there", proto.as_str()))
}

fn plan_size(intent: &Intent, out: &mut Diags) {
    let Some(v) = intent.vantages.first() else { return };
    let at = intent.sweep.at.clone().unwrap_or_else(|| v.at.clone());
    match Plan::new(intent, &v.name, Options::default()) {
        Err(PlanError::TooLarge { addresses, .. }) => {
            match Plan::new(intent, &v.name, Options { allow_large: true, ..Options::default() }) {
                Err(e) => {
                    out.push(Diagnostic::warning(
                        "unplannable",
                        at,
                        format!("no scan can be planned: {e}"),
                    ));
                }
                Ok(_) => {
                    out.push(
                        Diagnostic::warning(
                            "large-sweep",
                            at,
                            format!("the probe-able zones hold {addresses} addresses; scanning them needs --allow-large"),
                        )
                        .value(addresses.to_string())
                        .expected(format!("at most {LARGE_SWEEP_ADDRESSES} addresses, or --allow-large")),
                    );
                }
            }
        }
        Err(e) => {
            out.push(Diagnostic::warning(
                "unplannable",
                at,
                format!("no scan can be planned: {e}"),
            ));
        }
        Ok(_) => {}
    }
}
