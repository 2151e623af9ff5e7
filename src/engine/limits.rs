//! Process limits: raise the soft file-descriptor limit to the hard one at
//! start (with the `rlimit` crate, no unsafe), and derive how many sockets
//! may be open at once from what we got; and the hard caps on probe rates
//! that no flag but `--unsafe-rate` lifts.

/// Descriptors kept back for the process itself (stdio, the observation
/// file, the runtime's own, a raw socket or two).
pub const RESERVED_FDS: u64 = 64;

/// Raises the soft `RLIMIT_NOFILE` as far as the hard limit allows and
/// returns how many probe sockets may be open at once (at least 16).
pub fn probe_sockets() -> usize {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    usize::try_from(limit.saturating_sub(RESERVED_FDS).max(16)).unwrap_or(usize::MAX)
}

/// The highest probe rate, all targets together (probes per second), that
/// `scan`, `check` and `agent` accept without `--unsafe-rate`: faster
/// probing risks overwhelming the links, firewalls and state tables in
/// between, and an exposure check does not need it.
pub const MAX_RATE: u32 = 50_000;

/// The highest probe rate to any one host (probes per second) accepted
/// without `--unsafe-rate`: a firewall or an embedded device that logs or
/// tracks connections can fall over well below the global cap.
pub const MAX_HOST_RATE: u32 = 10_000;

/// What is wrong with a global `rate` and an explicit per-host `host_rate`
/// when `--unsafe-rate` was not given: the flags named, the maximums said.
pub fn rate_problem(rate: u32, host_rate: Option<u32>, names: (&str, &str)) -> Option<String> {
    let (rate_flag, host_flag) = names;
    if rate > MAX_RATE {
        return Some(format!(
            "{rate_flag} {rate} is above the maximum of {MAX_RATE} probes/s; faster probing can \
             overwhelm the networks and hosts in between: lower it, or pass --unsafe-rate if you \
             mean it"
        ));
    }
    match host_rate {
        Some(h) if h > MAX_HOST_RATE => Some(format!(
            "{host_flag} {h} is above the maximum of {MAX_HOST_RATE} probes/s to one host: lower \
             it, or pass --unsafe-rate if you mean it"
        )),
        _ => None,
    }
}

/// The per-host rate when none was given: the global rate, at most
/// [`MAX_HOST_RATE`] unless `unsafe_rate`.
pub fn default_host_rate(rate: u32, unsafe_rate: bool) -> u32 {
    if unsafe_rate { rate } else { rate.min(MAX_HOST_RATE) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: (&str, &str) = ("--rate", "--host-rate");

    #[test]
    fn rates_up_to_the_maximums_pass_and_above_them_are_named() {
        assert_eq!(rate_problem(MAX_RATE, Some(MAX_HOST_RATE), NAMES), None);
        assert_eq!(rate_problem(1, None, NAMES), None);
        let fast = rate_problem(MAX_RATE + 1, None, NAMES).expect("refused");
        assert!(fast.starts_with("--rate 50001 is above the maximum of 50000"), "{fast}");
        assert!(fast.contains("--unsafe-rate"), "{fast}");
        let host = rate_problem(100, Some(MAX_HOST_RATE + 1), NAMES).expect("refused");
        assert!(host.starts_with("--host-rate 10001 is above the maximum of 10000"), "{host}");
        assert_eq!(default_host_rate(50_000, false), MAX_HOST_RATE);
        assert_eq!(default_host_rate(2_000, false), 2_000);
        assert_eq!(default_host_rate(1_000_000, true), 1_000_000);
    }
}
