//! The TLS test bed: real TLS servers, one per planted flaw, on the
//! loopback of a lab namespace of their own (zone `tls`; GnuTLS's server
//! cannot be told to bind 127.0.0.1 alone, and there nothing else can reach
//! it), with certificates made fresh by `tests/data/tls/make_bed_certs.sh`
//! (so dates never go stale). Scanners run inside the same namespace
//! (`Bed::exec`). Used by the TLS tests and the TLS benchmark.
//!
//! Servers: `openssl s_server` (OpenSSL 3.0: TLS 1.0-1.3, no SSLv3, and no
//! 3DES or RC4 at all) and `gnutls-serv` (GnuTLS, whose priority strings
//! still enable 3DES, RC4 and static RSA key exchange). Each endpoint says
//! which flaws are planted in it, by finding rule.
//!
//! Invariant: every process the bed starts belongs to its lab, which kills
//! it by its id and removes the namespace when the bed is dropped, also
//! when a test fails; the certificate folder is removed too.

#![allow(dead_code, reason = "each user of the bed takes what it needs")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::lab::{Lab, LabError};

/// One server of the bed.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// Short name, also the DNS name it is declared with (`NAME.test`,
    /// except `wrongname`, which serves `other.test`'s certificate).
    pub(crate) name: &'static str,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// The policy profile it is held to.
    pub(crate) profile: &'static str,
    /// The flaws planted, as finding rules (with a detail word when one
    /// rule is planted twice).
    pub(crate) flaws: &'static [&'static str],
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

/// An `openssl s_server` endpoint: name, profile, flaws, (certificate,
/// chain file or ""), extra server arguments.
type OpensslEndpoint = (
    &'static str,
    &'static str,
    &'static [&'static str],
    (&'static str, &'static str),
    &'static [&'static str],
);

/// The zone the servers (and the scanners) run in.
const ZONE: &str = "tls";

/// The first port the servers listen on, one each from here.
const FIRST_PORT: u16 = 8441;

/// TLS 1.2 suites of Mozilla's intermediate profile, as OpenSSL names them.
const INTERMEDIATE: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

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
        let good = ("leaf-good", "intermediate.pem");
        let openssl: [OpensslEndpoint; 9] = [
            ("tls13", "modern", &[], good, &["-tls1_3"]),
            (
                "intermediate",
                "intermediate",
                &[],
                good,
                &["-no_tls1", "-no_tls1_1", "-cipher", INTERMEDIATE],
            ),
            (
                "legacy",
                "intermediate",
                &["tls-protocol", "tls-cipher"],
                good,
                &["-cipher", "ALL:@SECLEVEL=0", "-min_protocol", "TLSv1"],
            ),
            (
                "expired",
                "intermediate",
                &["tls-cert-expired"],
                ("leaf-expired", "intermediate.pem"),
                &[],
            ),
            ("selfsigned", "intermediate", &["tls-cert-untrusted"], ("leaf-selfsigned", ""), &[]),
            (
                "wrongname",
                "intermediate",
                &["tls-cert-hostname"],
                ("leaf-wrongname", "intermediate.pem"),
                &[],
            ),
            (
                "rsa1024",
                "intermediate",
                &["tls-cert-weak-key"],
                ("leaf-rsa1024", "intermediate.pem"),
                &["-cipher", "DEFAULT:@SECLEVEL=0"],
            ),
            (
                "sha1",
                "intermediate",
                &["tls-cert-weak-signature"],
                ("leaf-sha1", "intermediate.pem"),
                &["-cipher", "DEFAULT:@SECLEVEL=0"],
            ),
            ("nochain", "intermediate", &["tls-cert-untrusted"], ("leaf-nochain", ""), &[]),
        ];
        for (name, profile, flaws, (cert, chain), extra) in openssl {
            let port = ports.next().unwrap_or(FIRST_PORT);
            let d = bed.dir.clone();
            let file = |f: &str| d.join(f).display().to_string();
            let mut args = vec![
                "s_server".to_owned(),
                "-accept".to_owned(),
                format!("127.0.0.1:{port}"),
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
            bed.endpoints.push(Endpoint {
                name,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                profile,
                flaws,
            });
        }
        // GnuTLS still speaks 3DES, RC4 and static RSA when asked to.
        let port = ports.next().unwrap_or(FIRST_PORT);
        let d = bed.dir.clone();
        let file = |f: &str| d.join(f).display().to_string();
        let weak = "NONE:+VERS-TLS1.2:+VERS-TLS1.1:+VERS-TLS1.0:+3DES-CBC:+ARCFOUR-128:+AES-128-CBC:+RSA:+ECDHE-RSA:+SHA1:+SHA256:+COMP-NULL:+SIGN-ALL:+CURVE-ALL";
        let args = [
            "--port".to_owned(),
            port.to_string(),
            "--x509certfile".to_owned(),
            file("leaf-good-chain.pem"),
            "--x509keyfile".to_owned(),
            file("leaf-good.key"),
            "--priority".to_owned(),
            weak.to_owned(),
            "--http".to_owned(),
            "--disable-client-cert".to_owned(),
        ];
        bed.spawn("gnutls-serv", &args)?;
        bed.endpoints.push(Endpoint {
            name: "weakciphers",
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            profile: "intermediate",
            flaws: &["tls-protocol", "tls-cipher"],
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
