//! `vantage demo` (issue 9, item 2) through the binary: it reports exactly
//! the planted findings and exits 1, explains each rule, and leaves
//! nothing behind (no file in the temporary directory, its ports free
//! again, no process of its process group alive), also when SIGTERM stops it mid-scan, when a
//! port it needs is taken, and, when the tests run as root, as an
//! unprivileged user (connect mode). Every packet stays on 127.0.0.0/8.
//!
//! The demo binds fixed addresses and ports, so its tests take turns
//! (`ONE_AT_A_TIME`); nothing else in the suite uses 127.0.0.2 to
//! 127.0.0.5.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use crate::util::root;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Every socket the demo's shop listens on, and the one it keeps free.
const TCP: [&str; 7] = [
    "127.0.0.2:18080",
    "127.0.0.2:18443",
    "127.0.0.2:19090",
    "127.0.0.3:15432",
    "127.0.0.3:16379",
    "127.0.0.4:18053",
    "127.0.0.5:12222",
];
const UDP: &str = "127.0.0.4:18053";

/// (rule, target, port, waiver) of every finding the demo plants.
fn planted() -> BTreeSet<(String, String, Option<u64>, Option<String>)> {
    [
        ("dns-mismatch", "127.0.0.4", Some(18053), None),
        ("dns-open-recursion", "127.0.0.4", Some(18053), None),
        ("exposure", "127.0.0.2", Some(19090), Some("DEMO-1")),
        ("exposure", "127.0.0.3", Some(16379), None),
        ("exposure", "127.0.0.5", Some(12222), None),
        ("tls-cert-hostname", "127.0.0.2", Some(18443), None),
        ("tls-cert-untrusted", "127.0.0.2", Some(18443), None),
        ("tls-protocol", "127.0.0.2", Some(18443), None),
        ("undeclared-host", "127.0.0.5", None, None),
        ("unreachable", "127.0.0.3", Some(15432), None),
    ]
    .into_iter()
    .map(|(r, t, p, w)| (r.to_owned(), t.to_owned(), p, w.map(str::to_owned)))
    .collect()
}

fn found(json: &str) -> BTreeSet<(String, String, Option<u64>, Option<String>)> {
    let doc: serde_json::Value = serde_json::from_str(json).expect("the report is JSON");
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().expect("rule").to_owned(),
                f["target"].as_str().expect("target").to_owned(),
                f["port"].as_u64(),
                f["waived"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// `vantage demo ARGS`, in a process group of its own (so anything it
/// started would be found by `assert_nothing_left`), optionally through
/// `wrapper` (setpriv).
fn demo_command(wrapper: &[&str], args: &[&str]) -> Command {
    let (program, rest): (&str, Vec<&str>) = match wrapper.split_first() {
        Some((first, more)) => {
            let mut rest = more.to_vec();
            rest.push(env!("CARGO_BIN_EXE_vantage"));
            (first, rest)
        }
        None => (env!("CARGO_BIN_EXE_vantage"), Vec::new()),
    };
    let mut c = Command::new(program);
    c.args(rest).arg("demo").args(args).current_dir(root()).process_group(0);
    c
}

/// `check`'s temporary observation file is gone (and the demo made no
/// other), every port binds again, and no process is left in the demo's
/// process group (its id: it led the group).
fn assert_nothing_left(group: u32) {
    let mine = [format!("vantage-demo-{group}-"), format!("vantage-check-{group}-")];
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .expect("the temporary directory")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| mine.iter().any(|m| name.starts_with(m.as_str())))
        .collect();
    assert!(leftovers.is_empty(), "left in the temporary directory: {leftovers:?}");
    for addr in TCP {
        TcpListener::bind(addr).unwrap_or_else(|e| panic!("tcp {addr} is not free again: {e}"));
    }
    UdpSocket::bind(UDP).unwrap_or_else(|e| panic!("udp {UDP} is not free again: {e}"));
    for entry in std::fs::read_dir("/proc").expect("/proc") {
        let path = entry.expect("entry").path().join("stat");
        let Ok(stat) = std::fs::read_to_string(&path) else { continue };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let pgrp = rest.split_whitespace().nth(2);
        assert_ne!(pgrp, Some(group.to_string().as_str()), "{} is left: {stat}", path.display());
    }
}

fn run(c: &mut Command) -> (Output, u32) {
    let child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("demo runs");
    let pid = child.id();
    (child.wait_with_output().expect("demo ends"), pid)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn demo_reports_the_planted_findings_explains_them_and_leaves_nothing_behind() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (out, pid) = run(&mut demo_command(&[], &[]));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    // The table, between the narration and the lessons, all on stdout.
    for (rule, target, port) in [
        ("exposure", "127.0.0.3 (db)", "tcp/16379"),
        ("unreachable", "127.0.0.3 (db)", "tcp/15432"),
        ("undeclared-host", "127.0.0.5", "-"),
        ("tls-protocol", "127.0.0.2 (web)", "tcp/18443"),
        ("tls-cert-untrusted", "127.0.0.2 (web)", "tcp/18443"),
        ("tls-cert-hostname", "127.0.0.2 (web)", "tcp/18443"),
        ("dns-mismatch", "127.0.0.4 (ns)", "udp/18053"),
        ("dns-open-recursion", "127.0.0.4 (ns)", "udp/18053"),
    ] {
        let row = stdout.lines().any(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let target_words: Vec<&str> = target.split_whitespace().collect();
            words.first() == Some(&rule)
                && words.get(1..1 + target_words.len()) == Some(&target_words[..])
                && words.get(1 + target_words.len()) == Some(&port)
        });
        assert!(row, "no row `{rule} {target} {port}` in:\n{stdout}");
    }
    assert!(stdout.contains("[waived: DEMO-1]"), "{stdout}");
    // The lessons: each rule once, with its spec line, then the next steps.
    let lessons = stdout.split("What the findings mean").nth(1).expect("the lessons");
    for rule in planted().iter().map(|(r, ..)| r.clone()).collect::<BTreeSet<_>>() {
        assert_eq!(lessons.matches(&format!("\n{rule} (")).count(), 1, "{rule}: {lessons}");
    }
    assert!(lessons.contains("specs/demo.yaml:"), "{lessons}");
    assert!(
        lessons.contains(
            "127.0.0.3 tcp/16379 (db); specs/demo.yaml:42: - { from: local, to: db, deny: [redis] }"
        ),
        "{lessons}"
    );
    assert_eq!(lessons.matches("  Why it matters: ").count(), 8, "{lessons}");
    assert_eq!(lessons.matches("  Fix: ").count(), 8, "{lessons}");
    for next in ["vantage init", "vantage check vantage.yaml --from VANTAGE", "--print-spec"] {
        assert!(lessons.contains(next), "{next}: {lessons}");
    }
    // Every finding points at the spec as shipped, and no path in the
    // report names a file that is gone by the time it is read.
    assert!(stdout.contains("\n                        at specs/demo.yaml:42; "), "{stdout}");
    assert!(stdout.contains("(this check's scan)"), "{stdout}");
    assert!(!stdout.contains("/tmp/"), "{stdout}");
    assert!(stdout.contains("check's temporary file is removed."), "{stdout}");
    assert_nothing_left(pid);
}

#[test]
fn demo_json_is_the_report_alone_and_the_lessons_go_to_stderr() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (out, pid) = run(&mut demo_command(&[], &["--format", "json"]));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(found(&stdout), planted(), "{stdout}");
    assert!(stderr.contains("What the findings mean") && stderr.contains("Next steps"), "{stderr}");
    assert_nothing_left(pid);
}

#[test]
fn demo_quiet_prints_the_report_alone() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (out, pid) = run(&mut demo_command(&[], &["-q", "--format", "json"]));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(found(&stdout), planted(), "{stdout}");
    assert_eq!(stderr, "", "-q: no narration, lessons, progress or notes");
    assert_nothing_left(pid);
}

#[test]
fn demo_html_matrix_counts_tls_and_dns_findings_on_their_hosts() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let page = std::env::temp_dir().join(format!("vantage-it-{}-demo.html", std::process::id()));
    let page_arg = page.display().to_string();
    let (out, pid) = run(&mut demo_command(&[], &["-q", "--format", "html", "-o", &page_arg]));
    let html = std::fs::read_to_string(&page);
    let _ = std::fs::remove_file(&page);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let html = html.expect("the page was written");
    // web: ports as intended but for a waived exporter, TLS off policy;
    // ns: ports as intended, DNS off policy; db and the undeclared host:
    // exposures, whatever else.
    let cells: Vec<(&str, &str)> = html
        .split(r#"<td class="cell "#)
        .skip(1)
        .map(|td| {
            let state = td.split('"').next().unwrap_or_default();
            let column = td.split(r#"data-column=""#).nth(1).and_then(|c| c.split('"').next());
            (column.unwrap_or_default(), state)
        })
        .collect();
    assert_eq!(
        cells,
        [
            ("shop/web", "service"),
            ("shop/db", "exposure"),
            ("shop/ns", "service"),
            ("shop/*", "exposure")
        ]
    );
    assert!(html.contains("show 4 findings"), "web: its exposure and its three TLS findings");
    assert!(html.contains("ports as intended; dns-open-recursion, dns-mismatch"));
    assert_nothing_left(pid);
}

#[test]
fn demo_prints_its_spec_which_is_specs_demo_yaml() {
    let (out, _) = run(&mut demo_command(&[], &["--print-spec"]));
    assert_eq!(out.status.code(), Some(0));
    let shipped = std::fs::read(root().join("specs/demo.yaml")).expect("specs/demo.yaml");
    assert_eq!(out.stdout, shipped);
}

#[test]
fn demo_stopped_by_sigterm_mid_scan_exits_3_and_leaves_nothing_behind() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // One probe a second: the scan is surely running when the signal comes.
    let mut child = demo_command(&[], &["--rate", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("demo runs");
    let pid = child.id();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut seen = String::new();
    while !seen.contains("Running vantage check") {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("reads") == 0 {
            break;
        }
        seen.push_str(&line);
    }
    let killed = Command::new("kill").args(["-s", "TERM", &pid.to_string()]).status();
    assert!(killed.expect("kill runs").success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("reads");
    let out = child.wait_with_output().expect("demo ends");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{seen}{rest}\n{stderr}");
    // Told once: the demo handles the signal, the scan it stops does not
    // say it again.
    assert_eq!(stderr.matches("SIGTERM").count(), 1, "{stderr}");
    assert!(rest.contains("scan-incomplete"), "{rest}");
    assert_nothing_left(pid);
}

#[test]
fn demo_refuses_a_taken_port_naming_it_and_leaves_nothing_behind() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for taken in ["127.0.0.3:16379", "127.0.0.3:15432"] {
        let held = TcpListener::bind(taken).expect("the test takes the port");
        let (out, pid) = run(&mut demo_command(&[], &[]));
        drop(held);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("tcp {taken}")), "{taken}: {stderr}");
        assert_nothing_left(pid);
    }
}

#[test]
#[allow(clippy::print_stderr, reason = "a skipped test can only say why on stderr")]
fn demo_works_as_an_unprivileged_user_in_connect_mode() {
    let root_user = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root_user {
        // Not root: every other demo test already runs unprivileged.
        eprintln!("skipped: not root, so the other demo tests already ran unprivileged");
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
    let (out, pid) = run(&mut demo_command(&nobody, &["--format", "json"]));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("vantage: connect scan (no raw sockets"), "{stderr}");
    assert_eq!(found(&stdout), planted(), "{stdout}");
    assert_nothing_left(pid);
}
