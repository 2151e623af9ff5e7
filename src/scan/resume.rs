//! `scan --resume FILE`: what an unfinished run of the same scan already
//! did, read back from its observation file, so that the scan goes on
//! where it stopped instead of probing everything again.
//!
//! [`Resume::open`] reads the file (`observe::read`, which tolerates the
//! cut-off last line a killed run leaves) and keeps:
//! - the probes it concluded: every `port` line and every port of every
//!   `filtered` line, as a [`Done`] set the scan's probe stream is filtered
//!   by (memory O(done), never O(plan));
//! - its counts, so the one trailer the resumed run writes covers the whole
//!   file, and the attempts it sent (its trailer's `probes_sent` when it
//!   has one, else the attempts its lines record: a killed run's in-flight
//!   and held-back attempts are not known);
//! - the open ports (the TLS step probes those the spec says speak TLS, and
//!   the DNS step asks those on 53) and the TLS endpoints that already have
//!   a `tls` line (not probed again);
//! - how many bytes to keep: everything up to the last complete line,
//!   without a cut-off line or the trailer of an interrupted (or otherwise
//!   unfinished) run. The resumed run truncates the file there and appends.
//!
//! The DNS step is redone whole: its questions depend on each other's
//! answers (CNAME chains, apexes, transfers), and `verdict` takes, of a
//! question asked twice, the line with an answer and then the latest, so
//! the earlier lines do no harm.
//!
//! [`Resume::check`] refuses a run that is not the same scan: another spec
//! (digest), vantage, shard, seed, mode or tool version than the file's
//! header. A complete file has nothing to resume ([`ResumeError::Complete`]).

use std::collections::HashSet;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::observe::{
    self, Header, MAX_LINE_BYTES, ObservationFile, ObservationWriter, ObserveError, PortState,
    Proto as WireProto,
};
use crate::plan::Done;
use crate::spec::intent::Proto;

use super::Counts;

/// An unfinished scan's file, read back: see the module docs.
#[derive(Debug, Clone)]
pub struct Resume {
    path: PathBuf,
    name: String,
    header: Header,
    complete: bool,
    /// The file's length when read, and how much of it to keep.
    len: u64,
    keep: u64,
    dropped: Dropped,
    pub(super) done: Arc<Done>,
    pub(super) counts: Counts,
    pub(super) probes_sent: u64,
    /// Open ports, in file order.
    pub(super) open: Vec<(IpAddr, Proto, u16)>,
    /// TLS endpoints with a `tls` line.
    pub(super) tls: HashSet<(IpAddr, u16)>,
}

/// What the resumed run cuts from the end of the file before appending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Nothing: the run was killed between two lines.
    Nothing,
    /// The cut-off last line a killed run left (its 1-based number).
    CutLine(usize),
    /// The trailer of a run that ended unfinished (interrupted or not).
    Trailer {
        /// The trailer said the run was interrupted (SIGINT, SIGTERM).
        interrupted: bool,
    },
}

/// Why a file cannot be resumed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeError {
    /// The file could not be read, or is not a valid observation file.
    /// (Not a `#[source]`: the message already holds it, once.)
    #[error("cannot resume: {0}")]
    Read(ObserveError),
    /// The file is a complete scan: there is nothing to resume.
    #[error(
        "nothing to resume: {file} is a complete scan ({concluded} of {planned} planned probes concluded); it is left as it is"
    )]
    Complete {
        /// The file.
        file: String,
        /// Probes it concluded.
        concluded: u64,
        /// Probes planned.
        planned: u64,
    },
    /// This run is not the scan the file holds.
    #[error(
        "cannot resume {file}: it was scanned with {what} {found}, and this run has {what} {wanted}; resume with the first run's spec and flags"
    )]
    Mismatch {
        /// The file.
        file: String,
        /// Which setting (as the flag that sets it, or the spec's digest).
        what: &'static str,
        /// The file's value.
        found: String,
        /// This run's.
        wanted: String,
    },
    /// The file changed between being read and being appended to (another
    /// process writing it, most likely a scan still running).
    #[error(
        "cannot resume {file}: it changed while this run was starting (is another scan still writing it?)"
    )]
    Changed {
        /// The file.
        file: String,
    },
}

impl From<ObserveError> for ResumeError {
    fn from(e: ObserveError) -> Self {
        Self::Read(e)
    }
}

impl Resume {
    /// Reads the file at `path` and works out what its run did; see the
    /// module docs. A complete file is read too: [`Resume::check`] says
    /// there is nothing to resume.
    pub fn open(path: &Path) -> Result<Self, ResumeError> {
        let name = path.display().to_string();
        let io = |action, source| ObserveError::Io { file: name.clone(), action, source };
        let len = std::fs::metadata(path).map_err(|e| io("read", e))?.len();
        let file = observe::read(path)?;
        let (keep, now) = keep(path, &file).map_err(|e| io("read", e))?;
        if now != len {
            return Err(ResumeError::Changed { file: name });
        }
        let Some(keep) = keep else {
            // Every line the reader accepted has a `\n` before the next one;
            // none before the last means the file changed under us.
            return Err(ResumeError::Changed { file: name });
        };
        Ok(Self::from_file(path, file, len, keep))
    }

    fn from_file(path: &Path, file: ObservationFile, len: u64, keep: u64) -> Self {
        let mut counts = Counts::default();
        let mut sent: u64 = 0;
        let mut open = Vec::new();
        let mut ranges = Vec::with_capacity(file.facts.len() + file.filtered.len());
        for f in &file.facts {
            let proto = proto(f.proto);
            ranges.push((f.target, proto, f.port, f.port));
            sent += u64::from(f.attempts);
            match f.state {
                PortState::Open => {
                    counts.open += 1;
                    open.push((f.target, proto, f.port));
                }
                PortState::Closed => counts.closed += 1,
                PortState::Filtered => counts.filtered += 1,
                PortState::OpenFiltered => counts.open_filtered += 1,
            }
        }
        for s in &file.filtered {
            // Every line the reader returns parses.
            let Ok(set) = s.port_set() else { continue };
            let n = u64::from(set.len());
            sent += n * u64::from(s.attempts);
            match s.proto {
                WireProto::Tcp => counts.filtered += n,
                WireProto::Udp => counts.open_filtered += n,
            }
            let proto = proto(s.proto);
            ranges.extend(set.ranges().iter().map(|&(lo, hi)| (s.target, proto, lo, hi)));
        }
        let done = Done::from_ranges(ranges);
        let dropped = match (&file.trailer, file.truncated_last_line) {
            (Some(t), _) => Dropped::Trailer { interrupted: t.interrupted },
            (None, Some(line)) => Dropped::CutLine(line),
            (None, None) => Dropped::Nothing,
        };
        Self {
            path: path.to_owned(),
            name: path.display().to_string(),
            complete: file.is_complete(),
            probes_sent: file.trailer.as_ref().map_or(sent, |t| t.probes_sent),
            tls: file.tls.iter().map(|t| (t.target, t.port)).collect(),
            header: file.header,
            len,
            keep,
            dropped,
            done: Arc::new(done),
            counts,
            open,
        }
    }

    /// The file's header: the scan it holds.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file, as named in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Probes the file already concluded (distinct).
    pub fn concluded(&self) -> u64 {
        self.done.len()
    }

    /// Attempts the file's run already sent.
    pub fn probes_sent(&self) -> u64 {
        self.probes_sent
    }

    /// What the resumed run cuts from the end of the file.
    pub fn dropped(&self) -> Dropped {
        self.dropped
    }

    /// Whether the file is a complete scan (nothing to resume).
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Refuses to go on unless `header`, the header this run would write,
    /// is the file's scan: same spec digest, vantage, shard, seed, mode,
    /// exclusions (`--exclude`) and tool version. Then refuses a complete
    /// file: nothing to resume.
    pub fn check(&self, header: &Header) -> Result<(), ResumeError> {
        let (a, b) = (&self.header, header);
        let shard = |h: &Header| format!("{}/{}", h.shard_index, h.shard_count);
        let mode = |h: &Header| format!("{:?}", h.mode).to_lowercase();
        let excluded = |h: &Header| match &h.excluded {
            None => "none".to_owned(),
            Some(x) => format!("{} networks ({})", x.networks, x.digest),
        };
        let fields: [(&'static str, String, String); 9] = [
            ("schema_version", a.schema_version.to_string(), b.schema_version.to_string()),
            ("tool", a.tool.clone(), b.tool.clone()),
            ("the spec digest", a.spec_digest.clone(), b.spec_digest.clone()),
            ("--from", a.vantage.clone(), b.vantage.clone()),
            ("--shard", shard(a), shard(b)),
            ("--seed", a.seed.to_string(), b.seed.to_string()),
            ("--mode", mode(a), mode(b)),
            ("--exclude", excluded(a), excluded(b)),
            ("vantage version", a.version.clone(), b.version.clone()),
        ];
        if let Some((what, found, wanted)) = fields.into_iter().find(|(_, a, b)| a != b) {
            return Err(ResumeError::Mismatch { file: self.name.clone(), what, found, wanted });
        }
        // The same spec, vantage, shard and seed plan the same probes.
        if a.probes_planned != b.probes_planned {
            return Err(ResumeError::Mismatch {
                file: self.name.clone(),
                what: "probes planned",
                found: a.probes_planned.to_string(),
                wanted: b.probes_planned.to_string(),
            });
        }
        if self.complete {
            return Err(ResumeError::Complete {
                file: self.name.clone(),
                concluded: self.concluded(),
                planned: a.probes_planned,
            });
        }
        Ok(())
    }

    /// Cuts the file after its last kept line and opens it for the
    /// resumed run's records, refusing if it changed since it was read.
    pub(super) async fn append(&self) -> Result<ObservationWriter, ResumeError> {
        let now = tokio::fs::metadata(&self.path)
            .await
            .map_err(|source| ObserveError::Io { file: self.name.clone(), action: "read", source })?
            .len();
        if now != self.len {
            return Err(ResumeError::Changed { file: self.name.clone() });
        }
        Ok(ObservationWriter::append(&self.path, self.keep).await?)
    }
}

fn proto(p: WireProto) -> Proto {
    match p {
        WireProto::Tcp => Proto::Tcp,
        WireProto::Udp => Proto::Udp,
    }
}

/// How many bytes of the file at `path` to keep (`None` if no `\n` is
/// where one must be), and its length now. Only the tail is read: a cut-off
/// line and a trailer are each at most one line, and the line before them
/// ends within `MAX_LINE_BYTES + 1` bytes of the end.
fn keep(path: &Path, file: &ObservationFile) -> std::io::Result<(Option<u64>, u64)> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let span = len.min(2 * (MAX_LINE_BYTES as u64 + 1));
    let base = len - span;
    f.seek(SeekFrom::Start(base))?;
    let mut tail = Vec::new();
    f.take(span).read_to_end(&mut tail)?;
    // The offset just after the last `\n` in `tail[..end]`.
    let after_newline =
        |end: usize| tail[..end].iter().rposition(|b| *b == b'\n').map(|i| base + i as u64 + 1);
    let keep = if file.trailer.is_some() {
        // The trailer is the last line (the reader refuses anything after
        // it), with its `\n` or without.
        let end = if tail.last() == Some(&b'\n') { tail.len() - 1 } else { tail.len() };
        after_newline(end)
    } else if file.truncated_last_line.is_some() {
        after_newline(tail.len())
    } else {
        // Every line is a record to keep; a last one without its `\n` gets
        // it when the file is appended to.
        Some(len)
    };
    Ok((keep, len))
}

#[cfg(test)]
mod tests;
