//! Fuzz target: one peer's message sequence against the real hub.
#![no_main]

#[path = "../../crates/relay-core/tests/support/hub_sequence.rs"]
#[allow(dead_code, reason = "`encode` serves the seed tool and the tests")]
mod hub_sequence;

libfuzzer_sys::fuzz_target!(|data: &[u8]| hub_sequence::run(data));
