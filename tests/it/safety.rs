//! Scope and safety (issue 8, item 5), through the binary on loopback
//! (127.88.8.0/29, with a listener the test opens): `--exclude` leaves
//! addresses out of `plan`, `scan`, `check` and the verdict, which says
//! what was not judged; rates above the documented maximums are refused
//! without `--unsafe-rate`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

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

const QUIET: [&str; 4] = ["--mode", "connect", "--quiet", "--max-rtt"];

fn scan(spec: &str, out: &str, extra: &[&str]) -> Output {
    let mut args = vec!["scan", spec, "--from", "here", "-o", out];
    args.extend(QUIET);
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
    args.extend(QUIET);
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
    // At the maximum it runs; --unsafe-rate lifts it.
    let ok = scan(&spec, &out, &["--rate", "50000"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let ok = scan(&spec, &out, &["--rate", "200000", "--host-rate", "200000", "--unsafe-rate"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
}
