//! nmap runs as observation records: real nmap files from
//! `tests/data/nmap/`, and the mapping of states and reasons as a table.

use super::*;
use crate::observe::encode_line;

fn ctx() -> Context {
    Context {
        spec: "spec.yaml".to_owned(),
        spec_digest: format!("sha256:{}", "0".repeat(64)),
        vantage: "here".to_owned(),
        now: "2026-03-01T12:00:00.000Z".to_owned(),
    }
}

fn import(xml: &[u8]) -> Imported {
    let run = nmap::parse(xml).expect("nmap's own file");
    let imported = observations(&run, &ctx());
    for r in &imported.records {
        encode_line(r).expect("every record passes the format's checks");
    }
    imported
}

/// Every line in a compact form: `port 22 open syn-ack`, `filtered tcp 1-3 no-response`.
fn lines(imported: &Imported) -> Vec<String> {
    let reason = |r: &Reason| serde_json::to_string(r).unwrap_or_default().replace('"', "");
    imported
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Port(p) => Some(format!(
                "{} {} {} {} {}",
                p.proto.as_str(),
                p.port,
                p.state.as_str(),
                reason(&p.reason),
                p.banner.as_deref().unwrap_or("-")
            )),
            Record::Filtered(f) => {
                Some(format!("filtered {} {} {}", f.proto.as_str(), f.ports, reason(&f.reason)))
            }
            _ => None,
        })
        .collect()
}

fn trailer(imported: &Imported) -> &Trailer {
    match imported.records.last() {
        Some(Record::Trailer(t)) => t,
        other => panic!("no trailer: {other:?}"),
    }
}

fn header(imported: &Imported) -> &Header {
    match imported.records.first() {
        Some(Record::Header(h)) => h,
        other => panic!("no header: {other:?}"),
    }
}

#[test]
fn one_unlisted_group_or_listed_groups_account_for_every_port() {
    let i = import(include_bytes!("../../tests/data/nmap/syn_extraports.xml"));
    assert!(i.complete, "{:?}", i.warnings);
    assert!(i.warnings.is_empty(), "{:?}", i.warnings);
    let h = header(&i);
    assert_eq!((h.mode, h.probes_planned, h.vantage.as_str()), (ScanMode::Syn, 41, "here"));
    assert_eq!(h.started, "2026-12-02T15:06:03.000Z");
    let t = trailer(&i);
    assert_eq!((t.open, t.closed, t.filtered, t.complete), (2, 39, 0, true));
    let l = lines(&i);
    assert_eq!(
        l[..3],
        ["tcp 2201 open syn-ack -", "tcp 2202 open syn-ack -", "tcp 1 closed rst -"]
    );
}

#[test]
fn filtered_groups_become_summaries_with_their_reasons() {
    let i = import(include_bytes!("../../tests/data/nmap/syn_filtered_closed.xml"));
    assert!(i.complete, "{:?}", i.warnings);
    let l = lines(&i);
    assert!(l.contains(&"filtered tcp 3000-3100 no-response".to_owned()), "{l:?}");
    assert!(
        l.contains(&"filtered tcp 4000-4010 {icmp-unreachable:{type:3,code:13}}".to_owned()),
        "{l:?}"
    );
    let t = trailer(&i);
    assert_eq!((t.open, t.closed, t.filtered), (1, 30, 112));
    assert_eq!(header(&i).probes_planned, 143);
}

#[test]
fn udp_states_and_reasons() {
    let i = import(include_bytes!("../../tests/data/nmap/udp.xml"));
    let l = lines(&i);
    assert!(l.contains(&"udp 1 closed port-unreachable -".to_owned()), "{l:?}");
    // nmap lists every port of a state with fewer than 26 (no extraports).
    assert!(l.contains(&"udp 5000 open|filtered no-response -".to_owned()), "{l:?}");
    let t = trailer(&i);
    assert_eq!(t.open + t.closed + t.filtered + t.open_filtered, header(&i).probes_planned);
    assert!(i.complete, "{:?}", i.warnings);
}

#[test]
fn several_unlisted_groups_are_not_guessed() {
    let i = import(include_bytes!("../../tests/data/nmap/syn_unlisted.xml"));
    assert!(!i.complete);
    assert!(!trailer(&i).complete);
    // Only the listed port is written.
    assert_eq!(lines(&i), ["tcp 2201 open syn-ack -"]);
    let w = i.warnings.join("\n");
    assert!(w.contains("-d2") && w.contains("142 scanned port(s)"), "{w}");
}

#[test]
fn an_unfinished_run_is_not_complete() {
    let xml = br#"<nmaprun start="1"><scaninfo type="connect" protocol="tcp" services="22"/>
<host><status state="up"/><address addr="127.0.0.1" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/></port></ports></host></nmaprun>"#;
    let i = import(xml);
    assert!(!i.complete);
    assert_eq!(header(&i).mode, ScanMode::Connect);
    assert_eq!(lines(&i), ["tcp 22 open connected -"]);
    assert!(i.warnings.iter().any(|w| w.contains("did not finish")), "{:?}", i.warnings);
}

/// nmap's states and reasons, one listed port each, as the format's.
#[test]
fn states_and_reasons_map_as_documented() {
    let cases = [
        ("open", "syn-ack", "tcp 1 open syn-ack -"),
        ("closed", "reset", "tcp 1 closed rst -"),
        ("closed", "conn-refused", "tcp 1 closed conn-refused -"),
        ("filtered", "no-response", "tcp 1 filtered no-response -"),
        ("filtered", "host-unreach", "tcp 1 filtered {icmp-unreachable:{type:3,code:1}} -"),
        ("filtered", "net-prohibited", "tcp 1 filtered {icmp-unreachable:{type:3,code:9}} -"),
        ("closed|filtered", "no-response", "tcp 1 filtered no-response -"),
        ("open|filtered", "no-response", "tcp 1 filtered no-response -"),
        ("open", "weird-reason", "tcp 1 open syn-ack -"),
    ];
    for (state, reason, want) in cases {
        let xml = format!(
            r#"<nmaprun><scaninfo type="syn" protocol="tcp" services="1"/><host><status state="up"/>
<address addr="127.0.0.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="1">
<state state="{state}" reason="{reason}"/></port></ports></host>
<runstats><finished time="2" exit="success"/></runstats></nmaprun>"#
        );
        let i = import(xml.as_bytes());
        assert_eq!(lines(&i), [want], "{state} {reason}");
        assert!(i.complete, "{state} {reason}: {:?}", i.warnings);
    }
    // `unfiltered` and unknown states are not imported: the port stays
    // unaccounted and the file incomplete.
    for state in ["unfiltered", "bogus"] {
        let xml = format!(
            r#"<nmaprun><scaninfo type="ack" protocol="tcp" services="1"/><host><status state="up"/>
<address addr="127.0.0.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="1">
<state state="{state}" reason="reset"/></port></ports></host>
<runstats><finished time="2" exit="success"/></runstats></nmaprun>"#
        );
        let i = import(xml.as_bytes());
        assert!(lines(&i).is_empty() && !i.complete, "{state}");
        assert!(i.warnings.iter().any(|w| w.contains(state)), "{state}: {:?}", i.warnings);
    }
}

#[test]
fn banners_are_bounded_and_printable() {
    let long = "A\u{1}".repeat(4000);
    let xml = format!(
        r#"<nmaprun><scaninfo type="syn" protocol="tcp" services="22"/><host><status state="up"/>
<address addr="127.0.0.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="22">
<state state="open" reason="syn-ack"/><service name="ssh" product="OpenSSH"/>
<script id="banner" output="{long}"/></port></ports></host></nmaprun>"#
    );
    let i = import(xml.as_bytes());
    let Some(Record::Port(p)) = i.records.get(1) else { panic!("a port line") };
    let banner = p.banner.as_deref().expect("a banner");
    assert!(banner.starts_with("A\\x01A"), "{banner}");
    assert!(banner.len() <= crate::observe::MAX_BANNER_CHARS);
    // Without the script, the product.
    let xml = xml.replace(&format!(r#"<script id="banner" output="{long}"/>"#), "");
    let i = import(xml.as_bytes());
    assert_eq!(lines(&i), ["tcp 22 open syn-ack OpenSSH"]);
}

/// Found by replaying the fuzz corpus with bytes flipped: a folded group
/// whose state is not imported must leave its ports unaccounted, not
/// count them as written.
#[test]
fn a_folded_group_of_an_unknown_state_stays_unaccounted() {
    let xml = br#"<nmaprun><scaninfo type="syn" protocol="tcp" services="1-30"/><host>
<status state="up"/><address addr="127.0.0.1" addrtype="ipv4"/><ports>
<extraports state="cLosed" count="30"><extrareasons reason="reset" count="30" proto="tcp" ports="1-30"/></extraports>
</ports></host><runstats><finished time="2" exit="success"/></runstats></nmaprun>"#;
    let i = import(xml);
    assert!(!i.complete && lines(&i).is_empty(), "{:?}", i.warnings);
    assert!(i.warnings.iter().any(|w| w.contains("30 scanned port(s)")), "{:?}", i.warnings);
}

/// The `tls` lines of an import.
fn tls(imported: &Imported) -> Vec<&TlsFact> {
    imported
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Tls(t) => Some(t),
            _ => None,
        })
        .collect()
}

#[test]
fn tls_scripts_become_a_tls_line() {
    let i = import(include_bytes!("../../tests/data/nmap/tls_openssl.xml"));
    assert!(i.complete, "{:?}", i.warnings);
    assert!(i.warnings.is_empty(), "{:?}", i.warnings);
    let facts = tls(&i);
    let [t] = facts.as_slice() else { panic!("one tls line: {facts:?}") };
    assert_eq!((t.target.to_string().as_str(), t.port), ("127.0.0.91", 8443));
    assert!(t.speaks_tls && t.error.is_none(), "{t:?}");
    let versions: Vec<TlsVersion> = t.versions.iter().map(|v| v.version).collect();
    assert_eq!(
        versions,
        [TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12, TlsVersion::Tls13]
    );
    assert_eq!(t.refused, [TlsVersion::Ssl3]);
    assert!(t.versions.iter().all(|v| v.server_order == Some(true)), "{t:?}");
    // TLS 1.3 as nmap names it (TLS_AKE_WITH_*) is IANA's.
    let tls13: Vec<&str> = t.versions[3].suites.iter().map(|s| s.code.as_str()).collect();
    assert!(tls13.contains(&"0x1301") && tls13.contains(&"0x1302"), "{tls13:?}");
    let named = t.versions[2]
        .suites
        .iter()
        .find(|s| s.name.as_deref() == Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
    assert_eq!(named.map(|s| s.code.as_str()), Some("0xC02F"));
    // The leaf, and only the leaf, marked as a cut chain.
    assert_eq!(t.chain.len(), 1);
    assert!(t.chain_truncated);
    let der = t.chain_der();
    let (_, leaf) = x509_parser::parse_x509_certificate(&der[0]).expect("the leaf");
    assert_eq!(leaf.subject().to_string(), "CN=web.test");
    assert_eq!(leaf.issuer().to_string(), "CN=vantage-test-ca");
    assert_eq!(t.at, trailer(&i).ended);
}

/// The fixture with its `ssl-cert` script or its PEM changed.
fn tls_fixture(edit: impl Fn(&str) -> String) -> Imported {
    let xml = include_str!("../../tests/data/nmap/tls_openssl.xml");
    import(edit(xml).as_bytes())
}

#[test]
fn a_missing_or_broken_certificate_leaves_the_certificate_policy_unjudged() {
    let cut_script = |xml: &str| {
        let start = xml.find("<script id=\"ssl-cert\"").expect("ssl-cert");
        let end = start + xml[start..].find("</script>").expect("its end") + "</script>".len();
        format!("{}{}", &xml[..start], &xml[end..])
    };
    let i = tls_fixture(cut_script);
    let facts = tls(&i);
    let [t] = facts.as_slice() else { panic!("{facts:?}") };
    assert!(t.chain.is_empty() && !t.chain_truncated, "{t:?}");
    assert_eq!(
        t.error.as_deref(),
        Some("no certificate was read: nmap's ssl-cert script did not run")
    );
    assert_eq!(t.versions.len(), 4, "the suites still count");

    let garbled = |xml: &str| xml.replacen("MII", "!!!", 1);
    let i = tls_fixture(garbled);
    let t = tls(&i)[0];
    assert!(t.chain.is_empty(), "{t:?}");
    let error = t.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("no certificate was read: nmap's ssl-cert PEM is not base64"),
        "{error}"
    );
    assert!(
        i.warnings.iter().any(|w| w.contains("127.0.0.91:8443: ssl-cert's PEM")),
        "{:?}",
        i.warnings
    );
}

#[test]
fn unknown_suite_names_are_left_out_with_a_warning() {
    let i = tls_fixture(|xml| {
        xml.replacen(
            "<elem key=\"name\">TLS_RSA_WITH_AES_128_CBC_SHA</elem>",
            "<elem key=\"name\">TLS_&lt;NOT&gt;_A_SUITE</elem>",
            1,
        )
    });
    let t = tls(&i)[0];
    // The first of three: gone from TLS 1.0, kept in 1.1.
    let has = |k: usize| t.versions[k].suites.iter().any(|s| s.code == "0x002F");
    assert!(!has(0) && has(1), "{t:?}");
    assert!(
        i.warnings.iter().any(|w| w.contains("`TLS_<NOT>_A_SUITE` has no IANA code point")),
        "{:?}",
        i.warnings
    );
}

#[test]
fn hostile_tls_script_output_is_refused_with_a_location() {
    let xml = include_str!("../../tests/data/nmap/tls_openssl.xml");
    let version = "<table key=\"TLSv1.0\">";
    let at = xml.find(version).expect("a version table");
    // Nine versions.
    let mut many = String::new();
    for k in 0..9 {
        many.push_str(&format!("<table key=\"TLSv9.{k}\"></table>"));
    }
    let bad = format!("{}{many}{}", &xml[..at], &xml[at..]);
    let err = nmap::parse(bad.as_bytes()).expect_err("too many versions");
    assert!(err.to_string().contains("more than 8 versions"), "{err}");
    assert!(err.to_string().starts_with("line "), "{err}");
    // A PEM over the text bound.
    let pem = "<elem key=\"pem\">";
    let at = xml.find(pem).expect("the pem") + pem.len();
    let bad = format!("{}{}{}", &xml[..at], "A".repeat(70_000), &xml[at..]);
    let err = nmap::parse(bad.as_bytes()).expect_err("too long");
    assert!(err.to_string().contains("a script's text is over 65536 bytes"), "{err}");
    // An entity XML does not define.
    let bad = xml.replacen(
        "<elem key=\"cipher preference\">server",
        "<elem key=\"cipher preference\">&boom;",
        1,
    );
    let err = nmap::parse(bad.as_bytes()).expect_err("unknown entity");
    assert!(err.to_string().contains("boom"), "{err}");
}

#[test]
fn a_failed_or_missing_ssl_enum_ciphers_leaves_versions_unjudged_not_refused() {
    let failed = |xml: &str| {
        let start = xml.find("<script id=\"ssl-enum-ciphers\"").expect("the script");
        let end = start + xml[start..].find("</script>").expect("its end") + "</script>".len();
        let error = "<script id=\"ssl-enum-ciphers\" output=\"ERROR: Script execution failed (use -d to debug)\"/>";
        format!("{}{error}{}", &xml[..start], &xml[end..])
    };
    let i = tls_fixture(failed);
    let t = tls(&i)[0];
    assert!(t.versions.is_empty() && t.refused.is_empty(), "{t:?}");
    assert_eq!(t.chain.len(), 1, "the certificate still counts");
    assert_eq!(
        t.error.as_deref(),
        Some("no protocol version was probed: nmap's ssl-enum-ciphers script did not run")
    );
}

#[test]
fn an_nmap_before_7_90_does_not_refuse_tls_1_3_it_never_tried() {
    let old = |xml: &str| {
        let start = xml.find("<table key=\"TLSv1.3\">").expect("the TLS 1.3 table");
        // The version table closes after its ciphers table and preference.
        let rest = &xml[start..];
        let close = "<elem key=\"cipher preference\">server</elem>\n</table>\n";
        let end = start + rest.find(close).expect("its end") + close.len();
        format!("{}{}", &xml[..start], &xml[end..]).replace("version=\"7.93\"", "version=\"7.80\"")
    };
    let i = tls_fixture(old);
    let t = tls(&i)[0];
    assert_eq!(t.versions.len(), 3, "{t:?}");
    assert_eq!(t.refused, [TlsVersion::Ssl3], "TLS 1.3 neither accepted nor refused");
}
