//! The DNS rules: each vantage's `dns` lines against the spec's `dns:`.
//!
//! - `dns-mismatch`: an `expect` entry with values that applies to the
//!   vantage (its `from` is empty or names it), asked of a listed server,
//!   answered with another set (after its CNAME chain), NXDOMAIN, an error
//!   RCODE, or nothing at all. Values are compared in presentation form,
//!   case-insensitively for names, with addresses parsed (so `2001:db8::1`
//!   and `2001:DB8:0:0::1` are one value) and TXT strings joined;
//! - `dns-leak`: an `absent: true` entry that resolved: any record for the
//!   name (or its chain) in the answer;
//! - `dns-axfr` (`forbid: [zone-transfer]`): an AXFR that returned records,
//!   from any vantage: a vantage point is never a legitimate secondary;
//! - `dns-open-recursion` (`open-recursion`): a real answer, not
//!   authoritative, with RA set and data, for the recursion name, from a
//!   vantage in a `probe: false` zone (an outsider: inside clients may be
//!   meant to use the resolver); the RA flag alone is not enough;
//! - `dns-dangling-cname` (`dangling-cname`): a CNAME seen in any answer or
//!   transfer whose target was asked and is NXDOMAIN.
//!
//! A server found by the port scan (`discovered`) is judged by the
//! transfer and recursion rules like a listed one, and the evidence says
//! it was discovered. Questions without a line (not asked: a scan that did
//! not get that far) are not judged here.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use crate::observe::{DnsCheck, DnsFact, DnsRecord, Proto as WireProto};
use crate::report::document::{Finding, Rule, Severity, SpecLocation};
use crate::spec::Intent;
use crate::spec::intent::{DnsExpect, DnsForbid, VantageId};

use super::Source;
use super::merge::{Merged, VantageObs, dns_key, proto};
use super::ports::{Addresses, doc_proto};
use super::severity;

/// Longest CNAME chain followed.
const MAX_CHAIN: usize = 8;

/// At most this many values are named in a finding's `observed`.
const LISTED: usize = 6;

/// The DNS findings of every vantage.
pub(crate) fn findings(
    intent: &Intent,
    sources: &[Source<'_>],
    merged: &Merged<'_>,
) -> Vec<Finding> {
    let addresses = Addresses::new(intent);
    let mut out = Vec::new();
    for v in &merged.vantages {
        let ctx = Ctx { intent, sources, v, addresses: &addresses };
        for e in intent.dns.expect.iter().filter(|e| applies(e, v.id)) {
            let servers: Vec<SocketAddr> = intent.dns.servers.iter().map(|s| s.addr).collect();
            // An entry holds on the servers that serve its name; a server
            // that refuses it (REFUSED, SERVFAIL, NOTAUTH without AA) serves
            // other zones. Only when none serves it is each one's answer
            // the finding.
            let serving: Vec<SocketAddr> =
                servers.iter().copied().filter(|s| ctx.serves(e, *s)).collect();
            let judged = if serving.is_empty() || e.absent { servers } else { serving };
            for server in judged {
                out.extend(ctx.expectation(e, server));
            }
        }
        for (what, at) in intent.dns.forbid.iter().zip(&intent.dns.forbid_at) {
            let at = SpecLocation::from(at);
            match what {
                DnsForbid::ZoneTransfer => out.extend(ctx.transfers(&at)),
                DnsForbid::OpenRecursion if severity::untrusted(intent, v.id) => {
                    out.extend(ctx.recursion(&at));
                }
                DnsForbid::OpenRecursion => {}
                DnsForbid::DanglingCname => out.extend(ctx.dangling(&at)),
            }
        }
    }
    out
}

fn applies(e: &DnsExpect, v: VantageId) -> bool {
    e.from.is_empty() || e.from.contains(&v)
}

struct Ctx<'a> {
    intent: &'a Intent,
    sources: &'a [Source<'a>],
    v: &'a VantageObs<'a>,
    addresses: &'a Addresses<'a>,
}

/// Where a chain of questions ended.
struct Resolved<'a> {
    /// The names walked, first the one asked.
    chain: Vec<String>,
    /// The values of the type asked at the end of the chain.
    values: BTreeSet<String>,
    /// The answer that ended it (the last line walked).
    last: &'a DnsFact,
    /// Every line walked, for the evidence.
    lines: Vec<&'a DnsFact>,
}

impl<'a> Ctx<'a> {
    fn fact(
        &self,
        server: SocketAddr,
        check: DnsCheck,
        name: &str,
        rtype: &str,
    ) -> Option<&'a DnsFact> {
        self.v.dns.get(&(server, check, name.to_owned(), rtype.to_owned())).map(|(f, _)| *f)
    }

    fn file(&self, f: &DnsFact) -> &'a str {
        self.v.dns.get(&dns_key(f)).and_then(|(_, s)| self.sources.get(*s)).map_or("?", |s| s.name)
    }

    /// Follows `name`'s CNAMEs through the answer and the `cname-target`
    /// lines, to the values of `rtype` at the end.
    fn resolve(&self, first: &'a DnsFact, rtype: &str) -> Resolved<'a> {
        let mut r = Resolved {
            chain: vec![first.name.clone()],
            values: BTreeSet::new(),
            last: first,
            lines: vec![first],
        };
        let mut records: Vec<&'a DnsRecord> = first.answers.iter().collect();
        let mut name = first.name.clone();
        for _ in 0..MAX_CHAIN {
            let here: BTreeSet<String> = records
                .iter()
                .filter(|x| x.name == name && x.rtype == rtype)
                .map(|x| normalize(rtype, &x.value))
                .collect();
            if !here.is_empty() || rtype == "CNAME" {
                r.values = here;
                return r;
            }
            let Some(next) = records
                .iter()
                .find(|x| x.name == name && x.rtype == "CNAME")
                .map(|x| x.value.clone())
            else {
                return r;
            };
            if r.chain.contains(&next) {
                return r;
            }
            r.chain.push(next.clone());
            name = next;
            if !records.iter().any(|x| x.name == name) {
                // The server did not finish the chain: the scan asked.
                let asked = self
                    .fact(addr(first), DnsCheck::CnameTarget, &name, rtype)
                    .or_else(|| self.fact(addr(first), DnsCheck::CnameTarget, &name, "A"));
                let Some(asked) = asked else { return r };
                r.last = asked;
                r.lines.push(asked);
                records = asked.answers.iter().collect();
            }
        }
        r
    }

    fn evidence(&self, lines: &[&DnsFact]) -> String {
        lines.iter().map(|f| describe(f, self.file(f))).collect::<Vec<_>>().join("; ")
    }

    fn finding(
        &self,
        rule: Rule,
        severity: Severity,
        server: SocketAddr,
        transport: WireProto,
        location: SpecLocation,
    ) -> Finding {
        Finding {
            rule,
            severity,
            vantage: Some(self.intent.vantages[self.v.id.0].name.clone()),
            target: Some(server.ip().to_string()),
            host: self.addresses.host_name(server.ip()),
            port: Some(server.port()),
            proto: Some(doc_proto(proto(transport))),
            expected: String::new(),
            observed: String::new(),
            evidence: String::new(),
            waived: None,
            location,
        }
    }

    /// Whether `server` answered `e`'s question as one that serves the
    /// name: authoritatively, or NOERROR/NXDOMAIN (a resolver's answer).
    fn serves(&self, e: &DnsExpect, server: SocketAddr) -> bool {
        self.fact(server, DnsCheck::Expect, &e.name, &e.rtype).is_some_and(|f| {
            f.authoritative || matches!(f.rcode.as_deref(), Some("NOERROR" | "NXDOMAIN"))
        })
    }

    /// The answer to the wildcard question asked beside `name` of type
    /// `rtype` on `server` (a random sibling name), when it resolved.
    fn wildcard(&self, server: SocketAddr, name: &str, rtype: &str) -> Option<&'a DnsFact> {
        let parent = name.split_once('.').map_or(name, |(_, rest)| rest);
        self.v.dns.values().map(|(f, _)| *f).find(|f| {
            addr(f) == server
                && f.check == DnsCheck::Wildcard
                && f.rtype == rtype
                && f.name.split_once('.').is_some_and(|(_, p)| p == parent)
                && !f.answers.is_empty()
        })
    }

    /// `dns-mismatch` or `dns-leak` for one entry and one server.
    fn expectation(&self, e: &DnsExpect, server: SocketAddr) -> Option<Finding> {
        let types: Vec<&str> = if e.absent && !e.type_given {
            // An `absent` entry without a type is asked as A and AAAA.
            vec!["A", "AAAA"]
        } else {
            vec![e.rtype.as_str()]
        };
        let at = SpecLocation::from(&e.at);
        if e.absent {
            for t in types {
                let Some(first) = self.fact(server, DnsCheck::Expect, &e.name, t) else { continue };
                let r = self.resolve(first, t);
                let found: Vec<&DnsRecord> = r.lines.iter().flat_map(|f| &f.answers).collect();
                if found.is_empty() {
                    continue;
                }
                // A wildcard answers every name: the same data for a random
                // sibling is the wildcard, not a leak of this name.
                if let Some(w) = self.wildcard(server, &e.name, t) {
                    let values = |rs: &[DnsRecord]| -> BTreeSet<String> {
                        rs.iter().filter(|x| x.rtype == t).map(|x| normalize(t, &x.value)).collect()
                    };
                    if values(&w.answers) == r.values {
                        continue;
                    }
                }
                let shown: Vec<String> = found
                    .iter()
                    .take(LISTED)
                    .map(|x| format!("{} {} {}", x.name, x.rtype, x.value))
                    .collect();
                return Some(Finding {
                    expected: format!("{} does not resolve from here (absent: true)", e.name),
                    observed: format!("resolves: {}", shown.join(", ")),
                    evidence: self.evidence(&r.lines),
                    ..self.finding(Rule::DnsLeak, Severity::High, server, first.transport, at)
                });
            }
            return None;
        }
        let t = types[0];
        let first = self.fact(server, DnsCheck::Expect, &e.name, t)?;
        let want: BTreeSet<String> = e.values.iter().map(|x| normalize(t, x)).collect();
        let r = self.resolve(first, t);
        let observed = match r.last.rcode.as_deref() {
            None => format!("no answer: {}", r.last.error.as_deref().unwrap_or("none")),
            Some("NOERROR") if r.values == want => return None,
            Some("NOERROR") if r.values.is_empty() => "no record of that type (NODATA)".to_owned(),
            Some("NOERROR") => r.values.iter().cloned().collect::<Vec<_>>().join(", "),
            Some(rcode) => rcode.to_owned(),
        };
        let chain = if r.chain.len() > 1 {
            format!(" via {}", r.chain.join(" -> "))
        } else {
            String::new()
        };
        Some(Finding {
            expected: format!(
                "{} {t} = {}",
                e.name,
                want.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            observed: format!("{observed}{chain}"),
            evidence: self.evidence(&r.lines),
            ..self.finding(Rule::DnsMismatch, Severity::Medium, server, first.transport, at)
        })
    }

    fn transfers(&self, at: &SpecLocation) -> Vec<Finding> {
        self.v
            .dns
            .values()
            .map(|(f, _)| *f)
            .filter(|f| f.check == DnsCheck::Axfr && f.rcode.as_deref() == Some("NOERROR"))
            .filter(|f| f.records > 0)
            .map(|f| {
                let whole = if f.complete { "the whole zone" } else { "part of the zone" };
                Finding {
                    expected: format!("no zone transfer of {} (forbid: zone-transfer)", f.name),
                    observed: format!(
                        "AXFR of {} returned {} records ({whole}){}",
                        f.name,
                        f.records,
                        discovered(f)
                    ),
                    evidence: self.evidence(&[f]),
                    ..self.finding(Rule::DnsAxfr, Severity::High, addr(f), f.transport, at.clone())
                }
            })
            .collect()
    }

    fn recursion(&self, at: &SpecLocation) -> Vec<Finding> {
        self.v
            .dns
            .values()
            .map(|(f, _)| *f)
            .filter(|f| f.check == DnsCheck::Recursion && f.rcode.as_deref() == Some("NOERROR"))
            .filter(|f| f.recursion_available && !f.authoritative && !f.answers.is_empty())
            .map(|f| Finding {
                expected: "no recursion for outsiders (forbid: open-recursion)".to_owned(),
                observed: format!(
                    "recursed for {}: {}{}",
                    f.name,
                    f.answers
                        .iter()
                        .take(LISTED)
                        .map(|x| format!("{} {}", x.rtype, x.value))
                        .collect::<Vec<_>>()
                        .join(", "),
                    discovered(f)
                ),
                evidence: self.evidence(&[f]),
                ..self.finding(
                    Rule::DnsOpenRecursion,
                    Severity::High,
                    addr(f),
                    f.transport,
                    at.clone(),
                )
            })
            .collect()
    }

    fn dangling(&self, at: &SpecLocation) -> Vec<Finding> {
        // Every CNAME seen, once per (server, owner).
        let mut cnames: BTreeMap<(SocketAddr, String), (String, &'a DnsFact)> = BTreeMap::new();
        for (f, _) in self.v.dns.values() {
            for x in f.answers.iter().filter(|x| x.rtype == "CNAME") {
                cnames.entry((addr(f), x.name.clone())).or_insert((x.value.clone(), f));
            }
        }
        let mut out = Vec::new();
        for ((server, owner), (target, seen)) in cnames {
            let asked = self
                .fact(server, DnsCheck::CnameTarget, &target, "A")
                .into_iter()
                .chain(self.v.dns.values().map(|(f, _)| *f).filter(|f| {
                    addr(f) == server && f.name == target && f.check == DnsCheck::CnameTarget
                }))
                .find(|f| f.rcode.is_some());
            let Some(asked) = asked.filter(|f| f.rcode.as_deref() == Some("NXDOMAIN")) else {
                continue;
            };
            out.push(Finding {
                expected: "every CNAME target resolves (forbid: dangling-cname)".to_owned(),
                observed: format!("{owner} CNAME {target}, and {target} is NXDOMAIN"),
                evidence: self.evidence(&[seen, asked]),
                ..self.finding(
                    Rule::DnsDanglingCname,
                    Severity::High,
                    server,
                    asked.transport,
                    at.clone(),
                )
            });
        }
        out
    }
}

/// The server a line asked, with its port.
fn addr(f: &DnsFact) -> SocketAddr {
    SocketAddr::new(f.server, f.port)
}

fn discovered(f: &DnsFact) -> &'static str {
    if f.discovered { " on a server the port scan discovered" } else { "" }
}

/// One question and its answer, as evidence: `asked 198.18.1.53 www.corp.test
/// A (RD) over udp: NOERROR AA, 1 record: www.corp.test A 198.18.1.10; 1
/// attempt, 0.8 ms, at T (file)`.
fn describe(f: &DnsFact, file: &str) -> String {
    let proto = match f.transport {
        WireProto::Tcp => "tcp",
        WireProto::Udp => "udp",
    };
    let rd = if f.recursion_desired { " (RD)" } else { "" };
    let answer = match &f.rcode {
        None => format!("no answer ({})", f.error.as_deref().unwrap_or("none")),
        Some(rcode) => {
            let mut flags = String::new();
            if f.authoritative {
                flags.push_str(" AA");
            }
            if f.recursion_available {
                flags.push_str(" RA");
            }
            let records: Vec<String> = f
                .answers
                .iter()
                .take(LISTED)
                .map(|x| format!("{} {} {}", x.name, x.rtype, x.value))
                .collect();
            let more = f.records.saturating_sub(records.len() as u64);
            format!(
                "{rcode}{flags}, {} record{}{}{}",
                f.records,
                if f.records == 1 { "" } else { "s" },
                if records.is_empty() {
                    String::new()
                } else {
                    format!(": {}", records.join(", "))
                },
                if more > 0 { format!(" and {more} more") } else { String::new() },
            )
        }
    };
    let rtt = f.rtt_us.map(|us| format!(", {:.1} ms", us as f64 / 1000.0)).unwrap_or_default();
    format!(
        "asked {}{} {} {}{rd} over {proto}: {answer}; {} attempt{}{rtt}, at {} ({file})",
        f.server,
        if f.port == 53 { String::new() } else { format!(":{}", f.port) },
        f.name,
        f.rtype,
        f.attempts,
        if f.attempts == 1 { "" } else { "s" },
        f.at
    )
}

/// A value in a comparable form: addresses parsed, names lower case
/// without the final dot, TXT strings unquoted and joined.
fn normalize(rtype: &str, value: &str) -> String {
    let value = value.trim();
    match rtype {
        "A" | "AAAA" => {
            value.parse::<IpAddr>().map_or_else(|_| value.to_owned(), |a| a.to_string())
        }
        "TXT" => {
            if value.starts_with('"') {
                // `"a" "b"`: the strings, joined.
                value.split('"').skip(1).step_by(2).collect::<String>()
            } else {
                value.to_owned()
            }
        }
        _ => value
            .split_whitespace()
            .map(|w| w.trim_end_matches('.').to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

#[cfg(test)]
mod tests;
