//! Fuzz the nmap XML reader and its conversion into observation records
//! (`vantage import nmap`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage::fuzzing::nmap_xml(data));
