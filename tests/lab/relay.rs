//! Finding, starting and reading the `lab_relay` example, the user-space
//! "cable" that gives a lab link its delay and loss (the kernel has no
//! `sch_netem`).
//!
//! `cargo test --test it` builds only the `it` binary, not the examples, so
//! the first lab that needs a relay runs `cargo build --example lab_relay`
//! once per process (a no-op when it is fresh) into the same target directory
//! and profile as the running test binary. `VANTAGE_LAB_RELAY=/path/to/binary`
//! skips that, for runs outside cargo.
//!
//! Invariant: a relay counts as started only once it has written its first
//! stats file, which it does after opening both interfaces; so a lab that
//! `build()` returned has working links.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use super::{LabError, cmd};

/// How long a relay may take to open its interfaces, and how long a stats
/// read may wait for a fresh file.
const PATIENCE: Duration = Duration::from_secs(10);

/// What one direction of a relay has done since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Flow {
    /// Frames taken in.
    pub(crate) received: u64,
    /// Frames the loss decision discarded.
    pub(crate) dropped: u64,
    /// Frames sent on after the delay.
    pub(crate) forwarded: u64,
    /// Frames whose TCP/UDP checksum the relay completed (veth offload).
    pub(crate) csum_fixed: u64,
    /// Frames the relay failed to send (full queue, oversized frame).
    pub(crate) send_errors: u64,
}

impl Flow {
    /// The counts that grew between `earlier` and `self`.
    pub(crate) fn since(&self, earlier: &Self) -> Self {
        Self {
            received: self.received - earlier.received,
            dropped: self.dropped - earlier.dropped,
            forwarded: self.forwarded - earlier.forwarded,
            csum_fixed: self.csum_fixed - earlier.csum_fixed,
            send_errors: self.send_errors - earlier.send_errors,
        }
    }

    /// Dropped frames as a fraction of received ones (0 when none arrived).
    pub(crate) fn loss_ratio(&self) -> f64 {
        if self.received == 0 { 0.0 } else { self.dropped as f64 / self.received as f64 }
    }
}

/// A relay's counters, by direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RelayStats {
    /// Frames from the zone's host toward the router.
    pub(crate) toward_router: Flow,
    /// Frames from the router toward the zone's host.
    pub(crate) toward_zone: Flow,
}

/// The path of the `lab_relay` binary, building it on first use.
pub(super) fn binary() -> Result<PathBuf, LabError> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(locate_or_build)
        .clone()
        .map_err(|detail| LabError::Setup { what: "the lab_relay example".to_owned(), detail })
}

fn locate_or_build() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("VANTAGE_LAB_RELAY") {
        return Ok(PathBuf::from(path));
    }
    // The test binary is <target>/<profile>/deps/it-HASH; examples land in
    // <target>/<profile>/examples/.
    let exe = std::env::current_exe().map_err(|e| format!("finding the test binary: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{} is not in <target>/<profile>/deps/", exe.display()))?;
    let target_dir = profile_dir.parent().ok_or("the profile directory has no parent")?;
    let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let target = target_dir.to_str().ok_or("the target directory is not UTF-8")?;
    let mut argv = vec![
        cargo.as_str(),
        "build",
        "--quiet",
        "--example",
        "lab_relay",
        "--manifest-path",
        manifest,
        "--target-dir",
        target,
    ];
    if profile == "release" {
        argv.push("--release");
    }
    cmd::run(&argv).map_err(|e| e.to_string())?;
    let path = profile_dir.join("examples").join("lab_relay");
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("cargo built the example, but {} does not exist", path.display()))
    }
}

/// The relay's settings for one link.
pub(super) struct Settings {
    pub(super) delay: Duration,
    pub(super) loss: f64,
    pub(super) seed: u64,
}

/// Start a relay in namespace `ns`, bridging interfaces `zone_if` (toward the
/// zone) and `router_if`, and wait until it has both open.
pub(super) fn start(
    binary: &Path,
    ns: &str,
    zone_if: &str,
    router_if: &str,
    settings: &Settings,
    stats: &Path,
) -> Result<Child, LabError> {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(binary)
        .args([zone_if, router_if])
        .arg(format!("--delay-ms={}", settings.delay.as_millis()))
        .arg(format!("--loss={}", settings.loss))
        .arg(format!("--seed={}", settings.seed))
        .arg("--stats")
        .arg(stats)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| LabError::Spawn { command: format!("lab_relay in {ns}"), source })?;
    let deadline = Instant::now() + PATIENCE;
    while !stats.exists() {
        if let Some(detail) = exited(&mut child) {
            return Err(LabError::Setup { what: format!("lab_relay in {ns}"), detail });
        }
        if Instant::now() > deadline {
            // The caller only records children that started, so this one is
            // ended here; it is ours and we hold its handle.
            let _ = child.kill();
            let _ = child.wait();
            return Err(LabError::Setup {
                what: format!("lab_relay in {ns}"),
                detail: format!("no stats file after {PATIENCE:?}"),
            });
        }
        thread::sleep(Duration::from_millis(5));
    }
    Ok(child)
}

/// If `child` has exited, a description of how, with its stderr.
pub(super) fn exited(child: &mut Child) -> Option<String> {
    let status = child.try_wait().ok()??;
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    Some(format!("exited ({status}): {}", stderr.trim()))
}

/// Read the relay's counters, waiting for a file the relay wrote after this
/// call began, so every frame it took in before the call is counted.
pub(super) fn read_stats(child: &mut Child, path: &Path) -> Result<RelayStats, LabError> {
    let fail = |detail: String| LabError::Setup {
        what: format!("relay stats {}", path.display()),
        detail,
    };
    let (first_seq, _) =
        parse(&std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?).map_err(fail)?;
    let deadline = Instant::now() + PATIENCE;
    loop {
        // Two rewrites on, the counters were certainly sampled after we began.
        let (seq, stats) = parse(&std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?)
            .map_err(fail)?;
        if seq >= first_seq + 2 {
            return Ok(stats);
        }
        if let Some(detail) = exited(child) {
            return Err(fail(detail));
        }
        if Instant::now() > deadline {
            return Err(fail(format!("the file stopped changing at seq={seq}")));
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Parse the stats file: `seq=N`, then one line per direction of
/// `NAME key=value ...`.
fn parse(text: &str) -> Result<(u64, RelayStats), String> {
    let mut seq = None;
    let mut stats = RelayStats::default();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        if let Some(n) = first.strip_prefix("seq=") {
            seq = Some(n.parse().map_err(|_| format!("bad line {line:?}"))?);
            continue;
        }
        let flow = match first {
            "a_to_b" => &mut stats.toward_router,
            "b_to_a" => &mut stats.toward_zone,
            _ => return Err(format!("unknown line {line:?}")),
        };
        for word in words {
            let (key, value) = word.split_once('=').ok_or_else(|| format!("bad field {word:?}"))?;
            let value: u64 = value.parse().map_err(|_| format!("bad field {word:?}"))?;
            let slot = match key {
                "received" => &mut flow.received,
                "dropped" => &mut flow.dropped,
                "forwarded" => &mut flow.forwarded,
                "csum_fixed" => &mut flow.csum_fixed,
                "send_errors" => &mut flow.send_errors,
                _ => return Err(format!("unknown field {word:?}")),
            };
            *slot = value;
        }
    }
    Ok((seq.ok_or("no seq= line")?, stats))
}
