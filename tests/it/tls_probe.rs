//! The TLS prober's real handshake (rustls, recording the chain) against
//! the real servers of the TLS bed on 127.0.0.1.

#![allow(clippy::print_stderr, reason = "a test without its servers says it skipped")]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use vantage::probe::tls::{Handshake, handshake};

/// The bed's certificates, made once per test in a folder of its own.
struct Certs(PathBuf);

impl Certs {
    fn make(tag: &str) -> Option<Self> {
        if Command::new("openssl").arg("version").output().is_err() {
            assert!(std::env::var_os("VANTAGE_REQUIRE_LAB").is_none(), "openssl is not installed");
            eprintln!("skipped: openssl is not installed");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("vantage-tlshs-{tag}-{}", std::process::id()));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls/make_bed_certs.sh");
        let made = Command::new("sh").arg(script).arg(&dir).output().expect("the script runs");
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        Some(Self(dir))
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    fn ders(&self, name: &str) -> Vec<Vec<u8>> {
        CertificateDer::pem_file_iter(self.0.join(name))
            .expect("a PEM file")
            .map(|c| c.expect("a certificate").as_ref().to_vec())
            .collect()
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `openssl s_server` on 127.0.0.1, killed by its id when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(certs: &Certs, leaf: &str, chain: Option<&str>, extra: &[&str]) -> Self {
        let port =
            TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut cmd = Command::new("openssl");
        cmd.args(["s_server", "-accept", &addr.to_string(), "-www", "-quiet"])
            .args(["-cert", &certs.file(&format!("{leaf}.pem"))])
            .args(["-key", &certs.file(&format!("{leaf}.key"))]);
        if let Some(chain) = chain {
            cmd.args(["-cert_chain", &certs.file(chain)]);
        }
        let child = cmd
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server starts");
        let start = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "s_server never listened on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_handshake_records_the_chain_as_presented_with_and_without_sni() {
    let Some(certs) = Certs::make("hs") else { return };
    let good = Server::start(&certs, "leaf-good", Some("intermediate.pem"), &[]);
    let chain = certs.ders("leaf-good-chain.pem");
    assert_eq!(chain.len(), 2, "leaf and intermediate");
    for sni in [Some("good.test"), None] {
        match handshake(good.addr, sni, Duration::from_secs(5)).await {
            Handshake::Done { version, suite, presented } => {
                assert_eq!(version, 0x0304, "TLS 1.3");
                assert!(matches!(suite, 0x1301..=0x1303), "a TLS 1.3 suite: {suite:#06x}");
                assert_eq!(presented.chain, chain, "{sni:?}");
                assert_eq!(presented.ocsp, None);
            }
            other => panic!("{sni:?}: {other:?}"),
        }
    }
    // Served without its intermediate: the chain says so.
    let nochain = Server::start(&certs, "leaf-nochain", None, &[]);
    match handshake(nochain.addr, Some("nochain.test"), Duration::from_secs(5)).await {
        Handshake::Done { presented, .. } => {
            assert_eq!(presented.chain, certs.ders("leaf-nochain.pem"));
        }
        other => panic!("{other:?}"),
    }
    // A server that speaks only what rustls refuses (static RSA, CBC): the
    // handshake fails, and says so, with nothing presented.
    let legacy = Server::start(
        &certs,
        "leaf-good",
        Some("intermediate.pem"),
        &["-no_tls1_3", "-cipher", "AES128-SHA:@SECLEVEL=0"],
    );
    match handshake(legacy.addr, Some("good.test"), Duration::from_secs(5)).await {
        Handshake::Failed { error, presented } => {
            assert!(presented.chain.is_empty(), "{presented:?}");
            assert!(!error.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_closed_port_and_a_silent_server_are_told_apart() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    assert!(matches!(
        handshake(closed, None, Duration::from_secs(2)).await,
        Handshake::Unreachable(_)
    ));
    // Accepts and never speaks: the deadline ends it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("addr");
    assert_eq!(handshake(addr, None, Duration::from_millis(300)).await, Handshake::TimedOut);
    drop(silent);
}
