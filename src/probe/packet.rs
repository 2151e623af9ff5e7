//! The bytes of a SYN scan, without I/O: building SYN and RST segments
//! (with pnet_packet, which also computes the checksums), and reading what
//! comes back on the raw sockets: TCP segments and ICMP/ICMPv6
//! destination-unreachable errors quoting one of our SYNs.
//!
//! Everything read here was sent by a peer (or forged by anyone on the
//! path), so the reader is a bounded cursor: every read is checked, no
//! index into peer bytes, a length field only ever narrows what is read,
//! and nothing panics (fuzzed through `fuzzing::raw_reply`). pnet_packet is
//! used only to *write*: its readers trust header-length fields more than
//! a scanner can afford to.
//!
//! Stateless validation (masscan's "SYN cookies"): a SYN's sequence number
//! is a keyed hash of (target address, target port, our source port), so a
//! SYN-ACK or RST must acknowledge `cookie + 1` and an ICMP error must quote
//! `cookie`; anything else is stray traffic or a forgery and is dropped
//! without any state having been kept for it.

use std::hash::BuildHasher as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pnet_packet::tcp::{MutableTcpPacket, TcpFlags, TcpOption, ipv4_checksum, ipv6_checksum};

/// TCP header flags we look at.
pub mod flags {
    /// Synchronize.
    pub const SYN: u8 = 0x02;
    /// Reset.
    pub const RST: u8 = 0x04;
    /// Acknowledgement.
    pub const ACK: u8 = 0x10;
}

/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;

/// Bytes of the SYN we send: a 20-byte header and a 4-byte MSS option, as
/// an ordinary stack sends (some filters drop option-less SYNs).
pub const SYN_LEN: usize = 24;

/// Bytes of the RST we send.
pub const RST_LEN: usize = 20;

/// The per-scan secret of the SYN cookies: a SipHash key drawn at random
/// when the scan starts, never written anywhere.
#[derive(Debug, Clone, Default)]
pub struct Secret(std::collections::hash_map::RandomState);

impl Secret {
    /// A fresh random key.
    pub fn new() -> Self {
        Self::default()
    }

    /// The sequence number of our SYN from `sport` to `target:dport`.
    pub fn cookie(&self, target: IpAddr, dport: u16, sport: u16) -> u32 {
        let h = self.0.hash_one((target, dport, sport));
        // The low 32 bits of a keyed 64-bit hash.
        (h & 0xffff_ffff) as u32
    }
}

/// A SYN from `src:sport` to `dst:dport` with sequence number `seq`.
///
/// The two addresses must be of one family (the caller asks the kernel
/// which source it routes from); a mixed pair yields `None`.
pub fn syn(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, seq: u32) -> Option<[u8; SYN_LEN]> {
    let mut buf = [0u8; SYN_LEN];
    let mut p = MutableTcpPacket::new(&mut buf)?;
    p.set_source(sport);
    p.set_destination(dport);
    p.set_sequence(seq);
    p.set_acknowledgement(0);
    p.set_data_offset((SYN_LEN / 4) as u8);
    p.set_flags(TcpFlags::SYN);
    // nmap's window; any ordinary value would do.
    p.set_window(1024);
    p.set_options(&[TcpOption::mss(1460)]);
    checksum(&mut p, src, dst)?;
    Some(buf)
}

/// A RST (without ACK) that tears down the half-open connection a SYN-ACK
/// created: its sequence number is the one the SYN-ACK acknowledged.
pub fn rst(src: IpAddr, sport: u16, dst: IpAddr, dport: u16, seq: u32) -> Option<[u8; RST_LEN]> {
    let mut buf = [0u8; RST_LEN];
    let mut p = MutableTcpPacket::new(&mut buf)?;
    p.set_source(sport);
    p.set_destination(dport);
    p.set_sequence(seq);
    p.set_data_offset((RST_LEN / 4) as u8);
    p.set_flags(TcpFlags::RST);
    checksum(&mut p, src, dst)?;
    Some(buf)
}

fn checksum(p: &mut MutableTcpPacket<'_>, src: IpAddr, dst: IpAddr) -> Option<()> {
    let sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ipv4_checksum(&p.to_immutable(), &s, &d),
        (IpAddr::V6(s), IpAddr::V6(d)) => ipv6_checksum(&p.to_immutable(), &s, &d),
        _ => return None,
    };
    p.set_checksum(sum);
    Some(())
}

/// A TCP segment that came back: the target's answer to a SYN, if its
/// ports and acknowledgement say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpReply {
    /// Who sent it (the probed target, if it is an answer).
    pub from: IpAddr,
    /// Its source port (the probed port).
    pub sport: u16,
    /// Its destination port (one of our source ports).
    pub dport: u16,
    /// Its sequence number.
    pub seq: u32,
    /// Its acknowledgement number.
    pub ack: u32,
    /// Its flags.
    pub flags: u8,
}

impl TcpReply {
    /// SYN and ACK set, RST not: the port is open.
    pub fn is_syn_ack(&self) -> bool {
        self.flags & (flags::SYN | flags::ACK | flags::RST) == flags::SYN | flags::ACK
    }

    /// RST set: the port is closed.
    pub fn is_rst(&self) -> bool {
        self.flags & flags::RST != 0
    }
}

/// An ICMP (type 3) or ICMPv6 (type 1) destination-unreachable error that
/// quotes a TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpError {
    /// Who sent the error (the target, or a router on the way).
    pub from: IpAddr,
    /// ICMP type as sent (3 for ICMPv4, 1 for ICMPv6).
    pub icmp_type: u8,
    /// ICMP code as sent (13: administratively prohibited, in ICMPv4).
    pub code: u8,
    /// The quoted segment's destination address (the probed target).
    pub target: IpAddr,
    /// The quoted segment's source port (one of ours).
    pub sport: u16,
    /// The quoted segment's destination port (the probed port).
    pub dport: u16,
    /// The quoted segment's sequence number (our cookie, if it is ours).
    pub seq: u32,
}

/// Why bytes from a raw socket were not a reply we can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// Fewer bytes than a header needs.
    #[error("truncated: {what} needs {need} bytes, {have} left")]
    Truncated {
        /// The field or header being read.
        what: &'static str,
        /// Bytes it needs.
        need: usize,
        /// Bytes there were.
        have: usize,
    },
    /// An IPv4 header whose version or header length is impossible.
    #[error("malformed IPv4 header (version {version}, header length {ihl} words)")]
    BadIpv4 {
        /// The version nibble.
        version: u8,
        /// The header-length nibble.
        ihl: u8,
    },
    /// A TCP header whose data offset is below its minimum.
    #[error("malformed TCP header (data offset {0} words)")]
    BadTcp(u8),
    /// Another protocol than the socket's (or than TCP, quoted in ICMP).
    #[error("protocol {0} where TCP was expected")]
    NotTcp(u8),
}

/// A bounded reader over peer bytes: every read checks what is left.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], PacketError> {
        if self.rest.len() < n {
            return Err(PacketError::Truncated { what, need: n, have: self.rest.len() });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], PacketError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, PacketError> {
        Ok(u8::from_be_bytes(self.array(what)?))
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, PacketError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, PacketError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
}

/// An IPv4 header's fields we use, and the cursor left at its payload.
struct Ipv4Head {
    protocol: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
}

fn ipv4_header<'a>(c: &mut Cursor<'a>) -> Result<(Ipv4Head, Cursor<'a>), PacketError> {
    let first = c.u8("IPv4 version and header length")?;
    let (version, ihl) = (first >> 4, first & 0x0f);
    if version != 4 || ihl < 5 {
        return Err(PacketError::BadIpv4 { version, ihl });
    }
    // tos, total length, id, flags+fragment, ttl
    c.take(8, "IPv4 header")?;
    let protocol = c.u8("IPv4 protocol")?;
    c.take(2, "IPv4 checksum")?;
    let src = Ipv4Addr::from(c.array::<4>("IPv4 source")?);
    let dst = Ipv4Addr::from(c.array::<4>("IPv4 destination")?);
    // Options: whatever the header length says beyond 20 bytes.
    c.take(usize::from(ihl) * 4 - 20, "IPv4 options")?;
    // The payload is what follows the header; a raw socket hands us one
    // datagram, so the rest of the buffer is it (the total-length field is
    // the sender's claim and is not trusted to widen anything).
    Ok((Ipv4Head { protocol, src, dst }, Cursor::new(c.rest)))
}

fn tcp_reply(from: IpAddr, c: &mut Cursor<'_>) -> Result<TcpReply, PacketError> {
    let sport = c.u16("TCP source port")?;
    let dport = c.u16("TCP destination port")?;
    let seq = c.u32("TCP sequence number")?;
    let ack = c.u32("TCP acknowledgement number")?;
    let offset = c.u8("TCP data offset")? >> 4;
    if offset < 5 {
        return Err(PacketError::BadTcp(offset));
    }
    let flags = c.u8("TCP flags")?;
    // window, checksum, urgent pointer: present, not needed.
    c.take(6, "TCP header")?;
    Ok(TcpReply { from, sport, dport, seq, ack, flags })
}

/// The quoted header of one of our SYNs inside an ICMP error: source and
/// destination ports and the sequence number (the 8 bytes every ICMP error
/// must quote).
fn quoted_tcp(c: &mut Cursor<'_>) -> Result<(u16, u16, u32), PacketError> {
    let sport = c.u16("quoted TCP source port")?;
    let dport = c.u16("quoted TCP destination port")?;
    let seq = c.u32("quoted TCP sequence number")?;
    Ok((sport, dport, seq))
}

/// Reads a datagram from an IPv4 raw TCP socket (the IP header included).
pub fn v4_tcp(bytes: &[u8]) -> Result<TcpReply, PacketError> {
    let mut c = Cursor::new(bytes);
    let (ip, mut payload) = ipv4_header(&mut c)?;
    if ip.protocol != IPPROTO_TCP {
        return Err(PacketError::NotTcp(ip.protocol));
    }
    tcp_reply(IpAddr::V4(ip.src), &mut payload)
}

/// Reads a segment from an IPv6 raw TCP socket (the kernel strips the IPv6
/// header; `from` is the address `recvfrom` reported).
pub fn v6_tcp(from: Ipv6Addr, bytes: &[u8]) -> Result<TcpReply, PacketError> {
    tcp_reply(IpAddr::V6(from), &mut Cursor::new(bytes))
}

/// Reads a datagram from an IPv4 raw ICMP socket: `Ok(None)` for ICMP
/// that is not a destination-unreachable quoting TCP (echo replies, time
/// exceeded, our own traffic...).
pub fn v4_icmp(bytes: &[u8]) -> Result<Option<IcmpError>, PacketError> {
    let mut c = Cursor::new(bytes);
    let (ip, mut icmp) = ipv4_header(&mut c)?;
    let icmp_type = icmp.u8("ICMP type")?;
    let code = icmp.u8("ICMP code")?;
    // checksum, then 4 unused (or next-hop MTU) bytes
    icmp.take(6, "ICMP header")?;
    if icmp_type != 3 {
        return Ok(None);
    }
    let (quoted, mut segment) = ipv4_header(&mut icmp)?;
    if quoted.protocol != IPPROTO_TCP {
        return Ok(None);
    }
    let (sport, dport, seq) = quoted_tcp(&mut segment)?;
    Ok(Some(IcmpError {
        from: IpAddr::V4(ip.src),
        icmp_type,
        code,
        target: IpAddr::V4(quoted.dst),
        sport,
        dport,
        seq,
    }))
}

/// Reads a message from an IPv6 raw ICMPv6 socket (no IPv6 header): like
/// [`v4_icmp`] for type 1, destination unreachable. A quoted packet with
/// extension headers before TCP is not read (we send none).
pub fn v6_icmp(from: Ipv6Addr, bytes: &[u8]) -> Result<Option<IcmpError>, PacketError> {
    let mut c = Cursor::new(bytes);
    let icmp_type = c.u8("ICMPv6 type")?;
    let code = c.u8("ICMPv6 code")?;
    c.take(6, "ICMPv6 header")?;
    if icmp_type != 1 {
        return Ok(None);
    }
    // The quoted IPv6 header: version/class/flow (4), payload length (2),
    // next header (1), hop limit (1), source (16), destination (16).
    let first = c.u8("quoted IPv6 version")?;
    if first >> 4 != 6 {
        return Ok(None);
    }
    c.take(5, "quoted IPv6 header")?;
    let next = c.u8("quoted IPv6 next header")?;
    c.take(1 + 16, "quoted IPv6 header")?;
    let target = Ipv6Addr::from(c.array::<16>("quoted IPv6 destination")?);
    if next != IPPROTO_TCP {
        return Ok(None);
    }
    let (sport, dport, seq) = quoted_tcp(&mut c)?;
    Ok(Some(IcmpError {
        from: IpAddr::V6(from),
        icmp_type,
        code,
        target: IpAddr::V6(target),
        sport,
        dport,
        seq,
    }))
}

#[cfg(test)]
mod tests;
