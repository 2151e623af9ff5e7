//! Planning: shards partition the plan, the scope guard holds (exclusions
//! included), the order is spread across hosts and reproducible from a seed.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use proptest::prelude::*;
use vantage::plan::{Exclusions, Options, Plan, PlanError, Probe, ScopeGuard, Shard};
use vantage::spec::intent::Proto;

use crate::util::intent;

fn key(p: &Probe) -> (IpAddr, Proto, u16) {
    (p.target.addr(), p.proto, p.port)
}

fn spec(cidr_bits: &[(u8, u8)], hosts: &[u8], tcp: &[u16], udp: &[u16]) -> String {
    let mut s = String::from("version: 1\nzones:\n  out: { cidrs: [0.0.0.0/0], probe: false }\n");
    for (i, (third, prefix)) in cidr_bits.iter().enumerate() {
        s.push_str(&format!("  z{i}: {{ cidrs: [198.18.{third}.0/{prefix}] }}\n"));
    }
    s.push_str("hosts:\n  far: { address: 198.19.200.1 }\n");
    for (i, h) in hosts.iter().enumerate() {
        s.push_str(&format!("  h{i}: {{ address: 198.18.{}.{} }}\n", cidr_bits[0].0, h % 4));
    }
    s.push_str("vantages:\n  o: { zone: out }\nsweep:\n");
    let list = |p: &[u16]| p.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
    s.push_str(&format!("  tcp: [{}]\n  udp: [{}]\n", list(tcp), list(udp)));
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The N shards are disjoint and their union is the whole plan.
    #[test]
    fn shards_partition_the_plan(
        zones in prop::collection::btree_map(0u8..50, 26u8..=30, 1..4),
        hosts in prop::collection::vec(any::<u8>(), 0..3),
        tcp in prop::collection::vec(1u16..2000, 1..6),
        udp in prop::collection::vec(1u16..2000, 0..3),
        n in 1u32..9,
        seed in any::<u64>(),
    ) {
        let zones: Vec<(u8, u8)> = zones.into_iter().collect();
        let hosts: Vec<u8> = hosts.into_iter().map(|h| h % 4).collect::<BTreeSet<_>>().into_iter().collect();
        let intent = intent(&spec(&zones, &hosts, &tcp, &udp));
        let whole = Plan::new(&intent, "o", Options { seed, ..Options::default() }).expect("plans");
        let all: Vec<_> = whole.probes().map(|p| key(&p)).collect();
        prop_assert_eq!(all.len() as u64, whole.len());
        let set: BTreeSet<_> = all.iter().copied().collect();
        prop_assert_eq!(set.len(), all.len(), "a probe appears twice");
        let mut union = BTreeSet::new();
        let mut total = 0u64;
        for k in 0..n {
            let shard = Shard::new(k, n).expect("valid shard");
            let plan = Plan::new(&intent, "o", Options { seed, shard, ..Options::default() }).expect("plans");
            for p in plan.probes() {
                prop_assert!(union.insert(key(&p)), "probe {:?} is in two shards", key(&p));
                total += 1;
            }
            prop_assert_eq!(plan.total(), whole.len());
        }
        prop_assert_eq!(total, whole.len());
        prop_assert_eq!(union, set);
    }

    /// Every planned target's most specific zone (found here by a linear
    /// scan, independently of the planner's index) is probe-able, and no
    /// target is an address no scan should touch. The generated specs mix
    /// nested source-only zones, hosts written as IPv4-mapped IPv6, hosts
    /// in source-only zones, and zones over never-target ranges.
    #[test]
    fn every_target_is_in_scope(
        zones in prop::collection::btree_map(0u8..40, (24u8..=30, any::<bool>()), 1..5),
        nested in prop::collection::vec((0u8..40, 0u8..255, 28u8..=32), 0..4),
        hosts in prop::collection::vec((0u8..40, any::<u8>(), any::<bool>()), 0..6),
        odd in prop::collection::vec(prop::sample::select(vec![
            "0.0.0.0/30", "224.0.0.0/30", "255.255.255.252/30", "'ff02::/126'", "'::/126'",
        ]), 0..2),
        tcp in prop::collection::vec(1u16..100, 1..3),
    ) {
        let mut s = String::from("version: 1\nzones:\n  out: { cidrs: [0.0.0.0/0], probe: false }\n");
        for (third, (prefix, probe)) in &zones {
            s.push_str(&format!("  z{third}: {{ cidrs: [198.18.{third}.0/{prefix}], probe: {probe} }}\n"));
        }
        let mut taken = std::collections::BTreeSet::new();
        for (i, (third, fourth, prefix)) in nested.iter().enumerate() {
            let net: ipnetwork::Ipv4Network = format!("198.18.{third}.{fourth}/{prefix}").parse().expect("net");
            if taken.insert((net.network(), *prefix)) && !zones.contains_key(third) || zones.get(third).is_some_and(|(p, _)| p < prefix) {
                s.push_str(&format!("  n{i}: {{ cidrs: [{}/{prefix}], probe: false }}\n", net.network()));
            }
        }
        for (i, net) in odd.iter().enumerate() {
            s.push_str(&format!("  odd{i}: {{ cidrs: [{net}] }}\n"));
        }
        s.push_str("hosts:\n");
        let mut addrs = std::collections::BTreeSet::new();
        for (i, (third, fourth, mapped)) in hosts.iter().enumerate() {
            if addrs.insert((third, fourth)) {
                let a = if *mapped { format!("'::ffff:198.18.{third}.{fourth}'") } else { format!("198.18.{third}.{fourth}") };
                s.push_str(&format!("  h{i}: {{ address: {a} }}\n"));
            }
        }
        let list = tcp.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
        s.push_str(&format!("vantages:\n  o: {{ zone: out }}\nsweep:\n  tcp: [{list}]\n"));
        let file: std::sync::Arc<str> = std::sync::Arc::from("gen.yaml");
        let loaded = vantage::spec::load_bytes(std::path::Path::new("gen.yaml"), &file, s.as_bytes());
        // Generated overlaps between nested zones may be refused; that's fine.
        let Some(intent) = loaded.intent else { return Ok(()) };
        let plan = Plan::new(&intent, "o", Options::default()).expect("plans");
        let mut listed = 0u64;
        for p in plan.probes() {
            listed += 1;
            let a = p.target.addr();
            let owner = intent
                .zones
                .iter()
                .filter(|z| z.cidrs.iter().any(|c| c.contains(a)))
                .max_by_key(|z| z.cidrs.iter().filter(|c| c.contains(a)).map(|c| c.prefix()).max());
            prop_assert!(owner.is_some_and(|z| z.probe), "{} is not in a probe-able zone:\n{}", a, s);
            let never = match a {
                IpAddr::V4(v) => v.is_unspecified() || v.is_multicast() || v.is_broadcast(),
                IpAddr::V6(v) => v.is_unspecified() || v.is_multicast() || v.to_ipv4_mapped().is_some(),
            };
            prop_assert!(!never, "{} must never be a target", a);
        }
        prop_assert_eq!(listed, plan.len(), "the count matches what is listed");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// With exclusions, the plan is the plan without the excluded
    /// addresses: no probe reaches one, the guard admits none, the counts
    /// of what was left out add up, and shards still partition it.
    #[test]
    fn excluded_addresses_are_never_probes(
        zones in prop::collection::btree_map(0u8..20, 27u8..=30, 1..3),
        hosts in prop::collection::vec(any::<u8>(), 0..3),
        cut in prop::collection::vec((0u8..20, any::<u8>(), 28u8..=32), 0..4),
        n in 1u32..5,
        seed in any::<u64>(),
    ) {
        let zones: Vec<(u8, u8)> = zones.into_iter().collect();
        let hosts: Vec<u8> = hosts.into_iter().map(|h| h % 4).collect::<BTreeSet<_>>().into_iter().collect();
        let intent = intent(&spec(&zones, &hosts, &[22, 443], &[53]));
        let list: String = cut
            .iter()
            .map(|(third, fourth, prefix)| {
                let net: ipnetwork::Ipv4Network =
                    format!("198.18.{third}.{fourth}/{prefix}").parse().expect("net");
                format!("{}/{prefix}  # cut\n", net.network())
            })
            .collect();
        let exclusions = Exclusions::parse("x.txt", list.as_bytes()).expect("a valid list");
        let options = Options { seed, ..Options::default() };
        let full = Plan::new(&intent, "o", options).expect("plans");
        let plan = Plan::with_exclusions(&intent, "o", options, &exclusions).expect("plans");
        let kept: BTreeSet<_> = plan.probes().map(|p| key(&p)).collect();
        let all: BTreeSet<_> = full.probes().map(|p| key(&p)).collect();
        let expected: BTreeSet<_> =
            all.iter().copied().filter(|(a, ..)| !exclusions.contains(*a)).collect();
        prop_assert_eq!(&kept, &expected);
        prop_assert_eq!(u128::from(full.total() - plan.total()), plan.excluded.probes);
        let gone: BTreeSet<IpAddr> =
            all.iter().map(|k| k.0).filter(|a| exclusions.contains(*a)).collect();
        prop_assert_eq!(gone.len() as u128, plan.excluded.addresses);
        for a in &gone {
            prop_assert!(plan.scope().admit(*a, None, None).is_none(), "{} admitted", a);
            prop_assert!(full.scope().admit(*a, None, None).is_some());
        }
        let mut union = BTreeSet::new();
        for k in 0..n {
            let shard = Shard::new(k, n).expect("valid shard");
            let p = Plan::with_exclusions(&intent, "o", Options { shard, ..options }, &exclusions)
                .expect("plans");
            for probe in p.probes() {
                prop_assert!(union.insert(key(&probe)), "in two shards");
            }
        }
        prop_assert_eq!(union, kept);
    }
}

#[test]
fn a_guard_narrowed_by_exclusions_never_widens() {
    let i = intent(
        "version: 1
zones:
  internet: { cidrs: [0.0.0.0/0], probe: false }
  corp: { cidrs: [198.18.0.0/24] }
vantages:
  o: { zone: internet }
sweep:
  tcp: [22]
",
    );
    // The list reaches outside the scope too: that widens nothing.
    let x = Exclusions::parse("x", b"198.18.0.0/25\n203.0.113.0/24\n'::ffff:198.18.0.200'\n")
        .err()
        .map(|e| e.to_string());
    assert!(x.is_some_and(|e| e.contains("x:3:")), "a quoted line is not a network");
    let x = Exclusions::parse("x", b"198.18.0.0/25\n203.0.113.0/24\n::ffff:198.18.0.200\n")
        .expect("valid");
    let guard = ScopeGuard::new(&i).excluding(&x);
    for (a, admitted) in [
        ("198.18.0.1", false),
        ("198.18.0.127", false),
        ("198.18.0.128", true),
        ("198.18.0.200", false),
        ("203.0.113.9", false),
        ("8.8.8.8", false),
    ] {
        let ip: IpAddr = a.parse().expect("addr");
        assert_eq!(guard.admit(ip, None, None).is_some(), admitted, "{a}");
    }
    let plan = Plan::with_exclusions(&i, "o", Options::default(), &x).expect("plans");
    assert_eq!((plan.excluded.addresses, plan.excluded.probes), (129, 129));
    assert_eq!(plan.total(), 127);
}

#[test]
fn source_only_zones_are_never_targets() {
    let i = intent(
        "version: 1
zones:
  internet: { cidrs: [0.0.0.0/0], probe: false }
  corp: { cidrs: [198.18.0.0/24] }
  office: { cidrs: [198.18.0.64/26], probe: false }
hosts:
  partner: { address: 203.0.113.7, zone: internet }
  laptop: { address: 198.18.0.70 }
  lb: { address: 198.18.0.10 }
vantages:
  o: { zone: internet }
sweep:
  tcp: [22, 443]
",
    );
    let plan = Plan::new(&i, "o", Options::default()).expect("plans");
    let targets: BTreeSet<IpAddr> = plan.probes().map(|p| p.target.addr()).collect();
    // corp's 256 addresses minus the 64 of the nested source-only `office`.
    assert_eq!(targets.len(), 192);
    assert!(targets.iter().all(|a| a.to_string().starts_with("198.18.0.")));
    for never in ["203.0.113.7", "198.18.0.64", "198.18.0.70", "198.18.0.127", "8.8.8.8"] {
        let a: IpAddr = never.parse().expect("addr");
        assert!(!targets.contains(&a), "{never} must never be a target");
        assert!(plan.scope().admit(a, None, None).is_none(), "the guard admits {never}");
        assert!(!plan.covers(a, Proto::Tcp, 22));
    }
    assert!(
        targets.contains(&"198.18.0.10".parse().expect("addr")),
        "declared hosts in corp are targets"
    );
    assert_eq!(plan.skipped_zones.len(), 2);
}

#[test]
fn the_guard_refuses_addresses_no_scan_should_touch() {
    let i = intent(
        "version: 1
zones:
  all: { cidrs: [0.0.0.0/0] }
  v6: { cidrs: ['ff00::/8', '::/128'] }
vantages:
  o: { zone: all }
sweep:
  tcp: [22]
",
    );
    // A zone of the whole IPv4 space plans, but only with --allow-large.
    match Plan::new(&i, "o", Options::default()) {
        Err(PlanError::TooLarge { .. }) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let guard = vantage::plan::ScopeGuard::new(&i);
    for a in ["0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255", "::", "ff02::1"] {
        assert!(guard.admit(a.parse().expect("addr"), None, None).is_none(), "{a} admitted");
    }
    assert!(guard.admit("198.18.1.1".parse().expect("addr"), None, None).is_some());
}

#[test]
fn sweep_limit_is_65536_addresses() {
    let at = |cidr: &str| {
        format!(
            "version: 1\nzones:\n  o: {{ cidrs: [0.0.0.0/0], probe: false }}\n  z: {{ cidrs: [{cidr}] }}\nvantages:\n  v: {{ zone: o }}\nsweep:\n  tcp: [1]\n"
        )
    };
    assert!(
        Plan::new(&intent(&at("198.18.0.0/16")), "v", Options::default()).is_ok(),
        "a /16 is exactly the limit"
    );
    let big = intent(&at("198.18.0.0/15"));
    assert_eq!(
        Plan::new(&big, "v", Options::default()).err(),
        Some(PlanError::TooLarge { addresses: 131_072, limit: 65_536 })
    );
    assert!(Plan::new(&big, "v", Options { allow_large: true, ..Options::default() }).is_ok());
    // An IPv6 /64 cannot be swept even with --allow-large.
    let v6 = intent(&at("'2001:db8::/64'"));
    assert!(matches!(
        Plan::new(&v6, "v", Options { allow_large: true, ..Options::default() }),
        Err(PlanError::Unscannable { .. })
    ));
}

#[test]
fn order_is_spread_across_hosts_and_reproducible() {
    let i = intent(
        "version: 1\nzones:\n  o: { cidrs: [0.0.0.0/0], probe: false }\n  z: { cidrs: [198.18.5.0/24] }\nvantages:\n  v: { zone: o }\nsweep:\n  tcp: ['1-100']\n",
    );
    let plan = Plan::new(&i, "v", Options { seed: 7, ..Options::default() }).expect("plans");
    let first: Vec<Probe> = plan.probes().take(2560).collect();
    // Within any window of 256 probes (one per host on average), no host gets
    // more than a handful: nothing like the 100 a port-major order would send.
    for window in first.chunks(256) {
        let mut per_host: HashMap<IpAddr, usize> = HashMap::new();
        for p in window {
            *per_host.entry(p.target.addr()).or_default() += 1;
        }
        let max = per_host.values().max().copied().unwrap_or(0);
        assert!(max <= 8, "a host got {max} of 256 consecutive probes");
    }
    let same: Vec<Probe> = Plan::new(&i, "v", Options { seed: 7, ..Options::default() })
        .expect("plans")
        .probes()
        .take(2560)
        .collect();
    assert_eq!(first, same, "same seed, same order");
    let other: Vec<Probe> = Plan::new(&i, "v", Options { seed: 8, ..Options::default() })
        .expect("plans")
        .probes()
        .take(2560)
        .collect();
    assert_ne!(first, other, "another seed, another order");
}

#[test]
fn ports_per_target_are_sweep_plus_every_flow_to_it() {
    let i = intent(
        "version: 1
zones:
  internet: { cidrs: [0.0.0.0/0], probe: false }
  dmz: { cidrs: [198.18.10.0/30] }
  db: { cidrs: [198.18.30.0/30] }
hosts:
  web: { address: 198.18.10.1 }
services:
  https: { tcp: [443] }
  pg: { tcp: [5432] }
  snmp: { udp: [161] }
flows:
  - { from: internet, to: web, allow: [https] }
  - { from: dmz, to: db, allow: [pg] }
  - { from: internet, to: dmz, deny: [snmp] }
vantages:
  outside: { zone: internet }
sweep:
  tcp: [22]
",
    );
    let plan = Plan::new(&i, "outside", Options::default()).expect("plans");
    let mut ports: HashMap<String, BTreeSet<String>> = HashMap::new();
    for p in plan.probes() {
        ports.entry(p.target.to_string()).or_default().insert(format!(
            "{}/{}",
            p.proto.as_str(),
            p.port
        ));
    }
    let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    assert_eq!(
        ports["198.18.10.1"],
        set(&["tcp/22", "tcp/443", "udp/161"]),
        "host: sweep + its flow + its zone's flow"
    );
    assert_eq!(ports["198.18.10.2"], set(&["tcp/22", "udp/161"]), "zone: sweep + the zone's flows");
    assert_eq!(
        ports["198.18.30.1"],
        set(&["tcp/22", "tcp/5432"]),
        "denied-from-here ports are probed too"
    );
    let confirmable: Vec<usize> = plan.confirmable.iter().map(|c| c.flow).collect();
    assert_eq!(confirmable, [0, 2], "only flows from the vantage's zone can be confirmed");
}
