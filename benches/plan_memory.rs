//! Plan memory benchmark: count and list a 65 M-probe plan (a /16 zone with
//! 1,000 TCP ports) and print the peak resident set size, to show planning is
//! lazy. Run with `cargo bench --bench plan_memory`.
//!
//! Three measurements: the library iterating the plan in-process (VmHWM of
//! this process), then `vantage plan --list` and the peer, nmap's list scan
//! (`nmap -sL -n`, which sends no packet), over the same /16 as child
//! processes, each child's peak RSS taken from getrusage; the ratio is
//! printed. nmap lists targets only, so it does strictly less work.

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

    // Both tools as subprocesses, measured the same way: the peak RSS the
    // kernel reports for a finished child (getrusage RUSAGE_CHILDREN, via
    // python3, since std has no safe getrusage and the crate forbids unsafe).
    let dir = std::env::temp_dir().join(format!("vantage-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spec = dir.join("plan.yaml");
    std::fs::write(&spec, SPEC).expect("write spec");
    let spec = spec.to_str().expect("utf-8 path");
    let ours = child_peak(&[
        env!("CARGO_BIN_EXE_vantage"),
        "plan",
        spec,
        "--from",
        "outside",
        "--allow-large",
        "--list",
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    let Some((ours_kib, ours_s)) = ours else {
        println!("plan_memory: python3 missing; no subprocess comparison");
        return;
    };
    println!(
        "plan_memory: `vantage plan --list` (65,536,000 lines to /dev/null): peak RSS {ours_kib} KiB in {ours_s:.2} s"
    );
    // The peer: nmap's list scan (-sL -n sends no packet) of the same /16.
    // It lists the 65,536 targets only; it has no per-port listing.
    // (`-p` is refused with `-sL`: a list scan has no ports.)
    if Command::new("nmap").arg("--version").stdout(Stdio::null()).status().is_err() {
        println!("plan_memory: nmap not installed; no peer comparison");
        return;
    }
    match child_peak(&["nmap", "-sL", "-n", "198.18.0.0/16", "-oN", "/dev/null"]) {
        Some((nmap_kib, nmap_s)) => println!(
            "plan_memory: `nmap -sL -n` (65,536 targets): peak RSS {nmap_kib} KiB in {nmap_s:.2} s; vantage/nmap peak RSS ratio {:.2}",
            ours_kib as f64 / nmap_kib.max(1) as f64
        ),
        None => println!("plan_memory: nmap -sL failed; no peer comparison"),
    }
}

/// Runs `argv` with stdout to /dev/null and returns (peak RSS KiB, seconds).
fn child_peak(argv: &[&str]) -> Option<(u64, f64)> {
    const MEASURE: &str = "import resource, subprocess, sys, time
t = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
d = time.monotonic() - t
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, d, r.returncode)";
    let out = Command::new("python3")
        .arg("-c")
        .arg(MEASURE)
        .args(argv)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace();
    let kib = fields.next()?.parse().ok()?;
    let secs = fields.next()?.parse().ok()?;
    let rc: i32 = fields.next()?.parse().ok()?;
    (rc == 0).then_some((kib, secs))
}
