//! Process limits: raise the soft file-descriptor limit to the hard one at
//! start (with the `rlimit` crate, no unsafe), and derive how many sockets
//! may be open at once from what we got.

/// Descriptors kept back for the process itself (stdio, the observation
/// file, the runtime's own, a raw socket or two).
pub const RESERVED_FDS: u64 = 64;

/// Raises the soft `RLIMIT_NOFILE` as far as the hard limit allows and
/// returns how many probe sockets may be open at once (at least 16).
pub fn probe_sockets() -> usize {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    usize::try_from(limit.saturating_sub(RESERVED_FDS).max(16)).unwrap_or(usize::MAX)
}
