//! Certificate classification: what is wrong with the chain an endpoint
//! presented, judged against trust anchors, the host's declared names, a
//! clock and a policy's limits (issue 5).
//!
//! Pure: no I/O and no clock (`now` is in `CertContext`); the caller reads
//! the CA file and hands us bytes. The chain is untrusted peer input: each
//! element must parse as exactly one DER certificate (trailing bytes make it
//! `Malformed`), and nothing here panics on any input (fuzzed by
//! `fuzz/fuzz_targets/tls_cert_classify.rs`).
//!
//! Parsing is x509-parser's; signatures are checked with its `verify`
//! feature (ring). We build and judge the path ourselves instead of asking
//! rustls-webpki, because webpki answers one error for the whole chain
//! (`UnknownIssuer` covers a missing intermediate, an untrusted root and a
//! wrong order alike) while a finding must say which it is and show every
//! problem at once. Signatures ring cannot check (MD5, DSA, RSA keys under
//! 2048 bits with SHA-2) are "unverifiable", not "bad": the weakness is
//! reported as such, not as an untrusted chain. The price: such a link is
//! accepted on names alone (ring also lacks ecdsa-with-SHA512 and P-521),
//! so a forged chain using those algorithms reads as trusted. Not checked
//! at all: basic constraints and path length, key and extended key usage,
//! name constraints, revocation; issuers are matched by subject name, not
//! by key identifier.

use std::fmt;
use std::net::IpAddr;

use jiff::Timestamp;
use x509_parser::error::X509Error;
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate, X509Name};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

/// What classification needs besides the chain.
#[derive(Debug, Clone)]
pub struct CertContext<'a> {
    /// The time to judge validity at.
    pub now: Timestamp,
    /// DNS names the host is declared with; each must be covered.
    pub names: &'a [String],
    /// Addresses the host is declared with; checked only when it has no
    /// DNS name (a client then connects by address).
    pub addresses: &'a [IpAddr],
    /// Whether to check names at all (a policy's `hostname: false`).
    pub check_hostname: bool,
    /// The anchors a chain must end in.
    pub anchors: &'a TrustAnchors,
    /// Days of validity that must remain.
    pub min_days_left: u32,
    /// Smallest acceptable RSA modulus, in bits.
    pub min_rsa_bits: u32,
    /// Longest acceptable leaf lifetime, in days, when the profile sets one.
    pub max_lifetime_days: Option<u32>,
}

/// One trust anchor: a subject and its public key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Anchor {
    /// The subject Name's DER contents (without the outer SEQUENCE header,
    /// as webpki-roots stores it).
    subject: Vec<u8>,
    /// The whole SubjectPublicKeyInfo DER.
    spki: Vec<u8>,
}

/// The set of CAs a chain must end in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustAnchors {
    anchors: Vec<Anchor>,
}

impl TrustAnchors {
    /// Mozilla's root program as compiled into `webpki-roots`: the default
    /// when a policy names no `trusted_ca`. Chosen over `/etc/ssl/certs`
    /// so a verdict is the same on every machine that judges the same
    /// observations (a CI runner's store is not the engineer's), and so
    /// this module stays free of I/O.
    pub fn webpki_roots() -> Self {
        let anchors = webpki_roots::TLS_SERVER_ROOTS
            .iter()
            .map(|ta| Anchor {
                subject: ta.subject.as_ref().to_vec(),
                spki: wrap_sequence(ta.subject_public_key_info.as_ref()),
            })
            .collect();
        Self { anchors }
    }

    /// No anchor at all: nothing is trusted. For judging what does not
    /// involve trust (versions and suites).
    pub fn empty() -> Self {
        Self { anchors: Vec::new() }
    }

    /// Anchors from DER certificates (what a `trusted_ca` PEM file holds).
    pub fn from_der(certs: &[Vec<u8>]) -> Result<Self, CertError> {
        let mut anchors = Vec::new();
        for (i, der) in certs.iter().enumerate() {
            let cert = parse_one(der).map_err(|e| CertError::BadAnchor { index: i, error: e })?;
            anchors.push(Anchor {
                subject: name_contents(cert.subject()).to_vec(),
                spki: cert.public_key().raw.to_vec(),
            });
        }
        Ok(Self { anchors })
    }

    /// Anchors from the text of a PEM file; every `CERTIFICATE` block
    /// counts, other blocks are ignored. A file with none is an error.
    pub fn from_pem(pem: &[u8]) -> Result<Self, CertError> {
        let mut ders = Vec::new();
        for block in x509_parser::pem::Pem::iter_from_buffer(pem) {
            let block = block.map_err(|e| CertError::BadPem { error: e.to_string() })?;
            if block.label == "CERTIFICATE" {
                ders.push(block.contents);
            }
        }
        if ders.is_empty() {
            return Err(CertError::BadPem { error: "no CERTIFICATE block".to_owned() });
        }
        Self::from_der(&ders)
    }

    /// How many anchors there are.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    fn by_subject<'s>(&'s self, subject: &'s [u8]) -> impl Iterator<Item = &'s Anchor> + 's {
        self.anchors.iter().filter(move |a| a.subject == subject)
    }

    fn contains(&self, cert: &X509Certificate<'_>) -> bool {
        let subject = name_contents(cert.subject());
        self.by_subject(subject).any(|a| a.spki == cert.public_key().raw)
    }
}

/// A local failure reading trust anchors (our configuration, not the peer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// A CA certificate does not parse.
    #[error("trusted CA certificate #{} does not parse: {error}", index + 1)]
    BadAnchor {
        /// Its position in the file.
        index: usize,
        /// Why.
        error: String,
    },
    /// The CA file is not PEM.
    #[error("trusted CA file is not usable PEM: {error}")]
    BadPem {
        /// Why.
        error: String,
    },
}

/// Kind and size of a certificate's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyInfo {
    /// An elliptic-curve key on a named curve.
    Ec {
        /// The curve ("prime256v1") or its OID.
        curve: String,
        /// Field size in bits.
        bits: u32,
    },
    /// Ed25519.
    Ed25519,
    /// Anything else, by algorithm OID.
    Other {
        /// The algorithm OID.
        oid: String,
    },
    /// RSA.
    Rsa {
        /// Modulus size in bits.
        bits: u32,
    },
}

impl fmt::Display for KeyInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ec { curve, bits } => write!(f, "EC {curve} ({bits} bits)"),
            Self::Ed25519 => f.write_str("Ed25519"),
            Self::Other { oid } => write!(f, "key {oid}"),
            Self::Rsa { bits } => write!(f, "RSA {bits} bits"),
        }
    }
}

/// A weak hash in a signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakHash {
    /// MD2.
    Md2,
    /// MD5.
    Md5,
    /// SHA-1.
    Sha1,
}

impl fmt::Display for WeakHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Md2 => "MD2",
            Self::Md5 => "MD5",
            Self::Sha1 => "SHA-1",
        })
    }
}

/// What a finding shows of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// Where it was in the chain as sent (0 is the leaf).
    pub position: usize,
    /// Subject, RFC 4514 style.
    pub subject: String,
    /// Issuer, RFC 4514 style.
    pub issuer: String,
    /// Serial number, colon-separated hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: Timestamp,
    /// End of validity.
    pub not_after: Timestamp,
    /// Subject alternative names ("DNS:a.example", "IP:192.0.2.1").
    pub san: Vec<String>,
    /// The public key.
    pub key: KeyInfo,
    /// The signature algorithm's name ("sha256WithRSAEncryption") or OID.
    pub signature: String,
}

impl fmt::Display for CertSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} subject \"{}\", issuer \"{}\", serial {}, valid {} to {}, {}, signed {}",
            self.position,
            self.subject,
            self.issuer,
            self.serial,
            self.not_before,
            self.not_after,
            self.key,
            self.signature
        )?;
        if !self.san.is_empty() {
            write!(f, ", SAN {}", self.san.join(" "))?;
        }
        Ok(())
    }
}

/// Why a chain is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UntrustedReason {
    /// A signature in the chain does not verify under its issuer's key.
    BadSignature,
    /// The chain ends in a self-signed certificate that is no anchor.
    UnknownRoot,
}

/// One problem with a chain. Variants carry the certificate they are about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertProblem {
    /// Past its `not_after`.
    Expired {
        /// The certificate.
        cert: CertSummary,
    },
    /// Valid now, but for fewer than `min_days_left` days.
    Expiring {
        /// The certificate.
        cert: CertSummary,
        /// Whole days left.
        days_left: i64,
        /// The policy's minimum.
        min_days_left: u32,
    },
    /// The leaf has no SAN, and a declared name matches only its common
    /// name, which browsers ignore.
    HostnameInCommonNameOnly {
        /// The leaf.
        cert: CertSummary,
        /// The names matched only through the CN.
        names: Vec<String>,
    },
    /// The leaf does not cover every declared name.
    HostnameMismatch {
        /// The leaf.
        cert: CertSummary,
        /// Declared names (or addresses) it does not cover.
        uncovered: Vec<String>,
    },
    /// The leaf is valid for longer than the profile allows.
    LifetimeTooLong {
        /// The leaf.
        cert: CertSummary,
        /// Its lifetime in whole days.
        days: i64,
        /// The profile's maximum.
        max_days: u32,
    },
    /// A chain element that is not one DER certificate.
    Malformed {
        /// Its position in the chain.
        position: usize,
        /// The parser's complaint.
        error: String,
    },
    /// The chain stops at a certificate whose issuer is neither sent nor
    /// an anchor.
    MissingIntermediate {
        /// The last certificate of the path.
        cert: CertSummary,
    },
    /// The endpoint sent no certificate.
    NoCertificate,
    /// Before its `not_before`.
    NotYetValid {
        /// The certificate.
        cert: CertSummary,
    },
    /// The leaf signs itself and is not an anchor.
    SelfSigned {
        /// The leaf.
        cert: CertSummary,
    },
    /// The chain does not lead to an anchor.
    UntrustedIssuer {
        /// The certificate where trust fails.
        cert: CertSummary,
        /// How it fails.
        reason: UntrustedReason,
    },
    /// An RSA key smaller than the policy's minimum.
    WeakKey {
        /// The certificate.
        cert: CertSummary,
        /// Its modulus size.
        bits: u32,
        /// The minimum.
        min_bits: u32,
    },
    /// Signed with a broken hash.
    WeakSignature {
        /// The certificate so signed.
        cert: CertSummary,
        /// The hash.
        hash: WeakHash,
    },
    /// The certificates lead to each other, but not in the order sent.
    WrongOrder {
        /// Positions as sent, in the order the path needs them.
        path: Vec<usize>,
    },
}

/// The judgement of one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertReport {
    /// The leaf, when it parses.
    pub leaf: Option<CertSummary>,
    /// Every problem found.
    pub problems: Vec<CertProblem>,
}

/// Classifies a chain as sent (leaf first). Never fails: what is wrong
/// with the peer's bytes is a problem in the report.
pub fn classify(chain: &[Vec<u8>], ctx: &CertContext<'_>) -> CertReport {
    let mut problems = Vec::new();
    if chain.is_empty() {
        return CertReport { leaf: None, problems: vec![CertProblem::NoCertificate] };
    }
    // Parsed certificates with their position; malformed ones drop out.
    let mut certs: Vec<(usize, X509Certificate<'_>)> = Vec::new();
    for (position, der) in chain.iter().enumerate() {
        match parse_one(der) {
            Ok(c) => certs.push((position, c)),
            Err(error) => problems.push(CertProblem::Malformed { position, error }),
        }
    }
    let summaries: Vec<CertSummary> = certs.iter().map(|(p, c)| summarize(*p, c)).collect();
    let Some((0, leaf)) = certs.first() else {
        return CertReport { leaf: None, problems };
    };
    let leaf_summary = summaries.first().cloned();
    let now = ctx.now.as_second();

    for ((_, c), s) in certs.iter().zip(&summaries) {
        let (from, to) = (c.validity().not_before.timestamp(), c.validity().not_after.timestamp());
        if now > to {
            problems.push(CertProblem::Expired { cert: s.clone() });
        } else if now < from {
            problems.push(CertProblem::NotYetValid { cert: s.clone() });
        } else {
            let days_left = (to - now) / 86_400;
            if days_left < i64::from(ctx.min_days_left) {
                problems.push(CertProblem::Expiring {
                    cert: s.clone(),
                    days_left,
                    min_days_left: ctx.min_days_left,
                });
            }
        }
        if let KeyInfo::Rsa { bits } = s.key
            && bits < ctx.min_rsa_bits
        {
            problems.push(CertProblem::WeakKey {
                cert: s.clone(),
                bits,
                min_bits: ctx.min_rsa_bits,
            });
        }
        // A root's own signature is never checked by clients, so a
        // self-signed CA signed with SHA-1 is harmless; a self-signed leaf
        // is reported as self-signed first, and its hash too.
        if let Some(hash) = weak_hash(&c.signature_algorithm.algorithm.to_id_string())
            && (!is_self_issued(c) || s.position == 0)
        {
            problems.push(CertProblem::WeakSignature { cert: s.clone(), hash });
        }
    }

    if let (Some(max), Some(s)) = (ctx.max_lifetime_days, &leaf_summary) {
        let days = (s.not_after.as_second() - s.not_before.as_second()) / 86_400;
        if days > i64::from(max) {
            problems.push(CertProblem::LifetimeTooLong { cert: s.clone(), days, max_days: max });
        }
    }

    path_problems(&certs, &summaries, ctx.anchors, &mut problems);

    if ctx.check_hostname
        && let Some(s) = &leaf_summary
    {
        hostname_problems(leaf, s, ctx, &mut problems);
    }
    CertReport { leaf: leaf_summary, problems }
}

/// Builds the path from the leaf and reports where trust fails and whether
/// the sent order differs from the path's.
fn path_problems(
    certs: &[(usize, X509Certificate<'_>)],
    summaries: &[CertSummary],
    anchors: &TrustAnchors,
    problems: &mut Vec<CertProblem>,
) {
    let Some((_, leaf)) = certs.first() else { return };
    if anchors.contains(leaf) {
        return; // A pinned certificate: trusted as it is.
    }
    let mut path = vec![0usize]; // Indices into `certs`.
    let mut used = vec![false; certs.len()];
    if let Some(u) = used.first_mut() {
        *u = true;
    }
    loop {
        let Some(&cur_i) = path.last() else { return };
        let Some((_, cur)) = certs.get(cur_i) else { return };
        let Some(cur_s) = summaries.get(cur_i) else { return };
        let issuer = name_contents(cur.issuer());
        // An anchor that signed it ends the path, trusted.
        let mut anchor_named = false;
        for a in anchors.by_subject(issuer) {
            anchor_named = true;
            let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(&a.spki) else { continue };
            if check_signature(cur, &spki) != Link::Bad {
                order_problem(certs, &path, problems);
                return;
            }
        }
        if is_self_issued(cur) {
            if cur_i == 0 {
                problems.push(CertProblem::SelfSigned { cert: cur_s.clone() });
            } else {
                problems.push(CertProblem::UntrustedIssuer {
                    cert: cur_s.clone(),
                    reason: UntrustedReason::UnknownRoot,
                });
                order_problem(certs, &path, problems);
            }
            return;
        }
        if anchor_named {
            problems.push(CertProblem::UntrustedIssuer {
                cert: cur_s.clone(),
                reason: UntrustedReason::BadSignature,
            });
            return;
        }
        // The issuer among the certificates sent, preferring one whose
        // signature checks out.
        let candidates: Vec<usize> = certs
            .iter()
            .enumerate()
            .filter(|(i, (_, c))| {
                !used.get(*i).copied().unwrap_or(true) && name_contents(c.subject()) == issuer
            })
            .map(|(i, _)| i)
            .collect();
        if candidates.is_empty() {
            problems.push(CertProblem::MissingIntermediate { cert: cur_s.clone() });
            order_problem(certs, &path, problems);
            return;
        }
        let good = candidates.iter().copied().find(|&i| {
            certs.get(i).is_some_and(|(_, c)| check_signature(cur, c.public_key()) != Link::Bad)
        });
        let Some(next) = good else {
            problems.push(CertProblem::UntrustedIssuer {
                cert: cur_s.clone(),
                reason: UntrustedReason::BadSignature,
            });
            return;
        };
        if let Some(u) = used.get_mut(next) {
            *u = true;
        }
        path.push(next);
    }
}

/// Reports `WrongOrder` when the path's certificates were not sent leaf,
/// its issuer, that one's issuer, and so on (extra certificates after the
/// path are tolerated, as clients do).
fn order_problem(
    certs: &[(usize, X509Certificate<'_>)],
    path: &[usize],
    problems: &mut Vec<CertProblem>,
) {
    let positions: Vec<usize> =
        path.iter().filter_map(|&i| certs.get(i).map(|(p, _)| *p)).collect();
    if positions.iter().enumerate().any(|(k, &p)| k != p) {
        problems.push(CertProblem::WrongOrder { path: positions });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Bad,
    Unverifiable,
    Verified,
}

fn check_signature(cert: &X509Certificate<'_>, signer: &SubjectPublicKeyInfo<'_>) -> Link {
    match cert.verify_signature(Some(signer)) {
        Ok(()) => Link::Verified,
        Err(X509Error::SignatureUnsupportedAlgorithm) => Link::Unverifiable,
        // ring refuses RSA keys under 2048 bits for SHA-2 signatures; such
        // a key is reported as weak, not the chain as forged.
        Err(_) if matches!(key_info(signer), KeyInfo::Rsa { bits } if bits < 2048) => {
            Link::Unverifiable
        }
        Err(_) => Link::Bad,
    }
}

fn hostname_problems(
    leaf: &X509Certificate<'_>,
    s: &CertSummary,
    ctx: &CertContext<'_>,
    problems: &mut Vec<CertProblem>,
) {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    let mut has_san = false;
    for ext in leaf.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            has_san = true;
            for n in &san.general_names {
                match n {
                    GeneralName::DNSName(d) => dns.push((*d).to_owned()),
                    GeneralName::IPAddress(b) => ips.extend(ip_from_bytes(b)),
                    _ => {}
                }
            }
        }
    }
    let wanted: Vec<String> = if ctx.names.is_empty() {
        ctx.addresses.iter().map(ToString::to_string).collect()
    } else {
        ctx.names.to_vec()
    };
    let covered = |w: &str, dns: &[String], ips: &[IpAddr]| match w.parse::<IpAddr>() {
        Ok(ip) => ips.contains(&ip),
        Err(_) => dns.iter().any(|d| dns_matches(d, w)),
    };
    let uncovered: Vec<String> =
        wanted.iter().filter(|w| !covered(w, &dns, &ips)).cloned().collect();
    if uncovered.is_empty() {
        return;
    }
    if !has_san {
        let cns: Vec<String> = leaf
            .subject()
            .iter_common_name()
            .filter_map(|cn| cn.as_str().ok().map(str::to_owned))
            .collect();
        let (by_cn, rest): (Vec<String>, Vec<String>) =
            uncovered.into_iter().partition(|w| covered(w, &cns, &[]));
        if !by_cn.is_empty() {
            problems.push(CertProblem::HostnameInCommonNameOnly { cert: s.clone(), names: by_cn });
        }
        if !rest.is_empty() {
            problems.push(CertProblem::HostnameMismatch { cert: s.clone(), uncovered: rest });
        }
        return;
    }
    problems.push(CertProblem::HostnameMismatch { cert: s.clone(), uncovered });
}

/// RFC 6125 section 6.4: case-insensitive; a wildcard only as the whole
/// leftmost label, matching exactly one label, and never directly under a
/// public suffix-like single label (`*.com`).
pub fn dns_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if pattern.is_empty() || name.is_empty() {
        return false;
    }
    match pattern.strip_prefix("*.") {
        None => !pattern.contains('*') && pattern == name,
        Some(rest) => {
            if rest.contains('*') || !rest.contains('.') {
                return false;
            }
            match name.split_once('.') {
                Some((first, tail)) => !first.is_empty() && tail == rest,
                None => false,
            }
        }
    }
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        return Some(IpAddr::from(v4));
    }
    <[u8; 16]>::try_from(b).ok().map(IpAddr::from)
}

/// Exactly one DER certificate, no trailing bytes.
fn parse_one(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok((rest, _)) => Err(format!("{} bytes after the certificate", rest.len())),
        Err(e) => Err(e.to_string()),
    }
}

fn is_self_issued(c: &X509Certificate<'_>) -> bool {
    c.subject().as_raw() == c.issuer().as_raw()
}

/// A Name's DER without its outer SEQUENCE header, the form webpki-roots
/// keeps; x509-parser's raw names always carry a well-formed header (it
/// parsed them), so a failure here only means "compare the whole thing".
fn name_contents<'a>(name: &X509Name<'a>) -> &'a [u8] {
    strip_sequence(name.as_raw()).unwrap_or(name.as_raw())
}

fn strip_sequence(der: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = der.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len_bytes, rest) = rest.split_at(n);
        (len_bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), rest)
    };
    (rest.len() == len).then_some(rest)
}

fn wrap_sequence(contents: &[u8]) -> Vec<u8> {
    let len = contents.len();
    let mut out = vec![0x30];
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

fn summarize(position: usize, c: &X509Certificate<'_>) -> CertSummary {
    let mut san = Vec::new();
    for ext in c.extensions() {
        if let ParsedExtension::SubjectAlternativeName(s) = ext.parsed_extension() {
            for n in &s.general_names {
                match n {
                    GeneralName::DNSName(d) => san.push(format!("DNS:{d}")),
                    GeneralName::IPAddress(b) => match ip_from_bytes(b) {
                        Some(ip) => san.push(format!("IP:{ip}")),
                        None => san.push("IP:(malformed)".to_owned()),
                    },
                    _ => {}
                }
            }
        }
    }
    let time = |t: i64| Timestamp::from_second(t).unwrap_or(Timestamp::UNIX_EPOCH);
    let oid = c.signature_algorithm.algorithm.to_id_string();
    CertSummary {
        position,
        subject: c.subject().to_string(),
        issuer: c.issuer().to_string(),
        serial: c.raw_serial_as_string(),
        not_before: time(c.validity().not_before.timestamp()),
        not_after: time(c.validity().not_after.timestamp()),
        san,
        key: key_info(c.public_key()),
        signature: signature_name(&oid).map_or(oid.clone(), str::to_owned),
    }
}

fn key_info(spki: &SubjectPublicKeyInfo<'_>) -> KeyInfo {
    let oid = spki.algorithm.algorithm.to_id_string();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            KeyInfo::Rsa { bits: u32::try_from(rsa.key_size()).unwrap_or(u32::MAX) }
        }
        Ok(PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            let name = match curve.as_str() {
                "1.2.840.10045.3.1.7" => "prime256v1".to_owned(),
                "1.3.132.0.34" => "secp384r1".to_owned(),
                "1.3.132.0.35" => "secp521r1".to_owned(),
                _ => curve,
            };
            KeyInfo::Ec { curve: name, bits: u32::try_from(point.key_size()).unwrap_or(0) }
        }
        _ if oid == "1.3.101.112" => KeyInfo::Ed25519,
        _ => KeyInfo::Other { oid },
    }
}

/// Names of the signature algorithms Mozilla's profiles and this module
/// speak of (OpenSSL's names, as the guidelines use them).
fn signature_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10040.4.3" => "dsa-with-SHA1",
        "1.3.101.112" => "ED25519",
        _ => return None,
    })
}

fn weak_hash(oid: &str) -> Option<WeakHash> {
    match oid {
        "1.2.840.113549.1.1.2" => Some(WeakHash::Md2),
        "1.2.840.113549.1.1.4" => Some(WeakHash::Md5),
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" | "1.2.840.10045.4.1" | "1.2.840.10040.4.3" => {
            Some(WeakHash::Sha1)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
