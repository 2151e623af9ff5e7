//! CNAME chains. A server answers a name that is an alias with the CNAME
//! and, when it can, the rest of the chain; an authoritative-only server
//! stops at a target outside its zones, and vantage asks that target next
//! (each hop its own question and its own observation line).
//!
//! Invariant: a chain is followed at most [`MAX_CHAIN`] hops, and a name
//! seen twice ends it (a loop), so no answer can make the prober ask
//! forever.

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// The most CNAME hops followed from one name (answer and questions
/// together), as resolvers bound it (BIND follows 16; 8 is plenty for
/// real zones and keeps a hostile chain cheap).
pub const MAX_CHAIN: usize = 8;

/// How a chain read from one answer ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainEnd {
    /// The answer holds data of the type asked for the chain's last name
    /// (or the question was for the CNAME itself).
    Data,
    /// The chain's last name has no data in the answer: it is the name to
    /// ask next, unless the server said it is finished (see [`next_to_ask`]).
    Open(Name),
    /// A name came back to an earlier one.
    Loop(Name),
    /// More than [`MAX_CHAIN`] hops.
    TooLong,
}

/// The CNAME hops an answer holds from `qname`, in order, and how they end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Each hop's target, in order.
    pub targets: Vec<Name>,
    /// Its end.
    pub end: ChainEnd,
}

/// Follows the CNAMEs of `answers` from `qname` for `qtype`.
pub fn follow(qname: &Name, qtype: RecordType, answers: &[Record]) -> Chain {
    let mut targets: Vec<Name> = Vec::new();
    let mut current = qname;
    loop {
        let owned = |r: &&Record| r.name.eq_ignore_root(current);
        let data = answers.iter().filter(owned).any(|r| {
            r.record_type() == qtype || qtype == RecordType::CNAME || qtype == RecordType::ANY
        });
        if data {
            return Chain { targets, end: ChainEnd::Data };
        }
        let next = answers.iter().filter(owned).find_map(|r| match &r.data {
            RData::CNAME(c) => Some(&c.0),
            _ => None,
        });
        let Some(next) = next else {
            let end =
                if targets.is_empty() { ChainEnd::Data } else { ChainEnd::Open(current.clone()) };
            return Chain { targets, end };
        };
        if next.eq_ignore_root(qname) || targets.iter().any(|t| t.eq_ignore_root(next)) {
            return Chain { targets, end: ChainEnd::Loop(next.clone()) };
        }
        if targets.len() >= MAX_CHAIN {
            return Chain { targets, end: ChainEnd::TooLong };
        }
        targets.push(next.clone());
        current = next;
    }
}

/// The name the server left unresolved in its answer `m` to (`qname`,
/// `qtype`), which must be asked next: the end of a CNAME chain that has
/// no data, when the server did not say the chain is finished. A finished
/// chain is one with an RCODE other than NOERROR (NXDOMAIN is about the
/// last target, RFC 6604) or an SOA in the authority section (no data
/// for the last target).
pub fn next_to_ask(m: &Message, qname: &Name, qtype: RecordType) -> Option<Name> {
    let chain = follow(qname, qtype, &m.answers);
    let ChainEnd::Open(last) = chain.end else { return None };
    let finished = m.metadata.response_code != ResponseCode::NoError
        || m.authorities.iter().any(|r| r.record_type() == RecordType::SOA);
    (!finished).then_some(last)
}

/// Every CNAME target in `records`, each once, at most `limit` of them.
pub fn targets(records: &[Record], limit: usize) -> Vec<Name> {
    let mut out: Vec<Name> = Vec::new();
    for r in records {
        if let RData::CNAME(c) = &r.data
            && out.len() < limit
            && !out.contains(&c.0)
        {
            out.push(c.0.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use hickory_proto::op::{MessageType, OpCode};
    use hickory_proto::rr::rdata::{A, CNAME, SOA};

    use super::*;

    fn n(s: &str) -> Name {
        Name::from_str(s).expect("name")
    }
    fn cname(from: &str, to: &str) -> Record {
        Record::from_rdata(n(from), 60, RData::CNAME(CNAME(n(to))))
    }
    fn a(owner: &str) -> Record {
        Record::from_rdata(n(owner), 60, RData::A(A::new(198, 18, 0, 1)))
    }

    #[test]
    fn chains_end_in_data_an_open_name_a_loop_or_the_bound() {
        let q = n("www.example.test.");
        let done = [cname("www.example.test.", "edge.cdn.test."), a("edge.cdn.test.")];
        assert_eq!(
            follow(&q, RecordType::A, &done),
            Chain { targets: vec![n("edge.cdn.test.")], end: ChainEnd::Data }
        );
        let open = [cname("WWW.example.test.", "a.test."), cname("a.test.", "b.test.")];
        assert_eq!(follow(&q, RecordType::A, &open).end, ChainEnd::Open(n("b.test.")));
        assert_eq!(follow(&q, RecordType::CNAME, &open).end, ChainEnd::Data);
        let looped = [cname("www.example.test.", "a.test."), cname("a.test.", "www.example.test.")];
        assert_eq!(follow(&q, RecordType::A, &looped).end, ChainEnd::Loop(q.clone()));
        let long: Vec<Record> = (0..20)
            .map(|i| {
                let from =
                    if i == 0 { "www.example.test.".to_owned() } else { format!("h{i}.test.") };
                cname(&from, &format!("h{}.test.", i + 1))
            })
            .collect();
        let c = follow(&q, RecordType::A, &long);
        assert_eq!((c.targets.len(), c.end), (MAX_CHAIN, ChainEnd::TooLong));
        assert_eq!(follow(&q, RecordType::A, &[]).end, ChainEnd::Data, "no answer, no chain");
    }

    #[test]
    fn the_next_name_is_one_the_server_did_not_finish() {
        let q = n("www.example.test.");
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        m.add_answer(cname("www.example.test.", "gone.cloud.test."));
        assert_eq!(next_to_ask(&m, &q, RecordType::A), Some(n("gone.cloud.test.")));
        let mut nx = m.clone();
        nx.metadata.response_code = ResponseCode::NXDomain;
        assert_eq!(next_to_ask(&nx, &q, RecordType::A), None, "NXDOMAIN is about the target");
        let soa = SOA::new(n("cloud.test."), n("h.cloud.test."), 1, 1, 1, 1, 1);
        m.add_authority(Record::from_rdata(n("cloud.test."), 60, RData::SOA(soa)));
        assert_eq!(next_to_ask(&m, &q, RecordType::A), None, "no data for the target");
        let recs =
            [cname("a.test.", "x.test."), cname("b.test.", "X.test."), cname("c.test.", "y.test.")];
        assert_eq!(targets(&recs, 10), vec![n("x.test."), n("y.test.")]);
        assert_eq!(targets(&recs, 1), vec![n("x.test.")]);
    }
}
