//! Merging observation files: refuse a set that does not belong together,
//! then gather each vantage's facts in one ordered map.
//!
//! A set is refused (exit 2) when a file names a vantage the spec does not
//! declare, was made from another spec (digest), when the files of one
//! vantage disagree on shard count, seed, scan mode, tool version or
//! exclusions (`--exclude`: shards of other plans do not add up), or when
//! two of them are the same shard (a shard run twice, or a file given
//! twice: which run to trust is the operator's call, not the merge's); so
//! is an absent vantage (`Absent`) the spec does not declare or a file is
//! from. A missing shard is not refused: it is a `scan-incomplete` finding,
//! so what was observed is still judged; so is an absent vantage.
//!
//! So each port of a vantage's plan is in one file: the shards of one plan
//! are disjoint. The merge still does not depend on it: should the same
//! (vantage, target, proto, port) appear twice (twice in one file, or in
//! files that were not written by one plan's shards, such as files edited
//! by hand), it keeps the strongest state, open > closed > filtered >
//! open|filtered, because one answer proves a port open while filtered
//! needs every attempt silent; ties keep the earlier observation (by time,
//! then file order). Every other sighting is kept for the evidence. A TLS
//! endpoint with two lines keeps the probe that learnt the most (finished >
//! cut short > no TLS answer), then the latest.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::observe::{
    DnsCheck, DnsFact, FilteredSummary, PortFact, PortState, Proto as WireProto, ScanMode, TlsFact,
};
use crate::spec::Intent;
use crate::spec::intent::{Proto, VantageId};
use crate::spec::ports::PortSet;

use super::{Absent, Source};

/// Why a set of observation files was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerdictError {
    /// No file was given.
    #[error("no observation file was given")]
    NoObservations,
    /// The input's fault: a file names a vantage the spec does not declare.
    #[error("{file}: vantage `{vantage}` is not declared in the spec (it declares: {known})")]
    UnknownVantage {
        /// The file.
        file: String,
        /// The vantage it names.
        vantage: String,
        /// The spec's vantages, comma-separated.
        known: String,
    },
    /// The input's fault: the file was made from another version of the spec.
    #[error(
        "{file}: made from another spec (digest {found}, the spec given has {expected}); scan again with this spec"
    )]
    SpecMismatch {
        /// The file.
        file: String,
        /// Its `spec_digest`.
        found: String,
        /// The loaded spec's digest.
        expected: String,
    },
    /// The input's fault: two files of one vantage disagree on a field that
    /// shards of one scan share.
    #[error(
        "{} and {} are both from vantage `{vantage}` but disagree on {field} ({} vs {}): they are not shards of one scan",
        files[0].0, files[1].0, files[0].1, files[1].1
    )]
    Mixed {
        /// The vantage.
        vantage: String,
        /// The header field.
        field: &'static str,
        /// The two files, each with its value of the field.
        files: Box<[(String, String); 2]>,
    },
    /// The input's fault: two files of one vantage are the same shard (the
    /// same K of the same N): a shard run twice, or one file given twice.
    /// Merging them would take one shard's two runs for one, hiding which
    /// of them a finding came from, so the set is refused instead.
    #[error("{}", overlapping(.vantage, .shard, .files))]
    OverlappingShards {
        /// The vantage.
        vantage: String,
        /// The shard both files are, `K/N`.
        shard: String,
        /// The two files, in the order given.
        files: Box<[String; 2]>,
    },
    /// The input's fault: a vantage said to have no observations (an agent
    /// that could not be reached, a file not given) is not declared in the
    /// spec.
    #[error("vantage `{vantage}` is not declared in the spec (it declares: {known})")]
    UnknownAbsent {
        /// The vantage named.
        vantage: String,
        /// The spec's vantages, comma-separated.
        known: String,
    },
    /// The input's fault: a vantage said to have no observations has a file.
    #[error("vantage `{vantage}` is said to have no observations, but {file} is from it")]
    AbsentObserved {
        /// The vantage.
        vantage: String,
        /// One of its files.
        file: String,
    },
    /// The input's fault: `compare` was given scans from two vantages.
    #[error(
        "{old} is from vantage `{old_vantage}` and {new} from `{new_vantage}`: compare scans from one vantage"
    )]
    DifferentVantages {
        /// The older file.
        old: String,
        /// Its vantage.
        old_vantage: String,
        /// The newer file.
        new: String,
        /// Its vantage.
        new_vantage: String,
    },
}

fn overlapping(vantage: &str, shard: &str, files: &[String; 2]) -> String {
    let [a, b] = files;
    let what = if a == b {
        format!("{a} was given twice (shard {shard} of vantage `{vantage}`)")
    } else {
        format!("{a} and {b} are both shard {shard} of vantage `{vantage}`")
    };
    format!("{what}: give each shard once (keep one run of a shard that was run twice)")
}

/// One sighting of a port.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sighting<'a> {
    pub(crate) state: PortState,
    pub(crate) fact: Option<&'a PortFact>,
    pub(crate) summary: Option<&'a FilteredSummary>,
    /// Index into the sources.
    pub(crate) source: usize,
}

/// What is known about one port from one vantage.
#[derive(Debug, Clone)]
pub(crate) struct PortObs<'a> {
    /// The sighting that decided the state.
    pub(crate) best: Sighting<'a>,
    /// Every other sighting, in the order seen.
    pub(crate) others: Vec<Sighting<'a>>,
}

/// A `filtered` line, with its ports parsed.
#[derive(Debug, Clone)]
pub(crate) struct Silent<'a> {
    pub(crate) proto: Proto,
    pub(crate) ports: PortSet,
    pub(crate) summary: &'a FilteredSummary,
    pub(crate) source: usize,
}

/// Everything one vantage observed.
#[derive(Debug, Clone)]
pub(crate) struct VantageObs<'a> {
    pub(crate) id: VantageId,
    /// Indices of its files, in the order given.
    pub(crate) files: Vec<usize>,
    /// How its TCP ports were probed.
    pub(crate) mode: ScanMode,
    /// Port facts, ordered by address, protocol and port.
    pub(crate) ports: BTreeMap<(IpAddr, Proto, u16), PortObs<'a>>,
    /// Aggregated silent ports, per address.
    pub(crate) silent: BTreeMap<IpAddr, Vec<Silent<'a>>>,
    /// TLS facts, per (address, port): the one that learnt the most (see
    /// `tls_rank`), then the latest, with the index of its source.
    pub(crate) tls: BTreeMap<(IpAddr, u16), (&'a TlsFact, usize)>,
    /// DNS answers, per (server, check, name, type): the one that got an
    /// answer, then the latest, with the index of its source.
    pub(crate) dns: BTreeMap<DnsKey, (&'a DnsFact, usize)>,
}

/// What identifies a DNS question: (server and port, check, name, type).
pub(crate) type DnsKey = (std::net::SocketAddr, DnsCheck, String, String);

/// The question a `dns` line answers.
pub(crate) fn dns_key(f: &DnsFact) -> DnsKey {
    (std::net::SocketAddr::new(f.server, f.port), f.check, f.name.clone(), f.rtype.clone())
}

/// Higher is the line that decides a question asked twice: one answered
/// over one without an answer, then the latest.
pub(crate) fn dns_rank(f: &DnsFact) -> (bool, &str) {
    (f.rcode.is_some(), f.at.as_str())
}

/// The observations of every vantage, ordered by vantage name.
#[derive(Debug, Clone)]
pub(crate) struct Merged<'a> {
    pub(crate) vantages: Vec<VantageObs<'a>>,
    /// The vantages expected but without observations, ordered by name,
    /// each once, with every distinct reason given for it.
    pub(crate) absent: Vec<(VantageId, Vec<&'a str>)>,
}

pub(crate) fn proto(p: WireProto) -> Proto {
    match p {
        WireProto::Tcp => Proto::Tcp,
        WireProto::Udp => Proto::Udp,
    }
}

/// Higher is stronger evidence of an answer (one SYN-ACK proves open).
pub(super) fn rank(s: PortState) -> u8 {
    match s {
        PortState::Open => 3,
        PortState::Closed => 2,
        PortState::Filtered => 1,
        PortState::OpenFiltered => 0,
    }
}

/// Higher is a TLS probe that learnt more: one that finished, over one
/// that was cut short, over one that got no TLS answer at all (of two
/// lines for one endpoint, the probe that got answers decides, not the
/// one that timed out), then the latest.
pub(super) fn tls_rank(f: &TlsFact) -> (u8, &str) {
    let learnt = match (f.speaks_tls || f.plaintext.is_some(), f.error.is_none()) {
        (true, true) => 2,
        (true, false) => 1,
        (false, _) => 0,
    };
    (learnt, f.at.as_str())
}

/// Whether sighting `a` replaces `b` as the deciding one.
fn beats(a: &Sighting<'_>, b: &Sighting<'_>) -> bool {
    fn at<'s>(s: &Sighting<'s>) -> Option<&'s str> {
        s.fact.map(|f| f.at.as_str())
    }
    (rank(a.state), Reverse(at(a)), Reverse(a.source))
        > (rank(b.state), Reverse(at(b)), Reverse(b.source))
}

pub(crate) fn merge<'a>(
    intent: &Intent,
    sources: &[Source<'a>],
    absent: &[Absent<'a>],
    spec_digest: Option<&str>,
) -> Result<Merged<'a>, VerdictError> {
    let Some(first) = sources.first() else {
        if absent.is_empty() {
            return Err(VerdictError::NoObservations);
        }
        return Ok(Merged {
            vantages: Vec::new(),
            absent: absent_vantages(intent, sources, absent)?,
        });
    };
    let first_digest = &first.file.header.spec_digest;
    let mut by_vantage: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in sources.iter().enumerate() {
        let h = &s.file.header;
        let expected = spec_digest.unwrap_or(first_digest);
        if h.spec_digest != expected {
            return Err(VerdictError::SpecMismatch {
                file: s.name.to_owned(),
                found: h.spec_digest.clone(),
                expected: expected.to_owned(),
            });
        }
        if intent.vantage(&h.vantage).is_none() {
            return Err(VerdictError::UnknownVantage {
                file: s.name.to_owned(),
                vantage: h.vantage.clone(),
                known: known(intent),
            });
        }
        by_vantage.entry(h.vantage.as_str()).or_default().push(i);
    }
    let mut vantages = Vec::new();
    for (name, files) in by_vantage {
        // Every list got its first file when the vantage was entered.
        let first = &sources[files[0]];
        for &j in &files[1..] {
            let other = &sources[j];
            let (a, b) = (&first.file.header, &other.file.header);
            let excluded = |h: &crate::observe::Header| {
                h.excluded.as_ref().map_or_else(|| "none".to_owned(), |x| x.digest.clone())
            };
            let fields: [(&'static str, String, String); 5] = [
                ("shard_count", a.shard_count.to_string(), b.shard_count.to_string()),
                ("seed", a.seed.to_string(), b.seed.to_string()),
                ("mode", format!("{:?}", a.mode), format!("{:?}", b.mode)),
                ("version", a.version.clone(), b.version.clone()),
                ("exclusions", excluded(a), excluded(b)),
            ];
            if let Some((field, a, b)) = fields.into_iter().find(|(_, a, b)| a != b) {
                return Err(VerdictError::Mixed {
                    vantage: name.to_owned(),
                    field,
                    files: Box::new([(first.name.to_owned(), a), (other.name.to_owned(), b)]),
                });
            }
        }
        // The counts agree (checked above), so one index is one shard.
        let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
        for &j in &files {
            let h = &sources[j].file.header;
            if let Some(&i) = seen.get(&h.shard_index) {
                return Err(VerdictError::OverlappingShards {
                    vantage: name.to_owned(),
                    shard: format!("{}/{}", h.shard_index, h.shard_count),
                    files: Box::new([sources[i].name.to_owned(), sources[j].name.to_owned()]),
                });
            }
            seen.insert(h.shard_index, j);
        }
        // Checked above: every file's vantage is declared.
        let Some(id) = intent.vantage(name) else { continue };
        let mut ports: BTreeMap<(IpAddr, Proto, u16), PortObs<'a>> = BTreeMap::new();
        let mut silent: BTreeMap<IpAddr, Vec<Silent<'a>>> = BTreeMap::new();
        let mut tls: BTreeMap<(IpAddr, u16), (&'a TlsFact, usize)> = BTreeMap::new();
        let mut dns: BTreeMap<DnsKey, (&'a DnsFact, usize)> = BTreeMap::new();
        for &i in &files {
            let file = sources[i].file;
            for fact in &file.dns {
                let slot = dns.entry(dns_key(fact)).or_insert((fact, i));
                if dns_rank(fact) > dns_rank(slot.0) {
                    *slot = (fact, i);
                }
            }
            for fact in &file.tls {
                let slot = tls.entry((fact.target, fact.port)).or_insert((fact, i));
                if tls_rank(fact) > tls_rank(slot.0) {
                    *slot = (fact, i);
                }
            }
            for fact in &file.facts {
                let seen =
                    Sighting { state: fact.state, fact: Some(fact), summary: None, source: i };
                add(&mut ports, (fact.target, proto(fact.proto), fact.port), seen);
            }
            for summary in &file.filtered {
                // Every line the reader returns parses; one that does not
                // (a file built in memory) carries no usable ports.
                let Ok(set) = summary.port_set() else { continue };
                silent.entry(summary.target).or_default().push(Silent {
                    proto: proto(summary.proto),
                    ports: set,
                    summary,
                    source: i,
                });
            }
        }
        vantages.push(VantageObs {
            id,
            mode: first.file.header.mode,
            files,
            ports,
            silent,
            tls,
            dns,
        });
    }
    Ok(Merged { vantages, absent: absent_vantages(intent, sources, absent)? })
}

/// The spec's vantages, comma-separated, for an error message.
fn known(intent: &Intent) -> String {
    let known: Vec<&str> = intent.vantages.iter().map(|v| v.name.as_str()).collect();
    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
}

/// The absent vantages, each once and in name order: refused when one is
/// not declared, or when a file says it was observed after all.
fn absent_vantages<'a>(
    intent: &Intent,
    sources: &[Source<'a>],
    absent: &[Absent<'a>],
) -> Result<Vec<(VantageId, Vec<&'a str>)>, VerdictError> {
    let mut out: BTreeMap<&str, (VantageId, Vec<&'a str>)> = BTreeMap::new();
    for a in absent {
        let Some(id) = intent.vantage(a.vantage) else {
            return Err(VerdictError::UnknownAbsent {
                vantage: a.vantage.to_owned(),
                known: known(intent),
            });
        };
        if let Some(s) = sources.iter().find(|s| s.file.header.vantage == a.vantage) {
            return Err(VerdictError::AbsentObserved {
                vantage: a.vantage.to_owned(),
                file: s.name.to_owned(),
            });
        }
        let (_, why) = out.entry(a.vantage).or_insert((id, Vec::new()));
        if !why.contains(&a.why) {
            why.push(a.why);
        }
    }
    Ok(out.into_values().collect())
}

fn add<'a>(
    ports: &mut BTreeMap<(IpAddr, Proto, u16), PortObs<'a>>,
    key: (IpAddr, Proto, u16),
    seen: Sighting<'a>,
) {
    match ports.get_mut(&key) {
        None => {
            ports.insert(key, PortObs { best: seen, others: Vec::new() });
        }
        Some(obs) => {
            if beats(&seen, &obs.best) {
                let old = std::mem::replace(&mut obs.best, seen);
                obs.others.push(old);
            } else {
                obs.others.push(seen);
            }
        }
    }
}

impl<'a> VantageObs<'a> {
    /// What is known of `proto`/`port` on `addr`: a port fact, or else a
    /// `filtered` line listing it (as a sighting without a fact).
    pub(crate) fn lookup(&self, addr: IpAddr, p: Proto, port: u16) -> Option<PortObs<'a>> {
        if let Some(obs) = self.ports.get(&(addr, p, port)) {
            return Some(obs.clone());
        }
        let s = self.silent.get(&addr)?.iter().find(|s| s.proto == p && s.ports.contains(port))?;
        let state = match p {
            Proto::Tcp => PortState::Filtered,
            Proto::Udp => PortState::OpenFiltered,
        };
        Some(PortObs {
            best: Sighting { state, fact: None, summary: Some(s.summary), source: s.source },
            others: Vec::new(),
        })
    }
}
