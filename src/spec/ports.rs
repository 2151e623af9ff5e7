//! Port sets: sorted, disjoint, inclusive ranges of ports 1-65535.
//!
//! Invariant: `ranges` is sorted, its ranges are disjoint and non-adjacent
//! (merged), and no range contains port 0. Every constructor keeps it.

use std::fmt;

/// A set of TCP or UDP ports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PortSet {
    ranges: Vec<(u16, u16)>,
}

/// Why a port or range was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// Not a number or `a-b`.
    #[error("not a port number or a range like \"8000-8100\"")]
    Malformed,
    /// Outside 1-65535.
    #[error("port {0} is out of range")]
    OutOfRange(i128),
    /// `b < a` in `a-b`.
    #[error("range {0}-{1} runs backwards")]
    Backwards(u16, u16),
}

/// Parses a port number as written in a spec.
pub fn port_number(n: i128) -> Result<u16, PortError> {
    match u16::try_from(n) {
        Ok(p) if p >= 1 => Ok(p),
        _ => Err(PortError::OutOfRange(n)),
    }
}

/// Parses `"443"` or `"8000-8100"`.
pub fn port_range(text: &str) -> Result<(u16, u16), PortError> {
    let text = text.trim();
    let parse = |s: &str| -> Result<u16, PortError> {
        let s = s.trim();
        if s.is_empty() || s.len() > 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PortError::Malformed);
        }
        let n: i128 = s.parse().map_err(|_| PortError::Malformed)?;
        port_number(n)
    };
    match text.split_once('-') {
        None => parse(text).map(|p| (p, p)),
        Some((a, b)) => {
            let (a, b) = (parse(a)?, parse(b)?);
            if b < a { Err(PortError::Backwards(a, b)) } else { Ok((a, b)) }
        }
    }
}

impl PortSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds ports `lo..=hi` (`1 <= lo <= hi`).
    pub fn insert_range(&mut self, lo: u16, hi: u16) {
        let (lo, hi) = (lo.max(1), hi);
        if hi < lo {
            return;
        }
        self.ranges.push((lo, hi));
        self.normalize();
    }

    /// Adds every port of `other`.
    pub fn extend(&mut self, other: &Self) {
        self.ranges.extend_from_slice(&other.ranges);
        self.normalize();
    }

    fn normalize(&mut self) {
        self.ranges.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(self.ranges.len());
        for &(lo, hi) in &self.ranges {
            match merged.last_mut() {
                Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        self.ranges = merged;
    }

    /// Number of ports.
    pub fn len(&self) -> u32 {
        self.ranges.iter().map(|(lo, hi)| u32::from(*hi) - u32::from(*lo) + 1).sum()
    }

    /// Whether the set has no port.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        self.ranges
            .binary_search_by(|&(lo, hi)| {
                if hi < port {
                    std::cmp::Ordering::Less
                } else if lo > port {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
    }

    /// Whether every port of `other` is in `self`.
    pub fn is_superset(&self, other: &Self) -> bool {
        other.ranges.iter().all(|&(lo, hi)| self.ranges.iter().any(|&(a, b)| a <= lo && hi <= b))
    }

    /// The ports in both sets.
    pub fn intersection(&self, other: &Self) -> Self {
        let mut out = Self::new();
        for &(a, b) in &self.ranges {
            for &(c, d) in &other.ranges {
                let (lo, hi) = (a.max(c), b.min(d));
                if lo <= hi {
                    out.ranges.push((lo, hi));
                }
            }
        }
        out.normalize();
        out
    }

    /// The `i`-th smallest port (0-based), if `i < len()`.
    pub fn nth(&self, mut i: u32) -> Option<u16> {
        for &(lo, hi) in &self.ranges {
            let n = u32::from(hi) - u32::from(lo) + 1;
            if i < n {
                return u16::try_from(u32::from(lo) + i).ok();
            }
            i -= n;
        }
        None
    }

    /// The ranges, sorted.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    /// Every port, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.ranges.iter().flat_map(|&(lo, hi)| lo..=hi)
    }
}

impl fmt::Display for PortSet {
    /// `22,80,443,8000-8100`, as nmap's `-p` takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (lo, hi)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi { write!(f, "{lo}")? } else { write!(f, "{lo}-{hi}")? }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_merges() {
        assert_eq!(port_range("1-1024"), Ok((1, 1024)));
        assert_eq!(port_range(" 3306 "), Ok((3306, 3306)));
        assert_eq!(port_range("0"), Err(PortError::OutOfRange(0)));
        assert_eq!(port_range("70000"), Err(PortError::OutOfRange(70000)));
        assert_eq!(port_range("100-10"), Err(PortError::Backwards(100, 10)));
        assert_eq!(port_range("1-2-3"), Err(PortError::Malformed));
        assert_eq!(port_range("http"), Err(PortError::Malformed));
        assert_eq!(port_range("-5"), Err(PortError::Malformed));
        let mut s = PortSet::new();
        s.insert_range(80, 80);
        s.insert_range(1, 79);
        s.insert_range(443, 443);
        assert_eq!(s.to_string(), "1-80,443");
        assert_eq!(s.len(), 81);
        assert_eq!(s.nth(80), Some(443));
        assert_eq!(s.nth(81), None);
        assert!(s.contains(443) && !s.contains(444));
    }
}
