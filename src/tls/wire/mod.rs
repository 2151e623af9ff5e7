//! The sans-I/O TLS codec and the enumeration state machines (issue 5): no
//! sockets, no clock, no tokio. Bytes come in through [`FlightReader`],
//! hellos go out of [`client_hello`] and [`sslv2::client_hello`], and an
//! [`Enumeration`] decides which hello to send next from the answers a
//! prober feeds it.
//!
//! - `codes`: newtypes for versions, groups, signature schemes, alerts.
//! - `suites`: the IANA cipher-suite registry and SSLv2 cipher specs.
//! - `hello`: TLS ClientHello records (SSLv3 to TLS 1.3).
//! - `sslv2`: SSLv2-format ClientHellos.
//! - `parse`: the incremental reader of a server's first flight.
//! - `enumerate`: suite elimination, server order, version probing.
//! - `groups`: group elimination (TLS 1.3 key shares, TLS 1.2 ECDHE curves).
//! - `starttls`: the plaintext preambles (SMTP, IMAP, POP3, PostgreSQL)
//!   that come before TLS on a STARTTLS connection.
//!
//! Invariants: peer bytes are read only through the bounded `reader`
//! cursor, never indexed; every size is capped before it is allocated;
//! nothing here panics on any input (the `tls_server_flight` and
//! `starttls_preamble` fuzz targets check it).

mod codes;
pub mod enumerate;
mod groups;
mod hello;
mod parse;
mod reader;
pub mod sslv2;
pub mod starttls;
mod suites;

pub use codes::{
    AlertDescription, AlertLevel, ExtensionType, HandshakeType, NamedGroup, ProtocolVersion,
    SignatureScheme,
};
pub use enumerate::{Answer, Enumeration, Refusal, ServerBug, VersionProbe, VersionResult};
pub use groups::{GroupEnumeration, GroupResult};
pub use hello::{HelloOptions, client_hello};
pub use parse::{
    Alert, EVIDENCE_BYTES, FlightReader, KeyExchangeParams, MAX_CERTIFICATE_MESSAGE, MAX_CHAIN,
    MAX_FLIGHT, MAX_OTHER_MESSAGE, MAX_RECORD, ServerAnswer, ServerHello, Ssl2ServerHello,
};
pub use suites::{
    Authentication, Cipher, CipherMode, CipherSuite, KeyExchange, Mac, Ssl2CipherSpec, SuiteInfo,
    candidates, registry,
};

/// What went wrong reading a server's bytes, and whose fault it is. Every
/// variant here is the peer's doing (malformed, oversized, out of order or
/// cut short): the codec has no local failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The peer sent bytes that do not parse as `what`.
    #[error("malformed {what} from the peer at byte {offset}: expected {expected}")]
    Malformed {
        /// The structure being read (e.g. `ServerHello`).
        what: &'static str,
        /// Offset from the start of that structure.
        offset: usize,
        /// What the bytes there should have been.
        expected: &'static str,
    },
    /// The peer announced or sent more than we accept for `what`.
    #[error("the peer's {what} is {len} bytes, over our limit of {limit}")]
    Oversized {
        /// What was too large (a record, a handshake message, the flight).
        what: &'static str,
        /// The size the peer announced or reached.
        len: usize,
        /// Our cap.
        limit: usize,
    },
    /// The peer sent a well-formed message at the wrong point.
    #[error("the peer sent {got} where {expected} was due")]
    Unexpected {
        /// What arrived (a record content type or handshake type, by name or number).
        got: String,
        /// What the protocol allows there.
        expected: &'static str,
    },
    /// The connection ended partway through `what`.
    #[error("the peer closed the connection partway through {what} ({have} bytes of it)")]
    Truncated {
        /// The structure that was cut short.
        what: &'static str,
        /// How many of its bytes had arrived.
        have: usize,
    },
}

#[cfg(test)]
mod tests;
