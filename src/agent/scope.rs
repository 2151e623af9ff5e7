//! The agent's own scope: the networks its operator lets it probe, read
//! from a local file a controller cannot change. One network a line (a
//! CIDR or a single address), `#` starts a comment, blank lines are
//! ignored (the list format `plan::exclude` reads). A plan whose targets
//! reach outside it is refused whole.

use crate::plan::exclude::parse_networks;
use crate::plan::ranges::AddrRanges;

pub use crate::plan::exclude::MAX_LIST_BYTES as MAX_SCOPE_BYTES;
/// A bad scope file: every bad line, with its number.
pub use crate::plan::exclude::NetListError as ScopeError;

/// Reads a scope file's text (`name` is its path, for messages), in the
/// format of `plan::exclude::parse_networks`; a file with no network in it
/// is refused too.
pub fn parse(name: &str, bytes: &[u8]) -> Result<AddrRanges, ScopeError> {
    let nets = parse_networks(name, bytes)?;
    if nets.is_empty() {
        return Err(ScopeError {
            problems: vec![format!("{name}: no network in it: the agent could probe nothing")],
        });
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
