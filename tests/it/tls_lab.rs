//! The TLS bed judged end to end: `vantage scan` then `vantage verdict`
//! inside the bed's namespace report exactly the 14 planted flaws, each on
//! its endpoint and named in its evidence; and what the scan says each
//! endpoint accepts, version by version and suite by suite, is what
//! `openssl s_client` finds offering one suite at a time (and, for the
//! GnuTLS endpoint, whose 3DES and RC4 suites this OpenSSL cannot speak,
//! what `gnutls-cli -l` says its priority string enables).
//!
//! SSLv2 and SSLv3: no server here can speak them (OpenSSL 3.0 and GnuTLS
//! dropped them), so the bed only shows they are refused; the accepting
//! paths are tested on recorded server bytes (`tests/data/tls/`, the
//! `tls` module).

#![allow(clippy::print_stderr, reason = "a test without its servers says it skipped")]

use std::collections::{BTreeMap, BTreeSet};

use vantage::observe::{TlsFact, TlsVersion};

use crate::tlsbed::{Bed, BedError, Endpoint, WEAK_PRIORITY};

fn start(tag: &str) -> Option<Bed> {
    match Bed::start(tag) {
        Ok(b) => Some(b),
        Err(BedError::Missing(why)) if std::env::var_os("VANTAGE_REQUIRE_LAB").is_none() => {
            eprintln!("skipped: {why}");
            None
        }
        Err(e) => panic!("the TLS bed did not start: {e:?}"),
    }
}

/// Runs vantage in the bed's namespace; (exit code, stdout, stderr).
fn vantage(bed: &Bed, args: &[&str]) -> (Option<i32>, String, String) {
    let mut argv = vec![env!("CARGO_BIN_EXE_vantage")];
    argv.extend(args);
    let out = bed.exec(&argv);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_bed_is_judged_with_exactly_its_planted_flaws_and_suites_openssl_agrees_with() {
    let Some(bed) = start("judge") else { return };
    let spec = bed.write_spec();
    let obs = bed.dir().join("bed.jsonl");
    let (spec_s, obs_s) = (spec.display().to_string(), obs.display().to_string());
    let (code, _, err) = vantage(
        &bed,
        &["scan", &spec_s, "--from", "here", "--mode", "connect", "--quiet", "-o", &obs_s],
    );
    assert_eq!(code, Some(0), "the scan finishes: {err}");
    let (code, out, err) = vantage(&bed, &["verdict", &spec_s, &obs_s, "--format", "json"]);
    assert_eq!(code, Some(1), "findings: {err}\n{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("the findings document");
    let findings = doc["findings"].as_array().expect("findings");

    // Exactly the planted flaws: per endpoint, the rules found are the
    // rules planted, and each flaw's word is in its finding.
    let mut judged = 0;
    for e in bed.endpoints() {
        let here: Vec<&serde_json::Value> = findings
            .iter()
            .filter(|f| {
                f["target"] == e.addr.ip().to_string() && f["port"] == u64::from(e.addr.port())
            })
            .collect();
        judged += here.len();
        let rules: BTreeSet<&str> = here.iter().filter_map(|f| f["rule"].as_str()).collect();
        let planted: BTreeSet<&str> = e.flaws.iter().map(|(rule, _)| *rule).collect();
        assert_eq!(rules, planted, "{}: {here:#?}", e.name);
        for (rule, word) in e.flaws {
            let f = here.iter().find(|f| f["rule"] == *rule).expect("found above");
            let text = format!("{} {}", f["observed"], f["evidence"]);
            assert!(text.contains(word), "{}: {rule} should name {word:?}: {text}", e.name);
        }
    }
    assert_eq!(judged, findings.len(), "no finding beyond the endpoints': {findings:#?}");

    // What vantage says each endpoint accepts, against the peers.
    let file = vantage::observe::read(&obs).expect("the observation file");
    assert_eq!(file.tls.len(), bed.endpoints().len(), "a tls line per endpoint");
    // The peers' answers, two endpoints at a time (hundreds of s_client runs).
    let truths: Vec<Accepted> = std::thread::scope(|scope| {
        let bed = &bed;
        let mut out = Vec::new();
        for pair in bed.endpoints().chunks(2) {
            let handles: Vec<_> = pair
                .iter()
                .map(|e| {
                    scope.spawn(move || match e.name {
                        "plaintext" => Accepted::new(),
                        "weakciphers" => gnutls_truth(),
                        _ => openssl_truth(bed, e),
                    })
                })
                .collect();
            out.extend(handles.into_iter().map(|h| h.join().expect("a peer run")));
        }
        out
    });
    for (e, theirs) in bed.endpoints().iter().zip(truths) {
        let fact = file
            .tls
            .iter()
            .find(|t| t.target == e.addr.ip() && t.port == e.addr.port())
            .unwrap_or_else(|| panic!("{}: no tls line", e.name));
        assert_eq!(fact.sni.as_deref(), Some(e.dns), "{}", e.name);
        let ours = accepted(fact);
        if e.name == "plaintext" {
            assert!(!fact.speaks_tls && fact.plaintext.is_some(), "{fact:?}");
        }
        assert_eq!(ours, theirs, "{}: vantage (left) and the peer (right) disagree", e.name);
        if fact.speaks_tls {
            assert!(fact.error.is_none(), "{}: {:?}", e.name, fact.error);
            for v in [TlsVersion::Ssl2, TlsVersion::Ssl3] {
                assert!(fact.refused.contains(&v), "{}: {v:?} refused: {fact:?}", e.name);
            }
        }
    }
}

type Accepted = BTreeMap<TlsVersion, BTreeSet<u16>>;

fn accepted(fact: &TlsFact) -> Accepted {
    fact.versions
        .iter()
        .map(|v| {
            let codes = v
                .suites
                .iter()
                .map(|s| u16::from_str_radix(s.code.trim_start_matches("0x"), 16).expect("hex"))
                .collect();
            (v.version, codes)
        })
        .collect()
}

const TLS13_SUITES: [(u16, &str); 5] = [
    (0x1301, "TLS_AES_128_GCM_SHA256"),
    (0x1302, "TLS_AES_256_GCM_SHA384"),
    (0x1303, "TLS_CHACHA20_POLY1305_SHA256"),
    (0x1304, "TLS_AES_128_CCM_SHA256"),
    (0x1305, "TLS_AES_128_CCM_8_SHA256"),
];

/// What `openssl s_client` finds offering one version and one suite at a
/// time (a version is tried suite by suite only when it answers at all).
fn openssl_truth(bed: &Bed, e: &Endpoint) -> Accepted {
    let legacy = crate::tls_probe::openssl_tls12_suites();
    let (addr, name) = (e.addr.to_string(), e.dns);
    let s_client = |args: &str, want: &str| {
        format!(
            "openssl s_client -connect {addr} -servername {name} {args} </dev/null 2>/dev/null \
             | grep -q '{want}'"
        )
    };
    let mut script = String::new();
    for (flag, version) in [("-tls1", "10"), ("-tls1_1", "11"), ("-tls1_2", "12")] {
        let any = s_client(&format!("{flag} -cipher 'ALL:@SECLEVEL=0'"), "Cipher is [A-Z]");
        script.push_str(&format!("if {any}; then\n"));
        for (code, suite) in &legacy {
            let one = s_client(
                &format!("{flag} -cipher '{suite}:@SECLEVEL=0'"),
                &format!("Cipher is {suite}$"),
            );
            script.push_str(&format!("  {one} && echo {version} {code}\n"));
        }
        script.push_str("fi\n");
    }
    let any = s_client("-tls1_3", "Cipher is [A-Z]");
    script.push_str(&format!("if {any}; then\n"));
    for (code, suite) in TLS13_SUITES {
        let one =
            s_client(&format!("-tls1_3 -ciphersuites {suite}"), &format!("Cipher is {suite}$"));
        script.push_str(&format!("  {one} && echo 13 {code}\n"));
    }
    script.push_str("fi\ntrue\n");
    let out = bed.exec(&["sh", "-c", &script]);
    let mut truth = Accepted::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((v, code)) = line.split_once(' ') else { continue };
        let version = match v {
            "10" => TlsVersion::Tls10,
            "11" => TlsVersion::Tls11,
            "12" => TlsVersion::Tls12,
            _ => TlsVersion::Tls13,
        };
        truth.entry(version).or_default().insert(code.parse().expect("a code point"));
    }
    truth
}

/// The TLS 1.2 suites `gnutls-cli -l` lists for the weak endpoint's
/// priority string (every one usable with its RSA certificate).
fn gnutls_truth() -> Accepted {
    let out = std::process::Command::new("gnutls-cli")
        .args(["-l", "--priority", WEAK_PRIORITY])
        .output()
        .expect("gnutls-cli runs");
    let mut codes = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // `TLS_RSA_3DES_EDE_CBC_SHA1   0x00, 0x0a   TLS1.0`
        let mut fields = line.split('\t').map(str::trim);
        let (Some(_), Some(hex)) = (fields.next(), fields.next()) else { continue };
        let Some((hi, lo)) = hex.split_once(", ") else { continue };
        let byte = |b: &str| u8::from_str_radix(b.trim_start_matches("0x"), 16).ok();
        if let (Some(hi), Some(lo)) = (byte(hi), byte(lo)) {
            codes.insert(u16::from_be_bytes([hi, lo]));
        }
    }
    assert!(codes.contains(&0x000a) && codes.contains(&0x0005), "3DES and RC4: {codes:?}");
    BTreeMap::from([(TlsVersion::Tls12, codes)])
}
