//! `vantage certs`: the CA, agent and controller certificates verify with
//! OpenSSL for their purpose and with rustls (ring) the way mutual TLS will
//! use them; keys are 0600 and never overwritten; a CA key that is not the
//! CA's is refused.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use crate::util::vantage;

/// A fresh folder for one test, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!("vantage-certs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ok(out: &Output) -> String {
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{text}");
    text
}

fn refused(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    err
}

/// A CA, an agent certificate and a controller certificate in `dir`.
fn make(dir: &Dir) {
    let out = dir.file("");
    ok(&vantage(&["certs", "ca", "--out", &out, "--name", "test CA"]));
    let (ca, key) = (dir.file("ca.pem"), dir.file("ca.key"));
    let signer = ["--ca", ca.as_str(), "--ca-key", key.as_str(), "--out", out.as_str()];
    let mut agent = vec!["certs", "agent", "--name", "agent1", "--san", "198.18.20.9"];
    agent.extend(["--san", "agent1.example.test", "::1"]);
    agent.extend(signer);
    let said = ok(&vantage(&agent));
    assert!(said.contains("agent (serverAuth) `agent1`"), "{said}");
    let mut controller = vec!["certs", "controller", "--name", "ctl", "--days", "30"];
    controller.extend(signer);
    ok(&vantage(&controller));
}

/// `openssl ARGS`, or `None` when openssl is not installed (a failure
/// where CI requires every tool).
#[allow(clippy::print_stderr, reason = "a skipped test can only say why on stderr")]
fn openssl(args: &[&str]) -> Option<Output> {
    match Command::new("openssl").args(args).output() {
        Ok(out) => Some(out),
        Err(e) if std::env::var_os("VANTAGE_REQUIRE_LAB").is_none() => {
            eprintln!("SKIPPED: openssl cannot run ({e})");
            None
        }
        Err(e) => panic!("VANTAGE_REQUIRE_LAB is set, but openssl cannot run: {e}"),
    }
}

#[test]
fn certificates_verify_for_their_purpose_with_openssl() {
    let dir = Dir::new("openssl");
    make(&dir);
    let ca = dir.file("ca.pem");
    let verify = |purpose: &str, leaf: &str| {
        openssl(&["verify", "-CAfile", &ca, "-purpose", purpose, &dir.file(leaf)])
    };
    let Some(agent) = verify("sslserver", "agent1.pem") else { return };
    assert!(agent.status.success(), "{}", String::from_utf8_lossy(&agent.stderr));
    let Some(controller) = verify("sslclient", "ctl.pem") else { return };
    assert!(controller.status.success(), "{}", String::from_utf8_lossy(&controller.stderr));
    // Each for its own side only.
    let Some(wrong) = verify("sslclient", "agent1.pem") else { return };
    assert!(!wrong.status.success(), "an agent certificate passed as a client's");
    let Some(wrong) = verify("sslserver", "ctl.pem") else { return };
    assert!(!wrong.status.success(), "a controller certificate passed as a server's");

    let text = |file: &str| {
        let out = openssl(&["x509", "-noout", "-text", "-in", &dir.file(file)]).expect("openssl");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let ca_text = text("ca.pem");
    for want in ["Subject: CN = test CA", "CA:TRUE, pathlen:0", "Certificate Sign, CRL Sign"] {
        assert!(ca_text.contains(want), "{want:?} not in\n{ca_text}");
    }
    let agent = text("agent1.pem");
    for want in [
        "Issuer: CN = test CA",
        "Subject: CN = agent1",
        "IP Address:198.18.20.9, DNS:agent1.example.test, IP Address:0:0:0:0:0:0:0:1",
        "TLS Web Server Authentication",
        "CA:FALSE",
        "Digital Signature",
        "id-ecPublicKey",
        "NIST CURVE: P-256",
        "ecdsa-with-SHA256",
    ] {
        assert!(agent.contains(want), "{want:?} not in\n{agent}");
    }
    assert!(!agent.contains("Client Authentication"), "{agent}");
    let controller = text("ctl.pem");
    for want in ["Subject: CN = ctl", "TLS Web Client Authentication", "CA:FALSE"] {
        assert!(controller.contains(want), "{want:?} not in\n{controller}");
    }
    assert!(!controller.contains("Server Authentication"), "{controller}");
    // The leaf file holds the leaf alone; the key is PKCS#8.
    let pem = std::fs::read_to_string(dir.file("agent1.pem")).expect("read");
    assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 1, "{pem}");
    let key = std::fs::read_to_string(dir.file("agent1.key")).expect("read");
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{key}");
}

fn der(path: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn certificates_verify_with_rustls_as_mutual_tls_uses_them() {
    use rustls::client::danger::ServerCertVerifier as _;

    let dir = Dir::new("rustls");
    make(&dir);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der(&dir.file("ca.pem"))).expect("the CA is a trust anchor");
    let roots = Arc::new(roots);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let servers = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::clone(&roots),
        Arc::clone(&provider),
    )
    .build()
    .expect("server verifier");
    let clients = rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider)
        .build()
        .expect("client verifier");
    let now = UnixTime::now();
    let (agent, controller) = (der(&dir.file("agent1.pem")), der(&dir.file("ctl.pem")));
    for name in ["198.18.20.9", "agent1.example.test", "::1"] {
        let name = ServerName::try_from(name).expect("name");
        servers.verify_server_cert(&agent, &[], &name, &[], now).expect("the agent, by each SAN");
    }
    let other = ServerName::try_from("198.18.20.10").expect("name");
    assert!(servers.verify_server_cert(&agent, &[], &other, &[], now).is_err());
    clients.verify_client_cert(&controller, &[], now).expect("the controller");
    // Each for its own side only.
    assert!(clients.verify_client_cert(&agent, &[], now).is_err());
    let name = ServerName::try_from("agent1.example.test").expect("name");
    assert!(servers.verify_server_cert(&controller, &[], &name, &[], now).is_err());
}

fn mode(path: &str) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[test]
fn keys_are_private_and_nothing_is_overwritten() {
    let dir = Dir::new("files");
    make(&dir);
    for key in ["ca.key", "agent1.key", "ctl.key"] {
        assert_eq!(mode(&dir.file(key)), 0o600, "{key}");
    }
    let before = std::fs::read(dir.file("ca.key")).expect("read");
    let err = refused(&vantage(&["certs", "ca", "--out", &dir.file("")]));
    assert!(err.contains("ca.pem already exists; it is never overwritten"), "{err}");
    assert_eq!(std::fs::read(dir.file("ca.key")).expect("read"), before);
    // Only the key left over: still refused, naming it.
    std::fs::remove_file(dir.file("ca.pem")).expect("remove");
    let err = refused(&vantage(&["certs", "ca", "--out", &dir.file("")]));
    assert!(err.contains("ca.key already exists"), "{err}");
    assert!(!Path::new(&dir.file("ca.pem")).exists(), "no half pair is written");
}

#[test]
fn a_ca_key_that_is_not_the_cas_is_refused() {
    let (one, two) = (Dir::new("ca-one"), Dir::new("ca-two"));
    ok(&vantage(&["certs", "ca", "--out", &one.file("")]));
    ok(&vantage(&["certs", "ca", "--out", &two.file("")]));
    let (ca, wrong) = (one.file("ca.pem"), two.file("ca.key"));
    let out = one.file("");
    let base = ["certs", "controller", "--name", "ctl", "--out", out.as_str()];
    let mut args = base.to_vec();
    args.extend(["--ca", ca.as_str(), "--ca-key", wrong.as_str()]);
    let err = refused(&vantage(&args));
    assert!(err.contains("does not belong to the CA certificate"), "{err}");
    assert!(!Path::new(&one.file("ctl.key")).exists(), "nothing written");
    // A leaf is not a CA, even with its own key.
    let (agent_ca, agent_key) = (one.file("ag.pem"), one.file("ag.key"));
    let key = one.file("ca.key");
    let mut agent = vec!["certs", "agent", "--name", "ag", "--san", "ag.test", "--out", &out];
    agent.extend(["--ca", ca.as_str(), "--ca-key", key.as_str()]);
    ok(&vantage(&agent));
    let mut args = base.to_vec();
    args.extend(["--ca", agent_ca.as_str(), "--ca-key", agent_key.as_str()]);
    let err = refused(&vantage(&args));
    assert!(err.contains("is not a CA certificate"), "{err}");
    // A leaf may not outlive its CA; --days is at least 1.
    let mut args = base.to_vec();
    args.extend(["--ca", ca.as_str(), "--ca-key", key.as_str(), "--days", "2000"]);
    let err = refused(&vantage(&args));
    assert!(err.contains("would outlive the CA"), "{err}");
    let mut args = base.to_vec();
    args.extend(["--ca", ca.as_str(), "--ca-key", key.as_str(), "--days", "0"]);
    refused(&vantage(&args));
}
