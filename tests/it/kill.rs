//! Nothing lost (issue 8, item 3): a real `vantage scan` (this binary, in
//! connect mode, so no root is needed) is stopped at seeded random points
//! with SIGINT, SIGTERM and SIGKILL, and then:
//! - the file it leaves is valid (the reader accepts it, a cut-off last
//!   line included);
//! - SIGINT and SIGTERM end it with exit 3 and a trailer saying it was
//!   interrupted; SIGKILL leaves no trailer, and `verdict` reports the
//!   scan incomplete (exit 3, never a refusal);
//! - `scan --resume FILE` completes it, sends nothing to a port the file
//!   already concluded (counting listeners say so), and `verdict` over
//!   the resumed file reports exactly the findings of an uninterrupted
//!   scan of the same spec.
//!
//! Also: a second signal while the first is being handled does not cut
//! the file; `check` stops on SIGTERM as on SIGINT; and `--resume`
//! refuses another spec, vantage, seed or shard (exit 2, the file left
//! untouched) and has nothing to do for a complete file (exit 0).
//!
//! Targets are listeners the test opens on a /29 of 127.78.0.0/16 of its
//! own (Linux routes all of 127.0.0.0/8 to `lo`); no packet leaves
//! loopback. Every process started is ended by its id (`kill -s SIG PID`,
//! or `Child::kill` when a test fails), never by name.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use vantage::observe::{ObservationFile, read};

use crate::util::{root, stdout};

const NOW: &str = "2026-03-02T08:00:00Z";

/// Probes a second: about 330 probes, so a scan takes about 3.3 s.
const RATE: &str = "100";

/// Where a kill lands, after the header is on disk: well inside the scan.
const EARLIEST_MS: u64 = 150;
const LATEST_MS: u64 = 2_600;

/// The seed of the kill points; `VANTAGE_KILL_SEED` replays another run.
fn seed() -> u64 {
    std::env::var("VANTAGE_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_0008)
}

/// A small, seeded generator (xorshift64*): the same points every run.
struct Points(u64);

impl Points {
    fn new(salt: u64) -> Self {
        Self((seed() ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }

    fn next_ms(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        EARLIEST_MS + r % (LATEST_MS - EARLIEST_MS)
    }
}

/// A scratch folder, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("vantage-it-{}-kill-{tag}", std::process::id()));
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

/// A listener that accepts and counts connections (closing each at once),
/// so a test can tell whether a scan sent anything to its port.
struct Counting {
    host: u8,
    port: u16,
    accepted: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Counting {
    fn new(net: [u8; 3], host: u8, port: u16) -> Self {
        let listener = TcpListener::bind((addr(net, host), port)).expect("listen on loopback");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("address").port();
        let accepted = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, done) = (Arc::clone(&accepted), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        count.fetch_add(1, Ordering::Relaxed);
                        drop(stream);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Self { host, port, accepted, stop, thread: Some(thread) }
    }

    /// Connections accepted so far, once the backlog has been drained (a
    /// connection the kernel completed is accepted within milliseconds).
    fn count(&self) -> u64 {
        std::thread::sleep(Duration::from_millis(100));
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn addr(net: [u8; 3], host: u8) -> Ipv4Addr {
    Ipv4Addr::new(net[0], net[1], net[2], host)
}

/// The loopback network of one test: counting listeners and the spec that
/// describes them. web (.1) serves its allowed port and a denied admin
/// port; db (.2) is declared with an allowed port nothing serves; .3 is an
/// undeclared host serving the web port; a sweep of 37 closed ports makes
/// the scan last a few seconds at `RATE`. So the verdict has an exposure
/// by a deny flow, one by default deny, an undeclared host and an
/// unreachable flow.
struct Bed {
    net: [u8; 3],
    listeners: Vec<Counting>,
    spec: String,
}

/// A port nothing listens on, outside the ephemeral range (so no other
/// process's socket lands on it) and outside the sweep.
const DB_PORT: u16 = 30_150;

fn bed(dir: &Scratch, subnet: u8) -> Bed {
    let net = [127, 78, subnet];
    let web = Counting::new(net, 1, 0);
    let admin = Counting::new(net, 1, 0);
    let stray = Counting::new(net, 3, web.port);
    let (web_port, admin_port) = (web.port, admin.port);
    let lab = format!("{}.{}.{}.0/29", net[0], net[1], net[2]);
    let host = |h: u8| addr(net, h).to_string();
    let (web_host, db_host) = (host(1), host(2));
    let spec = format!(
        r#"version: 1
zones:
  local: {{ cidrs: [127.0.0.0/8], probe: false }}
  lab: {{ cidrs: [{lab}] }}
hosts:
  web: {{ address: {web_host} }}
  db: {{ address: {db_host} }}
services:
  web: {{ tcp: [{web_port}] }}
  admin: {{ tcp: [{admin_port}], severity: critical }}
  db: {{ tcp: [{DB_PORT}] }}
flows:
  - {{ from: local, to: web, allow: [web] }}
  - {{ from: local, to: db, allow: [db] }}
  - {{ from: local, to: web, deny: [admin] }}
default: deny
vantages:
  here: {{ zone: local }}
  elsewhere: {{ zone: local }}
sweep:
  tcp: [{web_port}, {admin_port}, "30100-30136"]
"#
    );
    let path = dir.path("spec.yaml");
    std::fs::write(&path, spec).expect("write the spec");
    Bed { net, listeners: vec![web, admin, stray], spec: path }
}

impl Bed {
    /// Connections each listener has accepted so far.
    fn counts(&self) -> Vec<u64> {
        self.listeners.iter().map(Counting::count).collect()
    }

    /// Whether `file` holds a conclusion about `listener`'s port.
    fn concluded(&self, file: &ObservationFile, listener: &Counting) -> bool {
        let target = std::net::IpAddr::V4(addr(self.net, listener.host));
        file.facts.iter().any(|f| f.target == target && f.port == listener.port)
            || file.filtered.iter().any(|s| {
                s.target == target && s.port_set().is_ok_and(|p| p.contains(listener.port))
            })
    }
}

/// A `scan` or `check` process, ended by its id if the test leaves it
/// running.
struct Proc(Option<Child>);

impl Proc {
    fn start(args: &[&str]) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_vantage"))
            .args(args)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the vantage binary starts");
        Self(Some(child))
    }

    fn id(&self) -> u32 {
        self.0.as_ref().expect("running").id()
    }

    fn still_running(&mut self) -> bool {
        self.0.as_mut().expect("started").try_wait().expect("wait").is_none()
    }

    /// Sends `signal` (`INT`, `TERM`, `KILL`) with `kill -s`, by the id.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {signal} {}", self.id());
    }

    /// Waits (at most 30 s) for the process to end; its output.
    fn wait(mut self) -> Output {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.still_running() {
            assert!(Instant::now() < deadline, "the scan did not end within 30 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        self.0.take().expect("started").wait_with_output().expect("output")
    }
}

impl Proc {
    /// Reads its output while waiting (at most 30 s) for it to end, for a
    /// process that writes more than a pipe holds.
    fn wait_reading(mut self) -> Output {
        let child = self.0.take().expect("started");
        let (tx, rx) = std::sync::mpsc::channel();
        let id = child.id();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(out) => out.expect("output"),
            Err(_) => {
                let _ = Command::new("kill").args(["-s", "KILL", &id.to_string()]).status();
                panic!("the scan did not end within 30 s");
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until `path` holds its header line (the scan has started; from
/// then on its signal handlers are installed).
fn wait_for_header(path: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::fs::read(path).is_ok_and(|b| b.contains(&b'\n')) {
            return;
        }
        assert!(Instant::now() < deadline, "{path}: no header within 20 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn scan_args<'a>(spec: &'a str, out: &'a str, rate: &'a str) -> Vec<&'a str> {
    vec!["scan", spec, "--from", "here", "-o", out, "--mode", "connect", "--rate", rate]
}

fn resume_args<'a>(spec: &'a str, file: &'a str) -> Vec<&'a str> {
    vec!["scan", spec, "--from", "here", "--resume", file, "--mode", "connect", "--rate", "400"]
}

fn run(args: &[&str]) -> Output {
    crate::util::vantage(args)
}

fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr))
}

fn verdict(spec: &str, file: &str) -> Output {
    run(&["verdict", spec, file, "--format", "json", "--now", NOW])
}

/// The findings of a JSON verdict, without their `evidence` (it names
/// when each sighting was made and its round trip, which two runs never
/// share); everything else must be equal.
fn findings(o: &Output) -> Vec<Value> {
    let doc: Value =
        serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", both(o)));
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

/// The scan-incomplete findings of a JSON verdict.
fn incomplete(o: &Output) -> Vec<Value> {
    let doc: Value =
        serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", both(o)));
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "scan-incomplete")
        .cloned()
        .collect()
}

/// An uninterrupted scan of the bed: its findings are what every resumed
/// file must give.
fn baseline(bed: &Bed, dir: &Scratch) -> Vec<Value> {
    let whole = dir.path("whole.jsonl");
    let out = run(&scan_args(&bed.spec, &whole, "400"));
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let judged = verdict(&bed.spec, &whole);
    assert_eq!(judged.status.code(), Some(1), "{}", both(&judged));
    let got = findings(&judged);
    let mut rules: Vec<(String, String)> = got
        .iter()
        .map(|f| (f["rule"].as_str().unwrap_or("").to_owned(), f["target"].to_string()))
        .collect();
    rules.sort();
    let ip = |h: u8| format!("\"{}\"", addr(bed.net, h));
    let expected: Vec<(String, String)> = [
        ("exposure", ip(1)),
        ("exposure", ip(3)),
        ("undeclared-host", ip(3)),
        ("unreachable", ip(2)),
    ]
    .into_iter()
    .map(|(r, t)| (r.to_owned(), t))
    .collect();
    assert_eq!(rules, expected, "{got:#?}");
    got
}

/// Every probe of the file concluded once: no port twice, across `port`
/// and `filtered` lines, and as many as planned.
fn each_probe_once(file: &ObservationFile, name: &str) {
    let mut seen: Vec<(std::net::IpAddr, u16)> =
        file.facts.iter().map(|f| (f.target, f.port)).collect();
    for s in &file.filtered {
        let set = s.port_set().expect("ports");
        seen.extend(set.iter().map(|p| (s.target, p)));
    }
    let total = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), total, "{name}: a port concluded twice");
    assert_eq!(total as u64, file.header.probes_planned, "{name}: every planned probe");
}

/// Stops a scan with `signal` at each of `points` seeded random moments,
/// checks what it left, resumes it and checks the result against the
/// baseline. SIGKILL's first run kills the resume too, and resumes again.
fn kill_and_resume(signal: &str, subnet: u8, points: usize) {
    let dir = Scratch::new(&format!("{signal}-{subnet}"));
    let bed = bed(&dir, subnet);
    let spec = bed.spec.as_str();
    let expected = baseline(&bed, &dir);
    let mut points_gen = Points::new(u64::from(subnet));
    let mut spared = 0;
    for i in 0..points {
        let at = points_gen.next_ms();
        let file = dir.path(&format!("cut-{i}.jsonl"));
        let context = format!("kill -s {signal} at {at} ms (seed {:#x}, run {i})", seed());
        let mut scan = Proc::start(&scan_args(spec, &file, RATE));
        wait_for_header(&file);
        std::thread::sleep(Duration::from_millis(at));
        assert!(scan.still_running(), "{context}: the scan ended before the signal");
        scan.signal(signal);
        let out = scan.wait();
        let left = read(Path::new(&file)).unwrap_or_else(|e| panic!("{context}: {e}"));
        assert!(!left.is_complete(), "{context}");
        let planned = left.header.probes_planned;
        match signal {
            "KILL" => {
                assert_eq!(out.status.signal(), Some(9), "{context}: {}", both(&out));
                assert!(left.trailer.is_none(), "{context}: a killed run writes no trailer");
                let judged = verdict(spec, &file);
                assert_eq!(judged.status.code(), Some(3), "{context}: {}", both(&judged));
                let inc = incomplete(&judged);
                assert_eq!(inc.len(), 1, "{context}: {}", both(&judged));
                let evidence = inc[0]["evidence"].as_str().unwrap_or_default();
                assert!(evidence.contains("has no trailer: the run was killed"), "{evidence}");
            }
            _ => {
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(3), "{context}: {err}");
                assert!(err.contains(&format!("SIG{signal}: stopping")), "{context}: {err}");
                assert!(err.contains("; interrupted"), "{context}: {err}");
                assert_eq!(left.truncated_last_line, None, "{context}: a whole file");
                let t = left.trailer.as_ref().expect("an interrupted run writes its trailer");
                assert!(t.interrupted && !t.complete, "{context}: {t:?}");
                let judged = verdict(spec, &file);
                assert_eq!(judged.status.code(), Some(3), "{context}: {}", both(&judged));
                let inc = incomplete(&judged);
                assert_eq!(inc.len(), 1, "{context}: {}", both(&judged));
                assert!(inc[0]["evidence"].as_str().unwrap_or("").contains("was interrupted"));
            }
        }

        // Resume: what the file concluded gets nothing more.
        let before = bed.counts();
        let concluded: Vec<bool> = bed.listeners.iter().map(|l| bed.concluded(&left, l)).collect();
        let killed_resume = signal == "KILL" && i == 0;
        if killed_resume {
            // A resumed run killed in turn is resumed again.
            let mut again = Proc::start(&resume_args(spec, &file));
            std::thread::sleep(Duration::from_millis(120));
            if again.still_running() {
                again.signal("KILL");
            }
            let _ = again.wait();
            let mid = read(Path::new(&file)).unwrap_or_else(|e| panic!("{context}: {e}"));
            assert!(mid.facts.len() >= left.facts.len(), "{context}: nothing lost");
        }
        let out = run(&resume_args(spec, &file));
        assert_eq!(out.status.code(), Some(0), "{context}: resume: {}", both(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("resuming {file}")), "{context}: {err}");
        assert!(err.contains(&format!("{planned} of {planned} probes concluded")), "{err}");
        let after = bed.counts();
        for ((l, was), (b, a)) in
            bed.listeners.iter().zip(&concluded).zip(before.iter().zip(&after))
        {
            if *was {
                assert_eq!(a, b, "{context}: port {} was concluded, yet probed again", l.port);
                spared += 1;
            } else {
                assert!(a > b, "{context}: port {} was not concluded, yet not probed", l.port);
            }
        }
        let whole = read(Path::new(&file)).unwrap_or_else(|e| panic!("{context}: {e}"));
        assert!(whole.is_complete(), "{context}: {:?}", whole.trailer);
        assert_eq!(whole.header, left.header, "{context}: the first run's header");
        each_probe_once(&whole, &context);
        let judged = verdict(spec, &file);
        assert_eq!(judged.status.code(), Some(1), "{context}: {}", both(&judged));
        assert_eq!(findings(&judged), expected, "{context}: resumed = uninterrupted");
    }
    // The points fall so that some listener is concluded before the stop
    // in at least one run (the seed is fixed; a new seed must keep this).
    assert!(spared > 0, "no run concluded a listener before the {signal}: move the points");
}

#[test]
fn sigint_leaves_an_interrupted_file_that_resume_completes() {
    kill_and_resume("INT", 11, 3);
}

#[test]
fn sigterm_leaves_an_interrupted_file_that_resume_completes() {
    kill_and_resume("TERM", 12, 3);
}

#[test]
fn sigkill_leaves_a_killed_file_that_verdict_reads_and_resume_completes() {
    kill_and_resume("KILL", 13, 4);
}

#[test]
fn a_second_signal_while_stopping_does_not_cut_the_file() {
    let dir = Scratch::new("twice");
    let bed = bed(&dir, 14);
    let mut points = Points::new(14);
    // Each burst from one shell, whose `kill` is a builtin: the signals
    // arrive microseconds apart, while the first is being handled, or
    // with pauses, when the file is being finished or the process is
    // gone (stopping takes about a millisecond here, so which of these
    // a signal meets is timing; the next test holds the process in the
    // flush). None may cut the file.
    let bursts = [
        "kill -s INT $0; kill -s TERM $0; kill -s INT $0",
        "kill -s TERM $0; kill -s INT $0",
        "kill -s TERM $0; sleep 0.001; kill -s TERM $0; sleep 0.01; kill -s INT $0",
    ];
    for (i, burst) in bursts.into_iter().enumerate() {
        let file = dir.path(&format!("twice-{i}.jsonl"));
        let mut scan = Proc::start(&scan_args(&bed.spec, &file, RATE));
        wait_for_header(&file);
        std::thread::sleep(Duration::from_millis(points.next_ms()));
        assert!(scan.still_running(), "{burst}");
        let pid = scan.id().to_string();
        let status = Command::new("sh").args(["-c", burst, &pid]).status().expect("sh runs");
        assert!(status.success(), "{burst}");
        let out = scan.wait();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{burst}: {err}");
        assert_eq!(err.matches(": stopping;").count(), 1, "{burst}: {err}");
        let left = read(Path::new(&file)).unwrap_or_else(|e| panic!("{burst}: {e}"));
        assert_eq!(left.truncated_last_line, None, "{burst}");
        assert!(left.trailer.is_some_and(|t| t.interrupted && !t.complete), "{burst}");
    }
}

#[test]
fn signals_while_the_file_is_being_finished_do_not_cut_it() {
    // Observations to a pipe nobody reads yet (`-o -`): once it and the
    // writer's buffers are full, the scan waits on it, so a signal stops
    // the scan and the process then stays in the flush until the pipe is
    // read. Signals sent in that time must be told, not obeyed.
    let dir = Scratch::new("flush");
    let spec = dir.path("spec.yaml");
    let text = "version: 1\nzones:\n  local: { cidrs: [127.0.0.0/8], probe: false }\n  lab: { cidrs: [127.78.17.0/29] }\nvantages:\n  here: { zone: local }\nsweep:\n  tcp: [\"31000-31999\"]\n";
    std::fs::write(&spec, text).expect("write the spec");
    let mut scan = Proc::start(&scan_args(&spec, "-", "2000"));
    // 8,000 probes at 2,000 a second: 4 s, if nothing waited; about 2,700
    // lines fill the pipe, the writer's buffer and both channels.
    std::thread::sleep(Duration::from_millis(2_500));
    assert!(scan.still_running(), "the scan should be waiting on its pipe");
    let pid = scan.id().to_string();
    let burst = "kill -s TERM $0; sleep 0.2; kill -s INT $0; sleep 0.2; kill -s TERM $0";
    let status = Command::new("sh").args(["-c", burst, &pid]).status().expect("sh runs");
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(200));
    assert!(scan.still_running(), "still finishing the file");
    let out = scan.wait_reading();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.matches("vantage: SIGTERM: stopping;").count(), 1, "{err}");
    assert_eq!(err.matches("already stopping").count(), 2, "{err}");
    let file = vantage::observe::parse(&out.stdout, "stdout").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(file.truncated_last_line, None);
    let t = file.trailer.expect("a trailer");
    assert!(t.interrupted && !t.complete, "{t:?}");
    assert_eq!(t.closed as usize, file.facts.len(), "every result sent was written");
}

#[test]
fn check_stops_on_sigterm_as_on_sigint() {
    let dir = Scratch::new("check");
    let bed = bed(&dir, 15);
    for signal in ["TERM", "INT"] {
        let saved = dir.path(&format!("check-{signal}.jsonl"));
        let args = [
            "check", &bed.spec, "--from", "here", "--save", &saved, "--mode", "connect", "--rate",
            RATE, "--format", "json", "--now", NOW,
        ];
        let mut check = Proc::start(&args);
        wait_for_header(&saved);
        std::thread::sleep(Duration::from_millis(800));
        assert!(check.still_running());
        check.signal(signal);
        let out = check.wait();
        assert_eq!(out.status.code(), Some(3), "SIG{signal}: {}", both(&out));
        let left = read(Path::new(&saved)).unwrap_or_else(|e| panic!("{e}"));
        assert!(left.trailer.is_some_and(|t| t.interrupted), "SIG{signal}");
        let inc = incomplete(&out);
        assert_eq!(inc.len(), 1, "SIG{signal}: {}", both(&out));
        // The report equals the verdict over the saved, interrupted file.
        assert_eq!(stdout(&verdict(&bed.spec, &saved)), stdout(&out));
    }
}

/// An unfinished file without any kill: the first `keep` lines of a
/// complete scan's file (its trailer gone), as a killed run leaves them.
fn unfinished(from: &str, to: &str, keep: usize) {
    let text = std::fs::read_to_string(from).expect("observations");
    let lines: Vec<&str> = text.lines().take(keep).collect();
    std::fs::write(to, format!("{}\n", lines.join("\n"))).expect("write");
}

#[test]
fn resume_refuses_another_scan_and_leaves_a_complete_file_alone() {
    let dir = Scratch::new("refusals");
    let bed = bed(&dir, 16);
    let spec = bed.spec.as_str();
    let expected = baseline(&bed, &dir);
    let whole = dir.path("whole.jsonl");
    let file = dir.path("unfinished.jsonl");
    // The lines up to the first listener's, as a kill leaves them (the
    // scan order is seeded, so it is the same each run): that listener is
    // concluded, the two after it are not.
    let complete = read(Path::new(&whole)).expect("valid");
    let at = |l: &Counting| {
        let target = std::net::IpAddr::V4(addr(bed.net, l.host));
        complete.facts.iter().position(|f| f.target == target && f.port == l.port)
    };
    let first = bed.listeners.iter().filter_map(at).min().expect("listeners were scanned");
    // The header, then the port lines up to and with the first listener's.
    unfinished(&whole, &file, first + 2);
    let original = std::fs::read(&file).expect("read");

    let other_spec = dir.path("other.yaml");
    let text = std::fs::read_to_string(spec).expect("spec").replace("30136", "30137");
    std::fs::write(&other_spec, text).expect("write");
    let cases: [(Vec<&str>, &str); 7] = [
        (
            vec!["scan", &other_spec, "--from", "here", "--resume", &file, "--mode", "connect"],
            "it was scanned with the spec digest sha256:",
        ),
        (
            vec!["scan", spec, "--from", "elsewhere", "--resume", &file, "--mode", "connect"],
            "it was scanned with --from here, and this run has --from elsewhere",
        ),
        (
            vec!["scan", spec, "--from", "here", "--resume", &file, "--seed", "7"],
            "it was scanned with --seed 1, and this run has --seed 7",
        ),
        (
            vec!["scan", spec, "--from", "here", "--resume", &file, "--shard", "1/2"],
            "it was scanned with --shard 0/1, and this run has --shard 1/2",
        ),
        (vec!["scan", spec, "--from", "here", "--resume", spec], "cannot resume: "),
        (vec!["scan", spec, "--from", "here", "--resume", "no/such/file.jsonl"], "no/such/file"),
        (
            vec!["scan", spec, "--from", "here", "--resume", &file, "-o", &whole],
            "cannot be used with",
        ),
    ];
    for (args, text) in cases {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", both(&out));
        assert!(both(&out).contains(text), "{args:?}: {text:?} not in {}", both(&out));
        assert_eq!(std::fs::read(&file).expect("read"), original, "{args:?}: file untouched");
    }

    // A complete file: nothing to resume, exit 0, not a byte changed.
    let complete = std::fs::read(&whole).expect("read");
    let before = bed.counts();
    let out = run(&resume_args(spec, &whole));
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(both(&out).contains(&format!("nothing to resume: {whole} is a complete scan")));
    assert_eq!(std::fs::read(&whole).expect("read"), complete);
    assert_eq!(bed.counts(), before, "nothing sent");

    // The unfinished file resumes (`--mode auto` takes the file's mode),
    // without a connection to a listener its kept half concluded.
    let left = read(Path::new(&file)).expect("valid");
    let concluded: Vec<bool> = bed.listeners.iter().map(|l| bed.concluded(&left, l)).collect();
    assert_eq!(concluded.iter().filter(|c| **c).count(), 1, "{concluded:?}");
    let before = bed.counts();
    let out = run(&["scan", spec, "--from", "here", "--resume", &file, "--rate", "400"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(both(&out).contains("connect scan, resuming"), "{}", both(&out));
    let after = bed.counts();
    for ((l, was), (b, a)) in bed.listeners.iter().zip(&concluded).zip(before.iter().zip(&after)) {
        if *was {
            assert_eq!(a, b, "port {} was concluded, yet probed again", l.port);
        } else {
            assert!(a > b, "port {} was not concluded, yet not probed", l.port);
        }
    }
    let resumed = read(Path::new(&file)).expect("valid");
    assert!(resumed.is_complete());
    each_probe_once(&resumed, "resumed");
    assert_eq!(findings(&verdict(spec, &file)), expected);
}
