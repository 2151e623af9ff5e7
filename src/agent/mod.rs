//! Remote vantages: `vantage agent` at a vantage point, and the controller
//! side `vantage check` uses to drive it, over mutually authenticated TLS.
//!
//! - `proto`: the two messages (a plan request, a reply) and their bounds;
//!   after an accepted reply the agent streams the observation file itself.
//! - `tls`: TLS 1.3 configurations pinned to a private CA on each side.
//! - `scope`: the agent's local scope file, which no controller can widen.
//! - `server`: the agent: refuses peers without a certificate from its CA
//!   in the handshake, then checks each plan (spec digest, vantage, scope,
//!   rate ceilings) before it sends a packet, runs one plan at a time with
//!   the same scan as `vantage scan`, and stops it when the controller goes.
//! - `client`: the controller's side of one remote vantage: sends the plan,
//!   writes the streamed lines to a local observation file as they arrive.
//!
//! Where inbound connections to a segment are blocked, the agent dials
//! out instead (`server::dial`, `vantage agent --dial`) and the controller
//! meets it (`client::Rendezvous`, `check --agent-listen`). Only who opens
//! the TCP connection changes: the agent announces its vantage in one
//! plaintext line ([`hello`]), then the same handshake follows with the
//! same roles (the controller the TLS client, checking the agent's
//! certificate against its `agent:` URL's host; the agent the TLS server,
//! requiring the controller's client certificate), so a dialling peer
//! that lies about its vantage fails the handshake.
//!
//! Invariant: an agent never probes an address outside its own scope file:
//! a plan whose scope (every probe-able zone of the spec) is not inside it
//! is refused before the scan starts, whatever the controller asked.

pub mod client;
pub mod proto;
pub mod scope;
pub mod server;
pub mod tls;

use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};

/// How long a peer has for the TLS handshake, and for sending its request.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The start of a dialling agent's one plaintext line, before TLS.
const HELLO: &str = "vantage-agent-dial 1 ";

/// The longest hello line (a vantage name is far shorter).
pub const MAX_HELLO_BYTES: usize = 256;

/// The line a dialling agent sends first: which vantage it is.
pub fn hello(vantage: &str) -> Vec<u8> {
    format!("{HELLO}{vantage}\n").into_bytes()
}

/// The vantage a hello line (without its newline) names, if it is one.
pub fn parse_hello(line: &[u8]) -> Option<&str> {
    let name = std::str::from_utf8(line).ok()?.strip_prefix(HELLO)?;
    let ok = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then_some(name)
}

/// Reads one line (without its newline) of at most `limit` bytes; `None`
/// at a clean end of stream before any byte. A longer line is an error,
/// found without buffering more than `limit` bytes of it; so is a stream
/// that ends in the middle of a line.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    limit: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::{Error, ErrorKind};
    let mut line = Vec::new();
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return if line.is_empty() {
                Ok(None)
            } else {
                Err(Error::new(ErrorKind::UnexpectedEof, "the stream ended inside a line"))
            };
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > limit + 1 {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("a line longer than {limit} bytes"),
            ));
        }
        line.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if done {
            line.pop();
            return Ok(Some(line));
        }
    }
}

/// TCP keepalive on a connection that may stay quiet for minutes while a
/// scan finds nothing worth a line: a peer that vanished (powered off,
/// cut off) is noticed within about a minute instead of never.
pub fn keepalive(stream: &tokio::net::TcpStream) {
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(30))
        .with_interval(Duration::from_secs(10))
        .with_retries(3);
    // Best effort: without keepalive a dead peer is still noticed at the
    // next write.
    let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&ka);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_lines_name_a_vantage_or_nothing() {
        let line = hello("app-runner");
        assert_eq!(line.last(), Some(&b'\n'));
        assert_eq!(parse_hello(&line[..line.len() - 1]), Some("app-runner"));
        for bad in [
            &b"vantage-agent-dial 1 "[..],
            b"vantage-agent-dial 2 app",
            b"vantage-agent-dial 1 app runner",
            b"vantage-agent-dial 1 app\r",
            b"\x16\x03\x01\x02\x00",
            b"vantage-agent-dial 1 \xff",
        ] {
            assert_eq!(parse_hello(bad), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn lines_are_bounded_and_cut_lines_are_errors() {
        let mut r: &[u8] = b"one\ntwo\n";
        assert_eq!(read_line(&mut r, 8).await.expect("ok"), Some(b"one".to_vec()));
        assert_eq!(read_line(&mut r, 8).await.expect("ok"), Some(b"two".to_vec()));
        assert_eq!(read_line(&mut r, 8).await.expect("ok"), None);
        let mut r: &[u8] = b"12345678\n";
        assert_eq!(read_line(&mut r, 8).await.expect("ok"), Some(b"12345678".to_vec()));
        let mut r: &[u8] = b"123456789\n";
        assert!(read_line(&mut r, 8).await.is_err());
        let mut r: &[u8] = b"cut";
        assert_eq!(
            read_line(&mut r, 8).await.expect_err("refused").kind(),
            std::io::ErrorKind::UnexpectedEof
        );
        // A line arriving a byte at a time is read whole.
        let mut r = tokio::io::BufReader::with_capacity(1, &b"drip\n"[..]);
        assert_eq!(read_line(&mut r, 8).await.expect("ok"), Some(b"drip".to_vec()));
    }
}
