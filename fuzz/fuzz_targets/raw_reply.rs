//! Fuzz the SYN scanner's reader of raw-socket bytes: IPv4 TCP and ICMP
//! datagrams, IPv6 TCP segments and ICMPv6 messages.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage::fuzzing::raw_reply(data));
