//! Photos and files when a device joins (issue 12): a client's gallery of 200
//! incompressible 1 MB files goes up from the office, then a new laptop joins
//! and takes the documents and every file. Prints the time of both syncs and
//! what they moved.
//!
//! Run: `cargo build --release --workspace --bins` first (the benchmark runs
//! what is built), then `cargo bench -p kartoteka-e2e --bench blobs` (about 20 s).

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark binary: it prints its table and fails loudly"
)]

use std::time::Instant;

use kartoteka_e2e::{Kartoteka, Relay};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

const FILES: usize = 200;
const FILE_BYTES: usize = 1_000_000;

fn main() {
    let relay = Relay::start();
    let office = Kartoteka::init("Serviss SIA", "office");
    office.connect(&relay);
    let client = office.json(&["client", "add", "--name", "Ozols SIA"])["short_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut files = Vec::with_capacity(FILES);
    for index in 0..FILES {
        let path = dir.path().join(format!("scan-{index:03}.bin"));
        let bytes: Vec<u8> = (0..FILE_BYTES).map(|_| rng.random()).collect();
        std::fs::write(&path, bytes).unwrap();
        files.push(path.to_str().unwrap().to_owned());
    }
    let mut args = vec!["gallery", "add", client.as_str()];
    args.extend(files.iter().map(String::as_str));
    office.ok(&args);

    let started = Instant::now();
    let up = office.json(&["sync"]);
    let up_seconds = started.elapsed().as_secs_f64();
    let laptop = Kartoteka::join(&office.workspace_id(), "laptop");
    laptop.connect(&relay);
    let started = Instant::now();
    let down = laptop.json(&["sync"]);
    let down_seconds = started.elapsed().as_secs_f64();
    assert_eq!(down["blobs_downloaded"].as_u64(), Some(FILES as u64), "{down}");

    println!("| what | files | MB | seconds | MB/s |");
    println!("|---|---|---|---|---|");
    for (what, report, seconds) in
        [("office uploads", &up, up_seconds), ("new laptop joins", &down, down_seconds)]
    {
        let files = report["blobs_uploaded"].as_u64().unwrap()
            + report["blobs_downloaded"].as_u64().unwrap();
        let megabytes = report["blob_bytes"].as_u64().unwrap() as f64 / 1e6;
        println!(
            "| {what} | {files} | {megabytes:.1} | {seconds:.2} | {:.0} |",
            megabytes / seconds
        );
    }
}
