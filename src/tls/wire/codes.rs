//! Newtypes around TLS wire integers (STYLE rule 6): protocol versions,
//! named groups, signature schemes, alert descriptions, extension types and
//! handshake types. Each keeps whatever the peer sent; known values have
//! named constants and print by name, unknown ones print in hex.

use std::fmt;

/// Defines a newtype over a wire integer with named constants, `name()` for
/// the known ones and a `Display` that falls back to hex.
macro_rules! wire_code {
    (
        $(#[$doc:meta])* $ty:ident($int:ty), $width:literal;
        $($(#[$cdoc:meta])* $konst:ident = $val:literal => $name:literal,)*
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $ty(pub $int);

        impl $ty {
            $(
                $(#[$cdoc])*
                #[doc = concat!("`", $name, "`.")]
                pub const $konst: Self = Self($val);
            )*

            /// Every value with a name, in definition order.
            pub const KNOWN: &'static [Self] = &[$(Self::$konst),*];

            /// The registry name, or `None` for a value we do not know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($val => Some($name),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, concat!("0x{:0", $width, "x}"), self.0),
                }
            }
        }
    };
}

wire_code! {
    /// A protocol version as it appears on the wire (`0x0303` is TLS 1.2).
    /// SSLv2 is `0x0002`, the value its ServerHello carries.
    ProtocolVersion(u16), 4;
    SSL2 = 0x0002 => "SSLv2",
    SSL3 = 0x0300 => "SSLv3",
    TLS10 = 0x0301 => "TLSv1.0",
    TLS11 = 0x0302 => "TLSv1.1",
    TLS12 = 0x0303 => "TLSv1.2",
    TLS13 = 0x0304 => "TLSv1.3",
}

impl ProtocolVersion {
    /// Every version vantage can probe, oldest first.
    pub const ALL: [Self; 6] =
        [Self::SSL2, Self::SSL3, Self::TLS10, Self::TLS11, Self::TLS12, Self::TLS13];

    /// The version a guideline or a spec names: Mozilla's `TLSv1`,
    /// `TLSv1.1`, `TLSv1.2`, `TLSv1.3`, `SSLv3`, `SSLv2`, and the spellings
    /// `1.0`..`1.3`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "SSLv2" => Some(Self::SSL2),
            "SSLv3" => Some(Self::SSL3),
            "TLSv1" | "TLSv1.0" | "1.0" => Some(Self::TLS10),
            "TLSv1.1" | "1.1" => Some(Self::TLS11),
            "TLSv1.2" | "1.2" => Some(Self::TLS12),
            "TLSv1.3" | "1.3" => Some(Self::TLS13),
            _ => None,
        }
    }
}

wire_code! {
    /// A key-exchange group (`supported_groups`, `key_share`, and the named
    /// curve of a TLS 1.2 ServerKeyExchange). IANA TLS Supported Groups.
    NamedGroup(u16), 4;
    SECT163K1 = 0x0001 => "sect163k1",
    SECT163R1 = 0x0002 => "sect163r1",
    SECT163R2 = 0x0003 => "sect163r2",
    SECT193R1 = 0x0004 => "sect193r1",
    SECT193R2 = 0x0005 => "sect193r2",
    SECT233K1 = 0x0006 => "sect233k1",
    SECT233R1 = 0x0007 => "sect233r1",
    SECT239K1 = 0x0008 => "sect239k1",
    SECT283K1 = 0x0009 => "sect283k1",
    SECT283R1 = 0x000a => "sect283r1",
    SECT409K1 = 0x000b => "sect409k1",
    SECT409R1 = 0x000c => "sect409r1",
    SECT571K1 = 0x000d => "sect571k1",
    SECT571R1 = 0x000e => "sect571r1",
    SECP160K1 = 0x000f => "secp160k1",
    SECP160R1 = 0x0010 => "secp160r1",
    SECP160R2 = 0x0011 => "secp160r2",
    SECP192K1 = 0x0012 => "secp192k1",
    SECP192R1 = 0x0013 => "secp192r1",
    SECP224K1 = 0x0014 => "secp224k1",
    SECP224R1 = 0x0015 => "secp224r1",
    SECP256K1 = 0x0016 => "secp256k1",
    SECP256R1 = 0x0017 => "secp256r1",
    SECP384R1 = 0x0018 => "secp384r1",
    SECP521R1 = 0x0019 => "secp521r1",
    BRAINPOOLP256R1 = 0x001a => "brainpoolP256r1",
    BRAINPOOLP384R1 = 0x001b => "brainpoolP384r1",
    BRAINPOOLP512R1 = 0x001c => "brainpoolP512r1",
    X25519 = 0x001d => "x25519",
    X448 = 0x001e => "x448",
    BRAINPOOLP256R1TLS13 = 0x001f => "brainpoolP256r1tls13",
    BRAINPOOLP384R1TLS13 = 0x0020 => "brainpoolP384r1tls13",
    BRAINPOOLP512R1TLS13 = 0x0021 => "brainpoolP512r1tls13",
    FFDHE2048 = 0x0100 => "ffdhe2048",
    FFDHE3072 = 0x0101 => "ffdhe3072",
    FFDHE4096 = 0x0102 => "ffdhe4096",
    FFDHE6144 = 0x0103 => "ffdhe6144",
    FFDHE8192 = 0x0104 => "ffdhe8192",
    SECP256R1_MLKEM768 = 0x11eb => "SecP256r1MLKEM768",
    X25519_MLKEM768 = 0x11ec => "X25519MLKEM768",
    SECP384R1_MLKEM1024 = 0x11ed => "SecP384r1MLKEM1024",
}

wire_code! {
    /// A signature scheme (`signature_algorithms`). IANA TLS SignatureScheme.
    SignatureScheme(u16), 4;
    RSA_PKCS1_SHA1 = 0x0201 => "rsa_pkcs1_sha1",
    DSA_SHA1 = 0x0202 => "dsa_sha1",
    ECDSA_SHA1 = 0x0203 => "ecdsa_sha1",
    RSA_PKCS1_SHA224 = 0x0301 => "rsa_pkcs1_sha224",
    ECDSA_SHA224 = 0x0303 => "ecdsa_sha224",
    RSA_PKCS1_SHA256 = 0x0401 => "rsa_pkcs1_sha256",
    DSA_SHA256 = 0x0402 => "dsa_sha256",
    ECDSA_SECP256R1_SHA256 = 0x0403 => "ecdsa_secp256r1_sha256",
    RSA_PKCS1_SHA384 = 0x0501 => "rsa_pkcs1_sha384",
    ECDSA_SECP384R1_SHA384 = 0x0503 => "ecdsa_secp384r1_sha384",
    RSA_PKCS1_SHA512 = 0x0601 => "rsa_pkcs1_sha512",
    ECDSA_SECP521R1_SHA512 = 0x0603 => "ecdsa_secp521r1_sha512",
    RSA_PSS_RSAE_SHA256 = 0x0804 => "rsa_pss_rsae_sha256",
    RSA_PSS_RSAE_SHA384 = 0x0805 => "rsa_pss_rsae_sha384",
    RSA_PSS_RSAE_SHA512 = 0x0806 => "rsa_pss_rsae_sha512",
    ED25519 = 0x0807 => "ed25519",
    ED448 = 0x0808 => "ed448",
    RSA_PSS_PSS_SHA256 = 0x0809 => "rsa_pss_pss_sha256",
    RSA_PSS_PSS_SHA384 = 0x080a => "rsa_pss_pss_sha384",
    RSA_PSS_PSS_SHA512 = 0x080b => "rsa_pss_pss_sha512",
}

wire_code! {
    /// An alert description (RFC 8446 section 6 and the older RFCs' values).
    AlertDescription(u8), 2;
    CLOSE_NOTIFY = 0 => "close_notify",
    UNEXPECTED_MESSAGE = 10 => "unexpected_message",
    BAD_RECORD_MAC = 20 => "bad_record_mac",
    DECRYPTION_FAILED = 21 => "decryption_failed",
    RECORD_OVERFLOW = 22 => "record_overflow",
    DECOMPRESSION_FAILURE = 30 => "decompression_failure",
    HANDSHAKE_FAILURE = 40 => "handshake_failure",
    NO_CERTIFICATE = 41 => "no_certificate",
    BAD_CERTIFICATE = 42 => "bad_certificate",
    UNSUPPORTED_CERTIFICATE = 43 => "unsupported_certificate",
    CERTIFICATE_REVOKED = 44 => "certificate_revoked",
    CERTIFICATE_EXPIRED = 45 => "certificate_expired",
    CERTIFICATE_UNKNOWN = 46 => "certificate_unknown",
    ILLEGAL_PARAMETER = 47 => "illegal_parameter",
    UNKNOWN_CA = 48 => "unknown_ca",
    ACCESS_DENIED = 49 => "access_denied",
    DECODE_ERROR = 50 => "decode_error",
    DECRYPT_ERROR = 51 => "decrypt_error",
    EXPORT_RESTRICTION = 60 => "export_restriction",
    PROTOCOL_VERSION = 70 => "protocol_version",
    INSUFFICIENT_SECURITY = 71 => "insufficient_security",
    INTERNAL_ERROR = 80 => "internal_error",
    INAPPROPRIATE_FALLBACK = 86 => "inappropriate_fallback",
    USER_CANCELED = 90 => "user_canceled",
    NO_RENEGOTIATION = 100 => "no_renegotiation",
    MISSING_EXTENSION = 109 => "missing_extension",
    UNSUPPORTED_EXTENSION = 110 => "unsupported_extension",
    CERTIFICATE_UNOBTAINABLE = 111 => "certificate_unobtainable",
    UNRECOGNIZED_NAME = 112 => "unrecognized_name",
    BAD_CERTIFICATE_STATUS_RESPONSE = 113 => "bad_certificate_status_response",
    BAD_CERTIFICATE_HASH_VALUE = 114 => "bad_certificate_hash_value",
    UNKNOWN_PSK_IDENTITY = 115 => "unknown_psk_identity",
    CERTIFICATE_REQUIRED = 116 => "certificate_required",
    NO_APPLICATION_PROTOCOL = 120 => "no_application_protocol",
}

wire_code! {
    /// A hello extension type. IANA TLS ExtensionType Values (those vantage
    /// sends or reads; others keep their number).
    ExtensionType(u16), 4;
    SERVER_NAME = 0 => "server_name",
    STATUS_REQUEST = 5 => "status_request",
    SUPPORTED_GROUPS = 10 => "supported_groups",
    EC_POINT_FORMATS = 11 => "ec_point_formats",
    SIGNATURE_ALGORITHMS = 13 => "signature_algorithms",
    HEARTBEAT = 15 => "heartbeat",
    ALPN = 16 => "application_layer_protocol_negotiation",
    SIGNED_CERTIFICATE_TIMESTAMP = 18 => "signed_certificate_timestamp",
    PADDING = 21 => "padding",
    ENCRYPT_THEN_MAC = 22 => "encrypt_then_mac",
    EXTENDED_MASTER_SECRET = 23 => "extended_master_secret",
    SESSION_TICKET = 35 => "session_ticket",
    PRE_SHARED_KEY = 41 => "pre_shared_key",
    EARLY_DATA = 42 => "early_data",
    SUPPORTED_VERSIONS = 43 => "supported_versions",
    COOKIE = 44 => "cookie",
    PSK_KEY_EXCHANGE_MODES = 45 => "psk_key_exchange_modes",
    KEY_SHARE = 51 => "key_share",
    RENEGOTIATION_INFO = 0xff01 => "renegotiation_info",
}

wire_code! {
    /// A handshake message type (RFC 8446 section 4 and RFC 5246 section 7.4).
    HandshakeType(u8), 2;
    HELLO_REQUEST = 0 => "hello_request",
    CLIENT_HELLO = 1 => "client_hello",
    SERVER_HELLO = 2 => "server_hello",
    NEW_SESSION_TICKET = 4 => "new_session_ticket",
    ENCRYPTED_EXTENSIONS = 8 => "encrypted_extensions",
    CERTIFICATE = 11 => "certificate",
    SERVER_KEY_EXCHANGE = 12 => "server_key_exchange",
    CERTIFICATE_REQUEST = 13 => "certificate_request",
    SERVER_HELLO_DONE = 14 => "server_hello_done",
    CERTIFICATE_VERIFY = 15 => "certificate_verify",
    CLIENT_KEY_EXCHANGE = 16 => "client_key_exchange",
    FINISHED = 20 => "finished",
    CERTIFICATE_STATUS = 22 => "certificate_status",
}

/// An alert's level byte: 1 warning, 2 fatal; other values kept as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AlertLevel(pub u8);

impl AlertLevel {
    /// `warning` (1).
    pub const WARNING: Self = Self(1);
    /// `fatal` (2).
    pub const FATAL: Self = Self(2);
}

impl fmt::Display for AlertLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("warning"),
            2 => f.write_str("fatal"),
            n => write!(f, "0x{n:02x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_print_by_name_and_unknown_ones_in_hex() {
        assert_eq!(ProtocolVersion::TLS12.to_string(), "TLSv1.2");
        assert_eq!(ProtocolVersion(0x7f1c).to_string(), "0x7f1c");
        assert_eq!(NamedGroup::X25519.to_string(), "x25519");
        assert_eq!(NamedGroup(0x0a0a).to_string(), "0x0a0a");
        assert_eq!(AlertDescription::HANDSHAKE_FAILURE.to_string(), "handshake_failure");
        assert_eq!(AlertDescription(255).to_string(), "0xff");
        assert_eq!(SignatureScheme::ED25519.name(), Some("ed25519"));
        assert_eq!(AlertLevel(9).to_string(), "0x09");
    }
}
