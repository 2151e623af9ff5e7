//! Diagnostics: one problem in a spec, with where it is and what was expected.
//!
//! Every check in `spec` pushes `Diagnostic`s into a list instead of returning
//! at the first problem, so a user fixes a spec in one round trip (rust-analyzer's
//! `(T, Vec<Error>)` habit). A diagnostic always names a file; line and column
//! are 1-based and are 0 only when the problem concerns the file as a whole.

use std::fmt;
use std::sync::Arc;

/// Where something sits in a spec file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// The spec file, as the user named it (or as an `include:` resolved it).
    pub file: Arc<str>,
    /// 1-based line; 0 when unknown.
    pub line: u32,
    /// 1-based column; 0 when unknown.
    pub column: u32,
}

impl Location {
    /// A location in `file` at `line`:`column`.
    pub fn new(file: &Arc<str>, line: u32, column: u32) -> Self {
        Self { file: Arc::clone(file), line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The spec is refused.
    Error,
    /// The spec is accepted, but probably not what its author meant.
    Warning,
}

impl Severity {
    /// The lower-case name used in human and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// One problem found in a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable, kebab-case identifier of the kind of problem (`unknown-key`,
    /// `overlapping-cidrs`...), for tools and for `--strict` exceptions.
    pub code: &'static str,
    /// Where the problem is.
    pub location: Location,
    /// What we found there, as written in the spec, when there is one value to show.
    pub value: Option<String>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What would have been accepted.
    pub expected: Option<String>,
}

impl Diagnostic {
    /// An error at `location`.
    pub fn error(code: &'static str, location: Location, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            location,
            value: None,
            message: message.into(),
            expected: None,
        }
    }

    /// A warning at `location`.
    pub fn warning(code: &'static str, location: Location, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(code, location, message) }
    }

    /// Records the offending value.
    #[must_use]
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Records what would have been accepted.
    #[must_use]
    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}[{}]: {}",
            self.location,
            self.severity.as_str(),
            self.code,
            self.message
        )?;
        if let Some(value) = &self.value {
            write!(f, " (found {value:?})")?;
        }
        if let Some(expected) = &self.expected {
            write!(f, "; expected {expected}")?;
        }
        Ok(())
    }
}

/// At most this many diagnostics are kept per stage; the rest are counted
/// and summarized, so a hostile spec that is wrong a million times over
/// cannot make the report (or its memory) a million lines long.
pub const MAX_DIAGNOSTICS: usize = 1_000;

/// A bounded collection of diagnostics.
#[derive(Debug, Default)]
pub struct Diags {
    list: Vec<Diagnostic>,
    errors: usize,
    omitted: usize,
    overflow: Option<Diagnostic>,
}

impl Diags {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `d` and returns it for amending; past `MAX_DIAGNOSTICS` it is
    /// counted, and the returned reference is to a scratch slot.
    pub fn push(&mut self, d: Diagnostic) -> &mut Diagnostic {
        if d.severity == Severity::Error {
            self.errors += 1;
        }
        if self.list.len() < MAX_DIAGNOSTICS {
            self.list.push(d);
            let last = self.list.len() - 1;
            &mut self.list[last]
        } else {
            self.omitted += 1;
            self.overflow.insert(d)
        }
    }

    /// Errors recorded, including any not kept.
    pub fn errors(&self) -> usize {
        self.errors
    }

    /// The kept diagnostics, plus one saying how many were left out.
    pub fn finish(self, file: &Arc<str>) -> Vec<Diagnostic> {
        let mut list = self.list;
        if self.omitted > 0 {
            let severity = if self.errors > 0 { Severity::Error } else { Severity::Warning };
            list.push(Diagnostic {
                severity,
                code: "too-many-diagnostics",
                location: Location::new(file, 0, 0),
                value: None,
                message: format!(
                    "{} more problems are not shown; fix the ones above and run again",
                    self.omitted
                ),
                expected: None,
            });
        }
        list
    }
}

/// Suggests the candidate closest to `word`, if one is close enough to be a
/// plausible typo (edit distance at most a third of the word, and at least 1).
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Spec names are at most 64 characters, and the Levenshtein distance is
    // O(n·m): don't compare hostile megabyte-long words, or thousands of
    // candidates, where a suggestion would not help anyway.
    const MAX_CANDIDATES: usize = 2_000;
    let limit = (word.chars().count() / 3).max(1);
    if word.len() > 80 {
        return None;
    }
    candidates
        .into_iter()
        .take(MAX_CANDIDATES)
        .filter(|c| c.len().abs_diff(word.len()) <= limit)
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars; spec names are short, so O(n·m) is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Formats a list of names for an `expected` text: `one of: a, b, c`.
pub(crate) fn one_of<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    // Ten names help; ten thousand bury the message.
    const SHOWN: usize = 10;
    let mut names: Vec<&str> = names.into_iter().collect();
    let more = names.len().saturating_sub(SHOWN);
    names.truncate(SHOWN);
    if more > 0 {
        return format!("one of: {}, ... ({more} more)", names.join(", "));
    }
    if names.is_empty() {
        "a declared name (none are declared)".to_owned()
    } else {
        format!("one of: {}", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("dmzz", ["dmz", "app", "internet"]), Some("dmz"));
        assert_eq!(did_you_mean("zonez", ["zones", "hosts"]), Some("zones"));
        assert_eq!(did_you_mean("qqqq", ["dmz", "app"]), None);
    }
}
