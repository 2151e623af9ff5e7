//! The "Done means" of issue 4, on a real network: a lab whose router's
//! nftables rules deviate from the spec in planted ways, checked from two
//! vantages (an outside zone and an inside one, each its own namespace).
//! `vantage check` from each must report exactly the planted findings, no
//! more, no less, with exit code 1; and `vantage verdict` over the two
//! saved observation files must report the same findings as the two
//! single-process runs together, and its HTML report's zone-to-zone matrix
//! must place each deviation in its cell. Once in SYN mode and once in
//! connect mode.
//!
//! The lab (every address in 198.18.0.0/15, inside namespaces the lab made):
//!
//! ```text
//!   out   198.18.1.10  vantage `outside` (spec zone internet)
//!   corp  198.18.3.10  vantage `inside`  (spec zone corp)
//!   dmz   198.18.2.10  host web: 8080 8443 2222 8022 9000
//!   rogue 198.18.5.10  in spec zone dmz, but no declared host: 8080
//!   app   198.18.4.10  host db: 5432 6379
//! ```
//!
//! What the router plants, and the finding each must give:
//! - outside -> web tcp/9000 accepted, no flow allows it: `exposure`;
//! - outside -> web tcp/8443 missing from the accepts, though a flow
//!   requires it: `unreachable`;
//! - outside -> web tcp/2222 denied, but with a RST where the spec says
//!   `deny_mode: drop`: `deny-mode`;
//! - outside, inside -> rogue tcp/8080 accepted (a zone flow allows it), but
//!   the address is no declared host of a zone that declares hosts:
//!   `undeclared-host`, from each vantage;
//! - outside -> web tcp/8022 accepted, no flow allows it, and waiver CHG-7
//!   covers it: `exposure` waived by CHG-7;
//! - inside -> db tcp/6379 accepted, no flow allows it, and waiver CHG-3
//!   covering it expired two days before `--now`: `exposure` unwaived, plus
//!   `waiver-expired`.
//!
//! Everything else conforms, and so must give nothing: outside -> db is
//! dropped entirely (default deny, as `drop` wants), the inside may reach
//! every port of web, and closed sweep ports are nobody's business.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vantage::observe::ScanMode;

use crate::lab::{self, Lab};
use crate::util::{stdout, vantage};

const RULES: &str = "table inet lab {
    chain forward {
        type filter hook forward priority 0; policy drop;
        ct state established,related accept
        ip saddr 198.18.1.0/24 ip daddr 198.18.2.10 tcp dport 8080 accept
        # Planted: https (8443) is missing here, so the intended flow is broken.
        # Planted: the vendor port, which waiver CHG-7 approves.
        ip saddr 198.18.1.0/24 ip daddr 198.18.2.10 tcp dport 8022 accept
        # Planted: an extra open port.
        ip saddr 198.18.1.0/24 ip daddr 198.18.2.10 tcp dport 9000 accept
        # Planted: denied, but with a RST where the spec requires a drop.
        ip saddr 198.18.1.0/24 ip daddr 198.18.2.10 tcp dport 2222 reject with tcp reset
        # The rogue host's port, which the dmz zone flow allows.
        ip saddr 198.18.1.0/24 ip daddr 198.18.5.10 tcp dport 8080 accept
        # The staff network may reach everything (db's 6379 included: planted).
        ip saddr 198.18.3.0/24 accept
    }
}";

const SPEC: &str = "version: 1
name: verdict-lab
zones:
  internet: { cidrs: [0.0.0.0/0], probe: false }
  corp: { cidrs: [198.18.3.0/24], probe: false, description: 'Staff network: a source only' }
  dmz: { cidrs: [198.18.2.10/32, 198.18.5.10/32] }
  app: { cidrs: [198.18.4.10/32] }
hosts:
  web: { address: 198.18.2.10 }
  db: { address: 198.18.4.10 }
services:
  http: { tcp: [8080] }
  https: { tcp: [8443] }
  admin: { tcp: [2222] }
  vendor: { tcp: [8022] }
  metrics: { tcp: [9000] }
  pg: { tcp: [5432] }
flows:
  - { from: internet, to: web, allow: [http, https] }
  - { from: internet, to: web, deny: [admin] }
  - { from: [internet, corp], to: dmz, allow: [http], require: optional }
  - { from: corp, to: web, allow: [http, https, admin, vendor, metrics] }
  - { from: corp, to: db, allow: [pg] }
default: deny
deny_mode: drop
vantages:
  outside: { zone: internet }
  inside: { zone: corp }
sweep:
  tcp: [22, 6379, 8022, 9000]
waivers:
  - id: CHG-7
    match: { from: outside, to: web, port: tcp/8022 }
    reason: vendor remote support until cut-over
    approved_by: netops
    expires: 2099-12-31
  - id: CHG-3
    match: { from: inside, to: db, port: tcp/6379 }
    reason: cache migration
    approved_by: dba
    expires: 2026-02-28
";

/// The date every run judges waivers against: CHG-3 lapsed two days before.
const NOW: &str = "2026-03-02";

/// What `check --from outside` must report, one finding a line:
/// `rule vantage target proto/port waived` (`-` for null).
const OUTSIDE: &[&str] = &[
    "deny-mode outside 198.18.2.10 tcp/2222 -",
    "exposure outside 198.18.2.10 tcp/8022 CHG-7",
    "exposure outside 198.18.2.10 tcp/9000 -",
    "undeclared-host outside 198.18.5.10 - -",
    "unreachable outside 198.18.2.10 tcp/8443 -",
    // Not CHG-3's expiry: it waives a flow from the inside, which this run
    // cannot see, so it must not fail this run (`verdict::waivers`).
];

/// What `check --from inside` must report.
const INSIDE: &[&str] = &[
    "exposure inside 198.18.4.10 tcp/6379 -",
    "undeclared-host inside 198.18.5.10 - -",
    "waiver-expired - 198.18.4.10 tcp/6379 -",
];

/// The TCP scan modes, as `--mode` names them.
const MODES: [&str; 2] = ["syn", "connect"];

/// A finding as the issue identifies it: rule, vantage, target, port,
/// proto, waived.
fn line(f: &Value) -> String {
    let text = |v: &Value| v.as_str().map_or_else(|| "-".to_owned(), str::to_owned);
    let port = match (f["proto"].as_str(), f["port"].as_u64()) {
        (Some(proto), Some(port)) => format!("{proto}/{port}"),
        (None, None) => "-".to_owned(),
        other => panic!("proto and port must be both set or both null: {other:?} in {f}"),
    };
    format!(
        "{} {} {} {port} {}",
        text(&f["rule"]),
        text(&f["vantage"]),
        text(&f["target"]),
        text(&f["waived"])
    )
}

/// The findings of a document, as sorted lines.
fn lines(doc: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        doc["findings"].as_array().expect("a findings array").iter().map(line).collect();
    out.sort();
    out
}

fn sorted(expected: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    out.sort();
    out
}

fn build_lab() -> Option<Lab> {
    let mut lab = lab::or_skip(
        Lab::builder("verdict")
            .zone("out", "198.18.1.0/24")
            .zone("dmz", "198.18.2.0/24")
            .zone("corp", "198.18.3.0/24")
            .zone("app", "198.18.4.0/24")
            .zone("rogue", "198.18.5.0/24")
            .router_rules(RULES)
            .build(),
    )?;
    // The router answers nothing with ICMP here, but a rate-limited ICMP
    // error would make a verdict depend on timing; as in scan_lab.rs, the
    // router answers every time.
    let sysctl = lab
        .exec(Lab::ROUTER, &["sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"])
        .expect("sysctl runs");
    assert!(sysctl.status.success(), "{}", String::from_utf8_lossy(&sysctl.stderr));
    for port in [8080, 8443, 2222, 8022, 9000] {
        lab.listen_tcp("dmz", port).expect("web listener");
    }
    lab.listen_tcp("rogue", 8080).expect("rogue listener");
    for port in [5432, 6379] {
        lab.listen_tcp("app", port).expect("db listener");
    }
    Some(lab)
}

/// A scratch folder holding the spec and the saved observations, removed
/// on drop, so also when an assertion fails.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("vantage-verdict-lab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("lab.yaml"), SPEC).expect("write spec");
        Self(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: a leftover in the temporary folder is harmless, and
        // a panic here could abort a test that is already failing.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `vantage check --from VANTAGE --format json`, run inside the lab zone
/// the vantage is, saving its observations to `saved`. Returns the exit
/// code and the parsed document.
fn check(lab: &Lab, zone: &str, from: &str, spec: &str, saved: &str, mode: &str) -> (i32, Value) {
    let argv = [
        env!("CARGO_BIN_EXE_vantage"),
        "check",
        spec,
        "--from",
        from,
        "--now",
        NOW,
        "--format",
        "json",
        "--save",
        saved,
        "--mode",
        mode,
        "--max-rtt",
        "600",
        "--quiet",
    ];
    let run = lab.exec(zone, &argv).expect("check runs in the lab");
    let code = run.status.code().expect("check exits, not killed");
    let doc = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "check --from {from} --mode {mode} (exit {code}) printed no JSON document ({e}): {}{}",
            stdout(&run),
            String::from_utf8_lossy(&run.stderr)
        )
    });
    (code, doc)
}

/// The HTML report's matrix cells (`data-state`, `data-vantage`,
/// `data-column`) for the two saved files, in row order. Zone app is db's
/// /32: it has no other addresses, so no `app/*` column.
const MATRIX: &[(&str, &str, &str)] = &[
    ("conforms", "inside", "dmz/web"),
    ("exposure", "inside", "dmz/*"),
    ("exposure", "inside", "app/db"),
    ("exposure", "outside", "dmz/web"),
    ("exposure", "outside", "dmz/*"),
    ("conforms", "outside", "app/db"),
];

/// `verdict --format html` over both saved files places every planted
/// deviation in its cell of the zone-to-zone matrix. With
/// `VANTAGE_LAB_REPORT=FILE` the page is also written there.
fn html_matrix(spec: &str, outside: &str, inside: &str, mode: &str) {
    let run = vantage(&["verdict", spec, outside, inside, "--now", NOW, "--format", "html"]);
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));
    let html = stdout(&run);
    // `scripts/report-screenshot.sh --lab` keeps the lab's page to look at.
    if let Some(keep) = std::env::var_os("VANTAGE_LAB_REPORT") {
        std::fs::write(&keep, &html).expect("write VANTAGE_LAB_REPORT");
    }
    let cells: Vec<(String, String, String)> = html
        .lines()
        .filter(|l| l.starts_with(r#"<td class="cell"#))
        .map(|l| {
            let attr = |name: &str| {
                let from = l.find(&format!(" {name}=\"")).map(|i| i + name.len() + 3);
                from.and_then(|i| l[i..].split('"').next()).unwrap_or_default().to_owned()
            };
            (attr("data-state"), attr("data-vantage"), attr("data-column"))
        })
        .collect();
    let want: Vec<(String, String, String)> =
        MATRIX.iter().map(|(s, v, c)| ((*s).into(), (*v).into(), (*c).into())).collect();
    assert_eq!(cells, want, "the HTML matrix ({mode})");
}

/// The findings of `doc` that were observed from a vantage, whole.
fn observed(doc: &Value) -> Vec<Value> {
    let all = doc["findings"].as_array().expect("a findings array");
    all.iter().filter(|f| !f["vantage"].is_null()).cloned().collect()
}

#[test]
fn check_from_two_vantages_reports_exactly_the_planted_findings_and_verdict_agrees() {
    let Some(lab) = build_lab() else { return };
    let dir = Scratch::new();
    let spec = dir.path("lab.yaml");
    for mode in MODES {
        let saved = |v: &str| dir.path(&format!("{v}-{mode}.jsonl"));
        let (outside_saved, inside_saved) = (saved("outside"), saved("inside"));
        let (outside_code, outside) = check(&lab, "out", "outside", &spec, &outside_saved, mode);
        let (inside_code, inside) = check(&lab, "corp", "inside", &spec, &inside_saved, mode);
        for (from, code, doc, expected) in
            [("outside", outside_code, &outside, OUTSIDE), ("inside", inside_code, &inside, INSIDE)]
        {
            assert_eq!(lines(doc), sorted(expected), "check --from {from} --mode {mode}");
            assert_eq!(code, 1, "check --from {from} --mode {mode}: unwaived findings exit 1");
            assert_eq!(doc["coverage"]["vantages"], serde_json::json!([from]), "{mode}");
            assert_eq!(doc["coverage"]["incomplete"], 0, "{from} {mode}: every probe concluded");
        }
        for path in [&outside_saved, &inside_saved] {
            let file = vantage::observe::read(Path::new(path)).expect("a valid observation file");
            let wire = if mode == "syn" { ScanMode::Syn } else { ScanMode::Connect };
            assert_eq!(file.header.mode, wire, "{path} says how it scanned");
        }

        // `verdict` over both saved files, in either order, equals the two
        // runs together: the same findings from each vantage, whole
        // (evidence, expectation, spec location), and each spec-level
        // finding once.
        for files in [[&outside_saved, &inside_saved], [&inside_saved, &outside_saved]] {
            let run =
                vantage(&["verdict", &spec, files[0], files[1], "--now", NOW, "--format", "json"]);
            assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));
            let both: Value = serde_json::from_str(&stdout(&run)).expect("verdict prints JSON");
            let mut union: Vec<String> =
                lines(&outside).into_iter().chain(lines(&inside)).collect();
            union.sort();
            union.dedup();
            assert_eq!(lines(&both), union, "verdict over {files:?} ({mode})");
            let key = |f: &Value| f.to_string();
            let mut singles: Vec<Value> = observed(&outside);
            singles.extend(observed(&inside));
            singles.sort_by_key(key);
            let mut merged = observed(&both);
            merged.sort_by_key(key);
            assert_eq!(merged, singles, "verdict over {files:?} ({mode}): whole findings");
            assert_eq!(both["coverage"]["vantages"], serde_json::json!(["inside", "outside"]));
            assert_eq!(both["coverage"]["incomplete"], 0);
        }
        html_matrix(&spec, &outside_saved, &inside_saved, mode);
    }
    drop(lab);
}
