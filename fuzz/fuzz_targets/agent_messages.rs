//! Fuzz the agent protocol's messages (plan request, reply, a dialling
//! agent's hello) and the agent's scope file.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| vantage::fuzzing::agent_messages(data));
