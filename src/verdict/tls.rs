//! The TLS rules: each `tls` line judged against the policy of the port it
//! probed (`Intent::tls_endpoints`), with `tls::policy::evaluate`.
//!
//! - `tls-missing`: the endpoint answered the ClientHello in plaintext, or
//!   accepted the connection and never answered it, or (a STARTTLS
//!   service) would not start TLS when asked: its evidence is the
//!   server's reply and the reason;
//! - `tls-protocol`, `tls-cipher`, `tls-cert-*`: what the policy module
//!   finds, one finding per (rule, endpoint, vantage) whatever the number of
//!   violations behind it (so SARIF fingerprints, which leave the details
//!   out, stay distinct, and a waiver for "TLS 1.0 on this port" is one
//!   line); its severity is the worst of them and its evidence lists each.
//!
//! A probe cut short (an `error` on the line) is judged on what it learnt;
//! a chain it never received is not reported as "no certificate sent" but
//! as `scan-incomplete` for that endpoint: its certificate policy went
//! unjudged, and the run must not read as a pass.
//! An endpoint with no `tls` line (not open from that vantage, or a scan
//! without the TLS step) is not judged here.

use std::collections::BTreeMap;
use std::path::Path;

use crate::observe::TlsFact;
use crate::report::document::{Finding, Proto as DocProto, Rule, Severity, SpecLocation};
use crate::spec::Intent;
use crate::spec::intent::{PolicyId, TlsEndpoint};
use crate::tls::cert::{CertProblem, TrustAnchors};
use crate::tls::names::{self, ProtocolVersion};
use crate::tls::policy::{self, HostNames, Observed, Policy, Violation};
use crate::tls::wire::starttls::Protocol;

use super::Source;
use super::merge::Merged;

/// Each TLS policy of a spec made effective (profile, overrides, trust
/// anchors), by `PolicyId`.
#[derive(Debug, Clone, Default)]
pub struct TlsPolicies {
    policies: Vec<Policy>,
}

/// Why a spec's TLS policies could not be made effective.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TLS policy `{policy}`: {what}")]
pub struct TlsPolicyError {
    /// The policy.
    pub policy: String,
    /// What went wrong, naming the file where one is involved.
    pub what: String,
}

impl TlsPolicies {
    /// The spec's policies, reading each `trusted_ca` file with `read` (the
    /// verdict does no I/O of its own: the CLI passes `std::fs::read`). A
    /// policy without one trusts Mozilla's roots (`webpki-roots`).
    pub fn load(
        intent: &Intent,
        mut read: impl FnMut(&Path) -> std::io::Result<Vec<u8>>,
    ) -> Result<Self, TlsPolicyError> {
        let mut roots: Option<TrustAnchors> = None;
        let mut policies = Vec::with_capacity(intent.tls_policies.len());
        for p in &intent.tls_policies {
            let fail = |what: String| TlsPolicyError { policy: p.name.clone(), what };
            let anchors = match &p.trusted_ca {
                Some(path) => {
                    let pem = read(path).map_err(|e| {
                        fail(format!("cannot read trusted_ca {}: {e}", path.display()))
                    })?;
                    TrustAnchors::from_pem(&pem)
                        .map_err(|e| fail(format!("trusted_ca {}: {e}", path.display())))?
                }
                None => roots.get_or_insert_with(TrustAnchors::webpki_roots).clone(),
            };
            policies.push(Policy::from_intent(p, anchors).map_err(|e| fail(e.to_string()))?);
        }
        Ok(Self { policies })
    }

    fn get(&self, id: PolicyId) -> Option<&Policy> {
        self.policies.get(id.0)
    }
}

/// At most this many suites are named in a `tls-cipher` finding's
/// `observed` (its evidence names them all).
const LISTED_SUITES: usize = 4;

/// The TLS findings of every vantage.
pub(crate) fn findings(
    intent: &Intent,
    policies: &TlsPolicies,
    sources: &[Source<'_>],
    merged: &Merged<'_>,
    now: jiff::Timestamp,
) -> Vec<Finding> {
    let endpoints = intent.tls_endpoints();
    let mut out = Vec::new();
    for v in &merged.vantages {
        let vantage = &intent.vantages[v.id.0].name;
        for e in &endpoints {
            let host = &intent.hosts[e.host.0];
            let Some(&(fact, source)) = v.tls.get(&(host.address, e.port)) else { continue };
            let Some(policy) = policies.get(e.policy) else { continue };
            let file = sources.get(source).map_or("?", |s| s.name);
            let (by_rule, cut_path) = judge(policy, fact, intent, e, now);
            for (rule, violations) in by_rule {
                out.push(finding(intent, vantage, e, policy, rule, &violations, fact, file));
            }
            if let Some(f) = unjudged(intent, vantage, e, policy, fact, file, cut_path) {
                out.push(f);
            }
        }
    }
    out
}

/// The violations of one endpoint, grouped by rule, and whether the path
/// to an anchor ran off the end of a cut chain (`chain_truncated`: the
/// issuer may be among the certificates not kept), which leaves trust
/// unjudged rather than failed.
fn judge(
    policy: &Policy,
    fact: &TlsFact,
    intent: &Intent,
    e: &TlsEndpoint,
    now: jiff::Timestamp,
) -> (BTreeMap<Rule, Vec<Violation>>, bool) {
    let host = &intent.hosts[e.host.0];
    let mut by_rule: BTreeMap<Rule, Vec<Violation>> = BTreeMap::new();
    let mut cut_path = false;
    if !fact.speaks_tls && fact.plaintext.is_none() {
        // Accepted the connection, answered no ClientHello: no TLS here.
        by_rule.insert(Rule::TlsMissing, vec![Violation::Missing]);
        return (by_rule, cut_path);
    }
    let observed = Observed {
        plaintext: fact.plaintext.is_some(),
        suites: fact
            .versions
            .iter()
            .map(|v| {
                (v.version.protocol(), v.suites.iter().filter_map(|s| code(&s.code)).collect())
            })
            .collect(),
        chain: fact.chain_der(),
        ocsp_stapled: fact.ocsp_stapled,
    };
    let addresses = [host.address];
    let names = HostNames { names: &host.names, addresses: &addresses };
    for v in policy::evaluate(policy, &observed, names, now, &names::iana_name) {
        if fact.error.is_some() && matches!(v, Violation::Cert(CertProblem::NoCertificate)) {
            // The probe was cut short before a chain came: unknown, not absent.
            continue;
        }
        if fact.chain_truncated
            && matches!(
                v,
                Violation::Cert(
                    CertProblem::MissingIntermediate { .. } | CertProblem::WrongOrder { .. }
                )
            )
        {
            cut_path = true;
            continue;
        }
        by_rule.entry(v.rule()).or_default().push(v);
    }
    (by_rule, cut_path)
}

/// `scan-incomplete` for an endpoint that speaks TLS but part of whose
/// policy could not be judged, which is not a pass; one finding says every
/// part and why:
/// - the certificate rules, when its probe was cut short before any
///   certificate came (a hostile or failing server, or nmap's `ssl-cert`
///   not run);
/// - trust, when the chain was cut (`cut_path`) and the path to an anchor
///   ran off its end (nmap keeps only the leaf);
/// - the protocol and cipher rules, when no version was probed, accepted
///   or refused (nmap's `ssl-enum-ciphers` not run);
/// - a required OCSP staple, when the line does not say (`null`).
fn unjudged(
    intent: &Intent,
    vantage: &str,
    e: &TlsEndpoint,
    policy: &Policy,
    fact: &TlsFact,
    file: &str,
    cut_path: bool,
) -> Option<Finding> {
    if !fact.speaks_tls {
        return None;
    }
    let host = &intent.hosts[e.host.0];
    let name = &intent.tls_policies[e.policy.0].name;
    let err = fact.error.as_deref().unwrap_or("");
    // An import's error joins its reasons; the version's is the last.
    const NO_VERSION: &str = "no protocol version was probed";
    let (cert_err, version_err) = match err.find(NO_VERSION) {
        Some(i) => (err[..i].trim_end_matches("; ").trim(), Some(&err[i..])),
        None => (err, None),
    };
    let mut expected = Vec::new();
    let mut observed = Vec::new();
    let mut evidence = Vec::new();
    if fact.chain.is_empty() && fact.error.is_some() {
        // The prober's own words start so; a line from elsewhere may not.
        let unread = match cert_err {
            "" => "no certificate was read".to_owned(),
            e if e.starts_with("no certificate was read") => e.to_owned(),
            e => format!("no certificate was read: {e}"),
        };
        expected.push("the certificate chain read");
        observed.push(format!("{unread}; the certificate policy is unjudged"));
        evidence.push(format!("the probe was cut short: {err}"));
    } else if cut_path {
        expected.push("a path from the leaf to a trust anchor");
        observed.push(format!(
            "the chain was cut at {} certificate(s) before its path reached an anchor; trust is unjudged",
            fact.chain.len()
        ));
        evidence.push(format!(
            "the observation kept {} certificate(s) of the chain (`chain_truncated`; nmap's ssl-cert keeps only the leaf) and the issuer is not among them",
            fact.chain.len()
        ));
    }
    if fact.versions.is_empty() && fact.refused.is_empty() {
        expected.push("the protocol versions and suites probed");
        observed.push(format!(
            "{}; the protocol and cipher policy is unjudged",
            version_err.unwrap_or(NO_VERSION)
        ));
        evidence.push("the line lists no version accepted or refused".to_owned());
    }
    if policy.require_ocsp_staple && fact.ocsp_stapled.is_none() {
        expected.push("whether an OCSP response is stapled");
        observed.push("OCSP stapling not known; the staple requirement is unjudged".to_owned());
        evidence.push("the line does not say whether an OCSP response was stapled".to_owned());
    }
    if observed.is_empty() {
        return None;
    }
    Some(Finding {
        rule: Rule::ScanIncomplete,
        severity: Severity::High,
        vantage: Some(vantage.to_owned()),
        target: Some(host.address.to_string()),
        host: Some(host.name.clone()),
        port: Some(e.port),
        proto: Some(DocProto::Tcp),
        expected: format!("{}, to judge TLS policy `{name}`", expected.join(", ")),
        observed: observed.join("; "),
        evidence: format!("{} (probed at {}, {file})", evidence.join("; "), fact.at),
        waived: None,
        location: SpecLocation::from(&intent.services[e.service.0].at),
    })
}

/// A TLS suite's code point; `None` for an SSLv2 cipher spec (three
/// bytes), which no policy allows anyway: its version is the finding.
fn code(text: &str) -> Option<u16> {
    u16::from_str_radix(text.strip_prefix("0x")?, 16).ok()
}

#[allow(clippy::too_many_arguments, reason = "one finding's every part")]
fn finding(
    intent: &Intent,
    vantage: &str,
    e: &TlsEndpoint,
    policy: &Policy,
    rule: Rule,
    violations: &[Violation],
    fact: &TlsFact,
    file: &str,
) -> Finding {
    let host = &intent.hosts[e.host.0];
    let spec_policy = &intent.tls_policies[e.policy.0];
    let label = format!(
        "TLS policy `{}` (Mozilla {} {})",
        spec_policy.name, policy.profile.name, policy.profile.guideline_version
    );
    let severity = violations.iter().map(Violation::severity).max().unwrap_or(Severity::Medium);
    let no_starttls = starttls_without_tls(rule, fact);
    let mut evidence: Vec<String> = if rule == Rule::TlsCipher {
        vec![cipher_evidence(violations, &label)]
    } else if let Some(p) = no_starttls {
        vec![format!("asked with {p} STARTTLS, the endpoint did not start TLS")]
    } else {
        violations.iter().map(Violation::evidence).collect()
    };
    if let (Some(_), Some(err)) = (no_starttls, &fact.error) {
        // The reason, as the prober put it ("SMTP: the server does not
        // offer STARTTLS: its EHLO reply does not list STARTTLS").
        evidence.push(err.clone());
    }
    if let Some(p) = &fact.plaintext {
        evidence.push(format!("it sent \"{p}\""));
    }
    if let (None, Some(err)) = (no_starttls, &fact.error) {
        evidence.push(format!("the probe was cut short: {err}"));
    }
    let sni = fact.sni.as_deref().map_or_else(|| "no SNI".to_owned(), |s| format!("SNI {s}"));
    let over =
        fact.starttls.map(|p| format!(" over {} STARTTLS", p.protocol())).unwrap_or_default();
    evidence.push(format!("probed{over} with {sni} at {} ({file})", fact.at));
    Finding {
        rule,
        severity,
        vantage: Some(vantage.to_owned()),
        target: Some(host.address.to_string()),
        host: Some(host.name.clone()),
        port: Some(e.port),
        proto: Some(DocProto::Tcp),
        expected: expected(rule, &label, policy, host),
        observed: observed(rule, violations, fact),
        evidence: evidence.join("; "),
        waived: None,
        location: SpecLocation::from(&intent.services[e.service.0].at),
    }
}

/// Every suite outside the policy, by version, with its IANA and OpenSSL
/// names and code point: `TLS policy `web` (Mozilla intermediate 6.0) does
/// not allow these suites, accepted at TLSv1.2: TLS_RSA_WITH_RC4_128_SHA
/// (RC4-SHA, 0x0005), ...`.
fn cipher_evidence(violations: &[Violation], label: &str) -> String {
    let mut by_version: BTreeMap<ProtocolVersion, Vec<String>> = BTreeMap::new();
    for v in violations {
        if let Violation::Cipher { version, code, iana, openssl, .. } = v {
            let openssl = openssl.map(|o| format!("{o}, ")).unwrap_or_default();
            by_version
                .entry(*version)
                .or_default()
                .push(format!("{} ({openssl}0x{code:04x})", iana.unwrap_or("unnamed")));
        }
    }
    let parts: Vec<String> =
        by_version.iter().map(|(v, suites)| format!("at {v}: {}", suites.join(", "))).collect();
    format!("{label} does not allow these suites, accepted {}", parts.join("; "))
}

/// What the policy asks, in the rule's terms.
fn expected(rule: Rule, label: &str, policy: &Policy, host: &crate::spec::intent::Host) -> String {
    let versions = || {
        ProtocolVersion::ALL
            .into_iter()
            .filter(|v| policy.allows_version(*v))
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match rule {
        Rule::TlsMissing => format!("TLS, as {label} requires"),
        Rule::TlsProtocol => format!("{label}: {} only", versions()),
        Rule::TlsCipher => format!("{label}: only the suites it allows"),
        Rule::TlsCertExpired => format!("{label}: a certificate valid now"),
        Rule::TlsCertExpiring => {
            format!("{label}: at least {} days of validity left", policy.min_days_left)
        }
        Rule::TlsCertHostname => {
            let names = if host.names.is_empty() {
                host.address.to_string()
            } else {
                host.names.join(", ")
            };
            format!("{label}: a certificate for {names}")
        }
        Rule::TlsCertWeakKey => {
            format!("{label}: RSA keys of {} bits or more", policy.min_rsa_bits)
        }
        Rule::TlsCertWeakSignature => format!("{label}: no certificate signed with SHA-1 or MD5"),
        _ => format!("{label}: a complete chain, in order, to a trusted root"),
    }
}

/// The STARTTLS protocol of a `tls-missing` finding on a STARTTLS
/// endpoint that gave no TLS at all (the server refused, broke off or
/// stayed silent in the preamble, or sent no TLS after agreeing).
fn starttls_without_tls(rule: Rule, fact: &TlsFact) -> Option<Protocol> {
    let p = fact.starttls?;
    (rule == Rule::TlsMissing && fact.versions.is_empty()).then(|| p.protocol())
}

/// What was observed, in a few words; the evidence has the details.
fn observed(rule: Rule, violations: &[Violation], fact: &TlsFact) -> String {
    if let Some(p) = starttls_without_tls(rule, fact) {
        return format!("no TLS after {p} STARTTLS");
    }
    let words: Vec<String> = violations
        .iter()
        .map(|v| match v {
            Violation::Missing => match &fact.plaintext {
                Some(_) => "plaintext".to_owned(),
                None => "no answer to a ClientHello".to_owned(),
            },
            Violation::Protocol { versions, .. } => format!(
                "accepts {}",
                versions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
            Violation::Cipher { version, iana, code, .. } => {
                format!("{version} {}", iana.map_or_else(|| format!("0x{code:04x}"), str::to_owned))
            }
            Violation::OcspNotStapled => "no OCSP staple".to_owned(),
            Violation::Cert(p) => cert_words(p).to_owned(),
        })
        .collect();
    if rule == Rule::TlsCipher {
        // The worst first, then by name, whatever order the scanner found
        // them in (so vantage's and nmap's observations read alike); the
        // evidence lists every one as found.
        let mut named: Vec<(Severity, String)> =
            violations.iter().map(Violation::severity).zip(words).collect();
        named.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let n = named.len();
        let shown: Vec<String> = named.into_iter().take(LISTED_SUITES).map(|(_, w)| w).collect();
        let more = n.saturating_sub(LISTED_SUITES);
        return format!(
            "accepts {n} suite{} outside the policy: {}{}",
            if n == 1 { "" } else { "s" },
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        );
    }
    let mut unique: Vec<String> = Vec::new();
    for w in words {
        if !unique.contains(&w) {
            unique.push(w);
        }
    }
    unique.join("; ")
}

fn cert_words(p: &CertProblem) -> &'static str {
    match p {
        CertProblem::Expired { .. } => "expired",
        CertProblem::Expiring { .. } => "expiring",
        CertProblem::HostnameInCommonNameOnly { .. } => "name in the common name only",
        CertProblem::HostnameMismatch { .. } => "wrong host name",
        CertProblem::LifetimeTooLong { .. } => "lifetime too long",
        CertProblem::Malformed { .. } => "malformed certificate",
        CertProblem::MissingIntermediate { .. } => "missing intermediate",
        CertProblem::NoCertificate => "no certificate",
        CertProblem::NotYetValid { .. } => "not yet valid",
        CertProblem::SelfSigned { .. } => "self-signed",
        CertProblem::UntrustedIssuer { .. } => "untrusted issuer",
        CertProblem::WeakKey { .. } => "weak RSA key",
        CertProblem::WeakSignature { .. } => "weak signature",
        CertProblem::WrongOrder { .. } => "chain out of order",
    }
}

#[cfg(test)]
mod tests;
