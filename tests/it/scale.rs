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

/// Each of these once made a stage quadratic or exhausted memory on a spec
/// well under the 4 MiB limit (found in review). They must now be refused
/// or accepted promptly, with a bounded number of diagnostics.
#[test]
fn hostile_spec_shapes_stay_bounded() {
    let header = "version: 1\nzones:\n  internet: { cidrs: [0.0.0.0/0], probe: false }\n  big: { cidrs: [198.18.0.0/16] }\n";
    let load = |yaml: &str| {
        let file: std::sync::Arc<str> = std::sync::Arc::from("hostile.yaml");
        vantage::spec::load_bytes(std::path::Path::new("hostile.yaml"), &file, yaml.as_bytes())
    };
    let max = vantage::spec::diag::MAX_DIAGNOSTICS + 1;

    // One flow fanning out to the same host 100,000 times, with a 20,000-port service.
    let ports = (1..=20_000).map(|p| (p * 3).to_string()).collect::<Vec<_>>().join(",");
    let fan = format!(
        "{header}hosts:\n  h: {{ address: 198.18.0.1 }}\nservices:\n  s: {{ tcp: [{ports}] }}\nflows:\n  - {{ from: internet, to: [{}], allow: [s] }}\nvantages:\n  o: {{ zone: internet }}\n",
        vec!["h"; 100_000].join(",")
    );
    let loaded = load(&fan);
    assert!(loaded.diagnostics.len() <= max);
    let intent = loaded.intent.expect("repeats are a warning");
    assert_eq!(intent.flows[0].to.len(), 1, "repeats are dropped");
    let _ = vantage::lint::lint(&intent, jiff::civil::date(2026, 11, 24));
    assert!(Plan::new(&intent, "o", Options::default()).is_ok());

    // Thousands of copies of one CIDR in two zones.
    let copies = vec!["198.18.0.0/16"; 1_500].join(",");
    let dup =
        format!("version: 1\nzones:\n  a: {{ cidrs: [{copies}] }}\n  b: {{ cidrs: [{copies}] }}\n");
    let loaded = load(&dup);
    assert!(
        loaded.intent.is_none() && loaded.diagnostics.len() <= max,
        "{}",
        loaded.diagnostics.len()
    );

    // A megabyte-long unknown name against many hosts, and thousands of unknown names.
    let hosts: String = (0..5_000)
        .map(|h| format!("  h{h}: {{ address: 198.18.{}.{} }}\n", h / 256, h % 256))
        .collect();
    let flows: String = (0..5_000)
        .map(|f| format!("  - {{ from: internet, to: nope{f}, allow: [s] }}\n"))
        .collect();
    let unknown = format!(
        "{header}hosts:\n{hosts}services:\n  s: {{ tcp: [1] }}\nflows:\n{flows}  - {{ from: internet, to: {}, allow: [s] }}\n",
        "x".repeat(1_000_000)
    );
    let loaded = load(&unknown);
    assert!(loaded.intent.is_none());
    assert!(loaded.diagnostics.len() <= max, "{}", loaded.diagnostics.len());
    assert!(loaded.diagnostics.iter().all(|d| d.expected.as_ref().is_none_or(|e| e.len() < 1_000)));

    // Many hosts against many CIDRs (the zone lookup once scanned every CIDR per host).
    let cidrs: String =
        (0..30_000u32).map(|i| format!("198.19.{}.{}/32,", i / 256 % 256, i % 256)).collect();
    let many =
        format!("{header}  small: {{ cidrs: [{}] }}\nhosts:\n{hosts}", cidrs.trim_end_matches(','));
    let loaded = load(&many);
    assert!(loaded.intent.is_some() || !loaded.diagnostics.is_empty());
}
