//! Reading observation files back, for `verdict` and `compare`: strict about
//! everything a writer controls, tolerant of the one thing a killed run
//! leaves behind, a cut-off last line, which it reports instead of hiding.
//!
//! Rules, in order:
//! - a line longer than [`MAX_LINE_BYTES`] is refused, read no further than
//!   the limit;
//! - the first line must be a header with a [`SCHEMA_VERSION`] this build
//!   knows;
//! - a last line with no `\n` that is an incomplete JSON value (the parser
//!   ran out of input) is a cut-off line: it is skipped and its number is
//!   reported in [`ObservationFile::truncated_last_line`];
//! - every other line must be one valid record ([`Record::check`] included):
//!   no blank lines, no second header, nothing after the trailer;
//! - no trailer is fine (the run was killed): `trailer` is `None`.
//!
//! Invariant: no input makes this module panic or allocate more than one
//! line's worth beyond what it returns; the parsing is the same for a file
//! on disk ([`read`]) and for bytes in memory ([`parse`]).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::error::Category;

use super::check::quote;
use super::error::ObserveError;
use super::observation::{
    DnsFact, FilteredSummary, Header, MAX_LINE_BYTES, PortFact, Record, SCHEMA_VERSION, TlsFact,
    Trailer,
};

/// One observation file, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationFile {
    /// The header (always the first line).
    pub header: Header,
    /// Every `port` line, in file order.
    pub facts: Vec<PortFact>,
    /// Every `filtered` line, in file order.
    pub filtered: Vec<FilteredSummary>,
    /// Every `tls` line, in file order.
    pub tls: Vec<TlsFact>,
    /// Every `dns` line, in file order.
    pub dns: Vec<DnsFact>,
    /// The trailer, or `None` when the run was killed before writing it.
    pub trailer: Option<Trailer>,
    /// The 1-based number of a cut-off last line that was skipped, if any.
    pub truncated_last_line: Option<usize>,
}

impl ObservationFile {
    /// The run finished every planned probe and the file is whole: it has a
    /// trailer saying `complete` and no cut-off line.
    pub fn is_complete(&self) -> bool {
        self.truncated_last_line.is_none() && self.trailer.as_ref().is_some_and(|t| t.complete)
    }
}

/// Reads and checks the observation file at `path`, one bounded line at a
/// time, so a corrupt file with no line breaks costs at most one line
/// limit of memory before it is refused.
pub fn read(path: &Path) -> Result<ObservationFile, ObserveError> {
    let name = path.display().to_string();
    let io = |source| ObserveError::Io { file: name.clone(), action: "read", source };
    let mut input = BufReader::new(File::open(path).map_err(io)?);
    let mut parser = Parser::new(&name);
    let mut line = Vec::new();
    loop {
        line.clear();
        // One byte over the limit (with the `\n`) tells a line at the limit
        // from a longer one without reading the rest of it.
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut input).take(limit).read_until(b'\n', &mut line).map_err(io)?;
        if n == 0 {
            break;
        }
        let terminated = line.last() == Some(&b'\n');
        if terminated {
            line.pop();
        }
        parser.line(&line, terminated)?;
        if !terminated {
            // Under the limit without a `\n`: the end of the file.
            break;
        }
    }
    parser.finish()
}

/// Checks the bytes of an observation file held in memory; `name` is what
/// errors call the file.
pub fn parse(bytes: &[u8], name: &str) -> Result<ObservationFile, ObserveError> {
    let mut parser = Parser::new(name);
    let mut lines = bytes.split(|b| *b == b'\n').peekable();
    while let Some(line) = lines.next() {
        // `split` yields what follows the last `\n` as a final piece: empty
        // for a file that ends properly, a cut-off line otherwise.
        let terminated = lines.peek().is_some();
        if !terminated && line.is_empty() {
            break;
        }
        parser.line(line, terminated)?;
    }
    parser.finish()
}

/// The line-by-line state of a file being read.
struct Parser<'a> {
    file: &'a str,
    line: usize,
    header: Option<Header>,
    facts: Vec<PortFact>,
    filtered: Vec<FilteredSummary>,
    tls: Vec<TlsFact>,
    dns: Vec<DnsFact>,
    trailer: Option<(Trailer, usize)>,
    truncated: Option<usize>,
}

impl<'a> Parser<'a> {
    fn new(file: &'a str) -> Self {
        Self {
            file,
            line: 0,
            header: None,
            facts: Vec::new(),
            filtered: Vec::new(),
            tls: Vec::new(),
            dns: Vec::new(),
            trailer: None,
            truncated: None,
        }
    }

    /// Takes the next line, without its `\n`; `terminated` says whether it
    /// had one (only the last line of a file may not).
    fn line(&mut self, text: &[u8], terminated: bool) -> Result<(), ObserveError> {
        self.line += 1;
        if text.len() > MAX_LINE_BYTES {
            return Err(ObserveError::LineTooLong {
                file: self.file.to_owned(),
                line: self.line,
                limit: MAX_LINE_BYTES,
            });
        }
        let cut = !terminated && is_cut(text);
        if self.header.is_none() {
            return self.header_line(text, cut);
        }
        if let Some((_, trailer_line)) = self.trailer {
            let what = match serde_json::from_slice::<Record>(text) {
                Ok(record) => format!("a {:?} record", record.kind()),
                Err(_) if cut => "a cut-off line".to_owned(),
                Err(_) => "an unreadable line".to_owned(),
            };
            return Err(ObserveError::AfterTrailer {
                file: self.file.to_owned(),
                line: self.line,
                what,
                trailer_line,
            });
        }
        if text.iter().all(u8::is_ascii_whitespace) {
            return Err(self.malformed("a blank line; every line holds one record".to_owned()));
        }
        match serde_json::from_slice::<Record>(text) {
            Ok(record) => self.record(record),
            Err(_) if cut => {
                self.truncated = Some(self.line);
                Ok(())
            }
            Err(e) => Err(self.malformed(json_message(&e))),
        }
    }

    fn header_line(&mut self, text: &[u8], cut: bool) -> Result<(), ObserveError> {
        let missing =
            |found: String| ObserveError::MissingHeader { file: self.file.to_owned(), found };
        if cut {
            return Err(missing(
                "a cut-off line (the run stopped while writing its header)".to_owned(),
            ));
        }
        if text.iter().all(u8::is_ascii_whitespace) {
            return Err(missing("a blank line".to_owned()));
        }
        // Look at `kind` and `schema_version` before the other fields, so a
        // file from another tool or another format version gets an error
        // that says so, not one about a field it lacks.
        let value: Value =
            serde_json::from_slice(text).map_err(|e| self.malformed(json_message(&e)))?;
        match value.get("kind") {
            Some(Value::String(k)) if k == "header" => {}
            Some(Value::String(k)) => return Err(missing(format!("a {} record", quote(k)))),
            _ => return Err(missing("a line without a \"kind\" string".to_owned())),
        }
        if let Some(found) = value.get("schema_version").and_then(Value::as_u64)
            && found != u64::from(SCHEMA_VERSION)
        {
            return Err(ObserveError::UnsupportedSchema {
                file: self.file.to_owned(),
                line: self.line,
                found,
                supported: SCHEMA_VERSION,
            });
        }
        // Decoded from the bytes again, not from `value`, so the header goes
        // through exactly the decoder every other line does.
        let record: Record =
            serde_json::from_slice(text).map_err(|e| self.malformed(json_message(&e)))?;
        self.invalid(&record)?;
        match record {
            Record::Header(h) => {
                self.header = Some(h);
                Ok(())
            }
            // `kind` was "header", so the record decoded as a header.
            other => Err(missing(format!("a {:?} record", other.kind()))),
        }
    }

    fn record(&mut self, record: Record) -> Result<(), ObserveError> {
        if matches!(record, Record::Header(_)) {
            return Err(ObserveError::SecondHeader { file: self.file.to_owned(), line: self.line });
        }
        self.invalid(&record)?;
        match record {
            Record::Header(_) => {}
            Record::Port(p) => self.facts.push(p),
            Record::Filtered(f) => self.filtered.push(f),
            Record::Tls(t) => self.tls.push(t),
            Record::Dns(d) => self.dns.push(d),
            Record::Trailer(t) => self.trailer = Some((t, self.line)),
        }
        Ok(())
    }

    fn invalid(&self, record: &Record) -> Result<(), ObserveError> {
        record.check().map_err(|invalid| ObserveError::Invalid {
            file: self.file.to_owned(),
            line: self.line,
            kind: record.kind(),
            invalid,
        })
    }

    fn malformed(&self, message: String) -> ObserveError {
        ObserveError::Malformed { file: self.file.to_owned(), line: self.line, message }
    }

    fn finish(self) -> Result<ObservationFile, ObserveError> {
        let Some(header) = self.header else {
            return Err(ObserveError::MissingHeader {
                file: self.file.to_owned(),
                found: "an empty file".to_owned(),
            });
        };
        Ok(ObservationFile {
            header,
            facts: self.facts,
            filtered: self.filtered,
            tls: self.tls,
            dns: self.dns,
            trailer: self.trailer.map(|(t, _)| t),
            truncated_last_line: self.truncated,
        })
    }
}

/// A line is cut off when the JSON parser runs out of input in the middle of
/// a value: what a killed writer leaves. Junk fails differently (a syntax
/// error), and is not tolerated even as the last line.
fn is_cut(text: &[u8]) -> bool {
    serde_json::from_slice::<IgnoredAny>(text).is_err_and(|e| e.classify() == Category::Eof)
}

/// serde_json's message with the column, without its "line 1" (we parse one
/// line at a time, so the line number is ours).
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let text = full.rsplit_once(" at line ").map_or(full.as_str(), |(m, _)| m);
    if e.column() == 0 { text.to_owned() } else { format!("{text} (column {})", e.column()) }
}

#[cfg(test)]
mod tests;
