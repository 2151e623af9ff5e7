//! Which key-exchange groups a server accepts, by the same elimination as
//! the suites (STYLE rule 5: `on_answer` takes the state by value and one
//! parsed [`Answer`]). Each hello lists the remaining candidate groups in
//! `supported_groups`; the server's pick shows in the TLS 1.3 ServerHello's
//! `key_share` or HelloRetryRequest, or in a TLS 1.2 ECDHE
//! ServerKeyExchange; that group is removed and the rest offered again,
//! until the server refuses. About (accepted + 1) handshakes.
//!
//! Invariants: a group counts only when the server picked it from what we
//! offered, in the version we offered; a pick we did not offer is a
//! [`ServerBug`]; every run ends, since each hello removes a group or ends it.

use super::codes::{NamedGroup, ProtocolVersion};
use super::enumerate::{Answer, Refusal, ServerBug};
use super::hello::{HelloOptions, client_hello};
use super::parse::ServerAnswer;
use super::suites::{CipherSuite, KeyExchange, candidates};

/// What a group enumeration found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupResult {
    /// The version enumerated.
    pub version: ProtocolVersion,
    /// Accepted groups, in the order the server picked them (its
    /// preference, when it has one).
    pub accepted: Vec<NamedGroup>,
    /// Why hellos found nothing (a refusal ends the run).
    pub refusals: Vec<Refusal>,
    /// Protocol violations seen.
    pub bugs: Vec<ServerBug>,
    /// How many hellos were answered (or timed out).
    pub handshakes: usize,
}

/// Finds the groups a server accepts for TLS 1.3, or for ECDHE in TLS 1.2
/// and older. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEnumeration {
    opts: HelloOptions,
    suites: Vec<CipherSuite>,
    remaining: Vec<NamedGroup>,
    done: bool,
    result: GroupResult,
}

impl GroupEnumeration {
    /// Enumerates `groups` for `version`, offering every registry suite
    /// that uses the group: all TLS 1.3 suites, or the ECDHE ones (at most
    /// 128) for older versions, where only elliptic curves travel in
    /// `supported_groups` in practice (finite-field groups are left out).
    pub fn new(version: ProtocolVersion, groups: &[NamedGroup], opts: HelloOptions) -> Self {
        let tls13 = version == ProtocolVersion::TLS13;
        let suites: Vec<CipherSuite> = candidates(version)
            .into_iter()
            .filter(|s| {
                tls13
                    || s.info()
                        .is_some_and(|i| matches!(i.kx, KeyExchange::Ecdhe | KeyExchange::EcdhePsk))
            })
            .take(super::enumerate::BUNDLE)
            .collect();
        let mut remaining = Vec::new();
        for g in groups {
            if (tls13 || g.0 < 0x0100) && !remaining.contains(g) {
                remaining.push(*g);
            }
        }
        let done = remaining.is_empty() || suites.is_empty();
        let result = GroupResult {
            version,
            accepted: Vec::new(),
            refusals: Vec::new(),
            bugs: Vec::new(),
            handshakes: 0,
        };
        Self { opts, suites, remaining, done, result }
    }

    /// Every known group that can be offered in `version`.
    pub fn known(version: ProtocolVersion) -> Vec<NamedGroup> {
        NamedGroup::KNOWN
            .iter()
            .copied()
            .filter(|g| version == ProtocolVersion::TLS13 || g.0 < 0x0100)
            .collect()
    }

    /// The record to send on a fresh connection, or `None` when done.
    pub fn next_hello(&self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        let opts = HelloOptions { groups: self.remaining.clone(), ..self.opts.clone() };
        Some(client_hello(self.result.version, &self.suites, &opts))
    }

    /// Takes the answer to the last hello and moves on.
    pub fn on_answer(mut self, answer: Answer) -> Self {
        if self.done {
            return self;
        }
        self.result.handshakes += 1;
        self.done = true;
        let refusal = match answer {
            Answer::Flight(ServerAnswer::ServerHello(h)) if h.version == self.result.version => {
                match h.selected_group {
                    Some(g) if self.remaining.contains(&g) => {
                        self.result.accepted.push(g);
                        self.remaining.retain(|x| *x != g);
                        self.done = self.remaining.is_empty();
                        return self;
                    }
                    Some(g) => {
                        self.result.bugs.push(ServerBug::UnofferedGroup(g));
                        return self;
                    }
                    // A TLS 1.2 flight cut before its ServerKeyExchange.
                    None => Refusal::Closed,
                }
            }
            Answer::Flight(ServerAnswer::ServerHello(h)) if h.version > self.result.version => {
                self.result
                    .bugs
                    .push(ServerBug::NewerVersion { offered: self.result.version, got: h.version });
                return self;
            }
            Answer::Flight(ServerAnswer::ServerHello(h)) => Refusal::LowerVersion(h.version),
            Answer::Flight(ServerAnswer::Alert(a)) => Refusal::Alert(a),
            Answer::Flight(ServerAnswer::Ssl2Error { code }) => Refusal::Ssl2Error(code),
            Answer::Flight(_) => Refusal::WrongProtocol,
            Answer::Closed => Refusal::Closed,
            Answer::TimedOut => Refusal::TimedOut,
            Answer::Malformed(e) => Refusal::Malformed(e),
        };
        self.result.refusals.push(refusal);
        self
    }

    /// What was found.
    pub fn finish(self) -> GroupResult {
        self.result
    }
}
