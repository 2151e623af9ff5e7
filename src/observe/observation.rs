//! The observation file format: THE contract between `scan` (at each vantage
//! and shard) and `verdict` (anywhere, later). Field names and values here
//! are public API; changing their meaning means bumping [`SCHEMA_VERSION`].
//!
//! # Wire format
//!
//! An observation file is [JSON Lines](https://jsonlines.org/): UTF-8, one
//! JSON object per line, each line ended by `\n`, no line longer than
//! [`MAX_LINE_BYTES`]. Every object carries a `"kind"` that says what it is
//! ([`Record`]). The lines come in this order:
//!
//! 1. exactly one `header` line, first: who scanned what, from where, how
//!    ([`Header`]). It is written and flushed before the first probe is sent,
//!    so even a run killed at once leaves a file that says what it was.
//! 2. any number of `port` lines ([`PortFact`]), one per conclusion about a
//!    port, in the order the conclusions were reached, and `filtered` lines
//!    ([`FilteredSummary`]): the silent ports of one host, aggregated so a
//!    /16 sweep does not write millions of lines. A host may have several
//!    `filtered` lines (one per protocol, and long port lists are split);
//!    their port sets never overlap.
//!    `tls` lines ([`TlsFact`]) come among them: what one TLS endpoint
//!    speaks and presents.
//! 3. at most one `trailer` line, last ([`Trailer`]): counts and whether the
//!    run finished. A file without a trailer comes from a run that was
//!    killed; its last line may then be cut off, which readers tolerate and
//!    report (see `observe::reader`).
//!
//! Every field is always present; `null` marks an absent optional value.
//! Unknown fields are refused, so a typo in a hand-written file is an error,
//! not a silently missing fact. Times are RFC 3339 in UTC (`Z`), with
//! milliseconds ([`timestamp`]).
//!
//! One line of each kind (a banner's bytes are escaped by [`printable_banner`],
//! so its backslashes are doubled again by JSON):
//!
//! ```
//! # use vantage::observe::Record;
//! let lines = [
//!     r#"{"kind":"header","schema_version":1,"tool":"vantage","version":"0.1.0","spec":"staging.yaml","spec_digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","vantage":"outside","shard_index":0,"shard_count":2,"seed":42,"mode":"syn","started":"2026-03-01T12:00:00.000Z","probes_planned":2048}"#,
//!     r#"{"kind":"port","target":"198.18.10.10","proto":"tcp","port":22,"state":"open","reason":"syn-ack","attempts":1,"rtt_us":5120,"banner":"SSH-2.0-OpenSSH_9.6\\r\\n","at":"2026-03-01T12:00:01.250Z"}"#,
//!     r#"{"kind":"port","target":"198.18.10.10","proto":"tcp","port":3306,"state":"filtered","reason":{"icmp-unreachable":{"type":3,"code":13}},"attempts":1,"rtt_us":20250,"banner":null,"at":"2026-03-01T12:00:01.300Z"}"#,
//!     r#"{"kind":"filtered","target":"198.18.10.10","proto":"tcp","count":1021,"ports":"1-21,23-79,81-442,444-1024","attempts":2,"reason":"no-response"}"#,
//!     r#"{"kind":"tls","target":"198.18.10.10","port":443,"sni":"www.example.test","starttls":null,"speaks_tls":true,"plaintext":null,"versions":[{"version":"TLSv1.2","suites":[{"code":"0xC02F","name":"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}],"server_order":true},{"version":"TLSv1.3","suites":[{"code":"0x1301","name":"TLS_AES_128_GCM_SHA256"}],"server_order":null}],"refused":["SSLv2","SSLv3","TLSv1.0","TLSv1.1"],"chain":["MIIB"],"chain_truncated":false,"ocsp_stapled":false,"error":null,"at":"2026-03-01T12:00:02.100Z"}"#,
//!     r#"{"kind":"trailer","ended":"2026-03-01T12:04:10.512Z","complete":true,"interrupted":false,"probes_sent":2090,"open":2,"closed":1,"filtered":1023,"open_filtered":0,"errors":0}"#,
//! ];
//! for line in lines {
//!     let record: Record = serde_json::from_str(line)?;
//!     record.check()?;
//!     // The format is canonical: writing a record gives back the same line.
//!     assert_eq!(serde_json::to_string(&record)?, line);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Invariant: only this module (with the rest of `observe`) derives serde for
//! these types, and every value the reader accepts passes [`Record::check`],
//! which is also what the writer enforces, so the writer never writes a file
//! its reader refuses.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::printable_banner;
use crate::tls::wire::ProtocolVersion;
use crate::tls::wire::starttls::Protocol;

/// The version of this format, recorded in every header. A reader refuses
/// any other version rather than guess at fields it does not know.
pub const SCHEMA_VERSION: u32 = 1;

/// The `tool` every vantage header names.
pub const TOOL: &str = "vantage";

/// The longest line a reader accepts and a writer writes, in bytes, without
/// its `\n`. Valid records are far shorter, because every field is bounded
/// (a port line is under 1.5 KiB, a filtered line under 17 KiB, a header
/// under 17 KiB; see `observe::MAX_NAME_BYTES`, `MAX_BANNER_CHARS` and
/// `MAX_PORTS_TEXT`); the limit keeps a hostile or corrupt file from making
/// the reader allocate without bound.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// One line of an observation file, tagged by `"kind"`.
///
/// The variants are in file order (the order the format fixes), not
/// alphabetical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Record {
    /// The first line: what the file is about.
    Header(Header),
    /// One conclusion about one port.
    Port(PortFact),
    /// The silent ports of one host, aggregated.
    Filtered(FilteredSummary),
    /// What one TLS endpoint speaks and presents.
    Tls(TlsFact),
    /// One DNS question asked of one server, and its answer.
    Dns(DnsFact),
    /// The last line of a run that ended (finished or interrupted).
    Trailer(Trailer),
}

impl Record {
    /// The record's `"kind"`, as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Header(_) => "header",
            Self::Port(_) => "port",
            Self::Filtered(_) => "filtered",
            Self::Tls(_) => "tls",
            Self::Dns(_) => "dns",
            Self::Trailer(_) => "trailer",
        }
    }
}

/// Everything needed to tell whether a set of files belongs together: a
/// verdict refuses files that disagree on spec digest, tool version, seed,
/// mode or shard count for one vantage, and sets with a shard missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The format version; always [`SCHEMA_VERSION`] when written by this build.
    pub schema_version: u32,
    /// The tool that wrote the file: [`TOOL`]. This and the other names of
    /// the header are 1 to [`super::MAX_NAME_BYTES`] bytes long.
    pub tool: String,
    /// The tool's version (`vantage::VERSION`).
    pub version: String,
    /// The spec path as the user gave it (for people; the digest identifies it).
    pub spec: String,
    /// `sha256:` and 64 lower-case hex digits over the spec and its
    /// includes (`crate::spec::digest`).
    pub spec_digest: String,
    /// The vantage the probes were sent from, as named in the spec.
    pub vantage: String,
    /// This shard, counted from 0 (`--shard K/N` gives K).
    pub shard_index: u32,
    /// How many shards split the probe space (N); 1 when not sharded.
    pub shard_count: u32,
    /// The seed that ordered and split the probes; all shards share it.
    pub seed: u64,
    /// How TCP was probed.
    pub mode: ScanMode,
    /// When the scan started (RFC 3339, UTC).
    pub started: String,
    /// Probes planned for this shard (first attempts, not retries).
    pub probes_planned: u64,
    /// What `--exclude` kept out of the plan. The one field written only
    /// when it applies: a scan without exclusions writes the header it
    /// always did, and a reader that does not know the field refuses a
    /// file that has it rather than judge it unaware of the exclusions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<ExclusionRecord>,
}

/// The exclusions of a scan (`--exclude`), as its header records them:
/// the excluded addresses were never probed, and the plan's counts
/// (`probes_planned`) are without them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExclusionRecord {
    /// Networks in the exclusion list, merged (`plan::Exclusions::networks`).
    pub networks: u64,
    /// `sha256:` over the merged list, one CIDR a line
    /// (`plan::Exclusions::digest`): the shards of one scan share it.
    pub digest: String,
    /// Addresses the exclusions took out of the plan, over all shards.
    pub addresses: u64,
    /// Probes the exclusions took out of the plan, over all shards.
    pub probes: u64,
}

/// How TCP ports were probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ScanMode {
    /// Full `connect()` with the operating system's TCP stack (no privileges).
    Connect,
    /// Half-open SYN scan over a raw socket (CAP_NET_RAW).
    Syn,
}

/// Transport protocols.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs, reason = "self-describing")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    /// `tcp` or `udp`, as in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// A port's state, exactly as nmap defines and names it (so the variants
/// follow nmap's order, not the alphabet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PortState {
    /// Something answered: SYN-ACK, a completed connect, a UDP reply.
    #[serde(rename = "open")]
    Open,
    /// The host answered that nothing listens: RST, ECONNREFUSED, ICMP port
    /// unreachable for UDP.
    #[serde(rename = "closed")]
    Closed,
    /// Every attempt stayed silent, or an ICMP unreachable other than
    /// "port unreachable" came back: a filter is in the way.
    #[serde(rename = "filtered")]
    Filtered,
    /// UDP only: silence, which an open service that ignores our payload
    /// and a filter both produce.
    #[serde(rename = "open|filtered")]
    OpenFiltered,
}

impl PortState {
    /// The nmap name, as in the file (`open|filtered`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Filtered => "filtered",
            Self::OpenFiltered => "open|filtered",
        }
    }
}

/// Why a state was concluded, like nmap's `--reason`, so that a reader can
/// tell a REJECT rule from a DROP rule and weigh the evidence.
///
/// Unit variants are written as a string (`"syn-ack"`); `icmp-unreachable`
/// as an object carrying the ICMP type and code:
/// `{"icmp-unreachable":{"type":3,"code":13}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Reason {
    /// `connect()` failed with ECONNREFUSED (connect mode's RST).
    ConnRefused,
    /// `connect()` completed (connect mode's SYN-ACK).
    Connected,
    /// The host could not be reached (EHOSTUNREACH, ENETUNREACH, or an ARP
    /// failure), without ICMP details.
    HostUnreachable,
    /// An ICMP (or ICMPv6) destination-unreachable message other than "port
    /// unreachable" came back, with its type and code as sent.
    IcmpUnreachable {
        /// The ICMP type (3 for ICMPv4, 1 for ICMPv6).
        #[serde(rename = "type")]
        icmp_type: u8,
        /// The ICMP code (13 is "administratively prohibited" in ICMPv4).
        code: u8,
    },
    /// The probe failed on our side (no file descriptor, no route in the
    /// local table...); the state says nothing about the target.
    LocalError,
    /// Every attempt stayed silent until its timeout.
    NoResponse,
    /// ICMP port unreachable (UDP's "closed").
    PortUnreachable,
    /// The target answered a SYN with RST.
    Rst,
    /// A loopback connect reached our own socket (a TCP self-connect in the
    /// ephemeral range), which proves nothing about a listener.
    SelfConnect,
    /// The target answered a SYN with SYN-ACK.
    SynAck,
    /// A UDP datagram came back.
    UdpResponse,
}

/// One conclusion about one port of one target.
///
/// Every open and closed port is recorded, and every probe that bears on a
/// declared flow whatever its state; silent sweep ports are aggregated into
/// [`FilteredSummary`] lines instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortFact {
    /// The probed address.
    pub target: IpAddr,
    /// The transport.
    pub proto: Proto,
    /// The port, 1-65535.
    pub port: u16,
    /// What we concluded.
    pub state: PortState,
    /// Why.
    pub reason: Reason,
    /// How many probes were sent before concluding (1 when the first
    /// answered).
    pub attempts: u8,
    /// Round trip of the answer that decided it, in microseconds; `null`
    /// when nothing answered.
    pub rtt_us: Option<u64>,
    /// The first bytes an open TCP port sent, made printable by
    /// [`printable_banner`] (at most [`super::MAX_BANNER_CHARS`] characters
    /// of printable ASCII); `null` when it sent nothing in time.
    pub banner: Option<String>,
    /// When the conclusion was reached (RFC 3339, UTC, milliseconds).
    pub at: String,
}

/// The silent ports of one host and protocol that bear on no declared flow,
/// aggregated so a /16 sweep does not write millions of lines. Their state
/// follows from the protocol, as in nmap: `filtered` for TCP,
/// `open|filtered` for UDP (silence cannot tell an open UDP service from a
/// filter). Build them with `FilteredSummary::from_ports`, which merges and
/// deduplicates the ports, counts them, and splits long lists so every line
/// stays within the format's bounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilteredSummary {
    /// The probed address.
    pub target: IpAddr,
    /// The transport.
    pub proto: Proto,
    /// How many ports `ports` lists (at least 1).
    pub count: u32,
    /// The ports, in nmap `-p` syntax: ascending, non-overlapping single
    /// ports and ranges, e.g. `1-21,23-1024`; at most
    /// [`super::MAX_PORTS_TEXT`] characters.
    pub ports: String,
    /// Probes sent to each of these ports (all of them stayed silent or were
    /// refused the same way).
    pub attempts: u8,
    /// Why they are filtered: usually `no-response`, or `host-unreachable`
    /// or `icmp-unreachable` when a router said so.
    pub reason: Reason,
}

/// What one TLS endpoint speaks and presents, as probed from this vantage:
/// the raw evidence, not a judgement. `verdict` judges it against the
/// endpoint's policy (with its own `now`), so a saved file can be judged
/// again later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsFact {
    /// The probed address.
    pub target: IpAddr,
    /// The TCP port, 1-65535.
    pub port: u16,
    /// The server name sent as SNI; `null` when none was.
    pub sni: Option<String>,
    /// The protocol whose STARTTLS preamble opened every connection of the
    /// probe before TLS (`smtp`, `imap`, `pop3`, `postgres`); `null` when
    /// TLS was spoken from the first byte. (Absent in files written before
    /// it existed, which reads as `null`.)
    pub starttls: Option<StartTls>,
    /// Whether the endpoint answered a ClientHello as a TLS (or SSL)
    /// server; `false` with `plaintext` set when it answered with
    /// something else, `false` with `error` set when it did not answer.
    /// With `starttls`, `false` also when the server would not start TLS:
    /// `error` then says why and `plaintext` holds its reply.
    pub speaks_tls: bool,
    /// What it sent instead of TLS, made printable like a banner; `null`
    /// otherwise. With `starttls`, the reply that refused or broke off
    /// the preamble.
    pub plaintext: Option<String>,
    /// Every protocol version it accepted, oldest first, with its suites.
    pub versions: Vec<TlsVersionFact>,
    /// Versions offered and refused, oldest first (a version in neither
    /// list was not probed).
    pub refused: Vec<TlsVersion>,
    /// The certificate chain as presented, leaf first: base64 DER (standard
    /// alphabet, padded), at most [`MAX_CHAIN_CERTS`] certificates and
    /// [`MAX_CHAIN_TEXT`] characters in all.
    pub chain: Vec<String>,
    /// The chain was longer than the limits and was cut.
    pub chain_truncated: bool,
    /// An OCSP response was stapled; `null` when not known (a line imported
    /// from a scanner that does not say, such as nmap).
    pub ocsp_stapled: Option<bool>,
    /// Why the probe could not finish (a timeout, a reset), or why the
    /// chain of a server that speaks TLS was not read (a Certificate
    /// message over the cap, a handshake cut off); `null` when it did. What
    /// was learnt before is still here.
    pub error: Option<String>,
    /// When the probe ended (RFC 3339, UTC, milliseconds).
    pub at: String,
}

impl TlsFact {
    /// A chain (DER, leaf first) as the `chain` field holds it, and whether
    /// it had to be cut to [`MAX_CHAIN_CERTS`] and [`MAX_CHAIN_TEXT`]
    /// (whole certificates are kept, from the leaf on).
    pub fn encode_chain(ders: &[Vec<u8>]) -> (Vec<String>, bool) {
        use base64::Engine as _;
        let mut out = Vec::new();
        let mut text = 0;
        for der in ders.iter().take(MAX_CHAIN_CERTS) {
            let b64 = base64::engine::general_purpose::STANDARD.encode(der);
            if text + b64.len() > MAX_CHAIN_TEXT {
                return (out, true);
            }
            text += b64.len();
            out.push(b64);
        }
        let cut = ders.len() > out.len();
        (out, cut)
    }

    /// The chain's certificates as DER (entries that are not base64, which
    /// `Record::check` refuses, are skipped).
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        use base64::Engine as _;
        self.chain
            .iter()
            .filter_map(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
            .collect()
    }
}

/// One protocol version an endpoint accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsVersionFact {
    /// The version.
    pub version: TlsVersion,
    /// The cipher suites accepted with it, in the server's order of
    /// preference when it has one, else as found.
    pub suites: Vec<TlsSuite>,
    /// Whether the server imposes its own order (`null`: not determined,
    /// e.g. one suite only).
    pub server_order: Option<bool>,
}

/// A cipher suite: its code point, always, and its IANA name when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSuite {
    /// The code point in upper-case hex with `0x`: four digits for TLS and
    /// SSLv3 (`0x1301`), six for an SSLv2 cipher spec (`0x0700C0`).
    pub code: String,
    /// The IANA name (`TLS_AES_128_GCM_SHA256`); `null` for a code point
    /// the registry does not name, which is kept as its number.
    pub name: Option<String>,
}

/// A protocol version, as the reports name it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum TlsVersion {
    /// SSL 2.0.
    #[serde(rename = "SSLv2")]
    Ssl2,
    /// SSL 3.0.
    #[serde(rename = "SSLv3")]
    Ssl3,
    /// TLS 1.0.
    #[serde(rename = "TLSv1.0")]
    Tls10,
    /// TLS 1.1.
    #[serde(rename = "TLSv1.1")]
    Tls11,
    /// TLS 1.2.
    #[serde(rename = "TLSv1.2")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

impl TlsVersion {
    /// The version on the wire.
    pub fn protocol(self) -> ProtocolVersion {
        match self {
            Self::Ssl2 => ProtocolVersion::SSL2,
            Self::Ssl3 => ProtocolVersion::SSL3,
            Self::Tls10 => ProtocolVersion::TLS10,
            Self::Tls11 => ProtocolVersion::TLS11,
            Self::Tls12 => ProtocolVersion::TLS12,
            Self::Tls13 => ProtocolVersion::TLS13,
        }
    }

    /// The observation's name for a version on the wire; `None` for one
    /// it has no name for (a draft or unknown code point).
    pub fn from_protocol(v: ProtocolVersion) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.protocol() == v)
    }

    /// Every version, oldest first.
    pub const ALL: [Self; 6] =
        [Self::Ssl2, Self::Ssl3, Self::Tls10, Self::Tls11, Self::Tls12, Self::Tls13];
}

/// A protocol that upgrades a plaintext connection to TLS (STARTTLS), as
/// the spec and the reports name it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    /// IMAP (`STARTTLS`).
    Imap,
    /// POP3 (`STLS`).
    Pop3,
    /// PostgreSQL (`SSLRequest`).
    Postgres,
    /// SMTP (`STARTTLS` after `EHLO`).
    Smtp,
}

impl StartTls {
    /// The protocol on the wire.
    pub fn protocol(self) -> Protocol {
        match self {
            Self::Imap => Protocol::Imap,
            Self::Pop3 => Protocol::Pop3,
            Self::Postgres => Protocol::Postgres,
            Self::Smtp => Protocol::Smtp,
        }
    }

    /// The observation's name for a protocol on the wire.
    pub fn from_protocol(p: Protocol) -> Self {
        match p {
            Protocol::Imap => Self::Imap,
            Protocol::Pop3 => Self::Pop3,
            Protocol::Postgres => Self::Postgres,
            Protocol::Smtp => Self::Smtp,
        }
    }
}

/// The most certificates a `tls` line keeps of a chain.
pub const MAX_CHAIN_CERTS: usize = 10;

/// The most base64 characters a `tls` line keeps of a chain, so the line
/// stays under [`MAX_LINE_BYTES`] with room for the suites.
pub const MAX_CHAIN_TEXT: usize = 40 * 1024;

/// Why a DNS question was asked: which check of `dns:` it serves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum DnsCheck {
    /// A `dns.expect` entry (its `name` and `type`; `A` and `AAAA` for an
    /// `absent` entry without a type).
    Expect,
    /// A name that should not exist beside an `absent` entry's name (a
    /// random label under its parent, same types): an answer means the
    /// zone has a wildcard, so an answer for the absent name proves no leak.
    Wildcard,
    /// The zone apex of a name (an SOA question), for the transfer check.
    Apex,
    /// An AXFR of a zone, over TCP.
    Axfr,
    /// A name outside the server's authority, with recursion desired.
    Recursion,
    /// The target of a CNAME, to tell whether it dangles.
    CnameTarget,
}

/// One DNS question asked of one server from this vantage, and what came
/// back: the raw evidence, not a judgement (`verdict` judges it against
/// `dns:`). A CNAME chain the server did not finish is followed with more
/// questions, each its own line (`check: cname-target`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsFact {
    /// The server asked.
    pub server: IpAddr,
    /// Its port (53 unless the spec says otherwise).
    pub port: u16,
    /// What the question is for.
    pub check: DnsCheck,
    /// The name asked, lower case, fully qualified without the final dot,
    /// bytes outside printable ASCII (and `.` inside a label) escaped as
    /// `\DDD`; at most [`MAX_DNS_NAME`] characters.
    pub name: String,
    /// The type asked (`A`, `AAAA`, `CNAME`, `MX`, `TXT`, `NS`, `CAA`, `PTR`,
    /// `SOA`, `AXFR`...).
    pub rtype: String,
    /// Whether recursion was desired (RD).
    pub recursion_desired: bool,
    /// Whether a server was discovered by the port scan (53 open) rather
    /// than listed under `dns.servers`.
    pub discovered: bool,
    /// The transport of the answer that decided: `udp`, or `tcp` (AXFR, or
    /// a truncated UDP answer asked again).
    pub transport: Proto,
    /// The answer's RCODE (`NOERROR`, `NXDOMAIN`, `REFUSED`, `SERVFAIL`,
    /// ...); `null` when no valid answer came (then `error` says why).
    pub rcode: Option<String>,
    /// Authoritative answer (AA).
    pub authoritative: bool,
    /// Recursion available (RA).
    pub recursion_available: bool,
    /// The answer section, in the order received, at most
    /// [`MAX_DNS_RECORDS`] records and [`MAX_DNS_TEXT`] characters of
    /// names and values in all (an AXFR, or a huge answer, keeps the first
    /// ones and counts the rest in `records`).
    pub answers: Vec<DnsRecord>,
    /// The zone apex the answer's authority section names (its SOA owner),
    /// when it has one: where NXDOMAIN came from, or the apex an SOA
    /// question found.
    pub authority: Option<String>,
    /// Resource records received in all: the answer section's count, or
    /// every record of every message of an AXFR.
    pub records: u64,
    /// An AXFR ended with the zone's closing SOA (a whole zone came).
    pub complete: bool,
    /// Datagrams or connections used (retransmissions included).
    pub attempts: u8,
    /// Round trip of the deciding exchange, microseconds.
    pub rtt_us: Option<u64>,
    /// Why no valid answer came, or why a transfer stopped (a timeout, a
    /// malformed message, an answer from the wrong address or with the
    /// wrong id); `null` when none. At most `observe::MAX_NAME_BYTES`
    /// bytes.
    pub error: Option<String>,
    /// When the answer came (RFC 3339, UTC, milliseconds).
    pub at: String,
}

/// One resource record of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsRecord {
    /// Its owner name, lower case, without the final dot.
    pub name: String,
    /// Its type (`A`, `CNAME`...; `TYPE65280` for one without a name).
    pub rtype: String,
    /// Its TTL, seconds.
    pub ttl: u32,
    /// Its data in presentation form as `dig +short` prints it (names
    /// lower case without the final dot; TXT strings quoted), at most
    /// [`MAX_DNS_VALUE`] characters.
    pub value: String,
}

/// The most records a `dns` line keeps.
pub const MAX_DNS_RECORDS: usize = 200;

/// The most characters a `DnsRecord::value` keeps.
pub const MAX_DNS_VALUE: usize = 512;

/// The most characters of names and values a `dns` line's answers keep in
/// all. With [`MAX_DNS_NAME`] and the error's bound it keeps every `dns`
/// line under [`MAX_LINE_BYTES`] (even with every character escaped by
/// JSON), which 200 records of the longest names and values would not be.
pub const MAX_DNS_TEXT: usize = 16 * 1024;

/// The most characters of a name in a `dns` line (its `name`, `authority`
/// and each record's owner): a 255-byte wire name, every byte escaped as
/// `\DDD`, stays under it.
pub const MAX_DNS_NAME: usize = 1024;

/// The last line: how the run ended, and what it found in numbers.
///
/// `complete: false, interrupted: false` is a run that ended on its own
/// with probes left undecided (for example beyond the retry budget).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trailer {
    /// When the run ended (RFC 3339, UTC).
    pub ended: String,
    /// Every planned probe of the shard reached a conclusion.
    pub complete: bool,
    /// The run was stopped (Ctrl-C, SIGTERM) before it finished; never true
    /// together with `complete`.
    pub interrupted: bool,
    /// Packets or connection attempts sent, retries included.
    pub probes_sent: u64,
    /// Ports concluded open.
    pub open: u64,
    /// Ports concluded closed.
    pub closed: u64,
    /// Ports concluded filtered (in `port` lines and TCP `filtered` lines
    /// together).
    pub filtered: u64,
    /// Ports concluded open|filtered (in `port` lines and UDP `filtered`
    /// lines together).
    pub open_filtered: u64,
    /// Probes that failed locally (`local-error`).
    pub errors: u64,
}

/// Formats a time the way every observation field does: RFC 3339 in UTC
/// with exactly three fractional digits (`2026-03-01T12:00:01.250Z`).
/// Sub-millisecond digits are truncated.
pub fn timestamp(t: jiff::Timestamp) -> String {
    format!("{t:.3}")
}

/// Lower-case hex digits.
pub(super) const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds_in_utc() {
        let cases = [
            (0, 0, "1970-01-01T00:00:00.000Z"),
            (1_772_366_401, 250_999_999, "2026-03-01T12:00:01.250Z"),
            (1_772_366_401, 7_000_000, "2026-03-01T12:00:01.007Z"),
        ];
        for (secs, nanos, want) in cases {
            let t = jiff::Timestamp::new(secs, nanos).expect("in range");
            assert_eq!(timestamp(t), want);
        }
    }

    #[test]
    fn spec_digest_is_sha256_over_length_prefixed_files() {
        // sha256 of eight zero bytes (the length prefix of one empty file).
        assert_eq!(
            crate::spec::digest([&b""[..]]),
            "sha256:af5570f5a1810b7af78caf4bc70a660f0df51e42baf91d4de5b2328de0e83dfc"
        );
        // Moving a byte across the file boundary changes the digest.
        assert_ne!(
            crate::spec::digest([&b"ab"[..], b"c"]),
            crate::spec::digest([&b"a"[..], b"bc"])
        );
        assert_ne!(crate::spec::digest([&b"abc"[..]]), crate::spec::digest([&b"abc"[..], b""]));
    }

    #[test]
    fn reasons_have_stable_names() {
        let cases = [
            (Reason::ConnRefused, r#""conn-refused""#),
            (Reason::Connected, r#""connected""#),
            (Reason::HostUnreachable, r#""host-unreachable""#),
            (
                Reason::IcmpUnreachable { icmp_type: 3, code: 13 },
                r#"{"icmp-unreachable":{"type":3,"code":13}}"#,
            ),
            (Reason::LocalError, r#""local-error""#),
            (Reason::NoResponse, r#""no-response""#),
            (Reason::PortUnreachable, r#""port-unreachable""#),
            (Reason::Rst, r#""rst""#),
            (Reason::SelfConnect, r#""self-connect""#),
            (Reason::SynAck, r#""syn-ack""#),
            (Reason::UdpResponse, r#""udp-response""#),
        ];
        for (reason, json) in cases {
            assert_eq!(serde_json::to_string(&reason).ok().as_deref(), Some(json));
            assert_eq!(serde_json::from_str::<Reason>(json).ok(), Some(reason));
        }
    }

    #[test]
    fn starttls_protocols_are_named_as_the_spec_names_them() {
        for p in Protocol::ALL {
            let json = format!("\"{}\"", p.name());
            let named = StartTls::from_protocol(p);
            assert_eq!(named.protocol(), p);
            assert_eq!(serde_json::to_string(&named).ok(), Some(json.clone()));
            assert_eq!(serde_json::from_str::<StartTls>(&json).ok(), Some(named));
        }
    }

    #[test]
    fn states_are_named_as_nmap_names_them() {
        for state in
            [PortState::Open, PortState::Closed, PortState::Filtered, PortState::OpenFiltered]
        {
            let json = format!("\"{}\"", state.as_str());
            assert_eq!(serde_json::to_string(&state).ok(), Some(json.clone()));
            assert_eq!(serde_json::from_str::<PortState>(&json).ok(), Some(state));
        }
    }

    #[test]
    fn unknown_fields_and_kinds_are_refused() {
        let cases = [
            r#"{"kind":"trailer","ended":"2026-03-01T12:04:10.512Z","complete":true,"interrupted":false,"probes_sent":1,"open":0,"closed":0,"filtered":0,"open_filtered":0,"errors":0,"extra":1}"#,
            r#"{"kind":"footer"}"#,
            r#"{"kind":"filtered","target":"198.18.10.10","proto":"tcp","count":1,"ports":"1","attempts":2,"reason":{"icmp-unreachable":{"type":3,"code":13,"x":0}}}"#,
            r#"{"kind":"port","target":"198.18.10.10","proto":"sctp","port":1,"state":"open","reason":"syn-ack","attempts":1,"rtt_us":null,"banner":null,"at":"2026-03-01T12:04:10.512Z"}"#,
        ];
        for line in cases {
            assert!(serde_json::from_str::<Record>(line).is_err(), "accepted {line}");
        }
    }

    #[test]
    fn a_json_schema_can_be_generated() {
        // For a future `specs/observation.schema.json` next to the others.
        let schema = schemars::generate::SchemaSettings::draft07()
            .into_generator()
            .into_root_schema_for::<Record>();
        let text = schema.as_value().to_string();
        for word in ["\"header\"", "\"trailer\"", "open|filtered", "icmp-unreachable", "rtt_us"] {
            assert!(text.contains(word), "{word} missing from the schema");
        }
    }

    #[test]
    fn absent_optional_fields_read_as_null() {
        let line = r#"{"kind":"port","target":"::1","proto":"udp","port":53,"state":"open|filtered","reason":"no-response","attempts":3,"at":"2026-03-01T12:04:10.512Z"}"#;
        let Ok(Record::Port(fact)) = serde_json::from_str::<Record>(line) else {
            panic!("refused {line}")
        };
        assert_eq!((fact.rtt_us, fact.banner), (None, None));
    }
}
