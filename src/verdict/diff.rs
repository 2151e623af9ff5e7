//! `compare`: what changed between two scans of the same scope from the same
//! vantage (a firewall change review in one screen). Pure, like the rest of
//! the verdict.
//!
//! A port changed when its state differs: each side's port facts, and for a
//! port one side has a fact for, the other side's `filtered` summaries. A
//! port the new scan did not probe, or that both only summarise as silent,
//! is no change; one the old scan did not probe is, when it matters (an
//! open port where the spec expects none is `away`). A host is up when it has an open port; hosts that came up or
//! went down are reported too (a RST is no proof of a host: a rejecting
//! firewall answers for empty addresses).
//!
//! TLS endpoints probed in both scans are compared too: versions and
//! suites accepted or refused since, a new leaf certificate, TLS given up
//! for plaintext or taken up. With a spec, a version or suite the TLS
//! policy forbids is `towards` when refused now and `away` when accepted
//! now; allowed ones are optional, so `neutral`, as are certificates (the
//! verdict judges them).
//!
//! DNS questions both scans asked the same server are compared by their
//! answer (RCODE and values; a transfer by its record count): with a spec,
//! an answer that now meets an `expect` entry (or an absent name that no
//! longer resolves, a transfer or recursion now refused where forbidden)
//! is `towards`, the reverse `away`, anything else `neutral`.
//!
//! With a spec, each change is marked `towards` the intent (the new state is
//! what the spec expects and the old was not), `away` from it (the
//! reverse), or `neutral`. What the spec expects of a port: open for a
//! required allow, shut (anything but open) for a deny or under `default:
//! deny`, anything for an optional allow or under `default: allow`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::observe::{DnsCheck, DnsFact, ObservationFile, PortState, TlsFact, TlsVersion};
use crate::report::document::{Change, Comparison, Tool};
use crate::spec::Intent;
use crate::spec::intent::{DefaultPolicy, Proto, Require};
use crate::tls::cert::TrustAnchors;
use crate::tls::policy::Policy;

use super::Source;
use super::merge::{DnsKey, VerdictError, dns_key, dns_rank, proto, rank, tls_rank};
use super::ports::{Addresses, Flows, doc_proto};

/// What a spec expects of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Any,
    Open,
    Shut,
}

impl Expect {
    fn met(self, s: PortState) -> bool {
        match self {
            Self::Any => true,
            Self::Open => s == PortState::Open,
            Self::Shut => s != PortState::Open,
        }
    }
}

type Key = (IpAddr, Proto, u16);

/// Each port's state in one file (the strongest, if a port appears twice).
fn states(f: &ObservationFile) -> BTreeMap<Key, PortState> {
    let mut out: BTreeMap<Key, PortState> = BTreeMap::new();
    for fact in &f.facts {
        let e = out.entry((fact.target, proto(fact.proto), fact.port)).or_insert(fact.state);
        if rank(fact.state) > rank(*e) {
            *e = fact.state;
        }
    }
    out
}

/// The state `f` gives a port it has no fact for: its summary's, if any.
fn summarised(f: &ObservationFile, (addr, p, port): Key) -> Option<PortState> {
    f.filtered
        .iter()
        .filter(|s| s.target == addr && proto(s.proto) == p)
        .any(|s| s.port_set().is_ok_and(|set| set.contains(port)))
        .then_some(match p {
            Proto::Tcp => PortState::Filtered,
            Proto::Udp => PortState::OpenFiltered,
        })
}

fn up(states: &BTreeMap<Key, PortState>) -> BTreeSet<IpAddr> {
    states.iter().filter(|(_, s)| **s == PortState::Open).map(|((a, _, _), _)| *a).collect()
}

/// Compares two observation files of one vantage, against `intent` if given.
pub fn compare(
    intent: Option<&Intent>,
    old: Source<'_>,
    new: Source<'_>,
) -> Result<Comparison, VerdictError> {
    let (vo, vn) = (&old.file.header.vantage, &new.file.header.vantage);
    if vo != vn {
        return Err(VerdictError::DifferentVantages {
            old: old.name.to_owned(),
            old_vantage: vo.clone(),
            new: new.name.to_owned(),
            new_vantage: vn.clone(),
        });
    }
    let zone = match intent {
        None => None,
        Some(i) => match i.vantage(vo) {
            Some(v) => Some(i.vantages[v.0].zone),
            None => {
                return Err(VerdictError::UnknownVantage {
                    file: new.name.to_owned(),
                    vantage: vo.clone(),
                    known: i
                        .vantages
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        },
    };
    let mut flows = intent.map(Flows::new);
    let addresses = intent.map(Addresses::new);
    let (before, after) = (states(old.file), states(new.file));
    let keys: BTreeSet<Key> = before.keys().chain(after.keys()).copied().collect();
    let host = |a: IpAddr| addresses.as_ref().and_then(|x| x.host_name(a));
    let mut changes = Vec::new();
    for key in keys {
        let b = before.get(&key).copied().or_else(|| summarised(old.file, key));
        let a = after.get(&key).copied().or_else(|| summarised(new.file, key));
        // A port the new scan did not probe is no change of the network.
        if a == b || a.is_none() {
            continue;
        }
        let (addr, p, port) = key;
        let expect = match (intent, &mut flows, &addresses, zone) {
            (Some(i), Some(fl), Some(ad), Some(z)) => ad.endpoint(addr).map(|t| {
                let (deny, allow) = fl.judge(z, t, p, port);
                let flow = |f: usize| format!("flow #{}", i.flows[f].index);
                if let Some(d) = deny {
                    (Expect::Shut, format!("denied by {}", flow(d)))
                } else if let Some(&r) =
                    allow.iter().find(|&&f| i.flows[f].require == Require::Reachable)
                {
                    (Expect::Open, format!("reachable: {}", flow(r)))
                } else if let Some(&o) = allow.first() {
                    (Expect::Any, format!("allowed, optional: {}", flow(o)))
                } else if i.default == DefaultPolicy::Deny {
                    (Expect::Shut, "denied: default deny".to_owned())
                } else {
                    (Expect::Any, "allowed: default allow".to_owned())
                }
            }),
            _ => None,
        };
        let direction = expect.as_ref().map(|(e, _)| match (b, a) {
            (Some(b), Some(a)) if !e.met(b) && e.met(a) => "towards",
            (Some(b), Some(a)) if e.met(b) && !e.met(a) => "away",
            // Newly probed, and not what the spec expects.
            (None, Some(a)) if !e.met(a) => "away",
            _ => "neutral",
        });
        changes.push(Change {
            vantage: vo.clone(),
            target: addr.to_string(),
            host: host(addr),
            proto: Some(doc_proto(p)),
            port: Some(port),
            change: match a {
                Some(PortState::Open) => "opened".to_owned(),
                Some(s) => s.as_str().to_owned(),
                None => "unobserved".to_owned(),
            },
            before: b.map(|s| s.as_str().to_owned()),
            after: a.map(|s| s.as_str().to_owned()),
            intent: direction.map(str::to_owned),
            expected: expect.map(|(_, text)| text),
        });
    }
    let (up_before, up_after) = (up(&before), up(&after));
    for (addr, change, was, is) in up_after
        .difference(&up_before)
        .map(|a| (*a, "new-host", "down", "up"))
        .chain(up_before.difference(&up_after).map(|a| (*a, "vanished-host", "up", "down")))
    {
        let direction = match (intent, &addresses) {
            (Some(i), Some(ad)) => {
                let declared = ad.hosts.contains_key(&addr);
                let watched = i.zone_of(addr).is_some_and(|z| ad.zones_with_hosts.contains(&z));
                Some(match (declared, watched, change) {
                    (true, _, "new-host") | (false, true, "vanished-host") => ("towards", declared),
                    (true, _, _) | (false, true, _) => ("away", declared),
                    _ => ("neutral", declared),
                })
            }
            _ => None,
        };
        changes.push(Change {
            vantage: vo.clone(),
            target: addr.to_string(),
            host: host(addr),
            proto: None,
            port: None,
            change: change.to_owned(),
            before: Some(was.to_owned()),
            after: Some(is.to_owned()),
            intent: direction.map(|(d, _)| d.to_owned()),
            expected: direction.and_then(|(d, declared)| match (d, declared) {
                (_, true) => Some("a declared host, up".to_owned()),
                ("neutral", false) => None,
                (_, false) => Some("no host but the declared ones in its zone".to_owned()),
            }),
        });
    }
    changes.extend(tls_changes(intent, vo, old.file, new.file, &host));
    changes.extend(dns_changes(intent, vo, old.file, new.file, &host));
    changes.sort_by_cached_key(|c| {
        (c.target.parse::<IpAddr>().ok(), c.proto, c.port, c.change.clone())
    });
    Ok(Comparison {
        tool: Tool { name: "vantage".to_owned(), version: crate::VERSION.to_owned() },
        old: old.name.to_owned(),
        new: new.name.to_owned(),
        spec: intent.map(|i| i.file.display().to_string()),
        changes,
    })
}

type TlsKey = (IpAddr, u16);

/// The TLS facts of a file by endpoint (the one that learnt the most when
/// an endpoint appears twice, as the verdict merges them).
fn tls_facts(f: &ObservationFile) -> BTreeMap<TlsKey, &TlsFact> {
    let mut out: BTreeMap<TlsKey, &TlsFact> = BTreeMap::new();
    for t in &f.tls {
        let slot = out.entry((t.target, t.port)).or_insert(t);
        if tls_rank(t) > tls_rank(slot) {
            *slot = t;
        }
    }
    out
}

/// What each version of a fact accepted: suites by code point text.
fn accepted(t: &TlsFact) -> BTreeMap<TlsVersion, BTreeMap<&str, Option<&str>>> {
    t.versions
        .iter()
        .map(|v| {
            (v.version, v.suites.iter().map(|s| (s.code.as_str(), s.name.as_deref())).collect())
        })
        .collect()
}

/// The leaf's identity in a change: its SHA-256, short.
fn leaf(t: &TlsFact) -> Option<String> {
    use sha2::Digest as _;
    let der = t.chain_der().into_iter().next()?;
    let hash = sha2::Sha256::digest(&der);
    Some(format!(
        "leaf sha256:{}",
        hash.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// The TLS changes of the endpoints both files probed.
fn tls_changes(
    intent: Option<&Intent>,
    vantage: &str,
    old: &ObservationFile,
    new: &ObservationFile,
    host: &dyn Fn(IpAddr) -> Option<String>,
) -> Vec<Change> {
    // The policy of each endpoint the spec says speaks TLS; trust anchors
    // play no part in versions and suites.
    let policies: BTreeMap<TlsKey, Policy> = intent
        .map(|i| {
            i.tls_endpoints()
                .into_iter()
                .filter_map(|e| {
                    let p = Policy::from_intent(&i.tls_policies[e.policy.0], TrustAnchors::empty())
                        .ok()?;
                    Some(((i.hosts[e.host.0].address, e.port), p))
                })
                .collect()
        })
        .unwrap_or_default();
    let (before, after) = (tls_facts(old), tls_facts(new));
    let mut out = Vec::new();
    for (key, a) in &after {
        let Some(b) = before.get(key) else { continue };
        let policy = policies.get(key);
        let mut change = |what: &str,
                          was: Option<String>,
                          is: Option<String>,
                          towards: Option<bool>,
                          expected: Option<String>| {
            out.push(Change {
                vantage: vantage.to_owned(),
                target: key.0.to_string(),
                host: host(key.0),
                proto: Some(crate::report::document::Proto::Tcp),
                port: Some(key.1),
                change: what.to_owned(),
                before: was,
                after: is,
                intent: intent.map(|_| match towards {
                    Some(true) => "towards".to_owned(),
                    Some(false) => "away".to_owned(),
                    None => "neutral".to_owned(),
                }),
                expected,
            });
        };
        let speaks = |t: &TlsFact| {
            if t.speaks_tls {
                "tls"
            } else if t.plaintext.is_some() {
                "plaintext"
            } else {
                "no answer"
            }
        };
        if speaks(b) != speaks(a) {
            let towards = policy.map(|_| a.speaks_tls);
            let expected = policy.map(|_| "TLS".to_owned());
            change(
                "tls-answer",
                Some(speaks(b).to_owned()),
                Some(speaks(a).to_owned()),
                towards,
                expected,
            );
        }
        if !(b.speaks_tls && a.speaks_tls) {
            continue;
        }
        let (vb, va) = (accepted(b), accepted(a));
        for v in TlsVersion::ALL {
            let (was, is) = (vb.get(&v), va.get(&v));
            let allowed = policy.map(|p| p.allows_version(v.protocol()));
            let word = |x: Option<&BTreeMap<&str, Option<&str>>>| {
                Some(if x.is_some() { "accepted" } else { "refused" }.to_owned())
            };
            // A version neither scan says anything about is no change.
            let probed = |t: &TlsFact, m: &BTreeMap<TlsVersion, _>| {
                m.contains_key(&v) || t.refused.contains(&v)
            };
            if was.is_some() != is.is_some() && probed(b, &vb) && probed(a, &va) {
                // Only a forbidden version moves towards or away: an
                // allowed one is optional.
                let towards = allowed.and_then(|ok| (!ok).then_some(is.is_none()));
                let expected = allowed.map(|ok| {
                    format!("{} {}", version_name(v), if ok { "allowed" } else { "refused" })
                });
                change(
                    if is.is_some() { "tls-version-accepted" } else { "tls-version-refused" },
                    word(was),
                    word(is),
                    towards,
                    expected,
                );
                continue;
            }
            let (Some(was), Some(is)) = (was, is) else { continue };
            let suites: BTreeSet<&str> = was.keys().chain(is.keys()).copied().collect();
            for code in suites {
                let (in_b, in_a) = (was.contains_key(code), is.contains_key(code));
                if in_b == in_a {
                    continue;
                }
                let name = was.get(code).or_else(|| is.get(code)).copied().flatten();
                let label = format!("{} {}", version_name(v), name.unwrap_or(code));
                let ok = policy.map(|p| name.is_some_and(|n| p.allows_suite(v.protocol(), n)));
                let towards = ok.and_then(|ok| (!ok).then_some(!in_a));
                let expected =
                    ok.map(|ok| format!("{label} {}", if ok { "allowed" } else { "refused" }));
                let (what, was, is) = if in_a {
                    ("tls-suite-accepted", None, Some(label))
                } else {
                    ("tls-suite-refused", Some(label), None)
                };
                change(what, was, is, towards, expected);
            }
        }
        let (lb, la) = (leaf(b), leaf(a));
        if lb != la && lb.is_some() && la.is_some() {
            change("tls-certificate", lb, la, None, None);
        }
    }
    out
}

/// `TLSv1.2`, as the observation names versions.
fn version_name(v: TlsVersion) -> String {
    serde_json::to_value(v).ok().and_then(|x| x.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The DNS answers of a file by question (an answered one over a silent
/// one, then the latest, as the verdict merges them).
fn dns_facts(f: &ObservationFile) -> BTreeMap<DnsKey, &DnsFact> {
    let mut out: BTreeMap<DnsKey, &DnsFact> = BTreeMap::new();
    for d in &f.dns {
        let slot = out.entry(dns_key(d)).or_insert(d);
        if dns_rank(d) > dns_rank(slot) {
            *slot = d;
        }
    }
    out
}

/// An answer in a few words: `NOERROR: 198.18.1.10, 198.18.1.11`,
/// `NXDOMAIN`, `NOERROR: 42 records` (a transfer), `no answer`.
fn dns_summary(f: &DnsFact) -> String {
    let Some(rcode) = &f.rcode else { return "no answer".to_owned() };
    if f.check == DnsCheck::Axfr {
        return format!("{rcode}: {} records", f.records);
    }
    let values: BTreeSet<String> =
        f.answers.iter().map(|r| format!("{} {}", r.rtype, r.value)).collect();
    if values.is_empty() {
        rcode.clone()
    } else {
        format!("{rcode}: {}", values.into_iter().collect::<Vec<_>>().join(", "))
    }
}

/// Whether an answer meets what the spec asks of that question from
/// `vantage` (`None`: the spec says nothing of it), and what it asks.
fn dns_meets(intent: &Intent, vantage: &str, f: &DnsFact) -> Option<(bool, String)> {
    use crate::spec::intent::DnsForbid;
    let v = intent.vantage(vantage)?;
    let resolved = f.rcode.as_deref() == Some("NOERROR") && !f.answers.is_empty();
    match f.check {
        DnsCheck::Expect => {
            let e = intent.dns.expect.iter().find(|e| {
                e.name == f.name
                    && (e.rtype == f.rtype || (e.absent && !e.type_given))
                    && (e.from.is_empty() || e.from.contains(&v))
            })?;
            if e.absent {
                return Some((!resolved, format!("{} absent", e.name)));
            }
            let want: BTreeSet<String> =
                e.values.iter().map(|x| x.trim_end_matches('.').to_ascii_lowercase()).collect();
            let got: BTreeSet<String> = f
                .answers
                .iter()
                .filter(|r| r.rtype == f.rtype)
                .map(|r| r.value.trim_end_matches('.').to_ascii_lowercase())
                .collect();
            Some((got == want, format!("{} {} = {}", e.name, e.rtype, e.values.join(", "))))
        }
        DnsCheck::Axfr if intent.dns.forbid.contains(&DnsForbid::ZoneTransfer) => {
            Some((f.records == 0, format!("no zone transfer of {}", f.name)))
        }
        DnsCheck::Recursion if intent.dns.forbid.contains(&DnsForbid::OpenRecursion) => {
            let open = resolved && f.recursion_available && !f.authoritative;
            Some((!open, "no open recursion".to_owned()))
        }
        _ => None,
    }
}

/// The DNS questions both files asked, answered differently.
fn dns_changes(
    intent: Option<&Intent>,
    vantage: &str,
    old: &ObservationFile,
    new: &ObservationFile,
    host: &dyn Fn(IpAddr) -> Option<String>,
) -> Vec<Change> {
    let (before, after) = (dns_facts(old), dns_facts(new));
    let mut out = Vec::new();
    for (key, a) in &after {
        let Some(b) = before.get(key) else { continue };
        let (was, is) = (dns_summary(b), dns_summary(a));
        if was == is || a.check == DnsCheck::Wildcard {
            continue;
        }
        let judged = intent.map(|i| (dns_meets(i, vantage, b), dns_meets(i, vantage, a)));
        let (direction, expected) = match judged {
            None => (None, None),
            Some((Some((mb, _)), Some((ma, text)))) => (
                Some(match (mb, ma) {
                    (false, true) => "towards",
                    (true, false) => "away",
                    _ => "neutral",
                }),
                Some(text),
            ),
            Some(_) => (Some("neutral"), None),
        };
        out.push(Change {
            vantage: vantage.to_owned(),
            target: key.0.ip().to_string(),
            host: host(key.0.ip()),
            proto: Some(doc_proto(proto(a.transport))),
            port: Some(a.port),
            change: "dns-answer".to_owned(),
            before: Some(format!("{} {}: {was}", a.name, a.rtype)),
            after: Some(format!("{} {}: {is}", a.name, a.rtype)),
            intent: direction.map(str::to_owned),
            expected,
        });
    }
    out
}
