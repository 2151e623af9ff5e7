//! STARTTLS (issue 5): the preamble's fuzz corpus, and the prober against
//! real STARTTLS servers on 127.0.0.1.

use crate::util::root;

#[test]
fn starttls_fuzz_corpus_runs_through_the_fuzz_entry_point() {
    let dir = root().join("fuzz/corpus/starttls_preamble");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let seed = std::fs::read(entry.expect("entry").path()).expect("read");
        vantage::fuzzing::starttls(&seed);
        // And a few hundred deterministic mutations of it: a cheap
        // stand-in for the fuzzer in every test run.
        for i in 0..300usize {
            let mut bytes = seed.clone();
            if let Some(b) = bytes.get_mut(i.wrapping_mul(7919) % seed.len().max(1)) {
                *b ^= u8::try_from(i % 255).unwrap_or(0) + 1;
            }
            vantage::fuzzing::starttls(&bytes);
        }
        n += 1;
    }
    assert!(n >= 10, "the seed corpus has {n} entries");
}

#[test]
fn a_starttls_service_gives_its_tls_endpoints_the_protocol() {
    use vantage::spec::intent::StartTls;
    let loaded = vantage::spec::load(&root().join("tests/fixtures/good-specs/starttls.yaml"));
    let intent = loaded.intent.expect("a valid spec");
    let by_port: Vec<(u16, Option<StartTls>)> =
        intent.tls_endpoints().iter().map(|e| (e.port, e.starttls)).collect();
    assert_eq!(
        by_port,
        [
            (25, Some(StartTls::Smtp)),
            (110, Some(StartTls::Pop3)),
            (143, Some(StartTls::Imap)),
            (587, Some(StartTls::Smtp)),
            (993, None),
            (5432, Some(StartTls::Postgres)),
        ]
    );
}
