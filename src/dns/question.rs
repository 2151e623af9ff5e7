//! A question vantage asks: a name of at most 253 bytes (the longest a
//! message can carry), a type, class IN, and whether recursion is desired;
//! and the query message that asks it, with the id the prober chose.
//!
//! Queries carry EDNS(0) with a 1,232-byte buffer unless told not to (the
//! DNS flag day 2020 size, as dig sends), so most answers fit a datagram;
//! a larger one comes truncated and is asked again over TCP.

use std::str::FromStr as _;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name, RecordType};

use super::DnsError;
use super::present;

/// The longest name asked, in bytes, without the final dot.
pub const MAX_NAME: usize = 253;

/// The EDNS(0) UDP buffer size advertised.
pub const EDNS_PAYLOAD: u16 = 1232;

/// A validated question.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Question {
    name: Name,
    rtype: RecordType,
    rd: bool,
}

impl Question {
    /// Asks `name` (presentation form, final dot optional, `\DDD` escapes
    /// allowed) for `rtype`, with RD set to `rd`.
    pub fn new(name: &str, rtype: RecordType, rd: bool) -> Result<Self, DnsError> {
        let bad = |reason| DnsError::BadName { name: name.chars().take(64).collect(), reason };
        let bare = name.strip_suffix('.').unwrap_or(name);
        if bare.is_empty() {
            return Err(bad("empty"));
        }
        if bare.len() > MAX_NAME {
            return Err(bad("longer than 253 bytes"));
        }
        let parsed = Name::from_str(&format!("{bare}.")).map_err(|_| bad("not a DNS name"))?;
        Self::from_name(parsed, rtype, rd)
    }

    /// Asks a name read off the wire (a CNAME's target, a zone's apex).
    pub fn from_name(mut name: Name, rtype: RecordType, rd: bool) -> Result<Self, DnsError> {
        name.set_fqdn(true);
        // `len` counts the final dot: 254 is 253 bytes of name.
        if name.len() > MAX_NAME + 1 {
            return Err(DnsError::BadName {
                name: present::name(&name).chars().take(64).collect(),
                reason: "longer than 253 bytes",
            });
        }
        if name.is_root() {
            return Err(DnsError::BadName { name: String::new(), reason: "the root" });
        }
        Ok(Self { name, rtype, rd })
    }

    /// The name asked.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The type asked.
    pub fn rtype(&self) -> RecordType {
        self.rtype
    }

    /// Whether recursion is desired.
    pub fn rd(&self) -> bool {
        self.rd
    }

    /// The same question with another type.
    pub fn with_type(&self, rtype: RecordType) -> Self {
        Self { rtype, ..self.clone() }
    }

    /// The query message asking this question with `id`; with EDNS(0)
    /// when `edns` (never for AXFR, which goes over TCP).
    pub fn encode(&self, id: u16, edns: bool) -> Result<Vec<u8>, DnsError> {
        let mut m = Message::new(id, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = self.rd;
        m.add_query(Query::query(self.name.clone(), self.rtype));
        if edns {
            let mut e = Edns::new();
            e.set_max_payload(EDNS_PAYLOAD);
            m.set_edns(e);
        }
        m.to_vec().map_err(|e| DnsError::Encode(e.to_string()))
    }

    /// Whether `q` (a reply's question) is this question: the same name
    /// (case aside, as RFC 4343 has it), type and class IN.
    pub fn matches(&self, q: &Query) -> bool {
        q.query_type() == self.rtype
            && q.query_class() == DNSClass::IN
            && q.name().eq_ignore_root(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(Question::new("www.example.test", RecordType::A, true).is_ok());
        assert!(Question::new("www.example.test.", RecordType::A, true).is_ok());
        assert!(Question::new("", RecordType::A, true).is_err());
        assert!(Question::new(".", RecordType::A, true).is_err());
        assert!(Question::new("a..b", RecordType::A, true).is_err());
        assert!(Question::new(&"x".repeat(64), RecordType::A, true).is_err(), "label > 63");
        let long = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".");
        assert_eq!(long.len(), 253);
        assert!(Question::new(&long, RecordType::A, true).is_ok());
        assert!(Question::new(&format!("e{long}"), RecordType::A, true).is_err());
    }

    #[test]
    fn the_query_says_what_was_asked() {
        let q = Question::new("WWW.example.test", RecordType::MX, false).expect("name");
        let bytes = q.encode(0xbeef, true).expect("encodes");
        let m = Message::from_vec(&bytes).expect("decodes");
        assert_eq!(m.metadata.id, 0xbeef);
        assert!(!m.metadata.recursion_desired);
        assert_eq!(m.metadata.message_type, MessageType::Query);
        assert_eq!(m.queries.len(), 1);
        assert!(q.matches(&m.queries[0]));
        assert_eq!(m.edns.as_ref().map(Edns::max_payload), Some(EDNS_PAYLOAD));
        let plain = Message::from_vec(&q.encode(1, false).expect("encodes")).expect("decodes");
        assert!(plain.edns.is_none());
        let other = Query::query(Name::from_str("www.example.test.").expect("name"), RecordType::A);
        assert!(!q.matches(&other));
    }
}
