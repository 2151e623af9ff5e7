//! The STARTTLS preambles against scripted servers, friendly and hostile.

use super::*;

/// Runs a preamble against a server that sends `chunks` one per read (and
/// then closes): the commands we sent, and how it ended.
fn drive(protocol: Protocol, chunks: &[&[u8]]) -> (Vec<&'static [u8]>, Result<(), StartTlsError>) {
    let mut p = Preamble::new(protocol);
    let mut sent = Vec::new();
    let mut chunks = chunks.iter();
    let mut step = Ok(p.start());
    for _ in 0..10_000 {
        step = match step {
            Ok(Step::Send(bytes)) => {
                sent.push(bytes);
                p.push(&[])
            }
            Ok(Step::Receive) => match chunks.next() {
                Some(chunk) => p.push(chunk),
                None => return (sent, Err(p.close())),
            },
            Ok(Step::StartTls) => return (sent, Ok(())),
            Err(e) => return (sent, Err(e)),
        };
    }
    panic!("the preamble does not end");
}

/// The same server, one byte per read.
fn drive_bytewise(
    protocol: Protocol,
    stream: &[u8],
) -> (Vec<&'static [u8]>, Result<(), StartTlsError>) {
    let chunks: Vec<&[u8]> = stream.chunks(1).collect();
    drive(protocol, &chunks)
}

fn refusal(r: &Result<(), StartTlsError>) -> Option<Refusal> {
    match r {
        Err(StartTlsError::Refused { refusal, .. }) => Some(*refusal),
        _ => None,
    }
}

#[test]
fn names_round_trip() {
    for p in Protocol::ALL {
        assert_eq!(Protocol::from_name(p.name()), Some(p));
    }
    assert_eq!(Protocol::from_name("SMTP"), None, "names are lower-case");
    assert_eq!(Protocol::from_name("ftp"), None);
    assert_eq!(SSL_REQUEST, [&8u32.to_be_bytes()[..], &80_877_103u32.to_be_bytes()[..]].concat());
}

#[test]
fn smtp_with_a_multi_line_greeting_and_reply() {
    let greeting: &[u8] = b"220-mail.example.test ESMTP\r\n220-no UCE\r\n220 welcome\r\n";
    let ehlo: &[u8] = b"250-mail.example.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-starttls\r\n250 8BITMIME\r\n";
    let go: &[u8] = b"220 2.0.0 Ready to start TLS\r\n";
    let (sent, end) = drive(Protocol::Smtp, &[greeting, ehlo, go]);
    assert_eq!(sent, [EHLO, SMTP_STARTTLS]);
    assert_eq!(end, Ok(()));
    // However TCP cuts it, and with bare LF line ends.
    let stream = [greeting, ehlo, go].concat();
    assert_eq!(drive_bytewise(Protocol::Smtp, &stream), (vec![EHLO, SMTP_STARTTLS], Ok(())));
    let lf = b"220 hi\n250-x\n250 STARTTLS\n220 go\n";
    assert_eq!(drive_bytewise(Protocol::Smtp, lf).1, Ok(()));
    // A bare code is a complete last line.
    assert_eq!(
        drive(Protocol::Smtp, &[b"220\r\n", b"250-x\r\n250 STARTTLS\r\n", b"220\r\n"]).1,
        Ok(())
    );
}

#[test]
fn smtp_refusals_say_which() {
    let ehlo_plain: &[u8] = b"250-mail.example.test\r\n250-SIZE 1000\r\n250 AUTH PLAIN\r\n";
    let (sent, end) = drive(Protocol::Smtp, &[b"220 hi\r\n", ehlo_plain]);
    assert_eq!(sent, [EHLO], "no STARTTLS is sent to a server that did not offer it");
    assert_eq!(refusal(&end), Some(Refusal::NotAdvertised));
    let e = end.expect_err("refused");
    assert_eq!(e.reply(), ehlo_plain, "the EHLO reply is the evidence");
    assert_eq!(
        e.to_string(),
        "SMTP: the server does not offer STARTTLS: its EHLO reply does not list STARTTLS"
    );
    // A server that calls itself STARTTLS does not offer it.
    let named = drive(Protocol::Smtp, &[b"220 hi\r\n", b"250 STARTTLS\r\n"]);
    assert_eq!(refusal(&named.1), Some(Refusal::NotAdvertised));
    // An extension that merely starts with the word is another extension.
    let other = drive(Protocol::Smtp, &[b"220 hi\r\n", b"250-x\r\n250 STARTTLSX\r\n"]);
    assert_eq!(refusal(&other.1), Some(Refusal::NotAdvertised));
    let cases: [(&[&[u8]], Refusal); 4] = [
        (&[b"554 no service for you\r\n"], Refusal::Greeting),
        (&[b"421-busy\r\n421 try later\r\n"], Refusal::Greeting),
        (&[b"220 hi\r\n", b"502 5.5.2 what\r\n"], Refusal::EhloRefused),
        (
            &[b"220 hi\r\n", b"250-x\r\n250 STARTTLS\r\n", b"454 4.7.0 TLS not available\r\n"],
            Refusal::Command,
        ),
    ];
    for (server, want) in cases {
        let (_, end) = drive(Protocol::Smtp, server);
        assert_eq!(refusal(&end), Some(want), "{server:?}: {end:?}");
        assert_eq!(end.expect_err("refused").reply(), *server.last().expect("a reply"));
    }
}

#[test]
fn imap_pop3_and_postgres() {
    let imap: [&[u8]; 2] = [
        b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n",
        b"* CAPABILITY IMAP4rev1\r\na001 OK Begin TLS\r\n",
    ];
    assert_eq!(drive(Protocol::Imap, &imap), (vec![IMAP_STARTTLS], Ok(())));
    assert_eq!(drive_bytewise(Protocol::Imap, &imap.concat()), (vec![IMAP_STARTTLS], Ok(())));
    let pop3: [&[u8]; 2] = [b"+OK POP3 ready\r\n", b"+OK begin TLS\r\n"];
    assert_eq!(drive(Protocol::Pop3, &pop3), (vec![POP3_STLS], Ok(())));
    assert_eq!(drive_bytewise(Protocol::Pop3, &pop3.concat()), (vec![POP3_STLS], Ok(())));
    assert_eq!(drive(Protocol::Postgres, &[b"S"]), (vec![SSL_REQUEST], Ok(())));

    let cases: [(Protocol, &[&[u8]], Refusal); 7] = [
        (Protocol::Imap, &[b"* OK hi\r\n", b"a001 BAD unknown command\r\n"], Refusal::Command),
        (Protocol::Imap, &[b"* OK hi\r\n", b"a001 NO not now\r\n"], Refusal::Command),
        (Protocol::Imap, &[b"* PREAUTH logged in\r\n"], Refusal::Greeting),
        (Protocol::Imap, &[b"* BYE go away\r\n"], Refusal::Greeting),
        (Protocol::Pop3, &[b"+OK hi\r\n", b"-ERR unknown command\r\n"], Refusal::Command),
        (Protocol::Pop3, &[b"-ERR busy\r\n"], Refusal::Greeting),
        (Protocol::Postgres, &[b"N"], Refusal::NoSsl),
    ];
    for (protocol, server, want) in cases {
        let (_, end) = drive(protocol, server);
        assert_eq!(refusal(&end), Some(want), "{protocol} {server:?}: {end:?}");
    }
    // A PostgreSQL ErrorResponse is a refusal, its message the evidence.
    let error: &[u8] = b"EFATAL: unsupported frontend protocol\0";
    let (_, end) = drive(Protocol::Postgres, &[error]);
    assert_eq!(refusal(&end), Some(Refusal::Command));
    assert_eq!(end.expect_err("refused").reply(), error);
}

#[test]
fn garbage_is_malformed() {
    let cases: [(Protocol, &[&[u8]]); 8] = [
        (Protocol::Smtp, &[b"HTTP/1.1 400 Bad Request\r\n"]),
        (Protocol::Smtp, &[b"22\r\n"]),
        (Protocol::Smtp, &[b"220_hi\r\n"]),
        (Protocol::Smtp, &[b"220-hi\r\n250 mixed codes\r\n"]),
        (Protocol::Imap, &[b"+OK this is POP3\r\n"]),
        (Protocol::Imap, &[b"* OK hi\r\n", b"a002 OK wrong tag\r\n"]),
        (Protocol::Pop3, &[b"SSH-2.0-OpenSSH_9.6\r\n"]),
        (Protocol::Postgres, &[b"X"]),
    ];
    for (protocol, server) in cases {
        let (_, end) = drive(protocol, server);
        assert!(
            matches!(end, Err(StartTlsError::Malformed { .. })),
            "{protocol} {server:?}: {end:?}"
        );
    }
}

#[test]
fn endless_and_huge_replies_are_cut_off() {
    // A multi-line reply that never ends.
    let endless: Vec<u8> = b"220-more\r\n".repeat(1000);
    let (_, end) = drive(Protocol::Smtp, &[&endless]);
    assert_eq!(
        end,
        Err(StartTlsError::Oversized {
            protocol: Protocol::Smtp,
            what: "reply (lines)",
            limit: MAX_LINES
        })
    );
    // The same, one byte at a time.
    assert_eq!(drive_bytewise(Protocol::Smtp, &endless).1, end);
    // IMAP's untagged lines before the tagged reply, likewise.
    let mut imap = b"* OK hi\r\n".to_vec();
    imap.extend(b"* spam\r\n".repeat(1000));
    assert!(matches!(
        drive_bytewise(Protocol::Imap, &imap).1,
        Err(StartTlsError::Oversized { what: "reply (lines)", .. })
    ));
    // A line that never ends, and one that ends too late.
    let flood = vec![b'A'; 100_000];
    let (_, end) = drive(Protocol::Pop3, &[&flood]);
    assert_eq!(
        end,
        Err(StartTlsError::Oversized { protocol: Protocol::Pop3, what: "line", limit: MAX_LINE })
    );
    assert_eq!(drive_bytewise(Protocol::Pop3, &flood[..MAX_LINE + 10]).1, end);
    let mut long = vec![b'2'; MAX_LINE];
    long.extend(b"\r\n");
    assert!(matches!(
        drive(Protocol::Smtp, &[&long]).1,
        Err(StartTlsError::Oversized { what: "line", .. })
    ));
    // Many long lines, each within limits: the preamble as a whole is capped.
    let mut big = b"* OK hi\r\n".to_vec();
    let line = [b"* ".as_slice(), &[b'x'; 4000], b"\r\n"].concat();
    for _ in 0..20 {
        big.extend(&line);
    }
    assert!(matches!(
        drive(Protocol::Imap, &[&big]).1,
        Err(StartTlsError::Oversized { what: "preamble", limit: MAX_PREAMBLE, .. })
    ));
}

#[test]
fn silence_and_closes_name_the_stage() {
    // An implicit-TLS server waits for a ClientHello: no greeting comes.
    let p = Preamble::new(Protocol::Smtp);
    assert_eq!(p.timed_out().to_string(), "SMTP: the greeting did not come before the deadline");
    let mut p = Preamble::new(Protocol::Smtp);
    assert_eq!(p.push(b"220 hi\r\n"), Ok(Step::Send(EHLO)));
    assert_eq!(p.push(b"250-half a reply\r\n250-SIZ"), Ok(Step::Receive));
    let e = p.timed_out();
    assert_eq!(e.to_string(), "SMTP: the EHLO reply did not come before the deadline");
    assert_eq!(e.reply(), b"250-half a reply\r\n250-SIZ", "what came of it is evidence");
    let (_, end) = drive(Protocol::Smtp, &[b"220 hi\r\n", b"250-x\r\n"]);
    assert_eq!(
        end.map_err(|e| e.to_string()),
        Err("SMTP: the server closed the connection during the EHLO reply".to_owned())
    );
    let (_, end) = drive(Protocol::Postgres, &[]);
    assert!(matches!(end, Err(StartTlsError::Closed { stage: "the SSLRequest reply", .. })));
}

#[test]
fn bytes_after_the_go_ahead_are_refused() {
    // Sent with the go-ahead (CVE-2011-0411's injection, seen from the
    // client side): they would be read as the server's TLS.
    let (_, end) = drive(
        Protocol::Smtp,
        &[b"220 hi\r\n", b"250-x\r\n250 STARTTLS\r\n", b"220 go\r\n250 injected\r\n"],
    );
    assert_eq!(end, Err(StartTlsError::EarlyData { protocol: Protocol::Smtp, len: 14 }));
    let (_, end) = drive(Protocol::Postgres, &[b"SX"]);
    assert_eq!(end, Err(StartTlsError::EarlyData { protocol: Protocol::Postgres, len: 1 }));
    // Or before our command, answering it early: the same.
    let (sent, end) = drive(Protocol::Pop3, &[b"+OK hi\r\n+OK go\r\n\x16\x03"]);
    assert_eq!(sent, [POP3_STLS]);
    assert_eq!(end, Err(StartTlsError::EarlyData { protocol: Protocol::Pop3, len: 2 }));
}

#[test]
fn evidence_is_bounded() {
    let mut reply = b"250-x\r\n".to_vec();
    for _ in 0..40 {
        reply.extend(b"250-SOMETHING-RATHER-LONG-TO-FILL-THE-EVIDENCE\r\n");
    }
    reply.extend(b"250 END\r\n");
    let (_, end) = drive(Protocol::Smtp, &[b"220 hi\r\n", &reply]);
    let e = end.expect_err("not advertised");
    assert_eq!(e.reply(), &reply[..EVIDENCE_BYTES]);
}
