//! Names of TLS protocol versions and cipher suites, as the policy speaks of
//! them: IANA names (what Mozilla's guidelines list under `ciphers.iana` and
//! `ciphersuites`) and OpenSSL names (what server configurations use).
//!
//! Seam (issue 5): the wire codec (`tls::wire`) owns the registry of every
//! code point the prober can meet. This module only needs names, so the
//! policy takes a lookup function (`SuiteNames`) instead of depending on
//! that module; `iana_name` here is the fallback lookup over the suites this
//! table knows, enough for the guidelines' suites and the usual weak ones.

use std::fmt;

/// A TLS protocol version, the wire's `u16` (`0x0303` is TLS 1.2). Unknown
/// values are kept and shown in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion(pub u16);

impl ProtocolVersion {
    /// SSL 3.0.
    pub const SSL3: Self = Self(0x0300);
    /// TLS 1.0.
    pub const TLS10: Self = Self(0x0301);
    /// TLS 1.1.
    pub const TLS11: Self = Self(0x0302);
    /// TLS 1.2.
    pub const TLS12: Self = Self(0x0303);
    /// TLS 1.3.
    pub const TLS13: Self = Self(0x0304);

    /// Every version a policy can name, oldest first.
    pub const ALL: [Self; 5] = [Self::SSL3, Self::TLS10, Self::TLS11, Self::TLS12, Self::TLS13];

    /// The version a guideline or a spec names: Mozilla's `TLSv1`, `TLSv1.1`,
    /// `TLSv1.2`, `TLSv1.3`, `SSLv3`, and the spellings `1.0`..`1.3`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "SSLv3" => Some(Self::SSL3),
            "TLSv1" | "TLSv1.0" | "1.0" => Some(Self::TLS10),
            "TLSv1.1" | "1.1" => Some(Self::TLS11),
            "TLSv1.2" | "1.2" => Some(Self::TLS12),
            "TLSv1.3" | "1.3" => Some(Self::TLS13),
            _ => None,
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::SSL3 => f.write_str("SSLv3"),
            Self::TLS10 => f.write_str("TLSv1.0"),
            Self::TLS11 => f.write_str("TLSv1.1"),
            Self::TLS12 => f.write_str("TLSv1.2"),
            Self::TLS13 => f.write_str("TLSv1.3"),
            Self(v) => write!(f, "0x{v:04x}"),
        }
    }
}

/// Looks up the IANA name of a cipher suite code point; the wire codec's
/// registry provides the full one, `iana_name` a fallback.
pub type SuiteNames<'a> = &'a dyn Fn(u16) -> Option<&'static str>;

/// (code point, IANA name, OpenSSL name). TLS 1.3 suites have one name.
const SUITES: &[(u16, &str, &str)] = &[
    (0x0001, "TLS_RSA_WITH_NULL_MD5", "NULL-MD5"),
    (0x0002, "TLS_RSA_WITH_NULL_SHA", "NULL-SHA"),
    (0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", "EXP-RC4-MD5"),
    (0x0004, "TLS_RSA_WITH_RC4_128_MD5", "RC4-MD5"),
    (0x0005, "TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA"),
    (0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA", "IDEA-CBC-SHA"),
    (0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXP-DES-CBC-SHA"),
    (0x0009, "TLS_RSA_WITH_DES_CBC_SHA", "DES-CBC-SHA"),
    (0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"),
    (0x0018, "TLS_DH_anon_WITH_RC4_128_MD5", "ADH-RC4-MD5"),
    (0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"),
    (0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "DHE-RSA-AES128-SHA"),
    (0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", "ADH-AES128-SHA"),
    (0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"),
    (0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA-AES256-SHA"),
    (0x003a, "TLS_DH_anon_WITH_AES_256_CBC_SHA", "ADH-AES256-SHA"),
    (0x003b, "TLS_RSA_WITH_NULL_SHA256", "NULL-SHA256"),
    (0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"),
    (0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", "AES256-SHA256"),
    (0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", "CAMELLIA128-SHA"),
    (0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "DHE-RSA-AES128-SHA256"),
    (0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "DHE-RSA-AES256-SHA256"),
    (0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", "CAMELLIA256-SHA"),
    (0x0096, "TLS_RSA_WITH_SEED_CBC_SHA", "SEED-SHA"),
    (0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"),
    (0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"),
    (0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256"),
    (0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE-RSA-AES256-GCM-SHA384"),
    (0x1301, "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"),
    (0x1302, "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"),
    (0x1303, "TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256"),
    (0x1304, "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_SHA256"),
    (0x1305, "TLS_AES_128_CCM_8_SHA256", "TLS_AES_128_CCM_8_SHA256"),
    (0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA"),
    (0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"),
    (0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"),
    (0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA"),
    (0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA"),
    (0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"),
    (0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"),
    (0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"),
    (0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA-AES256-SHA384"),
    (0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"),
    (0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "ECDHE-RSA-AES256-SHA384"),
    (0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"),
    (0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"),
    (0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"),
    (0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"),
    (0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"),
    (0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"),
    (0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "DHE-RSA-CHACHA20-POLY1305"),
];

/// The IANA name of a code point this table knows.
pub fn iana_name(code: u16) -> Option<&'static str> {
    SUITES.iter().find(|(c, _, _)| *c == code).map(|(_, iana, _)| *iana)
}

/// The OpenSSL name of a suite given by its IANA name.
pub fn openssl_name(iana: &str) -> Option<&'static str> {
    SUITES.iter().find(|(_, i, _)| *i == iana).map(|(_, _, o)| *o)
}

/// The IANA name of a suite written either way (IANA or OpenSSL name), as
/// a spec's `ciphers.allow`/`deny` may; `None` when the name is unknown.
pub fn to_iana(name: &str) -> Option<&'static str> {
    SUITES.iter().find(|(_, i, o)| *i == name || *o == name).map(|(_, i, _)| *i)
}

/// Every IANA and OpenSSL name this table knows, for suggestions.
pub fn all_names() -> impl Iterator<Item = &'static str> {
    SUITES.iter().flat_map(|(_, i, o)| [*i, *o])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(iana_name(0xc02f), Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
        assert_eq!(openssl_name("TLS_RSA_WITH_3DES_EDE_CBC_SHA"), Some("DES-CBC3-SHA"));
        assert_eq!(to_iana("ECDHE-RSA-AES128-GCM-SHA256"), iana_name(0xc02f));
        assert_eq!(to_iana("TLS_AES_128_GCM_SHA256"), Some("TLS_AES_128_GCM_SHA256"));
        assert_eq!(to_iana("NOT-A-SUITE"), None);
        assert_eq!(ProtocolVersion(0x7f1c).to_string(), "0x7f1c");
        assert_eq!(ProtocolVersion::from_name("TLSv1"), Some(ProtocolVersion::TLS10));
    }

    #[test]
    fn codes_and_names_are_unique() {
        for (i, a) in SUITES.iter().enumerate() {
            for b in &SUITES[i + 1..] {
                assert!(a.0 < b.0, "table sorted and unique by code: {a:?} {b:?}");
                assert_ne!(a.1, b.1);
                assert_ne!(a.2, b.2);
            }
        }
    }
}
