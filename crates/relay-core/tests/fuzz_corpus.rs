//! Replays the `hub_sequence` fuzz target's corpus and every input it ever
//! failed on (`fuzz/corpus/hub_sequence`, `fuzz/regressions/hub_sequence`)
//! against the real hub, as an ordinary test.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a panic is a failed test")]

#[path = "support/hub_sequence.rs"]
mod hub_sequence;

#[test]
fn the_hub_survives_every_recorded_fuzz_input() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut inputs = 0;
    for folder in ["corpus/hub_sequence", "regressions/hub_sequence"] {
        let Ok(entries) = std::fs::read_dir(root.join(folder)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            hub_sequence::run(&std::fs::read(&path).unwrap());
            inputs += 1;
        }
    }
    assert!(inputs > 0, "no fuzz corpus under {}", root.display());
}

#[test]
fn the_zero_bit_filter_of_the_review_is_refused_not_a_panic() {
    let zero_bit = vec![0x42, 0x00, 0x00, 0x01, 0x00, 0x03, 0x01, 0x00, 0x01, 0x00];
    hub_sequence::run(&hub_sequence::encode(true, &[(1, 0, zero_bit)]));
}
