//! UDP probe payloads: a request each well-known service answers, so an
//! open port speaks instead of staying silent (which would only say
//! open|filtered). Fixed bytes, as nmap keeps them in `nmap-payloads`; any
//! other port gets an empty datagram.
//!
//! Invariant: every payload is a well-formed request of its protocol (the
//! tests below check the length fields and counts).

/// DNS: a query for the root zone's NS records (recursion desired). Every
/// DNS server answers it somehow, even with REFUSED.
const DNS: &[u8] = &[
    0x12, 0x34, // id
    0x01, 0x00, // flags: standard query, RD
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 1 question
    0x00, // root name
    0x00, 0x02, // type NS
    0x00, 0x01, // class IN
];

/// NTP: a version 4 client request (mode 3), 48 bytes.
const NTP: &[u8] = &[
    0xe3, 0x00, 0x04, 0xfa, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// SNMP GetRequest for sysDescr.0 with community `public`, in a given
/// version (0 = v1, 1 = v2c).
macro_rules! snmp_get_sysdescr {
    ($version:literal) => {
        &[
            0x30, 0x29, // message, 41 bytes
            0x02, 0x01, $version, // version
            0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', // community
            0xa0, 0x1c, // GetRequest PDU, 28 bytes
            0x02, 0x04, 0x56, 0x54, 0x47, 0x45, // request id
            0x02, 0x01, 0x00, // error status
            0x02, 0x01, 0x00, // error index
            0x30, 0x0e, // varbind list
            0x30, 0x0c, // varbind
            0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, // 1.3.6.1.2.1.1.1.0
            0x05, 0x00, // NULL
        ]
    };
}
const SNMP_V1: &[u8] = snmp_get_sysdescr!(0x00);
const SNMP_V2C: &[u8] = snmp_get_sysdescr!(0x01);

/// IKEv1 main mode: one SA with one proposal of one transform (3DES, SHA1,
/// pre-shared key, MODP 1024, 8 h lifetime); an IKE daemon answers it with
/// its own SA or a notification.
const IKE: &[u8] = &[
    0x56, 0x54, 0x47, 0x45, 0x76, 0x6e, 0x74, 0x67, // initiator cookie
    0, 0, 0, 0, 0, 0, 0, 0,    // responder cookie
    0x01, // next payload: SA
    0x10, // version 1.0
    0x02, // exchange: identity protection (main mode)
    0x00, // flags
    0, 0, 0, 0, // message id
    0, 0, 0, 80, // length
    // SA payload
    0x00, 0x00, 0x00, 52, // next, reserved, length
    0, 0, 0, 1, // DOI: IPsec
    0, 0, 0, 1, // situation: identity only
    // proposal payload
    0x00, 0x00, 0x00, 40, // next, reserved, length
    1, 1, 0, 1, // proposal 1, protocol ISAKMP, SPI size 0, 1 transform
    // transform payload
    0x00, 0x00, 0x00, 32, // next, reserved, length
    1, 1, 0, 0, // transform 1, KEY_IKE, reserved
    0x80, 0x01, 0x00, 0x05, // encryption: 3DES-CBC
    0x80, 0x02, 0x00, 0x02, // hash: SHA1
    0x80, 0x03, 0x00, 0x01, // authentication: pre-shared key
    0x80, 0x04, 0x00, 0x02, // group: MODP 1024
    0x80, 0x0b, 0x00, 0x01, // life type: seconds
    0x80, 0x0c, 0x70, 0x80, // life duration: 28800
];

/// NetBIOS name service: a node status (NBSTAT) query for `*`.
const NETBIOS: &[u8] = b"\x80\xf0\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x20CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00\x00\x21\x00\x01";

/// SSDP: a unicast M-SEARCH for everything.
const SSDP: &[u8] = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";

/// mDNS: a (legacy unicast) query for `_services._dns-sd._udp.local` PTR.
const MDNS: &[u8] = b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x09_services\x07_dns-sd\x04_udp\x05local\x00\x00\x0c\x00\x01";

/// The datagrams to send to a UDP port: one or more protocol requests for
/// well-known ports (SNMP gets both v1 and v2c, since agents often speak
/// only one), a single empty datagram otherwise.
pub fn for_port(port: u16) -> &'static [&'static [u8]] {
    match port {
        53 => &[DNS],
        123 => &[NTP],
        137 => &[NETBIOS],
        161 => &[SNMP_V2C, SNMP_V1],
        500 => &[IKE],
        1900 => &[SSDP],
        5353 => &[MDNS],
        _ => &[&[]],
    }
}

/// The protocol a port's payload speaks, for evidence ("sent an NTP v4
/// client request").
pub fn describe(port: u16) -> &'static str {
    match port {
        53 => "a DNS query for . NS",
        123 => "an NTP v4 client request",
        137 => "a NetBIOS node status query",
        161 => "SNMP v2c and v1 GetRequests for sysDescr.0 (community public)",
        500 => "an IKEv1 main mode SA proposal",
        1900 => "an SSDP M-SEARCH",
        5353 => "an mDNS query for _services._dns-sd._udp.local",
        _ => "an empty datagram",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be16(b: &[u8], at: usize) -> usize {
        usize::from(b[at]) << 8 | usize::from(b[at + 1])
    }

    #[test]
    fn length_fields_match() {
        assert_eq!(NTP.len(), 48);
        assert_eq!(usize::from(SNMP_V1[1]) + 2, SNMP_V1.len(), "SNMP message length");
        assert_eq!(usize::from(SNMP_V1[14]) + 15, SNMP_V1.len(), "SNMP PDU length");
        assert_eq!(be16(IKE, 26), IKE.len(), "ISAKMP length");
        assert_eq!(be16(IKE, 30), IKE.len() - 28, "SA payload length");
        assert_eq!(be16(IKE, 42), IKE.len() - 40, "proposal length");
        assert_eq!(be16(IKE, 50), IKE.len() - 48, "transform length");
        assert_eq!(NETBIOS[12], 32, "encoded NetBIOS name length");
        assert_eq!(NETBIOS.len(), 12 + 1 + 32 + 1 + 4);
        for dns in [DNS, MDNS, NETBIOS] {
            assert_eq!(be16(dns, 4), 1, "one question");
            assert_eq!(&dns[6..12], &[0; 6], "no answers, authority or additional records");
        }
        // The mDNS name is well-formed labels ending in the root.
        let mut i = 12;
        while MDNS[i] != 0 {
            i += 1 + usize::from(MDNS[i]);
        }
        assert_eq!(MDNS.len(), i + 1 + 4);
    }

    #[test]
    fn every_port_gets_something_to_send() {
        for port in [53, 123, 137, 161, 500, 1900, 5353, 9, 65535] {
            assert!(!for_port(port).is_empty());
        }
        assert_eq!(for_port(9), &[&[] as &[u8]]);
        assert_eq!(for_port(161).len(), 2);
    }
}
