//! TLS judgement from the outside: the certificate fuzz target's seed
//! corpus runs through its entry point in every test run.
//!
//! The corpus (`fuzz/corpus/tls_cert_classify/`) is the fixtures of
//! `tests/data/tls/certs/` framed as `vantage::fuzzing::tls_cert_chain`
//! reads them (a big-endian `u16` length before each certificate).

use crate::util::root;

#[test]
fn fuzz_corpus_runs_through_the_fuzz_entry_point() {
    let dir = root().join("fuzz/corpus/tls_cert_classify");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        vantage::fuzzing::tls_cert(&bytes);
        n += 1;
    }
    assert!(n >= 5, "the seed corpus has {n} entries");
}

#[test]
fn the_corpus_frames_real_certificates() {
    let seed = std::fs::read(root().join("fuzz/corpus/tls_cert_classify/sha1-leaf-and-root.bin"))
        .expect("seed");
    let chain = vantage::fuzzing::tls_cert_chain(&seed);
    let root_der = std::fs::read(root().join("tests/data/tls/certs/root.der")).expect("root");
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1], root_der);
    assert_eq!(vantage::fuzzing::tls_cert_chain(&[0, 5, 1, 2]), [vec![1, 2]]);
    assert!(vantage::fuzzing::tls_cert_chain(&[7]).is_empty());
}

#[test]
fn mutated_seeds_never_panic() {
    // A few hundred deterministic single-byte mutations of each seed: a
    // cheap stand-in for the fuzzer in every test run.
    let dir = root().join("fuzz/corpus/tls_cert_classify");
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let seed = std::fs::read(entry.expect("entry").path()).expect("read");
        for i in 0..300usize {
            let mut bytes = seed.clone();
            if let Some(b) = bytes.get_mut(i.wrapping_mul(7919) % seed.len().max(1)) {
                *b ^= u8::try_from(i % 255).unwrap_or(0) + 1;
            }
            vantage::fuzzing::tls_cert(&bytes);
        }
    }
}
