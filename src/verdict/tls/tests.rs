//! The TLS rules on `tls` lines made here: a chain signed by a CA the test
//! makes (rcgen), trusted through the spec's `trusted_ca`.

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, date_time_ymd};

use crate::observe::{ObservationFile, Record, TlsFact, TlsSuite, TlsVersion, TlsVersionFact};
use crate::report::document::CheckKind;
use crate::verdict::{Source, TlsPolicies, judge};

const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The CA file, removed when the test ends.
struct CaFile(PathBuf);

impl Drop for CaFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

struct Pki {
    ca: CaFile,
    good: Vec<u8>,
    expired: Vec<u8>,
    /// A leaf an intermediate (which the root signed) signed.
    below_intermediate: Vec<u8>,
}

fn pki(tag: &str) -> Pki {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, "Verdict Test Root");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = date_time_ymd(2025, 1, 1);
    params.not_after = date_time_ymd(2030, 1, 1);
    let root = params.self_signed(&key).expect("root");
    let issuer = Issuer::new(params, key);
    let mut mid = CertificateParams::new(Vec::<String>::new()).expect("params");
    mid.distinguished_name.push(DnType::CommonName, "Verdict Test Intermediate");
    mid.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    mid.not_before = date_time_ymd(2025, 1, 1);
    mid.not_after = date_time_ymd(2030, 1, 1);
    let mid_key = KeyPair::generate().expect("key");
    mid.signed_by(&mid_key, &issuer).expect("intermediate");
    let intermediate = Issuer::new(mid, mid_key);
    let leaf_of = |issuer: &Issuer<'_, KeyPair>, from: (i32, u8, u8), to: (i32, u8, u8)| {
        let mut p = CertificateParams::new(vec!["web.example.test".to_owned()]).expect("params");
        p.distinguished_name.push(DnType::CommonName, "web.example.test");
        p.not_before = date_time_ymd(from.0, from.1, from.2);
        p.not_after = date_time_ymd(to.0, to.1, to.2);
        let key = KeyPair::generate().expect("key");
        p.signed_by(&key, issuer).expect("leaf").der().to_vec()
    };
    let leaf = |from, to| leaf_of(&issuer, from, to);
    let path =
        std::env::temp_dir().join(format!("vantage-verdict-tls-{}-{tag}.pem", std::process::id()));
    std::fs::write(&path, root.pem()).expect("write CA");
    Pki {
        ca: CaFile(path),
        good: leaf((2026, 1, 1), (2026, 9, 1)),
        expired: leaf((2025, 1, 1), (2025, 12, 1)),
        below_intermediate: leaf_of(&intermediate, (2026, 1, 1), (2026, 9, 1)),
    }
}

fn intent(ca: &CaFile) -> crate::spec::Intent {
    let text = format!(
        r#"version: 1
zones:
  internet: {{ cidrs: ["0.0.0.0/0"], probe: false }}
  dmz: {{ cidrs: [198.18.10.0/24] }}
hosts:
  web: {{ address: 198.18.10.10, names: [web.example.test] }}
  plain: {{ address: 198.18.10.11, names: [plain.example.test] }}
services:
  https: {{ tcp: [443], tls: web }}
flows:
  - {{ from: internet, to: [web, plain], allow: [https] }}
default: deny
vantages:
  outside: {{ zone: internet }}
tls:
  policies:
    web: {{ profile: intermediate, trusted_ca: "{}" }}
"#,
        ca.0.display()
    );
    let file: Arc<str> = Arc::from("test.yaml");
    let loaded = crate::spec::load_bytes(std::path::Path::new("test.yaml"), &file, text.as_bytes());
    loaded.intent.unwrap_or_else(|| panic!("spec refused: {:?}", loaded.diagnostics))
}

fn suites(codes: &[u16]) -> Vec<TlsSuite> {
    codes
        .iter()
        .map(|&c| TlsSuite {
            code: format!("0x{c:04X}"),
            name: crate::tls::names::iana_name(c).map(str::to_owned),
        })
        .collect()
}

/// A finished probe of `target`:443 accepting `versions`, presenting `chain`.
fn fact(target: &str, versions: &[(TlsVersion, &[u16])], chain: &[Vec<u8>]) -> TlsFact {
    let (chain, chain_truncated) = TlsFact::encode_chain(chain);
    TlsFact {
        target: target.parse().expect("address"),
        port: 443,
        sni: Some("web.example.test".to_owned()),
        starttls: None,
        speaks_tls: true,
        plaintext: None,
        versions: versions
            .iter()
            .map(|(v, c)| TlsVersionFact { version: *v, suites: suites(c), server_order: None })
            .collect(),
        refused: Vec::new(),
        chain,
        chain_truncated,
        ocsp_stapled: Some(false),
        error: None,
        at: "2026-03-01T12:00:02.000Z".to_owned(),
    }
}

const MODERN_12: &[u16] = &[0xc02f, 0xc030]; // ECDHE-RSA-AES128/256-GCM
const TLS13: &[u16] = &[0x1301, 0x1302];

fn file(facts: Vec<TlsFact>) -> ObservationFile {
    let mut lines = vec![format!(
        r#"{{"kind":"header","schema_version":1,"tool":"vantage","version":"0.1.0","spec":"test.yaml","spec_digest":"{DIGEST}","vantage":"outside","shard_index":0,"shard_count":1,"seed":1,"mode":"syn","started":"2026-03-01T12:00:00.000Z","probes_planned":2}}"#
    )];
    for t in ["198.18.10.10", "198.18.10.11"] {
        lines.push(format!(
            r#"{{"kind":"port","target":"{t}","proto":"tcp","port":443,"state":"open","reason":"syn-ack","attempts":1,"rtt_us":500,"banner":null,"at":"2026-03-01T12:00:01.000Z"}}"#
        ));
    }
    for f in facts {
        lines.push(serde_json::to_string(&Record::Tls(f)).expect("json"));
    }
    lines.push(r#"{"kind":"trailer","ended":"2026-03-01T12:04:00.000Z","complete":true,"interrupted":false,"probes_sent":2,"open":2,"closed":0,"filtered":0,"open_filtered":0,"errors":0}"#.to_owned());
    let text = lines.join("\n") + "\n";
    crate::observe::parse(text.as_bytes(), "tls.jsonl").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// `rule severity target:port observed`, one per finding.
fn verdict(tag: &str, facts: impl FnOnce(&Pki) -> Vec<TlsFact>) -> Vec<String> {
    let pki = pki(tag);
    let intent = intent(&pki.ca);
    let tls = TlsPolicies::load(&intent, |p| std::fs::read(p)).expect("policies");
    let file = file(facts(&pki));
    let sources = [Source { name: "tls.jsonl", file: &file }];
    let now = "2026-03-02T00:00:00Z".parse().expect("time");
    let v = judge(&intent, &tls, &sources, &[], Some(DIGEST), now).expect("judged");
    for f in &v.findings {
        assert!(f.evidence.contains("tls.jsonl"), "{f:?}");
        assert_eq!(f.location.line, 9, "the service's line: {f:?}");
    }
    let tls_checks: Vec<&str> =
        v.checks.iter().filter(|c| c.kind == CheckKind::Tls).map(|c| c.name.as_str()).collect();
    assert!(tls_checks.iter().all(|c| c.contains("meets policy `web`")), "{tls_checks:?}");
    v.findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {}:{} {}",
                f.rule.as_str(),
                f.severity.as_str(),
                f.target.as_deref().unwrap_or("-"),
                f.port.unwrap_or(0),
                f.observed
            )
        })
        .collect()
}

#[test]
fn an_endpoint_meeting_its_policy_has_no_finding() {
    let got = verdict("good", |p| {
        vec![fact(
            "198.18.10.10",
            &[(TlsVersion::Tls12, MODERN_12), (TlsVersion::Tls13, TLS13)],
            std::slice::from_ref(&p.good),
        )]
    });
    assert_eq!(got, Vec::<String>::new());
}

#[test]
fn old_versions_and_weak_suites_are_one_finding_each_naming_them_all() {
    let got = verdict("weak", |p| {
        vec![fact(
            "198.18.10.10",
            &[
                (TlsVersion::Tls10, &[0x002f]),
                (TlsVersion::Tls11, &[0x002f]),
                (TlsVersion::Tls12, &[0xc02f, 0x000a, 0x0005]),
            ],
            std::slice::from_ref(&p.good),
        )]
    });
    assert_eq!(
        got,
        [
            "tls-cipher high 198.18.10.10:443 accepts 2 suites outside the policy: \
             TLSv1.2 TLS_RSA_WITH_3DES_EDE_CBC_SHA, TLSv1.2 TLS_RSA_WITH_RC4_128_SHA",
            "tls-protocol high 198.18.10.10:443 accepts TLSv1.0, TLSv1.1",
        ]
    );
}

#[test]
fn plaintext_and_silence_are_tls_missing() {
    let got = verdict("missing", |_| {
        let mut plain = fact("198.18.10.11", &[], &[]);
        plain.speaks_tls = false;
        plain.plaintext = Some("HTTP/1.1 400 Bad Request".to_owned());
        let mut silent = fact("198.18.10.10", &[], &[]);
        silent.speaks_tls = false;
        silent.error = Some("no answer to a ClientHello within 5 s".to_owned());
        vec![plain, silent]
    });
    assert_eq!(
        got,
        [
            "tls-missing high 198.18.10.10:443 no answer to a ClientHello",
            "tls-missing high 198.18.10.11:443 plaintext",
        ]
    );
}

#[test]
fn certificate_problems_are_judged_at_the_verdicts_time() {
    let got = verdict("expired", |p| {
        vec![fact("198.18.10.10", &[(TlsVersion::Tls13, TLS13)], std::slice::from_ref(&p.expired))]
    });
    assert_eq!(got, ["tls-cert-expired high 198.18.10.10:443 expired"]);
}

#[test]
fn a_probe_cut_short_is_not_a_missing_certificate_and_a_rerun_decides() {
    // Cut short before the chain: what it learnt is judged, no "no certificate";
    // the certificate policy went unjudged, which is incomplete, not a pass.
    let got = verdict("cut", |_| {
        let mut cut = fact("198.18.10.10", &[(TlsVersion::Tls13, TLS13)], &[]);
        cut.error = Some("timed out".to_owned());
        vec![cut]
    });
    assert_eq!(
        got,
        [
            "scan-incomplete high 198.18.10.10:443 no certificate was read: timed out; the certificate policy is unjudged"
        ]
    );
    // The same endpoint twice: the finished probe decides, not the timeout.
    let got = verdict("rerun", |p| {
        let mut silent = fact("198.18.10.10", &[], &[]);
        silent.speaks_tls = false;
        silent.error = Some("timed out".to_owned());
        silent.at = "2026-03-01T12:00:09.000Z".to_owned();
        let done =
            fact("198.18.10.10", &[(TlsVersion::Tls13, TLS13)], std::slice::from_ref(&p.good));
        vec![done, silent]
    });
    assert_eq!(got, Vec::<String>::new());
}

#[test]
fn a_cut_chain_leaves_trust_unjudged_where_its_path_runs_off_the_end() {
    // The leaf alone (nmap's ssl-cert keeps no more), marked cut: its
    // issuer may be among what was not kept.
    let got = verdict("cut-chain", |p| {
        let mut cut = fact(
            "198.18.10.10",
            &[(TlsVersion::Tls13, TLS13)],
            std::slice::from_ref(&p.below_intermediate),
        );
        cut.chain_truncated = true;
        vec![cut]
    });
    assert_eq!(
        got,
        [
            "scan-incomplete high 198.18.10.10:443 the chain was cut at 1 certificate(s) before its path reached an anchor; trust is unjudged"
        ]
    );
    // Not cut: the intermediate is missing, a finding.
    let got = verdict("whole-chain", |p| {
        vec![fact(
            "198.18.10.10",
            &[(TlsVersion::Tls13, TLS13)],
            std::slice::from_ref(&p.below_intermediate),
        )]
    });
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("tls-cert-untrusted high 198.18.10.10:443"), "{got:?}");
    // Cut, but the anchor signed the leaf: judged, and trusted.
    let got = verdict("cut-anchored", |p| {
        let mut cut =
            fact("198.18.10.10", &[(TlsVersion::Tls13, TLS13)], std::slice::from_ref(&p.good));
        cut.chain_truncated = true;
        vec![cut]
    });
    assert_eq!(got, Vec::<String>::new());
}

#[test]
fn a_line_without_versions_leaves_the_protocol_and_cipher_policy_unjudged() {
    // nmap's ssl-cert alone: the leaf, and no version accepted or refused.
    let got = verdict("no-versions", |p| {
        let mut cert_only = fact("198.18.10.10", &[], std::slice::from_ref(&p.good));
        cert_only.error = Some(
            "no protocol version was probed: nmap's ssl-enum-ciphers script did not run".to_owned(),
        );
        cert_only.ocsp_stapled = None;
        vec![cert_only]
    });
    assert_eq!(
        got,
        [
            "scan-incomplete high 198.18.10.10:443 no protocol version was probed: nmap's ssl-enum-ciphers script did not run; the protocol and cipher policy is unjudged"
        ]
    );
}

#[test]
fn compare_reports_tls_changes_towards_or_away_from_the_policy() {
    let pki = pki("compare");
    let intent = intent(&pki.ca);
    let mut plain = fact("198.18.10.11", &[], &[]);
    plain.speaks_tls = false;
    plain.plaintext = Some("HTTP/1.1 400 Bad Request".to_owned());
    let mut web = fact(
        "198.18.10.10",
        &[(TlsVersion::Tls12, MODERN_12), (TlsVersion::Tls13, TLS13)],
        std::slice::from_ref(&pki.good),
    );
    // TLS 1.1 was not probed then: no change can be told for it.
    web.refused = vec![TlsVersion::Ssl2, TlsVersion::Ssl3, TlsVersion::Tls10];
    let old = file(vec![web, plain]);
    let new = file(vec![
        fact(
            "198.18.10.10",
            &[
                (TlsVersion::Tls10, &[0x002f]),
                (TlsVersion::Tls11, &[0x002f]),
                (TlsVersion::Tls12, &[0xc02f, 0x000a]),
                (TlsVersion::Tls13, TLS13),
            ],
            std::slice::from_ref(&pki.expired),
        ),
        fact("198.18.10.11", &[(TlsVersion::Tls13, TLS13)], std::slice::from_ref(&pki.good)),
    ]);
    let c = crate::verdict::compare(
        Some(&intent),
        Source { name: "old.jsonl", file: &old },
        Source { name: "new.jsonl", file: &new },
    )
    .expect("compared");
    let got: Vec<String> = c
        .changes
        .iter()
        .map(|c| {
            format!(
                "{}:{} {} {} -> {} {}",
                c.target,
                c.port.unwrap_or(0),
                c.change,
                c.before.as_deref().unwrap_or("-"),
                c.after.as_deref().unwrap_or("-"),
                c.intent.as_deref().unwrap_or("-")
            )
        })
        .collect();
    let leaf = |der: &[u8]| {
        use sha2::Digest as _;
        let h = sha2::Sha256::digest(der);
        format!("leaf sha256:{}", h.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>())
    };
    assert_eq!(
        got,
        [
            format!(
                "198.18.10.10:443 tls-certificate {} -> {} neutral",
                leaf(&pki.good),
                leaf(&pki.expired)
            ),
            "198.18.10.10:443 tls-suite-accepted - -> TLSv1.2 TLS_RSA_WITH_3DES_EDE_CBC_SHA away"
                .to_owned(),
            "198.18.10.10:443 tls-suite-refused TLSv1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 -> - neutral"
                .to_owned(),
            "198.18.10.10:443 tls-version-accepted refused -> accepted away".to_owned(),
            "198.18.10.11:443 tls-answer plaintext -> tls towards".to_owned(),
        ]
    );
}

#[test]
fn a_server_that_will_not_start_tls_is_tls_missing_with_its_reply_and_reason() {
    use crate::observe::StartTls;
    let pki = pki("starttls");
    let intent = intent(&pki.ca);
    let tls = TlsPolicies::load(&intent, |p| std::fs::read(p)).expect("policies");
    let mut good = fact(
        "198.18.10.10",
        &[(TlsVersion::Tls12, MODERN_12), (TlsVersion::Tls13, TLS13)],
        std::slice::from_ref(&pki.good),
    );
    good.starttls = Some(StartTls::Smtp);
    let mut refused = fact("198.18.10.11", &[], &[]);
    refused.starttls = Some(StartTls::Smtp);
    refused.speaks_tls = false;
    refused.plaintext = Some("250-mx.example.test\\r\\n250 SIZE 1000\\r\\n".to_owned());
    refused.error = Some(
        "SMTP: the server does not offer STARTTLS: its EHLO reply does not list STARTTLS"
            .to_owned(),
    );
    let file = file(vec![good, refused]);
    let sources = [Source { name: "tls.jsonl", file: &file }];
    let now = "2026-03-02T00:00:00Z".parse().expect("time");
    let v = judge(&intent, &tls, &sources, &[], Some(DIGEST), now).expect("judged");
    assert_eq!(v.findings.len(), 1, "{:?}", v.findings);
    let f = &v.findings[0];
    assert_eq!(
        (f.rule.as_str(), f.target.as_deref(), f.observed.as_str()),
        ("tls-missing", Some("198.18.10.11"), "no TLS after SMTP STARTTLS")
    );
    assert_eq!(
        f.evidence,
        "asked with SMTP STARTTLS, the endpoint did not start TLS; \
         SMTP: the server does not offer STARTTLS: its EHLO reply does not list STARTTLS; \
         it sent \"250-mx.example.test\\r\\n250 SIZE 1000\\r\\n\"; \
         probed over SMTP STARTTLS with SNI web.example.test at 2026-03-01T12:00:02.000Z (tls.jsonl)"
    );
}
