//! The agent's own scope: the networks its operator lets it probe, read
//! from a local file a controller cannot change. One network a line (a
//! CIDR or a single address), `#` starts a comment, blank lines are
//! ignored. A plan whose targets reach outside it is refused whole.

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::plan::ranges::AddrRanges;

/// The largest scope file read.
pub const MAX_SCOPE_BYTES: usize = 1024 * 1024;

/// A bad scope file: every bad line, with its number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("; "))]
pub struct ScopeError {
    /// `FILE:LINE: what`, one per bad line.
    pub problems: Vec<String>,
}

/// Reads a scope file's text (`name` is its path, for messages).
pub fn parse(name: &str, bytes: &[u8]) -> Result<AddrRanges, ScopeError> {
    let fail = |p: String| ScopeError { problems: vec![p] };
    if bytes.len() > MAX_SCOPE_BYTES {
        return Err(fail(format!("{name}: larger than {MAX_SCOPE_BYTES} bytes")));
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
            Some(n) => nets.push(n),
            None => problems.push(format!(
                "{name}:{}: `{entry}` is not a network (a CIDR such as 198.18.20.0/24 with no host bits set, or an address)",
                i + 1
            )),
        }
    }
    if !problems.is_empty() {
        return Err(ScopeError { problems });
    }
    if nets.is_empty() {
        return Err(fail(format!("{name}: no network in it: the agent could probe nothing")));
    }
    Ok(AddrRanges::from_parts(nets, []))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_addresses_and_comments() {
        let r =
            parse("s", b"# dmz\n198.18.2.0/24  # web\n\n198.18.4.10\n2001:db8::/64\n").expect("ok");
        assert!(r.contains("198.18.2.200".parse().expect("address")));
        assert!(r.contains("198.18.4.10".parse().expect("address")));
        assert!(!r.contains("198.18.4.11".parse().expect("address")));
        assert!(r.contains("2001:db8::5".parse().expect("address")));
    }

    #[test]
    fn every_bad_line_is_named() {
        let e = parse("scope.txt", b"198.18.2.1/24\nnonsense\n10.0.0.0/8\n").expect_err("refused");
        assert_eq!(e.problems.len(), 2, "{e}");
        assert!(e.problems[0].starts_with("scope.txt:1: `198.18.2.1/24`"), "{e}");
        assert!(e.problems[1].starts_with("scope.txt:2: `nonsense`"), "{e}");
        assert!(
            parse("s", b"# nothing\n").expect_err("refused").to_string().contains("no network")
        );
        assert!(parse("s", b"\xff\n").expect_err("refused").to_string().contains("UTF-8"));
        let big = vec![b'#'; MAX_SCOPE_BYTES + 1];
        assert!(parse("s", &big).is_err());
    }
}
