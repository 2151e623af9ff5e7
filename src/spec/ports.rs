//! Port sets: sorted, disjoint, inclusive ranges of ports 1-65535.
//!
//! Invariant: `ranges` is sorted, its ranges are disjoint and non-adjacent
//! (merged), and no range contains port 0. Every constructor keeps it.

use std::fmt;

/// A set of TCP or UDP ports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PortSet {
    ranges: Vec<(u16, u16)>,
    cumulative: Vec<u32>,
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

    /// A set of the given inclusive ranges (sorted and merged once, so a
    /// list of 60,000 single ports costs O(n log n), not O(n²)).
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u16, u16)>) -> Self {
        let mut set = Self {
            ranges: ranges.into_iter().filter(|(lo, hi)| *lo >= 1 && lo <= hi).collect(),
            cumulative: Vec::new(),
        };
        set.normalize();
        set
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
        let mut total = 0;
        self.cumulative = self
            .ranges
            .iter()
            .map(|(lo, hi)| {
                total += u32::from(*hi) - u32::from(*lo) + 1;
                total
            })
            .collect();
    }

    /// Number of ports.
    pub fn len(&self) -> u32 {
        self.cumulative.last().copied().unwrap_or(0)
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
    pub fn nth(&self, i: u32) -> Option<u16> {
        let r = self.cumulative.partition_point(|c| *c <= i);
        let (lo, _) = self.ranges.get(r)?;
        let before = if r == 0 { 0 } else { self.cumulative[r - 1] };
        u16::try_from(u32::from(*lo) + (i - before)).ok()
    }

    /// The ports of `self` not in `other`.
    pub fn difference(&self, other: &Self) -> Self {
        let mut out = Vec::new();
        let mut j = 0;
        for &(lo, hi) in &self.ranges {
            while other.ranges.get(j).is_some_and(|&(_, b)| b < lo) {
                j += 1;
            }
            let mut cur = u32::from(lo);
            for &(a, b) in other.ranges.get(j..).unwrap_or(&[]) {
                if a > hi {
                    break;
                }
                if u32::from(a) > cur {
                    out.push((cur, u32::from(a) - 1));
                }
                cur = cur.max(u32::from(b) + 1);
            }
            if cur <= u32::from(hi) {
                out.push((cur, u32::from(hi)));
            }
        }
        // Every bound above lies within 1..=65535, so the conversions hold.
        Self::from_ranges(
            out.into_iter()
                .filter_map(|(a, b)| Some((u16::try_from(a).ok()?, u16::try_from(b).ok()?))),
        )
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
        let sweep = PortSet::from_ranges([(1, 100), (443, 443)]);
        let flows = PortSet::from_ranges([
            (22, 22),
            (80, 90),
            (100, 110),
            (443, 443),
            (8443, 8443),
            (65535, 65535),
        ]);
        assert_eq!(flows.difference(&sweep).to_string(), "101-110,8443,65535");
        assert_eq!(sweep.difference(&PortSet::new()), sweep);
        assert!(sweep.difference(&sweep).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn difference_and_nth_agree_with_membership(
            a in proptest::collection::vec((1u16..200, 0u16..20), 0..8),
            b in proptest::collection::vec((1u16..200, 0u16..20), 0..8),
        ) {
            let a = PortSet::from_ranges(a.into_iter().map(|(lo, len)| (lo, lo + len)));
            let b = PortSet::from_ranges(b.into_iter().map(|(lo, len)| (lo, lo + len)));
            let d = a.difference(&b);
            for p in 1u16..230 {
                proptest::prop_assert_eq!(d.contains(p), a.contains(p) && !b.contains(p));
            }
            let listed: Vec<u16> = (0..a.len()).filter_map(|i| a.nth(i)).collect();
            proptest::prop_assert_eq!(listed, a.iter().collect::<Vec<_>>());
        }
    }
}
