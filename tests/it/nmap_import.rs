//! `vantage import nmap` (issue 9): real nmap XML, made by the installed
//! nmap against listeners this test opens on 127.80.0.0/29 (loopback;
//! nothing leaves 127.0.0.0/8), imported and judged by `verdict`, must give
//! exactly the findings (rule, severity, target, port, expected, observed,
//! spec location; not the evidence, which names files and times) of
//! `verdict` over `vantage scan` of the same targets with the same spec.
//! A connect scan (`-sT`) runs without root; a SYN scan (`-sS`) too when
//! this runs as root. A checked-in nmap file (`tests/data/nmap/`) covers
//! `<extraports>`, and hostile files are refused with exit 2.
//!
//! nmap is run by the test and waited for; it is not left running.

use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use crate::util::{root, stdout, vantage};

const NOW: &str = "2026-03-02T08:00:00Z";

/// A scratch folder, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("vantage-it-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Self(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn addr(host: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 80, 0, host)
}

/// Listeners and the spec describing a slightly different intent: web
/// (.1) serves its allowed port and a denied admin port, db (.2) is
/// declared with an allowed port nothing serves, .3 is undeclared and
/// serves the web port. Returns the listeners (kept open), the spec path
/// and the sweep's ports, nmap `-p` style.
fn bed(dir: &Scratch) -> (Vec<TcpListener>, String, String) {
    let listen = |host: u8, port: u16| {
        TcpListener::bind((addr(host), port)).expect("listen on loopback (127.80.0.0/29)")
    };
    let free = |host: u8| listen(host, 0).local_addr().expect("address").port();
    let web = listen(1, 0);
    let web_port = web.local_addr().expect("address").port();
    let admin = listen(1, 0);
    let admin_port = admin.local_addr().expect("address").port();
    let stray = listen(3, web_port);
    let db_port = free(2);
    let spare = free(4);
    let spec = format!(
        r#"version: 1
zones:
  local: {{ cidrs: [127.0.0.0/8], probe: false }}
  lab: {{ cidrs: [127.80.0.0/29] }}
hosts:
  web: {{ address: 127.80.0.1 }}
  db: {{ address: 127.80.0.2 }}
services:
  web: {{ tcp: [{web_port}] }}
  admin: {{ tcp: [{admin_port}], severity: critical }}
  db: {{ tcp: [{db_port}] }}
flows:
  - {{ from: local, to: web, allow: [web] }}
  - {{ from: local, to: db, allow: [db] }}
  - {{ from: local, to: web, deny: [admin] }}
default: deny
vantages:
  here: {{ zone: local }}
sweep:
  tcp: [{web_port}, {admin_port}, {db_port}, {spare}]
"#
    );
    let path = dir.path("spec.yaml");
    std::fs::write(&path, spec).expect("write the spec");
    let ports = format!("{web_port},{admin_port},{db_port},{spare}");
    (vec![web, admin, stray], path, ports)
}

fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr))
}

/// The findings of a JSON verdict without their evidence.
fn findings(o: &Output) -> Vec<Value> {
    let doc: Value =
        serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", both(o)));
    assert_eq!(doc["coverage"]["incomplete"], 0, "{}", both(o));
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.as_object_mut().expect("a finding").remove("evidence");
            f
        })
        .collect()
}

/// The findings of `verdict` over vantage's own connect scan of `spec`.
fn vantage_findings(dir: &Scratch, spec: &str) -> Vec<Value> {
    let scanned = dir.path("scan.jsonl");
    let scan =
        vantage(&["scan", spec, "--from", "here", "-o", &scanned, "--mode", "connect", "--quiet"]);
    assert_eq!(scan.status.code(), Some(0), "{}", both(&scan));
    findings(&verdict(spec, &scanned))
}

fn verdict(spec: &str, file: &str) -> Output {
    vantage(&["verdict", spec, file, "--format", "json", "--now", NOW])
}

/// Runs the installed nmap over the lab's /29.
fn nmap(kind: &str, ports: &str, out: &str) -> Output {
    let o = Command::new("nmap")
        .args([kind, "-Pn", "-n", "--reason", "-p", ports, "127.80.0.0/29", "-oX", out])
        .output()
        .expect("nmap is installed (apt package nmap)");
    assert!(o.status.success(), "nmap {kind}: {}", both(&o));
    o
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn verdict_on_imported_nmap_equals_verdict_on_vantage_scan() {
    let dir = Scratch::new("nmap-import");
    let (_listeners, spec, ports) = bed(&dir);
    let want = vantage_findings(&dir, &spec);
    let rules: Vec<&str> = want.iter().filter_map(|f| f["rule"].as_str()).collect();
    for rule in ["exposure", "unreachable", "undeclared-host"] {
        assert!(rules.contains(&rule), "the bed plants {rule}: {rules:?}");
    }
    let mut kinds = vec!["-sT"];
    if is_root() {
        kinds.push("-sS");
    }
    for kind in kinds {
        let xml = dir.path(&format!("nmap{kind}.xml"));
        nmap(kind, &ports, &xml);
        let imported = dir.path(&format!("nmap{kind}.jsonl"));
        let out =
            vantage(&["import", "nmap", &xml, "--spec", &spec, "--from", "here", "-o", &imported]);
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", both(&out));
        assert!(both(&out).contains("complete"), "{kind}: {}", both(&out));
        let v = verdict(&spec, &imported);
        assert_eq!(v.status.code(), Some(1), "{kind}: {}", both(&v));
        assert_eq!(findings(&v), want, "{kind}");
    }
}

/// The fuzz target's seeds (real nmap files) and cut and mangled versions
/// of them go through the fuzz entry point without a panic.
#[test]
fn fuzz_corpus_replays() {
    let dir = root().join("fuzz/corpus/nmap_xml");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("the nmap_xml corpus") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("a seed");
        vantage::fuzzing::nmap_xml(&bytes);
        // Every 7th cut of a small seed; about 500 cuts of a large one.
        for n in (0..bytes.len()).step_by((bytes.len() / 512).max(7)) {
            vantage::fuzzing::nmap_xml(&bytes[..n]);
            let mut flipped = bytes.clone();
            flipped[n] ^= 0x20;
            vantage::fuzzing::nmap_xml(&flipped);
        }
        seen += 1;
    }
    assert!(seen >= 4, "{seen} seeds");
}

/// A checked-in file with `<extraports>` groups (filtered by DROP and by
/// ICMP, and closed), imported against a spec of its host: complete, and
/// the verdict sees the folded ports; the TLS policy of its open port is
/// said to be unjudged; the hand-edited file whose groups
/// do not list their ports is imported incomplete, with a warning naming
/// the nmap options that list every port.
#[test]
fn checked_in_nmap_files_with_extraports() {
    let dir = Scratch::new("nmap-fixture");
    let spec = dir.path("spec.yaml");
    std::fs::write(
        &spec,
        r#"version: 1
zones:
  local: { cidrs: [198.18.0.0/15], probe: false }
  lo: { cidrs: [127.0.0.1/32] }
hosts:
  box: { address: 127.0.0.1 }
services:
  ats: { tcp: [2201], tls: web }
  dropped: { tcp: [3000] }
  rejected: { tcp: [4000] }
flows:
  - { from: local, to: box, allow: [ats] }
  - { from: local, to: box, deny: [dropped, rejected] }
deny_mode: drop
default: deny
vantages:
  here: { zone: local }
sweep:
  tcp: ["1-30", "3000-3100", "4000-4010"]
tls:
  policies:
    web: { profile: intermediate }
"#,
    )
    .expect("write the spec");
    let out = dir.path("obs.jsonl");
    let xml = "tests/data/nmap/syn_filtered_closed.xml";
    let o = vantage(&["import", "nmap", xml, "--spec", &spec, "--from", "here", "-o", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(": complete"), "{err}");
    // Its TLS policy cannot be judged from nmap's file, and the user is told.
    assert!(err.contains("TLS policy of 127.0.0.1:2201 is not judged"), "{err}");
    let v = verdict(&spec, &out);
    let got: Vec<(String, u64)> = findings(&v)
        .iter()
        .map(|f| (f["rule"].as_str().unwrap_or("").to_owned(), f["port"].as_u64().unwrap_or(0)))
        .collect();
    // 4000 is rejected by ICMP where the spec wants a silent drop.
    assert_eq!(got, [("deny-mode".to_owned(), 4000)], "{}", both(&v));

    let xml = "tests/data/nmap/syn_unlisted.xml";
    let o = vantage(&["import", "nmap", xml, "--spec", &spec, "--from", "here", "-o", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("-d2") && err.contains("NOT complete"), "{err}");
    let v = verdict(&spec, &out);
    assert_eq!(v.status.code(), Some(3), "{}", both(&v));
    assert!(stdout(&v).contains("scan-incomplete"), "{}", both(&v));
}

#[test]
fn import_refuses_what_it_cannot_read() {
    let dir = Scratch::new("nmap-refusals");
    let bad = dir.path("bad.xml");
    std::fs::write(&bad, "<html/>").expect("write");
    let cut = dir.path("cut.xml");
    let real = std::fs::read(root().join("tests/data/nmap/syn_extraports.xml")).expect("fixture");
    std::fs::write(&cut, &real[..real.len() / 2]).expect("write");
    let spec = "specs/examples/localhost.yaml";
    let xml = "tests/data/nmap/syn_extraports.xml";
    let out = dir.path("o.jsonl");
    let cases: [(&[&str], &str); 4] = [
        (
            &["import", "nmap", xml, "--spec", spec, "--from", "elsewhere", "-o", &out],
            "no vantage `elsewhere`",
        ),
        (
            &["import", "nmap", &bad, "--spec", spec, "--from", "this-machine", "-o", &out],
            "the root is <html>",
        ),
        (&["import", "nmap", &cut, "--spec", spec, "--from", "this-machine", "-o", &out], "line "),
        (
            &[
                "import",
                "nmap",
                xml,
                "--spec",
                "tests/fixtures/bad-specs/bad-cidr.yaml",
                "--from",
                "x",
                "-o",
                &out,
            ],
            "bad-cidr.yaml",
        ),
    ];
    for (args, text) in cases {
        let o = vantage(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", both(&o));
        assert!(both(&o).contains(text), "{text:?} not in {}", both(&o));
        assert!(!std::path::Path::new(&out).exists(), "{args:?} wrote a file");
    }
}

/// `openssl s_server` on `addr`, killed (by its pid) and reaped when dropped.
struct OpensslServer(std::process::Child);

impl OpensslServer {
    /// Serves TLS 1.0 to 1.3 with every suite OpenSSL has (security level
    /// 0), in the server's order, with `cert` and `key` (PEM files).
    fn start(addr: std::net::SocketAddr, cert: &str, key: &str) -> Self {
        let child = Command::new("openssl")
            .args(["s_server", "-accept", &addr.to_string(), "-cert", cert, "-key", key])
            .args(["-cipher", "ALL:@SECLEVEL=0", "-serverpref", "-www", "-quiet"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl is installed (apt package openssl)");
        let server = Self(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(addr).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("openssl s_server never listened on {addr}");
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A test CA and a leaf it signed for `ip` (PEM files in `dir`): the CA
/// path, the leaf's and its key's.
fn tls_pki(dir: &Scratch, ip: Ipv4Addr) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.distinguished_name.push(DnType::CommonName, "nmap import test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.not_before = rcgen::date_time_ymd(2025, 1, 1);
    ca.not_after = rcgen::date_time_ymd(2030, 1, 1);
    let ca_cert = ca.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(Vec::<String>::new()).expect("params");
    leaf.distinguished_name.push(DnType::CommonName, "tls.import.test");
    leaf.subject_alt_names = vec![SanType::IpAddress(ip.into())];
    // Valid at NOW, and within the intermediate profile's 366 days.
    leaf.not_before = rcgen::date_time_ymd(2026, 1, 1);
    leaf.not_after = rcgen::date_time_ymd(2026, 12, 1);
    let leaf_key = KeyPair::generate().expect("key");
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("leaf");
    let paths = (dir.path("ca.pem"), dir.path("leaf.pem"), dir.path("leaf.key"));
    std::fs::write(&paths.0, ca_cert.pem()).expect("write");
    std::fs::write(&paths.1, leaf_cert.pem()).expect("write");
    std::fs::write(&paths.2, leaf_key.serialize_pem()).expect("write");
    paths
}

/// nmap's `ssl-enum-ciphers` and `ssl-cert`, imported, judge a TLS
/// endpoint as `vantage scan`'s own TLS probe does: the same findings,
/// the suites outside the policy counted alike.
#[test]
fn verdict_on_imported_nmap_tls_scripts_equals_verdict_on_vantage_tls_probe() {
    let dir = Scratch::new("nmap-import-tls");
    let ip = addr(5);
    let port = TcpListener::bind((ip, 0)).expect("a free port").local_addr().expect("addr").port();
    let (ca, cert, key) = tls_pki(&dir, ip);
    let _server = OpensslServer::start((ip, port).into(), &cert, &key);
    let spec = dir.path("spec.yaml");
    std::fs::write(
        &spec,
        format!(
            r#"version: 1
zones:
  local: {{ cidrs: [127.0.0.0/8], probe: false }}
  lab: {{ cidrs: [{ip}/32] }}
hosts:
  tls: {{ address: {ip} }}
services:
  https: {{ tcp: [{port}], tls: web }}
flows:
  - {{ from: local, to: tls, allow: [https] }}
default: deny
vantages:
  here: {{ zone: local }}
tls:
  policies:
    web: {{ profile: intermediate, trusted_ca: "{ca}" }}
"#
        ),
    )
    .expect("write the spec");
    let want = vantage_findings(&dir, &spec);
    let rules: Vec<&str> = want.iter().filter_map(|f| f["rule"].as_str()).collect();
    assert_eq!(rules, ["tls-cipher", "tls-protocol"], "what the server plants: {want:?}");

    let xml = dir.path("nmap.xml");
    let o = Command::new("nmap")
        .args(["-sT", "-Pn", "-n", "--reason", "-p", &port.to_string()])
        .args(["--script", "ssl-enum-ciphers,ssl-cert", &ip.to_string(), "-oX", &xml])
        .output()
        .expect("nmap is installed (apt package nmap)");
    assert!(o.status.success(), "nmap: {}", both(&o));
    let imported = dir.path("nmap.jsonl");
    let out =
        vantage(&["import", "nmap", &xml, "--spec", &spec, "--from", "here", "-o", &imported]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(!both(&out).contains("not judged"), "{}", both(&out));
    let v = verdict(&spec, &imported);
    assert_eq!(v.status.code(), Some(1), "{}", both(&v));
    assert_eq!(findings(&v), want);
}
