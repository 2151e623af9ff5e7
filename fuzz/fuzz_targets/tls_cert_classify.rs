//! Fuzz certificate classification: arbitrary bytes as the chain a TLS
//! server sent (split into elements by `vantage::fuzzing::tls_cert_chain`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage::fuzzing::tls_cert(data));
