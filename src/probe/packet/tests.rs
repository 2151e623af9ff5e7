//! Building and reading SYN-scan packets, hostile input included.

use super::*;

const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 10);

/// An IPv4 header (no options) carrying `payload` with `protocol`.
fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).expect("small");
    let mut v = vec![0x45, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0x40, 0, 64, protocol, 0, 0]);
    v.extend_from_slice(&src.octets());
    v.extend_from_slice(&dst.octets());
    v.extend_from_slice(payload);
    v
}

/// A TCP header from `sport` to `dport` with `seq`, `ack`, `flags`.
fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ack.to_be_bytes());
    v.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    v
}

/// An ICMPv4 destination unreachable (code `code`) quoting `quoted`.
fn icmp_unreachable(code: u8, quoted: &[u8]) -> Vec<u8> {
    let mut v = vec![3, code, 0, 0, 0, 0, 0, 0];
    v.extend_from_slice(quoted);
    v
}

#[test]
fn syn_is_well_formed_and_checksummed() {
    let seq = 0xdead_beef;
    let bytes = syn(IpAddr::V4(SRC), 61_000, IpAddr::V4(DST), 443, seq).expect("syn");
    let p = pnet_packet::tcp::TcpPacket::new(&bytes).expect("tcp");
    assert_eq!((p.get_source(), p.get_destination(), p.get_sequence()), (61_000, 443, seq));
    assert_eq!(p.get_flags(), TcpFlags::SYN);
    assert_eq!(usize::from(p.get_data_offset()) * 4, SYN_LEN);
    assert_eq!(p.get_checksum(), ipv4_checksum(&p, &SRC, &DST), "checksum verifies");
    // Our own reader reads what we wrote.
    let back = v4_tcp(&ipv4(SRC, DST, IPPROTO_TCP, &bytes)).expect("reads");
    assert_eq!((back.sport, back.dport, back.seq), (61_000, 443, seq));
    assert!(!back.is_syn_ack() && !back.is_rst());
}

#[test]
fn ipv6_syn_and_rst_use_the_ipv6_pseudo_header() {
    let (s, d): (Ipv6Addr, Ipv6Addr) =
        ("2001:db8::1".parse().expect("ip"), "::1".parse().expect("ip"));
    let bytes = syn(IpAddr::V6(s), 1, IpAddr::V6(d), 2, 3).expect("syn");
    let p = pnet_packet::tcp::TcpPacket::new(&bytes).expect("tcp");
    assert_eq!(p.get_checksum(), ipv6_checksum(&p, &s, &d));
    let r = rst(IpAddr::V6(s), 1, IpAddr::V6(d), 2, 4).expect("rst");
    let back = v6_tcp(d, &r).expect("reads");
    assert!(back.is_rst() && back.seq == 4 && back.from == IpAddr::V6(d));
    assert_eq!(syn(IpAddr::V4(SRC), 1, IpAddr::V6(d), 2, 3), None, "mixed families");
}

#[test]
fn replies_are_classified_by_flags() {
    let syn_ack = v4_tcp(&ipv4(DST, SRC, 6, &tcp(443, 61_000, 7, 8, 0x12))).expect("reads");
    assert!(syn_ack.is_syn_ack() && !syn_ack.is_rst());
    assert_eq!((syn_ack.from, syn_ack.ack), (IpAddr::V4(DST), 8));
    let rst_ack = v4_tcp(&ipv4(DST, SRC, 6, &tcp(443, 61_000, 0, 8, 0x14))).expect("reads");
    assert!(rst_ack.is_rst() && !rst_ack.is_syn_ack());
    // SYN+ACK+RST is not an open port.
    let odd = v4_tcp(&ipv4(DST, SRC, 6, &tcp(443, 61_000, 0, 8, 0x16))).expect("reads");
    assert!(!odd.is_syn_ack() && odd.is_rst());
}

#[test]
fn icmp_errors_quote_our_syn() {
    let secret = Secret::new();
    let cookie = secret.cookie(IpAddr::V4(DST), 443, 61_000);
    let quoted = syn(IpAddr::V4(SRC), 61_000, IpAddr::V4(DST), 443, cookie).expect("syn");
    let router = Ipv4Addr::new(198, 18, 0, 254);
    let msg = ipv4(router, SRC, 1, &icmp_unreachable(13, &ipv4(SRC, DST, 6, &quoted[..8])));
    let e = v4_icmp(&msg).expect("reads").expect("an unreachable");
    assert_eq!(
        e,
        IcmpError {
            from: IpAddr::V4(router),
            icmp_type: 3,
            code: 13,
            target: IpAddr::V4(DST),
            sport: 61_000,
            dport: 443,
            seq: cookie,
        }
    );
    // Echo replies and errors about UDP are not ours to read.
    let echo = ipv4(router, SRC, 1, &[0, 0, 0, 0, 0, 1, 0, 1]);
    assert_eq!(v4_icmp(&echo), Ok(None));
    let udp = ipv4(router, SRC, 1, &icmp_unreachable(3, &ipv4(SRC, DST, 17, &[0; 8])));
    assert_eq!(v4_icmp(&udp), Ok(None));
}

#[test]
fn icmpv6_errors_quote_our_syn() {
    let (me, target): (Ipv6Addr, Ipv6Addr) =
        ("2001:db8::1".parse().expect("ip"), "2001:db8::2".parse().expect("ip"));
    let mut msg = vec![1, 1, 0, 0, 0, 0, 0, 0];
    msg.extend_from_slice(&[0x60, 0, 0, 0, 0, 24, 6, 64]);
    msg.extend_from_slice(&me.octets());
    msg.extend_from_slice(&target.octets());
    msg.extend_from_slice(&tcp(61_000, 22, 99, 0, 2)[..8]);
    let e = v6_icmp(target, &msg).expect("reads").expect("an unreachable");
    assert_eq!(
        (e.icmp_type, e.code, e.target, e.sport, e.dport, e.seq),
        (1, 1, target.into(), 61_000, 22, 99)
    );
    // Next header other than TCP (an extension header): not read.
    if let Some(b) = msg.get_mut(14) {
        *b = 0;
    }
    assert_eq!(v6_icmp(target, &msg), Ok(None));
}

#[test]
fn cookies_depend_on_every_input_and_the_key() {
    let (a, b) = (Secret::new(), Secret::new());
    let t = IpAddr::V4(DST);
    let c = a.cookie(t, 80, 61_000);
    assert_eq!(c, a.cookie(t, 80, 61_000), "deterministic for one key");
    let others =
        [a.cookie(t, 81, 61_000), a.cookie(t, 80, 61_001), a.cookie(IpAddr::V4(SRC), 80, 61_000)];
    assert!(others.iter().all(|o| *o != c), "{others:?} vs {c}");
    // Two scans' keys differ (with overwhelming probability).
    assert_ne!(c, b.cookie(t, 80, 61_000));
}

#[test]
fn hostile_bytes_are_errors_never_panics() {
    let good = ipv4(DST, SRC, 6, &tcp(443, 61_000, 7, 8, 0x12));
    // Every truncation of a good packet is an error (or, past the
    // header, still a full read), never a panic.
    for n in 0..good.len() {
        let cut = good.get(..n).expect("in range");
        assert!(v4_tcp(cut).is_err(), "{n} bytes");
        let _ = v4_icmp(cut);
        let _ = v6_icmp(SRC.to_ipv6_mapped(), cut);
    }
    // A header length below 5 words, or past the end.
    let mut short_ihl = good.clone();
    if let Some(b) = short_ihl.first_mut() {
        *b = 0x44;
    }
    assert_eq!(v4_tcp(&short_ihl), Err(PacketError::BadIpv4 { version: 4, ihl: 4 }));
    let mut long_ihl = good.clone();
    if let Some(b) = long_ihl.first_mut() {
        *b = 0x4f;
    }
    assert!(matches!(v4_tcp(&long_ihl), Err(PacketError::Truncated { .. })));
    let mut v6 = good.clone();
    if let Some(b) = v6.first_mut() {
        *b = 0x65;
    }
    assert!(matches!(v4_tcp(&v6), Err(PacketError::BadIpv4 { version: 6, .. })));
    // A TCP data offset below 5 words.
    let mut bad_offset = good.clone();
    if let Some(b) = bad_offset.get_mut(32) {
        *b = 0x40;
    }
    assert_eq!(v4_tcp(&bad_offset), Err(PacketError::BadTcp(4)));
    // UDP on what claims to be the TCP socket.
    assert_eq!(v4_tcp(&ipv4(DST, SRC, 17, &[0; 20])), Err(PacketError::NotTcp(17)));
    // An ICMP error quoting a truncated header.
    let msg = ipv4(DST, SRC, 1, &icmp_unreachable(3, &[0x45, 0, 0]));
    assert!(v4_icmp(&msg).is_err());
    // Garbage of every length up to 80 bytes.
    for n in 0..80u8 {
        let junk: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)).collect();
        let _ = (v4_tcp(&junk), v4_icmp(&junk), v6_tcp(Ipv6Addr::LOCALHOST, &junk));
        let _ = v6_icmp(Ipv6Addr::LOCALHOST, &junk);
    }
}

#[test]
fn the_fuzz_seeds_read_as_their_names_say() {
    // The raw_reply fuzz target's seed corpus, through the target's own
    // entry point too, in every test run.
    let syn_ack = include_bytes!("../../../fuzz/corpus/raw_reply/syn-ack.bin");
    let rst_ack = include_bytes!("../../../fuzz/corpus/raw_reply/rst-ack.bin");
    let icmp = include_bytes!("../../../fuzz/corpus/raw_reply/icmp-admin-prohibited.bin");
    let options = include_bytes!("../../../fuzz/corpus/raw_reply/ipv4-options.bin");
    let icmp6 = include_bytes!("../../../fuzz/corpus/raw_reply/icmpv6-unreachable.bin");
    assert!(v4_tcp(syn_ack).expect("reads").is_syn_ack());
    assert!(v4_tcp(rst_ack).expect("reads").is_rst());
    let e = v4_icmp(icmp).expect("reads").expect("an unreachable");
    assert_eq!((e.code, e.dport, e.seq), (13, 443, 0xdead_beef));
    assert_eq!(v4_tcp(options).expect("options skipped").sport, 443);
    let e6 = v6_icmp(Ipv6Addr::LOCALHOST, icmp6).expect("reads").expect("an unreachable");
    assert_eq!((e6.target, e6.dport), (IpAddr::V6(Ipv6Addr::LOCALHOST), 443));
    for seed in [&syn_ack[..], rst_ack, icmp, options, icmp6] {
        crate::fuzzing::raw_reply(seed);
    }
}
