//! Making a banner (the first bytes an open TCP port sent) safe to store
//! and show. A banner is hostile input: it may hold terminal escapes, NULs,
//! invalid UTF-8 or bidirectional-text tricks, and may be endless.
//!
//! Invariant: the output is printable ASCII (`' '..='~'`) only, at most
//! [`MAX_BANNER_CHARS`] long, and the escaping is unambiguous (a backslash
//! is itself escaped), so the original bytes can be recovered from it.

/// How many bytes of a banner are kept; the rest is dropped, since a banner
/// is evidence, not content.
pub const MAX_BANNER_BYTES: usize = 256;

/// The longest banner text: every kept byte escaped as `\xNN`.
pub const MAX_BANNER_CHARS: usize = 4 * MAX_BANNER_BYTES;

/// The first [`MAX_BANNER_BYTES`] bytes of `bytes` as printable ASCII:
/// `\r`, `\n`, `\t` and `\\` are written as those two-character escapes,
/// any other byte outside `' '..='~'` as `\xNN` (lower-case hex), byte by
/// byte, so even valid non-ASCII UTF-8 is escaped. Never panics.
pub fn printable_banner(bytes: &[u8]) -> String {
    let kept = bytes.get(..MAX_BANNER_BYTES).unwrap_or(bytes);
    let mut out = String::with_capacity(kept.len());
    for &b in kept {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b' '..=b'~' => out.push(char::from(b)),
            _ => {
                out.push_str("\\x");
                out.push(char::from(super::observation::HEX[usize::from(b >> 4)]));
                out.push(char::from(super::observation::HEX[usize::from(b & 0xf)]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners_are_escaped() {
        let cases: &[(&[u8], &str)] = &[
            (b"", ""),
            (b"SSH-2.0-OpenSSH_9.6\r\n", "SSH-2.0-OpenSSH_9.6\\r\\n"),
            (b"220 mail ESMTP\r\n", "220 mail ESMTP\\r\\n"),
            (b"a\0b", "a\\x00b"),
            (b"tab\there", "tab\\there"),
            (b"C:\\path", "C:\\\\path"),
            (b"\\x41", "\\\\x41"),
            (b"\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
            (b"\x7f\x80\xff", "\\x7f\\x80\\xff"),
            // Valid UTF-8 is escaped byte by byte: the text stays ASCII.
            ("é".as_bytes(), "\\xc3\\xa9"),
            // A right-to-left override cannot reorder what a terminal shows.
            ("\u{202e}".as_bytes(), "\\xe2\\x80\\xae"),
            // Cut UTF-8 and junk.
            (b"\xe2\x80", "\\xe2\\x80"),
            (b"\xc0\xaf", "\\xc0\\xaf"),
        ];
        for (bytes, want) in cases {
            assert_eq!(printable_banner(bytes), *want, "{bytes:?}");
        }
    }

    #[test]
    fn long_banners_are_cut_to_the_first_bytes() {
        let long = vec![b'A'; 10_000];
        assert_eq!(printable_banner(&long), "A".repeat(MAX_BANNER_BYTES));
        let worst = vec![0xffu8; 10_000];
        let out = printable_banner(&worst);
        assert_eq!(out.len(), MAX_BANNER_CHARS);
        assert_eq!(out, "\\xff".repeat(MAX_BANNER_BYTES));
    }

    #[test]
    fn output_is_always_printable_ascii_within_bounds() {
        let every_byte: Vec<u8> = (0..=255u8).chain(0..=255).collect();
        for len in [0, 1, 255, 256, 257, every_byte.len()] {
            let out = printable_banner(&every_byte[..len]);
            assert!(out.len() <= MAX_BANNER_CHARS);
            assert!(out.chars().all(|c| (' '..='~').contains(&c)), "{out}");
        }
    }
}
