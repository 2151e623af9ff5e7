//! Writing an observation file while a scan runs: producers send records
//! through a bounded channel to ONE writer task (STYLE rule 9), which owns
//! the file, so lines never interleave and a slow disk slows the scan down
//! (back-pressure) instead of growing memory.
//!
//! Flush policy: the task writes every record that is ready through a
//! buffer, and flushes `FLUSH_AFTER` after the first unflushed record (or
//! when the buffer fills). Lines reach the operating system within that
//! time, without a system call per line: results trickle in one at a time
//! during a scan, and flushing whenever the channel ran dry cost a write
//! (a trip through tokio's blocking pool, for a file) per line, about a
//! quarter of a loopback sweep's time. (Flushing is not `fsync`: a crash of
//! the machine may lose the tail, which the reader then reports as a
//! missing trailer or a cut-off line.)
//!
//! Invariants:
//! - the header is on disk (flushed) before [`ObservationWriter::create`]
//!   returns, so a run killed at once still leaves a file that says what it
//!   was; [`ObservationWriter::append`] (a resumed run) writes no header and
//!   continues after the whole lines it was told to keep, so the file is
//!   one run's from its header to its one trailer;
//! - every record a producer's `send` accepted before
//!   [`ObservationWriter::finish`] is written, before the trailer; the
//!   trailer is the last line, and nothing is written after it;
//! - the writer writes nothing its reader would refuse: each record passes
//!   [`encode_line`] (the contract checks and the line limit) first. A
//!   record that fails is a bug in its producer: it is skipped, the other
//!   records are still written, and the file ends without a trailer (so it
//!   reads as incomplete) while `finish` returns [`ObserveError::Refused`];
//! - if the [`ObservationWriter`] is dropped without `finish` (its owner was
//!   cancelled or panicked), the task still writes everything already sent,
//!   flushes, and ends without a trailer, which readers take as an
//!   interrupted run.

use std::path::Path;

use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::check::encode_line;
use super::error::ObserveError;
use super::observation::{Header, Record, Trailer};

/// How many records may wait for the writer before producers wait for it.
/// Enough to ride out a slow write; small enough to bound memory (a port
/// record is at most about 1.5 KiB).
pub const CHANNEL_CAPACITY: usize = 1024;

/// The write buffer: a few hundred lines, flushed sooner by `FLUSH_AFTER`.
const BUFFER_BYTES: usize = 64 * 1024;

/// The longest a written record waits in the buffer before it is flushed.
pub(super) const FLUSH_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// What the writer wrote, once it has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteSummary {
    /// Lines written, header and trailer included.
    pub lines: u64,
    /// `port` lines.
    pub facts: u64,
    /// `filtered` lines.
    pub filtered: u64,
    /// `tls` lines written.
    pub tls: u64,
    /// `dns` lines written.
    pub dns: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// An observation file being written; see the module docs for its
/// guarantees.
#[derive(Debug)]
pub struct ObservationWriter {
    tx: mpsc::Sender<Record>,
    finish: oneshot::Sender<Trailer>,
    task: JoinHandle<Result<WriteSummary, ObserveError>>,
    file: String,
}

impl ObservationWriter {
    /// Creates (or truncates) the file at `path`, writes and flushes the
    /// header, and starts the writer task on the current tokio runtime.
    ///
    /// The file is written in place, not through a temporary file and a
    /// rename: a run that crashes should leave what it observed, which the
    /// reader accepts and flags. Writing to standard output (`-o -`) is the
    /// CLI's business, since the library never touches the terminal: it
    /// passes tokio's standard output handle to
    /// [`ObservationWriter::with_sink`].
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropped part-way, it may leave a file with a partial
    /// header or none. Call it before the scan starts, not in `select!`.
    pub async fn create(path: &Path, header: Header) -> Result<Self, ObserveError> {
        let file = path.display().to_string();
        // Check the header before touching the file, so a refused header
        // does not truncate an existing file.
        let line = encode_header(&file, &header)?;
        let sink = tokio::fs::File::create(path).await.map_err(|source| ObserveError::Io {
            file: file.clone(),
            action: "create",
            source,
        })?;
        tracing::info!(file = %file, "observation file created");
        Self::start(sink, file, Some(line)).await
    }

    /// Like [`ObservationWriter::create`], for any byte sink (standard
    /// output, a pipe, a test buffer); `name` is what errors call it.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as `create`.
    pub async fn with_sink<W>(
        sink: W,
        name: impl Into<String>,
        header: Header,
    ) -> Result<Self, ObserveError>
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let file = name.into();
        let line = encode_header(&file, &header)?;
        Self::start(sink, file, Some(line)).await
    }

    /// Continues the observation file at `path` (`scan --resume`): keeps
    /// its first `keep` bytes, which must be whole lines from the header on
    /// (what followed them, a cut-off line or a trailer, is cut away), ends
    /// them with a `\n` if the last line lacks one, and starts the writer
    /// task to write records after them. No header is written: the kept
    /// bytes begin with the one the caller read and checked. The same
    /// guarantees as [`ObservationWriter::create`] hold from then on, so a
    /// resumed run that is killed leaves a file that can be resumed again.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as `create`.
    pub async fn append(path: &Path, keep: u64) -> Result<Self, ObserveError> {
        use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
        let file = path.display().to_string();
        let io = |action, source| ObserveError::Io { file: file.clone(), action, source };
        let mut sink = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .await
            .map_err(|e| io("open", e))?;
        let len = sink.metadata().await.map_err(|e| io("read", e))?.len();
        if keep == 0 || keep > len {
            return Err(ObserveError::MissingHeader {
                file,
                found: format!("{len} bytes where {keep} were to be kept"),
            });
        }
        sink.set_len(keep).await.map_err(|e| io("truncate", e))?;
        sink.seek(std::io::SeekFrom::Start(keep - 1)).await.map_err(|e| io("read", e))?;
        let mut last = [0u8; 1];
        sink.read_exact(&mut last).await.map_err(|e| io("read", e))?;
        sink.seek(std::io::SeekFrom::End(0)).await.map_err(|e| io("write", e))?;
        if last[0] != b'\n' {
            // A last line written whole but for its `\n` (the run was killed
            // between the two): the reader took it as a record, so it stays.
            sink.write_all(b"\n").await.map_err(|e| io("write", e))?;
        }
        sink.flush().await.map_err(|e| io("write", e))?;
        Self::start(sink, file, None).await
    }

    async fn start<W>(sink: W, file: String, header: Option<Vec<u8>>) -> Result<Self, ObserveError>
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let mut out = Output {
            sink: BufWriter::with_capacity(BUFFER_BYTES, sink),
            file: file.clone(),
            summary: WriteSummary::default(),
            refused: None,
        };
        if let Some(header) = header {
            out.write(&header).await?;
            out.flush().await?;
        }
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let (finish, finish_rx) = oneshot::channel();
        let task = tokio::spawn(run(out, rx, finish_rx));
        Ok(Self { tx, finish, task, file })
    }

    /// A sender for producers of `port` and `filtered` records (clone it
    /// freely). `send` waits while the channel is full, and fails once the
    /// writer has finished or failed, which tells a producer to stop.
    ///
    /// Producers inside `select!` should `reserve()` a permit first and then
    /// `send` on it: a cancelled `Sender::send` drops its record unsent,
    /// while a permit, once obtained, sends without waiting. A header or a
    /// trailer sent here is refused like any record that breaks the
    /// contract (see the module docs).
    pub fn sender(&self) -> mpsc::Sender<Record> {
        self.tx.clone()
    }

    /// Writes every record already sent, then `trailer` as the last line,
    /// flushes, and returns what was written. Records sent after `finish`
    /// was called are refused to their producers (their `send` fails),
    /// never written after the trailer. If a record was refused during the
    /// run, no trailer is written and the first refusal is returned.
    ///
    /// # Cancel safety
    ///
    /// The trailer is handed to the writer task when `finish` is called, not
    /// when the returned future is first polled. So if that future is
    /// dropped unpolled or part-way (say, by a second Ctrl-C in a
    /// `select!`), the task still completes the file, trailer included;
    /// only the summary is lost. The runtime must stay up until then.
    pub fn finish(
        self,
        trailer: Trailer,
    ) -> impl Future<Output = Result<WriteSummary, ObserveError>> + Send + 'static {
        let Self { tx, finish, task, file } = self;
        // Fails only when the task has already ended, with an error or a
        // panic; awaiting it below says which.
        let _ = finish.send(trailer);
        async move {
            let result = task.await;
            // Held until the task is done, so the channel does not look
            // abandoned (all senders gone) to a task still writing.
            drop(tx);
            match result {
                Ok(done) => done,
                Err(e) => Err(ObserveError::WriterStopped { file, message: e.to_string() }),
            }
        }
    }
}

fn encode_header(file: &str, header: &Header) -> Result<Vec<u8>, ObserveError> {
    let record = Record::Header(header.clone());
    encode_line(&record).map_err(|invalid| ObserveError::Refused {
        file: file.to_owned(),
        kind: "header",
        invalid,
    })
}

/// The writer task: the only owner of the sink.
async fn run<W>(
    mut out: Output<W>,
    mut rx: mpsc::Receiver<Record>,
    mut finish: oneshot::Receiver<Trailer>,
) -> Result<WriteSummary, ObserveError>
where
    W: AsyncWrite + Unpin,
{
    // When the oldest unflushed record must be flushed, if any.
    let mut flush_at: Option<tokio::time::Instant> = None;
    let trailer = loop {
        let due = flush_at.unwrap_or_else(tokio::time::Instant::now);
        tokio::select! {
            // Records first: whatever is queued goes out before we look at
            // the finish signal (which also drains, so this is about
            // promptness, not correctness).
            biased;
            record = rx.recv() => match record {
                Some(record) => {
                    out.record(&record).await?;
                    while let Ok(record) = rx.try_recv() {
                        out.record(&record).await?;
                    }
                    let now = tokio::time::Instant::now();
                    // Checked here too: under a steady stream this branch
                    // always wins the biased select, and the timer's never
                    // would (found in review).
                    if flush_at.is_some_and(|at| at <= now) {
                        out.flush().await?;
                        flush_at = None;
                    } else {
                        flush_at.get_or_insert(now + FLUSH_AFTER);
                    }
                }
                // Every sender is gone, the writer's own included: it was
                // dropped without `finish`, or `finish` was cancelled after
                // handing over the trailer (it holds its sender until the
                // task ends otherwise). The trailer, if any, is waiting.
                None => break finish.try_recv().ok(),
            },
            // An error here means the `ObservationWriter` was dropped
            // without `finish`: end without a trailer.
            trailer = &mut finish => break trailer.ok(),
            () = tokio::time::sleep_until(due), if flush_at.is_some() => {
                out.flush().await?;
                flush_at = None;
            }
        }
    };
    // Refuse new records, then write the ones already accepted (and those of
    // producers holding a reserved permit), so the trailer comes last.
    rx.close();
    while let Some(record) = rx.recv().await {
        out.record(&record).await?;
    }
    if let Some(refused) = out.refused.take() {
        // A file missing a record must not claim to be whole: no trailer.
        out.flush().await?;
        return Err(refused);
    }
    let trailer = trailer.map(|t| encode_line(&Record::Trailer(t)));
    if let Some(Ok(line)) = &trailer {
        out.write(line).await?;
    }
    // Flushed in every case, so a refused trailer costs only the trailer.
    out.flush().await?;
    match trailer {
        Some(Err(invalid)) => {
            Err(ObserveError::Refused { file: out.file, kind: "trailer", invalid })
        }
        _ => Ok(out.summary),
    }
}

/// The buffered sink and its running counts.
struct Output<W> {
    sink: BufWriter<W>,
    file: String,
    summary: WriteSummary,
    /// The first record refused, reported by `finish`.
    refused: Option<ObserveError>,
}

impl<W: AsyncWrite + Unpin> Output<W> {
    /// Writes a record a producer sent (only `port` and `filtered` records
    /// may come through the channel), or skips and remembers it if it
    /// breaks the contract. Fails only when the sink does.
    async fn record(&mut self, record: &Record) -> Result<(), ObserveError> {
        let line = if matches!(record, Record::Header(_) | Record::Trailer(_)) {
            Err(super::InvalidRecord {
                field: "kind",
                problem: "came through the producers' channel; only `create` writes the header \
                          and only `finish` the trailer"
                    .to_owned(),
            })
        } else {
            encode_line(record)
        };
        let line = match line {
            Ok(line) => line,
            Err(invalid) => {
                if self.refused.is_none() {
                    let file = self.file.clone();
                    self.refused =
                        Some(ObserveError::Refused { file, kind: record.kind(), invalid });
                }
                return Ok(());
            }
        };
        self.write(&line).await?;
        match record {
            Record::Port(_) => self.summary.facts += 1,
            Record::Filtered(_) => self.summary.filtered += 1,
            Record::Tls(_) => self.summary.tls += 1,
            Record::Dns(_) => self.summary.dns += 1,
            Record::Header(_) | Record::Trailer(_) => {}
        }
        Ok(())
    }

    async fn write(&mut self, line: &[u8]) -> Result<(), ObserveError> {
        self.sink.write_all(line).await.map_err(|source| self.io(source))?;
        self.summary.lines += 1;
        // A line is at most 64 KiB, so its length always fits in a u64.
        self.summary.bytes += line.len() as u64;
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), ObserveError> {
        self.sink.flush().await.map_err(|source| self.io(source))
    }

    fn io(&self, source: std::io::Error) -> ObserveError {
        ObserveError::Io { file: self.file.clone(), action: "write", source }
    }
}

#[cfg(test)]
mod tests;
