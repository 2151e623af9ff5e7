//! Entry points for the fuzz targets in `fuzz/` (rustls's `internal::fuzzing`
//! pattern): each target is one line calling a function here, so the fuzzed
//! code paths are exactly the ones the tool runs.
//!
//! Invariant: every function here must return normally on any input; a
//! panic is a bug the fuzzer reports.

use std::path::Path;
use std::sync::Arc;

/// Parses, shapes and resolves arbitrary bytes as a spec, then lints and
/// plans it, as `vantage lint` and `vantage plan` would. Any valid intent
/// must also plan (or refuse to plan) without panicking, and its first few
/// probes must be in scope.
pub fn spec(data: &[u8]) {
    let file: Arc<str> = Arc::from("fuzz.yaml");
    // A path in a folder that does not exist, so `include:` and
    // `trusted_ca` never read real files.
    let loaded = crate::spec::load_bytes(Path::new("/nonexistent/fuzz.yaml"), &file, data);
    assert_eq!(
        loaded.intent.is_some(),
        !loaded.has_errors(),
        "an intent exists exactly when there is no error"
    );
    let Some(intent) = loaded.intent else { return };
    let today = jiff::civil::date(2026, 1, 1);
    let _ = crate::lint::lint(&intent, today);
    for v in &intent.vantages {
        if let Ok(plan) = crate::plan::Plan::new(&intent, &v.name, crate::plan::Options::default())
        {
            for p in plan.probes().take(64) {
                assert!(
                    plan.scope().admit(p.target.addr(), None, None).is_some(),
                    "planned target out of scope"
                );
            }
        }
    }
}

/// Reads arbitrary bytes as an observation file, as `verdict` would. When
/// they are accepted, every record must pass the writer's checks and
/// decode → encode → decode to itself, and the re-encoded file must read
/// back equal (minus a skipped cut-off line, which re-encoding drops).
pub fn observations(data: &[u8]) {
    use crate::observe::{self, ObservationFile, Record};

    let Ok(file) = observe::parse(data, "fuzz.jsonl") else { return };
    let records = std::iter::once(Record::Header(file.header.clone()))
        .chain(file.facts.iter().cloned().map(Record::Port))
        .chain(file.filtered.iter().cloned().map(Record::Filtered))
        .chain(file.tls.iter().cloned().map(Record::Tls))
        .chain(file.dns.iter().cloned().map(Record::Dns))
        .chain(file.trailer.clone().map(Record::Trailer));
    let mut encoded = Vec::new();
    for record in records {
        let line = match observe::encode_line(&record) {
            Ok(line) => line,
            Err(e) => panic!("the reader accepted a record the writer refuses ({e}): {record:?}"),
        };
        let again: Record = match serde_json::from_slice(&line) {
            Ok(r) => r,
            Err(e) => panic!("an encoded record does not decode ({e}): {record:?}"),
        };
        assert_eq!(again, record, "decode -> encode -> decode changed a record");
        encoded.extend_from_slice(&line);
    }
    match observe::parse(&encoded, "fuzz.jsonl") {
        Ok(again) => assert_eq!(
            again,
            ObservationFile { truncated_last_line: None, ..file },
            "the re-encoded file reads differently"
        ),
        Err(e) => panic!("the re-encoded file is refused: {e}"),
    }
}

/// Reads arbitrary bytes as nmap XML, as `vantage import nmap` does, and
/// converts whatever parses into observation records: every record must
/// pass the writer's checks (`encode_line`), the file must be one header,
/// facts, one trailer, and the trailer's counts may not exceed the ports
/// the header planned.
pub fn nmap_xml(data: &[u8]) {
    use crate::import::{Context, nmap, observations};
    use crate::observe::{Record, encode_line};
    let Ok(run) = nmap::parse(data) else { return };
    let ctx = Context {
        spec: "fuzz.yaml".to_owned(),
        spec_digest: format!("sha256:{}", "0".repeat(64)),
        vantage: "fuzz".to_owned(),
        now: "2026-03-01T12:00:00.000Z".to_owned(),
    };
    let imported = observations(&run, &ctx);
    for r in &imported.records {
        assert!(encode_line(r).is_ok(), "an imported record breaks the format: {r:?}");
    }
    let (Some(Record::Header(h)), Some(Record::Trailer(t))) =
        (imported.records.first(), imported.records.last())
    else {
        panic!("an import is not header ... trailer")
    };
    let concluded = t.open + t.closed + t.filtered + t.open_filtered;
    assert!(concluded <= h.probes_planned, "{concluded} concluded of {} planned", h.probes_planned);
    assert!(!t.complete || concluded == h.probes_planned);
}

/// Reads arbitrary bytes as everything a SYN scan's raw sockets can hand
/// us: an IPv4 datagram carrying TCP or ICMP, and an IPv6 payload (TCP
/// segment or ICMPv6 message). Whatever reads as TCP over IPv4 must read
/// the same as the bare segment over IPv6 (one TCP reader behind both),
/// and no ICMP error may claim a type other than destination unreachable.
pub fn raw_reply(data: &[u8]) {
    use std::net::{IpAddr, Ipv6Addr};

    use crate::probe::packet;

    let from = Ipv6Addr::LOCALHOST;
    if let Ok(v4) = packet::v4_tcp(data) {
        // The segment starts where the IPv4 header says it ends.
        let ihl = usize::from(data.first().copied().unwrap_or(0) & 0x0f) * 4;
        let segment = data.get(ihl..).unwrap_or_default();
        match packet::v6_tcp(from, segment) {
            Ok(v6) => assert_eq!(
                (v6.sport, v6.dport, v6.seq, v6.ack, v6.flags, v6.from),
                (v4.sport, v4.dport, v4.seq, v4.ack, v4.flags, IpAddr::V6(from)),
                "one segment read two ways"
            ),
            Err(e) => panic!("a segment read over IPv4 is refused bare: {e}"),
        }
    }
    if let Ok(Some(e)) = packet::v4_icmp(data) {
        assert_eq!(e.icmp_type, 3, "only destination unreachable is an answer");
    }
    let _ = packet::v6_tcp(from, data);
    if let Ok(Some(e)) = packet::v6_icmp(from, data) {
        assert_eq!(e.icmp_type, 1, "only destination unreachable is an answer");
    }
}

/// Reads arbitrary bytes as a server's answer to a ClientHello, the way
/// the TLS prober will: the first byte picks the version being probed, the
/// next four the sizes of the pieces the rest arrives in (as TCP might cut
/// it). Whatever the cut, the reader must give the same answer as for the
/// bytes in one piece; and an `Enumeration` fed that answer over and over
/// must end, accept only suites it offered, and accept each at most once.
pub fn tls_server_flight(data: &[u8]) {
    use crate::tls::wire::{
        Answer, Enumeration, FlightReader, GroupEnumeration, HelloOptions, ProtocolVersion,
        ServerAnswer, WireError, candidates,
    };

    let (Some(&pick), Some(sizes)) = (data.first(), data.get(1..5)) else { return };
    let flight = data.get(5..).unwrap_or_default();

    let read = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut reader = FlightReader::new();
        for piece in pieces {
            match reader.push(piece) {
                Ok(None) => {}
                other => return other,
            }
        }
        reader.close()
    };
    // The flight cap's error says how many bytes had arrived, which does
    // depend on the cut; everything else must not.
    let same = |r: Result<Option<ServerAnswer>, WireError>| match r {
        Err(WireError::Oversized { what: "server flight", limit, .. }) => {
            Err(WireError::Oversized { what: "server flight", len: 0, limit })
        }
        Ok(Some(ServerAnswer::ServerHello(mut h))) => {
            if let Some(WireError::Oversized { what: "server flight", limit, .. }) = h.error_after {
                h.error_after = Some(WireError::Oversized { what: "server flight", len: 0, limit });
            }
            Ok(Some(ServerAnswer::ServerHello(h)))
        }
        other => other,
    };
    let whole = same(read(&mut std::iter::once(flight)));
    let mut pieces = pieces(flight, sizes);
    let chunked = same(read(&mut pieces));
    assert_eq!(whole, chunked, "the answer depends on how the bytes were cut");

    let version = match pick % 4 {
        0 => ProtocolVersion::SSL2,
        1 => ProtocolVersion::TLS10,
        2 => ProtocolVersion::TLS12,
        _ => ProtocolVersion::TLS13,
    };
    let answer = match whole {
        Ok(Some(a)) => Answer::Flight(a),
        Ok(None) => Answer::Closed,
        Err(e) => Answer::Malformed(e),
    };
    let offered = candidates(version);
    let mut e = Enumeration::new(version, &offered);
    let mut rounds = 0;
    while e.next_hello().is_some() {
        e = e.on_answer(answer.clone());
        rounds += 1;
        assert!(rounds <= offered.len() + 8, "the enumeration does not end");
    }
    let result = e.finish();
    for (i, s) in result.accepted.iter().enumerate() {
        assert!(offered.contains(s), "accepted {s}, which was never offered");
        assert!(!result.accepted.get(..i).unwrap_or_default().contains(s), "{s} accepted twice");
    }

    // The same for groups (SSLv2 has none: probe 1.3 instead).
    let version = if version == ProtocolVersion::SSL2 { ProtocolVersion::TLS13 } else { version };
    let groups = GroupEnumeration::known(version);
    let mut g = GroupEnumeration::new(version, &groups, HelloOptions::default());
    let mut rounds = 0;
    while g.next_hello().is_some() {
        g = g.on_answer(answer.clone());
        rounds += 1;
        assert!(rounds <= groups.len() + 1, "the group enumeration does not end");
    }
    let result = g.finish();
    for (i, x) in result.accepted.iter().enumerate() {
        assert!(groups.contains(x), "accepted {x}, which was never offered");
        assert!(!result.accepted.get(..i).unwrap_or_default().contains(x), "{x} accepted twice");
    }
}

/// Reads arbitrary bytes as a certificate chain and classifies it, as the
/// TLS policy does with what a server sent. The bytes are split into chain
/// elements by `tls_cert_chain`; the last element doubles as the trust
/// anchor when it parses, so paths that reach an anchor are explored too.
/// The leaf summary must exist exactly when the first element parses, and
/// every problem must name a certificate that was sent.
pub fn tls_cert(data: &[u8]) {
    use crate::tls::cert::{self, CertContext, CertProblem, TrustAnchors};

    let chain = tls_cert_chain(data);
    let anchors = chain
        .last()
        .and_then(|last| TrustAnchors::from_der(std::slice::from_ref(last)).ok())
        .unwrap_or_default();
    let names = ["www.example.test".to_owned()];
    let addresses = [std::net::IpAddr::from([198, 18, 10, 10])];
    let ctx = CertContext {
        now: jiff::Timestamp::from_second(1_767_225_600).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        names: &names,
        addresses: &addresses,
        check_hostname: true,
        anchors: &anchors,
        min_days_left: 14,
        min_rsa_bits: 2048,
        max_lifetime_days: Some(366),
    };
    let report = cert::classify(&chain, &ctx);
    let leaf_malformed =
        report.problems.iter().any(|p| matches!(p, CertProblem::Malformed { position: 0, .. }));
    assert_eq!(
        report.leaf.is_some(),
        !chain.is_empty() && !leaf_malformed,
        "a leaf summary exists exactly when the leaf parses"
    );
    for p in &report.problems {
        let position = match p {
            CertProblem::Expired { cert }
            | CertProblem::Expiring { cert, .. }
            | CertProblem::HostnameInCommonNameOnly { cert, .. }
            | CertProblem::HostnameMismatch { cert, .. }
            | CertProblem::LifetimeTooLong { cert, .. }
            | CertProblem::MissingIntermediate { cert }
            | CertProblem::NotYetValid { cert }
            | CertProblem::SelfSigned { cert }
            | CertProblem::UntrustedIssuer { cert, .. }
            | CertProblem::WeakKey { cert, .. }
            | CertProblem::WeakSignature { cert, .. } => cert.position,
            CertProblem::Malformed { position, .. } => *position,
            CertProblem::WrongOrder { path } => path.iter().copied().max().unwrap_or(0),
            _ => 0,
        };
        assert!(position < chain.len().max(1), "{p:?} names a certificate not sent");
    }
    assert_eq!(cert::classify(&chain, &ctx), report, "classification is deterministic");
}

/// Splits fuzz bytes into chain elements: each is a big-endian `u16`
/// length and that many bytes; a length past the end takes the rest. At
/// most eight elements, as a server's chain is short.
pub fn tls_cert_chain(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut chain = Vec::new();
    while chain.len() < 8 {
        let Some((len, rest)) = data.split_first_chunk::<2>() else { break };
        let len = usize::from(u16::from_be_bytes(*len));
        let (element, rest) = rest.split_at(len.min(rest.len()));
        chain.push(element.to_vec());
        data = rest;
    }
    chain
}

/// Reads arbitrary bytes as a server's side of a STARTTLS preamble, the
/// way the TLS prober does: the first byte picks the protocol, the next
/// four the sizes of the pieces the rest arrives in. The preamble must
/// end (or ask for more) within a bounded number of steps, send only its
/// protocol's commands in order, and decide the same whatever the cut,
/// except for how many early bytes it saw buffered (which depends on it).
pub fn starttls(data: &[u8]) {
    use crate::tls::wire::starttls::{
        EHLO, IMAP_STARTTLS, POP3_STLS, Preamble, Protocol, Refusal, SMTP_STARTTLS, SSL_REQUEST,
        StartTlsError, Step,
    };

    let (Some(&pick), Some(sizes)) = (data.first(), data.get(1..5)) else { return };
    let stream = data.get(5..).unwrap_or_default();
    let protocol = match pick % 4 {
        0 => Protocol::Imap,
        1 => Protocol::Pop3,
        2 => Protocol::Postgres,
        _ => Protocol::Smtp,
    };
    let commands: &[&[u8]] = match protocol {
        Protocol::Imap => &[IMAP_STARTTLS],
        Protocol::Pop3 => &[POP3_STLS],
        Protocol::Postgres => &[SSL_REQUEST],
        Protocol::Smtp => &[EHLO, SMTP_STARTTLS],
    };

    // Runs the preamble over `pieces`; the commands sent and how it ended,
    // with bytes left after the go-ahead counted as early data.
    let run = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut p = Preamble::new(protocol);
        let mut sent: Vec<&'static [u8]> = Vec::new();
        let mut step = Ok(p.start());
        for _ in 0..stream.len() + 8 {
            step = match step {
                Ok(Step::Send(bytes)) => {
                    sent.push(bytes);
                    assert!(sent.len() <= commands.len(), "more commands than the protocol has");
                    p.push(&[])
                }
                Ok(Step::Receive) => match pieces.next() {
                    Some(piece) => p.push(piece),
                    None => return (sent, Err(p.close())),
                },
                Ok(Step::StartTls) => {
                    let left: usize = pieces.map(<[u8]>::len).sum();
                    let end = if left == 0 {
                        Ok(())
                    } else {
                        Err(StartTlsError::EarlyData { protocol, len: 0 })
                    };
                    return (sent, end);
                }
                Err(StartTlsError::EarlyData { protocol, .. }) => {
                    return (sent, Err(StartTlsError::EarlyData { protocol, len: 0 }));
                }
                // What came with an ErrorResponse depends on the cut.
                Err(StartTlsError::Refused { protocol, refusal: Refusal::Command, reply })
                    if protocol == Protocol::Postgres =>
                {
                    let reply = reply.get(..1).unwrap_or_default().to_vec();
                    return (
                        sent,
                        Err(StartTlsError::Refused { protocol, refusal: Refusal::Command, reply }),
                    );
                }
                Err(e) => return (sent, Err(e)),
            };
        }
        panic!("the preamble did not end within {} steps", stream.len() + 8);
    };

    let whole = run(&mut std::iter::once(stream).filter(|s| !s.is_empty()));
    let mut pieces = pieces(stream, sizes);
    let chunked = run(&mut pieces);
    assert_eq!(whole, chunked, "the preamble depends on how the bytes were cut");
    assert!(commands.starts_with(&whole.0), "commands out of order: {:?}", whole.0);
    if whole.1.is_ok() {
        assert_eq!(whole.0, commands, "TLS starts only after every command");
    }
}

/// Reads arbitrary bytes as DNS, the way the prober does, two ways:
///
/// - as one reply (a datagram, or a TCP message): judged against its own
///   question (so the fuzzer reaches past the id and question checks),
///   summarised, and written as the prober writes it: the line must pass
///   the observation contract's checks, whatever the records; the CNAME
///   chain read from it must stay within its bound;
/// - as a TCP stream of a zone transfer: the first byte's low bits pick
///   the pieces' sizes, the rest is cut into frames and fed to a
///   `Transfer` (with the first frame's id) until it ends; whole or cut,
///   the result must be the same, bounded, and its line must pass the
///   checks too.
pub fn dns_message(data: &[u8]) {
    use std::net::SocketAddr;

    use crate::dns::chain::{self, MAX_CHAIN};
    use crate::dns::frame::Frames;
    use crate::dns::{
        Judged, Message, Question, RecordType, Summary, Transfer, TransferStep, judge,
    };
    use crate::observe::{DnsCheck, MAX_DNS_RECORDS, Proto, Record, encode_line};
    use crate::probe::dns::{Ask, fact, transfer_fact};

    let server = SocketAddr::from(([198, 18, 10, 53], 53));
    let at = "2026-03-01T12:00:00.000Z".to_owned();
    let valid = |f: crate::observe::DnsFact| {
        if let Err(e) = encode_line(&Record::Dns(f.clone())) {
            panic!("the prober would write a line the writer refuses ({e}): {f:?}");
        }
    };

    // One reply.
    let asked = Message::from_vec(data).ok().and_then(|m| {
        let q = m.queries.first()?;
        let rd = m.metadata.recursion_desired;
        Some((m.metadata.id, Question::from_name(q.name.clone(), q.query_type, rd).ok()?))
    });
    let (id, question) = asked.unwrap_or_else(|| {
        let id = data.get(..2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
        #[allow(clippy::expect_used, reason = "a constant valid name")]
        let q = Question::new("www.example.test", RecordType::A, true).expect("valid");
        (id, q)
    });
    let ask =
        Ask { server, check: DnsCheck::Expect, question: question.clone(), discovered: false };
    match judge(data, id, &question) {
        Judged::Answer(m) => {
            let c = chain::follow(question.name(), question.rtype(), &m.answers);
            assert!(c.targets.len() <= MAX_CHAIN, "a chain past its bound");
            let _ = chain::next_to_ask(&m, question.name(), question.rtype());
            let s = Summary::of(&m, &question);
            assert!(s.answers.records.len() <= MAX_DNS_RECORDS);
            valid(fact(&ask, Proto::Udp, 1, None, Some(s), None, at.clone()));
        }
        Judged::Malformed(e) => {
            valid(fact(&ask, Proto::Udp, 3, None, None, Some(e.to_string()), at.clone()));
        }
        Judged::Truncated | Judged::NotOurs(_) => {}
    }

    // A transfer stream.
    let Some((&pick, stream)) = data.split_first() else { return };
    let zone = question.with_type(RecordType::AXFR);
    let run = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut frames = Frames::new();
        let mut t: Option<Transfer> = None;
        let mut error = None;
        'outer: for piece in pieces {
            frames.push(piece);
            while let Some(frame) = frames.next_frame() {
                let id = frame.get(..2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
                let transfer = t.get_or_insert_with(|| Transfer::new(id, &zone));
                match transfer.push(&frame) {
                    Ok(TransferStep::More) => {}
                    Ok(TransferStep::Done) => break 'outer,
                    Err(e) => {
                        error = Some(e.to_string());
                        break 'outer;
                    }
                }
            }
        }
        (t.map(Transfer::finish), error)
    };
    let whole = run(&mut std::iter::once(stream));
    let size = usize::from(pick % 7) + 1;
    let cut = run(&mut stream.chunks(size));
    assert_eq!(whole, cut, "the transfer depends on how the stream was cut");
    if let (Some(done), error) = whole {
        assert!(done.records.records.len() <= MAX_DNS_RECORDS);
        let ask = Ask { check: DnsCheck::Axfr, question: zone, ..ask };
        valid(transfer_fact(&ask, done, None, error, at));
    }
}

/// `bytes` cut into pieces of the sizes `sizes` gives in turn (cycled; a
/// 0 counts as 1), so a reader meets the same bytes as one piece and as
/// many: both must decide alike.
fn pieces<'a>(bytes: &'a [u8], sizes: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    let mut rest = bytes;
    let mut cut = sizes.iter().cycle().map(|s| usize::from(*s).max(1));
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = cut.next().unwrap_or(1).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        Some(piece)
    })
}

/// Reads arbitrary bytes as each of the agent protocol's messages (a plan
/// request as the agent reads it, a reply as the controller reads it, a
/// dialling agent's hello as the controller reads it) and as an agent
/// scope file. An accepted message must encode and decode to itself.
pub fn agent_messages(data: &[u8]) {
    use crate::agent::proto::{PlanRequest, Reply};

    if let Ok(request) = PlanRequest::decode(data) {
        let line = request.encode();
        assert_eq!(PlanRequest::decode(&line[..line.len() - 1]).as_ref(), Ok(&request));
    }
    if let Ok(reply) = Reply::decode(data) {
        let line = reply.encode();
        assert_eq!(Reply::decode(&line[..line.len() - 1]).as_ref(), Ok(&reply));
    }
    if let Some(vantage) = crate::agent::parse_hello(data) {
        let line = crate::agent::hello(vantage);
        assert_eq!(crate::agent::parse_hello(&line[..line.len() - 1]), Some(vantage));
    }
    let _ = crate::agent::scope::parse("fuzz-scope.txt", data);
}
