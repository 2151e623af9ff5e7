//! Waivers: approved exceptions. An unexpired waiver whose `match` covers a
//! finding marks it `waived` with its id (still listed, not failing; the
//! first matching waiver in spec order wins). A waiver applies through the
//! end of its `expires` day in UTC. Once expired it covers nothing: the
//! findings come back unwaived, and a `waiver-expired` finding says why.
//! An unexpired waiver that covered nothing is `waiver-unused`. Both are
//! reported only when a vantage the waiver's `from` names was observed, or
//! (expired) when it would have covered a finding of this verdict: a
//! verdict over the outside vantage alone can neither tell whether an
//! inside waiver is used nor be failed by one that lapsed (the outside CI
//! job would go red for an exception it cannot see; `vantage lint` reports
//! every expired waiver, whatever ran).

use std::net::IpAddr;

use jiff::civil::Date;

use crate::report::document::{Finding, Rule, Severity};
use crate::spec::Intent;
use crate::spec::intent::{Endpoint, Proto, Waiver, WaiverSource};

use super::merge::Merged;
use super::ports::doc_proto;

/// The kebab-case name of a rule, as a waiver's `rule` names it.
fn rule_matches(w: &Waiver, f: &Finding) -> bool {
    w.rule.as_deref().is_none_or(|r| r == f.rule.as_str())
}

/// Whether waiver `w`'s `match` covers finding `f`.
pub(crate) fn covers(intent: &Intent, w: &Waiver, f: &Finding) -> bool {
    if matches!(f.rule, Rule::WaiverExpired | Rule::WaiverUnused) || !rule_matches(w, f) {
        return false;
    }
    let vantage = f.vantage.as_deref().and_then(|v| intent.vantage(v));
    let from = match w.from {
        None => true,
        Some(WaiverSource::Vantage(id)) => vantage == Some(id),
        Some(WaiverSource::Zone(z)) => vantage.is_some_and(|v| intent.vantages[v.0].zone == z),
    };
    let addr = f.target.as_deref().and_then(|t| t.parse::<IpAddr>().ok());
    let to = match w.to {
        None => true,
        Some(Endpoint::Host(h)) => addr == Some(intent.hosts[h.0].address),
        Some(Endpoint::Zone(z)) => addr.is_some_and(|a| intent.zone_of(a) == Some(z)),
    };
    let port = match w.port {
        None => true,
        Some((p, n)) => f.port == Some(n) && f.proto == Some(doc_proto(p)),
    };
    from && to && port
}

/// Whether a vantage `w`'s `from` names was observed.
fn observed(w: &Waiver, intent: &Intent, merged: &Merged<'_>) -> bool {
    merged.vantages.iter().any(|v| match w.from {
        None => true,
        Some(WaiverSource::Vantage(id)) => v.id == id,
        Some(WaiverSource::Zone(z)) => intent.vantages[v.id.0].zone == z,
    })
}

/// Marks waived findings and appends the waiver findings.
pub(crate) fn apply(
    intent: &Intent,
    merged: &Merged<'_>,
    today: Date,
    findings: &mut Vec<Finding>,
) {
    let mut used = vec![0usize; intent.waivers.len()];
    let mut would = vec![0usize; intent.waivers.len()];
    for f in findings.iter_mut() {
        for (i, w) in intent.waivers.iter().enumerate() {
            if !covers(intent, w, f) {
                continue;
            }
            if today <= w.expires {
                if f.waived.is_none() {
                    f.waived = Some(w.id.clone());
                    used[i] += 1;
                }
            } else {
                would[i] += 1;
            }
        }
    }
    for (i, w) in intent.waivers.iter().enumerate() {
        let base = Finding {
            rule: Rule::WaiverUnused,
            severity: Severity::Low,
            vantage: None,
            target: match w.to {
                Some(Endpoint::Host(h)) => Some(intent.hosts[h.0].address.to_string()),
                _ => None,
            },
            host: match w.to {
                Some(Endpoint::Host(h)) => Some(intent.hosts[h.0].name.clone()),
                _ => None,
            },
            port: w.port.map(|(_, n)| n),
            proto: w.port.map(|(p, _): (Proto, u16)| doc_proto(p)),
            expected: String::new(),
            observed: String::new(),
            evidence: format!(
                "waiver {} ({}; approved by {}; expires {}) matches {}",
                w.id,
                w.reason,
                w.approved_by,
                w.expires,
                describe_match(intent, w)
            ),
            waived: None,
            location: (&w.at).into(),
        };
        if today > w.expires && (would[i] > 0 || observed(w, intent, merged)) {
            findings.push(Finding {
                rule: Rule::WaiverExpired,
                expected: format!(
                    "waiver {} in force (it applied through {} UTC)",
                    w.id, w.expires
                ),
                observed: format!(
                    "expired on {}; {} finding(s) it matched are reported unwaived",
                    w.expires, would[i]
                ),
                ..base
            });
        } else if today <= w.expires && used[i] == 0 && observed(w, intent, merged) {
            findings.push(Finding {
                expected: format!("waiver {} covers a finding", w.id),
                observed: "no finding matched it: the exception it approves is gone".to_owned(),
                ..base
            });
        }
    }
}

/// `from outside, to web, port tcp/22`.
fn describe_match(intent: &Intent, w: &Waiver) -> String {
    let mut parts = Vec::new();
    match w.from {
        Some(WaiverSource::Vantage(v)) => parts.push(format!("from {}", intent.vantages[v.0].name)),
        Some(WaiverSource::Zone(z)) => parts.push(format!("from {}", intent.zones[z.0].name)),
        None => {}
    }
    if let Some(t) = w.to {
        parts.push(format!("to {}", intent.endpoint_name(t)));
    }
    if let Some((p, n)) = w.port {
        parts.push(format!("port {}/{n}", p.as_str()));
    }
    if let Some(r) = &w.rule {
        parts.push(format!("rule {r}"));
    }
    if parts.is_empty() { "every finding".to_owned() } else { parts.join(", ") }
}
