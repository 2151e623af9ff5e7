//! Fuzz the spec pipeline: YAML bytes -> located tree -> shape -> Intent -> lint and plan.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage::fuzzing::spec(data));
