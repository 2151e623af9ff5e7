//! Fuzz the DNS reply and zone-transfer paths: one reply judged and
//! written as the prober writes it, and a transfer stream cut two ways.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage::fuzzing::dns_message(data));
