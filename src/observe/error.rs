//! Why reading or writing an observation file failed, and whose fault it is:
//! the file's (malformed, or not an observation file), its writer's version
//! (an incompatible schema), our machine's (I/O), or the code that handed
//! the writer a record breaking the contract.
//!
//! Invariant: every variant names the file as the user gave it, and every
//! problem inside a file names its 1-based line, so the message alone lets
//! someone open the file at the right place. Quoted file content is bounded.

use std::io;

use super::check::InvalidRecord;

/// Reading or writing an observation file failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObserveError {
    /// The file's fault: the first line is not a header (an empty file, a
    /// run killed while writing its first line, or not an observation file).
    #[error("{file}:1: expected a header line (`\"kind\":\"header\"`), found {found}")]
    MissingHeader {
        /// The file.
        file: String,
        /// What was there instead, in words.
        found: String,
    },
    /// An incompatibility: the file was written in a format version this
    /// build does not read.
    #[error(
        "{file}:{line}: schema_version {found} is not supported; this vantage reads version {supported} (use the vantage version that wrote the file)"
    )]
    UnsupportedSchema {
        /// The file.
        file: String,
        /// The header's line.
        line: usize,
        /// The version the file declares.
        found: u64,
        /// The version this build reads.
        supported: u32,
    },
    /// The file's fault: a line is not a valid JSON record.
    #[error("{file}:{line}: malformed record: {message}")]
    Malformed {
        /// The file.
        file: String,
        /// The line.
        line: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// The file's fault: a record is valid JSON of the right shape, but a
    /// value breaks the contract (a time that does not parse...).
    #[error("{file}:{line}: invalid {kind} record: {invalid}")]
    Invalid {
        /// The file.
        file: String,
        /// The line.
        line: usize,
        /// The record's `kind`.
        kind: &'static str,
        /// Which field, and what is wrong with it.
        #[source]
        invalid: InvalidRecord,
    },
    /// The file's fault: a line longer than any record can be, read no
    /// further than the limit.
    #[error("{file}:{line}: line is longer than {limit} bytes, the longest a record can be")]
    LineTooLong {
        /// The file.
        file: String,
        /// The line.
        line: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The file's fault: a header after the first line (two files
    /// concatenated, most likely).
    #[error("{file}:{line}: a second header; a file holds one run (was it concatenated?)")]
    SecondHeader {
        /// The file.
        file: String,
        /// The line of the second header.
        line: usize,
    },
    /// The file's fault: something after the trailer, which ends a run.
    #[error("{file}:{line}: {what} after the trailer on line {trailer_line}")]
    AfterTrailer {
        /// The file.
        file: String,
        /// The offending line.
        line: usize,
        /// What was there (`a "port" record`, `an unreadable line`).
        what: String,
        /// The trailer's line.
        trailer_line: usize,
    },
    /// A local failure: the file could not be created, read or written.
    #[error("{file}: cannot {action}: {source}")]
    Io {
        /// The file.
        file: String,
        /// What we tried: `create`, `read`, `write`.
        action: &'static str,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A local failure: the writer task ended without reporting (it
    /// panicked, or the runtime shut down under it).
    #[error("{file}: the observation writer stopped unexpectedly: {message}")]
    WriterStopped {
        /// The file.
        file: String,
        /// What the runtime said.
        message: String,
    },
    /// A bug in the caller: the writer was handed a record that breaks the
    /// contract, or a header or trailer through the producers' channel. It
    /// refuses rather than write a file its reader would refuse.
    #[error("{file}: refused to write a {kind} record (a bug in the code that made it): {invalid}")]
    Refused {
        /// The file.
        file: String,
        /// The record's `kind`.
        kind: &'static str,
        /// Which field, and what is wrong with it.
        #[source]
        invalid: InvalidRecord,
    },
}
