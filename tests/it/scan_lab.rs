//! `vantage scan` against a real network: a lab whose router accepts,
//! drops, resets and rejects with ICMP, with real listeners behind it. The
//! observations must match the lab's ground truth exactly, with and without
//! delay and loss on the path, and an interrupted scan must leave a valid
//! file whose trailer says so.

#![allow(clippy::print_stderr, reason = "a test without its peer tool says it skipped")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vantage::observe::{ObservationFile, PortState, Proto, Reason, ScanMode};

use crate::lab::{self, Lab};

const RULES: &str = "table inet lab {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip daddr 198.18.2.10 tcp dport 8082 drop
        ip daddr 198.18.2.10 tcp dport 8083 reject with tcp reset
        ip daddr 198.18.2.10 tcp dport 8084 reject with icmp type admin-prohibited
        ip daddr 198.18.2.10 tcp dport 8085 reject with icmp type port-unreachable
        ip daddr 198.18.2.10 udp dport 9997 drop
    }
}";

const SPEC: &str = "version: 1
zones:
  internet: { cidrs: [0.0.0.0/0], probe: false }
  dmz: { cidrs: [198.18.2.10/32] }
hosts:
  web: { address: 198.18.2.10 }
services:
  web: { tcp: [8080, 8081] }
  echo: { udp: [9999] }
flows:
  - { from: internet, to: web, allow: [web, echo] }
vantages:
  outside: { zone: internet }
sweep:
  tcp: ['8075-8090']
  udp: [9997, 9998, 9999]
";

/// The TCP scan modes, as `--mode` names them.
const MODES: [&str; 2] = ["syn", "connect"];

/// What the lab is, port by port, as a scan in `mode` must report it,
/// which is what nmap reports in that mode: a TCP port answered with ICMP
/// port unreachable is `filtered` to a SYN scan (`-sS`, which reads the
/// ICMP message) and `closed` to a connect scan (`-sT`: the kernel turns
/// that ICMP message into ECONNREFUSED, exactly as for a RST).
fn ground_truth(mode: &str) -> BTreeMap<(Proto, u16), PortState> {
    let mut truth = BTreeMap::new();
    for port in 8075..=8090 {
        truth.insert((Proto::Tcp, port), PortState::Closed);
    }
    truth.insert((Proto::Tcp, 8080), PortState::Open);
    truth.insert((Proto::Tcp, 8081), PortState::Open);
    truth.insert((Proto::Tcp, 8082), PortState::Filtered);
    truth.insert((Proto::Tcp, 8084), PortState::Filtered);
    let port_unreachable = if mode == "syn" { PortState::Filtered } else { PortState::Closed };
    truth.insert((Proto::Tcp, 8085), port_unreachable);
    truth.insert((Proto::Udp, 9997), PortState::OpenFiltered);
    truth.insert((Proto::Udp, 9998), PortState::Closed);
    truth.insert((Proto::Udp, 9999), PortState::Open);
    truth
}

fn lab(tag: &str, delay: Option<(Duration, f64)>) -> Option<Lab> {
    let mut b = Lab::builder(tag)
        .zone("out", "198.18.1.0/24")
        .zone("dmz", "198.18.2.0/24")
        .router_rules(RULES);
    if let Some((d, loss)) = delay {
        b = b.link_delay("out", d).link_loss("out", loss).link_seed("out", 11);
    }
    let mut lab = lab::or_skip(b.build())?;
    // Linux rate-limits the ICMP errors a router sends (a burst of 6, then
    // one a second per destination), so a REJECT-with-ICMP port answers
    // only now and then and otherwise looks silent: still `filtered`, but
    // with the reason `no-response`. The ground truth here includes the
    // reasons, so this router answers every time.
    let sysctl = lab
        .exec(Lab::ROUTER, &["sysctl", "-qw", "net.ipv4.icmp_ratelimit=0"])
        .expect("sysctl runs");
    assert!(sysctl.status.success(), "{}", String::from_utf8_lossy(&sysctl.stderr));
    for port in [8080, 8081, 8082, 8083] {
        lab.listen_tcp("dmz", port).expect("TCP listener");
    }
    lab.listen_udp("dmz", 9999).expect("UDP listener");
    Some(lab)
}

fn workdir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vantage-scan-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("lab.yaml"), SPEC).expect("write spec");
    dir
}

fn scan_args<'a>(dir: &'a Path, out: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut args = vec![
        env!("CARGO_BIN_EXE_vantage").to_owned(),
        "scan".to_owned(),
        dir.join("lab.yaml").display().to_string(),
        "--from".to_owned(),
        "outside".to_owned(),
        "-o".to_owned(),
        out.to_owned(),
        "--max-rtt".to_owned(),
        "600".to_owned(),
        "--quiet".to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// Every port's state, from port lines and aggregated filtered lines.
fn states(file: &ObservationFile) -> BTreeMap<(Proto, u16), PortState> {
    let mut out = BTreeMap::new();
    for f in &file.facts {
        out.insert((f.proto, f.port), f.state);
    }
    for s in &file.filtered {
        let state = match s.proto {
            Proto::Tcp => PortState::Filtered,
            Proto::Udp => PortState::OpenFiltered,
        };
        for range in s.ports.split(',') {
            let (lo, hi) = range.split_once('-').unwrap_or((range, range));
            for port in lo.parse::<u16>().expect("port")..=hi.parse::<u16>().expect("port") {
                out.insert((s.proto, port), state);
            }
        }
    }
    out
}

fn scan_once(lab: &Lab, dir: &Path, name: &str, extra: &[&str]) -> ObservationFile {
    let out = dir.join(name).display().to_string();
    let args = scan_args(dir, &out, extra);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = lab.exec("out", &argv).expect("the scan runs in the lab");
    assert_eq!(run.status.code(), Some(0), "scan failed: {}", String::from_utf8_lossy(&run.stderr));
    vantage::observe::read(Path::new(&out)).expect("a valid observation file")
}

#[test]
fn scan_matches_ground_truth_three_times_in_each_mode() {
    let Some(lab) = lab("scan", None) else { return };
    let dir = workdir("truth");
    for (mode, run) in MODES.into_iter().flat_map(|m| (0..3).map(move |r| (m, r))) {
        let seed = run.to_string();
        let name = format!("obs-{mode}-{run}.jsonl");
        let file = scan_once(&lab, &dir, &name, &["--seed", &seed, "--mode", mode]);
        assert_eq!(states(&file), ground_truth(mode), "{mode} run {run}");
        let wire_mode = if mode == "syn" { ScanMode::Syn } else { ScanMode::Connect };
        assert_eq!(file.header.mode, wire_mode, "the file says how it scanned");
        let trailer = file.trailer.as_ref().expect("a trailer");
        assert!(trailer.complete && !trailer.interrupted, "{trailer:?}");
        assert_eq!(file.header.vantage, "outside");
        // Ports a flow names get their own line even when silent; sweep
        // silence is aggregated.
        assert!(file.facts.iter().any(|f| f.port == 8080 && f.state == PortState::Open));
        assert!(
            file.filtered.iter().any(|s| s.proto == Proto::Tcp && s.ports == "8082"),
            "{:?}",
            file.filtered
        );
        let icmp = file.facts.iter().find(|f| f.port == 8084).expect("8084 has its own line");
        assert_eq!(icmp.state, PortState::Filtered);
        // The reason, as nmap --reason gives it: SYN mode reads the ICMP
        // type and code off the wire; connect mode only has the errno.
        let (open, closed) = if mode == "syn" {
            (Reason::SynAck, Reason::Rst)
        } else {
            (Reason::Connected, Reason::ConnRefused)
        };
        let reason = |port| file.facts.iter().find(|f| f.port == port).map(|f| f.reason);
        assert_eq!(reason(8080), Some(open));
        assert_eq!(reason(8083), Some(closed));
        let prohibited = if mode == "syn" {
            Reason::IcmpUnreachable { icmp_type: 3, code: 13 }
        } else {
            Reason::HostUnreachable
        };
        assert_eq!(reason(8084), Some(prohibited));
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn scan_matches_ground_truth_under_delay_and_loss_in_each_mode() {
    let Some(lab) = lab("scanloss", Some((Duration::from_millis(10), 0.05))) else { return };
    let dir = workdir("loss");
    for (mode, run) in MODES.into_iter().flat_map(|m| (0..3).map(move |r| (m, r))) {
        let name = format!("obs-{mode}-{run}.jsonl");
        let file = scan_once(&lab, &dir, &name, &["--retries", "4", "--mode", mode]);
        assert_eq!(states(&file), ground_truth(mode), "{mode} run {run}");
        assert!(file.trailer.as_ref().is_some_and(|t| t.complete));
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn a_probe_our_own_firewall_refuses_is_a_local_error_not_a_filtered_port() {
    // A SYN this host's own firewall refuses never left, so nothing is
    // known about the port: it gets no state, the trailer counts an error
    // and says incomplete, and the scan exits 3. The refusal (EPERM) comes
    // back from the sending thread, after the attempt was queued. SYN mode
    // only: a connect() whose SYN the output hook drops gets no error (the
    // kernel keeps retransmitting in SYN_SENT), so connect mode, like
    // nmap -sT, cannot tell it from a remote drop.
    let Some(lab) = lab("scanlocal", None) else { return };
    let rules = "table inet local {
    chain output {
        type filter hook output priority 0; policy accept;
        ip daddr 198.18.2.10 tcp dport 8086 drop
    }
}";
    let nft = lab.exec("out", &["nft", rules]).expect("nft runs");
    assert!(nft.status.success(), "{}", String::from_utf8_lossy(&nft.stderr));
    let dir = workdir("local");
    let mode = "syn";
    let out = dir.join(format!("obs-{mode}.jsonl")).display().to_string();
    let args = scan_args(&dir, &out, &["--mode", mode]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = lab.exec("out", &argv).expect("the scan runs in the lab");
    assert_eq!(run.status.code(), Some(3), "{mode}: {}", String::from_utf8_lossy(&run.stderr));
    let file = vantage::observe::read(Path::new(&out)).expect("a valid observation file");
    let trailer = file.trailer.as_ref().expect("a trailer");
    assert!(!trailer.complete && !trailer.interrupted, "{mode}: {trailer:?}");
    assert_eq!(trailer.errors, 1, "{mode}: {trailer:?}");
    let mut want = ground_truth(mode);
    want.remove(&(Proto::Tcp, 8086));
    assert_eq!(states(&file), want, "{mode}: the refused port has no state, the rest are right");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn an_interrupted_scan_leaves_a_valid_file_saying_incomplete() {
    let Some(lab) = lab("scanint", None) else { return };
    let dir = workdir("int");
    let out = dir.join("obs.jsonl").display().to_string();
    // A slow scan (one probe a second) that cannot finish before we interrupt it.
    let mut args = vec!["netns".to_owned(), "exec".to_owned(), lab.namespace("out").to_owned()];
    args.extend(scan_args(&dir, &out, &["--rate", "1"]));
    let mut child = Command::new("ip").args(&args).spawn().expect("spawn the scan");
    // Wait for the header line, then interrupt by PID (`ip netns exec`
    // execs the scanner in place, so the child's PID is the scanner's).
    let mut waited = 0;
    while std::fs::read_to_string(&out).map_or(true, |s| !s.contains("\"header\"")) && waited < 100
    {
        std::thread::sleep(Duration::from_millis(50));
        waited += 1;
    }
    std::thread::sleep(Duration::from_millis(1500));
    let status =
        Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("the scan exits");
    assert_eq!(exit.code(), Some(3), "an interrupted run exits 3");
    let file = vantage::observe::read(Path::new(&out)).expect("a valid observation file");
    let trailer = file.trailer.expect("a trailer even when interrupted");
    assert!(trailer.interrupted && !trailer.complete, "{trailer:?}");
    assert!(file.truncated_last_line.is_none());
    drop(lab);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// nmap's view of the lab, from its XML: (proto, port) -> state.
fn nmap_states(xml: &str) -> BTreeMap<(Proto, u16), PortState> {
    let mut out = BTreeMap::new();
    for chunk in xml.split("<port ").skip(1) {
        let attr = |name: &str| {
            let start = chunk.find(&format!("{name}=\""))? + name.len() + 2;
            chunk.get(start..).and_then(|s| s.split('"').next())
        };
        let proto = match attr("protocol") {
            Some("tcp") => Proto::Tcp,
            Some("udp") => Proto::Udp,
            _ => continue,
        };
        let Some(port) = attr("portid").and_then(|p| p.parse().ok()) else { continue };
        let state = match chunk.split("<state state=\"").nth(1).and_then(|s| s.split('"').next()) {
            Some("open") => PortState::Open,
            Some("closed") => PortState::Closed,
            Some("filtered") => PortState::Filtered,
            Some("open|filtered") => PortState::OpenFiltered,
            other => panic!("unexpected nmap state {other:?}"),
        };
        out.insert((proto, port), state);
    }
    out
}

#[test]
fn scan_agrees_with_nmap_on_the_same_lab_in_each_mode() {
    if Command::new("nmap").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("VANTAGE_REQUIRE_LAB").is_none(),
            "CI installs nmap; it is missing"
        );
        eprintln!("SKIPPED: nmap is not installed");
        return;
    }
    let Some(lab) = lab("scannmap", None) else { return };
    let dir = workdir("nmap");
    for (mode, flag) in [("syn", "-sS"), ("connect", "-sT")] {
        let ours = states(&scan_once(&lab, &dir, &format!("obs-{mode}.jsonl"), &["--mode", mode]));
        let theirs = nmap_view(&lab, flag);
        // nmap folds the many closed ports into <extraports>; compare the
        // ports it lists one by one, and treat the rest as the closed ones
        // it counted.
        for (key, state) in &ours {
            let nmap_state = theirs.get(key).copied().unwrap_or(PortState::Closed);
            assert_eq!(
                *state, nmap_state,
                "{key:?}: vantage --mode {mode} says {state:?}, nmap {flag} {nmap_state:?}"
            );
        }
        assert_eq!(ours, ground_truth(mode));
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// nmap's view of the lab's DMZ host, TCP in the given mode and UDP.
fn nmap_view(lab: &Lab, tcp_flag: &str) -> BTreeMap<(Proto, u16), PortState> {
    // -sS/-sT with -sU; -Pn -n: no discovery, no DNS; --reason is implied
    // by XML. The target is the lab host only.
    let nmap = lab
        .exec(
            "out",
            &[
                "nmap",
                tcp_flag,
                "-sU",
                "-Pn",
                "-n",
                "-T4",
                "--max-retries",
                "3",
                "-p",
                "T:8075-8090,U:9997-9999",
                "-oX",
                "-",
                "198.18.2.10",
            ],
        )
        .expect("nmap runs in the lab");
    assert!(nmap.status.success(), "{}", String::from_utf8_lossy(&nmap.stderr));
    let xml = String::from_utf8_lossy(&nmap.stdout);
    for extra in xml.split("<extraports state=\"").skip(1) {
        assert!(extra.starts_with("closed\""), "nmap folded non-closed ports: {extra:.80}");
    }
    nmap_states(&xml)
}

/// SYNs the router forwarded to the DMZ host so far (a named nftables counter).
fn syns(lab: &Lab) -> u64 {
    let out = lab
        .exec(Lab::ROUTER, &["nft", "list", "counter", "inet", "rate", "syns"])
        .expect("nft runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("packets ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The `--rate` of the rate-cap test.
const RATE: u64 = 40;

#[test]
fn the_rate_cap_is_honoured_at_the_router_in_each_mode() {
    let rules = "table inet rate {
        counter syns {}
        chain forward {
            type filter hook forward priority 0; policy accept;
            ip daddr 198.18.2.10 tcp flags & (syn | ack) == syn counter name syns
        }
    }";
    let Some(lab) = lab::or_skip(
        Lab::builder("rate")
            .zone("out", "198.18.1.0/24")
            .zone("dmz", "198.18.2.0/24")
            .router_rules(rules)
            .build(),
    ) else {
        return;
    };
    let dir = workdir("rate");
    std::fs::write(
        dir.join("lab.yaml"),
        "version: 1\nzones:\n  internet: { cidrs: [0.0.0.0/0], probe: false }\n  dmz: { cidrs: [198.18.2.10/32] }\nvantages:\n  outside: { zone: internet }\nsweep:\n  tcp: ['9000-9119']\n",
    )
    .expect("spec");
    for (i, mode) in MODES.into_iter().enumerate() {
        let out = dir.join(format!("obs-{mode}.jsonl")).display().to_string();
        let mut args = vec!["netns".to_owned(), "exec".to_owned(), lab.namespace("out").to_owned()];
        let rate = RATE.to_string();
        args.extend(scan_args(&dir, &out, &["--rate", &rate, "--retries", "0", "--mode", mode]));
        let mut child = Command::new("ip").args(&args).spawn().expect("spawn the scan");
        // Sample the router's counter every 100 ms while the scan runs,
        // noting when each read began and ended.
        let read = || {
            let start = Instant::now();
            let n = syns(&lab);
            Sample { start, end: Instant::now(), syns: n }
        };
        let mut samples = vec![read()];
        while child.try_wait().expect("wait").is_none() {
            std::thread::sleep(Duration::from_millis(100));
            samples.push(read());
        }
        samples.push(read());
        let before = 120 * i as u64;
        assert_eq!(
            samples.last().map(|s| s.syns),
            Some(before + 120),
            "{mode}: one SYN per closed port, no retries: {samples:?}"
        );
        assert_within_rate(&samples, mode);
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// One read of the router's SYN counter: when the read began and ended.
#[derive(Debug, Clone, Copy)]
struct Sample {
    start: Instant,
    end: Instant,
    syns: u64,
}

/// No one second saw more SYNs than the cap allows: for every two reads
/// at most a second apart, counting from the first read's start to the
/// second's end (the SYNs between them crossed the router within that
/// span, however slowly the reads themselves ran on a loaded machine),
/// the count is within the cap, plus the one cell more than a second's
/// worth that the bucket holds (two cells at this rate, `engine::pace`)
/// and a tenth's slack. Only an upper bound is asserted: a slow machine can only
/// send less. (Found flaky when reads slowed under the full suite's load
/// and ten of them spanned more than a second.)
fn assert_within_rate(samples: &[Sample], mode: &str) {
    let mut worst = 0;
    for (i, a) in samples.iter().enumerate() {
        for b in samples.iter().skip(i + 1) {
            if b.end.duration_since(a.start) > Duration::from_secs(1) {
                break;
            }
            worst = worst.max(b.syns - a.syns);
        }
    }
    let counts: Vec<u64> = samples.iter().map(|s| s.syns).collect();
    assert!(
        worst <= RATE + 1 + RATE / 10,
        "{mode}: {worst} SYNs within one second at --rate {RATE}: {counts:?}"
    );
}

#[test]
fn ipv6_loopback_matches_ground_truth_in_each_mode() {
    // IPv6 takes its own paths: raw IPv6 sockets hand over the segment
    // without its header (the source comes from recvfrom), and the TCP
    // checksum covers an IPv6 pseudo-header.
    let Some(mut lab) = lab::or_skip(Lab::builder("scan6").zone("out", "198.18.1.0/24").build())
    else {
        return;
    };
    // The lab turns IPv6 off in its namespaces (no router solicitations or
    // other chatter); this test turns it back on for `lo` alone, in its own
    // namespace, so nothing leaves it.
    let on = lab
        .exec("out", &["sysctl", "-qw", "net.ipv6.conf.lo.disable_ipv6=0"])
        .expect("sysctl runs");
    assert!(on.status.success(), "{}", String::from_utf8_lossy(&on.stderr));
    let listener = "import socket, time
s = socket.socket(socket.AF_INET6)
s.bind(('::1', 1234))
s.listen(16)
time.sleep(120)";
    lab.spawn("out", &["python3", "-c", listener]).expect("the listener starts");
    let probe = "import socket, sys
s = socket.socket(socket.AF_INET6)
s.settimeout(1)
sys.exit(s.connect_ex(('::1', 1234)))";
    let mut ready = false;
    for _ in 0..50 {
        if lab.exec("out", &["python3", "-c", probe]).is_ok_and(|o| o.status.success()) {
            ready = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ready, "the IPv6 listener never came up");
    let dir = workdir("v6");
    std::fs::write(
        dir.join("lab.yaml"),
        "version: 1\nzones:\n  local: { cidrs: ['::/0'], probe: false }\n  me: { cidrs: ['::1/128'] }\nvantages:\n  outside: { zone: local }\nsweep:\n  tcp: ['1200-1300']\n",
    )
    .expect("spec");
    for (mode, open, closed) in
        [("syn", Reason::SynAck, Reason::Rst), ("connect", Reason::Connected, Reason::ConnRefused)]
    {
        let file = scan_once(&lab, &dir, &format!("obs-{mode}.jsonl"), &["--mode", mode]);
        assert_eq!(file.facts.len(), 101, "{mode}: every port has a line");
        for f in &file.facts {
            let (state, reason) =
                if f.port == 1234 { (PortState::Open, open) } else { (PortState::Closed, closed) };
            assert_eq!((f.state, f.reason), (state, reason), "{mode}: port {}", f.port);
            assert_eq!(f.target.to_string(), "::1");
        }
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn the_broadcast_address_of_our_own_subnet_is_no_host_not_a_local_error() {
    // Scanning from inside a subnet, its broadcast address (here
    // 198.18.2.255, in the spec's zone 198.18.2.240/28) is refused by the
    // kernel (EACCES on the SYN scanner's route lookup and on a UDP connect,
    // ENETUNREACH on a TCP connect). It is no host,
    // so it is `filtered` (host-unreachable), and the scan is complete; the
    // other 15 addresses are silent neighbours.
    let Some(lab) = lab("scanbcast", None) else { return };
    let dir = workdir("bcast");
    let spec = "version: 1
zones:
  internet: { cidrs: [0.0.0.0/0], probe: false }
  edge: { cidrs: [198.18.2.240/28] }
vantages:
  inside: { zone: internet }
sweep:
  tcp: [8080]
  udp: [9999]
";
    std::fs::write(dir.join("bcast.yaml"), spec).expect("spec");
    for mode in MODES {
        let out = dir.join(format!("bcast-{mode}.jsonl")).display().to_string();
        let spec = dir.join("bcast.yaml").display().to_string();
        let argv = [
            env!("CARGO_BIN_EXE_vantage"),
            "scan",
            &spec,
            "--from",
            "inside",
            "-o",
            &out,
            "--mode",
            mode,
            "--max-rtt",
            "600",
            "--quiet",
        ];
        let run = lab.exec("dmz", &argv).expect("the scan runs in the lab");
        assert_eq!(run.status.code(), Some(0), "{mode}: {}", String::from_utf8_lossy(&run.stderr));
        let file = vantage::observe::read(Path::new(&out)).expect("a valid observation file");
        let trailer = file.trailer.as_ref().expect("a trailer");
        assert!(trailer.complete && trailer.errors == 0, "{mode}: {trailer:?}");
        let bcast: Vec<_> =
            file.facts.iter().filter(|f| f.target.to_string() == "198.18.2.255").collect();
        assert_eq!(
            bcast.len(),
            2,
            "{mode}: TCP and UDP lines for the broadcast address: {:?}",
            file.facts
        );
        for f in bcast {
            assert_eq!(f.state, PortState::Filtered, "{mode}: {f:?}");
            assert_eq!(f.reason, vantage::observe::Reason::HostUnreachable, "{mode}: {f:?}");
        }
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}
