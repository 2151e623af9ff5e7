//! Fuzz the agent protocol's messages (plan request, reply) and the
//! agent's scope file.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage::fuzzing::agent_messages(data));
