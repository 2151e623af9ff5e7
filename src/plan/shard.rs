//! Deterministic K/N sharding of the probe space.
//!
//! Shard `K` of `N` takes every `N`-th position of the (already permuted)
//! probe order, starting at `K`. So the `N` shards are disjoint, their union
//! is the whole plan, their sizes differ by at most one, and each shard is
//! itself spread across hosts. `K` counts from 0, as Kubernetes'
//! `JOB_COMPLETION_INDEX` does.

use std::fmt;
use std::str::FromStr;

/// One shard of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a `K/N` string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardError {
    /// Not `K/N`.
    #[error("expected K/N, such as 0/4")]
    Malformed,
    /// `N` is 0.
    #[error("the shard count must be at least 1")]
    ZeroCount,
    /// `K >= N`.
    #[error("shard {index} does not exist in {count} shards (K counts from 0 to N-1)")]
    OutOfRange {
        /// K.
        index: u32,
        /// N.
        count: u32,
    },
}

impl Shard {
    /// The whole plan as one shard.
    pub const WHOLE: Self = Self { index: 0, count: 1 };

    /// Shard `index` of `count`.
    pub fn new(index: u32, count: u32) -> Result<Self, ShardError> {
        if count == 0 {
            return Err(ShardError::ZeroCount);
        }
        if index >= count {
            return Err(ShardError::OutOfRange { index, count });
        }
        Ok(Self { index, count })
    }

    /// K.
    pub fn index(self) -> u32 {
        self.index
    }

    /// N.
    pub fn count(self) -> u32 {
        self.count
    }

    /// How many of `total` positions fall in this shard.
    pub fn len_of(self, total: u64) -> u64 {
        let (k, n) = (u64::from(self.index), u64::from(self.count));
        if total <= k { 0 } else { (total - k).div_ceil(n) }
    }

    /// The `j`-th position of this shard in the whole order.
    pub fn position(self, j: u64) -> u64 {
        j * u64::from(self.count) + u64::from(self.index)
    }
}

impl FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Self, ShardError> {
        let (k, n) = s.split_once('/').ok_or(ShardError::Malformed)?;
        let k = k.trim().parse().map_err(|_| ShardError::Malformed)?;
        let n = n.trim().parse().map_err(|_| ShardError::Malformed)?;
        Self::new(k, n)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!("2/4".parse::<Shard>(), Shard::new(2, 4));
        assert_eq!("4/4".parse::<Shard>(), Err(ShardError::OutOfRange { index: 4, count: 4 }));
        assert_eq!("0/0".parse::<Shard>(), Err(ShardError::ZeroCount));
        assert_eq!("x".parse::<Shard>(), Err(ShardError::Malformed));
        assert_eq!(Shard::new(1, 3).map(|s| s.len_of(10)), Ok(3));
        assert_eq!(Shard::new(0, 3).map(|s| s.len_of(10)), Ok(4));
        assert_eq!(Shard::new(5, 8).map(|s| s.len_of(3)), Ok(0));
    }
}
