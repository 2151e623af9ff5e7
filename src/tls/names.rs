//! Names of TLS protocol versions and cipher suites, as the policy speaks of
//! them: IANA names (what Mozilla's guidelines list under `ciphers.iana` and
//! `ciphersuites`) and OpenSSL names (what server configurations use).
//!
//! The names come from the wire codec's registry (`tls::wire`), the one
//! table of every code point the prober can meet; the policy still takes
//! its lookup as a function (`SuiteNames`), so tests can name suites the
//! registry does not.

use super::wire::{CipherSuite, registry};

pub use super::wire::ProtocolVersion;

/// Looks up the IANA name of a cipher suite code point; the wire codec's
/// registry provides the full one, `iana_name` a fallback.
pub type SuiteNames<'a> = &'a dyn Fn(u16) -> Option<&'static str>;

/// The IANA name of a code point the registry knows.
pub fn iana_name(code: u16) -> Option<&'static str> {
    CipherSuite(code).name()
}

/// The OpenSSL name of a suite given by its IANA name.
pub fn openssl_name(iana: &str) -> Option<&'static str> {
    registry().iter().find(|s| s.iana == iana).and_then(|s| s.openssl)
}

/// The IANA name of a suite written either way (IANA or OpenSSL name), as
/// a spec's `ciphers.allow`/`deny` may; `None` when the name is unknown.
pub fn to_iana(name: &str) -> Option<&'static str> {
    CipherSuite::from_name(name).and_then(CipherSuite::name)
}

/// Every IANA and OpenSSL name the registry knows, for suggestions.
pub fn all_names() -> impl Iterator<Item = &'static str> {
    registry().iter().flat_map(|s| std::iter::once(s.iana).chain(s.openssl))
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
}
