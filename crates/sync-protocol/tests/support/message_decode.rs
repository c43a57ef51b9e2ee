//! One frame through the relay's decoding path: the harness of the
//! `message_decode` fuzz target and of the test that replays its corpus (the
//! fuzz target includes this file by path).
//!
//! A frame is shape-checked and decoded; a `sync` or `request` payload is
//! decoded as an Automerge sync message and checked. Nothing may panic, and what
//! decodes must encode and decode again to the same message.

use sync_protocol::Message;

/// Runs one input; panics on a bug.
pub(crate) fn run(data: &[u8]) {
    let Ok(message) = Message::decode(data) else { return };
    let again = Message::decode(&message.encode()).expect("an encoded message decodes");
    assert_eq!(again, message, "a message changed on a round trip");
    if let Message::Sync { data, .. } | Message::Request { data, .. } = &message
        && let Ok(sync) = automerge::sync::Message::decode(data)
    {
        let _ = sync_protocol::sync_message::check(&sync);
    }
}
