//! The DNS bed (`tests/dnsbed`) serves exactly what it claims, checked with
//! `dig` from the lab's two client zones: every record from the views that
//! serve it and from no other, the planted leak, AXFR, open recursion and
//! dangling CNAME on server A, and none of them on server B. Its generated
//! files pass BIND's own checkers, and its specs load.

#![allow(clippy::print_stderr, reason = "a test without its tools says it skipped")]

use std::collections::BTreeSet;

use crate::dnsbed::{
    self, BOTH, INSIDE, OUTSIDE, RECORDS, RECURSION_ANSWER, RECURSION_NAME, Server, TempDir,
    Variant,
};

/// The status and flags of a dig answer.
fn header(out: &str) -> (String, BTreeSet<String>) {
    let status = out
        .split("status: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no status in:\n{out}"))
        .to_owned();
    let flags = out
        .split(";; flags: ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no flags in:\n{out}"))
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    (status, flags)
}

/// The answer section's records, as (name, type, value) without final dots.
fn answers(out: &str) -> Vec<(String, String, String)> {
    let Some(section) = out.split(";; ANSWER SECTION:\n").nth(1) else { return Vec::new() };
    section.lines().take_while(|l| !l.is_empty()).map(record).collect()
}

/// One record line of dig's output: `name. ttl IN type value`.
fn record(line: &str) -> (String, String, String) {
    let mut fields = line.split_whitespace();
    let name = fields.next().unwrap_or_default().trim_end_matches('.').to_owned();
    let _ttl = fields.next();
    let _class = fields.next();
    let rtype = fields.next().unwrap_or_default().to_owned();
    let value = fields.collect::<Vec<_>>().join(" ").trim_end_matches('.').to_owned();
    (name, rtype, value)
}

/// The records of a zone transfer (every non-comment line).
fn transferred(out: &str) -> Vec<(String, String, String)> {
    out.lines().filter(|l| !l.is_empty() && !l.starts_with(';')).map(record).collect()
}

#[test]
fn dns_bed_serves_exactly_the_records_and_flaws_it_claims() {
    let Some(bed) = dnsbed::start_or_skip("serve") else { return };
    let (a, b) = (Server::A.at(), Server::B.at());

    // Every record set, from each client: what the views serving it hold,
    // and nothing from a view that does not serve it.
    let mut asked = BTreeSet::new();
    for r in RECORDS {
        if !asked.insert((r.server, r.name, r.rtype)) {
            continue;
        }
        for &from in BOTH {
            let out = bed.dig(from, &[&r.server.at(), "+norec", r.name, r.rtype]);
            let got: BTreeSet<String> = answers(&out).into_iter().map(|(_, _, v)| v).collect();
            let want: BTreeSet<String> = RECORDS
                .iter()
                .filter(|x| x.server == r.server && x.name == r.name && x.rtype == r.rtype)
                .filter(|x| x.served.contains(&from))
                .map(|x| x.value.to_owned())
                .collect();
            assert_eq!(got, want, "{} {} from {from}:\n{out}", r.name, r.rtype);
            let (status, flags) = header(&out);
            let want_status = if RECORDS
                .iter()
                .any(|x| x.server == r.server && x.name == r.name && x.served.contains(&from))
            {
                "NOERROR"
            } else {
                "NXDOMAIN"
            };
            assert_eq!(status, want_status, "{} from {from}:\n{out}", r.name);
            assert!(flags.contains("aa"), "{} from {from} is authoritative:\n{out}", r.name);
        }
    }

    // The leak: an inside-only name that the outside view serves too.
    for from in BOTH {
        let out = bed.dig(from, &[&a, "+norec", "db.internal.corp.test", "A"]);
        assert_eq!(header(&out).0, "NOERROR", "{out}");
        assert_eq!(answers(&out)[0].2, "198.18.33.70", "{out}");
    }
    // The views differ where intended: www has an address per view, and the
    // intranet names exist inside only, on A and on B.
    let short = |from: &str, at: &str, name: &str| {
        bed.dig(from, &[at, "+short", name, "A"]).trim().to_owned()
    };
    assert_eq!(short(OUTSIDE, &a, "www.corp.test"), "198.18.33.80");
    assert_eq!(short(INSIDE, &a, "www.corp.test"), "198.18.33.81");
    for (at, name, addr) in
        [(&a, "intranet.corp.test", "198.18.33.71"), (&b, "intranet.good.test", "198.18.33.91")]
    {
        let out = bed.dig(OUTSIDE, &[at, name, "A"]);
        assert_eq!(header(&out).0, "NXDOMAIN", "{name} from outside:\n{out}");
        assert_eq!(short(INSIDE, at, name), addr);
    }

    // AXFR: A hands corp.test to anyone (each client gets its view); its
    // reverse zone and B refuse.
    for from in BOTH {
        let out = bed.dig(from, &[&a, "corp.test", "AXFR"]);
        let records = transferred(&out);
        let names: BTreeSet<&str> = records.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(records.first().map(|r| r.1.as_str()), Some("SOA"), "{out}");
        assert_eq!(records.last().map(|r| r.1.as_str()), Some("SOA"), "{out}");
        let served = RECORDS
            .iter()
            .filter(|r| r.server == Server::A && r.name.ends_with("corp.test"))
            .filter(|r| r.served.contains(from))
            .count();
        assert_eq!(records.len(), served + 2, "every record and the SOA twice:\n{out}");
        assert!(names.contains("db.internal.corp.test") && names.contains("old.corp.test"));
        assert_eq!(names.contains("intranet.corp.test"), *from == INSIDE, "{out}");
        for (at, zone) in [(&a, "33.18.198.in-addr.arpa"), (&b, "good.test")] {
            let out = bed.dig(from, &[at, zone, "AXFR"]);
            assert!(out.contains("Transfer failed."), "{zone} from {from}:\n{out}");
            assert!(transferred(&out).is_empty(), "{out}");
        }
    }

    // Recursion: A answers a name outside its authority with RA and data (C
    // holds it); B refuses. C answers it itself, with authority.
    for from in BOTH {
        let out = bed.dig(from, &[&a, RECURSION_NAME, "A"]);
        let (status, flags) = header(&out);
        assert_eq!(status, "NOERROR", "{out}");
        assert!(flags.contains("ra") && !flags.contains("aa"), "{flags:?}\n{out}");
        assert_eq!(answers(&out), [(RECURSION_NAME.into(), "A".into(), RECURSION_ANSWER.into())]);
        let out = bed.dig(from, &[&b, RECURSION_NAME, "A"]);
        let (status, flags) = header(&out);
        assert_eq!(status, "REFUSED", "{out}");
        assert!(!flags.contains("ra") && answers(&out).is_empty(), "{out}");
        // Each knows its own zones only: B is no resolver for A's names, and
        // C refuses A the names of B's.
        let out = bed.dig(from, &[&a, "www.good.test", "A"]);
        assert_eq!(header(&out).0, "SERVFAIL", "{out}");
        let out = bed.dig(from, &[&b, "www.corp.test", "A"]);
        assert_eq!(header(&out).0, "REFUSED", "{out}");
    }
    let out = bed.dig(OUTSIDE, &[&Server::C.at(), RECURSION_NAME, "A"]);
    assert!(header(&out).1.contains("aa"), "{out}");

    // The dangling CNAME: old.corp.test points at a name that does not
    // exist; B's CNAME points at one that does.
    for from in BOTH {
        let out = bed.dig(from, &[&a, "old.corp.test", "A"]);
        assert_eq!(header(&out).0, "NXDOMAIN", "{out}");
        assert_eq!(
            answers(&out),
            [("old.corp.test".into(), "CNAME".into(), "gone.corp.test".into())],
            "{out}"
        );
        let out = bed.dig(from, &[&a, "gone.corp.test", "ANY"]);
        assert_eq!(header(&out).0, "NXDOMAIN", "{out}");
        let out = bed.dig(from, &[&b, "alias.good.test", "A"]);
        assert_eq!(header(&out).0, "NOERROR", "{out}");
        assert_eq!(
            answers(&out),
            [
                ("alias.good.test".into(), "CNAME".into(), "www.good.test".into()),
                ("www.good.test".into(), "A".into(), "198.18.33.90".into())
            ],
            "{out}"
        );
    }

    // Nothing tried to leave the lab: A forwards, and no server asks the
    // real root servers anything.
    assert_eq!(bed.stray_packets(), 0, "{}", bed.strays());
}

#[test]
fn dns_bed_files_pass_named_checkconf_and_named_checkzone() {
    if let Err(e) = dnsbed::tools() {
        assert!(std::env::var_os("VANTAGE_REQUIRE_LAB").is_none(), "{e:?}");
        eprintln!("SKIPPED: {e:?}");
        return;
    }
    let dir = TempDir::new("dnsbed-check").expect("a temporary folder");
    let files = dnsbed::generate(dir.path()).expect("the files are written");
    assert_eq!(files.len(), 3);
    for f in &files {
        let conf = f.conf.display().to_string();
        let out = std::process::Command::new("named-checkconf")
            .args(["-z", &conf])
            .output()
            .expect("named-checkconf runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{conf}:\n{text}");
        // One line per zone loaded (`zone corp.test/IN/inside: loaded serial 1`).
        let loaded = text.lines().filter(|l| l.contains(": loaded serial 1")).count();
        assert_eq!(loaded, f.zones.len(), "{text}");
        for (zone, view, path) in &f.zones {
            let out = std::process::Command::new("named-checkzone")
                .args(["-k", "fail", "-n", "fail", "-i", "full", zone])
                .arg(path)
                .output()
                .expect("named-checkzone runs");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success() && text.ends_with("OK\n"), "{zone} ({view}):\n{text}");
        }
    }
}

#[test]
fn dns_bed_specs_load_with_the_expectations_of_the_declared_servers() {
    let both = crate::util::intent(&dnsbed::spec_yaml(Variant::Both));
    assert_eq!(both.dns.servers.len(), 2);
    assert_eq!(both.dns.forbid.len(), 3);
    let leak = both
        .dns
        .expect
        .iter()
        .filter(|e| e.absent)
        .map(|e| e.name.as_str())
        .collect::<BTreeSet<_>>();
    assert_eq!(
        leak,
        BTreeSet::from(["db.internal.corp.test", "intranet.corp.test", "intranet.good.test"])
    );
    assert!(both.dns.expect.iter().any(|e| e.name == "old.corp.test" && e.rtype == "CNAME"));
    // The inside vantage is trusted (may recurse), the outside one is not.
    let probe = |v: &str| {
        let v = both.vantages.iter().find(|x| x.name == v).expect("the vantage");
        both.zones[v.zone.0].probe
    };
    assert!(probe(INSIDE) && !probe(OUTSIDE));
    let good = crate::util::intent(&dnsbed::spec_yaml(Variant::GoodOnly));
    let servers: Vec<std::net::SocketAddr> = good.dns.servers.iter().map(|s| s.addr).collect();
    assert_eq!(servers, [std::net::SocketAddr::from((Server::B.addr(), 53))]);
    assert!(good.dns.expect.iter().all(|e| e.name.ends_with("good.test")), "{:?}", good.dns);
    assert_eq!(good.hosts.len(), 1);
}
