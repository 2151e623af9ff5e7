//! What the demo says after the report: for each rule that found
//! something, what it means, why it matters and how to fix or waive it,
//! with the spec lines behind the findings quoted; then where to go next.
//! Pure: it writes to the `Write` it is given, from the findings and the
//! spec's text.

use std::io::{self, Write};

use vantage::report::document::{Finding, Rule};

/// A rule explained: what it means, why it matters, how to fix or waive.
struct Lesson {
    means: &'static str,
    matters: &'static str,
    fix: &'static str,
}

/// Every rule's lesson (each rule `verdict` can report has one).
fn lesson(rule: Rule) -> Lesson {
    let l = |means, matters, fix| Lesson { means, matters, fix };
    match rule {
        Rule::Exposure => l(
            "an open port the intent forbids: a deny flow names it, or no flow allows it under `default: deny`.",
            "every open port is attack surface; one nobody meant is one nobody patches or watches.",
            "close it or firewall it; if it is meant, allow it in a flow, or waive it for a while (`waivers:`, as DEMO-1 does).",
        ),
        Rule::Unreachable => l(
            "a port a flow requires (`require: reachable`, the default) was closed or silent.",
            "the service is down or something blocks it: the intent is broken for its users.",
            "start the service or open the path; if it may be down, mark the flow `require: optional`.",
        ),
        Rule::DenyMode => l(
            "a denied port answered in the wrong way for `deny_mode` (a RST where `drop` wants silence, or silence where `reject` wants a RST).",
            "the answer tells you which device decided: a host's own RST means the firewall in front let the packet through.",
            "make the firewall drop (or reject) as declared, or change `deny_mode`.",
        ),
        Rule::UndeclaredHost => l(
            "an address no `hosts:` entry declares answered on an open port.",
            "an unknown machine is one nobody maintains; it is often how a forgotten test box gets in.",
            "declare it under `hosts:` with its flows, or take it off the network.",
        ),
        Rule::TlsProtocol => l(
            "the endpoint accepts a TLS version its policy does not allow (here TLS 1.2 where `profile: modern` allows 1.3 only).",
            "older versions carry weaker key exchanges and downgrade risks the policy chose to rule out.",
            "turn the version off in the server; or allow it in the policy (`min_version`, or another `profile`).",
        ),
        Rule::TlsCipher => l(
            "the endpoint accepts a cipher suite its policy does not allow.",
            "weak suites let a network attacker read or forge traffic.",
            "remove the suite from the server; or allow it in the policy (`ciphers: { allow: [...] }`).",
        ),
        Rule::TlsCertUntrusted => l(
            "the certificate does not chain to a trusted CA (here it is self-signed).",
            "clients cannot tell it from an attacker's; users learn to click through warnings.",
            "use a certificate from a trusted CA; for a private CA, name it with `trusted_ca:` in the policy.",
        ),
        Rule::TlsCertHostname => l(
            "the certificate does not cover the host's declared names (`names:`).",
            "clients reject it, or are taught to ignore the name, which is the whole check.",
            "issue a certificate for the host's names; or set `hostname: false` if clients use another name.",
        ),
        Rule::TlsCertExpired => l(
            "the certificate has expired (or is not valid yet).",
            "clients refuse it: the service is down for them.",
            "renew it, and automate the renewal.",
        ),
        Rule::TlsCertExpiring => l(
            "the certificate expires within the policy's `min_days_left`.",
            "an expiry is an outage on a date known in advance.",
            "renew it now, and automate the renewal.",
        ),
        Rule::TlsCertWeakKey => l(
            "the certificate's key is smaller than the policy allows (`min_rsa_bits`).",
            "short keys can be broken.",
            "reissue it with a larger RSA key or an ECDSA key.",
        ),
        Rule::TlsCertWeakSignature => l(
            "the certificate is signed with a weak algorithm (SHA-1, MD5).",
            "such signatures can be forged.",
            "reissue it signed with SHA-256 or better.",
        ),
        Rule::TlsMissing => l(
            "a service whose policy requires TLS answered without it.",
            "everything it carries crosses the network in the clear.",
            "enable TLS on it, or drop `tls:` from the service if it is not meant to have any.",
        ),
        Rule::DnsMismatch => l(
            "a DNS server's answer differs from the `dns.expect` entry (here www points at an old address).",
            "clients go where DNS sends them: a stale record sends them to the wrong machine.",
            "correct the record in the zone; or correct `values:` if the spec is the stale one.",
        ),
        Rule::DnsLeak => l(
            "a name the spec says must not resolve from this vantage (`absent: true`) resolved.",
            "internal names seen from outside map your network for an attacker.",
            "serve the name in the internal view only (split horizon).",
        ),
        Rule::DnsAxfr => l(
            "the server handed out a whole zone (AXFR) to this vantage.",
            "a zone transfer lists every name you have in one question.",
            "allow transfers to your secondaries only.",
        ),
        Rule::DnsOpenRecursion => l(
            "the server resolved a name it has no authority for (`recursion_name`) for an outsider: a vantage in a `probe: false` zone.",
            "open resolvers are used to amplify denial-of-service attacks and to poison caches.",
            "allow recursion for your own clients only, or turn it off; or drop `open-recursion` from `forbid:`.",
        ),
        Rule::DnsDanglingCname => l(
            "a CNAME points at a name that does not exist.",
            "whoever registers the target name serves your content (subdomain takeover).",
            "remove the CNAME or restore its target.",
        ),
        Rule::WaiverExpired => l(
            "a waiver's `expires` date has passed, so the finding it covered is reported again.",
            "a temporary exception has quietly become permanent.",
            "fix what it covered, or renew the waiver with a new date and approval.",
        ),
        Rule::WaiverUnused => l(
            "a waiver matched no finding.",
            "the exception outlived its reason, and could hide a future problem.",
            "remove it from `waivers:`.",
        ),
        Rule::ScanIncomplete => l(
            "the scan did not finish (interrupted, or probes left over), so the verdict is partial.",
            "what was not probed cannot be judged: absence of findings proves nothing.",
            "run it again to the end (`vantage scan --resume` continues a saved scan).",
        ),
    }
}

/// At most this many findings are listed under one rule.
const LISTED: usize = 4;

/// Writes the lessons for `findings`, quoting lines of `spec` (the text
/// of the spec they were judged against, shown as `spec_name`), then the
/// next steps.
pub(super) fn write(
    findings: &[Finding],
    spec: &str,
    spec_name: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    // In the report's order (worst first): each rule where it first appears.
    let mut by_rule: Vec<(Rule, Vec<&Finding>)> = Vec::new();
    for f in findings {
        match by_rule.iter_mut().find(|(r, _)| *r == f.rule) {
            Some((_, found)) => found.push(f),
            None => by_rule.push((f.rule, vec![f])),
        }
    }
    writeln!(out)?;
    writeln!(out, "What the findings mean")?;
    writeln!(out, "----------------------")?;
    if by_rule.is_empty() {
        writeln!(out, "Nothing differed from the intent.")?;
    }
    for (rule, found) in &by_rule {
        let (name, l) = (rule.as_str(), lesson(*rule));
        let waived = found.iter().filter(|f| f.waived.is_some()).count();
        let count = match waived {
            0 => format!("{}", found.len()),
            w => format!("{}, {w} waived", found.len()),
        };
        writeln!(out, "\n{name} ({count}): {}", l.means)?;
        for f in found.iter().take(LISTED) {
            writeln!(out, "    {}", what(f, spec, spec_name))?;
        }
        if found.len() > LISTED {
            writeln!(out, "    ... and {} more in the report", found.len() - LISTED)?;
        }
        writeln!(out, "  Why it matters: {}", l.matters)?;
        writeln!(out, "  Fix: {}", l.fix)?;
    }
    Ok(())
}

/// `127.0.0.3 tcp/16379 (db): spec line 43: - { from: local, ... }`.
fn what(f: &Finding, spec: &str, spec_name: &str) -> String {
    let mut s = f.target.clone().unwrap_or_else(|| "the spec".to_owned());
    if let (Some(proto), Some(port)) = (f.proto, f.port) {
        let proto = match proto {
            vantage::report::document::Proto::Tcp => "tcp",
            vantage::report::document::Proto::Udp => "udp",
        };
        s.push_str(&format!(" {proto}/{port}"));
    }
    if let Some(host) = &f.host {
        s.push_str(&format!(" ({host})"));
    }
    if let Some(w) = &f.waived {
        s.push_str(&format!(", waived by {w}"));
    }
    let line = f.location.line;
    let quoted = usize::try_from(line)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| spec.lines().nth(i))
        .map(str::trim);
    match quoted {
        Some(text) if !text.is_empty() => {
            s.push_str(&format!("; {spec_name}:{line}: {text}"));
        }
        _ => {}
    }
    s
}

/// What to do after the demo.
pub(super) fn next_steps(out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "Next steps")?;
    writeln!(out, "----------")?;
    for (command, what) in [
        ("vantage demo --print-spec", "the intent just checked, commented (specs/demo.yaml)"),
        ("vantage init", "write a commented starter spec (vantage.yaml) for your network"),
        ("vantage lint vantage.yaml", "check it: every problem with its line and column"),
        ("vantage plan vantage.yaml --from VANTAGE", "see what a scan would send, sending nothing"),
        ("vantage check vantage.yaml --from VANTAGE", "probe and judge, as the demo just did"),
    ] {
        writeln!(out, "  {command:<44} {what}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vantage::report::document::{Proto, Severity, SpecLocation};

    fn finding(rule: Rule, port: Option<u16>, line: u32, waived: Option<&str>) -> Finding {
        Finding {
            rule,
            severity: Severity::High,
            vantage: Some("this-machine".to_owned()),
            target: Some("127.0.0.3".to_owned()),
            host: Some("db".to_owned()),
            port,
            proto: port.map(|_| Proto::Tcp),
            expected: "denied".to_owned(),
            observed: "open".to_owned(),
            evidence: String::new(),
            waived: waived.map(str::to_owned),
            location: SpecLocation { file: "x.yaml".to_owned(), line, column: 5 },
        }
    }

    fn text(findings: &[Finding]) -> String {
        let mut out = Vec::new();
        write(findings, "version: 1\nflows:\n  - { deny: [redis] }\n", "demo.yaml", &mut out)
            .expect("written");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn every_rule_has_a_lesson_of_three_sentences() {
        for rule in Rule::ALL {
            let l = lesson(rule);
            for part in [l.means, l.matters, l.fix] {
                assert!(part.ends_with('.') && part.len() > 20, "{rule:?}: {part:?}");
            }
        }
    }

    #[test]
    fn each_rule_found_is_explained_once_with_its_findings_and_spec_lines() {
        let t = text(&[
            finding(Rule::Exposure, Some(16379), 3, None),
            finding(Rule::Exposure, Some(19090), 3, Some("DEMO-1")),
            finding(Rule::UndeclaredHost, None, 0, None),
        ]);
        assert_eq!(t.matches("\nexposure (2, 1 waived): an open port").count(), 1, "{t}");
        assert!(t.contains("127.0.0.3 tcp/16379 (db); demo.yaml:3: - { deny: [redis] }"), "{t}");
        assert!(t.contains("127.0.0.3 tcp/19090 (db), waived by DEMO-1; demo.yaml:3:"), "{t}");
        assert!(t.contains("\nundeclared-host (1): "), "{t}");
        assert!(t.contains("    127.0.0.3 (db)\n"), "line 0 quotes nothing: {t}");
        assert_eq!(t.matches("Why it matters:").count(), 2, "{t}");
        assert!(!t.contains("tls-"), "{t}");
    }

    #[test]
    fn no_findings_say_so() {
        assert!(text(&[]).contains("Nothing differed from the intent."));
    }
}
