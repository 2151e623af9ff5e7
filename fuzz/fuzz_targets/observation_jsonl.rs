//! Fuzz the observation reader: JSON Lines bytes -> checked records, and
//! decode -> encode -> decode of everything it accepts.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage::fuzzing::observations(data));
