//! DNS over TCP frames each message with its length as a big-endian
//! `u16` (RFC 1035 4.2.2, RFC 7766). [`Frames`] cuts a byte stream that
//! arrives in pieces of any size back into messages.
//!
//! Invariant: at most one partial frame (under 64 KiB plus the piece
//! being pushed) is held, however long the stream.

use super::DnsError;

/// Prefixes `message` with its length. `Err` when it does not fit in a
/// frame (over 65,535 bytes), which no query we build reaches.
pub fn frame(message: &[u8]) -> Result<Vec<u8>, DnsError> {
    let len = u16::try_from(message.len())
        .map_err(|_| DnsError::Encode(format!("{} bytes do not fit a frame", message.len())))?;
    let mut out = Vec::with_capacity(message.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    Ok(out)
}

/// A TCP byte stream cut into DNS messages.
#[derive(Debug, Default)]
pub struct Frames {
    buf: Vec<u8>,
}

impl Frames {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes as they came off the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole message, if one has arrived.
    pub fn next_frame(&mut self) -> Option<Vec<u8>> {
        let (len, rest) = self.buf.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        let message = rest.get(..len)?.to_vec();
        self.buf.drain(..len + 2);
        Some(message)
    }

    /// Bytes held of a frame not yet whole (what a closed connection cut
    /// off).
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_out_whatever_the_cut() {
        let mut stream = frame(b"abc").expect("fits");
        stream.extend(frame(b"").expect("fits"));
        stream.extend(frame(&[7; 300]).expect("fits"));
        for cut in [1, 2, 3, 5, 64, 1000] {
            let mut f = Frames::new();
            let mut out = Vec::new();
            for piece in stream.chunks(cut) {
                f.push(piece);
                while let Some(m) = f.next_frame() {
                    out.push(m);
                }
            }
            assert_eq!(out, vec![b"abc".to_vec(), Vec::new(), vec![7; 300]], "cut {cut}");
            assert_eq!(f.pending(), 0);
        }
    }

    #[test]
    fn a_cut_frame_stays_pending() {
        let mut f = Frames::new();
        f.push(&[0, 10, 1, 2, 3]);
        assert_eq!(f.next_frame(), None);
        assert_eq!(f.pending(), 5);
        f.push(&[0]);
        assert_eq!(f.next_frame(), None);
        assert!(frame(&vec![0; 70_000]).is_err());
    }
}
