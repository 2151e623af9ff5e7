//! Plan memory benchmark: count and list a 65 M-probe plan (a /16 zone with
//! 1,000 TCP ports) and print the peak resident set size, to show planning is
//! lazy. Run with `cargo bench --bench plan_memory`.
//!
//! The peer comparison: nmap's list scan (`nmap -sL -n`, which sends
//! nothing) over the same /16 with the same ports, when nmap is installed;
//! its peak RSS is read the same way and the ratio printed.

#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use vantage::plan::{Options, Plan};

const SPEC: &str = "version: 1
zones:
  internet: { cidrs: [0.0.0.0/0], probe: false }
  lab: { cidrs: [198.18.0.0/16] }
vantages:
  outside: { zone: internet }
sweep:
  tcp: [\"1-1000\"]
";

/// Peak RSS (VmHWM) of a process, in KiB, from /proc.
fn peak_rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let before = peak_rss_kib("self").unwrap_or(0);
    let file: Arc<str> = Arc::from("bench.yaml");
    let loaded = vantage::spec::load_bytes(Path::new("bench.yaml"), &file, SPEC.as_bytes());
    let intent = loaded.intent.expect("the benchmark spec is valid");
    let plan = Plan::new(&intent, "outside", Options { allow_large: true, ..Options::default() })
        .expect("plans");
    let start = Instant::now();
    let mut count = 0u64;
    let mut checksum = 0u64;
    for p in plan.probes() {
        count += 1;
        checksum = checksum.wrapping_add(u64::from(p.port));
    }
    let elapsed = start.elapsed();
    let peak = peak_rss_kib("self").unwrap_or(0);
    assert_eq!(count, 65_536_000, "every probe of the plan was listed");
    println!(
        "plan_memory: {count} probes listed in {:.2} s ({:.1} M probes/s), checksum {checksum}",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64() / 1e6
    );
    println!(
        "plan_memory: peak RSS {} KiB ({:.1} MiB); {} KiB before planning",
        peak,
        peak as f64 / 1024.0,
        before
    );

    // The peer: nmap's list scan of the same targets, if nmap is here.
    let Ok(mut child) = Command::new("nmap")
        .args(["-sL", "-n", "-p", "1-1000", "198.18.0.0/16", "-oN", "/dev/null"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        println!("plan_memory: nmap not installed; no peer comparison");
        return;
    };
    let pid = child.id().to_string();
    let start = Instant::now();
    let mut nmap_peak = 0;
    while child.try_wait().ok().flatten().is_none() {
        nmap_peak = nmap_peak.max(peak_rss_kib(&pid).unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    println!(
        "plan_memory: nmap -sL -n (targets only, no ports listed) peak RSS {} KiB in {:.2} s; vantage/nmap memory ratio {:.2}",
        nmap_peak,
        start.elapsed().as_secs_f64(),
        peak as f64 / nmap_peak.max(1) as f64
    );
}
