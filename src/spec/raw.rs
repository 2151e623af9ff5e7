//! The spec as YAML wrote it: a tree of located nodes, read with serde-saphyr.
//!
//! This is the one place in `spec` that touches serde. We deserialize into a
//! generic tree (`Node`) instead of straight into typed structs because serde
//! stops at the first error, and a spec author must see *every* problem at
//! once (unknown keys, wrong types, bad names) with its line and column. The
//! typed walk over this tree is in `shape`.
//!
//! Invariants: parsing is bounded. Input over `MAX_SPEC_BYTES` is refused
//! before parsing; nesting depth, alias expansion and event counts are capped
//! by serde-saphyr's `Budget`, so a billion-laughs bomb or a 10,000-deep
//! nesting is a diagnostic, never a hang or a stack overflow. The tree's own
//! recursion is bounded by the same depth cap.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::diag::{Diagnostic, Location};

/// Specs larger than this are refused unread: a real spec is kilobytes, and a
/// 50 MB file is a mistake or an attack.
pub const MAX_SPEC_BYTES: usize = 4 * 1024 * 1024;

/// Deepest nesting accepted. The deepest legitimate spec path is about six levels.
const MAX_DEPTH: usize = 32;

/// A YAML node with the position it starts at.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's value.
    pub value: Value,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// What a node holds. Scalars keep YAML's core-schema type so that a quoted
/// `"443"` and a bare `443` can be told apart where it matters.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `true` / `false`.
    Bool(bool),
    /// A floating-point scalar.
    Float(f64),
    /// An integer scalar (any width YAML can write).
    Int(i128),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
    /// `~`, `null` or an empty value.
    Null,
    /// A sequence.
    Seq(Vec<Node>),
    /// A string scalar.
    Str(String),
}

impl Node {
    /// A short rendering of the node for messages: scalars as written, collections by kind.
    pub fn show(&self) -> String {
        match &self.value {
            Value::Bool(b) => b.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Map(_) => "a mapping".to_owned(),
            Value::Null => "null".to_owned(),
            Value::Seq(_) => "a list".to_owned(),
            Value::Str(s) => {
                let mut shown: String = s.chars().take(80).collect();
                if shown.len() < s.len() {
                    shown.push('…');
                }
                shown
            }
        }
    }

    /// The YAML type's name, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Bool(_) => "a boolean",
            Value::Float(_) => "a number",
            Value::Int(_) => "an integer",
            Value::Map(_) => "a mapping",
            Value::Null => "nothing (null)",
            Value::Seq(_) => "a list",
            Value::Str(_) => "a string",
        }
    }

    /// The location of this node in `file`.
    pub fn at(&self, file: &Arc<str>) -> Location {
        Location::new(file, self.line, self.column)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<Value>::deserialize(deserializer)?;
        let loc = spanned.referenced;
        Ok(Self {
            value: spanned.value,
            line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
            column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i128::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

/// Parses one spec file's bytes into a tree, or explains why not.
///
/// Never panics, whatever the bytes; the error names the file, line and column
/// serde-saphyr reports.
pub fn parse(file: &Arc<str>, bytes: &[u8]) -> Result<Node, Diagnostic> {
    let whole = Location::new(file, 0, 0);
    if bytes.len() > MAX_SPEC_BYTES {
        return Err(Diagnostic::error(
            "spec-too-large",
            whole,
            format!("the spec is {} bytes, larger than any real spec", bytes.len()),
        )
        .expected(format!("at most {MAX_SPEC_BYTES} bytes")));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let column = good.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            return Err(Diagnostic::error(
                "not-utf8",
                Location::new(file, to_u32(line), to_u32(column)),
                "the spec is not valid UTF-8 text",
            )
            .expected("a UTF-8 YAML document"));
        }
    };
    if text.trim().is_empty()
        || text.lines().all(|l| l.trim_start().starts_with('#') || l.trim().is_empty())
    {
        return Err(Diagnostic::error("empty-spec", whole, "the spec is empty")
            .expected("a YAML mapping starting with `version: 1`"));
    }
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_events = 3_000_000;
    // A spec of 20,000 hosts and 5,000 flows is about 300,000 nodes; a
    // million bounds the tree (a few bytes of input per node) well under
    // 100 MiB even for the densest 4 MiB input.
    budget.max_nodes = 1_000_000;
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    alias_limits.max_total_replayed_events = 100_000;
    alias_limits.max_replay_stack_depth = 16;
    alias_limits.max_alias_expansions_per_anchor = 100;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits = alias_limits;
    options.strict_booleans = true;
    options.with_snippet = false;
    match serde_saphyr::from_str_with_options::<Node>(text, options) {
        Ok(node) => Ok(node),
        Err(e) => {
            let (line, column) =
                e.location().map_or((0, 0), |l| (to_u32(l.line()), to_u32(l.column())));
            let message = e.without_snippet().to_string();
            // serde-saphyr appends " at line X column Y" to some messages; the
            // location is already ours to print.
            let mut message =
                message.split(" at line ").next().unwrap_or(&message).trim().to_owned();
            if let Some(what) = message.strip_prefix("budget breached: ") {
                message =
                    format!("the document exceeds a safety limit of the YAML reader ({what})");
            }
            // Keep library advice meant for programmers out of a user's error.
            if let Some(i) = message.find(", set DuplicateKeyPolicy") {
                message.truncate(i);
                message.push_str(" (YAML allows each key once per mapping)");
            }
            Err(Diagnostic::error(
                "yaml",
                Location::new(file, line, column),
                format!("invalid YAML: {message}"),
            )
            .expected("a well-formed YAML document"))
        }
    }
}

fn to_u32<T: TryInto<u32>>(n: T) -> u32 {
    n.try_into().unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Arc<str> {
        Arc::from("t.yaml")
    }

    #[test]
    fn keeps_positions_and_types() {
        let node = parse(&file(), b"version: 1\nzones:\n  dmz: { cidrs: [198.18.10.0/24] }\n")
            .expect("parses");
        let Value::Map(entries) = &node.value else { panic!("not a map: {node:?}") };
        assert_eq!(entries[0].1.value, Value::Int(1));
        assert_eq!((entries[0].1.line, entries[0].1.column), (1, 10));
        let Value::Map(zones) = &entries[1].1.value else { panic!("zones") };
        assert_eq!(zones[0].0.value, Value::Str("dmz".into()));
        assert_eq!((zones[0].0.line, zones[0].0.column), (3, 3));
    }

    #[test]
    fn hostile_inputs_are_diagnostics() {
        let laughs = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
        let deep = "[".repeat(100_000);
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("comments only", b"# nothing\n\n".to_vec()),
            ("junk", (0u8..=255).cycle().take(4096).collect()),
            ("laughs", laughs.as_bytes().to_vec()),
            ("deep", deep.into_bytes()),
            ("huge", vec![b'a'; MAX_SPEC_BYTES + 1]),
            ("tab", b"version: 1\n\tzones: {}\n".to_vec()),
        ];
        for (name, bytes) in cases {
            let err = parse(&file(), &bytes).expect_err(name);
            assert_eq!(err.severity, super::super::diag::Severity::Error, "{name}");
        }
    }
}
