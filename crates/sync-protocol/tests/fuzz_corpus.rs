//! Replays the `message_decode` fuzz target's corpus and every input it ever
//! failed on (`fuzz/corpus/message_decode`, `fuzz/regressions/message_decode`)
//! as an ordinary test, so that CI keeps what fuzzing found fixed.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a panic is a failed test")]

#[path = "support/message_decode.rs"]
mod message_decode;

#[test]
fn every_recorded_fuzz_input_decodes_without_a_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut inputs = 0;
    for folder in ["corpus/message_decode", "regressions/message_decode"] {
        let Ok(entries) = std::fs::read_dir(root.join(folder)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            message_decode::run(&std::fs::read(&path).unwrap());
            inputs += 1;
        }
    }
    assert!(inputs > 0, "no fuzz corpus under {}", root.display());
}
