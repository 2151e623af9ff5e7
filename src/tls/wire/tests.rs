//! Tests of the flight reader and the enumerator against hand-built server
//! answers (and the recorded ones in `tests/data/tls/`), plus a live check
//! against `openssl s_server` on 127.0.0.1 that skips when openssl is
//! missing. Test-only: declared `#[cfg(test)]` from `mod.rs`.

use super::reader::Reader;
use super::*;

const SSLV3_FLIGHT: &[u8] = include_bytes!("../../../tests/data/tls/sslv3-server-hello.bin");
const SSLV2_HELLO: &[u8] = include_bytes!("../../../tests/data/tls/sslv2-server-hello.bin");
const SSLV2_ERROR: &[u8] = include_bytes!("../../../tests/data/tls/sslv2-no-cipher-error.bin");
const OPENSSL_TLS12: &[u8] = include_bytes!("../../../tests/data/tls/tls12-openssl-flight.bin");
const OPENSSL_TLS13: &[u8] =
    include_bytes!("../../../tests/data/tls/tls13-openssl-server-hello.bin");

// ---- builders for server answers ----

fn record(ty: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![ty];
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&u16::try_from(payload.len()).expect("small").to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn u24(n: usize) -> [u8; 3] {
    let [_, a, b, c] = u32::try_from(n).expect("small").to_be_bytes();
    [a, b, c]
}

fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![ty];
    out.extend_from_slice(&u24(body.len()));
    out.extend_from_slice(body);
    out
}

fn ext(ty: u16, data: &[u8]) -> Vec<u8> {
    let mut out = ty.to_be_bytes().to_vec();
    out.extend_from_slice(&u16::try_from(data.len()).expect("small").to_be_bytes());
    out.extend_from_slice(data);
    out
}

fn server_hello_body(version: u16, random: [u8; 32], suite: u16, exts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = version.to_be_bytes().to_vec();
    b.extend_from_slice(&random);
    b.push(4);
    b.extend_from_slice(b"sess");
    b.extend_from_slice(&suite.to_be_bytes());
    b.push(0);
    let all: Vec<u8> = exts.concat();
    b.extend_from_slice(&u16::try_from(all.len()).expect("small").to_be_bytes());
    b.extend_from_slice(&all);
    b
}

fn certificate(chain: &[&[u8]]) -> Vec<u8> {
    let mut list = Vec::new();
    for c in chain {
        list.extend_from_slice(&u24(c.len()));
        list.extend_from_slice(c);
    }
    let mut body = u24(list.len()).to_vec();
    body.extend_from_slice(&list);
    handshake(11, &body)
}

fn ecdhe_ske(group: u16) -> Vec<u8> {
    let mut b = vec![3];
    b.extend_from_slice(&group.to_be_bytes());
    b.push(65);
    b.extend_from_slice(&[4; 65]);
    b.extend_from_slice(&[4, 1, 0, 2, 0xaa, 0xbb]); // a signature
    handshake(12, &b)
}

/// A TLS 1.2 flight: ServerHello, Certificate, ServerKeyExchange,
/// ServerHelloDone, all in one handshake message stream.
fn tls12_messages(suite: u16) -> Vec<u8> {
    let sh = server_hello_body(0x0303, [7; 32], suite, &[ext(0xff01, &[0]), ext(11, &[1, 0])]);
    [
        handshake(2, &sh),
        certificate(&[b"leaf-der", b"intermediate-der"]),
        ecdhe_ske(0x0017),
        handshake(14, &[]),
    ]
    .concat()
}

fn tls13_server_hello(suite: u16, hrr: bool, group: u16) -> Vec<u8> {
    let random = if hrr { HRR } else { [9; 32] };
    let key_share = if hrr {
        group.to_be_bytes().to_vec()
    } else {
        let mut k = group.to_be_bytes().to_vec();
        k.extend_from_slice(&[0, 32]);
        k.extend_from_slice(&[1; 32]);
        k
    };
    let body = server_hello_body(0x0303, random, suite, &[ext(43, &[3, 4]), ext(51, &key_share)]);
    record(22, 0x0303, &handshake(2, &body))
}

const HRR: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Feeds `bytes` in pieces of `chunk` bytes; returns the first answer or
/// error, or what `close()` says at the end.
fn read_in_chunks(bytes: &[u8], chunk: usize) -> Result<Option<ServerAnswer>, WireError> {
    let mut r = FlightReader::new();
    for piece in bytes.chunks(chunk) {
        if let Some(a) = r.push(piece)? {
            return Ok(Some(a));
        }
    }
    r.close()
}

fn hello_of(answer: Result<Option<ServerAnswer>, WireError>) -> Box<ServerHello> {
    match answer {
        Ok(Some(ServerAnswer::ServerHello(h))) => h,
        other => panic!("expected a ServerHello, got {other:?}"),
    }
}

// ---- the flight reader ----

#[test]
fn tls12_flight_reads_the_same_whole_or_byte_by_byte() {
    let flight = record(22, 0x0303, &tls12_messages(0xc02f));
    let whole = read_in_chunks(&flight, flight.len());
    for chunk in [1, 2, 3, 5, 7, 64] {
        assert_eq!(read_in_chunks(&flight, chunk), whole, "pieces of {chunk}");
    }
    let h = hello_of(whole);
    assert_eq!(h.version, ProtocolVersion::TLS12);
    assert_eq!(h.suite, CipherSuite(0xc02f));
    assert_eq!(h.session_id, b"sess");
    assert_eq!(h.chain, vec![b"leaf-der".to_vec(), b"intermediate-der".to_vec()]);
    assert_eq!(h.key_exchange, Some(KeyExchangeParams::Ecdh { group: NamedGroup::SECP256R1 }));
    assert_eq!(h.selected_group, Some(NamedGroup::SECP256R1));
    assert_eq!(
        h.extensions,
        vec![ExtensionType::RENEGOTIATION_INFO, ExtensionType::EC_POINT_FORMATS]
    );
    assert!(h.complete && !h.is_hello_retry && h.error_after.is_none());
}

#[test]
fn handshake_messages_split_across_records() {
    // Every handshake message cut into records of 3 bytes, then pushed one
    // byte at a time: messages span records and records span pushes.
    let msgs = tls12_messages(0xc013);
    let mut flight = Vec::new();
    for piece in msgs.chunks(3) {
        flight.extend_from_slice(&record(22, 0x0303, piece));
    }
    let h = hello_of(read_in_chunks(&flight, 1));
    assert_eq!(h.suite, CipherSuite(0xc013));
    assert_eq!(h.chain.len(), 2);
    assert!(h.complete);
}

#[test]
fn dhe_key_exchange_reports_the_prime_size() {
    let sh = server_hello_body(0x0303, [7; 32], 0x0033, &[]);
    let mut ske = Vec::new();
    ske.extend_from_slice(&[0x00, 0x81, 0x00, 0x80]); // 129-byte p with a zero byte: 1024 bits
    ske.extend_from_slice(&[0xff; 127]);
    ske.extend_from_slice(&[0, 1, 2, 0, 1, 5]); // g = 2, Ys = 5
    let flight =
        record(22, 0x0303, &[handshake(2, &sh), handshake(12, &ske), handshake(14, &[])].concat());
    let h = hello_of(read_in_chunks(&flight, 10));
    assert_eq!(h.key_exchange, Some(KeyExchangeParams::Dh { prime_bits: 1024 }));
}

#[test]
fn stapled_ocsp_and_certificate_request() {
    let sh = server_hello_body(0x0303, [7; 32], 0x002f, &[ext(5, &[])]);
    let mut status = vec![1];
    status.extend_from_slice(&u24(4));
    status.extend_from_slice(b"ocsp");
    let msgs = [
        handshake(2, &sh),
        certificate(&[b"leaf"]),
        handshake(22, &status),
        handshake(13, &[1, 1, 0, 0, 0, 0]),
        handshake(14, &[]),
    ]
    .concat();
    let h = hello_of(read_in_chunks(&record(22, 0x0303, &msgs), 4));
    assert_eq!(h.ocsp_response.as_deref(), Some(&b"ocsp"[..]));
    assert!(h.certificate_requested && h.complete);
}

#[test]
fn tls13_stops_at_the_server_hello() {
    let mut flight = tls13_server_hello(0x1301, false, 0x001d);
    // What follows is encrypted; the reader must not need or read it.
    flight.extend_from_slice(&record(20, 0x0303, &[1]));
    flight.extend_from_slice(&record(23, 0x0303, &[0xee; 40]));
    let h = hello_of(read_in_chunks(&flight, 1));
    assert_eq!((h.version, h.legacy_version), (ProtocolVersion::TLS13, ProtocolVersion::TLS12));
    assert_eq!(h.selected_group, Some(NamedGroup::X25519));
    assert!(h.complete && !h.is_hello_retry);
}

#[test]
fn hello_retry_request_names_the_group() {
    let h = hello_of(read_in_chunks(&tls13_server_hello(0x1302, true, 0x0018), 2));
    assert!(h.is_hello_retry);
    assert_eq!(h.selected_group, Some(NamedGroup::SECP384R1));
    assert_eq!(h.suite, CipherSuite(0x1302));
}

#[test]
fn alerts_before_and_after_the_hello() {
    let alert = record(21, 0x0303, &[2, 40]);
    let expected =
        Alert { level: AlertLevel::FATAL, description: AlertDescription::HANDSHAKE_FAILURE };
    assert_eq!(read_in_chunks(&alert, 1), Ok(Some(ServerAnswer::Alert(expected))));
    let sh = server_hello_body(0x0303, [7; 32], 0x002f, &[]);
    let mut flight = record(22, 0x0303, &handshake(2, &sh));
    flight.extend_from_slice(&record(21, 0x0303, &[2, 80]));
    let h = hello_of(read_in_chunks(&flight, 1));
    assert_eq!(h.alert_after.map(|a| a.description), Some(AlertDescription::INTERNAL_ERROR));
    assert!(!h.complete);
    // An alert record with trailing bytes is malformed.
    let bad = record(21, 0x0303, &[2, 40, 0]);
    assert!(matches!(read_in_chunks(&bad, 1), Err(WireError::Malformed { what: "alert", .. })));
}

#[test]
fn recorded_sslv3_server_hello() {
    let h = hello_of(read_in_chunks(SSLV3_FLIGHT, 1));
    assert_eq!((h.record_version, h.version), (ProtocolVersion::SSL3, ProtocolVersion::SSL3));
    assert_eq!(h.suite, CipherSuite(0x000a));
    assert!(h.extensions.is_empty() && h.complete);
    assert_eq!(h.session_id.len(), 32);
    assert_eq!(h.chain.len(), 1);
    assert_eq!(h.chain.first().and_then(|c| c.first()), Some(&0x30), "a DER SEQUENCE");
}

#[test]
fn recorded_openssl_answers() {
    // openssl s_server 3.0.19 (-serverpref) answering our TLS 1.2 hello,
    // and our TLS 1.3 hello.
    let h = hello_of(read_in_chunks(OPENSSL_TLS12, 1));
    assert_eq!((h.version, h.suite), (ProtocolVersion::TLS12, CipherSuite(0xc030)));
    assert!(h.complete && h.chain.len() == 1);
    assert_eq!(h.key_exchange, Some(KeyExchangeParams::Ecdh { group: NamedGroup::X25519 }));
    let h = hello_of(read_in_chunks(OPENSSL_TLS13, 1));
    assert_eq!(h.version, ProtocolVersion::TLS13);
    assert_eq!(h.selected_group, Some(NamedGroup::X25519));
    assert_eq!(h.session_id, [0x5a; 32], "our legacy session id, echoed");
}

#[test]
fn the_fuzz_corpus_runs_through_the_fuzz_entry_point() {
    // The tls_server_flight target's seeds, through its own function, in
    // every test run.
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/tls_server_flight");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the corpus folder") {
        let data = std::fs::read(entry.expect("an entry").path()).expect("a seed");
        crate::fuzzing::tls_server_flight(&data);
        n += 1;
    }
    assert!(n >= 8, "seeds in {}", dir.display());
}

#[test]
fn recorded_sslv2_server_hello_and_error() {
    let Ok(Some(ServerAnswer::Ssl2ServerHello(h))) = read_in_chunks(SSLV2_HELLO, 1) else {
        panic!("an SSLv2 server hello");
    };
    assert_eq!(h.version, ProtocolVersion::SSL2);
    assert_eq!(
        h.cipher_specs,
        vec![Ssl2CipherSpec(0x01_0080), Ssl2CipherSpec(0x07_00c0), Ssl2CipherSpec(0x02_0080)]
    );
    assert_eq!(h.certificate.first(), Some(&0x30));
    assert!(!h.session_id_hit);
    assert_eq!(read_in_chunks(SSLV2_ERROR, 1), Ok(Some(ServerAnswer::Ssl2Error { code: 1 })));
}

#[test]
fn plaintext_answers_are_not_tls_and_kept_as_evidence() {
    let http = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    let Ok(Some(ServerAnswer::NotTls { first_bytes })) = read_in_chunks(http, 1) else {
        panic!("not TLS");
    };
    assert_eq!(first_bytes, b"HTTP/1.1 400 Bad Request\r\n");
    let ssh = b"SSH-2.0-OpenSSH_9.6";
    assert_eq!(
        read_in_chunks(ssh, 3),
        Ok(Some(ServerAnswer::NotTls { first_bytes: ssh.to_vec() })),
        "a banner without a newline is reported on close"
    );
    // A handshake type byte followed by something other than version 3.
    assert!(matches!(read_in_chunks(b"\x16\x48\x54", 1), Ok(Some(ServerAnswer::NotTls { .. }))));
    // Garbage with the high bit set that is not an SSLv2 message.
    assert!(matches!(
        read_in_chunks(&[0x85, 0x00, 0x09, 1], 1),
        Ok(Some(ServerAnswer::NotTls { .. }))
    ));
}

#[test]
fn silence_and_truncation() {
    assert_eq!(read_in_chunks(&[], 1), Ok(None));
    assert_eq!(read_in_chunks(&[22], 1), Err(WireError::Truncated { what: "record", have: 1 }));
    let flight = record(22, 0x0303, &tls12_messages(0xc02f));
    // Cut inside the ServerHello record: nothing to report but truncation.
    let e = read_in_chunks(flight.get(..20).expect("short"), 1).expect_err("truncated");
    assert!(matches!(e, WireError::Truncated { what: "record", .. }), "{e:?}");
    // Cut after the ServerHello's own record: the hello is still
    // reported, incomplete.
    let msgs = tls12_messages(0xc02f);
    let sh_len = 4 + 2 + 32 + 5 + 2 + 1 + 2 + 5 + 6;
    let (sh, rest) = msgs.split_at(sh_len);
    let mut flight = record(22, 0x0303, sh);
    flight.extend_from_slice(record(22, 0x0303, rest).get(..30).expect("short"));
    let h = hello_of(read_in_chunks(&flight, 1));
    assert!(!h.complete && h.chain.is_empty());
    // A handshake message split across records, then the connection ends.
    let partial = record(22, 0x0303, &[2, 0, 0, 80, 3, 3]);
    let e = read_in_chunks(&partial, 1).expect_err("truncated");
    assert!(matches!(e, WireError::Truncated { what: "handshake message", have: 6 }), "{e:?}");
}

#[test]
fn oversized_lengths_are_errors_not_allocations() {
    // A record announcing 65 535 bytes.
    let e = read_in_chunks(&[22, 3, 3, 0xff, 0xff], 1).expect_err("oversized");
    assert!(matches!(e, WireError::Oversized { what: "record", len: 65_535, .. }), "{e:?}");
    // A ServerHello announcing 16 MB.
    let e = read_in_chunks(&record(22, 0x0303, &[2, 0xff, 0xff, 0xff]), 1).expect_err("oversized");
    assert!(matches!(e, WireError::Oversized { what: "handshake message", .. }), "{e:?}");
    // A 16 MB Certificate after a good ServerHello: the hello survives.
    let sh = server_hello_body(0x0303, [7; 32], 0x002f, &[]);
    let mut msgs = handshake(2, &sh);
    msgs.extend_from_slice(&[11, 0xff, 0xff, 0xff]);
    let h = hello_of(read_in_chunks(&record(22, 0x0303, &msgs), 1));
    assert!(matches!(h.error_after, Some(WireError::Oversized { .. })), "{:?}", h.error_after);
    // The whole flight is capped, however it is cut into records.
    let mut r = FlightReader::new();
    let junk = record(22, 0x0303, &[0; 16_000]);
    let mut last = Ok(None);
    for _ in 0..20 {
        last = r.push(&junk);
        if !matches!(last, Ok(None)) {
            break;
        }
    }
    // Zero bytes read as HelloRequest messages (type 0, length 0), so the
    // cap, not a parse error, ends it.
    assert!(matches!(last, Err(WireError::Oversized { what: "server flight", .. })), "{last:?}");
}

#[test]
fn length_fields_that_lie_are_malformed_with_an_offset() {
    // Session id length 40: over 32.
    let mut sh = server_hello_body(0x0303, [7; 32], 0x002f, &[]);
    if let Some(b) = sh.get_mut(34) {
        *b = 40;
    }
    let e = read_in_chunks(&record(22, 0x0303, &handshake(2, &sh)), 1).expect_err("malformed");
    assert!(matches!(e, WireError::Malformed { what: "ServerHello", .. }), "{e:?}");
    // An extension claiming more bytes than the extensions block holds.
    let sh = server_hello_body(0x0303, [7; 32], 0x002f, &[vec![0, 43, 0, 9, 3, 4]]);
    let e = read_in_chunks(&record(22, 0x0303, &handshake(2, &sh)), 1).expect_err("malformed");
    assert!(
        matches!(
            e,
            WireError::Malformed { what: "ServerHello", offset: 48, expected: "extension data" }
        ),
        "{e:?}"
    );
    // A duplicate extension.
    let sh = server_hello_body(0x0303, [7; 32], 0x002f, &[ext(11, &[1, 0]), ext(11, &[1, 0])]);
    let e = read_in_chunks(&record(22, 0x0303, &handshake(2, &sh)), 1).expect_err("malformed");
    assert!(matches!(e, WireError::Malformed { expected: "each extension at most once", .. }));
    // A certificate list whose inner length runs past the list.
    let sh = server_hello_body(0x0303, [7; 32], 0x002f, &[]);
    let bad_cert = handshake(11, &[0, 0, 5, 0, 0, 9, 1, 2]);
    let h =
        hello_of(read_in_chunks(&record(22, 0x0303, &[handshake(2, &sh), bad_cert].concat()), 1));
    assert!(matches!(h.error_after, Some(WireError::Malformed { what: "Certificate", .. })));
    // A message other than ServerHello first.
    let e = read_in_chunks(&record(22, 0x0303, &handshake(11, &[0, 0, 0])), 1).expect_err("order");
    assert!(matches!(e, WireError::Unexpected { expected: "ServerHello", .. }), "{e:?}");
}

#[test]
fn the_reader_is_done_after_an_answer() {
    let mut r = FlightReader::new();
    let alert = record(21, 0x0303, &[2, 70]);
    assert!(matches!(r.push(&alert), Ok(Some(ServerAnswer::Alert(_)))));
    assert_eq!(r.push(&alert), Ok(None));
    assert_eq!(r.close(), Ok(None));
}

// ---- a fake server for the enumerator ----

/// What a test server sees in one of our ClientHellos.
struct Offer {
    suites: Vec<CipherSuite>,
    version: ProtocolVersion,
    groups: Vec<NamedGroup>,
}

/// Reads our own ClientHello back (test-only; the codec never reads hellos).
fn read_offer(rec: &[u8]) -> Offer {
    let mut r = Reader::new(rec, "test record");
    assert_eq!(r.u8("type").expect("type"), 22);
    r.u16("version").expect("version");
    let mut msg = r.sub_u16("record").expect("record");
    assert_eq!(msg.u8("type").expect("type"), 1);
    let mut body = msg.sub_u24("hello").expect("hello");
    let legacy = ProtocolVersion(body.u16("version").expect("v"));
    body.take(32, "random").expect("random");
    body.sub_u8("session").expect("session");
    let mut s = body.sub_u16("suites").expect("suites");
    let mut suites = Vec::new();
    while !s.is_empty() {
        suites.push(CipherSuite(s.u16("suite").expect("suite")));
    }
    body.sub_u8("compression").expect("compression");
    let mut version = legacy;
    let mut groups = Vec::new();
    if !body.is_empty() {
        let mut exts = body.sub_u16("exts").expect("exts");
        while !exts.is_empty() {
            let ty = exts.u16("ty").expect("ty");
            let mut data = exts.sub_u16("data").expect("data");
            if ty == 43 {
                let mut list = data.sub_u8("versions").expect("versions");
                version = ProtocolVersion(list.u16("v").expect("v"));
            }
            if ty == 10 {
                let mut list = data.sub_u16("groups").expect("groups");
                while !list.is_empty() {
                    groups.push(NamedGroup(list.u16("group").expect("group")));
                }
            }
        }
    }
    Offer { suites, version, groups }
}

/// A server that speaks `versions`, accepts `accepted` (in its order of
/// preference) and either imposes that order or follows the client's.
struct FakeServer {
    versions: Vec<ProtocolVersion>,
    accepted: Vec<CipherSuite>,
    server_order: bool,
}

impl FakeServer {
    fn answer(&self, hello: &[u8]) -> Answer {
        let offer = read_offer(hello);
        if !self.versions.contains(&offer.version) {
            return flight(&record(21, 0x0301, &[2, 70]));
        }
        let choice = if self.server_order {
            self.accepted.iter().find(|s| offer.suites.contains(s))
        } else {
            offer.suites.iter().find(|s| self.accepted.contains(s))
        };
        let Some(suite) = choice else { return flight(&record(21, 0x0303, &[2, 40])) };
        if offer.version == ProtocolVersion::TLS13 {
            return flight(&tls13_server_hello(suite.0, false, 0x001d));
        }
        let sh = server_hello_body(offer.version.0, [1; 32], suite.0, &[]);
        let msgs = [handshake(2, &sh), certificate(&[b"cert"]), handshake(14, &[])].concat();
        flight(&record(22, offer.version.0, &msgs))
    }
}

fn flight(bytes: &[u8]) -> Answer {
    match read_in_chunks(bytes, 7) {
        Ok(Some(a)) => Answer::Flight(a),
        Ok(None) => Answer::Closed,
        Err(e) => Answer::Malformed(e),
    }
}

fn run(mut e: Enumeration, answer: impl Fn(&[u8]) -> Answer) -> VersionResult {
    let mut guard = 0;
    while let Some(hello) = e.next_hello() {
        e = e.on_answer(answer(&hello));
        guard += 1;
        assert!(guard < 1_000, "the enumeration must end");
    }
    e.finish()
}

#[test]
fn a_chain_over_the_cap_is_kept_as_the_versions_error_after() {
    // Every hello answered with a ServerHello choosing the first suite
    // offered, then a Certificate announcing 16 MB: each suite is still
    // accepted, and the result says why no chain came with them.
    let e = Enumeration::new(ProtocolVersion::TLS12, &suites(&[0xc02f, 0x002f]));
    let r = run(e, |hello| {
        let offer = read_offer(hello);
        let sh = server_hello_body(0x0303, [7; 32], offer.suites[0].0, &[]);
        let mut msgs = handshake(2, &sh);
        msgs.extend_from_slice(&[11, 0xff, 0xff, 0xff]);
        flight(&record(22, 0x0303, &msgs))
    });
    assert_eq!(r.accepted, suites(&[0xc02f, 0x002f]));
    assert!(r.chain.is_empty());
    assert!(
        matches!(r.error_after, Some(WireError::Oversized { len: 0xff_ffff, .. })),
        "{:?}",
        r.error_after
    );
}

fn suites(codes: &[u16]) -> Vec<CipherSuite> {
    codes.iter().map(|c| CipherSuite(*c)).collect()
}

#[test]
fn elimination_finds_every_accepted_suite_in_server_order() {
    let accepted = suites(&[0xc030, 0x009d, 0xc02f, 0x002f]);
    let server = FakeServer {
        versions: vec![ProtocolVersion::TLS12],
        accepted: accepted.clone(),
        server_order: true,
    };
    let e = Enumeration::new(ProtocolVersion::TLS12, &candidates(ProtocolVersion::TLS12));
    let r = run(e, |h| server.answer(h));
    assert_eq!(r.accepted, accepted, "server preference order");
    assert_eq!(r.server_order, Some(true));
    // accepted + one refusal per bundle of 128, plus two order probes.
    let bundles = candidates(ProtocolVersion::TLS12).len().div_ceil(128);
    assert_eq!(r.handshakes, accepted.len() + bundles + 2);
    assert_eq!(r.chain, vec![b"cert".to_vec()]);
    assert!(r.bugs.is_empty());
    assert!(r.alerts.iter().all(|a| a.description == AlertDescription::HANDSHAKE_FAILURE));
}

#[test]
fn elimination_sees_a_server_that_follows_the_client() {
    let server = FakeServer {
        versions: vec![ProtocolVersion::TLS12],
        accepted: suites(&[0x002f, 0xc02f, 0x0035]),
        server_order: false,
    };
    let r = run(
        Enumeration::new(ProtocolVersion::TLS12, &suites(&[0xc02f, 0x0035, 0x002f, 0x000a])),
        |h| server.answer(h),
    );
    assert_eq!(r.accepted, suites(&[0xc02f, 0x0035, 0x002f]), "our order");
    assert_eq!(r.server_order, Some(false));
    assert_eq!(r.handshakes, 3 + 1 + 2);
}

#[test]
fn accepted_suites_beyond_the_first_bundle_are_found() {
    let all = candidates(ProtocolVersion::TLS12);
    let late = *all.get(200).expect("more than 200 candidates");
    let server = FakeServer {
        versions: vec![ProtocolVersion::TLS12],
        accepted: vec![late, CipherSuite(0xc02f)],
        server_order: true,
    };
    let r = run(Enumeration::new(ProtocolVersion::TLS12, &all), |h| server.answer(h));
    assert_eq!(r.accepted.len(), 2);
    assert!(r.accepted.contains(&late) && r.accepted.contains(&CipherSuite(0xc02f)));
}

#[test]
fn tls13_enumeration_and_group() {
    let server = FakeServer {
        versions: vec![ProtocolVersion::TLS12, ProtocolVersion::TLS13],
        accepted: suites(&[0x1302, 0x1301, 0x1303]),
        server_order: true,
    };
    let r =
        run(Enumeration::new(ProtocolVersion::TLS13, &candidates(ProtocolVersion::TLS13)), |h| {
            server.answer(h)
        });
    assert_eq!(r.accepted, suites(&[0x1302, 0x1301, 0x1303]));
    assert_eq!(r.group, Some(NamedGroup::X25519));
    assert_eq!(r.server_order, Some(true));
}

#[test]
fn an_unoffered_choice_is_a_server_bug_not_an_acceptance() {
    let r = run(Enumeration::new(ProtocolVersion::TLS12, &suites(&[0x002f, 0x0035])), |_| {
        let sh = server_hello_body(0x0303, [1; 32], 0x0005, &[]);
        flight(&record(22, 0x0303, &[handshake(2, &sh), handshake(14, &[])].concat()))
    });
    assert!(r.accepted.is_empty());
    assert_eq!(r.bugs, vec![ServerBug::UnofferedSuite(CipherSuite(0x0005))]);
    assert_eq!(r.handshakes, 1);
}

#[test]
fn refusals_end_each_bundle() {
    for (answer, refusal) in [
        (Answer::Closed, Refusal::Closed),
        (Answer::TimedOut, Refusal::TimedOut),
        (
            flight(&[22, 3, 3, 0xff, 0xff]),
            Refusal::Malformed(WireError::Oversized {
                what: "record",
                len: 65_535,
                limit: MAX_RECORD,
            }),
        ),
    ] {
        let r = run(
            Enumeration::new(ProtocolVersion::TLS12, &candidates(ProtocolVersion::TLS12)),
            |_| answer.clone(),
        );
        let bundles = candidates(ProtocolVersion::TLS12).len().div_ceil(128);
        assert_eq!(r.handshakes, bundles);
        assert!(r.refusals.iter().all(|x| *x == refusal), "{:?}", r.refusals);
        assert!(!r.supported());
    }
}

#[test]
fn a_lower_version_answer_means_the_version_is_refused() {
    let r =
        run(Enumeration::new(ProtocolVersion::TLS12, &candidates(ProtocolVersion::TLS12)), |_| {
            let sh = server_hello_body(0x0301, [1; 32], 0x002f, &[]);
            flight(&record(22, 0x0301, &[handshake(2, &sh), handshake(14, &[])].concat()))
        });
    assert_eq!(r.handshakes, 1);
    assert_eq!(r.refusals, vec![Refusal::LowerVersion(ProtocolVersion::TLS10)]);
    assert!(!r.supported());
}

#[test]
fn a_plaintext_server_ends_everything_at_once() {
    let mut p = VersionProbe::new(&ProtocolVersion::ALL, HelloOptions::default());
    let mut n = 0;
    while p.next_hello().is_some() {
        p = p.on_answer(flight(b"HTTP/1.0 400 Bad Request\r\n\r\n"));
        n += 1;
    }
    assert_eq!(n, 1);
    let results = p.finish();
    assert_eq!(results.len(), 1);
    assert_eq!(
        results.first().and_then(|r| r.not_tls.clone()),
        Some(b"HTTP/1.0 400 Bad Request\r\n".to_vec())
    );
}

#[test]
fn sslv2_enumeration_reads_the_listed_specs() {
    let e = Enumeration::new(ProtocolVersion::SSL2, &[]);
    let hello = e.next_hello().expect("one hello");
    assert_eq!(hello.first().map(|b| b & 0x80), Some(0x80), "an SSLv2 record");
    let r = run(e, |_| flight(SSLV2_HELLO));
    assert_eq!(r.ssl2_cipher_specs.len(), 3);
    assert!(r.supported() && r.chain.len() == 1);
    let r = run(Enumeration::new(ProtocolVersion::SSL2, &[]), |_| flight(SSLV2_ERROR));
    assert_eq!(r.refusals, vec![Refusal::Ssl2Error(1)]);
}

#[test]
fn version_probe_finds_the_spoken_versions() {
    let server = FakeServer {
        versions: vec![ProtocolVersion::TLS12, ProtocolVersion::TLS13],
        accepted: suites(&[0x1301, 0xc02f, 0x002f]),
        server_order: true,
    };
    let mut p = VersionProbe::new(&ProtocolVersion::ALL, HelloOptions::default());
    while let Some(hello) = p.next_hello() {
        let answer = if p.version() == Some(ProtocolVersion::SSL2) {
            Answer::Closed
        } else {
            server.answer(&hello)
        };
        p = p.on_answer(answer);
    }
    let supported: Vec<ProtocolVersion> =
        p.finish().iter().filter(|r| r.supported()).map(|r| r.version).collect();
    assert_eq!(supported, vec![ProtocolVersion::TLS12, ProtocolVersion::TLS13]);
}

// ---- group enumeration ----

/// A server speaking `version` with `groups` in its order of preference.
fn group_server(version: ProtocolVersion, groups: &[u16]) -> impl Fn(&[u8]) -> Answer {
    let groups: Vec<NamedGroup> = groups.iter().map(|g| NamedGroup(*g)).collect();
    move |hello| {
        let offer = read_offer(hello);
        assert_eq!(offer.version, version);
        let Some(g) = groups.iter().find(|g| offer.groups.contains(g)) else {
            return flight(&record(21, 0x0303, &[2, 40]));
        };
        let suite = offer.suites.first().expect("a suite").0;
        if version == ProtocolVersion::TLS13 {
            // A HelloRetryRequest when our key share is not for its group.
            let hrr = !matches!(g.0, 0x001d | 0x0017);
            return flight(&tls13_server_hello(suite, hrr, g.0));
        }
        let sh = server_hello_body(0x0303, [1; 32], suite, &[]);
        flight(&record(
            22,
            0x0303,
            &[handshake(2, &sh), ecdhe_ske(g.0), handshake(14, &[])].concat(),
        ))
    }
}

fn run_groups(mut e: GroupEnumeration, answer: impl Fn(&[u8]) -> Answer) -> GroupResult {
    let mut guard = 0;
    while let Some(hello) = e.next_hello() {
        e = e.on_answer(answer(&hello));
        guard += 1;
        assert!(guard < 100, "the enumeration must end");
    }
    e.finish()
}

#[test]
fn tls13_groups_by_elimination_through_hello_retry_requests() {
    let v = ProtocolVersion::TLS13;
    let server = group_server(v, &[0x0018, 0x001d, 0x0100]);
    let e = GroupEnumeration::new(v, &GroupEnumeration::known(v), HelloOptions::default());
    let r = run_groups(e, server);
    assert_eq!(r.accepted, vec![NamedGroup::SECP384R1, NamedGroup::X25519, NamedGroup::FFDHE2048]);
    assert_eq!(r.handshakes, 4);
    assert!(matches!(r.refusals.as_slice(), [Refusal::Alert(_)]));
}

#[test]
fn tls12_curves_from_the_server_key_exchange() {
    let v = ProtocolVersion::TLS12;
    let server = group_server(v, &[0x0017, 0x0019]);
    let known = GroupEnumeration::known(v);
    assert!(known.iter().all(|g| g.0 < 0x0100), "no finite-field groups in 1.2");
    let r = run_groups(GroupEnumeration::new(v, &known, HelloOptions::default()), server);
    assert_eq!(r.accepted, vec![NamedGroup::SECP256R1, NamedGroup::SECP521R1]);
    assert!(r.bugs.is_empty());
}

#[test]
fn an_unoffered_group_is_a_bug() {
    let v = ProtocolVersion::TLS13;
    let r = run_groups(
        GroupEnumeration::new(v, &[NamedGroup::X25519], HelloOptions::default()),
        |_| flight(&tls13_server_hello(0x1301, true, 0x0018)),
    );
    assert!(r.accepted.is_empty());
    assert_eq!(r.bugs, vec![ServerBug::UnofferedGroup(NamedGroup::SECP384R1)]);
}

// ---- live: our hellos against openssl s_server on 127.0.0.1 ----

mod live {
    //! Starts `openssl s_server` on 127.0.0.1 (never anything else), runs a
    //! version probe and a TLS 1.2 and 1.3 enumeration against it over real
    //! TCP, and stops it by its process handle. Skips when openssl is
    //! missing or cannot start. Set `VANTAGE_TLS_CAPTURE_DIR` to keep the
    //! raw answers (that is how `tests/data/tls/tls1*-openssl-*.bin` were
    //! made).

    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    use super::super::*;

    struct Server {
        child: Child,
        dir: std::path::PathBuf,
        addr: SocketAddr,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn openssl(args: &[&str], dir: &std::path::Path) -> bool {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn start(extra: &[&str]) -> Option<Server> {
        let dir = std::env::temp_dir().join(format!(
            "vantage-tls-live-{}-{}",
            std::process::id(),
            extra.len()
        ));
        std::fs::create_dir_all(&dir).ok()?;
        let key_ok = openssl(
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=test", "-keyout",
                "k.pem", "-out", "c.pem", "-days", "2",
            ],
            &dir,
        );
        if !key_ok {
            let _ = std::fs::remove_dir_all(&dir);
            return None;
        }
        // A free port on loopback: bind, read it, release it.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).ok()?.local_addr().ok()?.port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let accept = addr.to_string();
        let mut args = vec!["s_server", "-accept", &accept, "-cert", "c.pem", "-key", "k.pem"];
        args.extend_from_slice(extra);
        args.push("-www");
        let child = Command::new("openssl")
            .args(&args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = Server { child, dir, addr };
        for _ in 0..100 {
            if TcpStream::connect_timeout(&server.addr, Duration::from_millis(100)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// One hello on a fresh connection; the answer and the raw bytes.
    fn exchange(addr: SocketAddr, hello: &[u8]) -> (Answer, Vec<u8>) {
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
            return (Answer::Closed, Vec::new());
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if s.write_all(hello).is_err() {
            return (Answer::Closed, Vec::new());
        }
        let mut reader = FlightReader::new();
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => {
                    let a = match reader.close() {
                        Ok(Some(a)) => Answer::Flight(a),
                        Ok(None) => Answer::Closed,
                        Err(e) => Answer::Malformed(e),
                    };
                    return (a, raw);
                }
                Ok(n) => {
                    let piece = buf.get(..n).unwrap_or_default();
                    raw.extend_from_slice(piece);
                    match reader.push(piece) {
                        Ok(None) => {}
                        Ok(Some(a)) => return (Answer::Flight(a), raw),
                        Err(e) => return (Answer::Malformed(e), raw),
                    }
                }
                Err(_) => return (Answer::TimedOut, raw),
            }
        }
    }

    fn capture(name: &str, raw: &[u8]) {
        if let Some(dir) = std::env::var_os("VANTAGE_TLS_CAPTURE_DIR") {
            let _ = std::fs::write(std::path::Path::new(&dir).join(name), raw);
        }
    }

    fn enumerate(addr: SocketAddr, version: ProtocolVersion, tag: &str) -> VersionResult {
        let mut e = Enumeration::new(version, &candidates(version));
        let mut first = true;
        while let Some(hello) = e.next_hello() {
            let (answer, raw) = exchange(addr, &hello);
            if first {
                capture(&format!("{version}-{tag}-first-answer.bin"), &raw);
                first = false;
            }
            e = e.on_answer(answer);
        }
        e.finish()
    }

    #[test]
    fn openssl_s_server_answers_our_hellos() {
        let Some(server) = start(&["-cipher", "ALL:@SECLEVEL=0"]) else {
            return; // no openssl here: nothing to check against
        };
        let t13 = enumerate(server.addr, ProtocolVersion::TLS13, "client-order");
        assert_eq!(t13.accepted.len(), 3, "{t13:?}");
        assert!(t13.accepted.contains(&CipherSuite::TLS13_AES_128_GCM_SHA256));
        assert_eq!(t13.group, Some(NamedGroup::X25519));

        let v = ProtocolVersion::TLS13;
        let mut g = GroupEnumeration::new(v, &GroupEnumeration::known(v), HelloOptions::default());
        while let Some(hello) = g.next_hello() {
            g = g.on_answer(exchange(server.addr, &hello).0);
        }
        let groups = g.finish();
        for want in [NamedGroup::X25519, NamedGroup::SECP256R1, NamedGroup::SECP384R1] {
            assert!(groups.accepted.contains(&want), "{want} in {groups:?}");
        }
        assert!(groups.bugs.is_empty(), "{groups:?}");

        let t12 = enumerate(server.addr, ProtocolVersion::TLS12, "client-order");
        assert!(t12.accepted.contains(&CipherSuite::ECDHE_RSA_WITH_AES_128_GCM_SHA256), "{t12:?}");
        assert!(t12.accepted.contains(&CipherSuite::RSA_WITH_AES_128_CBC_SHA));
        assert!(t12.bugs.is_empty(), "{:?}", t12.bugs);
        assert_eq!(t12.chain.len(), 1, "the self-signed certificate");
        assert_eq!(t12.server_order, Some(false), "s_server follows the client by default");
        // Only RSA-authenticated or anonymous suites: the certificate is RSA.
        for s in &t12.accepted {
            let info = s.info().expect("a registry suite");
            assert!(
                matches!(info.auth, Authentication::Rsa | Authentication::Anonymous),
                "{s} needs a key we do not have"
            );
        }
    }

    #[test]
    fn openssl_s_server_version_probe() {
        let Some(server) =
            start(&["-cipher", "ALL:@SECLEVEL=0", "-no_tls1", "-no_tls1_1", "-serverpref"])
        else {
            return;
        };
        let mut p = VersionProbe::new(&ProtocolVersion::ALL, HelloOptions::default());
        while let Some(hello) = p.next_hello() {
            let (answer, _) = exchange(server.addr, &hello);
            p = p.on_answer(answer);
        }
        let results = p.finish();
        let supported: Vec<ProtocolVersion> =
            results.iter().filter(|r| r.supported()).map(|r| r.version).collect();
        assert_eq!(supported, vec![ProtocolVersion::TLS12, ProtocolVersion::TLS13], "{results:?}");
        let t12 = enumerate(server.addr, ProtocolVersion::TLS12, "serverpref");
        assert_eq!(t12.server_order, Some(true), "-serverpref");
    }

    #[test]
    fn openssl_s_server_tls10() {
        // OpenSSL 3 still speaks TLS 1.0 at security level 0 when told to.
        let Some(server) = start(&["-cipher", "ALL:@SECLEVEL=0", "-tls1"]) else {
            return;
        };
        let t10 = enumerate(server.addr, ProtocolVersion::TLS10, "tls1");
        assert!(t10.accepted.contains(&CipherSuite::RSA_WITH_AES_128_CBC_SHA), "{t10:?}");
        for s in &t10.accepted {
            let info = s.info().expect("a registry suite");
            assert!(info.usable_in(ProtocolVersion::TLS10), "{s} is not a TLS 1.0 suite");
        }
        let t12 = enumerate(server.addr, ProtocolVersion::TLS12, "tls1");
        assert!(!t12.supported(), "{t12:?}");
    }
}
