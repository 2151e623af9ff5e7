//! Scope and safety (issue 8, item 5), through the binary on loopback
//! (127.88.8.0/29, with a listener the test opens): `--exclude` leaves
//! addresses out of `plan`, `scan`, `check` and the verdict, which says
//! what was not judged; rates above the documented maximums are refused
//! without `--unsafe-rate`; `--audit-log` appends a start and an end line
//! per run, a `refused` line for a run refused before it probed, and a
//! killed run leaves its start line; an agent (`vantage agent` on
//! 127.0.0.1, certificates from `vantage certs`) appends one line per plan
//! it accepts.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::vantage;

/// A folder of the test's own, removed when dropped (also on failure).
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("vantage-safety-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        Self(p)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// web (127.88.8.1) listens on `port`; db (127.88.8.2) does not, though a
/// flow requires it reachable there.
fn spec(port: u16) -> String {
    format!(
        "version: 1
zones:
  local: {{ cidrs: [127.0.0.0/8], probe: false }}
  lab: {{ cidrs: [127.88.8.0/29] }}
hosts:
  web: {{ address: 127.88.8.1 }}
  db: {{ address: 127.88.8.2 }}
services:
  app: {{ tcp: [{port}] }}
flows:
  - {{ from: local, to: web, allow: [app] }}
  - {{ from: local, to: db, allow: [app] }}
vantages:
  here: {{ zone: local }}
sweep:
  tcp: [{port}]
"
    )
}

/// The spec, a listener on web and an exclusion file naming db, in `dir`.
fn setup(dir: &Dir) -> (TcpListener, String, String) {
    let listener = TcpListener::bind("127.88.8.1:0").expect("listen on 127.88.8.1");
    let port = listener.local_addr().expect("addr").port();
    let spec_path = dir.path("lab.yaml");
    std::fs::write(&spec_path, spec(port)).expect("spec");
    let exclude = dir.path("exclude.txt");
    std::fs::write(&exclude, "# the database, never to be probed\n127.88.8.2\n").expect("list");
    (listener, spec_path, exclude)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const CONNECT: [&str; 3] = ["--mode", "connect", "--max-rtt"];

fn scan(spec: &str, out: &str, extra: &[&str]) -> Output {
    let mut args = vec!["scan", spec, "--from", "here", "-o", out];
    args.extend(CONNECT);
    args.push("500");
    args.extend(extra);
    vantage(&args)
}

#[test]
fn excluded_addresses_are_never_probed_and_the_verdict_says_so() {
    let dir = Dir::new("exclude");
    let (_listener, spec, exclude) = setup(&dir);

    // plan: the excluded address is never listed, and the summary counts it.
    let listed = vantage(&["plan", &spec, "--from", "here", "--list", "--exclude", &exclude]);
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    let text = String::from_utf8_lossy(&listed.stdout);
    assert_eq!(text.lines().count(), 7, "8 addresses, 1 port, 1 excluded:\n{text}");
    assert!(!text.contains("127.88.8.2 "), "{text}");
    let json =
        vantage(&["plan", &spec, "--from", "here", "--format", "json", "--exclude", &exclude]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!((v["probes"].as_u64(), v["excluded"]["addresses"].as_u64()), (Some(7), Some(1)));
    assert_eq!(v["excluded"]["cidrs"], serde_json::json!(["127.88.8.2/32"]));

    // Without the exclusion, db's required flow is unreachable (exit 1).
    let all = dir.path("all.jsonl");
    let run = scan(&spec, &all, &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let judged = vantage(&["verdict", &spec, &all, "--format", "json"]);
    assert_eq!(judged.status.code(), Some(1), "{}", stderr(&judged));
    let doc: serde_json::Value = serde_json::from_slice(&judged.stdout).expect("JSON");
    let rules: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| (f["rule"].as_str().unwrap_or(""), f["target"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(rules, [("unreachable", "127.88.8.2")]);

    // With it, nothing is sent to db, the file's header and the summary
    // say how much was left out, and the verdict judges only what was
    // planned: no finding, exit 0, and every report says what was not
    // judged; JUnit skips db's cases instead of passing them.
    let cut = dir.path("cut.jsonl");
    let run = scan(&spec, &cut, &["--exclude", &exclude]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("7 of 7 probes concluded")
            && stderr(&run).contains("; 1 address (1 probes) excluded by --exclude"),
        "{}",
        stderr(&run)
    );
    let file = vantage::observe::read(Path::new(&cut)).expect("observations");
    assert!(file.is_complete());
    assert!(file.facts.iter().all(|f| f.target.to_string() != "127.88.8.2"), "{:?}", file.facts);
    assert!(file.filtered.iter().all(|f| f.target.to_string() != "127.88.8.2"));
    let x = file.header.excluded.as_ref().expect("the header records the exclusions");
    assert_eq!((x.networks, x.addresses, x.probes), (1, 1, 1));
    let judged = vantage(&["verdict", &spec, &cut]);
    assert_eq!(judged.status.code(), Some(0), "{}", stderr(&judged));
    let table = String::from_utf8_lossy(&judged.stdout);
    assert!(table.contains("1 address (1 probes) excluded, not judged"), "{table}");
    let json = vantage(&["verdict", &spec, &cut, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(doc["findings"], serde_json::json!([]));
    assert_eq!(doc["coverage"]["excluded_addresses"], 1);
    let junit = vantage(&["verdict", &spec, &cut, "--format", "junit"]);
    let xml = String::from_utf8_lossy(&junit.stdout);
    for case in ["host db (127.88.8.2)", "flow #2 (local -&gt; db: allow app)"] {
        let at = xml.find(&format!("name=\"{case}\"")).unwrap_or_else(|| panic!("{case}:\n{xml}"));
        let rest = &xml[at..];
        let end = rest.find("</testcase>").unwrap_or(rest.len());
        assert!(rest[..end].contains("<skipped message=\"excluded from the scan"), "{xml}");
    }
    assert!(xml.contains("skipped=\"2\""), "{xml}");

    // check takes it too, and reports what verdict does.
    let saved = dir.path("check.jsonl");
    let mut args = vec!["check", &spec, "--from", "here", "--exclude", &exclude, "--save", &saved];
    args.extend(CONNECT);
    args.push("500");
    let checked = vantage(&args);
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
    let report = String::from_utf8_lossy(&checked.stdout);
    assert!(report.contains("1 address (1 probes) excluded, not judged"), "{report}");
    let file = vantage::observe::read(Path::new(&saved)).expect("observations");
    assert!(file.facts.iter().all(|f| f.target.to_string() != "127.88.8.2"));

    // A bad list is refused with its line, before anything is sent.
    std::fs::write(&exclude, "127.88.8.2\n127.88.8.1/24\n").expect("list");
    let bad = scan(&spec, &dir.path("bad.jsonl"), &["--exclude", &exclude]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("exclude.txt:2: `127.88.8.1/24` is not a network"),
        "{}",
        stderr(&bad)
    );
    assert!(!Path::new(&dir.path("bad.jsonl")).exists());
}

#[test]
fn rates_above_the_maximums_are_refused_without_unsafe_rate() {
    let dir = Dir::new("rate");
    let (_listener, spec, _) = setup(&dir);
    let out = dir.path("o.jsonl");
    let refused = [
        (scan(&spec, &out, &["--rate", "50001"]), "--rate 50001 is above the maximum of 50000"),
        (
            scan(&spec, &out, &["--host-rate", "10001"]),
            "--host-rate 10001 is above the maximum of 10000",
        ),
        (
            vantage(&["check", &spec, "--from", "here", "--rate", "1000000"]),
            "--rate 1000000 is above the maximum of 50000",
        ),
        (
            vantage(&["init", "--from-scan", "127.88.8.0/29", "--rate", "60000", "--out", &out]),
            "--rate 60000 is above the maximum of 50000",
        ),
        (
            vantage(&[
                "agent",
                "--listen",
                "127.0.0.1:1",
                "--cert",
                "none",
                "--key",
                "none",
                "--client-ca",
                "none",
                "--scope",
                "none",
                "--max-rate",
                "50001",
            ]),
            "--max-rate 50001 is above the maximum of 50000",
        ),
    ];
    for (o, want) in refused {
        assert_eq!(o.status.code(), Some(2), "{want}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(want) && stderr(&o).contains("--unsafe-rate"),
            "{}",
            stderr(&o)
        );
    }
    assert!(!Path::new(&out).exists(), "nothing was scanned");
    // At the maximum it runs, and the per-host rate defaults to its own
    // maximum (the audit line says what was used); --unsafe-rate lifts both.
    let log = dir.path("audit.jsonl");
    let ok = scan(&spec, &out, &["--rate", "50000", "--audit-log", &log]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let ok = scan(&spec, &out, &["--rate", "200000", "--unsafe-rate", "--audit-log", &log]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let lines = audit_lines(&log);
    let rates: Vec<(u64, u64, bool)> = lines
        .iter()
        .filter(|l| l["event"] == "end")
        .map(|l| {
            (
                l["rate"].as_u64().unwrap_or(0),
                l["host_rate"].as_u64().unwrap_or(0),
                l["unsafe_rate"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(rates, [(50_000, 10_000, false), (200_000, 200_000, true)]);
}

fn audit_lines(path: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("the audit log")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn the_audit_log_has_a_start_and_an_end_line_per_run() {
    let dir = Dir::new("audit");
    let (_listener, spec, exclude) = setup(&dir);
    let log = dir.path("audit.jsonl");
    let out = dir.path("o.jsonl");
    let before = jiff::Timestamp::now();
    let first = scan(&spec, &out, &["--exclude", &exclude, "--audit-log", &log]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let mut args = vec!["check", &spec, "--from", "here", "--audit-log", &log];
    args.extend(CONNECT);
    args.push("500");
    let second = vantage(&args);
    assert_eq!(second.status.code(), Some(1), "db is unreachable: {}", stderr(&second));
    let refused = scan(&spec, &out, &["--rate", "99999", "--audit-log", &log]);
    assert_eq!(refused.status.code(), Some(2));

    let mode = std::fs::metadata(&log).expect("log").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "only its owner reads the log");
    let lines = audit_lines(&log);
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap_or("")).collect();
    assert_eq!(events, ["start", "end", "start", "end", "refused"], "appended, in order");
    let (start, end) = (&lines[0], &lines[1]);
    assert_eq!(start["run"], end["run"], "one run id on both lines");
    assert_ne!(lines[0]["run"], lines[2]["run"]);
    assert_eq!((start["exit"].is_null(), start["ended"].is_null()), (true, true));
    assert_eq!((end["exit"].as_u64(), lines[3]["exit"].as_u64()), (Some(0), Some(1)));
    let t = |v: &serde_json::Value| v.as_str().expect("a time").parse::<jiff::Timestamp>();
    let (started, ended) =
        (t(&end["started"]).expect("RFC 3339"), t(&end["ended"]).expect("RFC 3339"));
    assert!(before <= started && started <= ended, "{end}");
    assert!(end["started"].as_str().is_some_and(|s| s.ends_with('Z')), "UTC: {end}");
    // Who, where, what.
    assert_eq!(end["command"], "scan");
    assert_eq!(lines[2]["command"], "check");
    assert!(end["user"]["uid"].is_u64() && end["user"]["name"].is_string(), "{end}");
    assert!(end["host"].as_str().is_some_and(|h| !h.is_empty()), "{end}");
    assert!(end["argv"].as_array().is_some_and(|a| a.iter().any(|x| x == "--audit-log")), "{end}");
    assert_eq!(end["spec"], spec.as_str());
    let digest = end["spec_digest"].as_str().expect("digest");
    assert!(digest.starts_with("sha256:") && digest.len() == 71, "{digest}");
    assert_eq!(lines[2]["spec_digest"], digest);
    let v = &end["vantages"][0];
    assert_eq!(
        (v["name"].as_str(), v["shard"].as_str(), v["agent"].is_null()),
        (Some("here"), Some("0/1"), true)
    );
    // The scope probed: the zone without the excluded database.
    assert_eq!(
        v["scope"],
        serde_json::json!(["127.88.8.0/31", "127.88.8.3/32", "127.88.8.4/30"]),
        "{end}"
    );
    assert_eq!((v["addresses"].as_u64(), v["probes"].as_u64()), (Some(7), Some(7)));
    assert_eq!(end["excluded"]["cidrs"], serde_json::json!(["127.88.8.2/32"]));
    assert_eq!(end["excluded"]["addresses"], 1);
    assert!(lines[2]["excluded"].is_null());
    assert_eq!(lines[2]["vantages"][0]["scope"], serde_json::json!(["127.88.8.0/29"]));
    assert_eq!((end["rate"].as_u64(), end["host_rate"].as_u64()), (Some(10_000), Some(10_000)));
    assert_eq!(end["mode"], "connect");
    // Refused before it probed: why, and no scope.
    let r = &lines[4];
    assert_eq!(r["exit"], 2);
    assert!(r["error"].as_str().is_some_and(|e| e.contains("--rate 99999")), "{r}");
    assert!(r["spec_digest"].is_null() && r["vantages"] == serde_json::json!([]), "{r}");

    // A log that cannot be written refuses the run: nothing unlogged.
    let nowhere = dir.path("no-such-folder/audit.jsonl");
    let unlogged = scan(&spec, &dir.path("unlogged.jsonl"), &["--audit-log", &nowhere]);
    assert_eq!(unlogged.status.code(), Some(2));
    assert!(stderr(&unlogged).contains("cannot open it for appending"), "{}", stderr(&unlogged));
    assert!(!Path::new(&dir.path("unlogged.jsonl")).exists(), "nothing was scanned");

    // A run killed mid-scan leaves its start line: that it began, and
    // what it was going to probe.
    std::fs::write(dir.0.join("slow.yaml"), spec_slow()).expect("spec");
    let killed_log = dir.path("killed.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vantage"))
        .args(["scan", &dir.path("slow.yaml"), "--from", "here", "-o", &dir.path("slow.jsonl")])
        .args(["--mode", "connect", "--quiet", "--rate", "2", "--audit-log", &killed_log])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the scan starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&killed_log).map_or(true, |s| s.is_empty()) {
        assert!(Instant::now() < deadline, "no start line");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    child.kill().expect("SIGKILL by its id");
    let status = child.wait().expect("reaped");
    assert!(!status.success());
    let lines = audit_lines(&killed_log);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!((lines[0]["event"].as_str(), lines[0]["exit"].is_null()), (Some("start"), true));
    assert_eq!(lines[0]["vantages"][0]["probes"], 200);
}

/// 200 probes at 2 a second: a scan that is still running when killed.
fn spec_slow() -> String {
    "version: 1
zones:
  local: { cidrs: [127.0.0.0/8], probe: false }
  lab: { cidrs: [127.88.8.1/32] }
vantages:
  here: { zone: local }
sweep:
  tcp: ['30000-30199']
"
    .to_owned()
}

/// A child process of the test, killed by its id and reaped when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `vantage certs` in DIR/pki: a CA, an agent certificate for 127.0.0.1
/// (`lo`) and a controller's (`ci`); DIR/scope.txt, the agent's scope.
/// Returns the CA's path.
fn pki(dir: &Dir) -> String {
    let pki = dir.path("pki");
    let (ca, ca_key) = (dir.path("pki/ca.pem"), dir.path("pki/ca.key"));
    let agent_cert = [
        "certs",
        "agent",
        "--ca",
        &ca,
        "--ca-key",
        &ca_key,
        "--name",
        "lo",
        "--san",
        "127.0.0.1",
        "--out",
        &pki,
    ];
    let controller_cert =
        ["certs", "controller", "--ca", &ca, "--ca-key", &ca_key, "--name", "ci", "--out", &pki];
    for args in [&["certs", "ca", "--out", &pki][..], &agent_cert, &controller_cert] {
        let o = vantage(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    }
    std::fs::write(dir.0.join("scope.txt"), "127.88.8.0/29\n").expect("scope");
    ca
}

/// DIR/lab.yaml with the vantage `here` reached through the agent at
/// `url`, written as DIR/NAME; returns its path.
fn agent_spec(dir: &Dir, name: &str, url: &str) -> String {
    let spec = dir.path(name);
    let text = std::fs::read_to_string(dir.path("lab.yaml")).expect("spec");
    let with_agent = text
        .replace("here: { zone: local }", &format!("here: {{ zone: local, agent: \"{url}\" }}"));
    assert_ne!(with_agent, text, "lab.yaml declares `here`");
    std::fs::write(&spec, with_agent).expect("spec");
    spec
}

#[test]
fn an_agent_logs_each_plan_it_accepts_and_check_logs_its_agents() {
    // A `vantage agent` on 127.0.0.1 with `vantage certs` certificates,
    // driven by `check --exclude`: the agent's audit log has one `plan`
    // line naming the controller, with the scope it scanned (the
    // controller's exclusions taken out); check's has the agent's URL.
    let dir = Dir::new("agent");
    let (_listener, _, exclude) = setup(&dir);
    let ca = pki(&dir);
    let port = TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr");
    let url = format!("https://127.0.0.1:{}", port.port());
    let spec = agent_spec(&dir, "agent.yaml", &url);
    let agent_log = dir.path("agent-audit.jsonl");
    let mut agent = Child(
        Command::new(env!("CARGO_BIN_EXE_vantage"))
            .args(["agent", "--listen", &port.to_string(), "--cert", &dir.path("pki/lo.pem")])
            .args(["--key", &dir.path("pki/lo.key"), "--client-ca", &ca])
            .args(["--scope", &dir.path("scope.txt"), "--connect-only", "--audit-log", &agent_log])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the agent starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(port).is_err() {
        assert!(agent.0.try_wait().expect("wait").is_none(), "the agent ended");
        assert!(Instant::now() < deadline, "the agent does not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let check_log = dir.path("check-audit.jsonl");
    let checked = vantage(&[
        "check",
        &spec,
        "--from",
        "here",
        "--exclude",
        &exclude,
        "--audit-log",
        &check_log,
        "--agent-ca",
        &ca,
        "--agent-cert",
        &dir.path("pki/ci.pem"),
        "--agent-key",
        &dir.path("pki/ci.key"),
        "--mode",
        "connect",
        "--max-rtt",
        "500",
    ]);
    assert_eq!(checked.status.code(), Some(0), "{}", stderr(&checked));
    let lines = audit_lines(&agent_log);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let plan = &lines[0];
    assert_eq!((plan["event"].as_str(), plan["command"].as_str()), (Some("plan"), Some("agent")));
    assert!(plan["controller"].as_str().is_some_and(|c| c.starts_with("ci (127.0.0.1:")), "{plan}");
    assert_eq!(
        plan["vantages"][0]["scope"],
        serde_json::json!(["127.88.8.0/31", "127.88.8.3/32", "127.88.8.4/30"])
    );
    assert_eq!(plan["excluded"]["cidrs"], serde_json::json!(["127.88.8.2/32"]));
    assert_eq!((plan["mode"].as_str(), plan["exit"].is_null()), (Some("connect"), true));
    let lines = audit_lines(&check_log);
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap_or("")).collect();
    assert_eq!(events, ["start", "end"]);
    assert_eq!(lines[1]["vantages"][0]["agent"], url.as_str());
    assert_eq!(lines[1]["spec_digest"], plan["spec_digest"]);
    drop(agent);
}

#[test]
fn a_dialling_agent_is_met_by_check_agent_listen_and_must_hold_the_urls_name() {
    // An agent that dials out (`--dial`, for a segment that takes no
    // inbound connection) is met by `check --agent-listen`: the plan is
    // accepted and logged as from a listening agent. The controller still
    // checks the agent's certificate against the URL's host: with the URL
    // naming `localhost` (the certificate is for 127.0.0.1) the handshake
    // fails, no plan reaches the agent, and the vantage is incomplete.
    let dir = Dir::new("dial");
    let (_listener, _, _) = setup(&dir);
    let ca = pki(&dir);
    let port = TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr");
    let good = agent_spec(&dir, "dial.yaml", &format!("https://127.0.0.1:{}", port.port()));
    let liar = agent_spec(&dir, "liar.yaml", &format!("https://localhost:{}", port.port()));
    let agent_log = dir.path("agent-audit.jsonl");
    // Started first: it dials until a check listens.
    let agent = Child(
        Command::new(env!("CARGO_BIN_EXE_vantage"))
            .args(["agent", "--dial", &port.to_string(), "--vantage", "here"])
            .args(["--cert", &dir.path("pki/lo.pem"), "--key", &dir.path("pki/lo.key")])
            .args(["--client-ca", &ca, "--scope", &dir.path("scope.txt"), "--connect-only"])
            .args(["--audit-log", &agent_log])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the agent starts"),
    );
    let listen = port.to_string();
    let check = |spec: &str, wait: &str| {
        vantage(&[
            "check",
            spec,
            "--from",
            "here",
            "--agent-ca",
            &ca,
            "--agent-cert",
            &dir.path("pki/ci.pem"),
            "--agent-key",
            &dir.path("pki/ci.key"),
            "--agent-listen",
            &listen,
            "--agent-wait",
            wait,
            "--mode",
            "connect",
            "--max-rtt",
            "500",
        ])
    };
    // Refused before anything is probed: --agent-listen with no agent
    // vantage to meet, or with two whose URLs share a host (a dialling
    // agent is known by its certificate's host alone).
    let refusals = [
        (dir.path("lab.yaml"), "no vantage of this check has an `agent:` URL"),
        (
            {
                let two = dir.path("two.yaml");
                let text = std::fs::read_to_string(&good).expect("spec");
                let there = "\n  there: { zone: local, agent: \"https://127.0.0.1:9\" }";
                let with_there = text.replacen("\" }", &format!("\" }}{there}"), 1);
                std::fs::write(&two, with_there).expect("spec");
                two
            },
            "vantages `here` and `there` have agents on the same host (127.0.0.1)",
        ),
    ];
    for (spec, want) in refusals {
        let mut args = vec!["check", &spec, "--from", "here", "--agent-listen", &listen];
        if spec.ends_with("two.yaml") {
            args.extend(["--from", "there"]);
        }
        let o = vantage(&args);
        assert_eq!(o.status.code(), Some(2), "{want}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{want}: {}", stderr(&o));
    }
    let checked = check(&good, "30");
    // The planted finding: db (127.88.8.2) is required and closed.
    assert_eq!(checked.status.code(), Some(1), "{}", stderr(&checked));
    assert!(
        stderr(&checked).contains(&format!(
            "waiting up to 30 s on {listen} for the agents of `here` to dial in"
        )),
        "{}",
        stderr(&checked)
    );
    let report = String::from_utf8_lossy(&checked.stdout).into_owned();
    assert!(report.contains("unreachable") && report.contains("127.88.8.2"), "{report}");
    let lines = audit_lines(&agent_log);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0]["controller"].as_str().is_some_and(|c| c.starts_with("ci (127.0.0.1:")),
        "{}",
        lines[0]
    );
    // The agent dials again for the next check, which expects another
    // name: each of its connections fails the handshake until the wait
    // ends, and the last failure is what the finding says.
    let refused = check(&liar, "4");
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("TLS with the agent at https://localhost:"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(audit_lines(&agent_log).len(), 1, "no plan reached the agent");
    drop(agent);
}
