//! SSLv2-format ClientHellos (the 1995 Hickman draft, "The SSL Protocol"),
//! to learn whether a server still speaks SSLv2 and which cipher specs it
//! lists. The server's answer is read by `FlightReader`, which recognises
//! the SSLv2 record header.
//!
//! Invariant: the output is one SSLv2 record with a two-byte header, the
//! form every SSLv2 server accepts.

use super::suites::Ssl2CipherSpec;

/// `MSG-CLIENT-HELLO`.
const MSG_CLIENT_HELLO: u8 = 1;

/// The challenge: the draft allows 16 to 32 bytes; 16 is what clients sent.
const CHALLENGE: [u8; 16] = *b"vantage-sslv2-ch";

/// An SSLv2 CLIENT-HELLO record offering `specs` (all known ones when
/// empty), with no session id. At most 5 000 specs fit a record; more are
/// dropped.
pub fn client_hello(specs: &[Ssl2CipherSpec]) -> Vec<u8> {
    let all;
    let specs = if specs.is_empty() {
        all = Ssl2CipherSpec::all();
        &all[..]
    } else {
        specs.get(..5_000).unwrap_or(specs)
    };
    let mut msg = vec![MSG_CLIENT_HELLO, 0x00, 0x02];
    let specs_len = u16::try_from(specs.len() * 3).unwrap_or(u16::MAX);
    msg.extend_from_slice(&specs_len.to_be_bytes());
    msg.extend_from_slice(&0u16.to_be_bytes()); // session id length
    msg.extend_from_slice(&16u16.to_be_bytes()); // challenge length
    for s in specs {
        msg.extend_from_slice(&s.to_bytes());
    }
    msg.extend_from_slice(&CHALLENGE);
    // Two-byte header: high bit set, 15-bit length (at most 32 767).
    let len = u16::try_from(msg.len()).unwrap_or(0x7fff) & 0x7fff;
    let mut out = (len | 0x8000).to_be_bytes().to_vec();
    out.extend_from_slice(&msg);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sslv2_hello_offers_every_known_spec() {
        let h = client_hello(&[]);
        // 9 bytes of fixed fields, 8 specs of 3 bytes, 16 bytes of challenge.
        let body = 9 + 8 * 3 + 16;
        assert_eq!(h.len(), 2 + body);
        assert_eq!(h[..5], [0x80, body as u8, 1, 0, 2]);
        assert_eq!(h[5..7], [0, 24]);
        assert_eq!(h[11..14], [1, 0, 0x80]);
    }
}
