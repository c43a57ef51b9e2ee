//! Fuzz target: one websocket frame through the relay's decoding path.
#![no_main]

#[path = "../../crates/sync-protocol/tests/support/message_decode.rs"]
mod message_decode;

libfuzzer_sys::fuzz_target!(|data: &[u8]| message_decode::run(data));
