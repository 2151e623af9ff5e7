//! Fuzz the STARTTLS preambles (SMTP, IMAP, POP3, PostgreSQL) with a
//! server's bytes pushed in pieces of fuzzer-chosen sizes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage::fuzzing::starttls(data));
