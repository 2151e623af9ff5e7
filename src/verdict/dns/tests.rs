//! The DNS rules on `dns` lines made here, from two vantages: `outside`
//! (an untrusted zone) and `inside`.

use std::sync::Arc;

use crate::observe::{DnsCheck, DnsFact, DnsRecord, ObservationFile, Proto, Record};
use crate::report::document::CheckKind;
use crate::verdict::{Source, TlsPolicies, judge};

const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

const SPEC: &str = r#"version: 1
zones:
  internet: { cidrs: ["0.0.0.0/0"], probe: false }
  dmz: { cidrs: [198.18.10.0/24] }
  app: { cidrs: [198.18.20.0/24] }
hosts:
  ns: { address: 198.18.10.53 }
services:
  dns: { udp: [53], tcp: [53] }
flows:
  - { from: [internet, app], to: ns, allow: [dns] }
vantages:
  outside: { zone: internet }
  inside: { zone: app }
dns:
  servers: [198.18.10.53]
  expect:
    - { name: www.corp.test, type: A, values: [198.18.10.10] }
    - { name: alias.corp.test, type: A, values: [198.18.10.10] }
    - { name: corp.test, type: TXT, values: ["v=spf1 -all"] }
    - { name: db.internal.corp.test, from: outside, absent: true }
  forbid: [zone-transfer, open-recursion, dangling-cname]
"#;

fn rec(name: &str, rtype: &str, value: &str) -> DnsRecord {
    DnsRecord { name: name.into(), rtype: rtype.into(), ttl: 300, value: value.into() }
}

/// An answered question to the spec's server.
fn q(check: DnsCheck, name: &str, rtype: &str, rcode: &str, answers: Vec<DnsRecord>) -> DnsFact {
    DnsFact {
        server: "198.18.10.53".parse().expect("address"),
        port: 53,
        check,
        name: name.into(),
        rtype: rtype.into(),
        recursion_desired: true,
        discovered: false,
        transport: if rtype == "AXFR" { Proto::Tcp } else { Proto::Udp },
        rcode: Some(rcode.into()),
        authoritative: true,
        recursion_available: false,
        records: answers.len() as u64,
        answers,
        authority: None,
        complete: false,
        attempts: 1,
        rtt_us: Some(700),
        error: None,
        at: "2026-03-01T12:00:02.000Z".into(),
    }
}

/// Every `expect` answered as the spec wants, from `vantage`.
fn conforming(vantage: &str) -> Vec<DnsFact> {
    let mut v = vec![
        q(
            DnsCheck::Expect,
            "www.corp.test",
            "A",
            "NOERROR",
            vec![rec("www.corp.test", "A", "198.18.10.10")],
        ),
        // The chain is finished by a second question.
        q(
            DnsCheck::Expect,
            "alias.corp.test",
            "A",
            "NOERROR",
            vec![rec("alias.corp.test", "CNAME", "www.corp.test")],
        ),
        q(
            DnsCheck::CnameTarget,
            "www.corp.test",
            "A",
            "NOERROR",
            vec![rec("www.corp.test", "A", "198.18.10.10")],
        ),
        q(
            DnsCheck::Expect,
            "corp.test",
            "TXT",
            "NOERROR",
            vec![rec("corp.test", "TXT", "\"v=spf1\" \" -all\"")],
        ),
        q(DnsCheck::Axfr, "corp.test", "AXFR", "REFUSED", vec![]),
        q(DnsCheck::Recursion, "example.com", "A", "REFUSED", vec![]),
    ];
    if vantage == "outside" {
        for t in ["A", "AAAA"] {
            v.push(q(DnsCheck::Expect, "db.internal.corp.test", t, "NXDOMAIN", vec![]));
        }
    }
    v
}

fn file(vantage: &str, facts: Vec<DnsFact>) -> ObservationFile {
    let mut lines = vec![format!(
        r#"{{"kind":"header","schema_version":1,"tool":"vantage","version":"0.1.0","spec":"test.yaml","spec_digest":"{DIGEST}","vantage":"{vantage}","shard_index":0,"shard_count":1,"seed":1,"mode":"syn","started":"2026-03-01T12:00:00.000Z","probes_planned":0}}"#
    )];
    lines.extend(facts.into_iter().map(|f| serde_json::to_string(&Record::Dns(f)).expect("json")));
    lines.push(r#"{"kind":"trailer","ended":"2026-03-01T12:04:00.000Z","complete":true,"interrupted":false,"probes_sent":0,"open":0,"closed":0,"filtered":0,"open_filtered":0,"errors":0}"#.to_owned());
    let text = lines.join("\n") + "\n";
    crate::observe::parse(text.as_bytes(), "dns.jsonl").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// `rule severity vantage proto/port @line observed`, one per finding.
fn verdict(outside: Vec<DnsFact>, inside: Vec<DnsFact>) -> Vec<String> {
    verdict_of(SPEC, outside, inside)
}

fn verdict_of(spec: &str, outside: Vec<DnsFact>, inside: Vec<DnsFact>) -> Vec<String> {
    let text: Arc<str> = Arc::from("test.yaml");
    let loaded = crate::spec::load_bytes(std::path::Path::new("test.yaml"), &text, spec.as_bytes());
    let intent = loaded.intent.unwrap_or_else(|| panic!("spec refused: {:?}", loaded.diagnostics));
    let tls = TlsPolicies::default();
    let (o, i) = (file("outside", outside), file("inside", inside));
    let sources =
        [Source { name: "outside.jsonl", file: &o }, Source { name: "inside.jsonl", file: &i }];
    let v = judge(
        &intent,
        &tls,
        &sources,
        &[],
        Some(DIGEST),
        "2026-03-02T00:00:00Z".parse().expect("t"),
    )
    .expect("judged");
    for f in &v.findings {
        assert!(f.evidence.contains("asked 198.18.10.53"), "{f:?}");
        assert!(!f.expected.is_empty() && !f.observed.is_empty(), "{f:?}");
    }
    let dns_checks = v.checks.iter().filter(|c| c.kind == CheckKind::Dns).count();
    assert_eq!(dns_checks, 4 + 3 + 3 + 3, "a check per entry and forbid, per vantage");
    v.findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} @{} {}",
                f.rule.as_str(),
                f.severity.as_str(),
                f.vantage.as_deref().unwrap_or("-"),
                f.port_text(),
                f.location.line,
                f.observed
            )
        })
        .collect()
}

#[test]
fn answers_as_the_spec_says_give_no_finding() {
    assert_eq!(verdict(conforming("outside"), conforming("inside")), Vec::<String>::new());
}

#[test]
fn a_wrong_answer_nxdomain_and_silence_are_mismatches() {
    let mut outside = conforming("outside");
    outside[0] = q(
        DnsCheck::Expect,
        "www.corp.test",
        "A",
        "NOERROR",
        vec![rec("www.corp.test", "A", "198.18.10.99")],
    );
    outside[3] = q(DnsCheck::Expect, "corp.test", "TXT", "NXDOMAIN", vec![]);
    let mut inside = conforming("inside");
    inside[0] = DnsFact {
        rcode: None,
        error: Some("no answer after 3 attempts".into()),
        attempts: 3,
        rtt_us: None,
        ..q(DnsCheck::Expect, "www.corp.test", "A", "NOERROR", vec![])
    };
    assert_eq!(
        verdict(outside, inside),
        [
            "dns-mismatch medium inside udp/53 @18 no answer: no answer after 3 attempts",
            "dns-mismatch medium outside udp/53 @18 198.18.10.99",
            "dns-mismatch medium outside udp/53 @20 NXDOMAIN",
        ]
    );
}

#[test]
fn a_name_meant_absent_from_outside_that_resolves_is_a_leak() {
    let mut outside = conforming("outside");
    outside.retain(|f| f.name != "db.internal.corp.test");
    outside.push(q(
        DnsCheck::Expect,
        "db.internal.corp.test",
        "A",
        "NOERROR",
        vec![rec("db.internal.corp.test", "A", "198.18.20.5")],
    ));
    outside.push(q(DnsCheck::Expect, "db.internal.corp.test", "AAAA", "NOERROR", vec![]));
    assert_eq!(
        verdict(outside, conforming("inside")),
        ["dns-leak high outside udp/53 @21 resolves: db.internal.corp.test A 198.18.20.5"]
    );
}

#[test]
fn transfers_recursion_for_outsiders_and_dangling_names_are_forbidden() {
    let open = |mut v: Vec<DnsFact>| {
        v.retain(|f| !matches!(f.check, DnsCheck::Axfr | DnsCheck::Recursion));
        let mut axfr = q(
            DnsCheck::Axfr,
            "corp.test",
            "AXFR",
            "NOERROR",
            vec![
                rec("corp.test", "SOA", "ns.corp.test hostmaster.corp.test 1 3600 600 86400 300"),
                rec("old.corp.test", "CNAME", "gone.corp.test"),
            ],
        );
        axfr.records = 42;
        axfr.complete = true;
        v.push(axfr);
        v.push(DnsFact {
            authoritative: false,
            recursion_available: true,
            ..q(
                DnsCheck::Recursion,
                "example.com",
                "A",
                "NOERROR",
                vec![rec("example.com", "A", "198.18.99.1")],
            )
        });
        v.push(q(DnsCheck::CnameTarget, "gone.corp.test", "A", "NXDOMAIN", vec![]));
        v
    };
    // RA alone, with no data, is not open recursion.
    let mut inside = open(conforming("inside"));
    inside.retain(|f| f.check != DnsCheck::Recursion);
    inside.push(DnsFact {
        recursion_available: true,
        authoritative: false,
        ..q(DnsCheck::Recursion, "example.com", "A", "SERVFAIL", vec![])
    });
    assert_eq!(
        verdict(open(conforming("outside")), inside),
        [
            "dns-axfr high inside tcp/53 @22 AXFR of corp.test returned 42 records (the whole zone)",
            "dns-axfr high outside tcp/53 @22 AXFR of corp.test returned 42 records (the whole zone)",
            "dns-dangling-cname high inside udp/53 @22 old.corp.test CNAME gone.corp.test, and gone.corp.test is NXDOMAIN",
            "dns-dangling-cname high outside udp/53 @22 old.corp.test CNAME gone.corp.test, and gone.corp.test is NXDOMAIN",
            "dns-open-recursion high outside udp/53 @22 recursed for example.com: A 198.18.99.1",
        ]
    );
}

#[test]
fn a_wildcard_answer_is_not_a_leak() {
    let mut outside = conforming("outside");
    outside.retain(|f| f.name != "db.internal.corp.test");
    let any =
        |name: &str, check| q(check, name, "A", "NOERROR", vec![rec(name, "A", "198.18.10.77")]);
    outside.push(any("db.internal.corp.test", DnsCheck::Expect));
    outside.push(q(DnsCheck::Expect, "db.internal.corp.test", "AAAA", "NOERROR", vec![]));
    outside.push(any("vantage-wildcard-00000000000000ff.internal.corp.test", DnsCheck::Wildcard));
    assert_eq!(verdict(outside, conforming("inside")), Vec::<String>::new());
}

#[test]
fn compare_reports_dns_answers_that_changed_towards_or_away_from_the_spec() {
    let text: Arc<str> = Arc::from("test.yaml");
    let loaded = crate::spec::load_bytes(std::path::Path::new("test.yaml"), &text, SPEC.as_bytes());
    let intent = loaded.intent.unwrap_or_else(|| panic!("spec refused: {:?}", loaded.diagnostics));
    let mut before = conforming("outside");
    before[0] = q(
        DnsCheck::Expect,
        "www.corp.test",
        "A",
        "NOERROR",
        vec![rec("www.corp.test", "A", "198.18.10.99")],
    );
    let mut after = conforming("outside");
    after.retain(|f| f.check != DnsCheck::Axfr);
    let mut axfr = q(DnsCheck::Axfr, "corp.test", "AXFR", "NOERROR", vec![]);
    axfr.records = 42;
    after.push(axfr);
    let (old, new) = (file("outside", before), file("outside", after));
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
                "{}/{} {} | {} -> {} | {}",
                c.proto.map_or("-", |p| p.as_str()),
                c.port.unwrap_or(0),
                c.change,
                c.before.as_deref().unwrap_or("-"),
                c.after.as_deref().unwrap_or("-"),
                c.intent.as_deref().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "tcp/53 dns-answer | corp.test AXFR: REFUSED: 0 records -> corp.test AXFR: NOERROR: 42 records | away",
            "udp/53 dns-answer | www.corp.test A: NOERROR: A 198.18.10.99 -> www.corp.test A: NOERROR: A 198.18.10.10 | towards",
        ]
    );
}

#[test]
fn a_server_on_another_port_is_judged_and_reported_on_it() {
    let spec = SPEC.replace("servers: [198.18.10.53]", "servers: [\"198.18.10.53:5353\"]");
    let on_5353 = |v: Vec<DnsFact>| -> Vec<DnsFact> {
        v.into_iter().map(|f| DnsFact { port: 5353, ..f }).collect()
    };
    let mut outside = conforming("outside");
    outside[0] = q(
        DnsCheck::Expect,
        "www.corp.test",
        "A",
        "NOERROR",
        vec![rec("www.corp.test", "A", "198.18.10.99")],
    );
    assert_eq!(
        verdict_of(&spec, on_5353(outside), on_5353(conforming("inside"))),
        ["dns-mismatch medium outside udp/5353 @18 198.18.10.99"]
    );
}
