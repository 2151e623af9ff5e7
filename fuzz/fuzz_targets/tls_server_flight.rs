//! Fuzz the reader of a server's TLS/SSLv2 answer, pushed in pieces of
//! fuzzer-chosen sizes, and the suite enumeration it drives.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage::fuzzing::tls_server_flight(data));
