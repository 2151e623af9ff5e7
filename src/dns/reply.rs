//! Judging what came back for a question. A datagram is an answer only if
//! it is a response with our id to our question: anything else is a spoof
//! or a stale reply to an earlier question, and the prober keeps waiting
//! for the real one (`Judged::NotOurs`). A response with our id that does
//! not decode is remembered, not taken (`Judged::Malformed`): a forger who
//! guessed the id must not be able to end the wait with garbage. TC asks
//! for the question again over TCP.
//!
//! An answer is summarised into the fields of an observation line
//! ([`Summary`]): RCODE, AA, RA, the answer section in presentation form
//! (bounded by [`Kept`]), and the zone apex the authority section names.

use hickory_proto::op::{Header, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable as _, BinDecoder};

use super::question::Question;
use super::{DnsError, present};
use crate::observe::{DnsRecord, MAX_DNS_RECORDS, MAX_DNS_TEXT};

/// What one datagram or TCP message is, for one question asked with one id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Not an answer to this question (another id, another question, not
    /// a response, too short to tell); the reason, for the evidence.
    NotOurs(&'static str),
    /// Our answer, truncated (TC): ask again over TCP.
    Truncated,
    /// Our answer.
    Answer(Box<Message>),
    /// Our id and question (or no question), but the message does not
    /// decode: not taken, remembered for the error if nothing better comes.
    Malformed(DnsError),
}

/// Judges `bytes` as the answer to `q` asked with `id`.
pub fn judge(bytes: &[u8], id: u16, q: &Question) -> Judged {
    let mut d = BinDecoder::new(bytes);
    let Ok(header) = Header::read(&mut d) else {
        return Judged::NotOurs("shorter than a DNS header");
    };
    let meta = header.metadata;
    if meta.id != id {
        return Judged::NotOurs("another id");
    }
    if meta.message_type != MessageType::Response {
        return Judged::NotOurs("not a response");
    }
    if meta.op_code != OpCode::Query {
        return Judged::NotOurs("another opcode");
    }
    let questions = Message::read_queries(&mut d, usize::from(header.counts.queries));
    match questions.as_deref() {
        Ok([only]) if q.matches(only) => {}
        // A truncated answer, or an error without the question (some
        // servers leave it out of FORMERR, NOTIMP, REFUSED).
        Ok([]) if meta.truncation || meta.response_code != ResponseCode::NoError => {}
        Ok(_) => return Judged::NotOurs("another question"),
        Err(e) => {
            return Judged::Malformed(DnsError::Malformed {
                what: "answer",
                detail: format!("question section: {e}"),
            });
        }
    }
    if meta.truncation {
        return Judged::Truncated;
    }
    match Message::from_vec(bytes) {
        Ok(m) => Judged::Answer(Box::new(m)),
        Err(e) => Judged::Malformed(DnsError::Malformed { what: "answer", detail: e.to_string() }),
    }
}

/// Records of one answer (or one transfer) as an observation line keeps
/// them: in the order received, at most [`MAX_DNS_RECORDS`] of them and
/// [`MAX_DNS_TEXT`] characters of names and values in all; every record is
/// counted, kept or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kept {
    /// The records kept.
    pub records: Vec<DnsRecord>,
    /// Every record seen.
    pub seen: u64,
    text: usize,
    full: bool,
}

impl Kept {
    /// Counts `r`, and keeps it if there is room (once one does not fit,
    /// none after it is kept either, so what is kept is a prefix).
    pub fn push(&mut self, r: &Record) {
        self.seen += 1;
        if self.full {
            return;
        }
        let r = present::record(r);
        let len = r.name.len() + r.value.len();
        if self.records.len() >= MAX_DNS_RECORDS || self.text + len > MAX_DNS_TEXT {
            self.full = true;
            return;
        }
        self.text += len;
        self.records.push(r);
    }
}

/// What an answer says, in the observation's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `NOERROR`, `NXDOMAIN`...
    pub rcode: String,
    /// AA.
    pub authoritative: bool,
    /// RA.
    pub recursion_available: bool,
    /// The answer section, bounded, and its count.
    pub answers: Kept,
    /// The zone apex named by an SOA: for an SOA question the answer
    /// section's (the apex found), else the authority section's (where an
    /// NXDOMAIN or an empty answer came from).
    pub authority: Option<String>,
}

impl Summary {
    /// Summarises `m`, the answer to `q`.
    pub fn of(m: &Message, q: &Question) -> Self {
        let mut answers = Kept::default();
        for r in &m.answers {
            answers.push(r);
        }
        Self {
            rcode: present::rcode(m.metadata.response_code),
            authoritative: m.metadata.authoritative,
            recursion_available: m.metadata.recursion_available,
            answers,
            authority: apex(m, q).map(present::name),
        }
    }
}

/// The zone apex an answer names: the owner of an SOA, for an SOA
/// question the answer section's (the apex found), else the authority
/// section's (where an NXDOMAIN or an empty answer came from).
pub fn apex<'m>(m: &'m Message, q: &Question) -> Option<&'m Name> {
    let soa_owner = |records: &'m [Record]| {
        records.iter().find(|r| matches!(r.data, RData::SOA(_))).map(|r| &r.name)
    };
    let from_answer = if q.rtype() == RecordType::SOA { soa_owner(&m.answers) } else { None };
    from_answer.or_else(|| soa_owner(&m.authorities))
}

#[cfg(test)]
mod tests;
