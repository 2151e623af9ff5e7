//! The mutual TLS both ends use: TLS 1.3 only, ring, and a pinned private
//! CA on each side instead of any public trust store. The agent requires a
//! client certificate chaining to its `--client-ca` (with the clientAuth
//! key usage, checked by webpki) before it reads a byte of request; the
//! controller trusts only its `--agent-ca` for the agent's certificate,
//! whose names must include the host of the spec's `agent:` URL.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// A PEM file the TLS set-up could not use.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {why}")]
pub struct TlsSetupError {
    /// Which file (its role and path).
    pub what: String,
    /// What is wrong.
    pub why: String,
}

/// PEM texts, each with the name errors call it by.
#[derive(Debug, Clone, Copy)]
pub struct Pem<'a> {
    /// The name (a path) for messages.
    pub name: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
}

fn error(role: &str, pem: Pem<'_>, why: impl std::fmt::Display) -> TlsSetupError {
    TlsSetupError { what: format!("{role} {}", pem.name), why: why.to_string() }
}

fn certs(role: &str, pem: Pem<'_>) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem.bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| error(role, pem, e))?;
    if certs.is_empty() {
        return Err(error(role, pem, "no certificate (BEGIN CERTIFICATE) in it"));
    }
    Ok(certs)
}

fn key(role: &str, pem: Pem<'_>) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    PrivateKeyDer::from_pem_slice(pem.bytes).map_err(|e| error(role, pem, e))
}

fn roots(role: &str, pem: Pem<'_>) -> Result<Arc<RootCertStore>, TlsSetupError> {
    let mut store = RootCertStore::empty();
    for cert in certs(role, pem)? {
        store.add(cert).map_err(|e| error(role, pem, e))?;
    }
    Ok(Arc::new(store))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The agent's side: its certificate chain and key, and the CA whose
/// certificates it accepts from controllers. Clients without one are
/// refused in the handshake.
pub fn server_config(
    cert: Pem<'_>,
    key_pem: Pem<'_>,
    client_ca: Pem<'_>,
) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let verifier =
        WebPkiClientVerifier::builder_with_provider(roots("--client-ca", client_ca)?, provider())
            .build()
            .map_err(|e| error("--client-ca", client_ca, e))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| error("--cert", cert, e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs("--cert", cert)?, key("--key", key_pem)?)
        .map_err(|e| error("--key", key_pem, format!("does not go with --cert: {e}")))?;
    Ok(Arc::new(config))
}

/// The controller's side: the CA agents' certificates must chain to, and
/// the controller's own certificate and key.
pub fn client_config(
    agent_ca: Pem<'_>,
    cert: Pem<'_>,
    key_pem: Pem<'_>,
) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| error("--agent-ca", agent_ca, e))?
        .with_root_certificates(roots("--agent-ca", agent_ca)?)
        .with_client_auth_cert(certs("--agent-cert", cert)?, key("--agent-key", key_pem)?)
        .map_err(|e| {
            error("--agent-key", key_pem, format!("does not go with --agent-cert: {e}"))
        })?;
    Ok(Arc::new(config))
}

/// The subject common name of a DER certificate, for messages.
pub fn common_name(cert: &CertificateDer<'_>) -> String {
    x509_parser::parse_x509_certificate(cert)
        .ok()
        .and_then(|(_, c)| {
            c.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_owned)
        })
        .unwrap_or_else(|| "(no common name)".to_owned())
}
