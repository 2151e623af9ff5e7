//! DNS end to end: `vantage check` from the DNS bed's two client zones
//! (`outside`, untrusted, and `inside`) reports exactly the flaws planted
//! on server A, each from the vantages it shows from and naming its name,
//! and nothing on server B alone; and what vantage says each server
//! answered is what `dig` gets asking the same question from the same
//! zone.

#![allow(clippy::print_stderr, reason = "a test without its tools says it skipped")]

use std::collections::BTreeSet;

use vantage::observe::{DnsCheck, DnsFact};

use crate::dnsbed::{self, Bed, INSIDE, OUTSIDE, Variant};

/// Runs `vantage check` from `vantage`; (exit code, findings, dns lines).
fn check(
    bed: &Bed,
    spec: &str,
    vantage: &str,
) -> (Option<i32>, Vec<serde_json::Value>, Vec<DnsFact>) {
    let save = bed.dir().join(format!("{vantage}-{}.jsonl", spec.len()));
    let save_s = save.display().to_string();
    let out = bed.exec(
        vantage,
        &[
            env!("CARGO_BIN_EXE_vantage"),
            "check",
            spec,
            "--from",
            vantage,
            "--quiet",
            "--format",
            "json",
            "--save",
            &save_s,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let findings = doc["findings"].as_array().cloned().unwrap_or_default();
    let file = vantage::observe::read(&save).expect("the saved observations");
    (out.status.code(), findings, file.dns)
}

/// `dig +short`'s lines, as the observation writes values.
fn short(bed: &Bed, zone: &str, server: std::net::IpAddr, args: &[&str]) -> Vec<String> {
    let at = format!("@{server}");
    let mut argv = vec![at.as_str(), "+short", "+tries=2", "+time=2"];
    argv.extend(args);
    bed.dig(zone, &argv)
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(';'))
        .map(|l| {
            let words: Vec<String> = if l.contains('"') {
                vec![l.to_owned()]
            } else {
                l.split_whitespace().map(|w| w.trim_end_matches('.').to_ascii_lowercase()).collect()
            };
            words.join(" ")
        })
        .collect()
}

/// Every answered question of a `dns` line, asked again with dig: the same
/// records (`+short` prints each record's data, in order); a transfer, the
/// same number of records.
fn dig_agrees(bed: &Bed, zone: &str, lines: &[DnsFact]) {
    let mut compared = 0;
    for f in lines.iter().filter(|f| f.rcode.is_some()) {
        let rd = if f.recursion_desired { "+rec" } else { "+norec" };
        if f.check == DnsCheck::Axfr {
            let out =
                bed.dig(zone, &[&format!("@{}", f.server), "+noall", "+answer", &f.name, "AXFR"]);
            let records = out.lines().filter(|l| !l.is_empty() && !l.starts_with(';')).count();
            if f.records > 0 {
                assert_eq!(records as u64, f.records, "AXFR {} from {zone}: {out}", f.name);
            } else {
                assert_eq!(records, 0, "AXFR {} from {zone} refused: {out}", f.name);
            }
        } else if f.check != DnsCheck::Wildcard {
            let ours: Vec<String> = f.answers.iter().map(|r| r.value.clone()).collect();
            let theirs = short(bed, zone, f.server, &[rd, &f.name, &f.rtype]);
            assert_eq!(ours, theirs, "{} {} from {zone} @{}: {f:?}", f.name, f.rtype, f.server);
        }
        compared += 1;
    }
    assert!(compared >= 10, "the scan asked and dig checked {compared} questions");
}

#[test]
fn check_from_two_vantages_reports_exactly_the_planted_dns_flaws_and_dig_agrees() {
    let Some(bed) = dnsbed::start_or_skip("chk") else { return };
    for variant in [Variant::Both, Variant::GoodOnly] {
        let spec = bed.write_spec(variant).display().to_string();
        for vantage in [OUTSIDE, INSIDE] {
            let (code, findings, lines) = check(&bed, &spec, vantage);
            let planted: BTreeSet<(String, String)> = bed
                .flaws(variant)
                .iter()
                .filter(|f| f.from.contains(&vantage))
                .map(|f| (f.rule.to_owned(), f.server.addr().to_string()))
                .collect();
            let found: BTreeSet<(String, String)> = findings
                .iter()
                .map(|f| {
                    (
                        f["rule"].as_str().unwrap_or_default().to_owned(),
                        f["target"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            assert_eq!(found, planted, "{variant:?} from {vantage}: {findings:#?}");
            assert_eq!(findings.len(), planted.len(), "one finding each: {findings:#?}");
            for flaw in bed.flaws(variant).iter().filter(|f| f.from.contains(&vantage)) {
                let f = findings.iter().find(|f| f["rule"] == flaw.rule).expect("found above");
                let text = format!("{} {}", f["observed"], f["evidence"]);
                assert!(
                    text.contains(flaw.detail),
                    "{} should name {}: {text}",
                    flaw.rule,
                    flaw.detail
                );
            }
            assert_eq!(code, Some(if planted.is_empty() { 0 } else { 1 }), "{findings:#?}");
            dig_agrees(&bed, vantage, &lines);
        }
    }
    assert_eq!(bed.stray_packets(), 0, "nothing left the lab: {}", bed.strays());
}
