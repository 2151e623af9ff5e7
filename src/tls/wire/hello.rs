//! TLS ClientHello records for SSLv3 to TLS 1.3, shaped like the ones
//! testssl.sh and sslyze send to learn what a server accepts without ever
//! completing a handshake.
//!
//! Invariants: the output is always one complete handshake record; a
//! hello whose handshake message would be 256 to 511 bytes long is padded
//! to 512 (RFC 7685), since F5 load balancers hang on those lengths
//! (testssl.sh's notes, openssl's and sslyze's workaround); SSLv3 hellos
//! carry no extensions at all, as SSLv3 servers predate them.

use super::codes::{ExtensionType, HandshakeType, NamedGroup, ProtocolVersion, SignatureScheme};
use super::suites::CipherSuite;

/// What goes into a ClientHello besides the version and the suites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloOptions {
    /// The host name for SNI. Left out when `None`, when it is an IP
    /// address literal (RFC 6066 forbids those) or longer than 255 bytes.
    pub server_name: Option<String>,
    /// Offered groups (`supported_groups`), in preference order.
    pub groups: Vec<NamedGroup>,
    /// Offered signature schemes (TLS 1.2 and 1.3).
    pub signature_schemes: Vec<SignatureScheme>,
    /// The client random. The caller supplies it, so the codec needs no
    /// randomness; a fixed value is fine for probing.
    pub random: [u8; 32],
    /// Ask for a stapled OCSP response (`status_request`).
    pub status_request: bool,
    /// Add `TLS_EMPTY_RENEGOTIATION_INFO_SCSV` to the suites (TLS 1.0-1.2
    /// and SSLv3), as testssl.sh does: some servers refuse hellos without
    /// a renegotiation signal.
    pub renegotiation_scsv: bool,
}

impl Default for HelloOptions {
    fn default() -> Self {
        Self {
            server_name: None,
            groups: vec![
                NamedGroup::X25519,
                NamedGroup::SECP256R1,
                NamedGroup::SECP384R1,
                NamedGroup::SECP521R1,
                NamedGroup::X448,
                NamedGroup::FFDHE2048,
                NamedGroup::FFDHE3072,
                NamedGroup::FFDHE4096,
            ],
            signature_schemes: vec![
                SignatureScheme::ECDSA_SECP256R1_SHA256,
                SignatureScheme::ECDSA_SECP384R1_SHA384,
                SignatureScheme::ECDSA_SECP521R1_SHA512,
                SignatureScheme::ED25519,
                SignatureScheme::ED448,
                SignatureScheme::RSA_PSS_RSAE_SHA256,
                SignatureScheme::RSA_PSS_RSAE_SHA384,
                SignatureScheme::RSA_PSS_RSAE_SHA512,
                SignatureScheme::RSA_PSS_PSS_SHA256,
                SignatureScheme::RSA_PSS_PSS_SHA384,
                SignatureScheme::RSA_PSS_PSS_SHA512,
                SignatureScheme::RSA_PKCS1_SHA256,
                SignatureScheme::RSA_PKCS1_SHA384,
                SignatureScheme::RSA_PKCS1_SHA512,
                SignatureScheme::ECDSA_SHA224,
                SignatureScheme::RSA_PKCS1_SHA224,
                SignatureScheme::DSA_SHA256,
                SignatureScheme::ECDSA_SHA1,
                SignatureScheme::RSA_PKCS1_SHA1,
                SignatureScheme::DSA_SHA1,
            ],
            random: *b"vantage probe: not a real client",
            status_request: true,
            renegotiation_scsv: true,
        }
    }
}

/// The X25519 key share: any 32 bytes are a valid public key (RFC 7748);
/// this is the base point, u = 9.
const X25519_SHARE: [u8; 32] = {
    let mut k = [0u8; 32];
    k[0] = 9;
    k
};

/// The P-256 key share: the curve's generator, uncompressed (SEC 1), a
/// valid point whose discrete log is 1. We never finish the handshake, so
/// knowing the private key costs nothing.
const P256_SHARE: [u8; 65] = [
    0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40,
    0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2,
    0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e,
    0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51,
    0xf5,
];

/// The handshake message lengths F5 devices hang on (testssl.sh).
const F5_HANG: std::ops::RangeInclusive<usize> = 256..=511;

/// A complete ClientHello record (record header included) offering
/// `suites` for `version` (SSLv3 to TLS 1.3; use [`super::sslv2`] for
/// SSLv2). For TLS 1.3 the legacy version is TLS 1.2 and
/// `supported_versions` offers 1.3 alone, so a server that answers at all
/// answers in 1.3 or refuses; the key share is X25519 or P-256, whichever
/// comes first in `opts.groups` (none when neither is offered, which makes
/// a 1.3 server answer with a HelloRetryRequest naming its group).
pub fn client_hello(
    version: ProtocolVersion,
    suites: &[CipherSuite],
    opts: &HelloOptions,
) -> Vec<u8> {
    let tls13 = version >= ProtocolVersion::TLS13;
    let legacy = if tls13 { ProtocolVersion::TLS12 } else { version };

    let mut body = Vec::with_capacity(512);
    put_u16(&mut body, legacy.0);
    body.extend_from_slice(&opts.random);
    if tls13 {
        // A non-empty legacy session id, for middlebox compatibility
        // (RFC 8446 appendix D.4).
        body.push(32);
        body.extend_from_slice(&[0x5a; 32]);
    } else {
        body.push(0);
    }
    let mut list: Vec<CipherSuite> = suites.to_vec();
    if !tls13
        && opts.renegotiation_scsv
        && !list.contains(&CipherSuite::EMPTY_RENEGOTIATION_INFO_SCSV)
    {
        list.push(CipherSuite::EMPTY_RENEGOTIATION_INFO_SCSV);
    }
    // A cipher-suite vector holds at most 2^16 - 2 bytes.
    list.truncate(32_767);
    put_u16(&mut body, len16(list.len() * 2));
    for s in &list {
        put_u16(&mut body, s.0);
    }
    body.extend_from_slice(&[1, 0]); // compression: null only

    if version > ProtocolVersion::SSL3 {
        let mut exts = extensions(version, opts);
        // Pad so the handshake message (4-byte header + body + 2-byte
        // extensions length + extensions) avoids 256..=511 bytes.
        let msg_len = 4 + body.len() + 2 + exts.len();
        if F5_HANG.contains(&msg_len) {
            let pad = 512usize.saturating_sub(msg_len + 4);
            put_ext(&mut exts, ExtensionType::PADDING, &vec![0; pad]);
        }
        put_u16(&mut body, len16(exts.len()));
        body.extend_from_slice(&exts);
    }

    let mut msg = Vec::with_capacity(body.len() + 4);
    msg.push(HandshakeType::CLIENT_HELLO.0);
    put_u24(&mut msg, body.len());
    msg.extend_from_slice(&body);

    // Records carry TLS 1.0 at most: some old servers refuse a hello whose
    // record version is newer than they know (testssl.sh does the same).
    let record_version = legacy.min(ProtocolVersion::TLS10);
    let mut out = Vec::with_capacity(msg.len() + 5);
    out.push(22);
    put_u16(&mut out, record_version.0);
    put_u16(&mut out, len16(msg.len()));
    out.extend_from_slice(&msg);
    out
}

fn extensions(version: ProtocolVersion, opts: &HelloOptions) -> Vec<u8> {
    let tls13 = version >= ProtocolVersion::TLS13;
    let mut exts = Vec::new();
    if let Some(name) = opts.server_name.as_deref().filter(|n| sni_allowed(n)) {
        let mut list = vec![0]; // host_name
        put_u16(&mut list, len16(name.len()));
        list.extend_from_slice(name.as_bytes());
        let mut data = Vec::new();
        put_u16(&mut data, len16(list.len()));
        data.extend_from_slice(&list);
        put_ext(&mut exts, ExtensionType::SERVER_NAME, &data);
    }
    if opts.status_request {
        // ocsp, empty responder id list, empty request extensions.
        put_ext(&mut exts, ExtensionType::STATUS_REQUEST, &[1, 0, 0, 0, 0]);
    }
    if !opts.groups.is_empty() {
        let mut data = Vec::new();
        put_u16(&mut data, len16(opts.groups.len() * 2));
        for g in &opts.groups {
            put_u16(&mut data, g.0);
        }
        put_ext(&mut exts, ExtensionType::SUPPORTED_GROUPS, &data);
    }
    if !tls13 {
        put_ext(&mut exts, ExtensionType::EC_POINT_FORMATS, &[1, 0]); // uncompressed
    }
    if version >= ProtocolVersion::TLS12 && !opts.signature_schemes.is_empty() {
        let mut data = Vec::new();
        put_u16(&mut data, len16(opts.signature_schemes.len() * 2));
        for s in &opts.signature_schemes {
            put_u16(&mut data, s.0);
        }
        put_ext(&mut exts, ExtensionType::SIGNATURE_ALGORITHMS, &data);
    }
    if tls13 {
        put_ext(&mut exts, ExtensionType::SUPPORTED_VERSIONS, &[2, 0x03, 0x04]);
        put_ext(&mut exts, ExtensionType::PSK_KEY_EXCHANGE_MODES, &[1, 1]); // psk_dhe_ke
        let share = opts.groups.iter().find_map(|g| match *g {
            NamedGroup::X25519 => Some((*g, &X25519_SHARE[..])),
            NamedGroup::SECP256R1 => Some((*g, &P256_SHARE[..])),
            _ => None,
        });
        let mut shares = Vec::new();
        if let Some((group, key)) = share {
            put_u16(&mut shares, group.0);
            put_u16(&mut shares, len16(key.len()));
            shares.extend_from_slice(key);
        }
        let mut data = Vec::new();
        put_u16(&mut data, len16(shares.len()));
        data.extend_from_slice(&shares);
        put_ext(&mut exts, ExtensionType::KEY_SHARE, &data);
    }
    exts
}

/// SNI takes DNS names only: no IP literals, at most 255 bytes, ASCII.
fn sni_allowed(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.is_ascii()
        && name.parse::<std::net::IpAddr>().is_err()
}

fn put_ext(out: &mut Vec<u8>, ty: ExtensionType, data: &[u8]) {
    put_u16(out, ty.0);
    put_u16(out, len16(data.len()));
    out.extend_from_slice(data);
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_u24(out: &mut Vec<u8>, v: usize) {
    let [_, a, b, c] = u32::try_from(v).unwrap_or(u32::MAX).to_be_bytes();
    out.extend_from_slice(&[a, b, c]);
}

/// Every length we write is bounded by construction (at most 32 767
/// suites, a few dozen groups, a 255-byte name), so saturating never
/// happens in practice; it keeps this free of `as` casts and panics.
fn len16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::wire::suites::candidates;

    fn msg_len(rec: &[u8]) -> usize {
        usize::from(u16::from_be_bytes([rec[3], rec[4]]))
    }

    #[test]
    fn hellos_avoid_the_lengths_that_hang_f5_devices() {
        for v in [ProtocolVersion::TLS10, ProtocolVersion::TLS12, ProtocolVersion::TLS13] {
            let all = candidates(v);
            for n in [1, 5, 20, 60, 100, 128] {
                let suites: Vec<_> = all.iter().copied().cycle().take(n).collect();
                let rec = client_hello(v, &suites, &HelloOptions::default());
                let len = msg_len(&rec);
                assert_eq!(len + 5, rec.len(), "one complete record");
                assert!(!F5_HANG.contains(&len), "{v} with {n} suites: {len} bytes");
            }
        }
    }

    #[test]
    fn sslv3_bundles_stay_below_the_f5_lengths() {
        use crate::tls::wire::enumerate::{BUNDLE_SSL3, Enumeration};
        let all = candidates(ProtocolVersion::SSL3);
        assert!(all.len() > BUNDLE_SSL3, "more candidates than one bundle");
        let e = Enumeration::new(ProtocolVersion::SSL3, &all);
        let rec = e.next_hello().expect("a hello");
        assert!(msg_len(&rec) < 256, "{} bytes", msg_len(&rec));
    }

    #[test]
    fn record_and_legacy_versions() {
        let opts = HelloOptions { server_name: Some("example.test".into()), ..Default::default() };
        let h13 = client_hello(ProtocolVersion::TLS13, &[CipherSuite(0x1301)], &opts);
        assert_eq!(&h13[..3], &[22, 3, 1]);
        assert_eq!(&h13[9..11], &[3, 3], "legacy_version is TLS 1.2");
        let h3 = client_hello(ProtocolVersion::SSL3, &[CipherSuite(0x000a)], &opts);
        assert_eq!(&h3[..3], &[22, 3, 0]);
        assert_eq!(&h3[9..11], &[3, 0]);
        // SSLv3: suites (3DES + SCSV) and null compression, no extensions.
        assert_eq!(h3.len(), 5 + 4 + 2 + 32 + 1 + 2 + 4 + 2);
        assert!(!sni_allowed("192.0.2.1") && sni_allowed("example.test"));
    }
}
