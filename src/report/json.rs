//! `--format json`: the findings `Document` exactly as its serde contract
//! says (`report::document`, `specs/findings.schema.json`), pretty-printed,
//! ending with a newline.

use std::io::{self, Write};

use super::document::Document;

/// Writes `doc` as JSON.
pub fn write(doc: &Document, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc).map_err(io::Error::other)?;
    writeln!(out)
}
