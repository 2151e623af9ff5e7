//! A bounded cursor over bytes a peer sent (the idea of rustls's
//! `msgs/codec.rs` `Reader`, written afresh): every read either returns the
//! bytes it promised or an `Err` naming the structure, the offset and what
//! was expected. Length-prefixed fields become sub-readers limited to their
//! own bytes, so a length that lies can never read into its neighbour.
//!
//! Invariant: nothing here indexes into the buffer or panics; all access goes
//! through `slice::get`.

use super::WireError;

/// A cursor over one structure (`what`) from the peer.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
    /// Where `buf` starts inside the structure named by `what`, so offsets
    /// in errors from sub-readers count from the structure's start.
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over the whole of `buf`, which holds one `what`.
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, pos: 0, what, base: 0 }
    }

    /// The offset of the next byte from the start of the structure.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn malformed(&self, expected: &'static str) -> WireError {
        WireError::Malformed { what: self.what, offset: self.offset(), expected }
    }

    /// The next `n` bytes, or an error saying `expected` was cut short.
    pub(crate) fn take(&mut self, n: usize, expected: &'static str) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.malformed(expected))?;
        let out = self.buf.get(self.pos..end).ok_or_else(|| self.malformed(expected))?;
        self.pos = end;
        Ok(out)
    }

    /// Everything not yet read.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        out
    }

    fn array<const N: usize>(&mut self, expected: &'static str) -> Result<[u8; N], WireError> {
        let at = self.offset();
        let bytes = self.take(N, expected)?;
        <[u8; N]>::try_from(bytes).map_err(|_| WireError::Malformed {
            what: self.what,
            offset: at,
            expected,
        })
    }

    pub(crate) fn u8(&mut self, expected: &'static str) -> Result<u8, WireError> {
        let [b] = self.array::<1>(expected)?;
        Ok(b)
    }

    pub(crate) fn u16(&mut self, expected: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array::<2>(expected)?))
    }

    pub(crate) fn u24(&mut self, expected: &'static str) -> Result<usize, WireError> {
        let [a, b, c] = self.array::<3>(expected)?;
        Ok(usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c))
    }

    /// A fixed-size array, such as a 32-byte random.
    pub(crate) fn fixed<const N: usize>(
        &mut self,
        expected: &'static str,
    ) -> Result<[u8; N], WireError> {
        self.array::<N>(expected)
    }

    fn sub(&mut self, len: usize, expected: &'static str) -> Result<Self, WireError> {
        let base = self.offset();
        let buf = self.take(len, expected)?;
        Ok(Self { buf, pos: 0, what: self.what, base })
    }

    /// A sub-reader over a field with a one-byte length prefix.
    pub(crate) fn sub_u8(&mut self, expected: &'static str) -> Result<Self, WireError> {
        let len = self.u8(expected)?;
        self.sub(usize::from(len), expected)
    }

    /// A sub-reader over a field with a two-byte length prefix.
    pub(crate) fn sub_u16(&mut self, expected: &'static str) -> Result<Self, WireError> {
        let len = self.u16(expected)?;
        self.sub(usize::from(len), expected)
    }

    /// A sub-reader over a field with a three-byte length prefix.
    pub(crate) fn sub_u24(&mut self, expected: &'static str) -> Result<Self, WireError> {
        let len = self.u24(expected)?;
        self.sub(len, expected)
    }

    /// Fails unless every byte was read: trailing bytes are malformed.
    pub(crate) fn expect_end(&self, expected: &'static str) -> Result<(), WireError> {
        if self.is_empty() { Ok(()) } else { Err(self.malformed(expected)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_that_lies_stays_inside_its_field() {
        // A u8-prefixed field claiming 5 bytes inside a 3-byte buffer.
        let mut r = Reader::new(&[5, 1, 2], "test");
        let e = r.sub_u8("five bytes").expect_err("too short");
        assert!(matches!(e, WireError::Malformed { offset: 1, .. }), "{e:?}");
        // A sub-reader cannot read past its own end.
        let mut r = Reader::new(&[1, 7, 8, 9], "test");
        let mut sub = r.sub_u8("one byte").expect("fits");
        assert_eq!(sub.u8("x").expect("one"), 7);
        let e = sub.u8("more").expect_err("past the field");
        assert!(matches!(e, WireError::Malformed { offset: 2, .. }), "{e:?}");
        assert_eq!(r.u16("rest").expect("two"), 0x0809);
        assert!(r.expect_end("end").is_ok());
    }

    #[test]
    fn u24_and_trailing_bytes() {
        let mut r = Reader::new(&[0, 1, 2, 3], "test");
        assert_eq!(r.u24("len").expect("three"), 0x0102);
        assert!(r.expect_end("end").is_err());
        assert_eq!(r.take(usize::MAX, "huge").map(<[u8]>::len).ok(), None);
    }
}
