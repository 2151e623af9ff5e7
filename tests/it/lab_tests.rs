//! Tests that prove the network lab (`tests/lab/`) does what the scan tests
//! and benches will rely on: zones reach each other through the router, the
//! router's nftables rules decide what is silent and what is refused, the
//! relay adds the delay and loss it was asked for, and teardown leaves
//! nothing behind, even when the test panics.
//!
//! Each test needs root and skips (saying so on stderr) without it. Each
//! asserts a contrast, so it fails if the lab feature it covers does nothing:
//! an open port next to a dropped one, a relayed path next to a direct one.

#![allow(clippy::print_stderr, reason = "tests report what they measured")]

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::lab::{self, Lab, LabError, TcpOutcome};

/// Forward everything except two ports of the DMZ host: one silently
/// dropped, one refused with a RST from the router.
const RULES: &str = "table inet lab {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip daddr 198.18.2.10 tcp dport 8081 drop
        ip daddr 198.18.2.10 tcp dport 8082 reject with tcp reset
    }
}";

/// Build the two-zone lab the router-rule tests share, with TCP listeners on
/// 8080 to 8082 in the DMZ, so a port is unreachable only if a rule says so.
fn ruled_lab(tag: &str) -> Option<Lab> {
    let mut lab = lab::or_skip(
        Lab::builder(tag)
            .zone("out", "198.18.1.0/24")
            .zone("dmz", "198.18.2.0/24")
            .router_rules(RULES)
            .build(),
    )?;
    for port in 8080..=8082 {
        lab.listen_tcp("dmz", port).expect("a TCP listener starts in the DMZ");
    }
    Some(lab)
}

fn connect(lab: &Lab, from: &str, to: IpAddr, port: u16, timeout: Duration) -> TcpOutcome {
    lab.tcp_connect(from, to, port, timeout).expect("the connect probe runs")
}

#[test]
fn lab_spec_outside_benchmark_range_is_refused() {
    // No root needed: the declaration is checked before anything is made.
    // 192.0.2.0/24 is TEST-NET-1 (documentation): outside the lab range, and
    // nothing is ever sent to it.
    let err = Lab::builder("spec")
        .zone("out", "192.0.2.0/24")
        .zone("dmz", "198.18.2.5/24")
        .zone("lan", "198.18.2.0/24")
        .link_delay("nowhere", Duration::from_millis(1))
        .build()
        .err()
        .expect("a lab outside 198.18.0.0/15 must not build");
    let LabError::Spec { problems, .. } = &err else { panic!("expected a spec error, got {err}") };
    let text = problems.join("\n");
    assert_eq!(problems.len(), 3, "every problem is reported, not just the first:\n{text}");
    assert!(text.contains("192.0.2.0/24 is outside 198.18.0.0/15"), "{text}");
    assert!(text.contains("host bits"), "{text}");
    assert!(text.contains("undeclared zone \"nowhere\""), "{text}");
}

#[test]
fn lab_tcp_crosses_router_between_zones() {
    let links_before = default_ns_links();
    let Some(mut lab) = lab::or_skip(
        Lab::builder("tcp").zone("out", "198.18.1.0/24").zone("dmz", "198.18.2.0/24").build(),
    ) else {
        return;
    };
    let dmz = lab.host_addr("dmz");
    assert_eq!(dmz.to_string(), "198.18.2.10");
    let gateway = lab.gateway_addr("out").to_string();
    assert_eq!(gateway, "198.18.1.1");
    let routes = lab.exec("out", &["ip", "-4", "route"]).expect("ip runs in the zone");
    let routes = String::from_utf8_lossy(&routes.stdout);
    assert!(routes.contains(&format!("default via {gateway} dev eth0")), "zone routes:\n{routes}");
    lab.listen_tcp("dmz", 8080).expect("a TCP listener starts in the DMZ");

    let open = connect(&lab, "out", dmz, 8080, Duration::from_secs(3));
    assert!(
        matches!(open, TcpOutcome::Connected(_)),
        "out -> dmz:8080 should connect, got {open:?}"
    );
    // A closed port answers with the DMZ host's own RST, which proves the
    // probe reached that host and not something else.
    let closed = connect(&lab, "out", dmz, 8079, Duration::from_secs(3));
    assert!(
        matches!(closed, TcpOutcome::Refused(_)),
        "out -> dmz:8079 should be refused, got {closed:?}"
    );

    // The network rule: the default namespace gained no link, and has no
    // address or route in the lab range.
    let added: Vec<_> = default_ns_links().difference(&links_before).cloned().collect();
    assert!(added.is_empty(), "the lab added links to the default namespace: {added:?}");
    for what in [&["-4", "addr"][..], &["-4", "route"][..]] {
        let text = run_default_ns("ip", what);
        assert!(
            !text.contains("198.18.") && !text.contains("198.19."),
            "default namespace `ip {what:?}`:\n{text}"
        );
    }
    lab.close().expect("teardown leaves nothing behind");
}

#[test]
fn lab_router_drop_rule_makes_port_silent() {
    let Some(lab) = ruled_lab("drop") else { return };
    let dmz = lab.host_addr("dmz");
    let open = connect(&lab, "out", dmz, 8080, Duration::from_secs(3));
    assert!(matches!(open, TcpOutcome::Connected(_)), "dmz:8080 has no rule, got {open:?}");
    let dropped = connect(&lab, "out", dmz, 8081, Duration::from_millis(1500));
    assert_eq!(dropped, TcpOutcome::TimedOut, "dmz:8081 is dropped by the router");
}

#[test]
fn lab_router_reject_rule_refuses() {
    let Some(lab) = ruled_lab("reject") else { return };
    let dmz = lab.host_addr("dmz");
    let open = connect(&lab, "out", dmz, 8080, Duration::from_secs(3));
    assert!(matches!(open, TcpOutcome::Connected(_)), "dmz:8080 has no rule, got {open:?}");
    // The listener on 8082 would accept, so a refusal can only be the
    // router's RST; and it must come at once, not after the timeout.
    let rejected = connect(&lab, "out", dmz, 8082, Duration::from_secs(3));
    let TcpOutcome::Refused(after) = rejected else {
        panic!("dmz:8082 is rejected with a RST by the router, got {rejected:?}")
    };
    eprintln!("reject: refused after {after:?}");
}

#[test]
fn lab_relay_delay_shows_in_round_trips() {
    const DELAY: Duration = Duration::from_millis(40);
    let Some(mut lab) = lab::or_skip(
        Lab::builder("delay")
            .zone("out", "198.18.1.0/24")
            .zone("lan", "198.18.3.0/24")
            .zone("dmz", "198.18.2.0/24")
            .link_delay("out", DELAY)
            .build(),
    ) else {
        return;
    };
    lab.listen_tcp("dmz", 8080).expect("a TCP listener starts in the DMZ");
    let dmz = lab.host_addr("dmz");

    // A TCP connect completes after one round trip (SYN out, SYN-ACK back).
    // The relay holds each frame DELAY in each direction, so a connect across
    // it takes at least 2 * DELAY. The first connect also waits for ARP, so
    // the minimum of several is the round trip.
    let min_connect = |from: &str| {
        (0..8)
            .map(|_| match connect(&lab, from, dmz, 8080, Duration::from_secs(3)) {
                TcpOutcome::Connected(after) => after,
                other => panic!("{from} -> dmz:8080 should connect, got {other:?}"),
            })
            .min()
            .expect("eight samples were taken")
    };
    let relayed = min_connect("out");
    let direct = min_connect("lan");
    let stats = lab.relay_stats("out").expect("the relay reports its counters");
    eprintln!("delay {DELAY:?}: connect via relay {relayed:?}, direct {direct:?}; relay {stats:?}");

    assert!(
        relayed >= 2 * DELAY,
        "a round trip through the relay takes at least 2 x {DELAY:?}, took {relayed:?}"
    );
    // Generous, but low enough to catch a relay that delays twice per hop.
    assert!(
        relayed < 3 * DELAY + Duration::from_millis(20),
        "the relay added far more than asked: {relayed:?}"
    );
    assert!(
        direct < DELAY,
        "without the relay a round trip is far below {DELAY:?}, took {direct:?}"
    );
    assert_eq!(
        stats.toward_router.dropped + stats.toward_zone.dropped,
        0,
        "no loss was configured"
    );
    assert_eq!(stats.toward_router.send_errors + stats.toward_zone.send_errors, 0, "{stats:?}");
}

#[test]
fn lab_relay_loss_shows_in_counted_frames() {
    const LOSS: f64 = 0.3;
    const SENT: u32 = 400;
    let Some(mut lab) = lab::or_skip(
        Lab::builder("loss")
            .zone("out", "198.18.1.0/24")
            .zone("lan", "198.18.3.0/24")
            .zone("dmz", "198.18.2.0/24")
            .link_loss("out", LOSS)
            .link_seed("out", 7)
            .build(),
    ) else {
        return;
    };
    lab.listen_tcp("dmz", 8080).expect("a TCP listener starts in the DMZ");
    lab.listen_udp("dmz", 9000).expect("a UDP echo server starts in the DMZ");
    let dmz = lab.host_addr("dmz");

    // Resolve ARP on both sides of the lossy link first (a connect needs the
    // host's and the router's), so the burst measures loss, not ARP queueing.
    let warm = (0..10).any(|_| {
        matches!(connect(&lab, "out", dmz, 8080, Duration::from_secs(2)), TcpOutcome::Connected(_))
    });
    assert!(warm, "a TCP connect across a 30% lossy link succeeds within 10 tries");

    let before = lab.relay_stats("out").expect("the relay reports its counters");
    let lossy =
        lab.udp_burst("out", dmz, 9000, SENT, Duration::from_millis(2)).expect("the burst runs");
    let after = lab.relay_stats("out").expect("the relay reports its counters");
    let direct =
        lab.udp_burst("lan", dmz, 9000, SENT, Duration::from_millis(2)).expect("the burst runs");
    let up = after.toward_router.since(&before.toward_router);
    let down = after.toward_zone.since(&before.toward_zone);
    eprintln!(
        "loss {LOSS}: burst via relay {lossy:?}, direct {direct:?}; toward router {up:?}, toward zone {down:?}"
    );

    assert_eq!(lossy.sent, SENT);
    assert!(up.received >= u64::from(SENT), "the relay saw every datagram sent: {up:?}");
    for (name, flow) in [("toward router", up), ("toward zone", down)] {
        let ratio = flow.loss_ratio();
        assert!(
            (LOSS - 0.1..=LOSS + 0.1).contains(&ratio),
            "{name}: dropped {ratio:.3} of frames, want ~{LOSS}"
        );
        assert_eq!(flow.send_errors, 0, "{name}: {flow:?}");
    }
    // End to end, a datagram and its echo each cross the link once.
    let survived = f64::from(lossy.echoed) / f64::from(lossy.sent);
    let expected = (1.0 - LOSS) * (1.0 - LOSS);
    assert!(
        (survived - expected).abs() < 0.12,
        "{survived:.3} of datagrams came back, want ~{expected:.2}"
    );
    assert!(
        direct.echoed >= direct.sent * 95 / 100,
        "without the relay nearly all come back: {direct:?}"
    );
}

#[test]
fn lab_relay_carries_bulk_tcp_intact() {
    // Bulk TCP is where veth offloads bite: segments arrive with checksums
    // left for "hardware" (the relay completes them) and, unless the lab
    // limits GSO, as 64 KiB super-frames the relay cannot send on.
    const LEN: usize = 4 << 20;
    let Some(mut lab) = lab::or_skip(
        Lab::builder("bulk")
            .zone("out", "198.18.1.0/24")
            .zone("dmz", "198.18.2.0/24")
            .link_delay("out", Duration::from_millis(5))
            .build(),
    ) else {
        return;
    };
    lab.listen_tcp("dmz", 8080).expect("a TCP listener starts in the DMZ");
    let echo = lab.tcp_echo("out", lab.host_addr("dmz"), 8080, LEN).expect("the echo probe runs");
    let stats = lab.relay_stats("out").expect("the relay reports its counters");
    eprintln!("bulk: {echo:?}; relay {stats:?}");
    assert_eq!(echo.echoed, LEN, "every byte came back");
    assert!(echo.intact, "the bytes that came back are the bytes sent");
    assert_eq!(
        stats.toward_router.send_errors + stats.toward_zone.send_errors,
        0,
        "no frame was too big: {stats:?}"
    );
}

#[test]
fn lab_teardown_removes_namespaces_and_processes() {
    // After a plain drop.
    let Some(mut lab) = lab::or_skip(
        Lab::builder("down")
            .zone("a", "198.18.4.0/24")
            .zone("b", "198.18.5.0/24")
            .link_delay("a", Duration::from_millis(1))
            .build(),
    ) else {
        return;
    };
    lab.listen_tcp("b", 8080).expect("a TCP listener starts");
    lab.spawn("a", &["sleep", "600"]).expect("a sleeper starts");
    let (names, pids) = (lab.namespaces(), lab.pids());
    assert_eq!(names.len(), 4, "router, two zones and one relay: {names:?}");
    assert_eq!(pids.len(), 3, "relay, listener and sleeper: {pids:?}");
    assert_exist(&names, &pids);
    drop(lab);
    assert_gone(&names, &pids);

    // After a panic inside the test: Drop runs while unwinding.
    let made = std::sync::Mutex::new(None);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut lab = lab::or_skip(
            Lab::builder("panic").zone("a", "198.18.6.0/24").link_loss("a", 0.5).build(),
        )
        .expect("root was there a moment ago");
        lab.listen_udp("a", 9000).expect("a UDP listener starts");
        *made.lock().expect("nothing else holds the lock") = Some((lab.namespaces(), lab.pids()));
        panic!("deliberate panic with a live lab");
    }));
    assert!(result.is_err(), "the closure panicked");
    let (names, pids) =
        made.into_inner().expect("not poisoned").expect("the lab was built before the panic");
    assert_eq!((names.len(), pids.len()), (3, 2), "{names:?} {pids:?}");
    assert_gone(&names, &pids);
}

fn assert_exist(names: &[String], pids: &[u32]) {
    let list = netns_list();
    for name in names {
        assert!(list.contains(name), "namespace {name} should exist:\n{list:?}");
    }
    for pid in pids {
        assert!(Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} should be running");
    }
}

fn assert_gone(names: &[String], pids: &[u32]) {
    let list = netns_list();
    for name in names {
        assert!(!list.contains(name), "namespace {name} survived teardown");
    }
    // Teardown reaped each child, so its PID no longer names any process
    // (barring reuse of the number within these few milliseconds).
    for pid in pids {
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} survived teardown");
    }
}

/// The names `ip netns list` shows (it may append an `(id: N)`).
fn netns_list() -> BTreeSet<String> {
    run_default_ns("ip", &["netns", "list"])
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The link names of the default namespace.
fn default_ns_links() -> BTreeSet<String> {
    run_default_ns("ip", &["-o", "link", "show"])
        .lines()
        .filter_map(|line| line.split(':').nth(1))
        .map(|name| name.trim().to_owned())
        .collect()
}

fn run_default_ns(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().expect("ip runs");
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
