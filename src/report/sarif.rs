//! `--format sarif`: SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure).
//!
//! GitHub refuses a whole upload if any result lacks a physical location in
//! a file, or uses a network URI as one, so:
//! - every result's physical location is the spec file and line that made
//!   the expectation (the flow, host, zone, vantage or waiver);
//! - the network identity (vantage, target, proto/port) is in
//!   `logicalLocations` and in the result's `properties`;
//! - `partialFingerprints` hash (rule, vantage, target, proto, port), plus
//!   the waiver for waiver findings, never a line number, so an alert
//!   survives edits of the spec;
//! - there is one rule per finding kind, each with help text, and a
//!   `security-severity` GitHub ranks alerts by;
//! - waived findings are left out by default (code scanning ignores
//!   `suppressions`); `write_with_waived` includes them, suppressed.
//!
//! Built with `serde_json::json!`, so this module derives no serde.

use std::io::{self, Write};

use serde_json::{Value, json};
use sha2::Digest as _;

use super::document::{Document, Finding, Rule, Severity};

/// The SARIF schema this output follows.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The fingerprint key (versioned, so a change of the hash input is a new key).
pub const FINGERPRINT: &str = "vantageFinding/v1";

/// Writes `doc` as SARIF, without waived findings.
pub fn write(doc: &Document, out: &mut dyn Write) -> io::Result<()> {
    write_sarif(doc, out, false)
}

/// Writes `doc` as SARIF, with waived findings as suppressed results.
pub fn write_with_waived(doc: &Document, out: &mut dyn Write) -> io::Result<()> {
    write_sarif(doc, out, true)
}

/// (short description, help) of every rule.
fn describe(rule: Rule) -> (&'static str, &'static str) {
    match rule {
        Rule::DenyMode => (
            "A denied port does not look the way deny_mode says",
            "The spec's `deny_mode` says how denied ports must look: `drop` (silently filtered) or `reject` (refused with RST or ICMP). A denied port that answered under `drop`, or stayed silent under `reject`, shows a firewall rule that differs from the one intended. Fix the rule, or change `deny_mode`.",
        ),
        Rule::DnsAxfr => (
            "A DNS server allows zone transfers",
            "A server answered an AXFR request from this vantage, handing out every name of the zone. Restrict zone transfers to the secondaries.",
        ),
        Rule::DnsDanglingCname => (
            "A CNAME points to a name that does not resolve",
            "A CNAME whose target does not exist can be taken over by whoever registers the target. Remove the record or restore its target.",
        ),
        Rule::DnsLeak => (
            "An internal name resolves from outside",
            "A name the spec marks `absent` from this vantage resolved (wildcards were ruled out first). Split-horizon DNS leaks internal names.",
        ),
        Rule::DnsMismatch => (
            "A DNS answer differs from the spec",
            "A name the spec expects resolved to other values from this vantage. Fix the record or the spec.",
        ),
        Rule::DnsOpenRecursion => (
            "A DNS server resolves names for anyone",
            "A server gave a real answer for a name outside its authority to this vantage: an open resolver, usable for amplification. Restrict recursion to its clients.",
        ),
        Rule::Exposure => (
            "An open port that no flow allows",
            "A port answered from this vantage although no flow allows it from the vantage's zone to that target, or a deny flow forbids it (a deny wins over any allow). Close it, filter it, or, if it is intended, add a flow or an expiring waiver to the spec. Severity follows the spec's `severity`, else the port's risk (databases, remote administration, management) and whether the source zone is untrusted (`probe: false`).",
        ),
        Rule::ScanIncomplete => (
            "Part of the planned scan was not observed",
            "Some probes have no conclusion: a shard is missing, a run was interrupted or killed, or probes failed locally. The other findings hold for what was observed; nothing is known of the rest. Run the missing part again.",
        ),
        Rule::TlsCertExpired => (
            "A certificate has expired",
            "The endpoint presented a certificate past its notAfter date. Renew it.",
        ),
        Rule::TlsCertExpiring => (
            "A certificate expires soon",
            "The certificate has fewer days left than the policy's `min_days_left`. Renew it.",
        ),
        Rule::TlsCertHostname => (
            "A certificate does not match the host's names",
            "No subject alternative name of the certificate matches the names the spec gives the host.",
        ),
        Rule::TlsCertUntrusted => (
            "A certificate chain is not trusted",
            "The chain does not lead to the policy's trusted CA (or the system roots).",
        ),
        Rule::TlsCertWeakKey => (
            "A certificate key is too weak",
            "The certificate's key is shorter than the policy's profile allows.",
        ),
        Rule::TlsCertWeakSignature => (
            "A certificate signature algorithm is weak",
            "The certificate is signed with an algorithm the profile forbids (MD5, SHA-1).",
        ),
        Rule::TlsCipher => (
            "A cipher suite outside the TLS profile is accepted",
            "The endpoint negotiated a cipher suite its policy's Mozilla profile does not allow.",
        ),
        Rule::TlsMissing => (
            "A port that must speak TLS does not",
            "The service names a TLS policy, but no TLS handshake completed on the port.",
        ),
        Rule::TlsProtocol => (
            "A TLS version outside the profile is accepted",
            "The endpoint accepted a protocol version its policy's Mozilla profile does not allow (SSLv3, TLS 1.0/1.1...).",
        ),
        Rule::UndeclaredHost => (
            "A host answers where the spec declares none",
            "An address in a zone that declares its hosts has an open port, but is not one of them. Declare it, or find out what it is.",
        ),
        Rule::Unreachable => (
            "An intended flow is blocked",
            "A flow the spec allows with `require: reachable` was observed closed or filtered from a vantage in its source zone: a firewall change broke something intended. Open it, or mark the flow `require: optional`.",
        ),
        Rule::WaiverExpired => (
            "A waiver has expired",
            "The waiver applied through the end of its `expires` day (UTC). The findings it covered are reported again. Renew it with a new date and approval, or fix what it excused.",
        ),
        Rule::WaiverUnused => (
            "A waiver matches no finding",
            "The waiver covered nothing observed from the vantages judged: what it excused is gone. Remove it, so it cannot hide a future exposure.",
        ),
    }
}

/// A rule's human-readable name. SARIF wants it to differ from the id
/// (SARIF1001, case-insensitively), so single-word ids get a longer name.
fn rule_name(rule: Rule) -> String {
    match rule {
        Rule::Exposure => "UnintendedExposure".to_owned(),
        Rule::Unreachable => "IntendedFlowUnreachable".to_owned(),
        r => r
            .as_str()
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            })
            .collect(),
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` (CVSS-like, 0.0-10.0).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// The rule's usual severity, for its `defaultConfiguration`.
fn default_severity(rule: Rule) -> Severity {
    match rule {
        Rule::Exposure | Rule::Unreachable | Rule::ScanIncomplete => Severity::High,
        Rule::UndeclaredHost => Severity::Medium,
        Rule::DenyMode | Rule::WaiverExpired | Rule::WaiverUnused => Severity::Low,
        _ => Severity::Medium,
    }
}

/// The stable identity of a finding: (rule, vantage, target, proto, port),
/// and for waiver findings what they say about which waiver. Never a line.
pub fn fingerprint(f: &Finding) -> String {
    let mut hash = sha2::Sha256::new();
    let parts = [
        f.rule.as_str().to_owned(),
        f.vantage.clone().unwrap_or_default(),
        f.target.clone().unwrap_or_default(),
        f.proto.map(|p| p.as_str().to_owned()).unwrap_or_default(),
        f.port.map(|p| p.to_string()).unwrap_or_default(),
        match f.rule {
            Rule::WaiverExpired | Rule::WaiverUnused => f.expected.clone(),
            _ => String::new(),
        },
    ];
    for p in parts {
        // Length-prefixed, so no two part lists hash alike.
        hash.update((p.len() as u64).to_be_bytes());
        hash.update(p.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A relative URI for a spec path (forward slashes, no leading `./`).
fn uri(path: &str) -> String {
    let p = path.replace('\\', "/");
    p.strip_prefix("./").unwrap_or(&p).to_owned()
}

fn result(f: &Finding, rule_index: usize) -> Value {
    let port = f.port_text();
    let what = match (&f.target, port.is_empty()) {
        (Some(t), false) => format!("{t} {port}"),
        (Some(t), true) => t.clone(),
        (None, false) => port.clone(),
        (None, true) => String::new(),
    };
    let from = f.vantage.as_deref().map(|v| format!(" from {v}")).unwrap_or_default();
    let host = f.host.as_deref().map(|h| format!(" ({h})")).unwrap_or_default();
    let message = format!(
        "{}{}{host}{from}: observed {}; expected {}. Evidence: {}",
        f.rule.as_str(),
        if what.is_empty() { String::new() } else { format!(" {what}") },
        f.observed,
        f.expected,
        f.evidence
    );
    let name = [f.vantage.as_deref(), f.target.as_deref()]
        .into_iter()
        .flatten()
        .chain((!port.is_empty()).then_some(port.as_str()))
        .collect::<Vec<_>>()
        .join("/");
    let mut r = json!({
        "ruleId": f.rule.as_str(),
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri(&f.location.file)},
                "region": {
                    "startLine": f.location.line.max(1),
                    "startColumn": f.location.column.max(1),
                },
            },
            "logicalLocations": [{
                "name": if name.is_empty() { "spec".to_owned() } else { name.clone() },
                "fullyQualifiedName": format!("{}:{}", f.rule.as_str(), if name.is_empty() { "spec" } else { &name }),
                "kind": "resource",
            }],
        }],
        "partialFingerprints": {FINGERPRINT: fingerprint(f)},
        "properties": {
            "severity": f.severity.as_str(),
            "security-severity": security_severity(f.severity),
            "vantage": f.vantage,
            "target": f.target,
            "host": f.host,
            "proto": f.proto.map(|p| p.as_str()),
            "port": f.port,
            "expected": f.expected,
            "observed": f.observed,
            "evidence": f.evidence,
        },
    });
    if let Some(w) = &f.waived {
        r["suppressions"] = json!([{"kind": "external", "justification": format!("waiver {w}")}]);
    }
    r
}

fn write_sarif(doc: &Document, out: &mut dyn Write, waived: bool) -> io::Result<()> {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|r| {
            let (short, help) = describe(*r);
            let sev = default_severity(*r);
            json!({
                "id": r.as_str(),
            "name": rule_name(*r),
                "shortDescription": {"text": short},
                "fullDescription": {"text": help},
                "help": {"text": help, "markdown": format!("**{short}.** {help}")},
                "defaultConfiguration": {"level": level(sev)},
                "properties": {
                    "tags": ["security", "network"],
                    "security-severity": security_severity(sev),
                },
            })
        })
        .collect();
    let results: Vec<Value> = doc
        .findings
        .iter()
        .filter(|f| waived || f.waived.is_none())
        .map(|f| result(f, Rule::ALL.iter().position(|r| *r == f.rule).unwrap_or(0)))
        .collect();
    let mut driver = json!({
        "name": doc.tool.name,
        "version": doc.tool.version,
        "semanticVersion": doc.tool.version,
        "rules": rules,
    });
    // SARIF2005 asks for one; the project publishes none yet, so it comes
    // from the package's `homepage` once Cargo.toml sets it.
    if let Some(uri) = option_env!("CARGO_PKG_HOMEPAGE").filter(|u| !u.is_empty()) {
        driver["informationUri"] = json!(uri);
    }
    let mut sarif = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "automationDetails": {"id": format!("vantage/{}/", uri(&doc.spec))},
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": doc.coverage.incomplete == 0,
                "endTimeUtc": doc.generated,
            }],
            "properties": {
                "vantages": doc.coverage.vantages,
                "probes_sent": doc.coverage.probes_sent,
                "incomplete": doc.coverage.incomplete,
            },
            "results": results,
        }],
    });
    // Exclusions (`--exclude`), when there were any: what was not judged.
    if doc.coverage.excluded_addresses > 0 || doc.coverage.excluded_probes > 0 {
        sarif["runs"][0]["properties"]["excluded_addresses"] =
            json!(doc.coverage.excluded_addresses);
        sarif["runs"][0]["properties"]["excluded_probes"] = json!(doc.coverage.excluded_probes);
    }
    serde_json::to_writer_pretty(&mut *out, &sarif).map_err(io::Error::other)?;
    writeln!(out)
}
