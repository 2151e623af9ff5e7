//! The port lists of `filtered` lines, in nmap `-p` syntax (`1-21,23-1024`):
//! building them from the ports a scan found silent, split so no line grows
//! past the line limit, and parsing them back strictly.
//!
//! Invariant: a list this module writes or accepts is non-empty, ascending
//! and non-overlapping, with ports 1-65535, so its `count` is exact and two
//! lists can be compared as sets.

use std::net::IpAddr;

use super::observation::{FilteredSummary, Proto, Reason};
use crate::spec::ports::PortSet;

/// The longest `ports` text of one `filtered` line. Far under the line
/// limit; a host whose silent ports alternate with answering ones (the worst
/// case, about 190 KB as one list) takes a dozen lines.
pub const MAX_PORTS_TEXT: usize = 16 * 1024;

impl FilteredSummary {
    /// The `filtered` lines for the given silent ports of one host: sorted,
    /// merged into ranges and split into lists of at most [`MAX_PORTS_TEXT`]
    /// characters. Port 0 is never probed and is left out. No ports, no
    /// lines.
    pub fn from_ports(
        target: IpAddr,
        proto: Proto,
        ports: impl IntoIterator<Item = u16>,
        attempts: u8,
        reason: Reason,
    ) -> Vec<Self> {
        let set = PortSet::from_ranges(ports.into_iter().map(|p| (p, p)));
        let mut out = Vec::new();
        let mut text = String::new();
        let mut count = 0u32;
        for &(lo, hi) in set.ranges() {
            let piece = if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") };
            if !text.is_empty() && text.len() + 1 + piece.len() > MAX_PORTS_TEXT {
                let ports = std::mem::take(&mut text);
                out.push(Self { target, proto, count, ports, attempts, reason });
                count = 0;
            }
            if !text.is_empty() {
                text.push(',');
            }
            text.push_str(&piece);
            count += u32::from(hi) - u32::from(lo) + 1;
        }
        if !text.is_empty() {
            out.push(Self { target, proto, count, ports: text, attempts, reason });
        }
        out
    }

    /// The ports this line lists. Fails only for a line that was never
    /// checked (every line the reader returns parses).
    pub fn port_set(&self) -> Result<PortSet, String> {
        parse(&self.ports)
    }
}

/// Parses a `ports` list strictly: digits, `-` and `,` only, each port
/// 1-65535, ranges `a-b` with `a <= b`, every item above the one before.
pub(super) fn parse(text: &str) -> Result<PortSet, String> {
    if text.is_empty() {
        return Err("is empty, expected ports like \"1-21,23-1024\"".to_owned());
    }
    let mut ranges = Vec::new();
    let mut last: Option<u16> = None;
    for item in text.split(',') {
        let (lo, hi) = match item.split_once('-') {
            None => {
                let p = number(item)?;
                (p, p)
            }
            Some((a, b)) => (number(a)?, number(b)?),
        };
        if hi < lo {
            return Err(format!("has the backwards range {lo}-{hi}"));
        }
        if last.is_some_and(|l| lo <= l) {
            return Err(format!(
                "is not ascending and disjoint: {} comes after a port at or above it",
                super::check::quote(item)
            ));
        }
        last = Some(hi);
        ranges.push((lo, hi));
    }
    Ok(PortSet::from_ranges(ranges))
}

fn number(text: &str) -> Result<u16, String> {
    let bad = || format!("has {}, expected a port number 1-65535", super::check::quote(text));
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match text.parse::<u16>() {
        Ok(p) if p >= 1 => Ok(p),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{MAX_LINE_BYTES, Record, encode_line};

    fn summaries(ports: impl IntoIterator<Item = u16>) -> Vec<FilteredSummary> {
        let target = "198.18.10.10".parse().expect("literal address");
        FilteredSummary::from_ports(target, Proto::Tcp, ports, 2, Reason::NoResponse)
    }

    #[test]
    fn ports_become_ranges() {
        type Lines = &'static [(&'static str, u32)];
        let cases: [(Vec<u16>, Lines); 5] = [
            (vec![], &[]),
            (vec![0], &[]),
            (vec![22], &[("22", 1)]),
            (vec![25, 23, 24, 80, 22, 22, 443], &[("22-25,80,443", 6)]),
            (
                (1..=1024).filter(|p| *p != 22 && *p != 80 && *p != 443).collect(),
                &[("1-21,23-79,81-442,444-1024", 1021)],
            ),
        ];
        for (ports, want) in cases {
            let got: Vec<(String, u32)> =
                summaries(ports.clone()).into_iter().map(|s| (s.ports, s.count)).collect();
            let want: Vec<(String, u32)> =
                want.iter().map(|(p, c)| ((*p).to_owned(), *c)).collect();
            assert_eq!(got, want, "{ports:?}");
        }
    }

    #[test]
    fn long_lists_split_into_lines_under_the_limit() {
        // Every other port: the longest possible list.
        let all: Vec<u16> = (1..=u16::MAX).step_by(2).collect();
        let lines = summaries(all.iter().copied());
        assert!(lines.len() > 1);
        let mut seen = Vec::new();
        for s in &lines {
            assert!(s.ports.len() <= MAX_PORTS_TEXT);
            let encoded = encode_line(&Record::Filtered(s.clone())).expect("a valid line");
            assert!(encoded.len() <= MAX_LINE_BYTES);
            seen.extend(s.port_set().expect("parses").iter());
        }
        assert_eq!(seen, all);
        assert_eq!(lines.iter().map(|s| s.count).sum::<u32>(), 32768);
    }

    #[test]
    fn parse_is_strict() {
        let cases: &[(&str, Option<u32>)] = &[
            ("1", Some(1)),
            ("1-65535", Some(65535)),
            ("7-7", Some(1)),
            ("1,2,3", Some(3)),
            ("1-2,3", Some(3)),
            ("", None),
            (",", None),
            ("1,", None),
            ("0", None),
            ("65536", None),
            ("999999", None),
            ("+1", None),
            ("1 ", None),
            ("1--2", None),
            ("2-1", None),
            ("3,2", None),
            ("1-5,5", None),
            ("1-5,4-9", None),
            ("-5", None),
            ("٣", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).ok().map(|s| s.len()), *want, "{text:?}");
        }
    }
}
