//! Replies as data: each crafted message and how it is judged.

use std::str::FromStr as _;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::*;
use crate::observe::{MAX_DNS_RECORDS, MAX_DNS_TEXT};

fn n(s: &str) -> Name {
    Name::from_str(s).expect("name")
}

fn q() -> Question {
    Question::new("www.example.test", RecordType::A, true).expect("name")
}

fn reply(id: u16) -> Message {
    let mut m = Message::new(id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.authoritative = true;
    m.add_query(Query::query(n("www.example.test."), RecordType::A));
    m
}

fn a(owner: &str, last: u8) -> Record {
    Record::from_rdata(n(owner), 300, RData::A(A::new(198, 18, 10, last)))
}

fn bytes(m: &Message) -> Vec<u8> {
    m.to_vec().expect("encodes")
}

#[test]
fn only_a_response_with_our_id_and_question_is_an_answer() {
    let mut ok = reply(7);
    ok.add_answer(a("www.example.test.", 10));
    assert!(matches!(judge(&bytes(&ok), 7, &q()), Judged::Answer(_)));
    assert_eq!(judge(&bytes(&ok), 8, &q()), Judged::NotOurs("another id"));
    let mut query = ok.clone();
    query.metadata.message_type = MessageType::Query;
    assert_eq!(judge(&bytes(&query), 7, &q()), Judged::NotOurs("not a response"));
    let mut other = reply(7);
    other.queries[0] = Query::query(n("mail.example.test."), RecordType::A);
    assert_eq!(judge(&bytes(&other), 7, &q()), Judged::NotOurs("another question"));
    let mut aaaa = reply(7);
    aaaa.queries[0] = Query::query(n("www.example.test."), RecordType::AAAA);
    assert_eq!(judge(&bytes(&aaaa), 7, &q()), Judged::NotOurs("another question"));
    let mut two = reply(7);
    two.add_query(Query::query(n("www.example.test."), RecordType::A));
    assert_eq!(judge(&bytes(&two), 7, &q()), Judged::NotOurs("another question"));
    // The question's case does not matter (RFC 4343; 0x20 mixing).
    let mut upper = reply(7);
    upper.queries[0] = Query::query(n("WwW.EXAMPLE.test."), RecordType::A);
    assert!(matches!(judge(&bytes(&upper), 7, &q()), Judged::Answer(_)));
    assert_eq!(judge(&[0, 7, 0x80], 7, &q()), Judged::NotOurs("shorter than a DNS header"));
    assert_eq!(judge(&[], 7, &q()), Judged::NotOurs("shorter than a DNS header"));
}

#[test]
fn errors_without_the_question_are_answers_but_data_is_not() {
    let mut refused = Message::new(7, MessageType::Response, OpCode::Query);
    refused.metadata.response_code = ResponseCode::Refused;
    assert!(matches!(judge(&bytes(&refused), 7, &q()), Judged::Answer(_)));
    let mut data = Message::new(7, MessageType::Response, OpCode::Query);
    data.add_answer(a("www.example.test.", 66));
    assert_eq!(judge(&bytes(&data), 7, &q()), Judged::NotOurs("another question"));
}

#[test]
fn truncation_asks_for_tcp_even_when_the_rest_is_cut() {
    let mut tc = reply(7);
    tc.metadata.truncation = true;
    tc.add_answer(a("www.example.test.", 10));
    let mut b = bytes(&tc);
    assert_eq!(judge(&b, 7, &q()), Judged::Truncated);
    b.truncate(b.len() - 3);
    assert_eq!(judge(&b, 7, &q()), Judged::Truncated);
}

#[test]
fn malformed_messages_are_remembered_not_taken() {
    let mut ok = reply(7);
    ok.add_answer(a("www.example.test.", 10));
    let b = bytes(&ok);
    // Cut inside the answer record.
    let cut = &b[..b.len() - 2];
    assert!(matches!(judge(cut, 7, &q()), Judged::Malformed(DnsError::Malformed { .. })));
    // A compression pointer to itself in the answer's owner name: the
    // question ends at byte 12 + 18 + 4 = 34, the owner starts there.
    let mut looped = b.clone();
    looped[34] = 0xc0;
    looped[35] = 34;
    assert!(matches!(judge(&looped, 7, &q()), Judged::Malformed(_)));
    // A pointer forward, past the end.
    looped[35] = 0xff;
    assert!(matches!(judge(&looped, 7, &q()), Judged::Malformed(_)));
    // The answer count says more records than there are.
    let mut more = b.clone();
    more[7] = 200;
    assert!(matches!(judge(&more, 7, &q()), Judged::Malformed(_)));
    // Garbage after a valid header with our id and a question count of 1.
    let mut garbage = b[..12].to_vec();
    garbage.extend_from_slice(&[0x3f; 40]);
    assert!(matches!(judge(&garbage, 7, &q()), Judged::Malformed(_)));
}

#[test]
fn an_answer_is_summarised_for_the_observation() {
    let mut m = reply(7);
    m.metadata.recursion_available = true;
    m.add_answer(Record::from_rdata(
        n("WWW.example.test."),
        60,
        RData::CNAME(CNAME(n("Edge.example.test."))),
    ));
    m.add_answer(a("edge.example.test.", 10));
    let s = Summary::of(&m, &q());
    assert_eq!(s.rcode, "NOERROR");
    assert!(s.authoritative && s.recursion_available);
    assert_eq!(s.answers.seen, 2);
    let values: Vec<_> = s
        .answers
        .records
        .iter()
        .map(|r| (r.name.as_str(), r.rtype.as_str(), r.value.as_str()))
        .collect();
    assert_eq!(
        values,
        [
            ("www.example.test", "CNAME", "edge.example.test"),
            ("edge.example.test", "A", "198.18.10.10")
        ]
    );
    assert_eq!(s.authority, None);

    let soa = |owner: &str| {
        Record::from_rdata(
            n(owner),
            300,
            RData::SOA(SOA::new(n("ns1.example.test."), n("h.example.test."), 1, 1, 1, 1, 1)),
        )
    };
    let mut nx = reply(7);
    nx.metadata.response_code = ResponseCode::NXDomain;
    nx.add_authority(soa("Example.TEST."));
    let s = Summary::of(&nx, &q());
    assert_eq!((s.rcode.as_str(), s.authority.as_deref()), ("NXDOMAIN", Some("example.test")));

    let apex = q().with_type(RecordType::SOA);
    let mut found = reply(7);
    found.queries[0] = Query::query(n("www.example.test."), RecordType::SOA);
    found.add_answer(soa("example.test."));
    assert_eq!(Summary::of(&found, &apex).authority.as_deref(), Some("example.test"));
}

#[test]
fn huge_answers_are_kept_within_the_line_bounds() {
    let mut m = reply(7);
    for i in 0..400u32 {
        m.add_answer(a("www.example.test.", (i % 250) as u8));
    }
    let s = Summary::of(&m, &q());
    assert_eq!((s.answers.seen, s.answers.records.len()), (400, MAX_DNS_RECORDS));

    let mut txt = reply(7);
    let big = vec![b'\\'; 8000];
    for _ in 0..60 {
        txt.add_answer(Record::from_rdata(
            n("www.example.test."),
            1,
            RData::TXT(TXT::from_bytes(vec![&big[..]])),
        ));
    }
    let s = Summary::of(&txt, &q());
    let text: usize = s.answers.records.iter().map(|r| r.name.len() + r.value.len()).sum();
    assert!(text <= MAX_DNS_TEXT, "{text}");
    assert_eq!(s.answers.seen, 60);
    assert!(s.answers.records.len() < 60);
}
