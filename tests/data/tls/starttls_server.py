#!/usr/bin/env python3
"""A STARTTLS server for vantage's tests (tests/it/starttls.rs).

    starttls_server.py PROTOCOL --cert CHAIN.pem --key KEY.pem [--refuse] [--tls13-only]

PROTOCOL is smtp, imap, pop3 or postgres. The server listens on an
ephemeral port of 127.0.0.1 only, prints that port on the first line of
its standard output, and then serves every connection in a thread of its
own until it is killed: the protocol's plaintext preamble (an SMTP server
with a multi-line greeting and EHLO reply; IMAP's `* OK` and tagged
reply; POP3's STLS; PostgreSQL's SSLRequest answered `S`), then TLS on
the same socket with Python's `ssl` module, offering TLS 1.2 and 1.3
(1.3 only with --tls13-only). With --refuse it does not offer STARTTLS:
the EHLO reply does not list it (and a STARTTLS command gets 454), IMAP
answers `a001 BAD`, POP3 `-ERR`, PostgreSQL `N`.

Every connection has a 10-second timeout, so a prober that goes away
leaves nothing behind; the process holds no state between connections.
Standard library only.
"""

import argparse
import socket
import ssl
import threading

SSL_REQUEST = bytes([0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F])


def read_line(conn, limit=4096):
    """One line from the client, byte by byte (so nothing after it, such
    as a ClientHello, is read into a buffer the TLS layer cannot see)."""
    line = b""
    while len(line) < limit:
        b = conn.recv(1)
        if not b:
            break
        line += b
        if b == b"\n":
            break
    return line


def read_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def preamble(conn, protocol, refuse):
    """Speaks the plaintext part; True when TLS is to start."""
    if protocol == "smtp":
        conn.sendall(b"220-localhost ESMTP vantage test server\r\n220 no UCE\r\n")
        if not read_line(conn).upper().startswith(b"EHLO"):
            return False
        offer = b"250-8BITMIME\r\n250 SMTPUTF8\r\n" if refuse else b"250-STARTTLS\r\n250 8BITMIME\r\n"
        conn.sendall(b"250-localhost greets you\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n" + offer)
        if read_line(conn).strip().upper() != b"STARTTLS":
            return False
        if refuse:
            conn.sendall(b"454 4.7.0 TLS not available\r\n")
            return False
        conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
        return True
    if protocol == "imap":
        conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] vantage test server\r\n")
        line = read_line(conn)
        tag = line.split(b" ", 1)[0] or b"*"
        if refuse or b"STARTTLS" not in line.upper():
            conn.sendall(tag + b" BAD STARTTLS not available\r\n")
            return False
        conn.sendall(tag + b" OK Begin TLS negotiation now\r\n")
        return True
    if protocol == "pop3":
        conn.sendall(b"+OK vantage test server ready\r\n")
        if refuse or read_line(conn).strip().upper() != b"STLS":
            conn.sendall(b"-ERR unknown command\r\n")
            return False
        conn.sendall(b"+OK Begin TLS negotiation\r\n")
        return True
    if protocol == "postgres":
        if read_exactly(conn, 8) != SSL_REQUEST:
            return False
        conn.sendall(b"N" if refuse else b"S")
        return not refuse
    return False


def serve(conn, protocol, refuse, context):
    try:
        conn.settimeout(10)
        if not preamble(conn, protocol, refuse):
            return
        with context.wrap_socket(conn, server_side=True) as tls:
            # Wait for the client to go (or the timeout).
            tls.recv(1024)
    except (OSError, ssl.SSLError):
        # Hellos the server refuses end here: that is the point of them.
        pass
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("protocol", choices=["smtp", "imap", "pop3", "postgres"])
    parser.add_argument("--cert", required=True, help="the certificate chain, leaf first (PEM)")
    parser.add_argument("--key", required=True, help="the leaf's key (PEM)")
    parser.add_argument("--refuse", action="store_true", help="do not offer STARTTLS")
    parser.add_argument("--tls13-only", action="store_true", help="TLS 1.3 only")
    args = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    context.minimum_version = ssl.TLSVersion.TLSv1_3 if args.tls13_only else ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_3

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(
            target=serve, args=(conn, args.protocol, args.refuse, context), daemon=True
        ).start()


if __name__ == "__main__":
    main()
