//! Observations: what a scan saw, as JSON Lines files, the contract between
//! `scan` at each vantage or shard and `verdict` anywhere later (issue 3).
//!
//! A file is one `header` line (tool version, spec digest, vantage, shard,
//! seed, mode, start time), then one line per fact as it is concluded
//! (`port`, and `filtered` summaries so a /16 sweep stays small), then a
//! `trailer` (counts, end time, complete or not). The format is specified,
//! with an example of every kind of line, in [`observation`].
//!
//! - [`observation`]: the types, which are the format ([`Record`]).
//! - `check`: the rules types cannot express ([`Record::check`],
//!   [`encode_line`]).
//! - [`ObservationWriter`]: a bounded channel into one writer task that
//!   streams and flushes lines, and keeps every accepted record when
//!   producers are cancelled.
//! - [`read`] / [`parse`]: a strict reader that tolerates (and reports) the
//!   cut-off last line a killed run leaves.
//! - [`printable_banner`], [`FilteredSummary::from_ports`]: helpers that keep
//!   hostile banners and long port lists within the format's bounds.
//!
//! Invariants: `observe` is one of the four modules that derive serde (the
//! format is public API; change it only with [`SCHEMA_VERSION`]). The reader
//! and the writer apply the same checks, so the writer never writes what
//! the reader refuses. Only the writer does I/O on a runtime (tokio); the
//! reader reads with `std`, for the synchronous `verdict` and `compare`.
//! Nothing here writes to the terminal.

mod banner;
mod check;
mod error;
pub mod observation;
mod ports;
mod reader;
mod writer;

pub use banner::{MAX_BANNER_BYTES, MAX_BANNER_CHARS, printable_banner};
pub use check::{InvalidRecord, MAX_NAME_BYTES, encode_line};
pub use error::ObserveError;
pub use observation::{
    DnsCheck, DnsFact, DnsRecord, ExclusionRecord, FilteredSummary, Header, MAX_CHAIN_CERTS,
    MAX_CHAIN_TEXT, MAX_DNS_NAME, MAX_DNS_RECORDS, MAX_DNS_TEXT, MAX_DNS_VALUE, MAX_LINE_BYTES,
    PortFact, PortState, Proto, Reason, Record, SCHEMA_VERSION, ScanMode, StartTls, TOOL, TlsFact,
    TlsSuite, TlsVersion, TlsVersionFact, Trailer, timestamp,
};
pub use ports::MAX_PORTS_TEXT;
pub use reader::{ObservationFile, parse, read};
pub use writer::{CHANNEL_CAPACITY, ObservationWriter, WriteSummary};
