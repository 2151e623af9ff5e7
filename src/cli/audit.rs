//! `--audit-log FILE` of `scan`, `check` and `agent`: one JSON line
//! (`report::document::AuditRecord`) appended when a run starts, before
//! its first probe, and one when it ends, with both times and the exit
//! code; so a run that was killed still left its start line. A run
//! refused before it probed anything (a rate above the maximum, a spec
//! with errors, a bad `--exclude`) leaves one `refused` line saying why.
//! An agent writes one `plan` line per plan it accepts, before its first
//! probe, naming the controller.
//!
//! The file is opened in append mode (created 0600 if missing) before
//! anything else: a log that cannot be opened, or a start line that cannot
//! be written, refuses the run (exit 2), so nothing is ever probed
//! unlogged. Each line is one `write` of a whole line to an `O_APPEND`
//! file, then synced, so concurrent runs sharing a log do not interleave.
//!
//! Who: the real and effective uid from `/proc/self/status`, the real
//! uid's name from `/etc/passwd` (else `$USER` or `$LOGNAME`), `$SUDO_USER`,
//! and the host name from `/proc/sys/kernel/hostname`.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::Context as _;
use vantage::observe::timestamp;
use vantage::plan::{Exclusions, Plan};
use vantage::report::document::{AuditRecord, AuditUser, AuditVantage, ExcludedSummary};

use super::args::{Mode, ProbeOpts};
use super::exit::Outcome;

/// An audit log file, opened for appending.
pub(crate) struct AuditFile {
    file: File,
    name: String,
}

impl AuditFile {
    /// Opens `path` for appending, creating it 0600 if missing.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Self> {
        let file =
            OpenOptions::new().append(true).create(true).mode(0o600).open(path).with_context(
                || format!("--audit-log {}: cannot open it for appending", path.display()),
            )?;
        Ok(Self { file, name: path.display().to_string() })
    }

    /// Appends `record` as one line, in one write, and syncs it.
    pub(crate) fn write(&mut self, record: &AuditRecord) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(record).context("encoding the audit line")?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("--audit-log {}: cannot write to it", self.name))
    }
}

/// A record of this process with a new run id, started now, with nothing
/// yet about what it probes.
pub(crate) fn record(
    command: &'static str,
    spec: String,
    (rate, host_rate, unsafe_rate): (u32, u32, bool),
    mode: &'static str,
) -> AuditRecord {
    AuditRecord {
        event: "start",
        run: format!("{:016x}", rand::random::<u64>()),
        tool: vantage::observe::TOOL,
        version: vantage::VERSION.to_owned(),
        started: timestamp(jiff::Timestamp::now()),
        ended: None,
        user: user(),
        host: read_trimmed("/proc/sys/kernel/hostname"),
        pid: std::process::id(),
        command,
        controller: None,
        argv: std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect(),
        spec,
        spec_digest: None,
        vantages: Vec::new(),
        excluded: None,
        rate,
        host_rate,
        unsafe_rate,
        mode,
        exit: None,
        error: None,
    }
}

/// The audit log of one `scan` or `check` run.
pub(crate) struct AuditLog {
    file: AuditFile,
    record: AuditRecord,
    started: bool,
}

/// What a run is about to do, for its start line.
pub(crate) struct Run<'a> {
    /// The spec's digest.
    pub(crate) spec_digest: &'a str,
    /// Each vantage with its plan (`agent`: its URL, for a remote one).
    pub(crate) vantages: Vec<(&'a Plan, String, Option<String>)>,
    /// `--exclude`, with its file name.
    pub(crate) exclude: Option<(&'a Exclusions, String)>,
}

impl AuditLog {
    /// Opens `path` for appending (nothing without one). `command` is the
    /// subcommand; `spec` the spec path as given.
    pub(crate) fn open(
        path: Option<&Path>,
        command: &'static str,
        spec: &Path,
        probe: &ProbeOpts,
    ) -> anyhow::Result<Option<Self>> {
        let Some(path) = path else { return Ok(None) };
        let file = AuditFile::open(path)?;
        let limits = probe.limits();
        let mode = match probe.mode {
            Mode::Auto => "auto",
            Mode::Connect => "connect",
            Mode::Syn => "syn",
        };
        let rates = (limits.rate, limits.host_rate, probe.unsafe_rate);
        let record = record(command, spec.display().to_string(), rates, mode);
        Ok(Some(Self { file, record, started: false }))
    }

    /// Writes the start line; an error refuses the run before it probes.
    pub(crate) fn start(&mut self, run: &Run<'_>) -> anyhow::Result<()> {
        self.record.spec_digest = Some(run.spec_digest.to_owned());
        self.record.vantages = run
            .vantages
            .iter()
            .map(|(plan, name, agent)| AuditVantage::of_plan(plan, name, agent.clone()))
            .collect();
        self.record.excluded = run.exclude.as_ref().map(|(x, file)| {
            let left_out = run.vantages.first().map(|(p, ..)| p.excluded).unwrap_or_default();
            ExcludedSummary::of(x, file, left_out)
        });
        self.record.started = timestamp(jiff::Timestamp::now());
        self.file.write(&self.record)?;
        self.started = true;
        Ok(())
    }

    /// Writes the end line of a started run, or the `refused` line of one
    /// that never started. Failing to write is said on stderr: the run is
    /// over, and its outcome must not be hidden by the log's.
    pub(crate) fn finish(&mut self, result: &anyhow::Result<Outcome>) {
        let exit = match result {
            Ok(o) => o.code(),
            Err(_) => Outcome::Refused.code(),
        };
        self.record.exit = Some(exit);
        self.record.ended = Some(timestamp(jiff::Timestamp::now()));
        if self.started {
            self.record.event = "end";
        } else {
            self.record.event = "refused";
            self.record.error = Some(match result {
                Err(e) => format!("{e:#}"),
                Ok(_) => "the spec was refused".to_owned(),
            });
        }
        if let Err(e) = self.file.write(&self.record) {
            #[allow(clippy::print_stderr, reason = "the CLI's error line")]
            {
                eprintln!("vantage: error: {e:#}");
            }
        }
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Who runs this process.
fn user() -> AuditUser {
    // "Uid:\treal\teffective\tsaved\tfs".
    let ids: Vec<u32> = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("Uid:")).map(|ids| {
                ids.split_whitespace().filter_map(|n| n.parse().ok()).collect::<Vec<u32>>()
            })
        })
        .unwrap_or_default();
    let (uid, euid) = (ids.first().copied(), ids.get(1).copied());
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let name = uid.and_then(passwd_name).or_else(|| env("USER")).or_else(|| env("LOGNAME"));
    AuditUser { uid, euid, name, sudo_user: env("SUDO_USER") }
}

/// The name of `uid` in /etc/passwd (`name:password:uid:...`).
fn passwd_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut fields = l.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_named_from_passwd() {
        // Every Linux /etc/passwd has uid 0.
        assert_eq!(passwd_name(0).as_deref(), Some("root"));
        assert_eq!(passwd_name(u32::MAX - 7), None);
        let u = user();
        assert!(u.uid.is_some() && u.euid.is_some(), "{u:?}");
    }
}
