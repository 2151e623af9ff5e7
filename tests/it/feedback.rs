//! What `scan`, `check` and `verdict` say on stderr (issue 9, item 4): the
//! end summary, nothing at all with `-q`, structured logs with `-v`/`-vv`
//! (text and JSON, `VANTAGE_LOG`), and a report on stdout that stays
//! whole whatever is logged. Connect scans of 127.0.0.1 only: one port a
//! listener of this test holds open and the intent denies, one closed.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::root;

const NOW: &str = "2026-03-02T08:00:00Z";

/// A temporary folder with a spec of 127.0.0.1 swept on two ports: the
/// first open (held by `_open`), denied by `default: deny`; the second
/// closed. Removed on drop, also when a test fails.
struct Bed {
    dir: PathBuf,
    spec: String,
    _open: TcpListener,
}

impl Bed {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vantage-it-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let open = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let closed = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let (open_port, closed_port) = (
            open.local_addr().expect("address").port(),
            closed.local_addr().expect("address").port(),
        );
        drop(closed);
        let spec = dir.join("spec.yaml");
        std::fs::write(
            &spec,
            format!(
                "version: 1\nzones:\n  local: {{ cidrs: [127.0.0.0/8], probe: false }}\n  me: {{ cidrs: [127.0.0.1/32] }}\nvantages:\n  here: {{ zone: local }}\nsweep:\n  tcp: [{open_port}, {closed_port}]\ndefault: deny\n"
            ),
        )
        .expect("write spec");
        Self { spec: spec.display().to_string(), dir, _open: open }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `vantage ARGS` with `VANTAGE_LOG` set to `log` (unset: `None`).
fn run(args: &[&str], log: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vantage"));
    c.args(args).current_dir(root()).env_remove("NO_COLOR");
    match log {
        Some(v) => c.env("VANTAGE_LOG", v),
        None => c.env_remove("VANTAGE_LOG"),
    };
    c.output().expect("the vantage binary runs")
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not the JSON report ({e}); stderr: {}", err(o)))
}

#[test]
fn scan_and_check_end_with_a_short_summary() {
    let bed = Bed::new("summary");
    let obs = bed.path("o.jsonl");
    let out = run(&["scan", &bed.spec, "--from", "here", "--mode", "connect", "-o", &obs], None);
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    let lines: Vec<&str> = std::str::from_utf8(&out.stderr).expect("UTF-8").lines().collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert_eq!(lines[0], "vantage: connect scan: 2 of 2 probes concluded");
    assert_eq!(lines[1], "  1 open (1 unexpected), 1 closed, 0 filtered, 0 open|filtered");
    assert!(lines[2].starts_with("  2 probes sent in ") && lines[2].ends_with("/s)"), "{lines:?}");
    assert_eq!(lines[3], format!("  observations: {obs}"));
    assert!(lines.iter().all(|l| l.len() <= 80 + obs.len()), "{lines:#?}");

    // check: the scan's block, then the findings, and where the report went.
    let report = bed.path("r.json");
    let args =
        ["check", &bed.spec, "--from", "here", "--mode", "connect", "--now", NOW, "--format"];
    let out = run(&[&args[..], &["json", "-o", &report]].concat(), None);
    assert_eq!(out.status.code(), Some(1), "{}", err(&out));
    let said = err(&out);
    let lines: Vec<&str> = said.lines().collect();
    assert!(lines.len() <= 6, "{said}");
    assert!(said.contains("  1 open (1 unexpected), 1 closed"), "{said}");
    assert!(
        said.contains("vantage: 1 finding (1 high), 0 waived; 1 vantage (here), 2 probes sent"),
        "{said}"
    );
    assert!(said.ends_with(&format!("  report: {report}\n")), "{said}");
    assert!(out.stdout.is_empty(), "the report went to {report}");
}

#[test]
fn quiet_says_nothing_but_the_report() {
    let bed = Bed::new("quiet");
    let obs = bed.path("o.jsonl");
    let scan = ["scan", &bed.spec, "--from", "here", "--mode", "connect", "-o", &obs];
    // Before or after the subcommand: the flag is global.
    for out in
        [run(&[&scan[..], &["-q"]].concat(), None), run(&[&["-q"], &scan[..]].concat(), None)]
    {
        assert_eq!(out.status.code(), Some(0), "{}", err(&out));
        assert!(out.stderr.is_empty() && out.stdout.is_empty(), "{}", err(&out));
    }
    assert!(Path::new(&obs).exists());
    let check = ["check", &bed.spec, "--from", "here", "--mode", "connect", "--now", NOW];
    let out = run(&[&check[..], &["--quiet", "--format", "json"]].concat(), None);
    assert_eq!(out.status.code(), Some(1), "{}", err(&out));
    assert!(out.stderr.is_empty(), "{}", err(&out));
    assert_eq!(json(&out)["findings"][0]["rule"], "exposure");
    // The report in a file: only the exit code says anything.
    let report = bed.path("r.sarif");
    let verdict = ["verdict", &bed.spec, &obs, "--now", NOW, "--format", "sarif", "-o", &report];
    let out = run(&[&verdict[..], &["-q"]].concat(), None);
    assert_eq!(out.status.code(), Some(1), "{}", err(&out));
    assert!(out.stderr.is_empty() && out.stdout.is_empty(), "{}", err(&out));
    assert!(Path::new(&report).exists());
    // Errors still show.
    let out = run(&["-q", "check", &bed.spec, "--from", "nowhere"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(err(&out).contains("no vantage is named `nowhere`"), "{}", err(&out));
    let out = run(&["scan", &bed.spec, "-q", "-v", "-o", &obs], None);
    assert_eq!(out.status.code(), Some(2), "-q and -v conflict: {}", err(&out));
}

#[test]
fn verbose_logs_structured_fields_on_stderr_and_stdout_stays_the_report() {
    let bed = Bed::new("verbose");
    let check = ["check", &bed.spec, "--from", "here", "--mode", "connect", "--now", NOW];
    let quiet = run(&[&check[..], &["-q", "--format", "json"]].concat(), None);
    let info = run(&[&check[..], &["-v", "--format", "json"]].concat(), None);
    assert_eq!(info.status.code(), Some(1), "{}", err(&info));
    let said = err(&info);
    for want in [
        " INFO vantage::scan: plan built vantage=\"here\" probes=2 shard=0/1 seed=1",
        " INFO vantage::engine: engine started rate=10000 host_rate=10000 retries=2",
        " INFO vantage::cli::scan: socket budget from the file-descriptor limit sockets=",
        " INFO vantage::observe::writer: observation file created file=",
        " INFO vantage::scan: scan finished complete=true interrupted=false probes_sent=2 open=1",
    ] {
        assert!(said.contains(want), "{want:?} not in {said}");
    }
    assert!(!said.contains(" DEBUG "), "-v is info: {said}");
    // The report is the same document, logs or not (but for the times
    // and the temporary file the evidence names).
    let gist = |d: serde_json::Value| {
        let f = &d["findings"][0];
        (
            d["coverage"].clone(),
            [&f["rule"], &f["severity"], &f["target"], &f["port"]].map(Clone::clone),
        )
    };
    assert_eq!(gist(json(&quiet)), gist(json(&info)));

    let debug = run(&[&check[..], &["-vv", "--format", "json"]].concat(), None);
    assert!(
        err(&debug).contains(" DEBUG vantage::cli::scan: spec loaded spec="),
        "{}",
        err(&debug)
    );
    json(&debug);

    // One JSON object a line, the fields under "fields".
    let logs =
        run(&[&check[..], &["-v", "--log-format", "json", "--format", "json"]].concat(), None);
    json(&logs);
    let events: Vec<serde_json::Value> = err(&logs)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let plan = events
        .iter()
        .find(|e| e["fields"]["message"] == "plan built")
        .unwrap_or_else(|| panic!("no plan event in {events:#?}"));
    assert_eq!(
        (plan["level"].as_str(), plan["fields"]["probes"].as_u64()),
        (Some("INFO"), Some(2))
    );
    assert_eq!(plan["fields"]["vantage"], "here");

    // VANTAGE_LOG picks what is logged, whatever -v says.
    let only_engine =
        run(&[&check[..], &["--format", "json"]].concat(), Some("vantage::engine=info"));
    let said = err(&only_engine);
    assert!(said.contains("engine started") && !said.contains("plan built"), "{said}");
    json(&only_engine);
}
