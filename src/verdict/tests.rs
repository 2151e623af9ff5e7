//! The verdict as data: a spec, observation files in a compact notation,
//! a date, and the findings expected, one line each:
//! `rule severity vantage target proto/port waived @line` (`-` for none).
//!
//! Observation notation, one line each (header and trailer are added):
//! - `198.18.10.10 tcp/22 open syn-ack` (reason as in the file; `icmp`
//!   stands for an ICMP unreachable, type 3 code 13);
//! - `filtered 198.18.10.11 tcp 1-1024` (a silent sweep summary).

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::observe::{ObservationFile, parse};

const SPEC: &str = r#"version: 1
zones:
  internet: { cidrs: ["0.0.0.0/0"], probe: false }
  dmz: { cidrs: [198.18.10.0/24] }
  app: { cidrs: [198.18.20.0/24] }
  data: { cidrs: [198.18.30.0/24] }
hosts:
  web: { address: 198.18.10.10 }
  db1: { address: 198.18.30.5 }
services:
  https: { tcp: [443] }
  ssh: { tcp: [22] }
  pg: { tcp: [5432] }
  metrics: { tcp: [9100], severity: low }
flows:
  - { from: internet, to: web, allow: [https] }
  - { from: app, to: db1, allow: [pg] }
  - { from: app, to: dmz, allow: [ssh], require: optional }
  - { from: internet, to: dmz, deny: [ssh] }
  - { from: app, to: web, allow: [metrics] }
default: deny
deny_mode: DENY_MODE
vantages:
  outside: { zone: internet }
  inside: { zone: app }
sweep:
  tcp: ["1-1024"]
"#;

const WAIVERS: &str = r#"waivers:
  - id: CHG-1
    match: { from: outside, to: web, port: tcp/8080 }
    reason: vendor support
    approved_by: netops
    expires: 2026-06-30
  - id: CHG-2
    match: { from: inside, to: db1, port: tcp/22 }
    reason: migration
    approved_by: netops
    expires: 2026-06-30
"#;

const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

fn intent(deny_mode: &str, waivers: bool) -> Intent {
    let mut text = SPEC.replace("DENY_MODE", deny_mode);
    if waivers {
        text.push_str(WAIVERS);
    }
    let file: Arc<str> = Arc::from("test.yaml");
    let loaded = crate::spec::load_bytes(Path::new("test.yaml"), &file, text.as_bytes());
    match loaded.intent {
        Some(i) => i,
        None => panic!("spec refused: {:?}", loaded.diagnostics),
    }
}

/// How a file ends.
#[derive(Clone, Copy)]
enum End {
    Complete,
    Interrupted,
    Killed,
}

/// An observation file from `vantage`, shard `k` of `n`.
fn file(vantage: &str, (k, n): (u32, u32), seed: u64, body: &[&str], end: End) -> String {
    let mut lines = Vec::new();
    let mut planned = 0u64;
    for l in body {
        let w: Vec<&str> = l.split_whitespace().collect();
        if w[0] == "filtered" {
            let set = crate::observe::FilteredSummary::from_ports(
                w[1].parse().expect("address"),
                if w[2] == "tcp" { crate::observe::Proto::Tcp } else { crate::observe::Proto::Udp },
                w[3].split(',').flat_map(|r| {
                    let (a, b) = r.split_once('-').unwrap_or((r, r));
                    a.parse::<u16>().expect("port")..=b.parse::<u16>().expect("port")
                }),
                2,
                crate::observe::Reason::NoResponse,
            );
            for s in set {
                planned += u64::from(s.count);
                lines.push(
                    serde_json::to_string(&crate::observe::Record::Filtered(s)).expect("json"),
                );
            }
            continue;
        }
        let (proto, port) = w[1].split_once('/').expect("proto/port");
        let reason = if w[3] == "icmp" {
            r#"{"icmp-unreachable":{"type":3,"code":13}}"#.to_owned()
        } else {
            format!("\"{}\"", w[3])
        };
        let answered = w[3] != "no-response";
        lines.push(format!(
            r#"{{"kind":"port","target":"{}","proto":"{proto}","port":{port},"state":"{}","reason":{reason},"attempts":{},"rtt_us":{},"banner":null,"at":"2026-03-01T12:00:01.000Z"}}"#,
            w[0],
            w[2],
            if answered { 1 } else { 2 },
            if answered { "5120" } else { "null" },
        ));
        planned += 1;
    }
    let header = format!(
        r#"{{"kind":"header","schema_version":1,"tool":"vantage","version":"0.1.0","spec":"test.yaml","spec_digest":"{DIGEST}","vantage":"{vantage}","shard_index":{k},"shard_count":{n},"seed":{seed},"mode":"syn","started":"2026-03-01T12:00:00.000Z","probes_planned":{planned}}}"#
    );
    let trailer = |complete: bool| {
        format!(
            r#"{{"kind":"trailer","ended":"2026-03-01T12:04:00.000Z","complete":{complete},"interrupted":{},"probes_sent":{planned},"open":0,"closed":0,"filtered":{},"open_filtered":0,"errors":0}}"#,
            !complete,
            if complete { planned } else { 0 },
        )
    };
    let mut out = vec![header];
    out.extend(lines);
    match end {
        End::Complete => out.push(trailer(true)),
        End::Interrupted => out.push(trailer(false)),
        End::Killed => {}
    }
    out.join("\n") + "\n"
}

fn whole(vantage: &str, body: &[&str]) -> String {
    file(vantage, (0, 1), 1, body, End::Complete)
}

fn at(now: &str) -> jiff::Timestamp {
    now.parse().expect("RFC 3339 time")
}

fn line(f: &Finding) -> String {
    let d = |o: Option<&str>| o.unwrap_or("-").to_owned();
    let pp = f.port_text();
    format!(
        "{} {} {} {} {} {} @{}",
        f.rule.as_str(),
        f.severity.as_str(),
        d(f.vantage.as_deref()),
        d(f.target.as_deref()),
        if pp.is_empty() { "-".to_owned() } else { pp },
        d(f.waived.as_deref()),
        f.location.line
    )
}

fn run(intent: &Intent, files: &[String], now: &str) -> Result<Verdict, VerdictError> {
    run_with(intent, files, &[], now)
}

/// `run`, with vantages expected but absent.
fn run_with(
    intent: &Intent,
    files: &[String],
    absent: &[Absent<'_>],
    now: &str,
) -> Result<Verdict, VerdictError> {
    let parsed: Vec<(String, ObservationFile)> = files
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let name = format!("f{i}.jsonl");
            let f = parse(text.as_bytes(), &name).unwrap_or_else(|e| panic!("{e}\n{text}"));
            (name, f)
        })
        .collect();
    let sources: Vec<Source<'_>> =
        parsed.iter().map(|(name, file)| Source { name, file }).collect();
    let tls = TlsPolicies::load(intent, |p| panic!("no CA file to read: {}", p.display()))
        .expect("policies");
    judge(intent, &tls, &sources, absent, Some(DIGEST), at(now))
}

/// The check: findings, as lines, equal `expected` (in order).
fn check(
    name: &str,
    deny_mode: &str,
    waivers: bool,
    files: &[String],
    now: &str,
    expected: &[&str],
) {
    let intent = intent(deny_mode, waivers);
    let verdict = run(&intent, files, now).unwrap_or_else(|e| panic!("refused: {e}"));
    let got: Vec<String> = verdict.findings.iter().map(line).collect();
    assert_eq!(got, expected, "case {name:?}: findings for {files:#?}");
    for f in &verdict.findings {
        assert!(!f.evidence.is_empty(), "{f:?} has no evidence");
        assert!(!f.expected.is_empty() && !f.observed.is_empty(), "{f:?}");
        assert_eq!(f.location.file, "test.yaml");
    }
}

const NOW: &str = "2026-03-02T00:00:00Z";

#[test]
fn port_rules() {
    // One view of a denied port on three hosts (RST, ICMP, silence),
    // judged below under `deny_mode: drop` and `deny_mode: reject`.
    let denied_ssh = vec![whole(
        "outside",
        &[
            "198.18.10.10 tcp/443 open syn-ack",
            "198.18.10.10 tcp/22 closed rst",
            "198.18.10.11 tcp/22 filtered icmp",
            "198.18.10.12 tcp/22 filtered no-response",
        ],
    )];
    let cases: Vec<(&str, &str, Vec<String>, Vec<&str>)> = vec![
        (
            "conforms",
            "any",
            vec![whole(
                "outside",
                &[
                    "198.18.10.10 tcp/443 open syn-ack",
                    "198.18.10.10 tcp/22 filtered no-response",
                    "filtered 198.18.10.10 tcp 1-21,23-442,444-1024",
                ],
            )],
            vec![],
        ),
        (
            "a denied port open from the internet is critical",
            "any",
            vec![whole(
                "outside",
                &["198.18.10.10 tcp/443 open syn-ack", "198.18.10.10 tcp/22 open syn-ack"],
            )],
            vec!["exposure critical outside 198.18.10.10 tcp/22 - @19"],
        ),
        (
            "default deny: the host's line; a service severity wins",
            "any",
            vec![whole(
                "outside",
                &[
                    "198.18.10.10 tcp/443 open syn-ack",
                    "198.18.10.10 tcp/8080 open syn-ack",
                    "198.18.10.10 tcp/9100 open syn-ack",
                ],
            )],
            vec![
                "exposure high outside 198.18.10.10 tcp/8080 - @8",
                "exposure low outside 198.18.10.10 tcp/9100 - @8",
            ],
        ),
        (
            "a required flow observed filtered, also through a summary",
            "any",
            vec![whole("outside", &["filtered 198.18.10.10 tcp 1-1024"])],
            vec!["unreachable high outside 198.18.10.10 tcp/443 - @16"],
        ),
        (
            "an allowed port from another zone is not required from here",
            "any",
            vec![whole(
                "outside",
                &["198.18.10.10 tcp/443 open syn-ack", "198.18.30.5 tcp/5432 filtered no-response"],
            )],
            vec![],
        ),
        (
            "required from the flow's zone",
            "any",
            vec![whole(
                "inside",
                &["198.18.30.5 tcp/5432 closed rst", "198.18.10.10 tcp/9100 open syn-ack"],
            )],
            vec!["unreachable high inside 198.18.30.5 tcp/5432 - @17"],
        ),
        (
            "optional never unreachable; undeclared host; trusted default deny is medium",
            "any",
            vec![whole(
                "inside",
                &[
                    "198.18.30.5 tcp/5432 open syn-ack",
                    "198.18.10.10 tcp/9100 open syn-ack",
                    "198.18.10.20 tcp/22 closed rst",
                    "198.18.10.20 tcp/80 open syn-ack",
                    "198.18.10.21 tcp/22 filtered no-response",
                ],
            )],
            vec![
                "exposure medium inside 198.18.10.20 tcp/80 - @4",
                "undeclared-host medium inside 198.18.10.20 - - @4",
            ],
        ),
        (
            "no undeclared host where the zone declares none; risky port from a trusted zone is high",
            "any",
            vec![whole(
                "inside",
                &[
                    "198.18.30.5 tcp/5432 open syn-ack",
                    "198.18.10.10 tcp/9100 open syn-ack",
                    "198.18.20.7 tcp/3306 open syn-ack",
                ],
            )],
            vec!["exposure high inside 198.18.20.7 tcp/3306 - @5"],
        ),
        (
            "deny_mode drop: RST and ICMP are answers",
            "drop",
            denied_ssh.clone(),
            vec![
                "deny-mode low outside 198.18.10.10 tcp/22 - @19",
                "deny-mode low outside 198.18.10.11 tcp/22 - @19",
            ],
        ),
        (
            "deny_mode reject: silence is wrong",
            "reject",
            denied_ssh.clone(),
            vec!["deny-mode low outside 198.18.10.12 tcp/22 - @19"],
        ),
        (
            "nothing learned: local errors, self-connects, UDP silence",
            "any",
            vec![whole(
                "outside",
                &[
                    "198.18.10.10 tcp/443 filtered local-error",
                    "198.18.10.10 tcp/8443 closed self-connect",
                    "198.18.10.10 udp/161 open|filtered no-response",
                ],
            )],
            vec![],
        ),
        (
            "the same port in two files (never from one plan's shards): open wins",
            "any",
            vec![
                file(
                    "outside",
                    (0, 2),
                    1,
                    &[
                        "198.18.10.10 tcp/22 filtered no-response",
                        "198.18.10.10 tcp/443 open syn-ack",
                    ],
                    End::Complete,
                ),
                file("outside", (1, 2), 1, &["198.18.10.10 tcp/22 open syn-ack"], End::Complete),
            ],
            vec!["exposure critical outside 198.18.10.10 tcp/22 - @19"],
        ),
    ];
    for (name, mode, files, expected) in cases {
        check(name, mode, false, &files, NOW, &expected);
    }
}

#[test]
fn incomplete_scans() {
    let ok = &["198.18.10.10 tcp/443 open syn-ack"];
    let cases: Vec<(&str, Vec<String>, Vec<&str>)> = vec![
        (
            "a missing shard",
            vec![file("outside", (0, 2), 1, ok, End::Complete)],
            vec!["scan-incomplete high outside - - - @24"],
        ),
        (
            "interrupted",
            vec![file("outside", (0, 1), 1, ok, End::Interrupted)],
            vec!["scan-incomplete high outside - - - @24"],
        ),
        (
            "killed: no trailer",
            vec![file("inside", (0, 1), 1, &["198.18.10.10 tcp/9100 open syn-ack"], End::Killed)],
            vec!["scan-incomplete high inside - - - @25"],
        ),
        (
            "all shards",
            vec![
                file("outside", (1, 2), 1, &[], End::Complete),
                file("outside", (0, 2), 1, ok, End::Complete),
            ],
            vec![],
        ),
    ];
    for (name, files, expected) in cases {
        check(name, "any", false, &files, NOW, &expected);
    }
    let intent = intent("any", false);
    let v = run(&intent, &[file("outside", (0, 4), 1, ok, End::Interrupted)], NOW).expect("judged");
    assert!(!v.complete);
    let f = &v.findings[0];
    assert!(f.evidence.contains("shards are 1/4, 2/4, 3/4 missing"), "{}", f.evidence);
    assert!(f.evidence.contains("f0.jsonl (shard 0/4) was interrupted"), "{}", f.evidence);
    assert!(
        f.observed.starts_with("0 of 1 planned probes concluded in 1 of 4 shard(s); "),
        "{}",
        f.observed
    );
    assert_eq!(v.coverage.incomplete, 1);
}

#[test]
fn absent_vantages_are_incomplete_scans() {
    let intent = intent("any", true);
    let outside = whole("outside", &["198.18.10.10 tcp/443 open syn-ack"]);
    let refused = "agent https://198.18.20.9:7443 refused the connection";
    let absent = [Absent { vantage: "inside", why: refused }];
    let v = run_with(&intent, std::slice::from_ref(&outside), &absent, NOW).expect("judged");
    // CHG-2 waives flows from `inside`, which was not judged: not unused.
    assert_eq!(
        v.findings.iter().map(line).collect::<Vec<_>>(),
        [
            "scan-incomplete high inside - - - @25",
            "waiver-unused low - 198.18.10.10 tcp/8080 - @29"
        ]
    );
    let f = &v.findings[0];
    // Every probe the spec plans from `inside` went without a conclusion.
    let planned = crate::plan::Plan::new(&intent, "inside", crate::plan::Options::default())
        .expect("plan")
        .total();
    assert!(planned > 1024, "{planned}");
    let said = format!("no observations from vantage inside: {refused}");
    assert_eq!(f.observed, said);
    assert_eq!(f.evidence, format!("{said}; 0 of {planned} planned probes concluded"));
    assert_eq!(f.expected, "observations from vantage inside");
    assert!(!v.complete);
    assert_eq!(v.coverage.vantages, ["inside", "outside"]);
    assert_eq!(v.coverage.incomplete, planned);
    // Its one check is its scan, failed: nothing it would have checked passes.
    let inside: Vec<_> = v.checks.iter().filter(|c| c.vantage == "inside").collect();
    assert_eq!(inside.len(), 1);
    assert_eq!((inside[0].kind, inside[0].findings.as_slice()), (CheckKind::Scan, &[0][..]));

    // No file at all: every vantage absent is still a verdict, each vantage
    // once with every distinct reason.
    let absent = [
        Absent { vantage: "outside", why: "no route" },
        Absent { vantage: "inside", why: refused },
        Absent { vantage: "inside", why: "timed out" },
        Absent { vantage: "inside", why: refused },
    ];
    let v = run_with(&intent, &[], &absent, NOW).expect("judged");
    assert_eq!(
        v.findings.iter().map(line).collect::<Vec<_>>(),
        ["scan-incomplete high inside - - - @25", "scan-incomplete high outside - - - @24"]
    );
    assert_eq!(
        v.findings[0].observed,
        format!("no observations from vantage inside: {refused}; timed out")
    );
    assert_eq!(v.coverage.vantages, ["inside", "outside"]);
    assert!(!v.complete);

    // The files' findings are the same beside an absent vantage.
    let alone = run(&intent, std::slice::from_ref(&outside), NOW).expect("judged");
    let v = run_with(&intent, std::slice::from_ref(&outside), &absent[1..], NOW);
    let beside: Vec<Finding> = v.expect("judged").findings.into_iter().skip(1).collect();
    assert_eq!(beside, alone.findings);

    // Refused: a vantage the spec does not declare, or one a file is from.
    let cases: Vec<(Vec<String>, &str, &str)> = vec![
        (vec![outside.clone()], "nowhere", "vantage `nowhere` is not declared in the spec"),
        (vec![], "nowhere", "(it declares: outside, inside)"),
        (
            vec![outside],
            "outside",
            "vantage `outside` is said to have no observations, but f0.jsonl is from it",
        ),
    ];
    for (files, vantage, want) in cases {
        let absent = [Absent { vantage, why: "-" }];
        let err = run_with(&intent, &files, &absent, NOW).err().map(|e| e.to_string());
        assert!(
            err.as_deref().unwrap_or_default().contains(want),
            "{err:?} should contain {want:?}"
        );
    }
}

#[test]
fn waivers_apply_through_their_last_day_in_utc() {
    let open = vec![whole(
        "outside",
        &["198.18.10.10 tcp/443 open syn-ack", "198.18.10.10 tcp/8080 open syn-ack"],
    )];
    let cases: Vec<(&str, Vec<String>, &str, Vec<&str>)> = vec![
        (
            "in force on its last second",
            open.clone(),
            "2026-06-30T23:59:59Z",
            vec!["exposure high outside 198.18.10.10 tcp/8080 CHG-1 @8"],
        ),
        (
            "expired a second later",
            open.clone(),
            "2026-07-01T00:00:00Z",
            // The waiver at line 34 lapsed too, but it waives flows from a
            // vantage not observed here: not this verdict's finding (it
            // would fail the outside job for an exception it cannot see).
            vec![
                "exposure high outside 198.18.10.10 tcp/8080 - @8",
                "waiver-expired low - 198.18.10.10 tcp/8080 - @29",
            ],
        ),
        (
            "unused, from an observed vantage only",
            vec![whole("outside", &["198.18.10.10 tcp/443 open syn-ack"])],
            NOW,
            vec!["waiver-unused low - 198.18.10.10 tcp/8080 - @29"],
        ),
    ];
    for (name, files, now, expected) in cases {
        check(name, "any", true, &files, now, &expected);
    }
}

#[test]
fn refused_sets() {
    let intent = intent("any", false);
    let a = whole("outside", &[]);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![whole("nowhere", &[])], "vantage `nowhere` is not declared"),
        (
            vec![a.clone(), file("outside", (0, 1), 2, &[], End::Complete)],
            "disagree on seed (1 vs 2)",
        ),
        (vec![a.replace("sha256:0000", "sha256:1111")], "made from another spec"),
        (vec![], "no observation file"),
        (
            vec![
                file("outside", (1, 2), 1, &[], End::Complete),
                file("outside", (0, 2), 1, &[], End::Complete),
                file("outside", (1, 2), 1, &["198.18.10.10 tcp/22 open syn-ack"], End::Complete),
            ],
            "f0.jsonl and f2.jsonl are both shard 1/2 of vantage `outside`: give each shard once",
        ),
        (
            vec![a.clone(), a.clone()],
            "f0.jsonl and f1.jsonl are both shard 0/1 of vantage `outside`",
        ),
    ];
    for (files, want) in cases {
        let err = run(&intent, &files, NOW).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains(want), "{err:?} should contain {want:?}");
    }
    // Another vantage's shard 0/1 beside this one's is no overlap.
    let both = [whole("outside", &[]), whole("inside", &[])];
    assert!(run(&intent, &both, NOW).is_ok());
}

/// `text` with its header saying the scan excluded addresses
/// (`--exclude`), with `digest` the hex digit the list's digest repeats.
fn excluding(text: &str, digest: char, addresses: u64, probes: u64) -> String {
    let (header, rest) = text.split_once('\n').expect("a header line");
    let d: String = std::iter::repeat_n(digest, 64).collect();
    let header = header.strip_suffix('}').expect("a JSON object");
    format!(
        r#"{header},"excluded":{{"networks":1,"digest":"sha256:{d}","addresses":{addresses},"probes":{probes}}}}}"#
    ) + "\n"
        + rest
}

#[test]
fn excluded_addresses_are_counted_and_their_checks_skipped_never_passed() {
    // From `inside`, db1 (198.18.30.5) was excluded: flow #2 requires
    // tcp/5432 reachable there, yet no `unreachable` is reported (it was
    // not probed), the coverage counts it, and the checks that concern
    // only it are skipped, neither passed nor failed.
    let intent = intent("any", false);
    let body = ["198.18.10.10 tcp/9100 open syn-ack", "filtered 198.18.10.10 tcp 1-1024"];
    let inside = excluding(&whole("inside", &body), 'e', 1, 1025);
    let v = run(&intent, std::slice::from_ref(&inside), NOW).expect("judged");
    assert!(v.complete, "exclusions are not incompleteness");
    assert!(!v.findings.iter().any(|f| f.rule == Rule::Unreachable), "{:?}", v.findings);
    assert_eq!((v.coverage.excluded_addresses, v.coverage.excluded_probes), (1, 1025));
    let skipped = |name: &str| {
        v.checks.iter().find(|c| c.name.starts_with(name)).map(|c| c.skipped.is_some())
    };
    assert_eq!(skipped("host db1"), Some(true));
    assert_eq!(skipped("flow #2 "), Some(true));
    assert_eq!(skipped("host web"), Some(false));
    assert_eq!(skipped("flow #5 "), Some(false));
    assert_eq!(skipped("scan complete"), Some(false));
    // The same file without exclusions skips nothing: a host missing from
    // a scan that excluded nothing is not excused.
    let v = run(&intent, &[whole("inside", &body)], NOW).expect("judged");
    assert!(v.checks.iter().all(|c| c.skipped.is_none()));
    assert_eq!(v.coverage.excluded_addresses, 0);
    // Shards of one vantage with other exclusions are not one plan.
    let shards = [
        excluding(&file("inside", (0, 2), 1, &[], End::Complete), 'e', 1, 1025),
        excluding(&file("inside", (1, 2), 1, &[], End::Complete), 'f', 1, 1025),
    ];
    let err = run(&intent, &shards, NOW).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("disagree on exclusions"), "{err}");
    let shards = [
        excluding(&file("inside", (0, 2), 1, &[], End::Complete), 'e', 1, 1025),
        file("inside", (1, 2), 1, &[], End::Complete),
    ];
    let err = run(&intent, &shards, NOW).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("disagree on exclusions"), "{err}");
    let shards = [
        excluding(&file("inside", (0, 2), 1, &[], End::Complete), 'e', 1, 1025),
        excluding(&file("inside", (1, 2), 1, &[], End::Complete), 'e', 1, 1025),
    ];
    let v = run(&intent, &shards, NOW).expect("one plan's shards");
    assert_eq!(v.coverage.excluded_addresses, 1, "counted once per vantage, not per shard");
}

#[test]
fn one_file_given_twice_is_named_once() {
    let e = VerdictError::OverlappingShards {
        vantage: "outside".to_owned(),
        shard: "0/1".to_owned(),
        files: Box::new(["a.jsonl".to_owned(), "a.jsonl".to_owned()]),
    };
    assert_eq!(
        e.to_string(),
        "a.jsonl was given twice (shard 0/1 of vantage `outside`): give each shard once (keep one run of a shard that was run twice)"
    );
}

#[test]
fn file_order_does_not_matter_and_evidence_says_what_happened() {
    let intent = intent("any", false);
    let a =
        file("outside", (0, 2), 1, &["198.18.10.10 tcp/22 filtered no-response"], End::Complete);
    let b = file(
        "outside",
        (1, 2),
        1,
        &["198.18.10.10 tcp/22 open syn-ack", "198.18.10.10 tcp/443 open syn-ack"],
        End::Complete,
    );
    let ab = run(&intent, &[a.clone(), b.clone()], NOW).expect("judged");
    let ba = run(&intent, &[b, a], NOW).expect("judged");
    let lines = |v: &Verdict| v.findings.iter().map(line).collect::<Vec<_>>();
    assert_eq!(lines(&ab), lines(&ba));
    let e = &ab.findings[0].evidence;
    assert!(e.starts_with("from outside: SYN (1 attempt) -> SYN-ACK in 5.1 ms at 2026-03-01T12:00:01.000Z (f1.jsonl)"), "{e}");
    assert!(
        e.contains(
            "seen 2 times, also filtered (f0.jsonl): open kept (one answer proves a port open)"
        ),
        "{e}"
    );
    assert_eq!(ab.findings[0].expected, "denied by flow #4 (internet -> dmz: deny ssh)");
}

#[test]
fn risk_classes() {
    use crate::spec::intent::Proto::{Tcp, Udp};
    let cases = [
        (Tcp, 22, Some(RiskClass::RemoteAdmin)),
        (Tcp, 3389, Some(RiskClass::RemoteAdmin)),
        (Tcp, 5432, Some(RiskClass::Database)),
        (Tcp, 6379, Some(RiskClass::Database)),
        (Udp, 161, Some(RiskClass::Management)),
        (Tcp, 10250, Some(RiskClass::Management)),
        (Tcp, 443, None),
        (Udp, 53, None),
    ];
    for (proto, port, want) in cases {
        assert_eq!(risk_class(proto, port), want, "{proto:?}/{port}");
    }
}

#[test]
fn compare_marks_changes_against_the_intent() {
    let intent = intent("any", false);
    let old = whole(
        "outside",
        &[
            "198.18.10.10 tcp/443 filtered no-response",
            "198.18.10.10 tcp/8080 open syn-ack",
            "198.18.10.10 tcp/9000 open syn-ack",
            "filtered 198.18.10.10 tcp 1-21",
        ],
    );
    let new = whole(
        "outside",
        &[
            "198.18.10.10 tcp/443 open syn-ack",
            "198.18.10.10 tcp/8080 open syn-ack",
            "198.18.10.10 tcp/21 open syn-ack",
            "198.18.10.40 tcp/22 filtered no-response",
        ],
    );
    let (old, new) =
        (parse(old.as_bytes(), "old").expect("old"), parse(new.as_bytes(), "new").expect("new"));
    let cmp = compare(
        Some(&intent),
        Source { name: "old", file: &old },
        Source { name: "new", file: &new },
    )
    .expect("compared");
    let got: Vec<String> = cmp
        .changes
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {}",
                c.target,
                c.port.map_or("-".to_owned(), |p| p.to_string()),
                c.change,
                c.intent.as_deref().unwrap_or("-")
            )
        })
        .collect();
    // 9000 was not probed again: no change. 22 on .40 was not seen before
    // and is what the spec wants (shut): neutral. 21 was silent, now open
    // under default deny: away.
    assert_eq!(
        got,
        [
            "198.18.10.10 21 opened away",
            "198.18.10.10 443 opened towards",
            "198.18.10.40 22 filtered neutral",
        ]
    );
}

#[test]
fn exposure_check_counts_what_the_port_rules_report_as_exposure() {
    // Open ports from both vantages: allowed, denied by a flow, allowed by
    // none (default deny), on declared hosts and bare zone addresses, and
    // one outside every probe-able zone. The running count a scan shows
    // must be exactly the `exposure` findings the verdict then makes.
    let ports: [(&str, &[(&str, u16)]); 2] = [
        (
            "outside",
            &[
                ("198.18.10.10", 443),
                ("198.18.10.10", 22),
                ("198.18.10.10", 8080),
                ("198.18.10.11", 22),
                ("198.18.30.5", 5432),
                ("198.19.0.1", 22),
            ],
        ),
        (
            "inside",
            &[
                ("198.18.30.5", 5432),
                ("198.18.10.11", 22),
                ("198.18.10.10", 9100),
                ("198.18.30.5", 22),
                ("198.18.20.4", 80),
            ],
        ),
    ];
    for deny_mode in ["any", "drop"] {
        let intent = intent(deny_mode, false);
        for (vantage, open) in ports {
            let body: Vec<String> =
                open.iter().map(|(a, p)| format!("{a} tcp/{p} open syn-ack")).collect();
            let body: Vec<&str> = body.iter().map(String::as_str).collect();
            let verdict = run(&intent, &[whole(vantage, &body)], NOW).expect("judged");
            let exposures = verdict.findings.iter().filter(|f| f.rule == Rule::Exposure).count();
            let mut check = ExposureCheck::new(&intent, vantage).expect("declared vantage");
            let counted = open
                .iter()
                .filter(|(a, p)| {
                    check.unexpected(
                        a.parse().expect("address"),
                        crate::spec::intent::Proto::Tcp,
                        *p,
                    )
                })
                .count();
            assert_eq!(
                counted, exposures,
                "{vantage}, deny_mode {deny_mode}: {:#?}",
                verdict.findings
            );
            assert!(counted > 0, "{vantage}: the case has exposures to count");
        }
    }
    assert!(ExposureCheck::new(&intent("any", false), "nowhere").is_none());
}

#[test]
fn a_zone_its_hosts_fill_has_no_other_addresses_group() {
    let text = r#"version: 1
zones:
  internet: { cidrs: ["0.0.0.0/0"], probe: false }
  web-zone: { cidrs: [198.18.10.10/32] }
  pair: { cidrs: [198.18.20.0/31] }
  half: { cidrs: [198.18.30.0/31] }
  corp: { cidrs: [198.18.40.0/30] }
  office: { cidrs: [198.18.40.2/31], probe: false }
hosts:
  web: { address: 198.18.10.10 }
  a: { address: 198.18.20.0 }
  b: { address: 198.18.20.1 }
  c: { address: 198.18.30.1 }
  d: { address: 198.18.40.0 }
  e: { address: 198.18.40.1 }
vantages:
  outside: { zone: internet }
sweep:
  tcp: [22]
"#;
    let loaded = crate::spec::load_bytes(
        std::path::Path::new("t.yaml"),
        &std::sync::Arc::from("t.yaml"),
        text.as_bytes(),
    );
    let intent = loaded.intent.unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
    let others: Vec<(&str, bool)> = intent
        .zones
        .iter()
        .map(|z| z.name.as_str())
        .zip(super::zones_with_other_targets(&intent))
        .collect();
    // web and pair are all hosts; half has 198.18.30.0 left; corp's other
    // two addresses are office's, which is never a target.
    assert_eq!(
        others,
        [
            ("internet", false),
            ("web-zone", false),
            ("pair", false),
            ("half", true),
            ("corp", false),
            ("office", false)
        ]
    );
}
