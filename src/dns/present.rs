//! Names, types, RCODEs and record data as the observation file writes
//! them: `dig +short` presentation, with the contract's refinements
//! (`observe::DnsRecord`): names lower case without the final dot, TXT
//! strings quoted, everything escaped to printable ASCII (`\DDD` for any
//! other byte, as zone files do), values cut at [`MAX_DNS_VALUE`]
//! characters.
//!
//! Invariant: every string made here is printable ASCII, so its length in
//! bytes is its length in characters, and a name never ends with `.`
//! (a dot inside a label is written `\046`).

use std::fmt::Write as _;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::observe::{DnsRecord, MAX_DNS_VALUE};

/// A name, lower case, without the final dot; the root is empty.
pub fn name(n: &Name) -> String {
    let mut out = String::with_capacity(n.len());
    for (i, label) in n.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        for &b in label {
            name_byte(&mut out, b.to_ascii_lowercase());
        }
    }
    out
}

/// A name in record data: as [`name`], but the root is `.` (as dig
/// prints an MX of "no mail", `0 .`).
pub fn target(n: &Name) -> String {
    if n.is_root() { ".".to_owned() } else { name(n) }
}

fn name_byte(out: &mut String, b: u8) {
    match b {
        // Special in zone files (or the label separator): escaped by
        // number, so no name ends with a dot or holds a quote.
        b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => decimal(out, b),
        0x21..=0x7e => out.push(char::from(b)),
        _ => decimal(out, b),
    }
}

fn decimal(out: &mut String, b: u8) {
    let _ = write!(out, "\\{b:03}");
}

/// A record type's mnemonic, upper case; `TYPE65280` for one without a
/// name (RFC 3597).
pub fn rtype(t: RecordType) -> String {
    let text = t.to_string();
    let named = !matches!(t, RecordType::Unknown(_))
        && !text.is_empty()
        && text.len() <= 16
        && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if named { text } else { format!("TYPE{}", u16::from(t)) }
}

/// An RCODE's mnemonic (`NOERROR`, `NXDOMAIN`...), `RCODE23` for one
/// without a name.
pub fn rcode(r: ResponseCode) -> String {
    let code = u16::from(r);
    let name = match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        _ => return format!("RCODE{code}"),
    };
    name.to_owned()
}

/// One string of a TXT (or CAA value), quoted, `"` and `\` escaped with a
/// backslash, bytes outside printable ASCII as `\DDD`, as dig prints them.
fn quoted(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => decimal(out, b),
        }
    }
    out.push('"');
}

/// Record data in presentation form, at most [`MAX_DNS_VALUE`] characters.
pub fn rdata(data: &RData) -> String {
    let mut out = String::new();
    match data {
        RData::A(a) => out.push_str(&a.0.to_string()),
        RData::AAAA(a) => out.push_str(&a.0.to_string()),
        RData::CNAME(n) => out.push_str(&target(&n.0)),
        RData::NS(n) => out.push_str(&target(&n.0)),
        RData::PTR(n) => out.push_str(&target(&n.0)),
        RData::ANAME(n) => out.push_str(&target(&n.0)),
        RData::MX(mx) => {
            let _ = write!(out, "{} {}", mx.preference, target(&mx.exchange));
        }
        RData::SRV(s) => {
            let _ = write!(out, "{} {} {} {}", s.priority, s.weight, s.port, target(&s.target));
        }
        RData::SOA(s) => {
            let _ = write!(
                out,
                "{} {} {} {} {} {} {}",
                target(&s.mname),
                target(&s.rname),
                s.serial,
                s.refresh,
                s.retry,
                s.expire,
                s.minimum
            );
        }
        RData::TXT(t) => {
            for (i, s) in t.txt_data.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                quoted(&mut out, s);
                if out.len() > MAX_DNS_VALUE {
                    break;
                }
            }
        }
        RData::CAA(c) => {
            let _ = write!(out, "{} ", c.flags());
            for b in c.tag.bytes() {
                name_byte(&mut out, b);
            }
            out.push(' ');
            quoted(&mut out, &c.value);
        }
        RData::NULL(n) => generic(&mut out, &n.anything),
        RData::Unknown { rdata, .. } => generic(&mut out, &rdata.anything),
        other => printable(&mut out, &other.to_string()),
    }
    cap(out)
}

/// RFC 3597's generic form: `\# LENGTH HEX`.
fn generic(out: &mut String, bytes: &[u8]) {
    let _ = write!(out, "\\# {}", bytes.len());
    if !bytes.is_empty() {
        out.push(' ');
    }
    for b in bytes.iter().take(MAX_DNS_VALUE / 2) {
        let _ = write!(out, "{b:02x}");
    }
}

/// hickory's own presentation of the other types, kept to printable ASCII.
fn printable(out: &mut String, text: &str) {
    for c in text.chars() {
        if c == ' ' || c.is_ascii_graphic() {
            out.push(c);
        } else {
            let mut utf8 = [0; 4];
            for b in c.encode_utf8(&mut utf8).bytes() {
                decimal(out, b);
            }
        }
        if out.len() > MAX_DNS_VALUE {
            break;
        }
    }
}

/// Cuts a printable ASCII value to [`MAX_DNS_VALUE`] characters, the last
/// three `...` when something was cut.
fn cap(mut s: String) -> String {
    if s.len() > MAX_DNS_VALUE {
        s.truncate(MAX_DNS_VALUE - 3);
        s.push_str("...");
    }
    s
}

/// One record of an answer, as the observation line keeps it.
pub fn record(r: &Record) -> DnsRecord {
    DnsRecord {
        name: name(&r.name),
        rtype: rtype(r.record_type()),
        ttl: r.ttl,
        value: rdata(&r.data),
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use hickory_proto::rr::rdata::{A, CAA, CNAME, MX, NULL, SOA, TXT};

    use super::*;

    fn n(s: &str) -> Name {
        Name::from_str(s).expect("name")
    }

    #[test]
    fn names_are_lower_case_without_the_final_dot_and_escaped() {
        assert_eq!(name(&n("WWW.Example.TEST.")), "www.example.test");
        assert_eq!(name(&Name::root()), "");
        assert_eq!(target(&Name::root()), ".");
        let odd = Name::from_labels([&b"a.b"[..], &b"sp ce\""[..], &b"\xff"[..]]).expect("labels");
        assert_eq!(name(&odd), "a\\046b.sp\\032ce\\034.\\255");
        assert!(name(&odd).bytes().all(|b| b.is_ascii_graphic()));
    }

    #[test]
    fn types_and_rcodes_have_their_mnemonics() {
        assert_eq!(rtype(RecordType::AAAA), "AAAA");
        assert_eq!(rtype(RecordType::Unknown(65280)), "TYPE65280");
        assert_eq!(rtype(RecordType::from(65280)), "TYPE65280");
        assert_eq!(rcode(ResponseCode::NXDomain), "NXDOMAIN");
        assert_eq!(rcode(ResponseCode::Refused), "REFUSED");
        assert_eq!(rcode(<ResponseCode as From<u16>>::from(3841)), "RCODE3841");
    }

    #[test]
    fn data_reads_as_dig_short_prints_it() {
        let check = |data: RData, expected: &str| assert_eq!(rdata(&data), expected);
        check(RData::A(A::new(198, 18, 10, 10)), "198.18.10.10");
        check(RData::CNAME(CNAME(n("Edge.CDN.example."))), "edge.cdn.example");
        check(RData::MX(MX::new(10, n("mail.example.test."))), "10 mail.example.test");
        check(RData::MX(MX::new(0, Name::root())), "0 .");
        check(
            RData::TXT(TXT::from_bytes(vec![&b"v=spf1 -all"[..], &b"say \"hi\"\\\n"[..]])),
            r#""v=spf1 -all" "say \"hi\"\\\010""#,
        );
        check(
            RData::SOA(SOA::new(
                n("ns1.example.test."),
                n("hostmaster.example.test."),
                7,
                3600,
                600,
                86400,
                300,
            )),
            "ns1.example.test hostmaster.example.test 7 3600 600 86400 300",
        );
        check(
            RData::CAA(CAA::new_issue(false, Some(n("letsencrypt.org")), Vec::new())),
            "0 issue \"letsencrypt.org\"",
        );
        check(
            RData::Unknown { code: RecordType::Unknown(65280), rdata: NULL::with(vec![1, 0xab]) },
            "\\# 2 01ab",
        );
    }

    #[test]
    fn values_are_bounded_printable_ascii() {
        let huge = vec![b'\xfe'; 60_000];
        let v = rdata(&RData::TXT(TXT::from_bytes(vec![&huge[..], &huge[..]])));
        assert_eq!(v.len(), MAX_DNS_VALUE);
        assert!(v.ends_with("..."));
        assert!(v.bytes().all(|b| b == b' ' || b.is_ascii_graphic()));
    }
}
