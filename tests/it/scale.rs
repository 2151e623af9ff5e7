//! A spec at the size limit of what people write (and past it): thousands of
//! hosts, flows, CIDRs and ports. Every stage must stay near-linear; a
//! quadratic path turns this test from a second into many minutes. (No time
//! is asserted: the suite's own duration is the signal.)

use crate::util::intent;
use vantage::plan::{Options, Plan};

fn big_spec(hosts: usize, zones: usize, flows: usize, waivers: usize) -> String {
    let mut s = String::from(
        "version: 1\nzones:\n  internet: { cidrs: [0.0.0.0/0], probe: false }\n  big: { cidrs: [198.18.0.0/16] }\n",
    );
    for z in 0..zones {
        s.push_str(&format!("  z{z}: {{ cidrs: [198.19.{}.{}/30] }}\n", z / 64, (z % 64) * 4));
    }
    s.push_str("hosts:\n");
    for h in 0..hosts {
        s.push_str(&format!("  h{h}: {{ address: 198.18.{}.{} }}\n", h / 256, h % 256));
    }
    s.push_str("services:\n");
    for f in 0..flows {
        s.push_str(&format!("  s{f}: {{ tcp: [{}] }}\n", 1 + f % 60_000));
    }
    s.push_str("flows:\n");
    for f in 0..flows {
        s.push_str(&format!("  - {{ from: internet, to: h{}, allow: [s{f}] }}\n", f % hosts));
    }
    s.push_str("vantages:\n  outside: { zone: internet }\nsweep:\n  tcp: [");
    s.push_str(
        &(1..=20_000).map(|p| (p * 3 % 65_535 + 1).to_string()).collect::<Vec<_>>().join(", "),
    );
    s.push_str("]\nwaivers:\n");
    for w in 0..waivers {
        s.push_str(&format!(
            "  - {{ id: W{w}, match: {{ from: outside, to: h{}, port: tcp/{} }}, reason: r, approved_by: o, expires: 2030-01-01 }}\n",
            w % hosts,
            1 + w % 60_000
        ));
    }
    s
}

#[test]
fn a_very_large_spec_resolves_lints_and_plans() {
    let i = intent(&big_spec(20_000, 2_000, 5_000, 5_000));
    assert_eq!(i.hosts.len(), 20_000);
    let warnings = vantage::lint::lint(&i, jiff::civil::date(2026, 11, 24));
    assert!(
        warnings.iter().any(|w| w.code == "flows-not-compared"),
        "5,000 flows skip the pairwise analysis, and say so"
    );
    let plan = Plan::new(&i, "outside", Options { allow_large: true, ..Options::default() })
        .expect("plans");
    assert_eq!(
        plan.groups.len(),
        2 + 2_000 - 1 + 20_000,
        "big, the /30 zones and every host (internet is not a target)"
    );
    // Spot-check lazily: the 10 millionth probe exists and is in scope.
    let p = plan.nth(10_000_000).expect("a probe");
    assert!(plan.scope().admit(p.target.addr(), None, None).is_some());
}
