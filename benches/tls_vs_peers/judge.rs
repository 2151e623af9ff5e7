//! How the TLS benchmark decides, from each tool's own output, whether it
//! flagged a planted flaw (the rules are listed in the bench's header), and
//! what each tool marks at an endpoint. Pure: text in, judgement out.

use serde_json::Value;

use super::Tool;
use crate::tlsbed::Endpoint;

/// A flaw: (finding rule, word), as the bed plants it.
pub(super) type Flaw = (&'static str, &'static str);

/// Whether a suite, by IANA name, is of the kind a tls-cipher flaw's word
/// names.
fn suite_is(word: &str, iana: &str) -> bool {
    match word {
        "CBC" => iana.contains("_CBC_"),
        "3DES" => iana.contains("3DES"),
        "RC4" => iana.contains("RC4"),
        "TLS_RSA_WITH" => iana.starts_with("TLS_RSA_WITH_"),
        _ => false,
    }
}

/// One cell of the matrix: flagged or not, and what the tool wrote.
pub(super) struct Cell {
    pub(super) flagged: bool,
    pub(super) why: String,
}

fn cell(flagged: bool, why: impl Into<String>) -> Cell {
    Cell { flagged, why: why.into() }
}

/// The value of attribute `name` in an XML start tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("{name}=\"");
    let at = tag
        .match_indices(&key)
        .find(|(i, _)| *i == 0 || tag[..*i].ends_with(char::is_whitespace))?
        .0;
    tag[at + key.len()..].split('"').next()
}

/// The text of an XML element `<name>..</name>` (CDATA unwrapped).
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let inner = xml.split(&format!("<{name}>")).nth(1)?.split(&format!("</{name}>")).next()?;
    Some(inner.trim_start_matches("<![CDATA[").trim_end_matches("]]>"))
}

/// The `<ssltest>` of `e` in an sslscan XML file.
pub(super) fn sslscan_section(xml: &str, e: &Endpoint) -> String {
    let (ip, port) = (e.addr.ip().to_string(), e.addr.port().to_string());
    xml.split("<ssltest ")
        .skip(1)
        .find(|s| attr(s, "host") == Some(&ip) && attr(s, "port") == Some(&port))
        .map(|s| s.split("</ssltest>").next().unwrap_or(s).to_owned())
        .unwrap_or_default()
}

/// Whether sslscan says TLS version `v` ("1.0") is enabled (`None`: not said).
fn sslscan_protocol(xml: &str, v: &str) -> Option<bool> {
    xml.split("<protocol ")
        .skip(1)
        .find(|p| attr(p, "type") == Some("tls") && attr(p, "version") == Some(v))
        .map(|p| attr(p, "enabled") == Some("1"))
}

fn judge_sslscan((_, word): Flaw, xml: &str) -> Cell {
    if xml.is_empty() {
        return cell(false, "no <ssltest> for it");
    }
    let cert = |name| element(xml, name).unwrap_or("-").to_owned();
    match word {
        "TLSv1.0" | "TLSv1.1" => {
            let v = &word[4..];
            match sslscan_protocol(xml, v) {
                Some(on) => cell(on, format!("<protocol tls {v} enabled=\"{}\">", u8::from(on))),
                None => cell(false, "no <protocol> line"),
            }
        }
        "CBC" | "3DES" | "RC4" | "TLS_RSA_WITH" => {
            let (mut marked, mut unmarked) = (Vec::new(), Vec::new());
            for c in xml.split("<cipher ").skip(1) {
                let id = attr(c, "id")
                    .and_then(|h| u16::from_str_radix(h.trim_start_matches("0x"), 16).ok());
                let iana = id.and_then(|i| vantage::tls::wire::CipherSuite(i).name()).unwrap_or("");
                if !suite_is(word, iana) {
                    continue;
                }
                let strength = attr(c, "strength").unwrap_or("");
                let line = format!("{} {strength}", attr(c, "cipher").unwrap_or(iana));
                // A mark that 3DES, RC4 or anonymity explains is not one for
                // CBC or static RSA.
                let explained = ["3DES", "RC4"].iter().any(|w| *w != word && suite_is(w, iana))
                    || matches!(strength, "null" | "anonymous");
                if matches!(strength, "null" | "anonymous" | "weak" | "medium") && !explained {
                    marked.push(line);
                } else {
                    unmarked.push(line);
                }
            }
            if let Some(first) = marked.first() {
                cell(true, format!("{} suites marked, e.g. {first}", marked.len()))
            } else if let Some(first) = unmarked.first() {
                cell(
                    false,
                    format!("{} suites listed, none marked for it, e.g. {first}", unmarked.len()),
                )
            } else {
                cell(false, "no such suite listed")
            }
        }
        "expired" | "self-signed" => {
            let v = cert(word);
            cell(v == "true", format!("<{word}>{v}"))
        }
        "expires in" => cell(false, format!("not after {} (unmarked)", cert("not-valid-after"))),
        "1024 bits" => {
            let bits = xml.split("<pk ").nth(1).and_then(|p| attr(p, "bits")).unwrap_or("-");
            cell(false, format!("RSA key {bits} bits (unmarked)"))
        }
        "SHA-1" => cell(false, format!("{} (unmarked)", cert("signature-algorithm"))),
        "good.test" => {
            cell(false, format!("subject {} (unmarked: no name check)", cert("subject")))
        }
        "missing intermediate" => cell(false, "no chain validation"),
        "plaintext" if !xml.contains("enabled=\"1\"") => {
            cell(false, "every protocol enabled=\"0\", no certificate (nothing marked)")
        }
        _ => cell(false, "nothing"),
    }
}

fn judge_vantage((rule, word): Flaw, e: &Endpoint, json: &str) -> Cell {
    let doc: Value = serde_json::from_str(json).unwrap_or(Value::Null);
    let Some(findings) = doc["findings"].as_array() else {
        return cell(false, "no findings document");
    };
    let here: Vec<&Value> = findings
        .iter()
        .filter(|f| f["target"] == e.addr.ip().to_string() && f["port"] == u64::from(e.addr.port()))
        .filter(|f| f["rule"] == rule)
        .collect();
    let text = |f: &Value| format!("{} {}", f["observed"], f["evidence"]);
    match here.iter().find(|f| text(f).contains(word)) {
        Some(f) => cell(true, format!("{rule}: {}", text(f))),
        None if here.is_empty() => cell(false, format!("no {rule} finding")),
        None => cell(false, format!("{rule} without {word:?}: {}", text(here[0]))),
    }
}

/// The testssl.sh findings of one JSON file: (id, severity, finding).
fn testssl_findings(json: &str) -> Vec<(String, String, String)> {
    let doc: Value = serde_json::from_str(json).unwrap_or(Value::Null);
    doc.as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    let s = |k: &str| f[k].as_str().unwrap_or("").to_owned();
                    (s("id"), s("severity"), s("finding"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// testssl.sh severities that mark a problem.
fn testssl_marks(severity: &str) -> bool {
    matches!(severity, "LOW" | "MEDIUM" | "HIGH" | "CRITICAL")
}

fn judge_testssl((_, word): Flaw, json: &str) -> Cell {
    let findings = testssl_findings(json);
    if findings.is_empty() {
        return cell(false, "no JSON findings");
    }
    let ids: &[&str] = match word {
        "TLSv1.0" => &["TLS1"],
        "TLSv1.1" => &["TLS1_1"],
        "CBC" => &["cipherlist_AVERAGE", "LUCKY13"],
        "3DES" => &["cipherlist_3DES_IDEA", "SWEET32"],
        "RC4" => &["RC4"],
        "expired" | "expires in" => &["cert_expirationStatus"],
        "self-signed" | "missing intermediate" => &["cert_chain_of_trust"],
        "good.test" => &["cert_trust"],
        "1024 bits" => &["cert_keySize"],
        "SHA-1" => &["cert_signatureAlgorithm"],
        "plaintext" => &["optimal_proto"],
        _ => &[],
    };
    // With several certificates the ids get a " <cert#N>" suffix.
    let on = |id: &str, want: &str| id == want || id.starts_with(&format!("{want} "));
    let relevant: Vec<&(String, String, String)> =
        findings.iter().filter(|(id, _, _)| ids.iter().any(|w| on(id, w))).collect();
    let show = |(id, sev, text): &(String, String, String)| format!("{id} {sev} {text:?}");
    // cert_expirationStatus marks both an expired certificate and one with
    // under 30 days left (every certificate of the bed): "expired" says which.
    let says = (word == "expired").then_some("expired");
    let flag = relevant.iter().find(|(id, sev, text)| {
        (testssl_marks(sev) || (sev == "WARN" && on(id, "optimal_proto")))
            && says.is_none_or(|w| text.contains(w))
    });
    match (flag, relevant.first()) {
        (Some(f), _) => cell(true, show(f)),
        (None, Some(f)) => cell(false, show(f)),
        (None, None) if word == "TLS_RSA_WITH" => {
            let kx: Vec<&str> = findings
                .iter()
                .filter(|(id, _, text)| id.starts_with("cipher_x") && text.contains("TLS_RSA_WITH"))
                .filter_map(|(_, _, text)| text.split_whitespace().last())
                .collect();
            cell(
                false,
                format!(
                    "no finding for it; {} listed as INFO, e.g. {}",
                    kx.len(),
                    kx.first().unwrap_or(&"-")
                ),
            )
        }
        (None, None) => cell(false, format!("none of {ids:?}")),
    }
}

/// What sslyze's console output says of `e`: its connectivity line, its
/// compliance block and the supplied CA file's trust verdict, one per line.
pub(super) fn sslyze_digest(log: &str, e: &Endpoint) -> String {
    let target = format!("{}:{}", e.dns, e.addr.port());
    let mut out = Vec::new();
    let lines: Vec<&str> = log.lines().collect();
    for line in &lines {
        let t = line.trim_start();
        if t.starts_with(&format!("{target} ")) && t.contains("=>") {
            out.push(format!("connect: {}", t.split("=>").nth(1).unwrap_or("").trim()));
        }
    }
    if let Some(at) = lines.iter().position(|l| l.trim_start().starts_with(&format!("{target}: ")))
    {
        out.push(format!("compliance: {}", lines[at].trim()));
        out.extend(
            lines[at + 1..]
                .iter()
                .take_while(|l| l.trim_start().starts_with("* "))
                .map(|l| l.trim().to_owned()),
        );
    }
    let head = format!("SCAN RESULTS FOR {} - ", target.to_uppercase());
    if let Some(at) = lines.iter().position(|l| l.contains(&head)) {
        let section = lines[at..].iter().skip(1).take_while(|l| !l.contains("SCAN RESULTS FOR"));
        for l in section {
            let t = l.trim();
            if t.starts_with("Supplied CA file CA Store") || t.starts_with("Not After:") {
                out.push(t.to_owned());
                if t.starts_with("Supplied") {
                    break;
                }
            }
        }
    }
    out.join("\n")
}

fn judge_sslyze((_, word): Flaw, digest: &str) -> Cell {
    if digest.is_empty() {
        return cell(false, "not in its output");
    }
    let issue =
        |key: &str| digest.lines().find(|l| l.starts_with(&format!("* {key}:"))).map(str::to_owned);
    let trust = digest.lines().find(|l| l.starts_with("Supplied CA file")).unwrap_or("");
    let short = |s: &str| s.chars().take(160).collect::<String>();
    match word {
        "TLSv1.0" | "TLSv1.1" => {
            let quoted = if word == "TLSv1.0" { "'TLSv1'" } else { "'TLSv1.1'" };
            match issue("tls_versions") {
                Some(l) if l.contains(quoted) => cell(true, l),
                Some(l) => cell(false, l),
                None => cell(false, "no tls_versions failure"),
            }
        }
        "CBC" | "3DES" | "RC4" | "TLS_RSA_WITH" => {
            let listed: Vec<String> = ["ciphers", "ciphersuites"]
                .iter()
                .filter_map(|k| issue(k))
                .flat_map(|l| {
                    l.split('\'').skip(1).step_by(2).map(str::to_owned).collect::<Vec<_>>()
                })
                .collect();
            let mut hits: Vec<&String> = listed.iter().filter(|s| suite_is(word, s)).collect();
            // Show first a suite that is not also 3DES or RC4.
            hits.sort_by_key(|s| ["3DES", "RC4"].iter().any(|k| *k != word && suite_is(k, s)));
            match hits.first() {
                Some(h) => cell(
                    true,
                    format!("ciphers: {} of its kind should be rejected, e.g. {h}", hits.len()),
                ),
                None => cell(false, format!("{} suites failed, none of its kind", listed.len())),
            }
        }
        "expired" | "self-signed" | "good.test" | "missing intermediate" => {
            match issue("certificate_path_validation") {
                Some(l) => cell(true, format!("{l} [{}]", short(trust))),
                None => cell(false, format!("path validation passed [{}]", short(trust))),
            }
        }
        "1024 bits" => issue("rsa_key_size")
            .map_or_else(|| cell(false, "no rsa_key_size failure"), |l| cell(true, l)),
        "SHA-1" => issue("certificate_signatures").map_or_else(
            || cell(false, "no certificate_signatures failure"),
            |l| cell(true, short(&l)),
        ),
        "expires in" => {
            let after =
                digest.lines().find(|l| l.starts_with("Not After")).unwrap_or("Not After: ?");
            cell(false, format!("{after} (Mozilla's profile has no days-left rule)"))
        }
        "plaintext" => match digest.lines().find(|l| l.starts_with("connect:")) {
            Some(l) if l.contains("ERROR") => cell(true, short(l)),
            Some(l) => cell(false, l.to_owned()),
            None => cell(false, "no connectivity line"),
        },
        _ => cell(false, "nothing"),
    }
}

pub(super) fn judge(tool: Tool, flaw: Flaw, e: &Endpoint, text: &str) -> Cell {
    match tool {
        Tool::Vantage => judge_vantage(flaw, e, text),
        Tool::Sslscan => judge_sslscan(flaw, text),
        Tool::Testssl => judge_testssl(flaw, text),
        Tool::Sslyze => judge_sslyze(flaw, text),
    }
}

/// Everything `tool` marks as a problem at `e` (for the clean endpoints).
pub(super) fn marks(tool: Tool, e: &Endpoint, text: &str) -> Vec<String> {
    match tool {
        Tool::Vantage => {
            let doc: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            doc["findings"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|f| {
                            f["target"] == e.addr.ip().to_string()
                                && f["port"] == u64::from(e.addr.port())
                        })
                        .map(|f| format!("{} {}", f["rule"], f["observed"]))
                        .collect()
                })
                .unwrap_or_default()
        }
        Tool::Sslscan => {
            let mut out: Vec<String> = ["1.0", "1.1"]
                .iter()
                .filter(|v| sslscan_protocol(text, v) == Some(true))
                .map(|v| format!("TLS {v} enabled"))
                .collect();
            out.extend(text.split("<cipher ").skip(1).filter_map(|c| {
                let s = attr(c, "strength")?;
                matches!(s, "null" | "anonymous" | "weak" | "medium")
                    .then(|| format!("{} {s}", attr(c, "cipher").unwrap_or("?")))
            }));
            for el in ["expired", "self-signed"] {
                if element(text, el) == Some("true") {
                    out.push(format!("{el} true"));
                }
            }
            out
        }
        Tool::Testssl => testssl_findings(text)
            .into_iter()
            .filter(|(_, sev, _)| testssl_marks(sev))
            .map(|(id, sev, text)| {
                format!("{id} {sev} {}", text.chars().take(50).collect::<String>())
            })
            .collect(),
        Tool::Sslyze => text
            .lines()
            .filter(|l| l.starts_with("* ") || (l.starts_with("connect:") && l.contains("ERROR")))
            .map(|l| l.chars().take(90).collect())
            .collect(),
    }
}
