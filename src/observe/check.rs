//! What the types alone cannot say about a record: times that parse, a
//! digest of the right shape, shard numbers in range, printable banners,
//! filtered port lists whose count matches. The reader applies
//! [`Record::check`] to every line and the writer to every record it is
//! given, so the writer never produces a file the reader refuses.
//!
//! Invariant: checking is pure and bounded by the record's size; problem
//! messages quote at most [`QUOTE_CHARS`] characters of what they found.

use super::MAX_BANNER_CHARS;
use super::observation::{
    DnsFact, FilteredSummary, Header, MAX_CHAIN_CERTS, MAX_CHAIN_TEXT, MAX_DNS_NAME,
    MAX_DNS_RECORDS, MAX_DNS_TEXT, MAX_DNS_VALUE, MAX_LINE_BYTES, PortFact, Record, SCHEMA_VERSION,
    TlsFact, Trailer,
};
use super::ports::{self, MAX_PORTS_TEXT};

/// How much of a bad value an error message quotes.
const QUOTE_CHARS: usize = 64;

/// The longest name a header carries (tool, version, spec path, vantage):
/// a path of `PATH_MAX` fits. With the banner and port-list bounds, it keeps
/// every valid record far under [`MAX_LINE_BYTES`], so re-encoding a record
/// that was read (which may spell it differently) never crosses the limit.
pub const MAX_NAME_BYTES: usize = 4096;

/// A record whose fields do not meet the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct InvalidRecord {
    /// The field at fault, as named in the file (`record` when the whole
    /// record is).
    pub field: &'static str,
    /// What is wrong with it, in words.
    pub problem: String,
}

impl InvalidRecord {
    fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self { field, problem: problem.into() }
    }
}

impl Record {
    /// Checks what the types cannot: every rule a record must meet to be
    /// written or read (see the `check` module docs).
    pub fn check(&self) -> Result<(), InvalidRecord> {
        match self {
            Self::Header(h) => check_header(h),
            Self::Port(p) => check_port(p),
            Self::Filtered(f) => check_filtered(f),
            Self::Tls(t) => check_tls(t),
            Self::Dns(d) => check_dns(d),
            Self::Trailer(t) => check_trailer(t),
        }
    }
}

/// Encodes one record as its line, `\n` included, after checking it and its
/// length. This is exactly what the writer writes.
pub fn encode_line(record: &Record) -> Result<Vec<u8>, InvalidRecord> {
    record.check()?;
    let mut line = serde_json::to_vec(record)
        .map_err(|e| InvalidRecord::new("record", format!("cannot be encoded: {e}")))?;
    // Unreachable while the field bounds above hold; kept so that a new
    // unbounded field cannot produce a line the reader refuses.
    if line.len() > MAX_LINE_BYTES {
        return Err(InvalidRecord::new(
            "record",
            format!("encodes to {} bytes, over the {MAX_LINE_BYTES}-byte line limit", line.len()),
        ));
    }
    line.push(b'\n');
    Ok(line)
}

fn check_header(h: &Header) -> Result<(), InvalidRecord> {
    if h.schema_version != SCHEMA_VERSION {
        return Err(InvalidRecord::new(
            "schema_version",
            format!("is {}, expected {SCHEMA_VERSION}", h.schema_version),
        ));
    }
    for (field, value) in
        [("tool", &h.tool), ("version", &h.version), ("spec", &h.spec), ("vantage", &h.vantage)]
    {
        if value.is_empty() {
            return Err(InvalidRecord::new(field, "is empty"));
        }
        if value.len() > MAX_NAME_BYTES {
            return Err(InvalidRecord::new(
                field,
                format!("is {} bytes long, expected at most {MAX_NAME_BYTES}", value.len()),
            ));
        }
    }
    if !is_digest(&h.spec_digest) {
        return Err(InvalidRecord::new(
            "spec_digest",
            format!(
                "is {}, expected \"sha256:\" and 64 lower-case hex digits",
                quote(&h.spec_digest)
            ),
        ));
    }
    if h.shard_count == 0 {
        return Err(InvalidRecord::new("shard_count", "is 0, expected at least 1"));
    }
    if h.shard_index >= h.shard_count {
        return Err(InvalidRecord::new(
            "shard_index",
            format!(
                "is {}, expected less than shard_count {} (shards count from 0)",
                h.shard_index, h.shard_count
            ),
        ));
    }
    if let Some(x) = &h.excluded
        && !is_digest(&x.digest)
    {
        return Err(InvalidRecord::new(
            "excluded.digest",
            format!("is {}, expected \"sha256:\" and 64 lower-case hex digits", quote(&x.digest)),
        ));
    }
    check_time("started", &h.started)
}

/// `sha256:` and 64 lower-case hex digits.
fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn check_port(p: &PortFact) -> Result<(), InvalidRecord> {
    if p.port == 0 {
        return Err(InvalidRecord::new("port", "is 0, expected 1-65535"));
    }
    if let Some(banner) = &p.banner {
        if banner.len() > MAX_BANNER_CHARS {
            return Err(InvalidRecord::new(
                "banner",
                format!("has {} characters, expected at most {MAX_BANNER_CHARS}", banner.len()),
            ));
        }
        if let Some(c) = banner.chars().find(|c| !(' '..='~').contains(c)) {
            return Err(InvalidRecord::new(
                "banner",
                format!("contains {c:?}, expected printable ASCII with \\xNN escapes"),
            ));
        }
    }
    check_time("at", &p.at)
}

fn check_filtered(f: &FilteredSummary) -> Result<(), InvalidRecord> {
    if f.ports.len() > MAX_PORTS_TEXT {
        return Err(InvalidRecord::new(
            "ports",
            format!(
                "is {} characters long, expected at most {MAX_PORTS_TEXT} (split long lists over several lines)",
                f.ports.len()
            ),
        ));
    }
    let set = ports::parse(&f.ports).map_err(|problem| InvalidRecord::new("ports", problem))?;
    if set.len() != f.count {
        return Err(InvalidRecord::new(
            "count",
            format!("is {}, but `ports` lists {} ports", f.count, set.len()),
        ));
    }
    Ok(())
}

fn check_dns(d: &DnsFact) -> Result<(), InvalidRecord> {
    if d.port == 0 {
        return Err(InvalidRecord::new("port", "is 0, expected 1-65535"));
    }
    let name_ok = |n: &str| {
        n.len() <= MAX_DNS_NAME
            && !n.ends_with('.')
            && n.chars().all(|c| c.is_ascii_graphic() && !c.is_ascii_uppercase())
    };
    if !name_ok(&d.name) {
        return Err(InvalidRecord::new(
            "name",
            format!(
                "is not a lower-case name of at most {MAX_DNS_NAME} bytes without the final dot"
            ),
        ));
    }
    let type_ok = |t: &str| {
        !t.is_empty()
            && t.len() <= 16
            && t.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    if !type_ok(&d.rtype) {
        return Err(InvalidRecord::new("rtype", "is not an upper-case record type"));
    }
    if d.answers.len() > MAX_DNS_RECORDS {
        return Err(InvalidRecord::new(
            "answers",
            format!("holds more than {MAX_DNS_RECORDS} records"),
        ));
    }
    let text: usize = d.answers.iter().map(|r| r.name.len() + r.value.chars().count()).sum();
    if text > MAX_DNS_TEXT {
        return Err(InvalidRecord::new(
            "answers",
            format!("holds more than {MAX_DNS_TEXT} characters of names and values"),
        ));
    }
    if (d.answers.len() as u64) > d.records {
        return Err(InvalidRecord::new("records", "is less than the answers listed"));
    }
    for r in &d.answers {
        if !name_ok(&r.name) || !type_ok(&r.rtype) {
            return Err(InvalidRecord::new("answers", "holds a record with a bad name or type"));
        }
        if r.value.chars().count() > MAX_DNS_VALUE {
            return Err(InvalidRecord::new(
                "answers",
                format!("holds a value longer than {MAX_DNS_VALUE} characters"),
            ));
        }
    }
    if d.rcode.is_none() && d.error.is_none() {
        return Err(InvalidRecord::new(
            "error",
            "is null while rcode is null: say why no answer came",
        ));
    }
    if d.authority.as_deref().is_some_and(|a| !name_ok(a)) {
        return Err(InvalidRecord::new(
            "authority",
            "is not a lower-case name without the final dot",
        ));
    }
    if d.attempts == 0 {
        return Err(InvalidRecord::new("attempts", "is 0"));
    }
    if d.error.as_ref().is_some_and(|e| e.len() > MAX_NAME_BYTES) {
        return Err(InvalidRecord::new("error", format!("is longer than {MAX_NAME_BYTES} bytes")));
    }
    check_time("at", &d.at)
}

fn check_tls(t: &TlsFact) -> Result<(), InvalidRecord> {
    use base64::Engine as _;
    if t.port == 0 {
        return Err(InvalidRecord::new("port", "is 0, expected 1-65535"));
    }
    if let Some(sni) = &t.sni
        && (sni.is_empty() || sni.len() > MAX_NAME_BYTES)
    {
        return Err(InvalidRecord::new(
            "sni",
            format!("is empty or longer than {MAX_NAME_BYTES} bytes"),
        ));
    }
    if t.plaintext.as_ref().is_some_and(|p| p.chars().count() > MAX_BANNER_CHARS) {
        return Err(InvalidRecord::new(
            "plaintext",
            format!("is longer than {MAX_BANNER_CHARS} characters"),
        ));
    }
    if t.speaks_tls && t.plaintext.is_some() {
        return Err(InvalidRecord::new("plaintext", "is set while speaks_tls is true"));
    }
    let mut seen = Vec::new();
    for v in &t.versions {
        if seen.contains(&v.version) || t.refused.contains(&v.version) {
            return Err(InvalidRecord::new(
                "versions",
                format!(
                    "names {} twice (or also as refused)",
                    serde_json::to_string(&v.version).unwrap_or_default()
                ),
            ));
        }
        seen.push(v.version);
        for s in &v.suites {
            let digits = s.code.strip_prefix("0x").unwrap_or_default();
            let hex = digits.chars().all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c));
            if !(hex && (digits.len() == 4 || digits.len() == 6)) {
                return Err(InvalidRecord::new(
                    "suites",
                    format!("has code {:?}, expected 0x and 4 or 6 upper-case hex digits", s.code),
                ));
            }
            if s.name.as_ref().is_some_and(|n| n.is_empty() || n.len() > MAX_NAME_BYTES) {
                return Err(InvalidRecord::new("suites", "has an empty or overlong name"));
            }
        }
    }
    if t.chain.len() > MAX_CHAIN_CERTS
        || t.chain.iter().map(String::len).sum::<usize>() > MAX_CHAIN_TEXT
    {
        return Err(InvalidRecord::new(
            "chain",
            format!(
                "holds more than {MAX_CHAIN_CERTS} certificates or {MAX_CHAIN_TEXT} characters"
            ),
        ));
    }
    for (i, c) in t.chain.iter().enumerate() {
        if base64::engine::general_purpose::STANDARD.decode(c).is_err() {
            return Err(InvalidRecord::new("chain", format!("certificate {i} is not base64")));
        }
    }
    if t.error.as_ref().is_some_and(|e| e.len() > MAX_NAME_BYTES) {
        return Err(InvalidRecord::new("error", format!("is longer than {MAX_NAME_BYTES} bytes")));
    }
    check_time("at", &t.at)
}

fn check_trailer(t: &Trailer) -> Result<(), InvalidRecord> {
    if t.complete && t.interrupted {
        return Err(InvalidRecord::new(
            "interrupted",
            "is true, but `complete` is true too; a run is one or the other",
        ));
    }
    check_time("ended", &t.ended)
}

/// A time must be RFC 3339 in UTC (`Z`), so files from vantages in different
/// zones compare as written.
fn check_time(field: &'static str, value: &str) -> Result<(), InvalidRecord> {
    if value.ends_with('Z') && value.parse::<jiff::Timestamp>().is_ok() {
        Ok(())
    } else {
        Err(InvalidRecord::new(
            field,
            format!(
                "is {}, expected an RFC 3339 time in UTC like 2026-03-01T12:00:01.250Z",
                quote(value)
            ),
        ))
    }
}

/// A bounded, escaped quotation of an untrusted value for an error message.
pub(super) fn quote(value: &str) -> String {
    let head: String = value.chars().take(QUOTE_CHARS).collect();
    if head.len() < value.len() { format!("{head:?}...") } else { format!("{head:?}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::observation::{Proto, Reason, ScanMode};
    use crate::observe::{
        DnsCheck, DnsRecord, ExclusionRecord, TlsSuite, TlsVersion, TlsVersionFact,
    };

    fn header() -> Header {
        Header {
            schema_version: SCHEMA_VERSION,
            tool: "vantage".into(),
            version: "0.1.0".into(),
            spec: "staging.yaml".into(),
            spec_digest: format!("sha256:{}", "ab".repeat(32)),
            vantage: "outside".into(),
            shard_index: 0,
            shard_count: 1,
            seed: 7,
            mode: ScanMode::Connect,
            started: "2026-03-01T12:00:00.000Z".into(),
            probes_planned: 10,
            excluded: None,
        }
    }

    fn fact() -> PortFact {
        PortFact {
            target: "198.18.10.10".parse().expect("literal address"),
            proto: Proto::Tcp,
            port: 22,
            state: super::super::PortState::Open,
            reason: Reason::SynAck,
            attempts: 1,
            rtt_us: Some(10),
            banner: Some("SSH-2.0\\r\\n".into()),
            at: "2026-03-01T12:00:00.000Z".into(),
        }
    }

    fn record() -> DnsRecord {
        DnsRecord {
            name: "www.example.test".into(),
            rtype: "A".into(),
            ttl: 300,
            value: "198.18.10.10".into(),
        }
    }

    fn dns() -> DnsFact {
        DnsFact {
            server: "198.18.10.53".parse().expect("address"),
            port: 53,
            check: DnsCheck::Expect,
            name: "www.example.test".into(),
            rtype: "A".into(),
            recursion_desired: true,
            discovered: false,
            transport: Proto::Udp,
            rcode: Some("NOERROR".into()),
            authoritative: true,
            recursion_available: false,
            answers: vec![record()],
            authority: None,
            records: 1,
            complete: false,
            attempts: 1,
            rtt_us: Some(800),
            error: None,
            at: "2026-03-01T12:00:00.000Z".into(),
        }
    }

    fn tls() -> TlsFact {
        TlsFact {
            target: "198.18.10.10".parse().expect("literal address"),
            port: 443,
            sni: Some("www.example.test".into()),
            starttls: None,
            speaks_tls: true,
            plaintext: None,
            versions: vec![TlsVersionFact {
                version: TlsVersion::Tls13,
                suites: vec![
                    TlsSuite { code: "0x1301".into(), name: Some("TLS_AES_128_GCM_SHA256".into()) },
                    TlsSuite { code: "0x0700C0".into(), name: None },
                ],
                server_order: Some(false),
            }],
            refused: vec![TlsVersion::Ssl3],
            chain: vec!["MIIB".into()],
            chain_truncated: false,
            ocsp_stapled: Some(false),
            error: None,
            at: "2026-03-01T12:00:00.000Z".into(),
        }
    }

    fn filtered(count: u32, ports: &str) -> Record {
        Record::Filtered(FilteredSummary {
            target: "::1".parse().expect("literal address"),
            proto: Proto::Udp,
            count,
            ports: ports.into(),
            attempts: 2,
            reason: Reason::NoResponse,
        })
    }

    /// (record, the field at fault, or None when valid)
    fn cases() -> Vec<(Record, Option<&'static str>)> {
        let h = header();
        let p = fact();
        vec![
            (Record::Header(h.clone()), None),
            (Record::Header(Header { schema_version: 2, ..h.clone() }), Some("schema_version")),
            (Record::Header(Header { vantage: String::new(), ..h.clone() }), Some("vantage")),
            (Record::Header(Header { spec: "s".repeat(MAX_NAME_BYTES), ..h.clone() }), None),
            (
                Record::Header(Header { spec: "s".repeat(MAX_NAME_BYTES + 1), ..h.clone() }),
                Some("spec"),
            ),
            (
                Record::Header(Header { spec_digest: "sha256:AB".into(), ..h.clone() }),
                Some("spec_digest"),
            ),
            (
                Record::Header(Header {
                    spec_digest: format!("sha256:{}", "AB".repeat(32)),
                    ..h.clone()
                }),
                Some("spec_digest"),
            ),
            (Record::Header(Header { shard_count: 0, ..h.clone() }), Some("shard_count")),
            (
                Record::Header(Header { shard_index: 3, shard_count: 3, ..h.clone() }),
                Some("shard_index"),
            ),
            (Record::Header(Header { shard_index: 2, shard_count: 3, ..h.clone() }), None),
            (
                Record::Header(Header {
                    excluded: Some(ExclusionRecord {
                        networks: 2,
                        digest: format!("sha256:{}", "cd".repeat(32)),
                        addresses: 3,
                        probes: 60,
                    }),
                    ..h.clone()
                }),
                None,
            ),
            (
                Record::Header(Header {
                    excluded: Some(ExclusionRecord {
                        networks: 2,
                        digest: "md5:00".into(),
                        addresses: 3,
                        probes: 60,
                    }),
                    ..h.clone()
                }),
                Some("excluded.digest"),
            ),
            (
                Record::Header(Header { started: "2026-03-01T13:00:00+01:00".into(), ..h.clone() }),
                Some("started"),
            ),
            (Record::Header(Header { started: "yesterday Z".into(), ..h }), Some("started")),
            (Record::Port(p.clone()), None),
            (Record::Port(PortFact { port: 0, ..p.clone() }), Some("port")),
            (Record::Port(PortFact { banner: Some("a\nb".into()), ..p.clone() }), Some("banner")),
            (Record::Port(PortFact { banner: Some("é".into()), ..p.clone() }), Some("banner")),
            (
                Record::Port(PortFact {
                    banner: Some("x".repeat(MAX_BANNER_CHARS + 1)),
                    ..p.clone()
                }),
                Some("banner"),
            ),
            (
                Record::Port(PortFact { banner: Some("x".repeat(MAX_BANNER_CHARS)), ..p.clone() }),
                None,
            ),
            (Record::Port(PortFact { at: String::new(), ..p }), Some("at")),
            (filtered(1, "1"), None),
            (filtered(1021, "1-21,23-79,81-442,444-1024"), None),
            (filtered(65535, "1-65535"), None),
            (filtered(2, "1-21"), Some("count")),
            (filtered(0, ""), Some("ports")),
            (filtered(2, "5,3"), Some("ports")),
            (filtered(3, "1-3,3"), Some("ports")),
            (filtered(1, "0"), Some("ports")),
            (filtered(1, "65536"), Some("ports")),
            (filtered(1, " 1"), Some("ports")),
            (filtered(3, "3-1"), Some("ports")),
            (
                filtered(
                    20_000,
                    &(1..=20_000).map(|p| p.to_string()).collect::<Vec<_>>().join(","),
                ),
                Some("ports"),
            ),
            (
                Record::Trailer(Trailer {
                    ended: "2026-03-01T12:00:00Z".into(),
                    complete: true,
                    interrupted: true,
                    probes_sent: 0,
                    open: 0,
                    closed: 0,
                    filtered: 0,
                    open_filtered: 0,
                    errors: 0,
                }),
                Some("interrupted"),
            ),
            (Record::Dns(dns()), None),
            (Record::Dns(DnsFact { port: 0, ..dns() }), Some("port")),
            (Record::Dns(DnsFact { name: "WWW.example.test".into(), ..dns() }), Some("name")),
            (Record::Dns(DnsFact { name: "www.example.test.".into(), ..dns() }), Some("name")),
            (Record::Dns(DnsFact { rtype: "a".into(), ..dns() }), Some("rtype")),
            (Record::Dns(DnsFact { records: 0, ..dns() }), Some("records")),
            (Record::Dns(DnsFact { rcode: None, ..dns() }), Some("error")),
            (Record::Dns(DnsFact { attempts: 0, ..dns() }), Some("attempts")),
            (Record::Dns(DnsFact { name: "a".repeat(MAX_DNS_NAME + 1), ..dns() }), Some("name")),
            (
                Record::Dns(DnsFact { error: Some("e".repeat(MAX_NAME_BYTES + 1)), ..dns() }),
                Some("error"),
            ),
            (
                Record::Dns(DnsFact {
                    answers: vec![
                        DnsRecord { value: "v".repeat(MAX_DNS_VALUE), ..record() };
                        MAX_DNS_TEXT / MAX_DNS_VALUE
                    ],
                    records: 1000,
                    ..dns()
                }),
                Some("answers"),
            ),
            (
                Record::Dns(DnsFact {
                    answers: vec![DnsRecord { value: "x".repeat(MAX_DNS_VALUE + 1), ..record() }],
                    ..dns()
                }),
                Some("answers"),
            ),
            (
                Record::Dns(DnsFact {
                    answers: vec![record(); MAX_DNS_RECORDS + 1],
                    records: 999,
                    ..dns()
                }),
                Some("answers"),
            ),
            (Record::Tls(tls()), None),
            (Record::Tls(TlsFact { port: 0, ..tls() }), Some("port")),
            (Record::Tls(TlsFact { sni: Some(String::new()), ..tls() }), Some("sni")),
            (
                Record::Tls(TlsFact { plaintext: Some("HTTP/1.0".into()), ..tls() }),
                Some("plaintext"),
            ),
            (
                Record::Tls(TlsFact {
                    speaks_tls: false,
                    plaintext: Some("HTTP/1.0".into()),
                    ..tls()
                }),
                None,
            ),
            (Record::Tls(TlsFact { refused: vec![TlsVersion::Tls13], ..tls() }), Some("versions")),
            (Record::Tls(TlsFact { chain: vec!["not base64!".into()], ..tls() }), Some("chain")),
            (Record::Tls(TlsFact { chain: vec!["AAAA".into(); 11], ..tls() }), Some("chain")),
            (Record::Tls(TlsFact { at: "2026-03-01T13:00:00+01:00".into(), ..tls() }), Some("at")),
            (
                Record::Tls(TlsFact {
                    versions: vec![TlsVersionFact {
                        version: TlsVersion::Tls12,
                        suites: vec![TlsSuite { code: "0xc02f".into(), name: None }],
                        server_order: None,
                    }],
                    ..tls()
                }),
                Some("suites"),
            ),
        ]
    }

    #[test]
    fn a_chain_is_kept_whole_certificate_by_certificate_within_the_limits() {
        let small = vec![vec![0x30, 0x82, 1, 2]; 3];
        let (chain, cut) = TlsFact::encode_chain(&small);
        assert_eq!((chain.len(), cut), (3, false));
        assert_eq!(TlsFact { chain, ..tls() }.chain_der(), small);
        // Too many certificates: the first ten are kept.
        let (chain, cut) = TlsFact::encode_chain(&vec![vec![1u8; 10]; MAX_CHAIN_CERTS + 2]);
        assert_eq!((chain.len(), cut), (MAX_CHAIN_CERTS, true));
        // A huge certificate after the leaf: the leaf is kept, the line valid.
        let (chain, cut) = TlsFact::encode_chain(&[vec![1u8; 100], vec![2u8; MAX_CHAIN_TEXT]]);
        assert_eq!((chain.len(), cut), (1, true));
        assert_eq!(Record::Tls(TlsFact { chain, chain_truncated: cut, ..tls() }).check(), Ok(()));
    }

    #[test]
    fn records_are_checked_field_by_field() {
        for (record, want) in cases() {
            let got = record.check().err().map(|e| e.field);
            assert_eq!(got, want, "{record:?}");
        }
    }

    #[test]
    fn encoding_refuses_what_check_refuses_and_oversized_lines() {
        for (record, want) in cases() {
            let line = encode_line(&record);
            assert_eq!(line.as_ref().err().map(|e| e.field), want, "{record:?}");
            if let Ok(line) = line {
                assert_eq!(line.last(), Some(&b'\n'));
                assert_eq!(serde_json::from_slice::<Record>(&line).ok(), Some(record));
            }
        }
        let huge = Record::Header(Header { spec: "s".repeat(MAX_LINE_BYTES), ..header() });
        assert_eq!(encode_line(&huge).err().map(|e| e.field), Some("spec"));
    }

    #[test]
    fn quotes_are_bounded_and_escaped() {
        assert_eq!(quote("a\"b"), r#""a\"b""#);
        let long = quote(&"\u{1b}".repeat(1000));
        assert!(long.len() < 10 * QUOTE_CHARS && long.ends_with("..."), "{long}");
    }
}
