//! Probes already concluded, which a resumed scan skips (`scan --resume`):
//! a set of (address, protocol, port), built once from what an earlier run
//! wrote, then asked about each probe of the plan in turn.
//!
//! Memory is O(done), never O(plan): per address and protocol, the ports
//! as merged ranges (`PortSet`), so a host's thousand silent sweep ports,
//! written as one `filtered` line of ranges, cost a few bytes. Pure, like
//! the rest of `plan`.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::spec::intent::Proto;
use crate::spec::ports::PortSet;

use super::{Plan, Probe};

/// Concluded probes, by address and protocol.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Done {
    ports: HashMap<(IpAddr, Proto), PortSet>,
    len: u64,
}

impl Done {
    /// The set of the given inclusive port ranges per (address, protocol),
    /// in any order, overlaps and repeats included (each port counts once).
    pub fn from_ranges(ranges: impl IntoIterator<Item = (IpAddr, Proto, u16, u16)>) -> Self {
        let mut lists: HashMap<(IpAddr, Proto), Vec<(u16, u16)>> = HashMap::new();
        for (addr, proto, lo, hi) in ranges {
            lists.entry((addr, proto)).or_default().push((lo, hi));
        }
        let ports: HashMap<_, _> =
            lists.into_iter().map(|(k, list)| (k, PortSet::from_ranges(list))).collect();
        let len = ports.values().map(|s| u64::from(s.len())).sum();
        Self { ports, len }
    }

    /// Whether `proto`/`port` on `addr` was concluded.
    pub fn contains(&self, addr: IpAddr, proto: Proto, port: u16) -> bool {
        self.ports.get(&(addr, proto)).is_some_and(|s| s.contains(port))
    }

    /// Concluded probes (distinct).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was concluded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Plan {
    /// This shard's probes not in `done`, in scan order: the plan a
    /// resumed scan still has to send. Lazy, as [`Plan::probes`].
    pub fn remaining<'a>(&'a self, done: &'a Done) -> impl Iterator<Item = Probe> + 'a {
        self.probes().filter(move |p| !done.contains(p.target.addr(), p.proto, p.port))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::plan::{Options, Shard};

    fn addr(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(198, 18, 0, last))
    }

    #[test]
    fn counts_each_port_once_and_keeps_protocols_apart() {
        let done = Done::from_ranges([
            (addr(1), Proto::Tcp, 22, 22),
            (addr(1), Proto::Tcp, 20, 25),
            (addr(1), Proto::Tcp, 22, 22),
            (addr(1), Proto::Udp, 53, 53),
            (addr(2), Proto::Tcp, 1, 1024),
        ]);
        assert_eq!(done.len(), 6 + 1 + 1024);
        assert!(done.contains(addr(1), Proto::Tcp, 20));
        assert!(done.contains(addr(1), Proto::Tcp, 25));
        assert!(!done.contains(addr(1), Proto::Tcp, 26));
        assert!(!done.contains(addr(1), Proto::Udp, 22));
        assert!(done.contains(addr(1), Proto::Udp, 53));
        assert!(!done.contains(addr(3), Proto::Tcp, 22));
        assert!(Done::default().is_empty());
    }

    #[test]
    fn remaining_is_the_plan_minus_done_in_plan_order() {
        let spec = "version: 1\nzones:\n  out: { cidrs: [0.0.0.0/0], probe: false }\n  lab: { cidrs: [198.18.0.0/29] }\nvantages:\n  o: { zone: out }\nsweep:\n  tcp: ['1-40']\n  udp: [53]\n";
        let file: Arc<str> = Arc::from("done.yaml");
        let intent = crate::spec::load_bytes(Path::new("done.yaml"), &file, spec.as_bytes())
            .intent
            .expect("valid spec");
        for shard in [Shard::WHOLE, Shard::new(1, 3).expect("shard")] {
            let plan = Plan::new(&intent, "o", Options { seed: 9, shard, allow_large: false })
                .expect("plans");
            let all: Vec<Probe> = plan.probes().collect();
            // Every third probe done, as a killed run leaves them: scattered.
            let done = Done::from_ranges(
                all.iter().step_by(3).map(|p| (p.target.addr(), p.proto, p.port, p.port)),
            );
            let left: Vec<Probe> = plan.remaining(&done).collect();
            let expected: Vec<Probe> =
                all.iter().enumerate().filter(|(i, _)| i % 3 != 0).map(|(_, p)| *p).collect();
            assert_eq!(left, expected);
            assert_eq!(done.len() + left.len() as u64, plan.len());
        }
    }
}
