//! TLS probes, the I/O half: a real handshake with rustls for what a
//! modern client sees (the version and suite it gets, the certificate
//! chain as presented, a stapled OCSP response), with and without SNI.
//!
//! rustls is used as a client that records instead of judging: its
//! certificate verifier keeps the chain and the OCSP response and accepts
//! them, so the handshake goes on to prove (with the provider's signature
//! checks, which stay) that the server holds the leaf's key. Judging the
//! chain (expiry, trust, names, key sizes) is `tls::cert`'s job, on the
//! recorded DER, with `now` as a parameter, so `verdict` can judge a saved
//! observation file again later.
//!
//! What rustls will not speak (SSLv2 and SSLv3, TLS 1.0 and 1.1, weak
//! suites) is found with our own ClientHellos (`tls::wire`); for a server
//! that speaks only those, the chain comes from its cleartext Certificate
//! message there.
//!
//! Every handshake is bounded: one deadline covers connect and handshake.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

/// What the server presented during one handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presented {
    /// The certificates in the order sent, leaf first, DER.
    pub chain: Vec<Vec<u8>>,
    /// The stapled OCSP response, if one came.
    pub ocsp: Option<Vec<u8>>,
}

/// How one rustls handshake went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    /// It completed.
    Done {
        /// The negotiated version's wire code (0x0304 for TLS 1.3).
        version: u16,
        /// The negotiated cipher suite's IANA code point.
        suite: u16,
        /// What the server presented.
        presented: Presented,
    },
    /// It failed after the TCP connection was made: an alert, a version or
    /// suite rustls does not speak, bytes that are not TLS. `presented`
    /// holds whatever certificates came before the failure.
    Failed {
        /// rustls's account of it.
        error: String,
        /// What the server presented before failing.
        presented: Presented,
    },
    /// No TCP connection: refused, unreachable, or no answer in time.
    Unreachable(String),
    /// Connected, but the handshake did not finish within the deadline.
    TimedOut,
}

/// Runs one handshake with `target`, sending `sni` as the server name when
/// given (none is sent otherwise), within `deadline` for connect and
/// handshake together.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future closes the connection; nothing is
/// recorded elsewhere.
pub async fn handshake(target: SocketAddr, sni: Option<&str>, deadline: Duration) -> Handshake {
    let recorder = Arc::new(Recorder::new());
    let config = match client_config(Arc::clone(&recorder)) {
        Ok(c) => c,
        Err(e) => {
            return Handshake::Failed { error: e.to_string(), presented: Presented::default() };
        }
    };
    // An IP address as the server name makes rustls send no SNI.
    let name = match sni.map(|s| ServerName::try_from(s.to_owned())) {
        Some(Ok(name)) => name,
        Some(Err(e)) => {
            return Handshake::Failed {
                error: format!("server name {sni:?}: {e}"),
                presented: Presented::default(),
            };
        }
        None => ServerName::IpAddress(target.ip().into()),
    };
    let run = async {
        let tcp = match TcpStream::connect(target).await {
            Ok(s) => s,
            Err(e) => return Handshake::Unreachable(e.to_string()),
        };
        let _ = tcp.set_nodelay(true);
        match TlsConnector::from(Arc::new(config)).connect(name, tcp).await {
            Ok(mut stream) => {
                let (_, conn) = stream.get_ref();
                let version = conn.protocol_version().map_or(0, u16::from);
                let suite = conn.negotiated_cipher_suite().map_or(0, |s| u16::from(s.suite()));
                // A polite close; its failure changes nothing.
                let _ = stream.shutdown().await;
                Handshake::Done { version, suite, presented: recorder.take() }
            }
            Err(e) => Handshake::Failed { error: e.to_string(), presented: recorder.take() },
        }
    };
    timeout(deadline, run).await.unwrap_or(Handshake::TimedOut)
}

/// A client configuration for TLS 1.3 and 1.2 with the ring provider that
/// records the server's certificates through `recorder`.
fn client_config(recorder: Arc<Recorder>) -> Result<ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)?
        .dangerous()
        .with_custom_certificate_verifier(recorder)
        .with_no_client_auth())
}

/// A certificate verifier that records what it is shown and accepts it
/// (the judging happens later, on the record); handshake signatures are
/// still checked with the provider's algorithms.
#[derive(Debug)]
struct Recorder {
    seen: Mutex<Presented>,
    provider: CryptoProvider,
}

impl Recorder {
    fn new() -> Self {
        Self {
            seen: Mutex::new(Presented::default()),
            provider: rustls::crypto::ring::default_provider(),
        }
    }

    fn take(&self) -> Presented {
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.chain =
            std::iter::once(end_entity).chain(intermediates).map(|c| c.as_ref().to_vec()).collect();
        seen.ocsp = (!ocsp_response.is_empty()).then(|| ocsp_response.to_vec());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
