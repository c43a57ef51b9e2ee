//! Turns frames the relay recorded during the end-to-end tests
//! (`KARTOTEKA_RELAY_RECORD_DIR`) into seed corpora for both fuzz targets:
//! each frame as it is for `message_decode`, and each `request`/`sync` payload
//! as a one-frame sequence (as writer and as read-only) for `hub_sequence`.
//!
//! Usage: `cargo run --bin seed_corpus -- RECORDED_DIR` (from `fuzz/`).

#[path = "../../crates/relay-core/tests/support/hub_sequence.rs"]
#[allow(dead_code, reason = "only `encode` is needed here")]
mod hub_sequence;

use sync_protocol::Message;

fn main() -> std::io::Result<()> {
    let recorded = std::env::args().nth(1).expect("usage: seed_corpus RECORDED_DIR");
    let decode_dir = std::path::Path::new("corpus/message_decode");
    let hub_dir = std::path::Path::new("corpus/hub_sequence");
    std::fs::create_dir_all(decode_dir)?;
    std::fs::create_dir_all(hub_dir)?;
    let mut counts = (0, 0);
    for entry in std::fs::read_dir(recorded)? {
        let path = entry?.path();
        let bytes = std::fs::read(&path)?;
        let name = path.file_name().expect("a file name");
        std::fs::write(decode_dir.join(name), &bytes)?;
        counts.0 += 1;
        let payload = match Message::decode(&bytes) {
            Ok(Message::Request { data, .. }) => Some((0, data)),
            Ok(Message::Sync { data, .. }) => Some((1, data)),
            _ => None,
        };
        if let Some((kind, data)) = payload {
            for read_only in [false, true] {
                let input = hub_sequence::encode(read_only, &[(kind, 0, data.clone())]);
                let name = format!("{}-{}", name.to_string_lossy(), u8::from(read_only));
                std::fs::write(hub_dir.join(name), input)?;
                counts.1 += 1;
            }
        }
    }
    println!("{} message_decode seeds, {} hub_sequence seeds", counts.0, counts.1);
    Ok(())
}
