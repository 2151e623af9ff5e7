//! Resource faults (issue 8, item 4): a scan under a low file-descriptor
//! limit (loopback, listeners this test opens: open ones, silent ones
//! whose accept queue is full so SYNs to them are dropped, and closed
//! ports), and in a lab, the link of a zone going down mid-scan and a
//! link losing 30 % of its frames. Each scan finishes, and every probe is
//! either its true state or said to be what it could not be (filtered
//! after every attempt, or a local error counted in the trailer, which
//! makes the run incomplete): never a wrong state, a hang or an abort.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};
use vantage::observe::{ObservationFile, PortState, Proto, Reason};

use crate::lab::{self, Lab};

/// A folder of the test's own, removed when dropped (also on failure).
struct Dir(std::path::PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("vantage-faults-{tag}-{}", std::process::id()));
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

/// A child process of the test: killed by its id and reaped when dropped,
/// so a failing test leaves no scan running.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Child {
    /// Waits for the exit at most `limit`; a scan still running then has
    /// hung, which fails the test (the drop kills it).
    fn wait_at_most(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the scan did not finish within {limit:?}: it hangs"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Every port's state, with the reason and attempts of its line, from port
/// lines and aggregated filtered lines.
fn states(file: &ObservationFile) -> BTreeMap<(IpAddr, u16), (PortState, Reason, u8)> {
    let mut out = BTreeMap::new();
    for f in file.facts.iter().filter(|f| f.proto == Proto::Tcp) {
        out.insert((f.target, f.port), (f.state, f.reason, f.attempts));
    }
    for s in file.filtered.iter().filter(|s| s.proto == Proto::Tcp) {
        for range in s.ports.split(',') {
            let (lo, hi) = range.split_once('-').unwrap_or((range, range));
            for port in lo.parse::<u16>().expect("port")..=hi.parse::<u16>().expect("port") {
                out.insert((s.target, port), (PortState::Filtered, s.reason, s.attempts));
            }
        }
    }
    out
}

/// Every planned probe is accounted for: a state, or a local error the
/// trailer counts.
fn accounted(file: &ObservationFile) {
    let t = file.trailer.as_ref().expect("a trailer: the scan ended by itself");
    assert_eq!(
        t.open + t.closed + t.filtered + t.open_filtered + t.errors,
        file.header.probes_planned,
        "every planned probe concluded or counted as a local error: {t:?}"
    );
    assert_eq!(t.complete, t.errors == 0 && !t.interrupted, "{t:?}");
}

/// The modes this process can scan in: SYN needs raw sockets (root).
fn modes() -> Vec<&'static str> {
    if vantage::probe::syn::raw_sockets_permitted().is_ok() {
        vec!["connect", "syn"]
    } else {
        vec!["connect"]
    }
}

/// The low-fd bed on 127.88.6.1: 1,000 ports, 20 open, 400 silent (a
/// listener with a full accept queue drops SYNs), the rest closed.
struct Bed {
    _sockets: Vec<Socket>,
    truth: BTreeMap<u16, PortState>,
}

const FD_ADDR: &str = "127.88.6.1";
const FD_PORTS: std::ops::Range<u16> = 20_000..21_000;

fn bed() -> Bed {
    // The bed holds 820 sockets: this process's soft limit goes up to its
    // hard one, as the scanner does for itself.
    vantage::engine::limits::probe_sockets();
    let addr = |port| SocketAddr::new(FD_ADDR.parse().expect("address"), port);
    let listener = |port, backlog| {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        s.set_reuse_address(true).expect("reuse");
        s.bind(&addr(port).into()).expect("bind");
        s.listen(backlog).expect("listen");
        s
    };
    let mut sockets = Vec::new();
    let mut truth = BTreeMap::new();
    for port in FD_PORTS {
        let state = match port % 50 {
            0 => {
                sockets.push(listener(port, 128));
                PortState::Open
            }
            1..=20 => {
                // Backlog 0 holds one connection; this one fills it, and
                // the kernel drops every SYN after it: a silent port.
                sockets.push(listener(port, 0));
                let filler = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
                filler.connect(&addr(port).into()).expect("the filler connects");
                sockets.push(filler);
                PortState::Filtered
            }
            _ => PortState::Closed,
        };
        truth.insert(port, state);
    }
    Bed { _sockets: sockets, truth }
}

#[test]
fn a_low_fd_limit_slows_the_scan_but_changes_no_result() {
    let bed = bed();
    let dir = Dir::new("fd");
    let spec = dir.path("fd.yaml");
    std::fs::write(
        &spec,
        format!(
            "version: 1\nzones:\n  local: {{ cidrs: [127.0.0.0/8], probe: false }}\n  lab: {{ cidrs: [{FD_ADDR}/32] }}\nvantages:\n  here: {{ zone: local }}\nsweep:\n  tcp: ['{}-{}']\n",
            FD_PORTS.start,
            FD_PORTS.end - 1
        ),
    )
    .expect("spec");
    let truth: BTreeMap<u16, PortState> = bed.truth.clone();
    let bin = std::fs::canonicalize(env!("CARGO_BIN_EXE_vantage")).expect("the binary");
    for mode in modes() {
        let mut seen = Vec::new();
        for limited in [true, false] {
            let out = dir.path(&format!("{mode}-{limited}.jsonl"));
            // Silent ports hold their socket for a whole timeout (at least
            // 200 ms), at 10,000 probes a second: far more than 256
            // descriptors' worth would be in flight without the budget.
            let scan = format!(
                "{} scan {spec} --from here -o {out} --mode {mode} --quiet --min-rtt 200 --max-rtt 400 --retries 1",
                env!("CARGO_BIN_EXE_vantage")
            );
            let line = if limited {
                format!("ulimit -n 256; exec {scan}")
            } else {
                format!("exec {scan}")
            };
            let mut child = Child(
                Command::new("sh")
                    .args(["-c", &line])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("the scan starts"),
            );
            // `exec` keeps the shell's id: sample the scanner's descriptors.
            let proc = Path::new("/proc").join(child.0.id().to_string());
            let fds = proc.join("fd");
            let mut most = 0;
            let deadline = Instant::now() + Duration::from_secs(120);
            while child.0.try_wait().expect("wait").is_none() {
                assert!(Instant::now() < deadline, "{mode}: the scan hangs");
                // Counted only once the shell has exec'd the scanner, seen
                // before counting: until its exec, the forked child holds
                // every descriptor of this test process.
                let exe = std::fs::read_link(proc.join("exe")).ok();
                if exe.as_deref() == Some(bin.as_path()) {
                    most = most.max(std::fs::read_dir(&fds).map_or(0, Iterator::count));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let status = child.0.wait().expect("reaped");
            let mut stderr = String::new();
            if let Some(mut pipe) = child.0.stderr.take() {
                use std::io::Read as _;
                let _ = pipe.read_to_string(&mut stderr);
            }
            assert_eq!(status.code(), Some(0), "{mode} limited={limited}: {stderr}");
            assert!(
                !stderr.contains("Too many open files") && !stderr.contains("EMFILE"),
                "{stderr}"
            );
            let file = vantage::observe::read(Path::new(&out)).expect("observations");
            accounted(&file);
            assert!(file.is_complete(), "{mode} limited={limited}: {:?}", file.trailer);
            if limited {
                assert!(most <= 256, "{mode}: {most} descriptors open under a limit of 256");
                // The budget was used, not merely respected: the window
                // grew to the sockets the limit leaves (256 - 64 reserved).
                if mode == "connect" {
                    assert!(
                        most >= 150,
                        "{mode}: at most {most} descriptors: the window never filled"
                    );
                }
            }
            let got: BTreeMap<u16, PortState> =
                states(&file).into_iter().map(|((_, port), (state, ..))| (port, state)).collect();
            assert_eq!(got, truth, "{mode} limited={limited}: every port as the bed is");
            seen.push(got);
        }
        assert_eq!(seen[0], seen[1], "{mode}: the limit changed no result");
    }
}

/// The lab of the link tests: the scanner in `out`, listeners in `dmz`.
fn lab(tag: &str, loss: Option<f64>) -> Option<Lab> {
    let mut b = Lab::builder(tag).zone("out", "198.18.1.0/24").zone("dmz", "198.18.2.0/24");
    if let Some(loss) = loss {
        b = b.link_loss("dmz", loss).link_seed("dmz", 11);
    }
    let mut lab = lab::or_skip(b.build())?;
    for port in LISTENERS {
        lab.listen_tcp("dmz", port).expect("a TCP listener");
    }
    Some(lab)
}

/// Ports listened on in the DMZ.
const LISTENERS: [u16; 4] = [8010, 8100, 8200, 8390];

fn lab_spec(dir: &Dir, sweep: &str) -> String {
    let spec = dir.path("lab.yaml");
    std::fs::write(
        &spec,
        format!(
            "version: 1\nzones:\n  internet: {{ cidrs: [0.0.0.0/0], probe: false }}\n  dmz: {{ cidrs: [198.18.2.10/32] }}\nvantages:\n  outside: {{ zone: internet }}\nsweep:\n  tcp: ['{sweep}']\n"
        ),
    )
    .expect("spec");
    spec
}

/// Starts `vantage scan` in the zone's namespace (`ip netns exec` execs
/// it in place: the child's id is the scanner's).
fn spawn_scan(lab: &Lab, zone: &str, spec: &str, out: &str, extra: &[&str]) -> Child {
    Child(
        Command::new("ip")
            .args(["netns", "exec", lab.namespace(zone), env!("CARGO_BIN_EXE_vantage"), "scan"])
            .args([spec, "--from", "outside", "-o", out, "--quiet"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the scan starts"),
    )
}

/// Waits until the scan has written `n` lines (header included).
fn wait_for_lines(out: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(out).map_or(0, |s| s.lines().count()) < n {
        assert!(Instant::now() < deadline, "the scan wrote fewer than {n} lines in 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_link_going_down_mid_scan_ends_in_filtered_ports_or_counted_local_errors() {
    // Two faults, each in both modes, each in a lab of its own: the
    // target zone's link goes down (its veth, inside its namespace), and
    // the scanner's own link goes down. 300 ports at 50 a second: 6 s,
    // and twice that when the silent ones are tried again.
    let dir = Dir::new("linkdown");
    let spec = lab_spec(&dir, "8000-8299");
    for (fault, zone) in [("target", "dmz"), ("scanner", "out")] {
        for mode in modes() {
            let Some(lab) = lab(&format!("down{}", &mode[..1]), None) else { return };
            let out = dir.path(&format!("{fault}-{mode}.jsonl"));
            let extra = ["--mode", mode, "--rate", "50", "--max-rtt", "500", "--retries", "1"];
            let mut scan = spawn_scan(&lab, "out", &spec, &out, &extra);
            // Some ports concluded, then the link goes down.
            wait_for_lines(&out, 30);
            let down = lab.exec(zone, &["ip", "link", "set", "eth0", "down"]).expect("ip runs");
            assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
            let status = scan.wait_at_most(Duration::from_secs(120));
            let file = vantage::observe::read(Path::new(&out)).expect("a valid observation file");
            accounted(&file);
            let t = file.trailer.as_ref().expect("trailer");
            // Exit 3 exactly when something could not be probed here.
            let want = if t.complete { 0 } else { 3 };
            assert_eq!(status.code(), Some(want), "{fault} {mode}: {t:?}");
            let mut right = 0;
            let mut filtered = 0;
            for ((_, port), (state, reason, _)) in states(&file) {
                let truth =
                    if LISTENERS.contains(&port) { PortState::Open } else { PortState::Closed };
                if state == truth {
                    right += 1;
                } else {
                    // Never a wrong answer: what could not be reached is
                    // filtered, silent after every attempt or refused on
                    // the way.
                    assert_eq!(
                        state,
                        PortState::Filtered,
                        "{fault} {mode}: port {port} {reason:?}"
                    );
                    assert!(
                        matches!(
                            reason,
                            Reason::NoResponse
                                | Reason::HostUnreachable
                                | Reason::IcmpUnreachable { .. }
                        ),
                        "{fault} {mode}: port {port} filtered for {reason:?}"
                    );
                    filtered += 1;
                }
            }
            assert!(right >= 20, "{fault} {mode}: ports before the fault were judged: {right}");
            match fault {
                // The target vanished: silence (or unreachable), from
                // outside a fault no local error can see.
                "target" => {
                    assert!(filtered > 100, "{fault} {mode}: {filtered} filtered, {t:?}");
                    assert_eq!(t.errors, 0, "{fault} {mode}: {t:?}");
                }
                // Our own link: the routes went with it, so probes fail
                // here (no route), each counted, and the run is
                // incomplete, which the verdict says.
                _ => {
                    assert!(t.errors > 100, "{fault} {mode}: {t:?}");
                    let judged = Command::new(env!("CARGO_BIN_EXE_vantage"))
                        .args(["verdict", &spec, &out, "--format", "json"])
                        .output()
                        .expect("verdict runs");
                    assert_eq!(judged.status.code(), Some(3), "{fault} {mode}");
                    let doc: serde_json::Value =
                        serde_json::from_slice(&judged.stdout).expect("JSON");
                    let incomplete = doc["findings"]
                        .as_array()
                        .expect("findings")
                        .iter()
                        .find(|f| f["rule"] == "scan-incomplete")
                        .expect("a scan-incomplete finding");
                    let evidence = incomplete["evidence"].as_str().unwrap_or("");
                    assert!(
                        evidence.contains(&format!("had {} local errors", t.errors)),
                        "{evidence}"
                    );
                }
            }
            drop(scan);
            drop(lab);
        }
    }
}

#[test]
fn thirty_percent_loss_still_finds_every_open_port_or_says_which_it_could_not() {
    let Some(mut lab) = lab("loss30", Some(0.3)) else { return };
    let dir = Dir::new("loss");
    let spec = lab_spec(&dir, "8000-8399");
    for mode in modes() {
        let before = lab.relay_stats("dmz").expect("relay counters");
        let out = dir.path(&format!("loss-{mode}.jsonl"));
        let extra = ["--mode", mode, "--retries", "10", "--max-rtt", "1000", "--rate", "400"];
        let mut scan = spawn_scan(&lab, "out", &spec, &out, &extra);
        let status = scan.wait_at_most(Duration::from_secs(300));
        let file = vantage::observe::read(Path::new(&out)).expect("a valid observation file");
        accounted(&file);
        assert_eq!(status.code(), Some(0), "{mode}: {:?}", file.trailer);
        let after = lab.relay_stats("dmz").expect("relay counters");
        let lost = after.toward_zone.since(&before.toward_zone).loss_ratio();
        assert!(
            (0.2..=0.4).contains(&lost),
            "{mode}: the link lost {lost:.2} of frames, want ~0.3"
        );
        let mut unconcluded = Vec::new();
        for ((_, port), (state, reason, attempts)) in states(&file) {
            let truth = if LISTENERS.contains(&port) { PortState::Open } else { PortState::Closed };
            if state != truth {
                // The only other answer allowed: silence after every
                // attempt, which the file reports port by port.
                assert_eq!(
                    (state, reason),
                    (PortState::Filtered, Reason::NoResponse),
                    "{mode}: port {port} reported {state:?} ({reason:?}), truly {truth:?}"
                );
                assert!(attempts >= 11, "{mode}: port {port} gave up after {attempts} attempts");
                unconcluded.push(port);
            }
        }
        let open: Vec<u16> = states(&file)
            .into_iter()
            .filter(|(_, (s, ..))| *s == PortState::Open)
            .map(|((_, p), _)| p)
            .collect();
        assert_eq!(
            open, LISTENERS,
            "{mode}: every open port found open (unconcluded: {unconcluded:?})"
        );
        assert!(
            unconcluded.len() <= 4,
            "{mode}: {} of 400 ports unconcluded: {unconcluded:?}",
            unconcluded.len()
        );
        drop(scan);
    }
}
