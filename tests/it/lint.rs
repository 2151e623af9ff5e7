//! Lint warnings as data: a spec fragment and the warning codes it must
//! (and only those it must) produce.

use crate::util::intent;

const BASE: &str = "version: 1
zones:
  internet: { cidrs: [0.0.0.0/0], probe: false }
  partner: { cidrs: [198.19.0.0/24], probe: false }
  dmz: { cidrs: [198.18.10.0/24] }
  app: { cidrs: [198.18.20.0/24] }
hosts:
  web: { address: 198.18.10.10 }
  ext: { address: 198.19.0.7 }
services:
  https: { tcp: [443] }
  web-alt: { tcp: [443], severity: critical }
  ssh: { tcp: [22] }
vantages:
  outside: { zone: internet }
sweep:
  tcp: [22, 443]
";

fn check(extra: &str, expected: &[&str]) {
    let i = intent(&format!("{BASE}{extra}"));
    let mut codes: Vec<&str> = vantage::lint::lint(&i, jiff::civil::date(2026, 11, 24))
        .iter()
        .map(|d| d.code)
        // Every case here leaves some of the base's services unused and the
        // host `ext` unprobed; those are checked on their own below.
        .filter(|c| !matches!(*c, "unused-service" | "host-not-probed"))
        .collect();
    codes.sort_unstable();
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    assert_eq!(codes, expected, "for:\n{extra}");
}

#[test]
fn dns_servers_outside_the_scope_are_never_asked() {
    check(
        "dns:\n  servers: [198.18.10.53, \"198.19.0.53:5353\", 203.0.113.53]\n",
        &["dns-server-not-probed", "dns-server-not-probed"],
    );
}

#[test]
fn duplicate_and_shadowed_flows() {
    check(
        "flows:\n  - { from: internet, to: web, allow: [https] }\n  - { from: internet, to: web, allow: [https] }\n",
        &["duplicate-flow"],
    );
    check(
        "flows:\n  - { from: internet, to: web, allow: [https] }\n  - { from: internet, to: web, deny: [https] }\n",
        &["shadowed-flow"],
    );
    check(
        "flows:\n  - { from: internet, to: dmz, allow: [https, ssh] }\n  - { from: internet, to: web, allow: [https] }\n",
        &["shadowed-flow"],
    );
    // An allow from elsewhere is not shadowed by a deny from the internet.
    check(
        "flows:\n  - { from: app, to: web, allow: [ssh] }\n  - { from: internet, to: dmz, deny: [ssh] }\n",
        &[],
    );
}

#[test]
fn flows_that_add_a_requirement_or_severity_are_not_redundant() {
    // A reachable flow next to an optional one adds a requirement, so only
    // the optional one is redundant, whichever comes first.
    for (first, second, redundant) in
        [("", ", require: optional", 2), (", require: optional", "", 1)]
    {
        let spec = format!(
            "{BASE}flows:\n  - {{ from: internet, to: web, allow: [https]{first} }}\n  - {{ from: internet, to: web, allow: [https]{second} }}\n"
        );
        let shadowed: Vec<String> =
            vantage::lint::lint(&intent(&spec), jiff::civil::date(2026, 11, 24))
                .into_iter()
                .filter(|d| d.code == "shadowed-flow")
                .map(|d| d.message)
                .collect();
        assert_eq!(shadowed.len(), 1, "{shadowed:?}");
        assert!(
            shadowed[0].starts_with(&format!("flow #{redundant} is redundant")),
            "{shadowed:?}"
        );
    }
    // Same ports, another service with its own severity.
    check(
        "flows:\n  - { from: internet, to: web, deny: [https] }\n  - { from: internet, to: web, deny: [web-alt] }\n",
        &[],
    );
    // A flow-level severity override.
    check(
        "flows:\n  - { from: internet, to: web, deny: [ssh] }\n  - { from: internet, to: web, deny: [ssh], severity: low }\n",
        &[],
    );
}

#[test]
fn destinations_and_waivers_that_can_never_be_checked() {
    check("flows:\n  - { from: internet, to: partner, allow: [https] }\n", &["flow-to-unprobed"]);
    check("flows:\n  - { from: internet, to: ext, allow: [https] }\n", &["flow-to-unprobed"]);
    let waiver = |m: &str| {
        format!(
            "flows:\n  - {{ from: internet, to: web, allow: [https] }}\nwaivers:\n  - {{ id: W, match: {{ {m} }}, reason: r, approved_by: o, expires: 2030-01-01 }}\n"
        )
    };
    check(&waiver("to: web, port: tcp/443"), &[]);
    check(&waiver("to: web, port: tcp/8443"), &["waiver-unused"]);
    check(&waiver("from: app"), &["waiver-unused"]);
    check(&waiver("to: partner"), &["waiver-unused"]);
    check(&waiver("rule: tls-cipher"), &[]);
}

#[test]
fn waiver_expiry_is_judged_in_utc_days() {
    let spec = format!(
        "{BASE}flows:\n  - {{ from: internet, to: web, allow: [https] }}\nwaivers:\n  - {{ id: W, match: {{ to: web, port: tcp/443 }}, reason: r, approved_by: o, expires: 2026-12-31 }}\n"
    );
    let i = intent(&spec);
    let codes = |y, m, d| -> Vec<&'static str> {
        vantage::lint::lint(&i, jiff::civil::date(y, m, d))
            .iter()
            .map(|d| d.code)
            .filter(|c| c.starts_with("waiver"))
            .collect()
    };
    assert_eq!(codes(2026, 11, 24), Vec::<&str>::new(), "37 days left");
    assert_eq!(codes(2026, 12, 17), ["waiver-expiring"], "14 days left");
    assert_eq!(codes(2026, 12, 31), ["waiver-expiring"], "its last day still applies");
    assert_eq!(codes(2027, 1, 1), ["waiver-expired"]);
}

#[test]
fn unused_services_and_unprobed_hosts() {
    let i = intent(&format!("{BASE}flows:\n  - {{ from: internet, to: web, allow: [https] }}\n"));
    let warnings = vantage::lint::lint(&i, jiff::civil::date(2026, 11, 24));
    let mut named: Vec<(&str, String)> = warnings
        .iter()
        .filter(|d| d.code == "unused-service" || d.code == "host-not-probed")
        .map(|d| (d.code, d.message.clone()))
        .collect();
    named.sort();
    assert_eq!(named.len(), 3, "{named:?}");
    assert!(named[0].1.contains("`ext`") && named[0].1.contains("`partner`"), "{named:?}");
    assert!(named[1].1.contains("`ssh`") && named[2].1.contains("`web-alt`"), "{named:?}");
}
