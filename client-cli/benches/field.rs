//! Whole-process benchmark of field work at the seed's scale.
//!
//! Generates 29,000 clients with 200,000 visits, then times, with the real
//! `kartoteka` binary: recording a visit with one 5 MB photo, the card of a
//! client with 300 visits, and listing a gallery of 1,000 photos.
//!
//! Run: `cargo bench -p client-cli --bench field`
//! Scale: `KARTOTEKA_BENCH_CLIENTS=2900 KARTOTEKA_BENCH_VISITS=20000`.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark binary: it prints its table and fails loudly"
)]

mod support;

use std::path::Path;

use support::{Row, env_or, measure, print_table, run};

const RUNS: usize = 10;
const TODAY: &str = "2026-11-22";

fn main() {
    if support::measure_mode() {
        return;
    }
    let clients: usize = env_or("KARTOTEKA_BENCH_CLIENTS", 29_000);
    let visits: usize = env_or("KARTOTEKA_BENCH_VISITS", 200_000);
    let temp = tempfile::tempdir().unwrap();
    let home = temp.path().join("replica");
    let mut rows = Vec::new();

    run(&home, &["init", "--workspace", "Benchmark SIA", "--device", "bench"]);
    let generate = measure(
        &home,
        &[
            "demo",
            "generate",
            "--clients",
            &clients.to_string(),
            "--visits",
            &visits.to_string(),
            "--seed",
            "7",
            "--today",
            TODAY,
        ],
    );
    rows.push(Row::single(
        &format!("generate {clients} clients with {visits} visits"),
        generate,
        "",
    ));

    // A client with many units: its first unit gets the visits and the gallery.
    let catalog: serde_json::Value =
        serde_json::from_slice(&run(&home, &["--json", "catalog", "--limit", "200"])).unwrap();
    let client = catalog["clients"][0]["short_id"].as_str().unwrap().to_owned();
    let card: serde_json::Value =
        serde_json::from_slice(&run(&home, &["--json", "client", "show", &client])).unwrap();
    let unit = card["units"][0]["short_id"].as_str().unwrap().to_owned();

    // A 5 MB photo recorded with a visit, ten times, each photo different (so
    // nothing is deduplicated): as a camera writes it (EXIF with a thumbnail),
    // and without EXIF (the thumbnail is decoded from the photo).
    for (with_exif, label, goal) in
        [(true, "camera photo (EXIF thumbnail)", "150 ms"), (false, "photo without EXIF", "")]
    {
        let photos: Vec<(std::path::PathBuf, u64)> = (0..RUNS)
            .map(|run| {
                let path = temp.path().join(format!("photo-{with_exif}-{run}.jpg"));
                let size = write_photo(&path, run as u32, with_exif);
                (path, size)
            })
            .collect();
        let mean_mb =
            photos.iter().map(|(_, size)| *size as f64).sum::<f64>() / photos.len() as f64 / 1e6;
        let month = if with_exif { 11 } else { 10 };
        rows.push(Row::many(
            &format!("`visit add` with one {mean_mb:.1} MB {label}"),
            photos.iter().enumerate().map(|(run, (photo, _))| {
                let start = format!("2026-{month:02}-{:02}T09:00+02:00", run + 1);
                let end = format!("2026-{month:02}-{:02}T10:00+02:00", run + 1);
                measure(
                    &home,
                    &[
                        "visit",
                        "add",
                        &client,
                        "--unit",
                        &unit,
                        "--start",
                        &start,
                        "--end",
                        &end,
                        "--photo",
                        photo.to_str().unwrap(),
                    ],
                )
            }),
            goal,
        ));
    }

    // Bring the client to 300 visits, then read its card.
    let existing: serde_json::Value =
        serde_json::from_slice(&run(&home, &["--json", "visit", "list", "--client", &client]))
            .unwrap();
    let existing = existing["count"].as_u64().unwrap() as usize;
    for n in existing..300 {
        let day = n % 28 + 1;
        let month = n / 28 % 12 + 1;
        let start = format!("2026-{month:02}-{day:02}T08:00+02:00");
        let end = format!("2026-{month:02}-{day:02}T09:30+02:00");
        run(
            &home,
            &[
                "visit",
                "add",
                &client,
                "--unit",
                &unit,
                "--start",
                &start,
                "--end",
                &end,
                "--item",
                "Inspection=1 h",
            ],
        );
    }
    rows.push(Row::many(
        "`client show` of a client with 300 visits (and its monthly summaries)",
        (0..RUNS).map(|_| measure(&home, &["client", "show", &client, "--as-of", TODAY])),
        "100 ms",
    ));

    // A 1,000-photo gallery, added in one command, then listed.
    let photos = temp.path().join("gallery");
    std::fs::create_dir_all(&photos).unwrap();
    let mut args: Vec<String> =
        vec!["gallery".into(), "add".into(), client.clone(), "--unit".into(), unit.clone()];
    for index in 0..1_000_u32 {
        let path = photos.join(format!("photo-{index:04}.png"));
        let image = image::RgbImage::from_fn(48, 48, |x, y| {
            image::Rgb([(index % 256) as u8, (index / 256) as u8, ((x + y) % 256) as u8])
        });
        image.save(&path).unwrap();
        args.push(path.to_str().unwrap().to_owned());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    rows.push(Row::single(
        "`gallery add` of 1,000 photos in one command",
        measure(&home, &args),
        "",
    ));
    rows.push(Row::many(
        "`gallery list` of a 1,000-photo gallery",
        (0..RUNS).map(|_| measure(&home, &["gallery", "list", &client, "--unit", &unit])),
        "100 ms",
    ));

    println!();
    println!(
        "Replica: {clients} clients with {visits} visits (release build; each row a fresh process)."
    );
    println!();
    print_table(&rows);
}

/// A 12-megapixel (4000×3000) JPEG whose texture compresses about as badly as
/// a detailed photo (about 5 MB); with `exif`, an EXIF block as a camera writes
/// it: when it was taken, and a 160×120 thumbnail.
fn write_photo(path: &Path, seed: u32, exif: bool) -> u64 {
    let mut state: u32 = seed.wrapping_mul(2_654_435_761) | 1;
    let image = image::RgbImage::from_fn(4000, 3000, |x, y| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = (state >> 26) as u8;
        image::Rgb([((x / 16) % 200) as u8 + noise, ((y / 16) % 200) as u8 + noise, 90 + noise])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85).encode_image(&image).unwrap();
    if exif {
        let mut thumbnail = Vec::new();
        let small = image::imageops::thumbnail(&image, 160, 120);
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut thumbnail, 75)
            .encode_image(&small)
            .unwrap();
        let taken = exif::Field {
            tag: exif::Tag::DateTimeOriginal,
            ifd_num: exif::In::PRIMARY,
            value: exif::Value::Ascii(vec![b"2026:11:22 09:14:03".to_vec()]),
        };
        let mut writer = exif::experimental::Writer::new();
        writer.push_field(&taken);
        writer.set_jpeg(&thumbnail, exif::In::THUMBNAIL);
        let mut tiff = std::io::Cursor::new(Vec::new());
        writer.write(&mut tiff, false).unwrap();
        // An APP1 segment (FF E1, length, "Exif\0\0", TIFF data) right after SOI.
        let tiff = tiff.into_inner();
        let length = u16::try_from(tiff.len() + 8).unwrap();
        let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1];
        with_exif.extend_from_slice(&length.to_be_bytes());
        with_exif.extend_from_slice(b"Exif\0\0");
        with_exif.extend_from_slice(&tiff);
        with_exif.extend_from_slice(&jpeg[2..]);
        jpeg = with_exif;
    }
    std::fs::write(path, &jpeg).unwrap();
    jpeg.len() as u64
}
