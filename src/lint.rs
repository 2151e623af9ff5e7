//! Warnings about a valid intent that is probably not what its author meant:
//! duplicate and shadowed flows, flows that can never be checked, hosts
//! outside every zone, unused services, waivers that are expired, about to
//! expire or can match nothing, and sweeps too large to run by default.
//!
//! Pure: `now` is a parameter, so lint output is reproducible (`--now`).

use jiff::civil::Date;

use crate::plan::{LARGE_SWEEP_ADDRESSES, Options, Plan, PlanError};
use crate::spec::diag::{Diagnostic, Location};
use crate::spec::intent::{Action, Endpoint, Intent, Waiver, WaiverSource};

/// A waiver expiring within this many days is a warning.
pub const WAIVER_WARN_DAYS: i64 = 14;

/// Returns every warning about `intent`, as of `today` (UTC).
pub fn lint(intent: &Intent, today: Date) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    flows(intent, &mut out);
    for h in &intent.hosts {
        if h.zone.is_none() {
            out.push(
                Diagnostic::warning(
                    "host-outside-zones",
                    h.at.clone(),
                    format!("host `{}` ({}) is in no zone", h.name, h.address),
                )
                .value(h.address.to_string())
                .expected("a host address inside a declared zone, so flows to that zone cover it"),
            );
        }
    }
    let used: std::collections::HashSet<usize> =
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
            Location::new(&std::sync::Arc::from(intent.file.display().to_string()), 0, 0),
            "the spec declares no vantage, so nothing can be planned or scanned",
        ));
    }
    waivers(intent, today, &mut out);
    sweep_size(intent, &mut out);
    out
}

/// Above this many flows, the pairwise duplicate/shadow analysis (quadratic)
/// is skipped with a warning rather than left to run for minutes.
pub const MAX_FLOWS_COMPARED: usize = 2_000;

fn flows(intent: &Intent, out: &mut Vec<Diagnostic>) {
    let compare = intent.flows.len() <= MAX_FLOWS_COMPARED;
    if !compare && let Some(first) = intent.flows.first() {
        out.push(Diagnostic::warning(
            "flows-not-compared",
            first.at.clone(),
            format!(
                "{} flows: duplicate and shadowed flows are only looked for in specs of at most {MAX_FLOWS_COMPARED}",
                intent.flows.len()
            ),
        ));
    }
    let covers_all = |outer: &[Endpoint], inner: &[Endpoint]| {
        inner.iter().all(|i| outer.iter().any(|o| intent.covers(*o, *i)))
    };
    for (i, f) in intent.flows.iter().enumerate() {
        for t in &f.to {
            if let Endpoint::Zone(z) = t
                && !intent.zones[z.0].probe
            {
                out.push(
                    Diagnostic::warning(
                        "flow-to-unprobed-zone",
                        f.at.clone(),
                        format!("flow #{} goes to zone `{}`, which has `probe: false`, so it can never be checked", f.index, intent.zones[z.0].name),
                    )
                    .expected("a destination that can be probed"),
                );
            }
        }
        let (tcp, udp) = intent.ports_of(&f.services);
        for (j, g) in intent.flows.iter().enumerate().filter(|_| compare) {
            if i == j || !covers_all(&g.from, &f.from) || !covers_all(&g.to, &f.to) {
                continue;
            }
            let (gt, gu) = intent.ports_of(&g.services);
            if !(gt.is_superset(&tcp) && gu.is_superset(&udp)) {
                continue;
            }
            let identical =
                covers_all(&f.from, &g.from) && covers_all(&f.to, &g.to) && tcp == gt && udp == gu;
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

fn waivers(intent: &Intent, today: Date, out: &mut Vec<Diagnostic>) {
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
        if !waiver_can_match(intent, plan.as_ref(), w) {
            out.push(
                Diagnostic::warning(
                    "waiver-unused",
                    w.at.clone(),
                    format!("waiver `{}` matches nothing any vantage probes", w.id),
                )
                .expected("a `match` whose target and port some vantage's plan covers"),
            );
        }
    }
}

/// Whether any vantage the waiver names would probe a port it names on a
/// target it names. Rules other than port findings (TLS, DNS) are not
/// judged here: they depend on observations.
fn waiver_can_match(intent: &Intent, plan: Option<&Plan>, w: &Waiver) -> bool {
    let Some((proto, port)) = w.port else { return true };
    // No plan means nothing can be scanned (or the spec is too large to
    // judge); the sweep warning says so, and this check stays quiet.
    let Some(plan) = plan else { return true };
    let from_some_vantage = intent.vantages.iter().enumerate().any(|(i, v)| match w.from {
        None => true,
        Some(WaiverSource::Vantage(id)) => id.0 == i,
        Some(WaiverSource::Zone(z)) => v.zone == z,
    });
    let probes = |g: &crate::plan::Group| g.probes_port(proto, port);
    // Targets and ports are the same from every vantage (only the flows a
    // vantage can confirm differ), so one plan answers for all of them.
    from_some_vantage
        && match w.to {
            None => plan.groups.iter().any(probes),
            Some(Endpoint::Host(h)) => plan.host_group(h).is_some_and(probes),
            Some(Endpoint::Zone(z)) => plan.groups.iter().any(|g| g.zone == Some(z) && probes(g)),
        }
}

fn sweep_size(intent: &Intent, out: &mut Vec<Diagnostic>) {
    let Some(v) = intent.vantages.first() else { return };
    if let Err(PlanError::TooLarge { addresses, .. }) =
        Plan::new(intent, &v.name, Options::default())
    {
        let at = intent.sweep.at.clone().unwrap_or_else(|| v.at.clone());
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
