//! Address ranges: sorted, disjoint sets of IPv4 and IPv6 addresses, with
//! O(log n) membership and index-to-address lookup.
//!
//! Addresses map to keys (family flag, `u128` value), so the two families
//! never collide and IPv4 sorts first. Invariant: `ranges` is sorted by start, disjoint, merged, and
//! `cumulative[i]` is the number of addresses in `ranges[..=i]`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;

/// A set of addresses as inclusive key ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddrRanges {
    ranges: Vec<(Key, Key)>,
    cumulative: Vec<u128>,
}

/// An address as a sortable key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    v6: bool,
    n: u128,
}

fn key(addr: IpAddr) -> Key {
    match addr {
        IpAddr::V4(a) => Key { v6: false, n: u128::from(u32::from(a)) },
        IpAddr::V6(a) => Key { v6: true, n: u128::from(a) },
    }
}

fn addr(k: Key) -> IpAddr {
    if k.v6 {
        IpAddr::V6(Ipv6Addr::from(k.n))
    } else {
        // Invariant: IPv4 keys come from a u32.
        IpAddr::V4(Ipv4Addr::from(u32::try_from(k.n).unwrap_or(u32::MAX)))
    }
}

fn span(net: &IpNetwork) -> (Key, Key) {
    match net {
        IpNetwork::V4(n) => {
            let lo = u32::from(n.network());
            let hi = u32::from(n.broadcast());
            (Key { v6: false, n: lo.into() }, Key { v6: false, n: hi.into() })
        }
        IpNetwork::V6(n) => {
            let lo = u128::from(n.network());
            let host_bits = 128 - u32::from(n.prefix());
            let hi = if host_bits == 128 { u128::MAX } else { lo | ((1u128 << host_bits) - 1) };
            (Key { v6: true, n: lo }, Key { v6: true, n: hi })
        }
    }
}

impl AddrRanges {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The set of the given networks and single addresses, merged once.
    pub fn from_parts(
        nets: impl IntoIterator<Item = IpNetwork>,
        addrs: impl IntoIterator<Item = IpAddr>,
    ) -> Self {
        let mut out = Self::new();
        out.ranges.extend(nets.into_iter().map(|n| span(&n)));
        out.ranges.extend(addrs.into_iter().map(|a| (key(a), key(a))));
        out.normalize();
        out
    }

    /// The addresses of `self` that are not in `other`, in one linear pass.
    pub fn difference(&self, other: &Self) -> Self {
        let mut out = Self::new();
        let mut j = 0;
        for &(lo, hi) in &self.ranges {
            while other.ranges.get(j).is_some_and(|&(_, b)| b < lo) {
                j += 1;
            }
            // `cur` is the first address of `lo..=hi` not yet decided. Both
            // lists are sorted and disjoint, and a range never spans two
            // families, so every key compared below is in `lo`'s family.
            let mut cur = lo;
            let mut covered_to_end = false;
            for &(a, b) in other.ranges.get(j..).unwrap_or(&[]) {
                if a > hi {
                    break;
                }
                if a > cur {
                    out.ranges.push((cur, Key { n: a.n - 1, ..a }));
                }
                if b >= hi {
                    covered_to_end = true;
                    break;
                }
                // b < hi, so b + 1 cannot overflow.
                cur = Key { n: b.n + 1, ..b };
            }
            if !covered_to_end {
                out.ranges.push((cur, hi));
            }
        }
        out.normalize();
        out
    }

    fn normalize(&mut self) {
        self.ranges.sort_unstable();
        let mut merged: Vec<(Key, Key)> = Vec::with_capacity(self.ranges.len());
        for &(lo, hi) in &self.ranges {
            match merged.last_mut() {
                Some(last) if last.1.v6 == lo.v6 && lo.n <= last.1.n.saturating_add(1) => {
                    last.1 = last.1.max(hi);
                }
                _ => merged.push((lo, hi)),
            }
        }
        self.ranges = merged;
        let mut total: u128 = 0;
        self.cumulative = self
            .ranges
            .iter()
            .map(|(lo, hi)| {
                total = total.saturating_add((hi.n - lo.n).saturating_add(1));
                total
            })
            .collect();
    }

    /// The addresses in any of `sets`, merged once.
    pub fn union_of<'a>(sets: impl IntoIterator<Item = &'a Self>) -> Self {
        let mut out = Self::new();
        for s in sets {
            out.ranges.extend_from_slice(&s.ranges);
        }
        out.normalize();
        out
    }

    /// The addresses in either set.
    pub fn union(&self, other: &Self) -> Self {
        let mut out = Self::new();
        out.ranges.extend_from_slice(&self.ranges);
        out.ranges.extend_from_slice(&other.ranges);
        out.normalize();
        out
    }

    /// The addresses in both sets.
    pub fn intersection(&self, other: &Self) -> Self {
        let mut out = Self::new();
        let (mut i, mut j) = (0, 0);
        while let (Some(&(a, b)), Some(&(c, d))) = (self.ranges.get(i), other.ranges.get(j)) {
            let (lo, hi) = (a.max(c), b.min(d));
            if lo <= hi && lo.v6 == hi.v6 {
                out.ranges.push((lo, hi));
            }
            if b < d { i += 1 } else { j += 1 }
        }
        out.normalize();
        out
    }

    /// Number of addresses (saturating at `u128::MAX` for a whole IPv6 space).
    pub fn len(&self) -> u128 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// Whether there is no address.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `a` is in the set.
    pub fn contains(&self, a: IpAddr) -> bool {
        let k = key(a);
        let i = self.ranges.partition_point(|(_, hi)| *hi < k);
        self.ranges.get(i).is_some_and(|(lo, _)| *lo <= k)
    }

    /// The `i`-th address in ascending order.
    pub fn nth(&self, i: u128) -> Option<IpAddr> {
        let r = self.cumulative.partition_point(|c| *c <= i);
        let (lo, _) = self.ranges.get(r)?;
        let before = if r == 0 { 0 } else { self.cumulative[r - 1] };
        Some(addr(Key { n: lo.n + (i - before), ..*lo }))
    }

    /// The ranges as (first, last) addresses.
    pub fn iter(&self) -> impl Iterator<Item = (IpAddr, IpAddr)> + '_ {
        self.ranges.iter().map(|(lo, hi)| (addr(*lo), addr(*hi)))
    }

    /// The set as the fewest CIDRs that cover it exactly, for display.
    pub fn cidrs(&self) -> Vec<IpNetwork> {
        let mut out = Vec::new();
        for &(lo, hi) in &self.ranges {
            let bits: u32 = if lo.v6 { 128 } else { 32 };
            let mut start = lo.n;
            loop {
                // The largest aligned block starting at `start` that fits.
                let align = if start == 0 { bits } else { start.trailing_zeros().min(bits) };
                let mut size_bits = align;
                while size_bits > 0
                    && (size_bits >= 128 || start.saturating_add((1u128 << size_bits) - 1) > hi.n)
                {
                    size_bits -= 1;
                }
                let prefix = u8::try_from(bits - size_bits).unwrap_or(0);
                if let Ok(net) = IpNetwork::new(addr(Key { n: start, ..lo }), prefix) {
                    out.push(net);
                }
                let size = 1u128.checked_shl(size_bits).unwrap_or(u128::MAX);
                match start.checked_add(size) {
                    Some(next) if next <= hi.n => start = next,
                    _ => break,
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNetwork {
        s.parse().expect("test network")
    }

    proptest::proptest! {
        #[test]
        fn set_operations_agree_with_membership(
            a in proptest::collection::vec((0u32..64, 0u32..8), 0..6),
            b in proptest::collection::vec((0u32..64, 0u32..8), 0..6),
        ) {
            let ranges = |v: &[(u32, u32)]| {
                let mut r = AddrRanges::new();
                for &(start, len) in v {
                    r.ranges.push((Key { v6: false, n: start.into() }, Key { v6: false, n: (start + len).into() }));
                }
                r.normalize();
                r
            };
            let (a, b) = (ranges(&a), ranges(&b));
            let (diff, both, either) = (a.difference(&b), a.intersection(&b), a.union(&b));
            for x in 0u32..80 {
                let x = IpAddr::V4(Ipv4Addr::from(x));
                proptest::prop_assert_eq!(diff.contains(x), a.contains(x) && !b.contains(x));
                proptest::prop_assert_eq!(both.contains(x), a.contains(x) && b.contains(x));
                proptest::prop_assert_eq!(either.contains(x), a.contains(x) || b.contains(x));
            }
        }
    }

    #[test]
    fn difference_matches_one_by_one_removal() {
        let whole = AddrRanges::from_parts([net("198.18.0.0/24"), net("2001:db8::/120")], []);
        let holes = AddrRanges::from_parts(
            [net("198.18.0.0/30"), net("198.18.0.64/26"), net("2001:db8::80/121")],
            [
                "198.18.0.10".parse().expect("addr"),
                "198.18.0.255".parse().expect("addr"),
                "198.19.0.1".parse().expect("addr"),
            ],
        );
        let fast = whole.difference(&holes);
        assert_eq!(fast.len(), 256 - 4 - 64 - 2 + 128);
        for (lo, hi) in holes.iter() {
            assert!(!fast.contains(lo) && !fast.contains(hi));
        }
        assert!(fast.contains("198.18.0.11".parse().expect("addr")));
        assert!(fast.contains("2001:db8::7f".parse().expect("addr")));
        assert_eq!(whole.difference(&whole).len(), 0);
        assert_eq!(whole.difference(&AddrRanges::new()), whole);
    }

    #[test]
    fn subtracts_and_indexes() {
        let hosts = AddrRanges::from_parts([], ["198.18.10.10".parse().expect("addr")]);
        let mut r = AddrRanges::from_parts([net("198.18.10.0/24")], []).difference(&hosts);
        assert_eq!(r.len(), 255);
        assert!(!r.contains("198.18.10.10".parse().expect("addr")));
        assert!(r.contains("198.18.10.11".parse().expect("addr")));
        assert_eq!(r.nth(10), Some("198.18.10.11".parse().expect("addr")));
        assert_eq!(r.nth(255), None);
        assert_eq!(r.cidrs().len(), 8, "{:?}", r.cidrs());
        r = AddrRanges::from_parts(r.cidrs().into_iter().chain([net("2001:db8::/126")]), []);
        assert_eq!(r.len(), 259);
        assert_eq!(r.nth(255), Some("2001:db8::".parse().expect("addr")));
        assert!(!r.contains("0.0.0.0".parse().expect("addr")));
    }
}
