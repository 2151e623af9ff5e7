//! The incremental reader of a server's first flight: push whatever bytes
//! arrive, in pieces of any size, and get one [`ServerAnswer`] once there
//! is enough to say what the server did: a ServerHello (with, for TLS 1.2
//! and older, everything up to ServerHelloDone: certificate chain, stapled
//! OCSP response, key-exchange parameters), an alert, an SSLv2 answer, or
//! bytes that are not TLS at all.
//!
//! Invariants:
//! - Bounded: the flight may not exceed [`MAX_FLIGHT`] bytes, a record
//!   [`MAX_RECORD`], a handshake message its type's cap, a chain
//!   [`MAX_CHAIN`] certificates; the caps are checked against announced
//!   lengths before anything is buffered past them.
//! - Records may split handshake messages and pushes may split records
//!   anywhere, down to one byte at a time; the result is the same.
//! - Once a ServerHello is read, a later problem (a malformed certificate,
//!   an alert, the connection closing) no longer loses it: the answer
//!   still carries the hello, with the problem beside it.
//! - TLS 1.3 encrypts everything after ServerHello, so the reader stops
//!   there (and at a HelloRetryRequest).

use super::WireError;
use super::codes::{
    AlertDescription, AlertLevel, ExtensionType, HandshakeType, NamedGroup, ProtocolVersion,
};
use super::reader::Reader;
use super::suites::{CipherSuite, KeyExchange, Ssl2CipherSpec};

/// The most bytes of one server flight we accept.
pub const MAX_FLIGHT: usize = 256 * 1024;
/// The largest record: 2^14 plaintext plus the 2048 bytes of expansion
/// RFC 5246 allows a ciphertext.
pub const MAX_RECORD: usize = 16_384 + 2_048;
/// The largest Certificate or CertificateRequest message.
pub const MAX_CERTIFICATE_MESSAGE: usize = 128 * 1024;
/// The largest other handshake message.
pub const MAX_OTHER_MESSAGE: usize = 16 * 1024;
/// The most certificates in a chain.
pub const MAX_CHAIN: usize = 32;
/// How many bytes of a non-TLS answer we keep as evidence.
pub const EVIDENCE_BYTES: usize = 64;

/// The random of a HelloRetryRequest (RFC 8446 section 4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// What the server said in answer to one hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAnswer {
    /// An alert before any ServerHello: the server refused.
    Alert(Alert),
    /// The first bytes do not look like TLS or SSLv2 (HTTP, SSH, a banner).
    NotTls {
        /// Up to [`EVIDENCE_BYTES`] of what arrived, as evidence.
        first_bytes: Vec<u8>,
    },
    /// A TLS ServerHello (or HelloRetryRequest) and what followed it.
    ServerHello(Box<ServerHello>),
    /// An SSLv2 ERROR message (e.g. 1, NO-CIPHER-ERROR).
    Ssl2Error {
        /// The error code.
        code: u16,
    },
    /// An SSLv2 SERVER-HELLO.
    Ssl2ServerHello(Ssl2ServerHello),
}

/// An alert record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Alert {
    /// Warning or fatal.
    pub level: AlertLevel,
    /// What the alert says.
    pub description: AlertDescription,
}

/// A ServerHello and, for TLS 1.2 and older, the rest of the first flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The version in the record header of the first record.
    pub record_version: ProtocolVersion,
    /// The hello's own (legacy) version field.
    pub legacy_version: ProtocolVersion,
    /// The negotiated version: `supported_versions` when present, else
    /// the legacy field.
    pub version: ProtocolVersion,
    /// The server random.
    pub random: [u8; 32],
    /// The session id (at most 32 bytes).
    pub session_id: Vec<u8>,
    /// The chosen suite.
    pub suite: CipherSuite,
    /// The chosen compression method (0 is none).
    pub compression: u8,
    /// The extension types, in the order sent.
    pub extensions: Vec<ExtensionType>,
    /// The group of `key_share` (1.3), the HelloRetryRequest's requested
    /// group, or the named curve of a TLS 1.2 ECDHE ServerKeyExchange.
    pub selected_group: Option<NamedGroup>,
    /// A HelloRetryRequest (its random is RFC 8446's fixed value).
    pub is_hello_retry: bool,
    /// DER certificates, leaf first (TLS 1.2 and older).
    pub chain: Vec<Vec<u8>>,
    /// A stapled OCSP response (CertificateStatus), DER.
    pub ocsp_response: Option<Vec<u8>>,
    /// What the ServerKeyExchange says, when one came.
    pub key_exchange: Option<KeyExchangeParams>,
    /// The server asked for a client certificate.
    pub certificate_requested: bool,
    /// The flight ended as the protocol says: ServerHelloDone for TLS 1.2
    /// and older, the ServerHello itself for 1.3 and HelloRetryRequest.
    pub complete: bool,
    /// An alert that came after the ServerHello.
    pub alert_after: Option<Alert>,
    /// A problem with what came after the ServerHello.
    pub error_after: Option<WireError>,
}

/// The key-exchange parameters of a TLS 1.2-or-older ServerKeyExchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyExchangeParams {
    /// Finite-field Diffie-Hellman: the prime's size.
    Dh {
        /// Bits of the prime `p`.
        prime_bits: u32,
    },
    /// Elliptic-curve Diffie-Hellman over a named curve.
    Ecdh {
        /// The curve.
        group: NamedGroup,
    },
    /// ECDHE over explicit curve parameters (RFC 4492 types 1 and 2).
    ExplicitCurve,
    /// A temporary RSA key (the export suites): its modulus size.
    Rsa {
        /// Bits of the modulus.
        modulus_bits: u32,
    },
    /// A ServerKeyExchange for a key exchange we do not read.
    Unparsed,
}

/// An SSLv2 SERVER-HELLO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ssl2ServerHello {
    /// The server's version field (2 for SSLv2).
    pub version: ProtocolVersion,
    /// The cipher specs the server lists (those it shares with the client).
    pub cipher_specs: Vec<Ssl2CipherSpec>,
    /// The certificate, DER (empty when the server resumed a session).
    pub certificate: Vec<u8>,
    /// The session-id-hit flag.
    pub session_id_hit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing read yet.
    Start,
    NotTls,
    Ssl2,
    Tls,
    Done,
}

/// Reads one server flight, incrementally. See the module docs.
#[derive(Debug, Clone)]
pub struct FlightReader {
    mode: Mode,
    /// Bytes received but not yet consumed as whole records.
    raw: Vec<u8>,
    /// Total bytes pushed.
    total: usize,
    /// Handshake bytes from records, not yet whole messages.
    handshake: Vec<u8>,
    record_version: Option<ProtocolVersion>,
    hello: Option<ServerHello>,
}

impl Default for FlightReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FlightReader {
    /// A reader expecting the first byte of a server's answer.
    pub fn new() -> Self {
        Self {
            mode: Mode::Start,
            raw: Vec::new(),
            total: 0,
            handshake: Vec::new(),
            record_version: None,
            hello: None,
        }
    }

    /// Takes the next bytes from the server. Returns the answer once it is
    /// known (after that, further bytes are ignored and `Ok(None)` comes
    /// back), `Ok(None)` while more bytes are needed, or an error for bytes
    /// that cannot be a valid answer; after an error the reader is done.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Option<ServerAnswer>, WireError> {
        if self.mode == Mode::Done {
            return Ok(None);
        }
        // Take only what fits under the cap, so whether the answer comes
        // before the cap does not depend on how the bytes were cut.
        let room = MAX_FLIGHT.saturating_sub(self.total);
        let fits = bytes.get(..room).unwrap_or(bytes);
        self.total = self.total.saturating_add(bytes.len());
        self.raw.extend_from_slice(fits);
        let out = self.step();
        if !matches!(out, Ok(None)) {
            self.mode = Mode::Done;
            self.raw = Vec::new();
            self.handshake = Vec::new();
            return out;
        }
        if self.total > MAX_FLIGHT {
            self.mode = Mode::Done;
            // The hello we already have is still worth reporting.
            if let Some(mut hello) = self.hello.take() {
                hello.error_after = Some(WireError::Oversized {
                    what: "server flight",
                    len: self.total,
                    limit: MAX_FLIGHT,
                });
                return Ok(Some(ServerAnswer::ServerHello(Box::new(hello))));
            }
            return Err(WireError::Oversized {
                what: "server flight",
                len: self.total,
                limit: MAX_FLIGHT,
            });
        }
        Ok(None)
    }

    /// The connection closed (or the prober gave up waiting). Returns what
    /// the bytes so far amount to: a ServerHello read before the flight
    /// ended (marked incomplete), the evidence of a non-TLS answer,
    /// `Ok(None)` if the server sent nothing, or `Truncated` if it stopped
    /// partway through a record or message.
    pub fn close(&mut self) -> Result<Option<ServerAnswer>, WireError> {
        let mode = std::mem::replace(&mut self.mode, Mode::Done);
        if let Some(hello) = self.hello.take() {
            return Ok(Some(ServerAnswer::ServerHello(Box::new(hello))));
        }
        match mode {
            Mode::Done => Ok(None),
            Mode::Start if self.raw.is_empty() => Ok(None),
            // One byte that could start a record, then nothing.
            Mode::Start if matches!(self.raw.as_slice(), [22 | 21]) => {
                Err(WireError::Truncated { what: "record", have: 1 })
            }
            Mode::Start | Mode::NotTls => Ok(Some(self.not_tls())),
            Mode::Ssl2 => Err(WireError::Truncated { what: "SSLv2 record", have: self.raw.len() }),
            Mode::Tls if !self.handshake.is_empty() => {
                Err(WireError::Truncated { what: "handshake message", have: self.handshake.len() })
            }
            Mode::Tls if self.raw.is_empty() => Ok(None),
            Mode::Tls => Err(WireError::Truncated { what: "record", have: self.raw.len() }),
        }
    }

    /// The evidence of a non-TLS answer: its first line, or the first
    /// [`EVIDENCE_BYTES`] bytes if that is shorter, however it arrived.
    fn not_tls(&self) -> ServerAnswer {
        let window = self.raw.get(..self.raw.len().min(EVIDENCE_BYTES)).unwrap_or_default();
        let n = window.iter().position(|b| *b == b'\n').map_or(window.len(), |i| i + 1);
        ServerAnswer::NotTls { first_bytes: self.raw.get(..n).unwrap_or_default().to_vec() }
    }

    fn step(&mut self) -> Result<Option<ServerAnswer>, WireError> {
        if self.mode == Mode::Start {
            self.mode = match self.raw.as_slice() {
                [] => return Ok(None),
                // Handshake or alert record, major version 3.
                [22 | 21] => return Ok(None),
                [22 | 21, 3, ..] => Mode::Tls,
                // SSLv2 two-byte header; the message type (third byte) is
                // SERVER-HELLO (4) or ERROR (0).
                [b, ..] if b & 0x80 != 0 => match self.raw.get(2) {
                    None => return Ok(None),
                    Some(4 | 0) => Mode::Ssl2,
                    Some(_) => Mode::NotTls,
                },
                _ => Mode::NotTls,
            };
        }
        match self.mode {
            Mode::NotTls => {
                let enough = self.raw.len() >= EVIDENCE_BYTES || self.raw.contains(&b'\n');
                Ok(enough.then(|| self.not_tls()))
            }
            Mode::Ssl2 => self.ssl2(),
            Mode::Tls => self.records(),
            Mode::Start | Mode::Done => Ok(None),
        }
    }

    fn ssl2(&mut self) -> Result<Option<ServerAnswer>, WireError> {
        let Some(&[hi, lo]) = self.raw.get(..2) else { return Ok(None) };
        let len = usize::from(hi & 0x7f) << 8 | usize::from(lo);
        let Some(body) = self.raw.get(2..2 + len) else { return Ok(None) };
        parse_ssl2(body).map(Some)
    }

    fn records(&mut self) -> Result<Option<ServerAnswer>, WireError> {
        loop {
            let mut r = Reader::new(&self.raw, "record");
            let (Ok(ty), Ok(version), Ok(len)) =
                (r.u8("content type"), r.u16("record version"), r.u16("record length"))
            else {
                return Ok(None);
            };
            let len = usize::from(len);
            if len > MAX_RECORD {
                return Err(WireError::Oversized { what: "record", len, limit: MAX_RECORD });
            }
            if version >> 8 != 3 {
                return Err(WireError::Malformed {
                    what: "record",
                    offset: 1,
                    expected: "a record version 3.x",
                });
            }
            let Ok(fragment) = r.take(len, "record fragment") else { return Ok(None) };
            let fragment = fragment.to_vec();
            consume(&mut self.raw, 5 + len);
            self.record_version.get_or_insert(ProtocolVersion(version));
            if let Some(answer) = self.record(ty, &fragment)? {
                return Ok(Some(answer));
            }
        }
    }

    fn record(&mut self, ty: u8, fragment: &[u8]) -> Result<Option<ServerAnswer>, WireError> {
        match ty {
            22 => {
                if fragment.is_empty() {
                    return Err(WireError::Malformed {
                        what: "handshake record",
                        offset: 5,
                        expected: "a non-empty fragment",
                    });
                }
                self.handshake.extend_from_slice(fragment);
                self.messages()
            }
            21 => {
                let mut r = Reader::new(fragment, "alert");
                let alert = Alert {
                    level: AlertLevel(r.u8("alert level")?),
                    description: AlertDescription(r.u8("alert description")?),
                };
                r.expect_end("one alert a record")?;
                Ok(Some(match self.hello.take() {
                    Some(mut hello) => {
                        hello.alert_after = Some(alert);
                        ServerAnswer::ServerHello(Box::new(hello))
                    }
                    None => ServerAnswer::Alert(alert),
                }))
            }
            // ChangeCipherSpec: TLS 1.3 middlebox compatibility; harmless.
            20 => Ok(None),
            other => self.after_hello_or(WireError::Unexpected {
                got: format!("record content type {other}"),
                expected: "a handshake or alert record",
            }),
        }
    }

    /// A problem after the ServerHello ends the flight with the hello in
    /// hand; before it, the problem is the answer.
    fn after_hello_or(&mut self, e: WireError) -> Result<Option<ServerAnswer>, WireError> {
        match self.hello.take() {
            Some(mut hello) => {
                hello.error_after = Some(e);
                Ok(Some(ServerAnswer::ServerHello(Box::new(hello))))
            }
            None => Err(e),
        }
    }

    fn messages(&mut self) -> Result<Option<ServerAnswer>, WireError> {
        loop {
            let mut r = Reader::new(&self.handshake, "handshake message");
            let (Ok(ty), Ok(len)) = (r.u8("type"), r.u24("length")) else { return Ok(None) };
            let ty = HandshakeType(ty);
            let limit = match ty {
                HandshakeType::CERTIFICATE | HandshakeType::CERTIFICATE_REQUEST => {
                    MAX_CERTIFICATE_MESSAGE
                }
                _ => MAX_OTHER_MESSAGE,
            };
            if len > limit {
                return self.after_hello_or(WireError::Oversized {
                    what: "handshake message",
                    len,
                    limit,
                });
            }
            let Ok(body) = r.take(len, "message body") else { return Ok(None) };
            let body = body.to_vec();
            consume(&mut self.handshake, 4 + len);
            let done = match self.message(ty, &body) {
                Ok(done) => done,
                Err(e) => return self.after_hello_or(e),
            };
            if done {
                return Ok(self.hello.take().map(|h| ServerAnswer::ServerHello(Box::new(h))));
            }
        }
    }

    /// Handles one whole handshake message; true when the flight is over.
    fn message(&mut self, ty: HandshakeType, body: &[u8]) -> Result<bool, WireError> {
        let Some(hello) = self.hello.as_mut() else {
            return match ty {
                HandshakeType::SERVER_HELLO => {
                    let record_version = self.record_version.unwrap_or(ProtocolVersion(0));
                    let hello = parse_server_hello(body, record_version)?;
                    let done = hello.complete;
                    self.hello = Some(hello);
                    Ok(done)
                }
                // HelloRequest may come at any time and means nothing here.
                HandshakeType::HELLO_REQUEST => Ok(false),
                other => {
                    Err(WireError::Unexpected { got: other.to_string(), expected: "ServerHello" })
                }
            };
        };
        match ty {
            HandshakeType::CERTIFICATE => hello.chain = parse_certificate(body)?,
            HandshakeType::CERTIFICATE_STATUS => {
                let mut r = Reader::new(body, "CertificateStatus");
                if r.u8("status type")? == 1 {
                    hello.ocsp_response = Some(r.sub_u24("OCSP response")?.rest().to_vec());
                    r.expect_end("nothing after the OCSP response")?;
                }
            }
            HandshakeType::SERVER_KEY_EXCHANGE => {
                let params = parse_server_key_exchange(body, hello.suite)?;
                if let KeyExchangeParams::Ecdh { group } = params {
                    hello.selected_group = Some(group);
                }
                hello.key_exchange = Some(params);
            }
            HandshakeType::CERTIFICATE_REQUEST => hello.certificate_requested = true,
            HandshakeType::SERVER_HELLO_DONE => {
                hello.complete = true;
                return Ok(true);
            }
            HandshakeType::HELLO_REQUEST => {}
            other => {
                return Err(WireError::Unexpected {
                    got: other.to_string(),
                    expected: "a message of the server's first flight",
                });
            }
        }
        Ok(false)
    }
}

fn parse_server_hello(
    body: &[u8],
    record_version: ProtocolVersion,
) -> Result<ServerHello, WireError> {
    let mut r = Reader::new(body, "ServerHello");
    let legacy_version = ProtocolVersion(r.u16("legacy_version")?);
    let random = r.fixed::<32>("a 32-byte random")?;
    let at = r.offset();
    let session_id = r.sub_u8("session id")?.rest().to_vec();
    if session_id.len() > 32 {
        return Err(WireError::Malformed {
            what: "ServerHello",
            offset: at,
            expected: "a session id of at most 32 bytes",
        });
    }
    let suite = CipherSuite(r.u16("cipher suite")?);
    let compression = r.u8("compression method")?;
    let is_hello_retry = random == HRR_RANDOM;
    let mut hello = ServerHello {
        record_version,
        legacy_version,
        version: legacy_version,
        random,
        session_id,
        suite,
        compression,
        extensions: Vec::new(),
        selected_group: None,
        is_hello_retry,
        chain: Vec::new(),
        ocsp_response: None,
        key_exchange: None,
        certificate_requested: false,
        complete: false,
        alert_after: None,
        error_after: None,
    };
    // SSLv3 and early TLS servers may end the hello here.
    if !r.is_empty() {
        let mut exts = r.sub_u16("extensions")?;
        r.expect_end("nothing after the extensions")?;
        while !exts.is_empty() {
            let at = exts.offset();
            let ty = ExtensionType(exts.u16("extension type")?);
            let mut data = exts.sub_u16("extension data")?;
            if hello.extensions.contains(&ty) {
                return Err(WireError::Malformed {
                    what: "ServerHello",
                    offset: at,
                    expected: "each extension at most once",
                });
            }
            hello.extensions.push(ty);
            match ty {
                ExtensionType::SUPPORTED_VERSIONS => {
                    hello.version = ProtocolVersion(data.u16("selected version")?);
                    data.expect_end("one selected version")?;
                }
                ExtensionType::KEY_SHARE => {
                    hello.selected_group = Some(NamedGroup(data.u16("key share group")?));
                    if !is_hello_retry {
                        data.sub_u16("key exchange")?;
                    }
                    data.expect_end("one key share")?;
                }
                _ => {}
            }
        }
    }
    hello.complete = is_hello_retry || hello.version >= ProtocolVersion::TLS13;
    Ok(hello)
}

fn parse_certificate(body: &[u8]) -> Result<Vec<Vec<u8>>, WireError> {
    let mut r = Reader::new(body, "Certificate");
    let mut list = r.sub_u24("certificate list")?;
    r.expect_end("nothing after the certificate list")?;
    let mut chain = Vec::new();
    while !list.is_empty() {
        if chain.len() == MAX_CHAIN {
            return Err(WireError::Oversized {
                what: "certificate chain (certificates)",
                len: chain.len() + 1,
                limit: MAX_CHAIN,
            });
        }
        let at = list.offset();
        let cert = list.sub_u24("certificate")?.rest();
        if cert.is_empty() {
            return Err(WireError::Malformed {
                what: "Certificate",
                offset: at,
                expected: "a non-empty certificate",
            });
        }
        chain.push(cert.to_vec());
    }
    Ok(chain)
}

/// Reads the parameters at the start of a ServerKeyExchange; the
/// signature after them is not read, so trailing bytes are expected.
fn parse_server_key_exchange(
    body: &[u8],
    suite: CipherSuite,
) -> Result<KeyExchangeParams, WireError> {
    let mut r = Reader::new(body, "ServerKeyExchange");
    let Some(info) = suite.info() else { return Ok(KeyExchangeParams::Unparsed) };
    if matches!(info.kx, KeyExchange::DhePsk | KeyExchange::EcdhePsk) {
        r.sub_u16("PSK identity hint")?;
    }
    Ok(match info.kx {
        KeyExchange::Dhe | KeyExchange::DhePsk => {
            KeyExchangeParams::Dh { prime_bits: bits(r.sub_u16("DH prime")?.rest()) }
        }
        KeyExchange::Ecdhe | KeyExchange::EcdhePsk => match r.u8("curve type")? {
            3 => KeyExchangeParams::Ecdh { group: NamedGroup(r.u16("named curve")?) },
            1 | 2 => KeyExchangeParams::ExplicitCurve,
            _ => {
                return Err(WireError::Malformed {
                    what: "ServerKeyExchange",
                    offset: 0,
                    expected: "curve type 1, 2 or 3",
                });
            }
        },
        KeyExchange::Rsa => {
            KeyExchangeParams::Rsa { modulus_bits: bits(r.sub_u16("RSA modulus")?.rest()) }
        }
        _ => KeyExchangeParams::Unparsed,
    })
}

/// Drops the first `n` bytes of `buf` (all of them if it is shorter).
fn consume(buf: &mut Vec<u8>, n: usize) {
    buf.drain(..n.min(buf.len()));
}

/// The bit length of a big-endian unsigned integer.
fn bits(n: &[u8]) -> u32 {
    let mut digits = n.iter().skip_while(|b| **b == 0);
    let Some(first) = digits.next() else { return 0 };
    let rest = u32::try_from(digits.count()).unwrap_or(u32::MAX / 8);
    rest.saturating_mul(8).saturating_add(8 - first.leading_zeros())
}

fn parse_ssl2(body: &[u8]) -> Result<ServerAnswer, WireError> {
    let mut r = Reader::new(body, "SSLv2 message");
    match r.u8("message type")? {
        0 => {
            let code = r.u16("error code")?;
            r.expect_end("nothing after the error code")?;
            Ok(ServerAnswer::Ssl2Error { code })
        }
        4 => {
            let session_id_hit = r.u8("session id hit")? != 0;
            let _certificate_type = r.u8("certificate type")?;
            let version = ProtocolVersion(r.u16("server version")?);
            let cert_len = r.u16("certificate length")?;
            let specs_len = r.u16("cipher specs length")?;
            let conn_len = r.u16("connection id length")?;
            let certificate = r.take(usize::from(cert_len), "certificate")?.to_vec();
            let at = r.offset();
            let specs = r.take(usize::from(specs_len), "cipher specs")?;
            if specs.len() % 3 != 0 {
                return Err(WireError::Malformed {
                    what: "SSLv2 message",
                    offset: at,
                    expected: "cipher specs of 3 bytes each",
                });
            }
            let cipher_specs = specs
                .chunks_exact(3)
                .map(|c| match *c {
                    [a, b, d] => Ssl2CipherSpec(u32::from_be_bytes([0, a, b, d])),
                    _ => Ssl2CipherSpec(0),
                })
                .collect();
            r.take(usize::from(conn_len), "connection id")?;
            r.expect_end("nothing after the connection id")?;
            Ok(ServerAnswer::Ssl2ServerHello(Ssl2ServerHello {
                version,
                cipher_specs,
                certificate,
                session_id_hit,
            }))
        }
        other => Err(WireError::Unexpected {
            got: format!("SSLv2 message type {other}"),
            expected: "SERVER-HELLO or ERROR",
        }),
    }
}
