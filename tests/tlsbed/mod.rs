//! The TLS test bed: real TLS servers, one per planted flaw, on the
//! loopback of a lab namespace of their own (zone `tls`; GnuTLS's server
//! cannot be told to bind 127.0.0.1 alone, and there nothing else can reach
//! it), with certificates made fresh by `tests/data/tls/make_bed_certs.sh`
//! (so dates never go stale). Scanners run inside the same namespace
//! (`Bed::exec`). Used by the TLS tests and the TLS benchmark.
//!
//! Servers: `openssl s_server` (OpenSSL 3.0: TLS 1.0-1.3, no SSLv3, and no
//! 3DES or RC4 at all), `gnutls-serv` (GnuTLS, whose priority strings
//! still enable 3DES, RC4 and static RSA key exchange) and Python's
//! `http.server` (plaintext where TLS is required): 12 endpoints, each on
//! its own loopback address, with 14 planted flaws between them. Each
//! endpoint says which, by finding rule and the word its evidence uses.
//!
//! Invariant: every process the bed starts belongs to its lab, which kills
//! it by its id and removes the namespace when the bed is dropped, also
//! when a test fails; the certificate folder is removed too.

#![allow(dead_code, reason = "each user of the bed takes what it needs")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use crate::lab::{Lab, LabError};

/// One server of the bed.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// Short name, also the host's name in a spec.
    pub(crate) name: &'static str,
    /// Where it listens: an address of its own on the namespace's loopback
    /// (127.0.0.2 on), so a spec can declare each as a host with its names.
    pub(crate) addr: SocketAddr,
    /// The DNS name it is declared with (its certificate's, except for
    /// `wrongname`, which serves `other.test`'s certificate for `good.test`).
    pub(crate) dns: &'static str,
    /// The policy profile it is held to.
    pub(crate) profile: &'static str,
    /// The flaws planted: (finding rule, a word the finding's evidence
    /// names it by). 14 in all, over 12 endpoints.
    pub(crate) flaws: &'static [(&'static str, &'static str)],
}

/// Why the bed could not be built.
#[derive(Debug)]
pub(crate) enum BedError {
    /// A tool it needs is not installed, or this is not root (the test
    /// skips, unless VANTAGE_REQUIRE_LAB is set).
    Missing(String),
    /// Something else went wrong.
    Failed(String),
}

/// The running bed.
pub(crate) struct Bed {
    dir: PathBuf,
    lab: Lab,
    endpoints: Vec<Endpoint>,
}

impl Drop for Bed {
    fn drop(&mut self) {
        // The lab (dropped after this) ends the servers.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An `openssl s_server` endpoint: name, DNS name, profile, flaws,
/// (certificate, chain file or ""), server arguments beyond the
/// certificate.
type OpensslEndpoint = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    (&'static str, &'static str),
    &'static [&'static str],
);

/// The zone the servers (and the scanners) run in.
const ZONE: &str = "tls";

/// The first port the servers listen on, one each from here.
const FIRST_PORT: u16 = 8441;

/// TLS 1.2 suites of Mozilla's intermediate profile 6.0 (which dropped
/// 5.7's DHE suites), as OpenSSL names them, at security level 0 (so RSA-1024 and SHA-1 certificates load).
const INTERMEDIATE_SECLEVEL_0: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:@SECLEVEL=0";

/// The GnuTLS priority of the `weakciphers` endpoint.
pub(crate) const WEAK_PRIORITY: &str = "NONE:+VERS-TLS1.2:+3DES-CBC:+ARCFOUR-128:+AES-128-CBC:+RSA:+ECDHE-RSA:+SHA1:+SHA256:+COMP-NULL:+SIGN-ALL:+CURVE-ALL";

impl Bed {
    /// Makes the certificates and starts every server; `Missing` when
    /// openssl or gnutls-serv is not installed.
    pub(crate) fn start(tag: &str) -> Result<Self, BedError> {
        for tool in ["openssl", "gnutls-serv"] {
            if Command::new(tool).arg("--version").output().is_err() {
                return Err(BedError::Missing(format!("{tool} is not installed")));
            }
        }
        let lab = match Lab::builder(&format!("tls{tag}")).zone(ZONE, "198.18.1.0/24").build() {
            Ok(lab) => lab,
            Err(e @ LabError::NotRoot { .. }) => return Err(BedError::Missing(e.to_string())),
            Err(e) => return Err(BedError::Failed(e.to_string())),
        };
        let dir = std::env::temp_dir().join(format!("vantage-tlsbed-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        make_certs(&dir)?;
        let mut bed = Self { dir, lab, endpoints: Vec::new() };
        let mut ports = FIRST_PORT..;
        let mut hosts = 2u8..;
        let mut next = || {
            let ip = hosts.next().unwrap_or(2);
            SocketAddr::from(([127, 0, 0, ip], ports.next().unwrap_or(FIRST_PORT)))
        };
        let good = ("leaf-good", "intermediate.pem");
        // Mozilla intermediate, so a certificate flaw is the only flaw.
        let inter: &[&str] = &["-no_tls1", "-no_tls1_1", "-cipher", INTERMEDIATE_SECLEVEL_0];
        let openssl: [OpensslEndpoint; 10] = [
            ("tls13", "good.test", "modern", &[], good, &["-tls1_3"]),
            ("intermediate", "good.test", "intermediate", &[], good, inter),
            (
                "legacy",
                "good.test",
                "intermediate",
                &[("tls-protocol", "TLSv1.0"), ("tls-protocol", "TLSv1.1"), ("tls-cipher", "CBC")],
                good,
                &["-cipher", "ALL:@SECLEVEL=0", "-min_protocol", "TLSv1"],
            ),
            (
                "expired",
                "expired.test",
                "intermediate",
                &[("tls-cert-expired", "expired")],
                ("leaf-expired", "intermediate.pem"),
                inter,
            ),
            (
                "expiring",
                "expiring.test",
                "intermediate",
                &[("tls-cert-expiring", "expires in")],
                ("leaf-expiring", "intermediate.pem"),
                inter,
            ),
            (
                "selfsigned",
                "selfsigned.test",
                "intermediate",
                &[("tls-cert-untrusted", "self-signed")],
                ("leaf-selfsigned", ""),
                inter,
            ),
            (
                "wrongname",
                "good.test",
                "intermediate",
                &[("tls-cert-hostname", "good.test")],
                ("leaf-wrongname", "intermediate.pem"),
                inter,
            ),
            (
                "rsa1024",
                "rsa1024.test",
                "intermediate",
                &[("tls-cert-weak-key", "1024 bits")],
                ("leaf-rsa1024", "intermediate.pem"),
                inter,
            ),
            (
                "sha1",
                "sha1.test",
                "intermediate",
                &[("tls-cert-weak-signature", "SHA-1")],
                ("leaf-sha1", "intermediate.pem"),
                inter,
            ),
            (
                "nochain",
                "nochain.test",
                "intermediate",
                &[("tls-cert-untrusted", "missing intermediate")],
                ("leaf-nochain", ""),
                inter,
            ),
        ];
        for (name, dns, profile, flaws, (cert, chain), extra) in openssl {
            let addr = next();
            let d = bed.dir.clone();
            let file = |f: &str| d.join(f).display().to_string();
            let mut args = vec![
                "s_server".to_owned(),
                "-accept".to_owned(),
                addr.to_string(),
                "-cert".to_owned(),
                file(&format!("{cert}.pem")),
                "-key".to_owned(),
                file(&format!("{cert}.key")),
                "-www".to_owned(),
                "-quiet".to_owned(),
            ];
            if !chain.is_empty() {
                args.extend(["-cert_chain".to_owned(), file(chain)]);
            }
            args.extend(extra.iter().map(|s| (*s).to_owned()));
            bed.spawn("openssl", &args)?;
            bed.endpoints.push(Endpoint { name, addr, dns, profile, flaws });
        }
        // GnuTLS still speaks 3DES, RC4 and static RSA when asked to (TLS
        // 1.2 only, so the suites are the only flaw). It cannot be told to
        // bind one address: it listens on all of the namespace's.
        let addr = next();
        let d = bed.dir.clone();
        let file = |f: &str| d.join(f).display().to_string();
        let args = [
            "--port".to_owned(),
            addr.port().to_string(),
            "--x509certfile".to_owned(),
            file("leaf-good-chain.pem"),
            "--x509keyfile".to_owned(),
            file("leaf-good.key"),
            "--priority".to_owned(),
            WEAK_PRIORITY.to_owned(),
            "--http".to_owned(),
            "--disable-client-cert".to_owned(),
        ];
        bed.spawn("gnutls-serv", &args)?;
        bed.endpoints.push(Endpoint {
            name: "weakciphers",
            addr,
            dns: "good.test",
            profile: "intermediate",
            flaws: &[("tls-cipher", "3DES"), ("tls-cipher", "RC4"), ("tls-cipher", "TLS_RSA_WITH")],
        });
        // Plaintext HTTP where TLS is required.
        let addr = next();
        let args = [
            "-m".to_owned(),
            "http.server".to_owned(),
            addr.port().to_string(),
            "--bind".to_owned(),
            addr.ip().to_string(),
            "--directory".to_owned(),
            bed.dir.display().to_string(),
        ];
        bed.spawn("python3", &args)?;
        bed.endpoints.push(Endpoint {
            name: "plaintext",
            addr,
            dns: "plaintext.test",
            profile: "intermediate",
            flaws: &[("tls-missing", "plaintext")],
        });
        for e in bed.endpoints.clone() {
            bed.wait_listening(e.addr, e.name)?;
        }
        Ok(bed)
    }

    /// The endpoints, in a fixed order.
    pub(crate) fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The folder with the certificates (`root.pem` is the trust anchor).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a spec declaring every endpoint as a host (named as the
    /// endpoint, with its DNS name) with one TLS service, held to its
    /// profile with the bed's root as `trusted_ca`, reachable from vantage
    /// `here` (zone `local`, the namespace's loopback), to `bed.yaml` in
    /// [`Bed::dir`]; returns its path.
    pub(crate) fn write_spec(&self) -> PathBuf {
        let all: Vec<&str> = self.endpoints.iter().map(|e| e.name).collect();
        self.write_spec_for(&all, "bed.yaml")
    }

    /// Writes the spec of [`Bed::write_spec`] for the endpoints named in
    /// `names` only (one host, service and flow each; unknown names are
    /// left out) to `file` in [`Bed::dir`]; returns its path.
    pub(crate) fn write_spec_for(&self, names: &[&str], file: &str) -> PathBuf {
        let mut hosts = String::new();
        let mut services = String::new();
        let mut flows = String::new();
        for e in self.endpoints.iter().filter(|e| names.contains(&e.name)) {
            let (name, ip, port) = (e.name, e.addr.ip(), e.addr.port());
            hosts.push_str(&format!("  {name}: {{ address: {ip}, names: [{}] }}\n", e.dns));
            services.push_str(&format!("  {name}-tls: {{ tcp: [{port}], tls: {} }}\n", e.profile));
            flows.push_str(&format!("  - {{ from: local, to: {name}, allow: [{name}-tls] }}\n"));
        }
        let spec = format!(
            "version: 1
name: TLS bed
zones:
  local: {{ cidrs: [127.0.0.0/8], probe: false }}
  bed: {{ cidrs: [127.0.0.0/24] }}
hosts:
{hosts}services:
{services}flows:
{flows}vantages:
  here: {{ zone: local }}
tls:
  policies:
    modern: {{ profile: modern, trusted_ca: root.pem }}
    intermediate: {{ profile: intermediate, trusted_ca: root.pem }}
"
        );
        let path = self.dir.join(file);
        std::fs::write(&path, spec).expect("the bed's spec is written");
        path
    }

    /// Runs `argv` in the bed's namespace (where 127.0.0.1 reaches the
    /// servers).
    pub(crate) fn exec(&self, argv: &[&str]) -> Output {
        self.lab.exec(ZONE, argv).expect("a command runs in the bed")
    }

    fn spawn(&mut self, program: &str, args: &[String]) -> Result<(), BedError> {
        let mut argv = vec![program];
        argv.extend(args.iter().map(String::as_str));
        self.lab.spawn(ZONE, &argv).map_err(|e| BedError::Failed(e.to_string()))?;
        Ok(())
    }

    /// Waits until something accepts on `addr` inside the namespace.
    fn wait_listening(&self, addr: SocketAddr, name: &str) -> Result<(), BedError> {
        let probe = format!(
            "import socket\ns = socket.socket()\ns.settimeout(0.2)\ns.connect(('{}', {}))",
            addr.ip(),
            addr.port()
        );
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.lab.exec(ZONE, &["python3", "-c", &probe]).is_ok_and(|o| o.status.success()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(BedError::Failed(format!("{name} never listened on {addr}")))
    }
}

/// Makes the bed's certificates in `dir` with
/// `tests/data/tls/make_bed_certs.sh`.
pub(crate) fn make_certs(dir: &Path) -> Result<(), BedError> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls/make_bed_certs.sh");
    let made = Command::new("sh")
        .arg(&script)
        .arg(dir)
        .output()
        .map_err(|e| BedError::Failed(format!("{}: {e}", script.display())))?;
    if made.status.success() {
        Ok(())
    } else {
        Err(BedError::Failed(format!(
            "{}: {}",
            script.display(),
            String::from_utf8_lossy(&made.stderr)
        )))
    }
}

/// The bed's certificates in a folder of their own (`tag` names it),
/// removed when dropped, for tests that start their own servers on
/// 127.0.0.1. `None` (the test skips) when one of `tools` is not
/// installed, unless VANTAGE_REQUIRE_LAB says it must be.
pub(crate) struct Certs(pub(crate) PathBuf);

impl Certs {
    pub(crate) fn make(tag: &str, tools: &[&str]) -> Option<Self> {
        for tool in tools {
            if Command::new(tool).arg("--version").output().is_err() {
                assert!(std::env::var_os("VANTAGE_REQUIRE_LAB").is_none(), "{tool} is missing");
                #[allow(clippy::print_stderr, reason = "a test without its tools says it skipped")]
                {
                    eprintln!("skipped: {tool} is not installed");
                }
                return None;
            }
        }
        let dir = std::env::temp_dir().join(format!("vantage-{tag}-{}", std::process::id()));
        let certs = Self(dir);
        make_certs(&certs.0).expect("the bed's certificates");
        Some(certs)
    }

    /// The path of one of the files, as an argument.
    pub(crate) fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    /// The certificates of a PEM file, DER.
    pub(crate) fn ders(&self, name: &str) -> Vec<Vec<u8>> {
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
