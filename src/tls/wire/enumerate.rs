//! The sans-I/O state machines that learn what a server accepts, one
//! hello at a time (STYLE rule 5: each transition takes the state by value
//! and one fully parsed [`Answer`], and returns the next state). A prober
//! loops: `next_hello()` → send it on a fresh connection → read the answer
//! with a `FlightReader` → `on_answer()`; until `next_hello()` is `None`,
//! then `finish()`.
//!
//! [`Enumeration`] finds every suite a server accepts for one version by
//! elimination, as testssl.sh does: offer a bundle of at most
//! [`BUNDLE`] candidates, remove the suite the server picks, offer the rest
//! again, and drop the bundle when the server refuses. That takes about
//! (accepted + bundles) handshakes. Then it offers the accepted suites in
//! two opposite orders: the same choice both times means the server
//! imposes its own order.
//!
//! [`VersionProbe`] asks, per version, whether the server accepts any
//! suite at all.
//!
//! Invariants: a suite counts as accepted only when the server chose it
//! from what we offered, in the version we offered; a choice we did not
//! offer is a [`ServerBug`], never an acceptance; every run ends, since
//! each hello either shrinks the candidates or moves to a later state.

use super::WireError;
use super::codes::{NamedGroup, ProtocolVersion};
use super::hello::{HelloOptions, client_hello};
use super::parse::{Alert, KeyExchangeParams, ServerAnswer, ServerHello};
use super::sslv2;
use super::suites::{CipherSuite, Ssl2CipherSpec, candidates};

/// The most suites in one hello: some servers fail on longer lists
/// (testssl.sh offers at most 128 at a time).
pub const BUNDLE: usize = 128;

/// The most suites in one SSLv3 hello. SSLv3 hellos carry no extensions,
/// so they cannot be padded past the 256-511 byte handshake lengths that
/// hang F5 devices; 100 suites plus the renegotiation SCSV keep the
/// message at 245 bytes.
pub const BUNDLE_SSL3: usize = 100;

/// What became of one hello, as the prober saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The connection closed (or was reset) with no answer.
    Closed,
    /// The server answered (read by a `FlightReader`).
    Flight(ServerAnswer),
    /// The answer could not be read.
    Malformed(WireError),
    /// Nothing came before the prober's deadline.
    TimedOut,
}

/// A server doing something the protocol forbids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerBug {
    /// The ServerHello names a version newer than we offered.
    NewerVersion {
        /// What we offered.
        offered: ProtocolVersion,
        /// What the server answered.
        got: ProtocolVersion,
    },
    /// The server chose a group we did not offer.
    UnofferedGroup(NamedGroup),
    /// The server chose a suite we did not offer.
    UnofferedSuite(CipherSuite),
}

/// Why a hello did not lead to an accepted suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An alert.
    Alert(Alert),
    /// The connection closed.
    Closed,
    /// The server answered in an older version than offered.
    LowerVersion(ProtocolVersion),
    /// The answer was unreadable.
    Malformed(WireError),
    /// An SSLv2 ERROR message.
    Ssl2Error(u16),
    /// No answer in time.
    TimedOut,
    /// An answer in the wrong protocol (SSLv2 to a TLS hello, or back).
    WrongProtocol,
}

/// What one version's enumeration found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionResult {
    /// The version enumerated.
    pub version: ProtocolVersion,
    /// Accepted suites: in the server's order of preference when it has one
    /// (exact within each bundle of 128), else in the order found.
    pub accepted: Vec<CipherSuite>,
    /// SSLv2: the cipher specs the server listed.
    pub ssl2_cipher_specs: Vec<Ssl2CipherSpec>,
    /// `Some(true)` when the server imposes its own order, `Some(false)`
    /// when it follows ours, `None` when unknown (fewer than two suites, or
    /// answers that fit neither).
    pub server_order: Option<bool>,
    /// The group of the first answer that named one.
    pub group: Option<NamedGroup>,
    /// The first ServerKeyExchange's parameters (TLS 1.2 and older).
    pub key_exchange: Option<KeyExchangeParams>,
    /// The first certificate chain seen (leaf first).
    pub chain: Vec<Vec<u8>>,
    /// The first stapled OCSP response seen.
    pub ocsp_response: Option<Vec<u8>>,
    /// The first problem with what followed an accepted ServerHello (a
    /// Certificate message over its cap, a malformed message): the rest
    /// of that flight, the chain among it, was not read.
    pub error_after: Option<WireError>,
    /// Every alert received, in order.
    pub alerts: Vec<Alert>,
    /// Every refusal, in order.
    pub refusals: Vec<Refusal>,
    /// Protocol violations seen.
    pub bugs: Vec<ServerBug>,
    /// The first bytes, if the server does not speak TLS at all.
    pub not_tls: Option<Vec<u8>>,
    /// How many hellos were answered (or timed out).
    pub handshakes: usize,
}

impl VersionResult {
    fn empty(version: ProtocolVersion) -> Self {
        Self {
            version,
            accepted: Vec::new(),
            ssl2_cipher_specs: Vec::new(),
            server_order: None,
            group: None,
            key_exchange: None,
            chain: Vec::new(),
            ocsp_response: None,
            error_after: None,
            alerts: Vec::new(),
            refusals: Vec::new(),
            bugs: Vec::new(),
            not_tls: None,
            handshakes: 0,
        }
    }

    /// True when the server accepted at least one suite (or SSLv2 spec).
    pub fn supported(&self) -> bool {
        !self.accepted.is_empty() || !self.ssl2_cipher_specs.is_empty()
    }
}

/// How an answer bears on the suites offered.
enum Outcome {
    /// A ServerHello in the version offered.
    Hello(Box<ServerHello>),
    /// A ServerHello in another version.
    OtherVersion,
    /// Anything else.
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Waiting for the server's choice among `offered`.
    ExpectChoice {
        offered: Vec<CipherSuite>,
    },
    /// Waiting for the choice among the accepted suites, in found order.
    ExpectForwardOrder {
        offered: Vec<CipherSuite>,
    },
    /// Waiting for the choice among the accepted suites, reversed.
    ExpectReverseOrder {
        offered: Vec<CipherSuite>,
        forward: CipherSuite,
    },
    Done,
}

/// Finds the suites one server accepts for one version. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enumeration {
    opts: HelloOptions,
    remaining: Vec<CipherSuite>,
    /// Stop at the first accepted suite (the version probe).
    first_only: bool,
    state: State,
    result: VersionResult,
}

impl Enumeration {
    /// Enumerates `candidates` (SCSVs and repeats are dropped; order kept)
    /// for `version`, with default hello options. For SSLv2 the candidates
    /// are ignored: one SSLv2 hello offers every known cipher spec, and
    /// the server lists the ones it has.
    pub fn new(version: ProtocolVersion, candidates: &[CipherSuite]) -> Self {
        let mut remaining: Vec<CipherSuite> = Vec::with_capacity(candidates.len());
        for s in candidates {
            if !s.is_scsv() && !remaining.contains(s) {
                remaining.push(*s);
            }
        }
        let result = VersionResult::empty(version);
        let mut e = Self {
            opts: HelloOptions::default(),
            remaining,
            first_only: false,
            state: State::Done,
            result,
        };
        e.state = if version == ProtocolVersion::SSL2 {
            State::ExpectChoice { offered: Vec::new() }
        } else {
            e.next_bundle()
        };
        e
    }

    /// Uses `opts` (SNI, groups, ...) for every hello.
    pub fn with_options(mut self, opts: HelloOptions) -> Self {
        self.opts = opts;
        self
    }

    /// Stops at the first accepted suite: enough to know the version works.
    pub fn first_only(mut self) -> Self {
        self.first_only = true;
        self
    }

    /// The version being enumerated.
    pub fn version(&self) -> ProtocolVersion {
        self.result.version
    }

    /// The record to send on a fresh connection, or `None` when done.
    pub fn next_hello(&self) -> Option<Vec<u8>> {
        let offered = match &self.state {
            State::Done => return None,
            State::ExpectChoice { offered }
            | State::ExpectForwardOrder { offered }
            | State::ExpectReverseOrder { offered, .. } => offered,
        };
        if self.result.version == ProtocolVersion::SSL2 {
            return Some(sslv2::client_hello(&[]));
        }
        Some(client_hello(self.result.version, offered, &self.opts))
    }

    /// True when no more hellos are needed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Takes the answer to the last hello and moves on.
    pub fn on_answer(mut self, answer: Answer) -> Self {
        self.result.handshakes += 1;
        let state = std::mem::replace(&mut self.state, State::Done);
        self.state = match state {
            State::Done => State::Done,
            State::ExpectChoice { .. } if self.result.version == ProtocolVersion::SSL2 => {
                self.ssl2_answer(answer);
                State::Done
            }
            State::ExpectChoice { offered } => self.choice(offered, answer),
            State::ExpectForwardOrder { offered } => match self.chosen(&offered, answer) {
                Some(forward) => {
                    let reversed = offered.iter().rev().copied().collect();
                    State::ExpectReverseOrder { offered: reversed, forward }
                }
                None => State::Done,
            },
            State::ExpectReverseOrder { offered, forward } => {
                let reverse = self.chosen(&offered, answer);
                self.result.server_order = match reverse {
                    Some(r) if r == forward => Some(true),
                    Some(r) if offered.first() == Some(&r) && offered.last() == Some(&forward) => {
                        Some(false)
                    }
                    _ => None,
                };
                State::Done
            }
        };
        self
    }

    /// What was found. Callable at any time; unfinished runs report what
    /// they have.
    pub fn finish(self) -> VersionResult {
        self.result
    }

    fn next_bundle(&self) -> State {
        if self.remaining.is_empty() {
            return self.order_phase();
        }
        let cap = if self.result.version == ProtocolVersion::SSL3 { BUNDLE_SSL3 } else { BUNDLE };
        let n = self.remaining.len().min(cap);
        State::ExpectChoice { offered: self.remaining.iter().take(n).copied().collect() }
    }

    fn order_phase(&self) -> State {
        if self.first_only || self.result.accepted.len() < 2 {
            State::Done
        } else {
            State::ExpectForwardOrder { offered: self.result.accepted.clone() }
        }
    }

    fn choice(&mut self, offered: Vec<CipherSuite>, answer: Answer) -> State {
        if let Answer::Flight(ServerAnswer::NotTls { first_bytes }) = answer {
            self.result.not_tls = Some(first_bytes);
            return State::Done;
        }
        match self.accepted_hello(answer) {
            Outcome::Hello(hello) if offered.contains(&hello.suite) => {
                self.result.accepted.push(hello.suite);
                self.remaining.retain(|s| *s != hello.suite);
                if self.first_only { State::Done } else { self.next_bundle() }
            }
            Outcome::Hello(hello) => {
                self.result.bugs.push(ServerBug::UnofferedSuite(hello.suite));
                self.order_phase()
            }
            // The server does not speak this version; other bundles will
            // not change that.
            Outcome::OtherVersion => self.order_phase(),
            Outcome::Refused => {
                self.remaining.retain(|s| !offered.contains(s));
                self.next_bundle()
            }
        }
    }

    /// The suite chosen in an order-probing hello, if it is one we offered.
    fn chosen(&mut self, offered: &[CipherSuite], answer: Answer) -> Option<CipherSuite> {
        let Outcome::Hello(hello) = self.accepted_hello(answer) else { return None };
        if offered.contains(&hello.suite) {
            Some(hello.suite)
        } else {
            self.result.bugs.push(ServerBug::UnofferedSuite(hello.suite));
            None
        }
    }

    /// The ServerHello in `answer` when it is in the version we offered;
    /// anything else is recorded as a refusal (or bug).
    fn accepted_hello(&mut self, answer: Answer) -> Outcome {
        let refusal = match answer {
            Answer::Flight(ServerAnswer::ServerHello(hello)) => {
                let offered = self.result.version;
                if hello.version == offered {
                    self.keep_evidence(&hello);
                    return Outcome::Hello(hello);
                }
                if hello.version > offered {
                    self.result.bugs.push(ServerBug::NewerVersion { offered, got: hello.version });
                } else {
                    self.result.refusals.push(Refusal::LowerVersion(hello.version));
                }
                return Outcome::OtherVersion;
            }
            Answer::Flight(ServerAnswer::Alert(a)) => {
                self.result.alerts.push(a);
                Refusal::Alert(a)
            }
            Answer::Flight(ServerAnswer::NotTls { first_bytes }) => {
                self.result.not_tls.get_or_insert(first_bytes);
                Refusal::WrongProtocol
            }
            Answer::Flight(ServerAnswer::Ssl2Error { code }) => Refusal::Ssl2Error(code),
            Answer::Flight(ServerAnswer::Ssl2ServerHello(_)) => Refusal::WrongProtocol,
            Answer::Closed => Refusal::Closed,
            Answer::TimedOut => Refusal::TimedOut,
            Answer::Malformed(e) => Refusal::Malformed(e),
        };
        self.result.refusals.push(refusal);
        Outcome::Refused
    }

    fn keep_evidence(&mut self, hello: &ServerHello) {
        let r = &mut self.result;
        if r.group.is_none() {
            r.group = hello.selected_group;
        }
        if r.key_exchange.is_none() {
            r.key_exchange = hello.key_exchange;
        }
        if r.chain.is_empty() {
            r.chain.clone_from(&hello.chain);
        }
        if r.ocsp_response.is_none() {
            r.ocsp_response.clone_from(&hello.ocsp_response);
        }
        if let Some(a) = hello.alert_after {
            r.alerts.push(a);
        }
        if r.error_after.is_none() {
            r.error_after.clone_from(&hello.error_after);
        }
    }

    fn ssl2_answer(&mut self, answer: Answer) {
        match answer {
            Answer::Flight(ServerAnswer::Ssl2ServerHello(h)) => {
                self.result.ssl2_cipher_specs = h.cipher_specs;
                if !h.certificate.is_empty() {
                    self.result.chain = vec![h.certificate];
                }
            }
            Answer::Flight(ServerAnswer::ServerHello(_)) => {
                self.result.refusals.push(Refusal::WrongProtocol);
            }
            other => {
                let _ = self.accepted_hello(other);
            }
        }
    }
}

/// Which versions a server accepts at all: one [`Enumeration`] per version,
/// each stopping at the first accepted suite, oldest version first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionProbe {
    current: Option<Enumeration>,
    pending: Vec<ProtocolVersion>,
    opts: HelloOptions,
    done: Vec<VersionResult>,
}

impl VersionProbe {
    /// Probes `versions` in the order given, each with every registry
    /// suite usable in it (see `candidates`).
    pub fn new(versions: &[ProtocolVersion], opts: HelloOptions) -> Self {
        let mut pending: Vec<ProtocolVersion> = versions.iter().rev().copied().collect();
        let current = pending.pop().map(|v| Self::start(v, &opts));
        Self { current, pending, opts, done: Vec::new() }
    }

    fn start(version: ProtocolVersion, opts: &HelloOptions) -> Enumeration {
        Enumeration::new(version, &candidates(version)).with_options(opts.clone()).first_only()
    }

    /// The record to send next, or `None` when every version is known.
    pub fn next_hello(&self) -> Option<Vec<u8>> {
        self.current.as_ref().and_then(Enumeration::next_hello)
    }

    /// The version the next hello is for.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.current.as_ref().map(Enumeration::version)
    }

    /// Takes the answer to the last hello and moves on.
    pub fn on_answer(mut self, answer: Answer) -> Self {
        let Some(current) = self.current.take() else { return self };
        let current = current.on_answer(answer);
        if !current.is_done() {
            self.current = Some(current);
            return self;
        }
        let result = current.finish();
        let not_tls = result.not_tls.is_some();
        self.done.push(result);
        // A server that does not speak TLS will not for another version.
        if !not_tls {
            self.current = self.pending.pop().map(|v| Self::start(v, &self.opts));
        }
        self
    }

    /// One result per version probed so far, in probing order.
    pub fn finish(self) -> Vec<VersionResult> {
        self.done
    }
}
