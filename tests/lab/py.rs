//! The small Python programs the lab runs inside namespaces (servers and
//! probes), and the parsing of what the probes print.
//!
//! Python is used because every lab machine has `python3` and a one-file
//! script per job keeps the servers visible in one place; none needs a
//! package. Invariants: a server prints exactly `ready` once its socket is
//! bound, and never writes to stdout or stderr after that (the lab stops
//! reading the pipes); a probe prints exactly one line.

use std::time::Duration;

/// TCP echo server on `0.0.0.0:PORT`, one thread per connection.
pub(super) const TCP_ECHO: &str = r#"
import socket, sys, threading
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(128)
print("ready", flush=True)
def serve(c):
    try:
        with c:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                c.sendall(data)
    except OSError:
        pass
while True:
    try:
        c, _ = s.accept()
    except OSError:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

/// UDP echo server on `0.0.0.0:PORT`: every datagram goes back to its sender.
pub(super) const UDP_ECHO: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
while True:
    try:
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)
    except OSError:
        pass
"#;

/// One TCP connect to ADDR PORT with a TIMEOUT in seconds. Prints
/// `connected|refused|timeout|error MS [ERRNO]`.
pub(super) const TCP_CONNECT: &str = r#"
import errno, socket, sys, time
addr, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(timeout)
start = time.monotonic()
detail = ""
try:
    s.connect((addr, port))
    kind = "connected"
except (socket.timeout, TimeoutError):
    kind = "timeout"
except ConnectionRefusedError:
    kind = "refused"
except OSError as e:
    kind, detail = "error", errno.errorcode.get(e.errno, str(e.errno))
ms = (time.monotonic() - start) * 1000
print(kind, f"{ms:.3f}", detail)
"#;

/// Send LEN bytes to a TCP echo server at ADDR PORT on
/// one thread while reading the echo on another (so neither side's buffers
/// fill up and stall), then compare. Prints `ECHOED intact|corrupt`.
pub(super) const TCP_ECHO_CLIENT: &str = r#"
import hashlib, socket, sys, threading
addr, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
block = bytes(range(256)) * 256
data = (block * (size // len(block) + 1))[:size]
s = socket.create_connection((addr, port), timeout=30)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
sender = threading.Thread(target=send)
sender.start()
got, digest = 0, hashlib.sha256()
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += len(chunk)
    digest.update(chunk)
sender.join()
intact = got == size and digest.digest() == hashlib.sha256(data).digest()
print(got, "intact" if intact else "corrupt")
"#;

/// Send COUNT numbered datagrams to ADDR PORT, GAP_MS apart, then collect
/// echoes for WAIT_MS. Prints `SENT ECHOED` (distinct datagrams echoed).
pub(super) const UDP_BURST: &str = r#"
import select, socket, sys, time
addr, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
gap, wait = float(sys.argv[4]) / 1000, float(sys.argv[5]) / 1000
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((addr, port))
s.setblocking(False)
seen = set()
def drain():
    while True:
        try:
            seen.add(s.recv(65535))
        except BlockingIOError:
            return
        except ConnectionRefusedError:
            continue
sent = 0
for i in range(count):
    try:
        s.send(b"lab-%08d" % i)
        sent += 1
    except OSError:
        pass
    drain()
    time.sleep(gap)
deadline = time.monotonic() + wait
while (left := deadline - time.monotonic()) > 0:
    select.select([s], [], [], left)
    drain()
print(sent, len(seen))
"#;

/// What one TCP connect attempt saw.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TcpOutcome {
    /// The handshake completed after this long.
    Connected(Duration),
    /// Another error (errno name), e.g. `EHOSTUNREACH`.
    Failed(String),
    /// A RST came back after this long.
    Refused(Duration),
    /// Nothing came back within the timeout.
    TimedOut,
}

/// Parse [`TCP_CONNECT`]'s line.
pub(super) fn parse_connect(line: &str) -> Option<TcpOutcome> {
    let mut words = line.split_whitespace();
    let kind = words.next()?;
    let ms: f64 = words.next()?.parse().ok()?;
    let after = Duration::from_secs_f64(ms / 1000.0);
    Some(match kind {
        "connected" => TcpOutcome::Connected(after),
        "refused" => TcpOutcome::Refused(after),
        "timeout" => TcpOutcome::TimedOut,
        "error" => TcpOutcome::Failed(words.next().unwrap_or("unknown").to_owned()),
        _ => return None,
    })
}

/// What a TCP echo exchange saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TcpEcho {
    /// Bytes that came back.
    pub(crate) echoed: usize,
    /// Whether they were exactly the bytes sent.
    pub(crate) intact: bool,
}

/// Parse [`TCP_ECHO_CLIENT`]'s line.
pub(super) fn parse_echo(line: &str) -> Option<TcpEcho> {
    let (echoed, verdict) = line.trim().split_once(' ')?;
    let intact = match verdict {
        "intact" => true,
        "corrupt" => false,
        _ => return None,
    };
    Some(TcpEcho { echoed: echoed.parse().ok()?, intact })
}

/// What a UDP burst saw: datagrams sent, and distinct ones echoed back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UdpBurst {
    /// Datagrams the socket accepted.
    pub(crate) sent: u32,
    /// Distinct datagrams that came back.
    pub(crate) echoed: u32,
}

/// Parse [`UDP_BURST`]'s line.
pub(super) fn parse_burst(line: &str) -> Option<UdpBurst> {
    let (sent, echoed) = line.trim().split_once(' ')?;
    Some(UdpBurst { sent: sent.parse().ok()?, echoed: echoed.parse().ok()? })
}
