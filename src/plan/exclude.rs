//! Exclusions: addresses a scan must never probe, whatever the spec says
//! (`--exclude FILE` on `plan`, `scan` and `check`), and the network-list
//! format they share with the agent's scope file: one CIDR or address a
//! line, `#` starts a comment, blank lines are ignored, a CIDR with host
//! bits set is refused (`198.18.2.1/24` is a typo of something), every bad
//! line is reported with its number.
//!
//! Exclusions narrow the `ScopeGuard` (`ScopeGuard::excluding`), the one
//! constructor of `Target`, so an excluded address cannot be a target of
//! the plan, the TLS step or the DNS step. IPv4-mapped IPv6 networks
//! (`::ffff:198.18.2.10`) are read as the IPv4 network they reach, as the
//! spec reads them, so an exclusion cannot miss by being written that way.
//!
//! Pure: bytes in, ranges out (the CLI reads the file).

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::ranges::AddrRanges;

/// The largest list read (an exclusion list or an agent's scope file).
pub const MAX_LIST_BYTES: usize = 1024 * 1024;

/// A bad network list: every bad line, with its number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("; "))]
pub struct NetListError {
    /// `FILE:LINE: what`, one per bad line (or one for the whole file).
    pub problems: Vec<String>,
}

/// Reads a network list's text (`name` is its path, for messages). An
/// empty list is not an error here: the caller decides what it means.
pub fn parse_networks(name: &str, bytes: &[u8]) -> Result<Vec<IpNetwork>, NetListError> {
    let fail = |p: String| NetListError { problems: vec![p] };
    if bytes.len() > MAX_LIST_BYTES {
        return Err(fail(format!("{name}: larger than {MAX_LIST_BYTES} bytes")));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| fail(format!("{name}: not UTF-8: {e}")))?;
    let mut nets = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let entry = raw.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        let parsed = entry
            .parse::<IpNetwork>()
            .ok()
            .or_else(|| entry.parse::<IpAddr>().ok().map(IpNetwork::from))
            .filter(|n| n.network() == n.ip());
        match parsed {
            Some(n) => nets.push(unmapped(n)),
            None => problems.push(format!(
                "{name}:{}: `{entry}` is not a network (a CIDR such as 198.18.20.0/24 with no host bits set, or an address)",
                i + 1
            )),
        }
    }
    if problems.is_empty() { Ok(nets) } else { Err(NetListError { problems }) }
}

/// An IPv4-mapped IPv6 network (`::ffff:a.b.c.d/96+n`) as the IPv4
/// network `a.b.c.d/n` it reaches; any other network unchanged.
fn unmapped(n: IpNetwork) -> IpNetwork {
    match n {
        IpNetwork::V6(v6) if v6.prefix() >= 96 => match v6.network().to_ipv4_mapped() {
            Some(v4) => IpNetwork::new(IpAddr::V4(v4), v6.prefix() - 96).unwrap_or(n),
            None => n,
        },
        _ => n,
    }
}

/// Addresses never to probe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclusions {
    ranges: AddrRanges,
}

impl Exclusions {
    /// Nothing excluded.
    pub fn none() -> Self {
        Self::default()
    }

    /// The exclusions of a list file's text (`name` is its path).
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Self, NetListError> {
        Ok(Self::from_networks(parse_networks(name, bytes)?))
    }

    /// The exclusions of these networks (IPv4-mapped ones read as IPv4).
    pub fn from_networks(nets: impl IntoIterator<Item = IpNetwork>) -> Self {
        Self { ranges: AddrRanges::from_parts(nets.into_iter().map(unmapped), []) }
    }

    /// Whether nothing is excluded.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `addr` is excluded.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.ranges.contains(addr)
    }

    /// The excluded addresses.
    pub fn ranges(&self) -> &AddrRanges {
        &self.ranges
    }

    /// The excluded addresses as the fewest CIDRs, in address order: the
    /// list in a canonical form (overlaps and adjacent networks merged).
    pub fn networks(&self) -> Vec<IpNetwork> {
        self.ranges.cidrs()
    }

    /// `sha256:` over the canonical list (`networks`, one a line): equal
    /// for two lists that exclude the same addresses, however written.
    pub fn digest(&self) -> String {
        let text: String = self.networks().iter().map(|n| format!("{n}\n")).collect();
        crate::spec::digest([text.as_bytes()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn networks_addresses_comments_and_mapped_addresses() {
        let e = Exclusions::parse(
            "x",
            b"# db hosts\n198.18.2.0/28  # backups\n\n198.18.4.10\n2001:db8::/64\n::ffff:198.18.9.9\n",
        )
        .expect("ok");
        assert!(e.contains(addr("198.18.2.15")));
        assert!(!e.contains(addr("198.18.2.16")));
        assert!(e.contains(addr("198.18.4.10")));
        assert!(e.contains(addr("2001:db8::5")));
        assert!(e.contains(addr("198.18.9.9")), "a mapped address excludes the IPv4 one");
        assert_eq!(e.networks().len(), 4);
        assert!(Exclusions::parse("x", b"# none\n").expect("ok").is_empty());
    }

    #[test]
    fn the_digest_is_of_what_is_excluded_not_how_it_is_written() {
        let a = Exclusions::parse("a", b"198.18.2.0/25\n198.18.2.128/25\n").expect("ok");
        let b = Exclusions::parse("b", b"# same\n198.18.2.0/24\n").expect("ok");
        assert_eq!(a.digest(), b.digest());
        assert_ne!(a.digest(), Exclusions::none().digest());
    }

    #[test]
    fn every_bad_line_is_named() {
        let e = parse_networks("ex.txt", b"198.18.2.1/24\nnonsense\n10.0.0.0/8\n")
            .expect_err("refused");
        assert_eq!(e.problems.len(), 2, "{e}");
        assert!(e.problems[0].starts_with("ex.txt:1: `198.18.2.1/24`"), "{e}");
        assert!(e.problems[1].starts_with("ex.txt:2: `nonsense`"), "{e}");
        assert!(parse_networks("s", b"\xff\n").expect_err("refused").to_string().contains("UTF-8"));
        let big = vec![b'#'; MAX_LIST_BYTES + 1];
        assert!(parse_networks("s", &big).is_err());
    }
}
