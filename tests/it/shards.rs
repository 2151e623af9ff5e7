//! Sharding as a Kubernetes Indexed Job or a CI matrix runs it: four
//! `vantage scan --shard k/4` processes at once, then `verdict` over their
//! four files, must report exactly what one unsharded scan reports; a set
//! missing a shard is incomplete (exit 3) and a set with a shard twice is
//! refused (exit 2).
//!
//! The targets are listeners this test opens on 127.77.7.0/29 (loopback;
//! Linux routes all of 127.0.0.0/8 to `lo` with no setup), on ports the
//! kernel picked, so the spec is written once they are known. Scans use
//! `--mode connect`, so the test runs without root too; no packet leaves
//! 127.0.0.0/8, and every process it starts is ended by its id.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::util::{root, stdout};

const NOW: &str = "2026-03-02T08:00:00Z";
const SHARDS: u32 = 4;

/// A scratch folder, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vantage-it-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
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

/// Processes started by the test: each one still running when the test
/// ends (a failed assertion included) is killed by its id and reaped.
#[derive(Default)]
struct Children(Vec<Child>);

impl Children {
    fn spawn(&mut self, args: &[&str], index: Option<&str>) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vantage"));
        command
            .args(args)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match index {
            Some(k) => command.env("JOB_COMPLETION_INDEX", k),
            None => command.env_remove("JOB_COMPLETION_INDEX"),
        };
        self.0.push(command.spawn().expect("the vantage binary starts"));
    }

    /// Waits for every process, in the order started.
    fn wait(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.0)
            .into_iter()
            .map(|c| c.wait_with_output().expect("the scan ends"))
            .collect()
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The loopback network: listeners and the spec that describes them.
struct Bed {
    _listeners: Vec<TcpListener>,
    spec: String,
    /// The ports of the services web, admin and db.
    ports: [u64; 3],
}

const NET: [u8; 3] = [127, 77, 7];

fn addr(host: u8) -> Ipv4Addr {
    Ipv4Addr::new(NET[0], NET[1], NET[2], host)
}

/// A port nothing listens on at 127.77.7.`host` now: one the kernel gave
/// a listener, which is then closed.
fn free_port(host: u8) -> u16 {
    let l = TcpListener::bind((addr(host), 0)).expect("bind on loopback");
    l.local_addr().expect("address").port()
}

/// Listeners: web (.1) serves its allowed port and a denied admin port;
/// db (.2) is declared with an allowed port that nothing serves; .3 is an
/// undeclared host serving the web port. So the verdict has an exposure
/// by a deny flow, one by default deny, an undeclared host and an
/// unreachable flow, spread over the shards.
fn bed(dir: &Scratch) -> Bed {
    let listen = |host: u8, port: u16| {
        TcpListener::bind((addr(host), port)).expect("listen on loopback (127.77.7.0/29)")
    };
    let web = listen(1, 0);
    let web_port = web.local_addr().expect("address").port();
    let admin = listen(1, 0);
    let admin_port = admin.local_addr().expect("address").port();
    let stray = listen(3, web_port);
    let db_port = free_port(2);
    let spare = free_port(4);
    let spec = format!(
        r#"version: 1
zones:
  local: {{ cidrs: [127.0.0.0/8], probe: false }}
  lab: {{ cidrs: [127.77.7.0/29] }}
hosts:
  web: {{ address: 127.77.7.1 }}
  db: {{ address: 127.77.7.2 }}
services:
  web: {{ tcp: [{web_port}] }}
  admin: {{ tcp: [{admin_port}], severity: critical }}
  db: {{ tcp: [{db_port}] }}
flows:
  - {{ from: local, to: web, allow: [web] }}
  - {{ from: local, to: db, allow: [db] }}
  - {{ from: local, to: web, deny: [admin] }}
default: deny
vantages:
  here: {{ zone: local }}
sweep:
  tcp: [{web_port}, {admin_port}, {db_port}, {spare}]
"#
    );
    let path = dir.path("spec.yaml");
    std::fs::write(&path, spec).expect("write the spec");
    let ports = [web_port, admin_port, db_port].map(u64::from);
    Bed { _listeners: vec![web, admin, stray], spec: path, ports }
}

fn scan_args<'a>(spec: &'a str, out: &'a str, shard: &'a [&'a str]) -> Vec<&'a str> {
    let mut args = vec!["scan", spec, "--from", "here", "-o", out, "--mode", "connect"];
    args.extend_from_slice(shard);
    args
}

fn verdict(spec: &str, files: &[&str]) -> Output {
    let mut args = vec!["verdict", spec];
    args.extend_from_slice(files);
    args.extend(["--format", "json", "--now", NOW]);
    crate::util::vantage(&args)
}

fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr))
}

/// The findings of a JSON verdict, without their `evidence`: it names the
/// file each sighting came from, when it was made and its round trip,
/// which two runs never share. Everything else (rule, severity, target,
/// port, expected, observed, spec location) must be equal.
fn findings(o: &Output) -> Vec<Value> {
    let doc: Value =
        serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", both(o)));
    assert_eq!(doc["coverage"]["incomplete"], 0, "{}", both(o));
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.as_object_mut().expect("a finding").remove("evidence");
            f
        })
        .collect()
}

/// What a file says about each port: (target, proto, port, state), sorted.
fn ports(path: &str) -> Vec<(String, String, u64, String)> {
    let text = std::fs::read_to_string(path).expect("observations");
    let mut out: Vec<_> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .filter(|v| v["kind"] == "port")
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (s("target"), s("proto"), v["port"].as_u64().unwrap_or(0), s("state"))
        })
        .collect();
    out.sort();
    out
}

fn header(path: &str) -> Value {
    let text = std::fs::read_to_string(path).expect("observations");
    serde_json::from_str(text.lines().next().expect("a header")).expect("JSON")
}

#[test]
fn four_shard_processes_merge_to_the_unsharded_verdict() {
    let dir = Scratch::new("shards");
    let bed = bed(&dir);
    let spec = bed.spec.as_str();
    let files: Vec<String> = (0..SHARDS).map(|k| dir.path(&format!("f_{k}.jsonl"))).collect();
    let shards: Vec<String> = (0..SHARDS).map(|k| format!("{k}/{SHARDS}")).collect();

    // The four shards at once, as four pods or runners would run them.
    let mut children = Children::default();
    for (file, shard) in files.iter().zip(&shards) {
        children.spawn(&scan_args(spec, file, &["--shard", shard]), None);
    }
    for (out, shard) in children.wait().iter().zip(&shards) {
        assert_eq!(out.status.code(), Some(0), "shard {shard}: {}", both(out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("connect scan of shard {shard}: ")), "{err}");
    }
    let whole = dir.path("f_whole.jsonl");
    let out = crate::util::vantage(&scan_args(spec, &whole, &["--shard", "0/1"]));
    assert_eq!(out.status.code(), Some(0), "unsharded: {}", both(&out));

    // Each probe is in exactly one shard: the shards' port lines together
    // are the unsharded scan's, none twice.
    let mut union: Vec<_> = files.iter().flat_map(|f| ports(f)).collect();
    union.sort();
    assert_eq!(union, ports(&whole), "the shards' ports, together, are the whole scan's");
    for (k, f) in files.iter().enumerate() {
        let h = header(f);
        assert_eq!(
            (h["shard_index"].as_u64(), h["shard_count"].as_u64()),
            (Some(k as u64), Some(4))
        );
    }

    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let sharded = verdict(spec, &refs);
    let unsharded = verdict(spec, &[&whole]);
    assert_eq!(sharded.status.code(), Some(1), "{}", both(&sharded));
    assert_eq!(unsharded.status.code(), Some(1), "{}", both(&unsharded));
    let got = findings(&sharded);
    assert_eq!(got, findings(&unsharded), "4 shards merged = 1 unsharded run");
    // `coverage.probes_sent` is not compared: it counts attempts, and a
    // retried probe (a local EAGAIN under load) is a legitimate difference
    // between two runs; `generated` is `--now` in both.
    let mut rules: Vec<(&str, &str, Option<u64>)> = got
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or(""),
                f["target"].as_str().unwrap_or(""),
                f["port"].as_u64(),
            )
        })
        .collect();
    rules.sort();
    let [web, admin, db] = bed.ports;
    assert_eq!(
        rules,
        [
            ("exposure", "127.77.7.1", Some(admin)),
            ("exposure", "127.77.7.3", Some(web)),
            ("undeclared-host", "127.77.7.3", None),
            ("unreachable", "127.77.7.2", Some(db)),
        ],
        "{got:#?}"
    );

    // A pod of an Indexed Job: K from JOB_COMPLETION_INDEX is that shard.
    let by_env = dir.path("f_2_env.jsonl");
    let out = crate::util::vantage_indexed(
        &scan_args(spec, &by_env, &["--shard-from-env", "4"]),
        Some("2"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert_eq!(
        (header(&by_env)["shard_index"].as_u64(), header(&by_env)["shard_count"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(ports(&by_env), ports(&files[2]));
    let with_env = verdict(spec, &[refs[0], refs[1], &by_env, refs[3]]);
    assert_eq!(findings(&with_env), got);

    // Shard 2 missing: judged, and reported incomplete naming it.
    let out = verdict(spec, &[refs[0], refs[1], refs[3]]);
    assert_eq!(out.status.code(), Some(3), "{}", both(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let incomplete: Vec<&Value> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "scan-incomplete")
        .collect();
    assert_eq!(incomplete.len(), 1, "{}", both(&out));
    let evidence = incomplete[0]["evidence"].as_str().unwrap_or_default();
    assert!(evidence.contains("shard is 2/4 missing"), "{evidence}");

    // Shard 1 twice (run again, or its file copied): refused, naming both.
    let again = dir.path("f_1_again.jsonl");
    std::fs::copy(&files[1], &again).expect("copy");
    let out = verdict(spec, &[refs[0], refs[1], refs[2], refs[3], &again]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{} and {again} are both shard 1/4 of vantage `here`", files[1])),
        "{err}"
    );
    assert!(stdout(&out).is_empty(), "a refused set has no report: {}", stdout(&out));
    assert!(Path::new(&files[1]).exists());
}
