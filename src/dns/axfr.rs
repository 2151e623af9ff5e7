//! A zone transfer (AXFR, RFC 5936) as a stream of messages over one TCP
//! connection, accumulated within bounds. The transfer is complete when
//! the zone's SOA comes a second time (it opens and closes the zone);
//! until then every record is counted, the first ones kept for the
//! evidence, and the CNAME targets collected for the dangling check.
//!
//! A refusal (REFUSED, NOTAUTH, or any RCODE but NOERROR in the first
//! message) ends the transfer with no records: that is the answer a
//! server that forbids transfers gives, not an error.
//!
//! Invariant: bounded whatever the server sends: at most
//! [`MAX_TRANSFER_BYTES`] and [`MAX_TRANSFER_MESSAGES`], records kept as
//! [`Kept`] keeps them, at most [`MAX_CNAME_TARGETS`] targets; a message
//! is decoded and dropped, never held.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use super::question::Question;
use super::reply::Kept;
use super::{DnsError, present};

/// The most bytes a transfer may bring (RFC 5936 sets none; 64 MiB is
/// far above any zone an exposure check meets, and below what hurts).
pub const MAX_TRANSFER_BYTES: u64 = 64 << 20;

/// The most messages a transfer may bring (a stream of empty messages
/// is as endless as one of records).
pub const MAX_TRANSFER_MESSAGES: u64 = 65_536;

/// The most CNAME targets collected from one transfer.
pub const MAX_CNAME_TARGETS: usize = 1024;

/// Where a transfer stands after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferStep {
    /// More messages are due.
    More,
    /// The transfer ended: complete, refused, or empty.
    Done,
}

/// One zone transfer in progress.
#[derive(Debug, Clone)]
pub struct Transfer {
    id: u16,
    question: Question,
    bytes: u64,
    messages: u64,
    kept: Kept,
    soas: u32,
    first: Option<(String, bool, bool)>,
    complete: bool,
    cnames: Vec<Name>,
}

/// What a transfer brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transferred {
    /// The first message's RCODE, AA and RA; `None` when no message came.
    pub first: Option<(String, bool, bool)>,
    /// Records kept, and counted.
    pub records: Kept,
    /// The closing SOA came.
    pub complete: bool,
    /// CNAME targets in the zone, each once.
    pub cnames: Vec<Name>,
    /// Messages read.
    pub messages: u64,
}

impl Transfer {
    /// A transfer of `zone` (an AXFR question) asked with `id`.
    pub fn new(id: u16, zone: &Question) -> Self {
        Self {
            id,
            question: zone.with_type(RecordType::AXFR),
            bytes: 0,
            messages: 0,
            kept: Kept::default(),
            soas: 0,
            first: None,
            complete: false,
            cnames: Vec::new(),
        }
    }

    /// Takes the next message of the stream (one TCP frame).
    pub fn push(&mut self, frame: &[u8]) -> Result<TransferStep, DnsError> {
        self.bytes += frame.len() as u64 + 2;
        self.messages += 1;
        if self.bytes > MAX_TRANSFER_BYTES {
            return Err(DnsError::Oversized { what: "the transfer", limit: "64 MiB".into() });
        }
        if self.messages > MAX_TRANSFER_MESSAGES {
            return Err(DnsError::Oversized {
                what: "the transfer",
                limit: format!("{MAX_TRANSFER_MESSAGES} messages"),
            });
        }
        let m = Message::from_vec(frame)
            .map_err(|e| DnsError::Malformed { what: "transfer message", detail: e.to_string() })?;
        if m.metadata.id != self.id {
            return Err(DnsError::Misbehaved(format!(
                "transfer message {} has id {}, not {}",
                self.messages, m.metadata.id, self.id
            )));
        }
        // The first message echoes the question; later ones may or may not.
        let echoed = match m.queries.as_slice() {
            [] => self.first.is_some() || m.metadata.response_code != ResponseCode::NoError,
            [q] => self.question.matches(q),
            _ => false,
        };
        if !echoed {
            return Err(DnsError::Misbehaved(format!(
                "transfer message {} is not about the zone asked",
                self.messages
            )));
        }
        let code = m.metadata.response_code;
        if self.first.is_none() {
            self.first = Some((
                present::rcode(code),
                m.metadata.authoritative,
                m.metadata.recursion_available,
            ));
            if code != ResponseCode::NoError || m.answers.is_empty() {
                return Ok(TransferStep::Done);
            }
        } else if code != ResponseCode::NoError {
            return Err(DnsError::Misbehaved(format!(
                "the transfer stopped with {} after {} records",
                present::rcode(code),
                self.kept.seen
            )));
        }
        for r in &m.answers {
            if self.kept.seen == 0 && r.record_type() != RecordType::SOA {
                return Err(DnsError::Misbehaved(
                    "the transfer does not start with the zone's SOA".into(),
                ));
            }
            self.kept.push(r);
            match &r.data {
                RData::SOA(_) => self.soas += 1,
                RData::CNAME(c)
                    if self.cnames.len() < MAX_CNAME_TARGETS && !self.cnames.contains(&c.0) =>
                {
                    self.cnames.push(c.0.clone());
                }
                _ => {}
            }
            if self.soas >= 2 {
                // Anything after the closing SOA is not part of the zone.
                self.complete = true;
                return Ok(TransferStep::Done);
            }
        }
        Ok(TransferStep::More)
    }

    /// Ends the transfer, complete or not.
    pub fn finish(self) -> Transferred {
        Transferred {
            first: self.first,
            records: self.kept,
            complete: self.complete,
            cnames: self.cnames,
            messages: self.messages,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use hickory_proto::op::{MessageType, OpCode, Query};
    use hickory_proto::rr::Record;
    use hickory_proto::rr::rdata::{A, CNAME, SOA};

    use super::*;
    use crate::observe::MAX_DNS_RECORDS;

    fn n(s: &str) -> Name {
        Name::from_str(s).expect("name")
    }
    fn zone() -> Question {
        Question::new("example.test", RecordType::AXFR, false).expect("name")
    }
    fn soa() -> Record {
        let s = SOA::new(n("ns1.example.test."), n("h.example.test."), 7, 1, 1, 1, 1);
        Record::from_rdata(n("example.test."), 300, RData::SOA(s))
    }
    fn a(i: u32) -> Record {
        Record::from_rdata(
            n(&format!("h{i}.example.test.")),
            300,
            RData::A(A::from(std::net::Ipv4Addr::from(i))),
        )
    }
    fn message(id: u16, question: bool, records: Vec<Record>) -> Vec<u8> {
        let mut m = Message::new(id, MessageType::Response, OpCode::Query);
        m.metadata.authoritative = true;
        if question {
            m.add_query(Query::query(n("example.test."), RecordType::AXFR));
        }
        m.add_answers(records);
        m.to_vec().expect("encodes")
    }

    #[test]
    fn a_zone_in_several_messages_is_complete_at_the_closing_soa() {
        let mut t = Transfer::new(9, &zone());
        let cname = Record::from_rdata(
            n("old.example.test."),
            300,
            RData::CNAME(CNAME(n("gone.cloud.test."))),
        );
        assert_eq!(t.push(&message(9, true, vec![soa(), a(1), cname])), Ok(TransferStep::More));
        assert_eq!(t.push(&message(9, false, (2..300).map(a).collect())), Ok(TransferStep::More));
        assert_eq!(t.push(&message(9, false, vec![a(300), soa(), a(301)])), Ok(TransferStep::Done));
        let done = t.finish();
        assert!(done.complete);
        assert_eq!(done.records.seen, 303, "SOA, 300 A, the CNAME, the closing SOA");
        assert_eq!(done.records.records.len(), MAX_DNS_RECORDS);
        assert_eq!(done.cnames, vec![n("gone.cloud.test.")]);
        assert_eq!(done.first, Some(("NOERROR".to_owned(), true, false)));
    }

    #[test]
    fn a_refusal_is_an_answer_with_no_records() {
        let mut t = Transfer::new(9, &zone());
        let mut m = Message::new(9, MessageType::Response, OpCode::Query);
        m.metadata.response_code = ResponseCode::Refused;
        assert_eq!(t.push(&m.to_vec().expect("encodes")), Ok(TransferStep::Done));
        let done = t.finish();
        assert_eq!(
            (done.first.map(|f| f.0), done.records.seen, done.complete),
            (Some("REFUSED".into()), 0, false)
        );
    }

    #[test]
    fn misbehaving_streams_stop_with_an_error() {
        let mut t = Transfer::new(9, &zone());
        assert!(matches!(t.push(&message(8, true, vec![soa()])), Err(DnsError::Misbehaved(_))));
        let mut t = Transfer::new(9, &zone());
        assert!(matches!(t.push(&message(9, true, vec![a(1)])), Err(DnsError::Misbehaved(_))));
        let mut t = Transfer::new(9, &zone());
        assert!(matches!(t.push(&message(9, false, vec![soa()])), Err(DnsError::Misbehaved(_))));
        let mut t = Transfer::new(9, &zone());
        assert!(matches!(t.push(b"\x00\x09garbage"), Err(DnsError::Malformed { .. })));
        // A transfer that never ends is cut by the message cap.
        let mut t = Transfer::new(9, &zone());
        assert_eq!(t.push(&message(9, true, vec![soa()])), Ok(TransferStep::More));
        let empty = message(9, false, Vec::new());
        let mut result = Ok(TransferStep::More);
        for _ in 0..MAX_TRANSFER_MESSAGES {
            result = t.push(&empty);
            if result.is_err() {
                break;
            }
        }
        assert!(matches!(result, Err(DnsError::Oversized { .. })), "{result:?}");
    }
}
