//! The "Done means" of issue 7, on a real network: three vantage
//! namespaces (internet, dmz, app), an agent started by this test inside
//! two of them with certificates it made with `vantage certs`, and one
//! `vantage check` in the internet namespace that drives all three at once
//! and reports the planted segmentation violations per vantage.
//!
//! The lab (every address in 198.18.0.0/15, inside namespaces the lab made):
//!
//! ```text
//!   inet  198.18.1.10  the controller, and vantage `outside` (zone internet)
//!   dmz   198.18.2.10  host web: 8080 9000; agent of vantage `dmz-runner` on 7443
//!   app   198.18.4.10  host db: 5432 6379; agent of vantage `app-runner` on 7443
//! ```
//!
//! What the router plants, and the finding each must give:
//! - outside -> web tcp/9000 accepted, no flow allows it: `exposure`;
//! - outside -> db tcp/6379 accepted: `exposure`;
//! - dmz -> db tcp/6379 accepted, where only pg is allowed: `exposure`
//!   from `dmz` (only an agent inside the dmz can see it);
//! - app -> web tcp/9000 accepted, no flow from app: `exposure` from `app`;
//! - app -> web tcp/8080 missing, though a flow requires it: `unreachable`
//!   from `app`.
//!
//! Then the app agent is stopped: the same check reports the app vantage
//! as `scan-incomplete` (exit 3), naming the agent, with the others'
//! findings unchanged but one: from outside, the agent's port, which a
//! flow requires, is now `unreachable`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use vantage::observe::ScanMode;

use crate::lab::{self, Lab, TcpOutcome};
use crate::util::{stdout, vantage};

const RULES: &str = "table inet lab {
    chain forward {
        type filter hook forward priority 0; policy drop;
        ct state established,related accept
        ip saddr 198.18.1.0/24 ip daddr 198.18.2.10 tcp dport 8080 accept
        # The controller reaches both agents.
        ip saddr 198.18.1.0/24 ip daddr { 198.18.2.10, 198.18.4.10 } tcp dport 7443 accept
        # Planted: metrics open to the internet.
        ip saddr 198.18.1.0/24 ip daddr 198.18.2.10 tcp dport 9000 accept
        # Planted: redis open to the internet.
        ip saddr 198.18.1.0/24 ip daddr 198.18.4.10 tcp dport 6379 accept
        ip saddr 198.18.2.0/24 ip daddr 198.18.4.10 tcp dport 5432 accept
        # Planted: redis open to the dmz too.
        ip saddr 198.18.2.0/24 ip daddr 198.18.4.10 tcp dport 6379 accept
        # Planted: app reaches web's metrics; and its http (intended) is missing.
        ip saddr 198.18.4.0/24 ip daddr 198.18.2.10 tcp dport 9000 accept
    }
}";

const SPEC: &str = "version: 1
name: agent-lab
zones:
  internet: { cidrs: [0.0.0.0/0], probe: false }
  dmz: { cidrs: [198.18.2.0/24] }
  app: { cidrs: [198.18.4.0/24] }
hosts:
  web: { address: 198.18.2.10 }
  db: { address: 198.18.4.10 }
services:
  http: { tcp: [8080] }
  metrics: { tcp: [9000] }
  pg: { tcp: [5432] }
  redis: { tcp: [6379] }
  agent: { tcp: [7443], description: the vantage agents }
flows:
  - { from: internet, to: web, allow: [http] }
  - { from: internet, to: [web, db], allow: [agent] }
  - { from: dmz, to: db, allow: [pg] }
  - { from: app, to: web, allow: [http] }
  - { from: dmz, to: dmz, allow: [http, metrics, agent], require: optional }
  - { from: app, to: app, allow: [pg, redis, agent], require: optional }
default: deny
vantages:
  outside: { zone: internet }
  dmz-runner: { zone: dmz, agent: 'https://198.18.2.10:7443' }
  app-runner: { zone: app, agent: 'https://198.18.4.10:7443' }
sweep:
  tcp: [22, 5432, 6379, 7443, 8080, 9000]
";

/// The agents' scope: the spec's probe-able zones, nothing more. Each agent
/// sweeps its own subnet from on the link: 252 neighbours that never answer
/// ARP (whose SYNs the kernel holds for seconds) and a broadcast address.
const SCOPE: &str = "# what this agent may probe\n198.18.2.0/24\n198.18.4.0/24\n";

const NOW: &str = "2026-12-01";

/// Every finding, `rule vantage target proto/port`.
const PLANTED: &[&str] = &[
    "exposure app-runner 198.18.2.10 tcp/9000",
    "exposure dmz-runner 198.18.4.10 tcp/6379",
    "exposure outside 198.18.2.10 tcp/9000",
    "exposure outside 198.18.4.10 tcp/6379",
    "unreachable app-runner 198.18.2.10 tcp/8080",
];

fn line(f: &Value) -> String {
    let text = |v: &Value| v.as_str().map_or_else(|| "-".to_owned(), str::to_owned);
    let port = match (f["proto"].as_str(), f["port"].as_u64()) {
        (Some(proto), Some(port)) => format!("{proto}/{port}"),
        _ => "-".to_owned(),
    };
    format!("{} {} {} {port}", text(&f["rule"]), text(&f["vantage"]), text(&f["target"]))
}

fn lines(doc: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        doc["findings"].as_array().expect("a findings array").iter().map(line).collect();
    out.sort();
    out
}

/// A scratch folder, removed on drop (also when an assertion fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("vantage-agent-lab-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `vantage certs ...`, which must succeed.
fn certs(args: &[&str]) {
    let mut argv = vec!["certs"];
    argv.extend_from_slice(args);
    let run = vantage(&argv);
    assert!(
        run.status.success(),
        "vantage {argv:?}: {}{}",
        stdout(&run),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// A CA, an agent certificate per agent host, and a controller's.
fn make_certs(dir: &Scratch) {
    let pki = dir.path("pki");
    let (ca, ca_key) = (dir.path("pki/ca.pem"), dir.path("pki/ca.key"));
    certs(&["ca", "--out", &pki, "--name", "agent-lab CA"]);
    for (name, addr) in [("dmz", "198.18.2.10"), ("app", "198.18.4.10")] {
        certs(&[
            "agent", "--ca", &ca, "--ca-key", &ca_key, "--name", name, "--san", addr, "--out", &pki,
        ]);
    }
    certs(&["controller", "--ca", &ca, "--ca-key", &ca_key, "--name", "ci", "--out", &pki]);
}

/// Starts the agent of `zone` in its namespace, its log in the scratch
/// folder, and waits until it listens. Returns its PID.
fn start_agent(lab: &mut Lab, dir: &Scratch, zone: &str) -> u32 {
    let addr = lab.host_addr(zone);
    let command = format!(
        "exec {} agent --listen {addr}:7443 --cert {} --key {} --client-ca {} --scope {} --max-rate 20000 2>>{}",
        env!("CARGO_BIN_EXE_vantage"),
        dir.path(&format!("pki/{zone}.pem")),
        dir.path(&format!("pki/{zone}.key")),
        dir.path("pki/ca.pem"),
        dir.path("scope.txt"),
        dir.path(&format!("{zone}-agent.log")),
    );
    let pid = lab.spawn(zone, &["sh", "-c", &command]).expect("agent starts");
    for _ in 0..100 {
        if let Ok(TcpOutcome::Connected(_)) =
            lab.tcp_connect("inet", addr, 7443, Duration::from_millis(500))
        {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the {zone} agent does not listen: {}", agent_log(dir, zone));
}

fn agent_log(dir: &Scratch, zone: &str) -> String {
    std::fs::read_to_string(dir.path(&format!("{zone}-agent.log"))).unwrap_or_default()
}

/// `vantage check --from outside --from dmz --from app` in the internet
/// namespace. Returns the exit code, the document and stderr.
fn check(lab: &Lab, dir: &Scratch, mode: &str, save: &str) -> (i32, Value, String) {
    let spec = dir.path("lab.yaml");
    let (ca, cert, key) = (dir.path("pki/ca.pem"), dir.path("pki/ci.pem"), dir.path("pki/ci.key"));
    let argv = [
        env!("CARGO_BIN_EXE_vantage"),
        "check",
        &spec,
        "--from",
        "outside",
        "--from",
        "dmz-runner",
        "--from",
        "app-runner",
        "--agent-ca",
        &ca,
        "--agent-cert",
        &cert,
        "--agent-key",
        &key,
        "--now",
        NOW,
        "--format",
        "json",
        "--save",
        save,
        "--mode",
        mode,
        "--max-rtt",
        "600",
    ];
    let run = lab.exec("inet", &argv).expect("check runs in the lab");
    let code = run.status.code().expect("check exits, not killed");
    let err = String::from_utf8_lossy(&run.stderr).into_owned();
    let doc = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!("check --mode {mode} (exit {code}) printed no JSON ({e}): {}{err}", stdout(&run))
    });
    (code, doc, err)
}

fn build_lab() -> Option<Lab> {
    let mut lab = lab::or_skip(
        Lab::builder("agents")
            .zone("inet", "198.18.1.0/24")
            .zone("dmz", "198.18.2.0/24")
            .zone("app", "198.18.4.0/24")
            .router_rules(RULES)
            .build(),
    )?;
    let sysctl = lab
        .exec(Lab::ROUTER, &["sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"])
        .expect("sysctl runs");
    assert!(sysctl.status.success(), "{}", String::from_utf8_lossy(&sysctl.stderr));
    for port in [8080, 9000] {
        lab.listen_tcp("dmz", port).expect("web listener");
    }
    for port in [5432, 6379] {
        lab.listen_tcp("app", port).expect("db listener");
    }
    Some(lab)
}

#[test]
fn one_check_drives_local_and_remote_vantages_and_reports_each_ones_violations() {
    let Some(mut lab) = build_lab() else { return };
    let dir = Scratch::new();
    std::fs::write(dir.path("lab.yaml"), SPEC).expect("spec");
    std::fs::write(dir.path("scope.txt"), SCOPE).expect("scope");
    make_certs(&dir);
    start_agent(&mut lab, &dir, "dmz");
    let app_agent = start_agent(&mut lab, &dir, "app");
    let expected: Vec<String> = PLANTED.iter().map(|s| (*s).to_owned()).collect();

    for mode in ["syn", "connect"] {
        let save = dir.path(&format!("obs-{mode}"));
        let (code, doc, err) = check(&lab, &dir, mode, &save);
        let logs = format!(
            "{err}\ndmz agent:\n{}\napp agent:\n{}",
            agent_log(&dir, "dmz"),
            agent_log(&dir, "app")
        );
        assert_eq!(lines(&doc), expected, "check --mode {mode}: {logs}");
        assert_eq!(code, 1, "{logs}");
        assert_eq!(
            doc["coverage"]["vantages"],
            serde_json::json!(["app-runner", "dmz-runner", "outside"])
        );
        assert_eq!(doc["coverage"]["incomplete"], 0, "{logs}");
        // The agents' own files, saved by the controller, give the same
        // verdict on their own.
        let files: Vec<String> = ["outside", "dmz-runner", "app-runner"]
            .iter()
            .map(|v| format!("{save}/{v}.jsonl"))
            .collect();
        for (v, f) in ["outside", "dmz-runner", "app-runner"].iter().zip(&files) {
            let file = vantage::observe::read(Path::new(f)).expect("a saved observation file");
            assert_eq!(file.header.vantage, *v);
            assert!(file.is_complete(), "{f}");
            let wire = if mode == "syn" { ScanMode::Syn } else { ScanMode::Connect };
            assert_eq!(file.header.mode, wire, "{f}: the agents scan as --mode asks");
        }
        let spec = dir.path("lab.yaml");
        let mut argv = vec!["verdict", &spec, "--now", NOW, "--format", "json"];
        argv.extend(files.iter().map(String::as_str));
        let run = vantage(&argv);
        let again: Value = serde_json::from_str(&stdout(&run)).expect("verdict prints JSON");
        assert_eq!(again["findings"], doc["findings"], "verdict over the saved files ({mode})");
    }
    assert!(
        agent_log(&dir, "dmz").contains("scanning for 198.18.1.10"),
        "{}",
        agent_log(&dir, "dmz")
    );

    // The app agent goes away: its vantage is incomplete, not silently
    // missing, and the others are judged as before.
    let kill =
        std::process::Command::new("kill").arg(app_agent.to_string()).status().expect("kill");
    assert!(kill.success());
    std::thread::sleep(Duration::from_millis(300));
    let (code, doc, err) = check(&lab, &dir, "connect", &dir.path("obs-gone"));
    assert_eq!(code, 3, "a vantage without observations is incomplete: {err}");
    let found = lines(&doc);
    assert!(found.contains(&"scan-incomplete app-runner - -".to_owned()), "{found:?}");
    let others: Vec<&str> =
        found.iter().map(String::as_str).filter(|l| !l.contains(" app-runner ")).collect();
    let mut expected_others: Vec<&str> =
        PLANTED.iter().copied().filter(|l| !l.contains(" app-runner ")).collect();
    // And the outside sees the agent gone: its port is a required flow.
    expected_others.push("unreachable outside 198.18.4.10 tcp/7443");
    expected_others.sort_unstable();
    assert_eq!(others, expected_others);
    let incomplete = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "scan-incomplete")
        .expect("the finding");
    let evidence = incomplete["evidence"].as_str().unwrap_or_default();
    assert!(evidence.contains("198.18.4.10:7443"), "names the agent: {evidence}");
    assert!(err.contains("vantage `app-runner`: no observations"), "{err}");
    drop(lab);
}
