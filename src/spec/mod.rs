//! The intent spec: YAML in, a validated `Intent` (or every problem) out.
//!
//! Stages: `raw` reads bytes into a located YAML tree (bounded, never
//! panics), `shape` walks it into structs that mirror the YAML (unknown keys,
//! wrong types), `resolve` turns those into an `Intent` (names, CIDRs, ports,
//! dates, overlaps). Every stage collects all problems. Warnings about a valid
//! intent live in `crate::lint`, which needs the planner.
//!
//! This module is pure apart from reading the spec file and its includes.

pub mod diag;
pub mod intent;
pub mod ports;
pub mod raw;
pub mod resolve;
pub mod shape;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use diag::{Diagnostic, Location, Severity};
pub use intent::Intent;

/// How many files one spec may include (an included file cannot include).
const MAX_INCLUDES: usize = 64;

/// The result of loading a spec: the intent when it is valid, and every
/// diagnostic found on the way (errors and, from `lint`, warnings).
#[derive(Debug)]
pub struct Loaded {
    /// The intent, present exactly when no diagnostic is an error.
    pub intent: Option<Intent>,
    /// Every problem found, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// `sha256:<hex>` of the spec's bytes and, in order, its includes':
    /// what observation files record, so a verdict can refuse files made
    /// from another version of the spec.
    pub digest: String,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }
}

/// Reads a spec or included file: a regular file of at most
/// `raw::MAX_SPEC_BYTES` (one byte more is read, to tell "too large"), so
/// `include: [/dev/zero]` or a FIFO is refused instead of read forever.
pub fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut bytes = Vec::new();
    let limit = u64::try_from(raw::MAX_SPEC_BYTES).unwrap_or(u64::MAX).saturating_add(1);
    std::fs::File::open(path)?.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads, parses and resolves the spec at `path` and the files it includes.
///
/// Never panics on any file content; a file that cannot be read is a
/// diagnostic too (the spec is the user's input, so its absence is their
/// problem to fix, and it is reported the same way as a typo).
pub fn load(path: &Path) -> Loaded {
    load_with(path, &mut read_bounded)
}

/// Like `load`, reading the spec and its includes with `read` (given each
/// file's path as `load` would open it): how an agent loads the files a
/// controller sent, and how the controller collects them to send.
pub fn load_with(path: &Path, read: &mut dyn FnMut(&Path) -> std::io::Result<Vec<u8>>) -> Loaded {
    let file: Arc<str> = Arc::from(path.display().to_string());
    match read(path) {
        Ok(bytes) => load_bytes_with(path, &file, &bytes, read),
        Err(e) => Loaded {
            intent: None,
            digest: String::new(),
            diagnostics: vec![
                Diagnostic::error(
                    "unreadable",
                    Location::new(&file, 0, 0),
                    format!("cannot read the spec: {e}"),
                )
                .expected("a readable YAML file"),
            ],
        },
    }
}

/// Like `load`, for a spec already in memory; `path` locates its includes.
pub fn load_bytes(path: &Path, file: &Arc<str>, bytes: &[u8]) -> Loaded {
    load_bytes_with(path, file, bytes, &mut read_bounded)
}

fn load_bytes_with(
    path: &Path,
    file: &Arc<str>,
    bytes: &[u8],
    read: &mut dyn FnMut(&Path) -> std::io::Result<Vec<u8>>,
) -> Loaded {
    let mut files: Vec<Vec<u8>> = Vec::new();
    let mut diagnostics = diag::Diags::new();
    let node = match raw::parse(file, bytes) {
        Ok(node) => node,
        Err(d) => return Loaded { intent: None, diagnostics: vec![d], digest: digest([bytes]) },
    };
    let spec = shape::Walker::new(Arc::clone(file), &mut diagnostics).spec(&node);
    // The tree can be large; the shape walk copied what it needs.
    drop(node);
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut includes = Vec::new();
    for inc in spec.include.iter().take(MAX_INCLUDES) {
        let inc_path: PathBuf = dir.join(&inc.value);
        let inc_file: Arc<str> = Arc::from(inc_path.display().to_string());
        let bytes = match read(&inc_path) {
            Ok(b) => b,
            Err(e) => {
                let message = format!("cannot read included file {}: {e}", inc_path.display());
                diagnostics.push(
                    Diagnostic::error("unreadable", inc.at.clone(), message)
                        .value(inc.value.clone())
                        .expected("a regular file, relative to the spec file"),
                );
                continue;
            }
        };
        let parsed = raw::parse(&inc_file, &bytes);
        files.push(bytes);
        match parsed {
            Ok(node) => {
                let raw =
                    shape::Walker::new(Arc::clone(&inc_file), &mut diagnostics).include(&node);
                includes.push((inc_file, raw));
            }
            Err(d) => {
                diagnostics.push(d);
            }
        }
    }
    if let Some(extra) = spec.include.get(MAX_INCLUDES) {
        diagnostics.push(
            Diagnostic::error("too-many-includes", extra.at.clone(), "too many included files")
                .expected(format!("at most {MAX_INCLUDES}")),
        );
    }
    let intent = resolve::resolve(path, &spec, &includes, &mut diagnostics);
    // An intent exists only for a spec without a single error, whichever
    // stage found it.
    let intent = intent.filter(|_| diagnostics.errors() == 0);
    let mut diagnostics = diagnostics.finish(file);
    sort(&mut diagnostics);
    let digest = digest(std::iter::once(bytes).chain(files.iter().map(Vec::as_slice)));
    Loaded { intent, diagnostics, digest }
}

/// The digest observation files record (`spec_digest`): `sha256:` and the
/// hex SHA-256 over each file's bytes in order (the spec, then its includes
/// as loaded), each preceded by its length as 8 big-endian bytes, so that
/// moving bytes from one file to the next changes the digest.
pub fn digest<'a>(files: impl IntoIterator<Item = &'a [u8]>) -> String {
    use sha2::Digest as _;
    let mut hash = sha2::Sha256::new();
    for file in files {
        // A `usize` always fits in a `u64` on the platforms Rust supports.
        hash.update((file.len() as u64).to_be_bytes());
        hash.update(file);
    }
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in hash.finalize() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Sorts diagnostics by file, line and column, keeping the order of equals.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| a.location.cmp(&b.location));
}
