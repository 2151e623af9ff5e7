//! The nmap XML reader on real nmap output and on hostile input: every
//! refusal located, nothing panics, bounds hold.

use super::*;

const EXTRAPORTS: &[u8] = include_bytes!("../../../tests/data/nmap/syn_extraports.xml");
const MIXED: &[u8] = include_bytes!("../../../tests/data/nmap/syn_filtered_closed.xml");

#[test]
fn real_nmap_output_is_read() {
    let run = parse(EXTRAPORTS).expect("nmap's own file");
    assert_eq!(run.version, "7.93");
    assert_eq!(run.exit.as_deref(), Some("success"));
    assert_eq!(run.scans.len(), 1);
    assert_eq!(run.scans[0].scan_type, "syn");
    assert_eq!(run.scans[0].ports.len(), 41);
    let [host] = run.hosts.as_slice() else { panic!("one host: {:?}", run.hosts) };
    assert_eq!(host.address, Some("127.80.0.2".parse().expect("literal")));
    assert_eq!(host.status, "up");
    let open: Vec<(u16, &str, &str)> =
        host.ports.iter().map(|p| (p.port, p.state.as_str(), p.reason.as_str())).collect();
    assert_eq!(open, [(2201, "open", "syn-ack"), (2202, "open", "syn-ack")]);
    let [group] = host.extra.as_slice() else { panic!("one group") };
    assert_eq!((group.state.as_str(), group.count), ("closed", 39));
    let [reason] = group.reasons.as_slice() else { panic!("one reason") };
    assert_eq!(reason.reason, "reset");
    assert_eq!(reason.ports.as_ref().map(PortSet::len), Some(39));
}

#[test]
fn two_groups_keep_their_reasons_and_ports() {
    let run = parse(MIXED).expect("nmap's own file");
    let host = &run.hosts[0];
    let groups: Vec<(&str, Vec<(&str, u32)>)> = host
        .extra
        .iter()
        .map(|g| {
            (g.state.as_str(), g.reasons.iter().map(|r| (r.reason.as_str(), r.count)).collect())
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("filtered", vec![("no-response", 101), ("admin-prohibited", 11)]),
            ("closed", vec![("reset", 30)])
        ]
    );
}

#[test]
fn service_and_banner_script_are_kept() {
    let xml = br#"<nmaprun><host><status state="up"/><address addr="::1" addrtype="ipv6"/>
<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/>
<service name="ssh" product="OpenSSH" version="9.2p1" extrainfo="Debian 2"/>
<script id="banner" output="SSH-2.0-OpenSSH_9.2p1&#xa;x"/></port></ports></host></nmaprun>"#;
    let run = parse(xml).expect("well-formed");
    let p = &run.hosts[0].ports[0];
    assert_eq!(p.product.as_deref(), Some("OpenSSH 9.2p1 Debian 2"));
    assert_eq!(p.banner.as_deref(), Some("SSH-2.0-OpenSSH_9.2p1\nx"));
    // No <runstats>: the run did not finish.
    assert_eq!(run.exit, None);
}

/// Hostile or broken documents, each refused with a message naming the
/// problem and a location.
#[test]
fn hostile_input_is_refused_with_a_location() {
    let long = format!(
        r#"<nmaprun><host><address addr="{}" addrtype="ipv4"/></host></nmaprun>"#,
        "1".repeat(MAX_ATTR_BYTES + 1)
    );
    let deep = format!("<nmaprun>{}", "<a>".repeat(MAX_DEPTH + 1));
    let cases: Vec<(&[u8], &str)> = vec![
        (b"", "no <nmaprun>"),
        (b"<html><body/></html>", "the root is <html>"),
        (cut_at_host_end(), "cut off"),
        (&MIXED[..MIXED.len() / 2], "malformed XML"),
        (b"<nmaprun><host>", "cut off"),
        (b"<nmaprun></host>", "malformed XML"),
        (b"<nmaprun><scaninfo services=\"1-70000\"/></nmaprun>", "not a port number"),
        (b"<nmaprun><scaninfo services=\"9-1\"/></nmaprun>", "backwards"),
        (
            b"<nmaprun><host><ports><port protocol=\"tcp\" portid=\"0\"/></ports></host></nmaprun>",
            "expected 1-65535",
        ),
        (
            b"<nmaprun><host><ports><port protocol=\"tcp\" portid=\"65536\"/></ports></host></nmaprun>",
            "expected 1-65535",
        ),
        (
            b"<nmaprun><host><ports><port protocol=\"tcp\" portid=\"-1\"/></ports></host></nmaprun>",
            "expected 1-65535",
        ),
        (b"<nmaprun><ports><port portid=\"1\"/></ports></nmaprun>", "inside <host>"),
        (
            b"<nmaprun><host><ports><extraports state=\"closed\" count=\"x\"/></ports></host></nmaprun>",
            "expected a number",
        ),
        (
            b"<nmaprun><host><address addr=\"198.18.0.300\" addrtype=\"ipv4\"/></host></nmaprun>",
            "not an address",
        ),
        (long.as_bytes(), "byte limit"),
        (deep.as_bytes(), "nest deeper"),
        (b"<nmaprun a=\"&bogus;\"/>", "attribute a"),
        (b"<nmaprun/><nmaprun/>", "after the end"),
        (b"<nmaprun>\xff</nmaprun>", "not UTF-8"),
    ];
    for (xml, want) in cases {
        let err = parse(xml).expect_err(&String::from_utf8_lossy(&xml[..xml.len().min(80)]));
        let text = err.to_string();
        assert!(text.contains(want), "{want:?} not in {text:?}");
        assert!(text.starts_with("line "), "no location in {text:?}");
    }
}

/// The real file cut just before its `</host>`, as a killed nmap leaves it.
fn cut_at_host_end() -> &'static [u8] {
    let at = MIXED.windows(7).position(|w| w == b"</host>").expect("a </host>");
    &MIXED[..at]
}

#[test]
fn errors_say_where() {
    let err = parse(b"<nmaprun>\n<host>\n  <ports><port portid=\"0\"/>").expect_err("port 0");
    assert!(err.to_string().starts_with("line 3, column 10:"), "{err}");
}

#[test]
fn every_prefix_of_a_real_file_is_refused_or_read_without_panic() {
    for n in 0..MIXED.len() {
        let _ = parse(&MIXED[..n]);
    }
}

#[test]
fn port_lists_read_as_nmap_writes_them() {
    let cases: [(&str, Option<&str>); 6] = [
        ("", Some("")),
        ("1-1000,8080", Some("1-1000,8080")),
        ("0-3", Some("1-3")),
        ("80,22", Some("22,80")),
        ("1-", None),
        ("a", None),
    ];
    for (text, want) in cases {
        assert_eq!(port_list(text).ok().map(|s| s.to_string()).as_deref(), want, "{text}");
    }
}
