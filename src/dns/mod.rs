//! DNS seen from outside (issue 6), sans-I/O: the questions vantage asks
//! and what the answers mean, as bytes in and facts out. hickory-proto
//! encodes and decodes the messages (its decoder is bounded: it follows
//! compression pointers only backwards, caps names at 255 bytes and reads
//! every length within its record); everything above the codec is ours,
//! because the prober needs control of what hickory's clients decide for
//! themselves (ids, RD, source checks, retransmits, TCP fallback, transfer
//! bounds, pacing).
//!
//! - `question`: a validated question (name of at most 253 bytes, type,
//!   RD) and its query message.
//! - `reply`: judges one datagram or TCP message against the question:
//!   another id or question is not an answer (a spoof or a stale reply:
//!   keep waiting), TC asks for TCP, anything else is summarised into the
//!   fields of an observation line.
//! - `present`: names, types, RCODEs and record data in `dig +short`
//!   presentation (names lower case without the final dot, TXT quoted),
//!   escaped to printable ASCII and bounded.
//! - `chain`: which CNAME target an answer left unresolved and must be
//!   asked next (at most [`chain::MAX_CHAIN`] hops, loops detected).
//! - `axfr`: a zone transfer's messages accumulated within bounds (bytes,
//!   messages, records kept) until the closing SOA.
//! - `frame`: the two-byte length framing of DNS over TCP.
//!
//! Invariant: pure. No sockets, no clock, no tokio (`tidy` checks it), and
//! no panic on any input (`fuzzing::dns_reply` and `fuzzing::dns_transfer`
//! run these paths on arbitrary bytes).

pub mod axfr;
pub mod chain;
pub mod frame;
pub mod present;
pub mod question;
pub mod reply;

pub use hickory_proto::op::Message;
pub use hickory_proto::rr::{Name, RecordType};

pub use axfr::{Transfer, TransferStep, Transferred};
pub use question::Question;
pub use reply::{Judged, Summary, judge};

/// What went wrong with a DNS exchange, and whose fault it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    /// The peer's bytes do not decode as a DNS message (malformed peer
    /// input).
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being read (`answer`, `transfer message`...).
        what: &'static str,
        /// The decoder's account of it.
        detail: String,
    },
    /// The peer sent more than we take (peer misbehaviour).
    #[error("{what} exceeds {limit}")]
    Oversized {
        /// What grew too large.
        what: &'static str,
        /// The limit, in words (`64 MiB`, `65536 messages`).
        limit: String,
    },
    /// The peer broke the protocol with well-formed messages (peer
    /// misbehaviour): a transfer message with another id, a transfer that
    /// does not start with the zone's SOA...
    #[error("{0}")]
    Misbehaved(String),
    /// A name we were asked to use is not a DNS name we can ask (local).
    #[error("`{name}` is not a name to ask: {reason}")]
    BadName {
        /// The name, bounded.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A query could not be encoded (local).
    #[error("cannot encode the query: {0}")]
    Encode(String),
}
