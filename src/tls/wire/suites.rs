//! The cipher-suite registry: every assigned IANA TLS cipher suite by code
//! point (`cipher-suites.csv`, whose header says where the data came from),
//! with its OpenSSL name when OpenSSL has one, and the properties its IANA
//! name spells out (key exchange, authentication, bulk cipher and mode, MAC,
//! export strength, TLS 1.3 only). Also the SSLv2 3-byte cipher specs.
//!
//! Invariants: `CipherSuite` keeps any code point (unknown ones print as
//! `0x....`); the registry is parsed once, is sorted by code point, and a
//! line it cannot read is skipped rather than panicking (a test checks that
//! every line reads).

use std::fmt;
use std::sync::OnceLock;

use super::codes::ProtocolVersion;

/// The registry data, one suite a line: `code,IANA name,OpenSSL name`.
const REGISTRY_CSV: &str = include_str!("cipher-suites.csv");

/// A TLS cipher suite code point, known or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CipherSuite(pub u16);

impl CipherSuite {
    /// `TLS_EMPTY_RENEGOTIATION_INFO_SCSV` (RFC 5746): not a suite, a signal.
    pub const EMPTY_RENEGOTIATION_INFO_SCSV: Self = Self(0x00ff);
    /// `TLS_FALLBACK_SCSV` (RFC 7507): not a suite, a signal.
    pub const FALLBACK_SCSV: Self = Self(0x5600);
    /// `TLS_AES_128_GCM_SHA256`.
    pub const TLS13_AES_128_GCM_SHA256: Self = Self(0x1301);
    /// `TLS_AES_256_GCM_SHA384`.
    pub const TLS13_AES_256_GCM_SHA384: Self = Self(0x1302);
    /// `TLS_CHACHA20_POLY1305_SHA256`.
    pub const TLS13_CHACHA20_POLY1305_SHA256: Self = Self(0x1303);
    /// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub const ECDHE_RSA_WITH_AES_128_GCM_SHA256: Self = Self(0xc02f);
    /// `TLS_RSA_WITH_AES_128_CBC_SHA`.
    pub const RSA_WITH_AES_128_CBC_SHA: Self = Self(0x002f);

    /// What the registry knows about this code point.
    pub fn info(self) -> Option<&'static SuiteInfo> {
        let all = registry();
        all.binary_search_by_key(&self.0, |s| s.suite.0).ok().and_then(|i| all.get(i))
    }

    /// The IANA name, when the code point is assigned.
    pub fn name(self) -> Option<&'static str> {
        self.info().map(|i| i.iana)
    }

    /// Looks a suite up by IANA or OpenSSL name.
    pub fn from_name(name: &str) -> Option<Self> {
        registry().iter().find(|s| s.iana == name || s.openssl == Some(name)).map(|s| s.suite)
    }

    /// True for the signalling values that are not suites (RFC 5746, 7507).
    pub fn is_scsv(self) -> bool {
        self == Self::EMPTY_RENEGOTIATION_INFO_SCSV || self == Self::FALLBACK_SCSV
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "0x{:04x}", self.0),
        }
    }
}

/// How the premaster secret is agreed, as the suite's name says. TLS 1.3
/// suites leave it to `key_share`/`pre_shared_key` and say `Tls13`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs, reason = "the variants are the names used in the IANA suite names")]
pub enum KeyExchange {
    Dh,
    Dhe,
    DhePsk,
    EccPwd,
    Ecdh,
    Ecdhe,
    EcdhePsk,
    Gost,
    Krb5,
    Null,
    Psk,
    Rsa,
    RsaPsk,
    Scsv,
    Srp,
    Tls13,
}

/// How the server proves who it is. `Anonymous` means nothing does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs, reason = "the variants are the names used in the IANA suite names")]
pub enum Authentication {
    Anonymous,
    Dss,
    EccPwd,
    Ecdsa,
    Gost,
    Krb5,
    Null,
    Psk,
    Rsa,
    Srp,
    /// TLS 1.3: the certificate's key decides.
    Tls13,
}

/// The bulk cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs, reason = "the variants are the cipher names used in the IANA suite names")]
pub enum Cipher {
    Aegis,
    Aes,
    Aria,
    Camellia,
    Chacha20,
    Des,
    Gost28147,
    Idea,
    Kuznyechik,
    Magma,
    Null,
    Rc2,
    Rc4,
    Seed,
    Sm4,
    TripleDes,
}

/// How the bulk cipher is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherMode {
    /// Authenticated encryption (GCM, CCM, ChaCha20-Poly1305, MGM, AEGIS).
    Aead,
    /// CBC with a separate MAC.
    Cbc,
    /// No encryption at all.
    Null,
    /// A stream cipher or counter mode with a separate MAC (RC4, GOST CTR).
    Stream,
}

/// The record MAC (`Aead` when the cipher authenticates itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs, reason = "the variants are the MAC names used in the IANA suite names")]
pub enum Mac {
    Aead,
    Gost,
    Md5,
    Null,
    Sha1,
    Sha256,
    Sha384,
}

/// One registry entry and what its name says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteInfo {
    /// The code point.
    pub suite: CipherSuite,
    /// The IANA name, e.g. `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub iana: &'static str,
    /// OpenSSL's name, e.g. `ECDHE-RSA-AES128-GCM-SHA256`, when it has one.
    pub openssl: Option<&'static str>,
    /// Key exchange.
    pub kx: KeyExchange,
    /// Server authentication.
    pub auth: Authentication,
    /// Bulk cipher.
    pub cipher: Cipher,
    /// Cipher mode.
    pub mode: CipherMode,
    /// Nominal key bits of the bulk cipher (3DES counts 168, DES 56, NULL 0).
    pub key_bits: u16,
    /// An export-grade suite (40- or 56-bit, or an `_EXPORT_` key exchange).
    pub export: bool,
    /// Record MAC.
    pub mac: Mac,
    /// Usable only in TLS 1.3 (no `_WITH_` in the name, or a TLS 1.3 GOST suite).
    pub tls13_only: bool,
}

impl SuiteInfo {
    /// True if a server may choose this suite in `version`: TLS 1.3 suites
    /// only in 1.3 and 1.3 only those; AEAD and SHA-2 MAC suites need 1.2
    /// (RFC 5246, 5288, 5289). SCSVs never.
    pub fn usable_in(&self, version: ProtocolVersion) -> bool {
        if self.kx == KeyExchange::Scsv {
            return false;
        }
        if version == ProtocolVersion::TLS13 {
            return self.tls13_only;
        }
        if self.tls13_only || version == ProtocolVersion::SSL2 {
            return false;
        }
        let needs_tls12 =
            self.mode == CipherMode::Aead || matches!(self.mac, Mac::Sha256 | Mac::Sha384);
        !needs_tls12 || version == ProtocolVersion::TLS12
    }
}

/// The whole registry, sorted by code point.
pub fn registry() -> &'static [SuiteInfo] {
    static REGISTRY: OnceLock<Vec<SuiteInfo>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut all: Vec<SuiteInfo> = REGISTRY_CSV.lines().filter_map(parse_line).collect();
        all.sort_by_key(|s| s.suite);
        all.dedup_by_key(|s| s.suite);
        all
    })
}

/// The suites worth offering when enumerating `version`: those usable in it,
/// the ones OpenSSL knows first (the likeliest to be accepted, so a first
/// bundle of 128 usually finds the server's), then the rest, each group in
/// code-point order.
pub fn candidates(version: ProtocolVersion) -> Vec<CipherSuite> {
    let usable = || registry().iter().filter(move |s| s.usable_in(version));
    usable()
        .filter(|s| s.openssl.is_some())
        .chain(usable().filter(|s| s.openssl.is_none()))
        .map(|s| s.suite)
        .collect()
}

fn parse_line(line: &'static str) -> Option<SuiteInfo> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let mut fields = line.split(',');
    let code = u16::from_str_radix(fields.next()?, 16).ok()?;
    let iana = fields.next()?;
    let openssl = fields.next().filter(|s| !s.is_empty());
    let mut info = derive(iana)?;
    info.suite = CipherSuite(code);
    info.openssl = openssl;
    Some(info)
}

/// Reads the properties out of an IANA name such as
/// `TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA` or `TLS_AES_128_GCM_SHA256`.
fn derive(iana: &'static str) -> Option<SuiteInfo> {
    use Authentication as A;
    use KeyExchange as K;

    let body = iana.strip_prefix("TLS_")?;
    let base = SuiteInfo {
        suite: CipherSuite(0),
        iana,
        openssl: None,
        kx: K::Tls13,
        auth: A::Tls13,
        cipher: Cipher::Null,
        mode: CipherMode::Null,
        key_bits: 0,
        export: false,
        mac: Mac::Null,
        tls13_only: false,
    };
    if body.ends_with("_SCSV") {
        return Some(SuiteInfo { kx: K::Scsv, auth: A::Null, ..base });
    }
    let (kx_part, bulk_part, tls13_only) = match body.split_once("_WITH_") {
        Some((kx, bulk)) => {
            // The TLS 1.3 GOST suites (RFC 9367) keep `_WITH_` but end in
            // MGM_L / MGM_S.
            let gost13 = bulk.contains("_MGM_");
            (kx, bulk, gost13)
        }
        None => ("", body, true),
    };
    let export = kx_part.contains("EXPORT");
    let kx_auth: (K, A) = match kx_part.replace("_EXPORT", "").as_str() {
        "" => (K::Tls13, A::Tls13),
        "NULL" => (K::Null, A::Null),
        "RSA" => (K::Rsa, A::Rsa),
        "DH_DSS" => (K::Dh, A::Dss),
        "DH_RSA" => (K::Dh, A::Rsa),
        "DHE_DSS" => (K::Dhe, A::Dss),
        "DHE_RSA" => (K::Dhe, A::Rsa),
        "DH_anon" => (K::Dhe, A::Anonymous),
        "KRB5" => (K::Krb5, A::Krb5),
        "PSK" => (K::Psk, A::Psk),
        "DHE_PSK" | "PSK_DHE" => (K::DhePsk, A::Psk),
        "RSA_PSK" => (K::RsaPsk, A::Rsa),
        "ECDH_ECDSA" => (K::Ecdh, A::Ecdsa),
        "ECDH_RSA" => (K::Ecdh, A::Rsa),
        "ECDHE_ECDSA" => (K::Ecdhe, A::Ecdsa),
        "ECDHE_RSA" => (K::Ecdhe, A::Rsa),
        "ECDH_anon" => (K::Ecdhe, A::Anonymous),
        "ECDHE_PSK" => (K::EcdhePsk, A::Psk),
        "SRP_SHA" => (K::Srp, A::Srp),
        "SRP_SHA_RSA" => (K::Srp, A::Rsa),
        "SRP_SHA_DSS" => (K::Srp, A::Dss),
        "ECCPWD" => (K::EccPwd, A::EccPwd),
        "GOSTR341112_256" => (K::Gost, A::Gost),
        _ => return None,
    };
    let tokens: Vec<&str> = bulk_part.split('_').collect();
    let has = |t: &str| tokens.contains(&t);
    let first = *tokens.first()?;
    let (cipher, default_bits) = match first {
        "NULL" | "SHA256" | "SHA384" => (Cipher::Null, 0),
        "RC4" => (Cipher::Rc4, 128),
        "RC2" => (Cipher::Rc2, 128),
        "IDEA" => (Cipher::Idea, 128),
        "DES40" => (Cipher::Des, 40),
        "DES" => (Cipher::Des, 56),
        "3DES" => (Cipher::TripleDes, 168),
        "AES" => (Cipher::Aes, 128),
        "CAMELLIA" => (Cipher::Camellia, 128),
        "ARIA" => (Cipher::Aria, 128),
        "SEED" => (Cipher::Seed, 128),
        "CHACHA20" => (Cipher::Chacha20, 256),
        "SM4" => (Cipher::Sm4, 128),
        "AEGIS" => (Cipher::Aegis, 128),
        "KUZNYECHIK" => (Cipher::Kuznyechik, 256),
        "MAGMA" => (Cipher::Magma, 256),
        "28147" => (Cipher::Gost28147, 256),
        _ => return None,
    };
    // The first number after the cipher is its key size (`AES_256`,
    // `RC4_40`, `RC2_CBC_40`, `AEGIS_128L`); `SHA256` and friends are
    // words, not numbers, so they never match.
    let key_bits = tokens
        .iter()
        .skip(1)
        .find_map(|t| t.trim_end_matches('L').parse::<u16>().ok())
        .unwrap_or(default_bits);
    let aead = ["GCM", "CCM", "POLY1305", "MGM"].iter().any(|t| has(t)) || cipher == Cipher::Aegis;
    let mode = if cipher == Cipher::Null {
        CipherMode::Null
    } else if aead {
        CipherMode::Aead
    } else if has("CBC") {
        CipherMode::Cbc
    } else {
        CipherMode::Stream
    };
    let mac = if aead {
        Mac::Aead
    } else {
        match tokens.last().copied() {
            Some("MD5") => Mac::Md5,
            Some("SHA") => Mac::Sha1,
            Some("SHA256") => Mac::Sha256,
            Some("SHA384") => Mac::Sha384,
            Some("OMAC" | "IMIT") => Mac::Gost,
            _ => Mac::Null,
        }
    };
    Some(SuiteInfo {
        kx: kx_auth.0,
        auth: kx_auth.1,
        cipher,
        mode,
        key_bits,
        export: export || key_bits == 40,
        mac,
        tls13_only,
        ..base
    })
}

/// An SSLv2 cipher spec: three bytes on the wire, kept as a `u32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ssl2CipherSpec(pub u32);

impl Ssl2CipherSpec {
    /// The specs of the SSLv2 draft (Hickman, 1995) and OpenSSL's RC4-64.
    pub const KNOWN: [(Self, &'static str); 8] = [
        (Self(0x01_0080), "SSL_CK_RC4_128_WITH_MD5"),
        (Self(0x02_0080), "SSL_CK_RC4_128_EXPORT40_WITH_MD5"),
        (Self(0x03_0080), "SSL_CK_RC2_128_CBC_WITH_MD5"),
        (Self(0x04_0080), "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5"),
        (Self(0x05_0080), "SSL_CK_IDEA_128_CBC_WITH_MD5"),
        (Self(0x06_0040), "SSL_CK_DES_64_CBC_WITH_MD5"),
        (Self(0x07_00c0), "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"),
        (Self(0x08_0080), "SSL_CK_RC4_64_WITH_MD5"),
    ];

    /// Every known spec.
    pub fn all() -> Vec<Self> {
        Self::KNOWN.iter().map(|(s, _)| *s).collect()
    }

    /// The draft's name, when known.
    pub fn name(self) -> Option<&'static str> {
        Self::KNOWN.iter().find(|(s, _)| *s == self).map(|(_, n)| *n)
    }

    /// The three wire bytes.
    pub fn to_bytes(self) -> [u8; 3] {
        let [_, a, b, c] = self.0.to_be_bytes();
        [a, b, c]
    }
}

impl fmt::Display for Ssl2CipherSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "0x{:06x}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registry_line_reads() {
        let lines =
            REGISTRY_CSV.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).count();
        assert_eq!(registry().len(), lines, "a line of cipher-suites.csv did not parse");
        assert!(registry().len() > 340, "the whole IANA registry, not a sample");
        assert!(registry().windows(2).all(|w| matches!(w, [a, b] if a.suite < b.suite)));
    }

    #[test]
    fn names_and_properties_come_from_the_registry() {
        let s = CipherSuite(0xc02f).info().expect("known");
        assert_eq!(s.iana, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(s.openssl, Some("ECDHE-RSA-AES128-GCM-SHA256"));
        assert_eq!(
            (s.kx, s.auth, s.cipher, s.mode, s.key_bits, s.mac),
            (
                KeyExchange::Ecdhe,
                Authentication::Rsa,
                Cipher::Aes,
                CipherMode::Aead,
                128,
                Mac::Aead
            )
        );
        assert!(!s.export && !s.tls13_only);

        let e = CipherSuite(0x0014).info().expect("known");
        assert_eq!(
            (e.kx, e.cipher, e.key_bits, e.export),
            (KeyExchange::Dhe, Cipher::Des, 40, true)
        );
        let rc4 = CipherSuite(0x0003).info().expect("known");
        assert_eq!(
            (rc4.cipher, rc4.mode, rc4.key_bits, rc4.export),
            (Cipher::Rc4, CipherMode::Stream, 40, true)
        );
        let anon = CipherSuite(0x0034).info().expect("known");
        assert_eq!(anon.auth, Authentication::Anonymous);
        let des = CipherSuite(0x0009).info().expect("known");
        assert_eq!(
            (des.cipher, des.key_bits, des.export, des.mac),
            (Cipher::Des, 56, false, Mac::Sha1)
        );
        let t13 = CipherSuite(0x1303).info().expect("known");
        assert!(t13.tls13_only);
        assert_eq!((t13.cipher, t13.mode), (Cipher::Chacha20, CipherMode::Aead));
        let null = CipherSuite(0x0002).info().expect("known");
        assert_eq!((null.cipher, null.mode, null.mac), (Cipher::Null, CipherMode::Null, Mac::Sha1));
        assert!(CipherSuite(0xc103).info().expect("known").tls13_only);
        assert_eq!(CipherSuite(0x00ff).info().expect("known").kx, KeyExchange::Scsv);
        assert_eq!(CipherSuite(0x000a).info().expect("known").cipher, Cipher::TripleDes);
    }

    #[test]
    fn unknown_code_points_print_in_hex_and_names_look_up_both_ways() {
        assert_eq!(CipherSuite(0x0a0a).to_string(), "0x0a0a");
        assert_eq!(CipherSuite(0x1301).to_string(), "TLS_AES_128_GCM_SHA256");
        assert_eq!(CipherSuite::from_name("AES128-SHA"), Some(CipherSuite(0x002f)));
        assert_eq!(
            CipherSuite::from_name("TLS_RSA_WITH_AES_128_CBC_SHA"),
            Some(CipherSuite(0x002f))
        );
        assert_eq!(Ssl2CipherSpec(0x07_00c0).to_string(), "SSL_CK_DES_192_EDE3_CBC_WITH_MD5");
        assert_eq!(Ssl2CipherSpec(0x07_00c0).to_bytes(), [7, 0, 0xc0]);
        assert_eq!(Ssl2CipherSpec(0xff_0000).to_string(), "0xff0000");
    }

    #[test]
    fn candidates_fit_their_version() {
        let t13 = candidates(ProtocolVersion::TLS13);
        assert!(t13.contains(&CipherSuite(0x1301)) && !t13.contains(&CipherSuite(0xc02f)));
        let t10 = candidates(ProtocolVersion::TLS10);
        assert!(t10.contains(&CipherSuite(0x002f)) && !t10.contains(&CipherSuite(0xc02f)));
        assert!(!t10.iter().any(|s| s.is_scsv()));
        let t12 = candidates(ProtocolVersion::TLS12);
        assert!(t12.contains(&CipherSuite(0xc02f)) && t12.len() > 300);
    }
}
