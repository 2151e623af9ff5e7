//! TLS policy evaluation: an effective policy (a Mozilla profile plus the
//! spec's overrides) against what one endpoint was observed to do, giving
//! violations that map onto DESIGN.md's finding rules (issue 5).
//!
//! Pure: the observation is a plain struct, `now` a parameter, cipher suite
//! names come through a lookup function (the wire codec's registry, once
//! merged; `names::iana_name` until then).
//!
//! Not yet wired into `verdict`: the observation format for TLS does not
//! exist yet. Two facts have no rule of their own in DESIGN.md's list and
//! borrow the nearest one, said in their evidence: a missing OCSP staple
//! is `tls-protocol` (a handshake feature the server does not offer), and
//! a leaf lifetime above the profile's cap is `tls-cert-untrusted`
//! (browsers refuse certificates valid for over 398 days).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use jiff::Timestamp;

use super::cert::{self, CertContext, CertProblem, TrustAnchors, UntrustedReason};
use super::names::{self, ProtocolVersion, SuiteNames};
use super::profile::{Profile, ProfileError};
use crate::report::document::{Rule, Severity};
use crate::spec::intent::TlsPolicy;

/// The RSA key size a policy requires when neither the profile nor the
/// spec sets one (Mozilla's modern profile leaves it null: it has no RSA).
pub const DEFAULT_MIN_RSA_BITS: u32 = 2048;

/// Days of validity that must remain when the spec does not say.
pub const DEFAULT_MIN_DAYS_LEFT: u32 = 14;

/// A profile with the spec's overrides applied.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The Mozilla profile it starts from.
    pub profile: Profile,
    /// Lowest version allowed; when set, every version from it up is
    /// allowed, replacing the profile's list.
    pub min_version: Option<ProtocolVersion>,
    /// Suites (IANA names) allowed besides the profile's.
    pub allow: Vec<String>,
    /// Suites (IANA names) forbidden even if the profile lists them.
    pub deny: Vec<String>,
    /// Smallest RSA key, in bits.
    pub min_rsa_bits: u32,
    /// Whether the certificate must match the host's names.
    pub hostname: bool,
    /// The CAs a chain must end in.
    pub anchors: TrustAnchors,
    /// Days of validity that must remain.
    pub min_days_left: u32,
    /// Whether an OCSP response must be stapled.
    pub require_ocsp_staple: bool,
}

impl Policy {
    /// The profile as published, with Mozilla's roots and the defaults.
    pub fn new(profile: Profile) -> Self {
        Self {
            min_rsa_bits: profile.rsa_key_size.unwrap_or(DEFAULT_MIN_RSA_BITS),
            profile,
            min_version: None,
            allow: Vec::new(),
            deny: Vec::new(),
            hostname: true,
            anchors: TrustAnchors::webpki_roots(),
            min_days_left: DEFAULT_MIN_DAYS_LEFT,
            require_ocsp_staple: false,
        }
    }

    /// The effective policy of a spec's TLS policy: its guideline's
    /// profile with its overrides. The caller reads `trusted_ca` into
    /// `anchors` (`TrustAnchors::from_pem`), or passes
    /// `TrustAnchors::webpki_roots()` when the policy names none.
    pub fn from_intent(p: &TlsPolicy, anchors: TrustAnchors) -> Result<Self, ProfileError> {
        let mut policy = Self::new(p.guideline.profile(p.profile.as_str())?);
        policy.min_version = p.min_version;
        policy.allow.clone_from(&p.ciphers_allow);
        policy.deny.clone_from(&p.ciphers_deny);
        if let Some(bits) = p.min_rsa_bits {
            policy.min_rsa_bits = bits;
        }
        policy.hostname = p.hostname;
        policy.anchors = anchors;
        policy.min_days_left = p.min_days_left;
        policy.require_ocsp_staple = p.require_ocsp_staple;
        Ok(policy)
    }

    /// Whether the policy lets an endpoint accept this version.
    pub fn allows_version(&self, v: ProtocolVersion) -> bool {
        match self.min_version {
            Some(min) => v >= min && v <= ProtocolVersion::TLS13,
            None => self.profile.tls_versions.contains(&v),
        }
    }

    /// Whether the policy lets an endpoint accept this suite at this
    /// version: `deny` wins, then `allow`, then the profile.
    pub fn allows_suite(&self, v: ProtocolVersion, iana: &str) -> bool {
        if self.deny.iter().any(|d| d == iana) {
            return false;
        }
        self.allow.iter().any(|a| a == iana) || self.profile.allows_suite(v, iana)
    }

    fn label(&self) -> String {
        format!("Mozilla {} {}", self.profile.name, self.profile.guideline_version)
    }
}

/// What one endpoint was observed to do, as the prober reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// It answered in plaintext instead of TLS.
    pub plaintext: bool,
    /// Each accepted version with the suites (code points) it accepted.
    pub suites: BTreeMap<ProtocolVersion, Vec<u16>>,
    /// The certificate chain as sent, DER, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// Whether an OCSP response was stapled; `None` when not known, which
    /// the policy does not judge (the caller says it is unjudged).
    pub ocsp_stapled: Option<bool>,
}

/// The host's declared identity, for the hostname check.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostNames<'a> {
    /// DNS names.
    pub names: &'a [String],
    /// Addresses.
    pub addresses: &'a [IpAddr],
}

/// One way an endpoint falls short of its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// Something about the certificate chain.
    Cert(CertProblem),
    /// A suite accepted outside the policy.
    Cipher {
        /// The version it was accepted at.
        version: ProtocolVersion,
        /// Its code point.
        code: u16,
        /// Its IANA name, when the lookup knows it.
        iana: Option<&'static str>,
        /// Its OpenSSL name, when known.
        openssl: Option<&'static str>,
        /// The policy, for the evidence ("Mozilla intermediate 6.0").
        policy: String,
    },
    /// The endpoint answered in plaintext.
    Missing,
    /// No OCSP response stapled where the policy requires one.
    OcspNotStapled,
    /// Versions accepted that the policy forbids.
    Protocol {
        /// The forbidden versions accepted, oldest first.
        versions: Vec<ProtocolVersion>,
        /// The versions the policy allows.
        allowed: Vec<ProtocolVersion>,
        /// The policy, for the evidence.
        policy: String,
    },
}

impl Violation {
    /// The finding rule it maps to.
    pub fn rule(&self) -> Rule {
        match self {
            Self::Cert(p) => match p {
                CertProblem::Expired { .. } | CertProblem::NotYetValid { .. } => {
                    Rule::TlsCertExpired
                }
                CertProblem::Expiring { .. } => Rule::TlsCertExpiring,
                CertProblem::HostnameInCommonNameOnly { .. }
                | CertProblem::HostnameMismatch { .. } => Rule::TlsCertHostname,
                CertProblem::WeakKey { .. } => Rule::TlsCertWeakKey,
                CertProblem::WeakSignature { .. } => Rule::TlsCertWeakSignature,
                _ => Rule::TlsCertUntrusted,
            },
            Self::Cipher { .. } => Rule::TlsCipher,
            Self::Missing => Rule::TlsMissing,
            Self::OcspNotStapled | Self::Protocol { .. } => Rule::TlsProtocol,
        }
    }

    /// How bad it is: broken cryptography, an untrusted or wrong-name
    /// certificate and plaintext are high; what a client still accepts
    /// but the profile does not is medium; hygiene is low.
    pub fn severity(&self) -> Severity {
        match self {
            Self::Cert(p) => match p {
                CertProblem::Expiring { .. }
                | CertProblem::WrongOrder { .. }
                | CertProblem::HostnameInCommonNameOnly { .. } => Severity::Medium,
                CertProblem::LifetimeTooLong { .. } => Severity::Low,
                _ => Severity::High,
            },
            Self::Cipher { iana, .. } => match iana {
                Some(n) if broken_suite(n) => Severity::High,
                _ => Severity::Medium,
            },
            Self::Missing => Severity::High,
            Self::OcspNotStapled => Severity::Low,
            Self::Protocol { versions, .. } => {
                if versions.iter().any(|v| *v < ProtocolVersion::TLS12) {
                    Severity::High
                } else {
                    Severity::Medium
                }
            }
        }
    }

    /// What a finding's `observed` and `evidence` say.
    pub fn evidence(&self) -> String {
        match self {
            Self::Cert(p) => cert_evidence(p),
            Self::Cipher { version, code, iana, openssl, policy } => format!(
                "{version} accepted suite {} (OpenSSL {}, 0x{code:04x}), which {policy} does not allow",
                iana.unwrap_or("(unnamed)"),
                openssl.unwrap_or("(no OpenSSL name)"),
            ),
            Self::Missing => {
                "the endpoint answered in plaintext where its TLS policy requires TLS".to_owned()
            }
            Self::OcspNotStapled => {
                "no OCSP response stapled; the policy requires stapling (reported as tls-protocol)"
                    .to_owned()
            }
            Self::Protocol { versions, allowed, policy } => {
                format!("accepted {}; {policy} allows only {}", join(versions), join(allowed))
            }
        }
    }
}

/// Judges one endpoint. A plaintext answer is the one violation reported:
/// nothing else was negotiated.
pub fn evaluate(
    policy: &Policy,
    observed: &Observed,
    host: HostNames<'_>,
    now: Timestamp,
    suite_names: SuiteNames<'_>,
) -> Vec<Violation> {
    if observed.plaintext {
        return vec![Violation::Missing];
    }
    let mut out = Vec::new();
    let label = policy.label();
    let forbidden: Vec<ProtocolVersion> =
        observed.suites.keys().copied().filter(|v| !policy.allows_version(*v)).collect();
    if !forbidden.is_empty() {
        out.push(Violation::Protocol {
            versions: forbidden,
            allowed: ProtocolVersion::ALL
                .into_iter()
                .filter(|v| policy.allows_version(*v))
                .collect(),
            policy: label.clone(),
        });
    }
    for (version, codes) in &observed.suites {
        // A forbidden version's suites are covered by its protocol finding.
        if !policy.allows_version(*version) {
            continue;
        }
        for &code in codes {
            let iana = suite_names(code);
            if iana.is_some_and(|n| policy.allows_suite(*version, n)) {
                continue;
            }
            out.push(Violation::Cipher {
                version: *version,
                code,
                iana,
                openssl: iana.and_then(names::openssl_name),
                policy: label.clone(),
            });
        }
    }
    if policy.require_ocsp_staple && observed.ocsp_stapled == Some(false) {
        out.push(Violation::OcspNotStapled);
    }
    let ctx = CertContext {
        now,
        names: host.names,
        addresses: host.addresses,
        check_hostname: policy.hostname,
        anchors: &policy.anchors,
        min_days_left: policy.min_days_left,
        min_rsa_bits: policy.min_rsa_bits,
        max_lifetime_days: policy.profile.maximum_certificate_lifespan,
    };
    let report = cert::classify(&observed.chain, &ctx);
    out.extend(report.problems.into_iter().map(Violation::Cert));
    out
}

/// NULL, export, anonymous, RC4, DES and 3DES suites: broken, not merely
/// outside a profile.
fn broken_suite(iana: &str) -> bool {
    ["_NULL_", "_EXPORT", "_anon_", "_RC4_", "_DES_", "_3DES_"].iter().any(|w| iana.contains(w))
}

fn join(versions: &[ProtocolVersion]) -> String {
    versions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn cert_evidence(p: &CertProblem) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = match p {
        CertProblem::Expired { cert } => write!(s, "certificate expired: {cert}"),
        CertProblem::Expiring { cert, days_left, min_days_left } => write!(
            s,
            "certificate expires in {days_left} days (policy wants {min_days_left}): {cert}"
        ),
        CertProblem::HostnameInCommonNameOnly { cert, names } => write!(
            s,
            "{} only in the common name, which browsers ignore (no SAN): {cert}",
            names.join(", ")
        ),
        CertProblem::HostnameMismatch { cert, uncovered } => {
            write!(s, "certificate does not cover {}: {cert}", uncovered.join(", "))
        }
        CertProblem::LifetimeTooLong { cert, days, max_days } => write!(
            s,
            "certificate valid for {days} days, over the profile's {max_days} \
             (reported as tls-cert-untrusted): {cert}"
        ),
        CertProblem::Malformed { position, error } => {
            write!(s, "chain element #{position} is not a certificate: {error}")
        }
        CertProblem::MissingIntermediate { cert } => write!(
            s,
            "chain stops at a certificate whose issuer was not sent and is no trust anchor \
             (missing intermediate): {cert}"
        ),
        CertProblem::NoCertificate => write!(s, "no certificate sent"),
        CertProblem::NotYetValid { cert } => write!(s, "certificate not yet valid: {cert}"),
        CertProblem::SelfSigned { cert } => write!(s, "self-signed certificate: {cert}"),
        CertProblem::UntrustedIssuer { cert, reason } => match reason {
            UntrustedReason::BadSignature => {
                write!(s, "signature does not verify under its issuer's key: {cert}")
            }
            UntrustedReason::UnknownRoot => {
                write!(s, "chain ends in a root that is no trust anchor: {cert}")
            }
        },
        CertProblem::WeakKey { cert, bits, min_bits } => {
            write!(s, "RSA key of {bits} bits, under {min_bits}: {cert}")
        }
        CertProblem::WeakSignature { cert, hash } => {
            write!(s, "certificate #{} signed with {hash}: {cert}", cert.position)
        }
        CertProblem::WrongOrder { path } => write!(
            s,
            "chain sent out of order: the path needs positions {}",
            path.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        ),
    };
    s
}

#[cfg(test)]
mod tests;
