//! The reader against hostile and broken files, as a table of (input,
//! expected outcome); each case is read both from memory and from disk, and
//! the two must agree.

use super::*;

const H: &str = r#"{"kind":"header","schema_version":1,"tool":"vantage","version":"0.1.0","spec":"s.yaml","spec_digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","vantage":"outside","shard_index":0,"shard_count":1,"seed":1,"mode":"connect","started":"2026-03-01T12:00:00.000Z","probes_planned":3}"#;
const P: &str = r#"{"kind":"port","target":"198.18.10.10","proto":"tcp","port":22,"state":"open","reason":"connected","attempts":1,"rtt_us":812,"banner":"SSH-2.0-x\\r\\n","at":"2026-03-01T12:00:00.100Z"}"#;
const F: &str = r#"{"kind":"filtered","target":"198.18.10.10","proto":"tcp","count":2,"ports":"23-24","attempts":2,"reason":"no-response"}"#;
const T: &str = r#"{"kind":"trailer","ended":"2026-03-01T12:00:09.000Z","complete":true,"interrupted":false,"probes_sent":5,"open":1,"closed":0,"filtered":2,"open_filtered":0,"errors":0}"#;

/// What reading a file should give.
#[derive(Debug)]
enum Want {
    /// Facts, filtered lines, whether a trailer was read, the cut-off line.
    Read(usize, usize, bool, Option<usize>),
    /// An error whose message contains this text.
    Refused(&'static str),
}
use Want::{Read as Ok_, Refused};

/// Lines joined by `\n`, each ended by one.
fn lines(parts: &[&str]) -> Vec<u8> {
    parts.iter().flat_map(|l| l.bytes().chain([b'\n'])).collect()
}

/// `parts` joined by `\n`, then the first `keep` bytes of `last` with no `\n`.
fn cut(parts: &[&str], last: &str, keep: usize) -> Vec<u8> {
    let mut out = lines(parts);
    out.extend_from_slice(&last.as_bytes()[..keep]);
    out
}

fn cases() -> Vec<(&'static str, Vec<u8>, Want)> {
    let h2 = H.replace(r#""schema_version":1"#, r#""schema_version":2"#);
    let h_str_version = H.replace(r#""schema_version":1"#, r#""schema_version":"1""#);
    let h_no_version = H.replace(r#""schema_version":1,"#, "");
    let h_bad_shard = H.replace(r#""shard_index":0"#, r#""shard_index":1"#);
    let p_port0 = P.replace(r#""port":22"#, r#""port":0"#);
    let p_extra = P.replace(r#""attempts":1"#, r#""attempts":1,"note":"x""#);
    let huge = format!(r#"{{"kind":"port","banner":"{}"}}"#, "x".repeat(MAX_LINE_BYTES));
    vec![
        (
            "empty file",
            vec![],
            Refused(
                "t.jsonl:1: expected a header line (`\"kind\":\"header\"`), found an empty file",
            ),
        ),
        (
            "only a newline",
            b"\n".to_vec(),
            Refused(
                "t.jsonl:1: expected a header line (`\"kind\":\"header\"`), found a blank line",
            ),
        ),
        ("header only", lines(&[H]), Ok_(0, 0, false, None)),
        ("complete", lines(&[H, P, F, T]), Ok_(1, 1, true, None)),
        ("facts after filtered", lines(&[H, F, P, P, T]), Ok_(2, 1, true, None)),
        ("no trailer", lines(&[H, P, F]), Ok_(1, 1, false, None)),
        (
            "whole last line without newline",
            lines(&[H, P, T]).strip_suffix(b"\n").map(<[u8]>::to_vec).unwrap_or_default(),
            Ok_(1, 0, true, None),
        ),
        ("CRLF line ends", format!("{H}\r\n{P}\r\n{T}\r\n").into_bytes(), Ok_(1, 0, true, None)),
        ("cut-off fact", cut(&[H, P], P, 40), Ok_(1, 0, false, Some(3))),
        ("cut-off fact, one byte", cut(&[H, P], P, 1), Ok_(1, 0, false, Some(3))),
        (
            "cut-off fact, all but the brace",
            cut(&[H, P], P, P.len() - 1),
            Ok_(1, 0, false, Some(3)),
        ),
        ("cut-off trailer", cut(&[H, P, F], T, 30), Ok_(1, 1, false, Some(4))),
        (
            "cut inside a multi-byte character",
            [lines(&[H]), b"{\"kind\":\"port\",\"banner\":\"\xc3".to_vec()].concat(),
            Ok_(0, 0, false, Some(2)),
        ),
        (
            "cut-off header",
            cut(&[], H, 25),
            Refused(
                "t.jsonl:1: expected a header line (`\"kind\":\"header\"`), found a cut-off line",
            ),
        ),
        (
            "header missing",
            lines(&[P, T]),
            Refused(
                r#"t.jsonl:1: expected a header line (`"kind":"header"`), found a "port" record"#,
            ),
        ),
        (
            "first line without kind",
            lines(&[r#"{"schema_version":1}"#]),
            Refused("found a line without a \"kind\" string"),
        ),
        (
            "first line not an object",
            lines(&["[1,2]"]),
            Refused("found a line without a \"kind\" string"),
        ),
        (
            "first line not json",
            lines(&["hello", H]),
            Refused("t.jsonl:1: malformed record: expected value (column 1)"),
        ),
        (
            "byte order mark",
            [b"\xef\xbb\xbf".to_vec(), lines(&[H])].concat(),
            Refused("t.jsonl:1: malformed record"),
        ),
        (
            "future schema",
            lines(&[&h2, P]),
            Refused("t.jsonl:1: schema_version 2 is not supported; this vantage reads version 1"),
        ),
        (
            "schema_version as a string",
            lines(&[&h_str_version]),
            Refused("t.jsonl:1: malformed record: invalid type: string \"1\", expected u32"),
        ),
        (
            "schema_version missing",
            lines(&[&h_no_version]),
            Refused("t.jsonl:1: malformed record: missing field `schema_version`"),
        ),
        (
            "shard out of range",
            lines(&[&h_bad_shard]),
            Refused(
                "t.jsonl:1: invalid header record: `shard_index` is 1, expected less than shard_count 1",
            ),
        ),
        (
            "garbage middle line",
            lines(&[H, "garbage", P]),
            Refused("t.jsonl:2: malformed record: expected value (column 1)"),
        ),
        (
            "cut-off middle line",
            [cut(&[H, P], P, 40), b"\n".to_vec(), lines(&[P])].concat(),
            Refused("t.jsonl:3: malformed record: EOF while parsing"),
        ),
        (
            "junk last line without newline",
            [lines(&[H, P]), b"\x00\xff\xfe".to_vec()].concat(),
            Refused("t.jsonl:3: malformed record"),
        ),
        (
            "blank middle line",
            lines(&[H, "", P]),
            Refused("t.jsonl:2: malformed record: a blank line"),
        ),
        (
            "trailing blank line",
            lines(&[H, P, ""]),
            Refused("t.jsonl:3: malformed record: a blank line"),
        ),
        (
            "unknown field",
            lines(&[H, &p_extra]),
            Refused("t.jsonl:2: malformed record: unknown field `note`"),
        ),
        (
            "unknown kind",
            lines(&[H, r#"{"kind":"host"}"#]),
            Refused("t.jsonl:2: malformed record: unknown variant `host`"),
        ),
        (
            "invalid value",
            lines(&[H, &p_port0]),
            Refused("t.jsonl:2: invalid port record: `port` is 0, expected 1-65535"),
        ),
        ("huge line", lines(&[H, &huge, P]), Refused("t.jsonl:2: line is longer than 65536 bytes")),
        (
            "huge last line without newline",
            [lines(&[H]), huge.clone().into_bytes()].concat(),
            Refused("t.jsonl:2: line is longer than 65536 bytes"),
        ),
        ("huge first line", lines(&[&huge]), Refused("t.jsonl:1: line is longer than 65536 bytes")),
        ("second header", lines(&[H, P, H, P]), Refused("t.jsonl:3: a second header")),
        (
            "two files concatenated",
            [lines(&[H, P, T]), lines(&[H, P, T])].concat(),
            Refused("t.jsonl:4: a \"header\" record after the trailer on line 3"),
        ),
        (
            "record after trailer",
            lines(&[H, T, P]),
            Refused("t.jsonl:3: a \"port\" record after the trailer on line 2"),
        ),
        (
            "second trailer",
            lines(&[H, T, T]),
            Refused("t.jsonl:3: a \"trailer\" record after the trailer on line 2"),
        ),
        (
            "cut-off line after trailer",
            cut(&[H, T], P, 10),
            Refused("t.jsonl:3: a cut-off line after the trailer on line 2"),
        ),
        (
            "junk after trailer",
            lines(&[H, T, "}"]),
            Refused("t.jsonl:3: an unreadable line after the trailer on line 2"),
        ),
        (
            "binary junk",
            (0..=255u8).cycle().take(5000).collect(),
            Refused("t.jsonl:1: malformed record"),
        ),
        (
            "binary junk without newlines",
            vec![0xff; 100_000],
            Refused("t.jsonl:1: line is longer than 65536 bytes"),
        ),
        (
            "deep nesting",
            lines(&[
                H,
                &format!(r#"{{"kind":"port","x":{}{}}}"#, "[".repeat(5000), "]".repeat(5000)),
            ]),
            Refused("t.jsonl:2: malformed record: recursion limit exceeded"),
        ),
        (
            "deep nesting first",
            lines(&[&format!("{}{}", "[".repeat(5000), "]".repeat(5000))]),
            Refused("t.jsonl:1: malformed record: recursion limit exceeded"),
        ),
    ]
}

fn outcome(
    result: Result<ObservationFile, ObserveError>,
) -> Result<(usize, usize, bool, Option<usize>), String> {
    result
        .map(|f| (f.facts.len(), f.filtered.len(), f.trailer.is_some(), f.truncated_last_line))
        .map_err(|e| e.to_string())
}

#[test]
fn files_are_read_or_refused_as_the_table_says() {
    let dir = std::env::temp_dir().join(format!("vantage-reader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (i, (name, bytes, want)) in cases().into_iter().enumerate() {
        let got = outcome(parse(&bytes, "t.jsonl"));
        match (&want, &got) {
            (Ok_(f, s, t, c), Ok(g)) => assert_eq!((*f, *s, *t, *c), *g, "{name}"),
            (Refused(text), Err(e)) => {
                assert!(e.contains(text), "{name}: got {e:?}, want {text:?}")
            }
            _ => panic!("{name}: got {got:?}, want {want:?}"),
        }
        // The file on disk reads exactly as the bytes in memory.
        let path = dir.join(format!("{i}.jsonl"));
        std::fs::write(&path, &bytes).expect("write temp file");
        let from_disk =
            outcome(read(&path)).map_err(|e| e.replace(&path.display().to_string(), "t.jsonl"));
        assert_eq!(from_disk, got, "{name}: read() and parse() disagree");
    }
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

#[test]
fn a_line_exactly_at_the_limit_is_read() {
    // A port line padded with spaces (JSON whitespace) to the limit.
    let mut line = P.to_owned();
    line.push_str(&" ".repeat(MAX_LINE_BYTES - P.len()));
    assert_eq!(line.len(), MAX_LINE_BYTES);
    for bytes in [lines(&[H, &line]), cut(&[H], &line, line.len())] {
        assert_eq!(outcome(parse(&bytes, "t.jsonl")), Ok((1, 0, false, None)));
    }
    let over = lines(&[H, &format!("{line} ")]);
    assert!(outcome(parse(&over, "t.jsonl")).is_err_and(|e| e.contains("longer than")));
}

#[test]
fn a_missing_file_is_a_local_error() {
    let err = read(Path::new("/nonexistent/obs.jsonl")).expect_err("no such file");
    assert!(matches!(err, ObserveError::Io { action: "read", .. }), "{err:?}");
    assert!(err.to_string().starts_with("/nonexistent/obs.jsonl: cannot read: "), "{err}");
}

#[test]
fn the_records_are_the_ones_written() {
    let file = parse(&lines(&[H, P, F, T]), "t.jsonl").expect("valid");
    assert_eq!(file.header.vantage, "outside");
    assert_eq!(file.facts[0].banner.as_deref(), Some("SSH-2.0-x\\r\\n"));
    assert_eq!(file.filtered[0].port_set().map(|s| s.iter().collect::<Vec<_>>()), Ok(vec![23, 24]));
    assert!(file.is_complete());
    let killed = parse(&cut(&[H, P], T, 10), "t.jsonl").expect("tolerated");
    assert!(!killed.is_complete());
}
