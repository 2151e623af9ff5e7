//! The DNS step of a scan (issue 6): what to ask of which server from this
//! vantage, asked through `probe::dns`, each question and transfer written
//! as a `dns` line. The judgement is `verdict`'s; this step only gathers
//! the evidence.
//!
//! For every server of `dns.servers` the scope guard admits (a server
//! outside every probe-able zone, or excluded with `--exclude`, is never
//! asked, and the report says so):
//! - every `dns.expect` entry that applies from this vantage (no `from`,
//!   or `from` naming it) is asked with RD set (`A` and `AAAA` for an
//!   `absent` entry without a type), and a CNAME chain the server left
//!   unfinished is followed, each hop a `cname-target` line; beside an
//!   `absent` entry, a random name under its parent tells a wildcard
//!   (`wildcard` lines);
//! - with `zone-transfer` forbidden: the zone apex of every expectation's
//!   name and every host's name (SOA questions, `apex`), then an AXFR of
//!   each apex found (`axfr`);
//! - with `open-recursion` forbidden: `dns.recursion_name` with RD set
//!   (`recursion`);
//! - with `dangling-cname` forbidden: every CNAME target seen in the
//!   answers and transfers that no question asked yet (`cname-target`).
//!
//! Servers the port scan found with TCP or UDP 53 open that the spec does
//! not list get the transfer, recursion and dangling checks too, with
//! `discovered: true`. With `--shard K/N`, the listed servers are asked by
//! shard 0 only (every shard would ask the same questions), and each shard
//! asks the servers it discovered.
//!
//! Bounded: at most [`MAX_QUESTIONS`] questions and transfers in all (the
//! report says when the cap cut the step, and the trailer is then not
//! complete), four servers at a time, `probe::dns::Limits::per_server`
//! questions to one server at a time. Cancellation drops every question
//! in flight (their sockets close) and the report says the step was cut.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::dns::chain::{self, MAX_CHAIN};
use crate::dns::{Name, Question, RecordType};
use crate::observe::{DnsCheck, DnsFact, Record};
use crate::plan::{Exclusions, ScopeGuard};
use crate::probe::dns::{Ask, Limits, Prober};
use crate::spec::Intent;
use crate::spec::intent::{DnsExpect, DnsForbid, VantageId};

/// The most questions and transfers one scan's DNS step makes.
pub const MAX_QUESTIONS: u64 = 10_000;

/// The most CNAME targets one server's dangling check asks.
const MAX_DANGLING: usize = 1_000;

/// Servers worked on at once.
const SERVERS_PARALLEL: usize = 4;

/// What the DNS step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsReport {
    /// `dns` lines written.
    pub written: u64,
    /// Listed servers not asked because the scope guard refuses them
    /// (outside every probe-able zone, or excluded).
    pub out_of_scope: Vec<SocketAddr>,
    /// Servers found by the port scan (53 open) and asked.
    pub discovered: Vec<SocketAddr>,
    /// [`MAX_QUESTIONS`] cut the step short.
    pub capped: bool,
    /// The step was stopped (cancelled, or the writer failed) before it
    /// finished.
    pub cut: bool,
}

/// What to ask: the spec's DNS section seen from one vantage.
#[derive(Debug, Clone)]
pub struct Work<'a> {
    /// The spec.
    pub intent: &'a Intent,
    /// The vantage asking (`None`: only entries without `from` apply).
    pub vantage: Option<VantageId>,
    /// Ask the servers `dns.servers` lists (shard 0 does).
    pub listed: bool,
    /// Servers the port scan found (TCP or UDP 53 open); those the spec
    /// does not list are asked as discovered.
    pub open_53: Vec<SocketAddr>,
    /// Addresses never to ask (`--exclude`), whatever the spec lists.
    pub exclusions: &'a Exclusions,
}

/// Runs the DNS step, writing every line to `records`.
///
/// # Cancel safety
///
/// Not meant to be dropped: it watches `cancel` itself and returns what it
/// did so far.
pub async fn run(
    work: Work<'_>,
    limits: Limits,
    records: &mpsc::Sender<Record>,
    cancel: &CancellationToken,
) -> DnsReport {
    let dns = &work.intent.dns;
    let scope = ScopeGuard::new(work.intent).excluding(work.exclusions);
    let mut report = DnsReport::default();
    let mut servers: Vec<(SocketAddr, bool)> = Vec::new();
    if work.listed {
        for s in &dns.servers {
            if scope.admit(s.addr.ip(), None, None).is_some() {
                servers.push((s.addr, false));
            } else {
                tracing::info!(server = %s.addr, "DNS server outside the scope: not asked");
                report.out_of_scope.push(s.addr);
            }
        }
    }
    let checks_for_discovered = !dns.forbid.is_empty();
    let mut open_53 = work.open_53.clone();
    open_53.sort_unstable();
    open_53.dedup();
    for addr in open_53 {
        let listed = dns.servers.iter().any(|s| s.addr == addr);
        // Found by the engine, so admitted already; checked again anyway.
        if !listed && checks_for_discovered && scope.admit(addr.ip(), None, None).is_some() {
            servers.push((addr, true));
            report.discovered.push(addr);
        }
    }
    if servers.is_empty() {
        return report;
    }
    let step = Step {
        work: &work,
        per_server: limits.per_server.max(1),
        prober: Prober::new(limits),
        records,
        budget: AtomicU64::new(0),
        capped: AtomicBool::new(false),
        failed: AtomicBool::new(false),
        written: AtomicU64::new(0),
    };
    let all = futures_util::stream::iter(servers.iter().map(|&(addr, discovered)| {
        let step = &step;
        async move {
            tracing::debug!(server = %addr, discovered, "DNS server: asking");
            step.server(addr, discovered).await;
            tracing::debug!(server = %addr, "DNS server: done");
        }
    }))
    .buffer_unordered(SERVERS_PARALLEL)
    .for_each(|()| async {});
    let finished = tokio::select! {
        () = cancel.cancelled() => false,
        () = all => true,
    };
    report.written = step.written.load(Ordering::Relaxed);
    report.capped = step.capped.load(Ordering::Relaxed);
    report.cut = !finished || step.failed.load(Ordering::Relaxed);
    report
}

/// The state shared by every server's work.
struct Step<'a, 'w> {
    work: &'a Work<'w>,
    /// Questions queued per server (the prober holds the real cap).
    per_server: usize,
    prober: Prober,
    records: &'a mpsc::Sender<Record>,
    budget: AtomicU64,
    capped: AtomicBool,
    failed: AtomicBool,
    written: AtomicU64,
}

/// What one server has been asked, so nothing is asked twice.
#[derive(Default)]
struct Asked {
    names: HashSet<(Name, RecordType)>,
    cnames: Vec<Name>,
}

impl Step<'_, '_> {
    /// Takes one question from the budget; `false` when it is spent (or
    /// the writer failed), and nothing more should be asked.
    fn take(&self) -> bool {
        if self.failed.load(Ordering::Relaxed) {
            return false;
        }
        if self.budget.fetch_add(1, Ordering::Relaxed) >= MAX_QUESTIONS {
            self.capped.store(true, Ordering::Relaxed);
            return false;
        }
        true
    }

    async fn emit(&self, fact: DnsFact) {
        if self.records.send(Record::Dns(fact)).await.is_ok() {
            self.written.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failed.store(true, Ordering::Relaxed);
        }
    }

    /// Asks `question` for `check` unless the budget is spent; writes the
    /// line and gives back the answer.
    async fn ask(
        &self,
        server: SocketAddr,
        check: DnsCheck,
        question: Question,
        discovered: bool,
    ) -> Option<Box<crate::dns::Message>> {
        if !self.take() {
            return None;
        }
        let asked = self.prober.ask(&Ask { server, check, question, discovered }).await;
        self.emit(asked.fact).await;
        asked.answer
    }

    /// Everything asked of one server.
    async fn server(&self, server: SocketAddr, discovered: bool) {
        let dns = &self.work.intent.dns;
        let asked = Mutex::new(Asked::default());
        if !discovered {
            let expects: Vec<(&DnsExpect, RecordType)> = dns
                .expect
                .iter()
                .filter(|e| {
                    e.from.is_empty() || self.work.vantage.is_some_and(|v| e.from.contains(&v))
                })
                .flat_map(|e| types(e).into_iter().map(move |t| (e, t)))
                .collect();
            let per_server = self.per_server;
            futures_util::stream::iter(
                expects.iter().map(|&(e, t)| self.expect(server, e, t, &asked)),
            )
            .buffer_unordered(per_server)
            .for_each(|()| async {})
            .await;
        }
        if dns.forbid.contains(&DnsForbid::ZoneTransfer) {
            self.transfers(server, discovered, &asked).await;
        }
        if dns.forbid.contains(&DnsForbid::OpenRecursion)
            && let Ok(q) = Question::new(&dns.recursion_name, RecordType::A, true)
        {
            self.ask(server, DnsCheck::Recursion, q, discovered).await;
        }
        if dns.forbid.contains(&DnsForbid::DanglingCname) {
            let targets: Vec<Name> = {
                let a = asked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                a.cnames
                    .iter()
                    .filter(|t| !a.names.iter().any(|(n, _)| n == *t))
                    .take(MAX_DANGLING)
                    .cloned()
                    .collect()
            };
            let per_server = self.per_server;
            futures_util::stream::iter(targets.into_iter().filter_map(|t| {
                let q = Question::from_name(t, RecordType::A, true).ok()?;
                Some(self.ask(server, DnsCheck::CnameTarget, q, discovered))
            }))
            .buffer_unordered(per_server)
            .for_each(|_| async {})
            .await;
        }
    }

    /// One expectation of one type: its question, the chain the server
    /// left unfinished, and for an absent name the wildcard question.
    async fn expect(&self, server: SocketAddr, e: &DnsExpect, t: RecordType, asked: &Mutex<Asked>) {
        let Ok(q) = Question::new(&e.name, t, true) else { return };
        let note = |q: &Question, m: Option<&crate::dns::Message>| {
            let mut a = asked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            a.names.insert((q.name().clone(), q.rtype()));
            if let Some(m) = m {
                for target in chain::targets(&m.answers, MAX_DANGLING) {
                    if !a.cnames.contains(&target) && a.cnames.len() < MAX_DANGLING {
                        a.cnames.push(target);
                    }
                }
            }
        };
        let mut answer = self.ask(server, DnsCheck::Expect, q.clone(), false).await;
        note(&q, answer.as_deref());
        // The chain across questions: every hop counted, no name twice.
        let mut current = q.clone();
        let mut hops = 0;
        let mut seen: Vec<Name> = vec![q.name().clone()];
        while let Some(m) = &answer {
            hops += chain::follow(current.name(), t, &m.answers).targets.len();
            let Some(next) = chain::next_to_ask(m, current.name(), t) else { break };
            if hops > MAX_CHAIN || seen.contains(&next) {
                break;
            }
            seen.push(next.clone());
            let Ok(hop) = Question::from_name(next, t, true) else { break };
            answer = self.ask(server, DnsCheck::CnameTarget, hop.clone(), false).await;
            note(&hop, answer.as_deref());
            current = hop;
        }
        if e.absent
            && let Some(probe) = wildcard_probe(&e.name)
            && let Ok(q) = Question::new(&probe, t, true)
        {
            self.ask(server, DnsCheck::Wildcard, q, false).await;
        }
    }

    /// The apexes of the spec's names on `server`, then a transfer of each.
    async fn transfers(&self, server: SocketAddr, discovered: bool, asked: &Mutex<Asked>) {
        let intent = self.work.intent;
        let mut names: Vec<&str> = intent
            .dns
            .expect
            .iter()
            .map(|e| e.name.as_str())
            .chain(intent.hosts.iter().flat_map(|h| h.names.iter().map(String::as_str)))
            .collect();
        // Shorter names first: an apex found for `example.test` spares
        // the SOA question of every name under it.
        names.sort_by_key(|n| (n.split('.').count(), *n));
        names.dedup();
        let mut apexes: Vec<Name> = Vec::new();
        for name in names {
            let Ok(q) = Question::new(name, RecordType::SOA, false) else { continue };
            if apexes.iter().any(|a| a.zone_of(q.name())) {
                continue;
            }
            let answer = self.ask(server, DnsCheck::Apex, q.clone(), discovered).await;
            let Some(m) = answer else { continue };
            if let Some(apex) = crate::dns::reply::apex(&m, &q)
                && !apex.is_root()
                && !apexes.contains(apex)
            {
                apexes.push(apex.clone());
            }
        }
        for apex in apexes {
            if !self.take() {
                return;
            }
            let Ok(zone) = Question::from_name(apex, RecordType::AXFR, false) else { continue };
            let t = self.prober.transfer(server, &zone, discovered).await;
            self.emit(t.fact).await;
            let mut a = asked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for target in t.cnames {
                if !a.cnames.contains(&target) && a.cnames.len() < MAX_DANGLING {
                    a.cnames.push(target);
                }
            }
        }
    }
}

/// The types an expectation is asked as: its type, or A and AAAA for an
/// `absent` one that names none.
fn types(e: &DnsExpect) -> Vec<RecordType> {
    if e.absent && !e.type_given {
        return vec![RecordType::A, RecordType::AAAA];
    }
    match e.rtype.parse::<RecordType>() {
        Ok(t) => vec![t],
        Err(_) => Vec::new(),
    }
}

/// A name that should not exist beside `name`: a random label under its
/// parent (`name` itself for a one-label name). `None` when it would be
/// too long.
fn wildcard_probe(name: &str) -> Option<String> {
    let parent = name.split_once('.').map_or(name, |(_, rest)| rest);
    let label = format!("vantage-wildcard-{:016x}", rand::random::<u64>());
    let probe = format!("{label}.{parent}");
    (probe.len() <= crate::dns::question::MAX_NAME).then_some(probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_probes_sit_beside_the_name() {
        let p = wildcard_probe("db.internal.example.test").expect("fits");
        assert!(p.starts_with("vantage-wildcard-") && p.ends_with(".internal.example.test"), "{p}");
        assert_ne!(wildcard_probe("db.example.test"), wildcard_probe("db.example.test"));
        assert!(wildcard_probe(&format!("a.{}", "b".repeat(240))).is_none());
    }
}
