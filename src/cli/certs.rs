//! `vantage certs ca|agent|controller`: a private CA and the certificates
//! an agent (TLS server) and a controller (TLS client) present to each
//! other over mutual TLS, for a quick start. rcgen makes them, signed with
//! ring.
//!
//! Every key is ECDSA P-256, written as PKCS#8 PEM with mode 0600. No file
//! is ever overwritten: each is created with `create_new`, and an existing
//! one is an error naming it. The CA is `CA:true, pathlen:0` (it signs
//! leaves only) with keyCertSign and cRLSign; a leaf is not a CA, has
//! digitalSignature and one extended key usage (serverAuth for an agent,
//! clientAuth for a controller), `CN=NAME`, and the agent's `--san`
//! addresses and names. Serial numbers are random; every certificate is
//! valid from five minutes ago (clocks differ) for `--days` days, and a
//! leaf is refused if it would outlive its CA. Before signing, the CA key
//! must match the CA certificate and the certificate must be a CA.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Subcommand;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData as _, SanType,
    SerialNumber,
};

use super::exit::Outcome;

/// Five minutes: how far back `notBefore` goes, for clocks a little behind.
const SKEW_SECONDS: i64 = 5 * 60;

#[derive(Debug, clap::Args)]
pub(crate) struct CertsArgs {
    /// What to make.
    #[command(subcommand)]
    pub(crate) what: CertsCommand,
}

/// The certificates `certs` makes.
#[derive(Debug, Subcommand)]
pub(crate) enum CertsCommand {
    /// A private CA: DIR/ca.pem and DIR/ca.key.
    Ca(CaArgs),
    /// An agent's server certificate, signed by the CA: DIR/NAME.pem and DIR/NAME.key.
    Agent(AgentArgs),
    /// A controller's client certificate, signed by the CA: DIR/NAME.pem and DIR/NAME.key.
    Controller(ControllerArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct CaArgs {
    /// The folder to write ca.pem and ca.key in (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// The CA's common name.
    #[arg(long, default_value = "vantage private CA")]
    pub(crate) name: String,
    /// Days the CA is valid.
    #[arg(long, default_value_t = 1825, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub(crate) days: u32,
}

/// The CA that signs a leaf.
#[derive(Debug, clap::Args)]
pub(crate) struct Signer {
    /// The CA certificate (PEM), as `certs ca` wrote it.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca: PathBuf,
    /// The CA's private key (PEM, PKCS#8); it must match --ca.
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_key: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct AgentArgs {
    /// The signing CA.
    #[command(flatten)]
    pub(crate) ca: Signer,
    /// The agent's name: the certificate's CN and the files' name.
    #[arg(long)]
    pub(crate) name: String,
    /// Addresses and DNS names the controller reaches the agent by (an IP address becomes
    /// an IP SAN, anything else a DNS SAN); repeatable.
    #[arg(long, value_name = "IP_OR_DNS", required = true, num_args = 1..)]
    pub(crate) san: Vec<String>,
    /// The folder to write NAME.pem and NAME.key in (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Days the certificate is valid.
    #[arg(long, default_value_t = 397, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub(crate) days: u32,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ControllerArgs {
    /// The signing CA.
    #[command(flatten)]
    pub(crate) ca: Signer,
    /// The controller's name: the certificate's CN and the files' name.
    #[arg(long)]
    pub(crate) name: String,
    /// The folder to write NAME.pem and NAME.key in (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Days the certificate is valid.
    #[arg(long, default_value_t = 397, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub(crate) days: u32,
}

pub(crate) fn run(a: &CertsArgs) -> anyhow::Result<Outcome> {
    let now = jiff::Timestamp::now().as_second();
    let wrote = match &a.what {
        CertsCommand::Ca(c) => ca(c, now)?,
        CertsCommand::Agent(c) => {
            let sans = c.san.iter().map(|s| san(s)).collect::<anyhow::Result<Vec<_>>>()?;
            let leaf = Leaf { name: &c.name, days: c.days, sans, usage: Usage::Server };
            leaf.make(&c.ca, &c.out, now)?
        }
        CertsCommand::Controller(c) => {
            let leaf = Leaf { name: &c.name, days: c.days, sans: Vec::new(), usage: Usage::Client };
            leaf.make(&c.ca, &c.out, now)?
        }
    };
    super::write_stdout(|out| writeln!(out, "{wrote}"))?;
    Ok(Outcome::Conforms)
}

/// The certificate's validity from `now` (Unix seconds) for `days`.
fn validity(
    params: &mut CertificateParams,
    now: i64,
    days: u32,
) -> anyhow::Result<time::OffsetDateTime> {
    let at = |s: i64| {
        time::OffsetDateTime::from_unix_timestamp(s).context("a validity date out of range")
    };
    params.not_before = at(now - SKEW_SECONDS)?;
    params.not_after = at(now + i64::from(days) * 86_400)?;
    Ok(params.not_after)
}

/// A random positive serial number of 16 bytes (RFC 5280 allows 20).
fn serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] = (bytes[0] & 0x7f).max(1);
    SerialNumber::from_slice(&bytes)
}

fn subject(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

fn ca(a: &CaArgs, now: i64) -> anyhow::Result<String> {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(&a.name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.serial_number = Some(serial());
    let until = validity(&mut params, now, a.days)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("cannot make a key")?;
    let cert = params.self_signed(&key).context("cannot sign the CA certificate")?;
    let (pem, key_path) = write_pair(&a.out, "ca", &cert.pem(), &key.serialize_pem())?;
    Ok(format!(
        "wrote {} (CA `{}`, ECDSA P-256, valid until {}) and its key {} (mode 0600)",
        pem.display(),
        a.name,
        date(until),
        key_path.display()
    ))
}

/// Which side of mutual TLS a leaf is for.
#[derive(Debug, Clone, Copy)]
enum Usage {
    /// An agent: the TLS server.
    Server,
    /// A controller: the TLS client.
    Client,
}

/// A leaf certificate to make.
struct Leaf<'a> {
    name: &'a str,
    days: u32,
    sans: Vec<SanType>,
    usage: Usage,
}

impl Leaf<'_> {
    fn make(self, signer: &Signer, out: &Path, now: i64) -> anyhow::Result<String> {
        file_name(self.name)?;
        let (issuer, ca_until) = load_ca(signer)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = subject(self.name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![match self.usage {
            Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        params.subject_alt_names = self.sans;
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(serial());
        let until = validity(&mut params, now, self.days)?;
        if until > ca_until {
            bail!(
                "a certificate valid for {} days (until {}) would outlive the CA {} (valid until {}); \
                 give fewer --days, or make a new CA",
                self.days,
                date(until),
                signer.ca.display(),
                date(ca_until)
            );
        }
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("cannot make a key")?;
        let cert = params.signed_by(&key, &issuer).context("cannot sign the certificate")?;
        let (pem, key_path) = write_pair(out, self.name, &cert.pem(), &key.serialize_pem())?;
        let what = match self.usage {
            Usage::Server => "agent (serverAuth)",
            Usage::Client => "controller (clientAuth)",
        };
        Ok(format!(
            "wrote {} ({what} `{}`, ECDSA P-256, signed by {}, valid until {}) and its key {} (mode 0600)",
            pem.display(),
            self.name,
            signer.ca.display(),
            date(until),
            key_path.display()
        ))
    }
}

/// `--san`: an IP address, or else a DNS name.
fn san(text: &str) -> anyhow::Result<SanType> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    rustls::pki_types::DnsName::try_from(text)
        .with_context(|| format!("--san {text:?} is neither an IP address nor a DNS name"))?;
    Ok(SanType::DnsName(text.try_into().with_context(|| format!("--san {text:?}"))?))
}

/// The CA to sign with, and when it expires: refused unless the
/// certificate is a CA that may sign certificates and the key is its own.
fn load_ca(s: &Signer) -> anyhow::Result<(Issuer<'static, KeyPair>, time::OffsetDateTime)> {
    let ca_pem = std::fs::read_to_string(&s.ca)
        .with_context(|| format!("cannot read the CA certificate {}", s.ca.display()))?;
    let key_pem = std::fs::read_to_string(&s.ca_key)
        .with_context(|| format!("cannot read the CA key {}", s.ca_key.display()))?;
    let key = KeyPair::from_pem(&key_pem)
        .with_context(|| format!("{} is not a private key in PEM (PKCS#8)", s.ca_key.display()))?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(ca_pem.as_bytes())
        .map_err(|e| anyhow::anyhow!("{} holds no PEM certificate: {e}", s.ca.display()))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| anyhow::anyhow!("{} is not a certificate: {e}", s.ca.display()))?;
    let is_ca = cert.basic_constraints().ok().flatten().is_some_and(|b| b.value.ca);
    let signs = cert.key_usage().ok().flatten().is_none_or(|k| k.value.key_cert_sign());
    if !is_ca || !signs {
        bail!("{} is not a CA certificate (basicConstraints CA:true, keyCertSign)", s.ca.display());
    }
    if cert.public_key().subject_public_key.data.as_ref() != key.der_bytes() {
        bail!(
            "the key {} does not belong to the CA certificate {}",
            s.ca_key.display(),
            s.ca.display()
        );
    }
    let until = cert.validity().not_after.to_datetime();
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, key)
        .with_context(|| format!("cannot sign with the CA {}", s.ca.display()))?;
    Ok((issuer, until))
}

/// A name that is a plain file name: letters, digits, `.`, `_`, `-`, not
/// starting with `.`.
fn file_name(name: &str) -> anyhow::Result<()> {
    let plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if name.is_empty() || name.starts_with('.') || !plain || name.len() > 64 {
        bail!(
            "--name {name:?}: use 1 to 64 letters, digits, `.`, `_` or `-`, not starting with `.` \
             (it names the files)"
        );
    }
    Ok(())
}

/// Writes `out/stem.pem` and `out/stem.key` (mode 0600), neither of which
/// may exist; returns their paths.
fn write_pair(out: &Path, stem: &str, cert: &str, key: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let pem = out.join(format!("{stem}.pem"));
    let key_path = out.join(format!("{stem}.key"));
    for path in [&pem, &key_path] {
        if path.symlink_metadata().is_ok() {
            bail!(
                "{} already exists; it is never overwritten (remove it, or use another --out)",
                path.display()
            );
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    // The key first: if the certificate cannot be written, the key is
    // removed again, so no half pair is left behind.
    write_new(&key_path, key, 0o600)?;
    if let Err(e) = write_new(&pem, cert, 0o644) {
        let _ = std::fs::remove_file(&key_path);
        return Err(e);
    }
    Ok((pem, key_path))
}

/// Creates `path` (never through an existing file or link) with `mode` and
/// writes `text`.
fn write_new(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(mode).open(path).with_context(
            || match path.symlink_metadata() {
                Ok(_) => format!("{} already exists; it is never overwritten", path.display()),
                Err(_) => format!("cannot create {}", path.display()),
            },
        )?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// `2031-12-02`.
fn date(t: time::OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}
