//! Field work from the command line: visits with photos offline, galleries by
//! unit, client documents, and their files between replicas.

use std::path::{Path, PathBuf};

use kartoteka_e2e::{Kartoteka, Relay};
use serde_json::Value;

/// A client with two units, on a fresh replica with no relay.
fn restaurant_chain() -> (Kartoteka, String) {
    let k = Kartoteka::init("Serviss SIA", "laptop-anna");
    let client = k.json(&["client", "add", "--name", "Ķiploks SIA"])["short_id"]
        .as_str()
        .unwrap()
        .to_owned();
    k.ok(&["unit", "add", &client, "--name", "Vecrīga", "--city", "Rīga"]);
    k.ok(&["unit", "add", &client, "--name", "Jūrmala"]);
    (k, client)
}

fn photo(dir: &Path, name: &str, shade: u8) -> PathBuf {
    let image = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([shade, (x % 256) as u8, (y % 256) as u8])
    });
    let path = dir.join(name);
    image.save(&path).unwrap();
    path
}

fn blob_files(k: &Kartoteka) -> usize {
    let mut count = 0;
    let Ok(entries) = std::fs::read_dir(k.home().join("blobs")) else { return 0 };
    for entry in entries {
        let entry = entry.unwrap();
        if entry.file_name() != ".staging" && entry.file_type().unwrap().is_dir() {
            count += std::fs::read_dir(entry.path()).unwrap().count();
        }
    }
    count
}

fn record(
    k: &Kartoteka,
    client: &str,
    unit: &str,
    start: &str,
    end: &str,
    photos: &[&Path],
) -> Value {
    let mut args = vec![
        "visit",
        "add",
        client,
        "--unit",
        unit,
        "--start",
        start,
        "--end",
        end,
        "--technician",
        "Anna",
    ];
    for photo in photos {
        args.push("--photo");
        args.push(photo.to_str().unwrap());
    }
    k.json(&args)
}

#[test]
fn visits_with_photos_are_recorded_offline_and_summarised_per_unit() {
    let (k, client) = restaurant_chain();
    let dir = tempfile::tempdir().unwrap();
    let kitchen = photo(dir.path(), "kitchen.png", 10);
    let hall = photo(dir.path(), "hall.png", 200);

    let first = record(
        &k,
        &client,
        "Vecrīga",
        "2026-11-03T09:00+02:00",
        "2026-11-03T10:30+02:00",
        &[&kitchen, &hall],
    );
    assert_eq!(first["minutes"], 90);
    assert_eq!(first["files"].as_array().unwrap().len(), 2);
    assert!(
        !first["files"][0]["thumb_hash"].as_str().unwrap().is_empty(),
        "a photo gets a thumbnail"
    );
    record(&k, &client, "Vecrīga", "2026-11-17T13:00+02:00", "2026-11-17T14:00+02:00", &[&kitchen]);
    record(&k, &client, "Jūrmala", "2026-10-30T08:00+02:00", "2026-10-30T08:45+02:00", &[]);
    // A visit a year earlier is outside the card's 12 months.
    record(&k, &client, "Jūrmala", "2025-10-30T08:00+02:00", "2025-10-30T09:00+02:00", &[]);

    // The same photo twice is one file (plus one thumbnail per distinct photo).
    assert_eq!(blob_files(&k), 4);

    let card = k.json(&["client", "show", &client, "--as-of", "2026-11-22"]);
    let by_unit = card["field"]["visits_by_unit"].as_array().unwrap();
    let vecriga = by_unit.iter().find(|unit| unit["unit_name"] == "Vecrīga").unwrap();
    assert_eq!(vecriga["months"][0]["year"], 2026);
    assert_eq!(vecriga["months"][0]["month"], 11);
    assert_eq!(vecriga["months"][0]["visits"], 2);
    assert_eq!(vecriga["months"][0]["minutes"], 150);
    let jurmala = by_unit.iter().find(|unit| unit["unit_name"] == "Jūrmala").unwrap();
    assert_eq!(
        jurmala["months"].as_array().unwrap().len(),
        1,
        "October 2025 is more than 12 months back"
    );
    assert_eq!(card["field"]["visits"].as_array().unwrap().len(), 4);

    // The summary names the command that lists exactly those visits.
    let command = vecriga["months"][0]["list_command"].as_str().unwrap();
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    let listed = k.json(&args);
    assert_eq!(listed["count"], 2);
    assert_eq!(
        listed["visits"][0]["start"], "2026-11-03T09:00:00+02:00",
        "the local time and offset are kept"
    );

    let by_technician = k.json(&[
        "visit",
        "list",
        "--technician",
        "anna",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
    ]);
    assert_eq!(by_technician["count"], 1);

    let catalog = k.json(&["catalog", "--sort", "last-visit"]);
    assert_eq!(catalog["clients"][0]["last_visit"], "2026-11-17T11:00:00Z");
}

#[test]
fn galleries_are_grouped_by_unit_and_export_byte_identical_files() {
    let (k, client) = restaurant_chain();
    let dir = tempfile::tempdir().unwrap();
    let kitchen = photo(dir.path(), "kitchen.png", 10);
    let contract = dir.path().join("contract.pdf");
    std::fs::write(&contract, b"%PDF-1.7 service contract").unwrap();
    k.ok(&[
        "gallery",
        "add",
        &client,
        "--unit",
        "Vecrīga",
        kitchen.to_str().unwrap(),
        "--caption",
        "Before",
    ]);
    k.ok(&["gallery", "add", &client, "--unit", "Jūrmala", kitchen.to_str().unwrap()]);
    k.ok(&["gallery", "add", &client, contract.to_str().unwrap()]);

    let vecriga = k.json(&["gallery", "list", &client, "--unit", "Vecrīga"]);
    assert_eq!(vecriga["count"], 1);
    assert_eq!(vecriga["items"][0]["caption"], "Before");
    let own = k.json(&["gallery", "list", &client, "--unit", "-"]);
    assert_eq!(own["items"][0]["name"], "contract.pdf");
    assert_eq!(own["items"][0]["media_type"], "application/pdf");
    assert_eq!(k.json(&["gallery", "list", &client])["count"], 3);

    let out = tempfile::tempdir().unwrap();
    k.ok(&["gallery", "export", &client, "--to", out.path().to_str().unwrap()]);
    assert_eq!(
        std::fs::read(out.path().join("kitchen.png")).unwrap(),
        std::fs::read(&kitchen).unwrap()
    );
    assert_eq!(
        std::fs::read(out.path().join("kitchen (2).png")).unwrap(),
        std::fs::read(&kitchen).unwrap()
    );
    assert_eq!(
        std::fs::read(out.path().join("contract.pdf")).unwrap(),
        b"%PDF-1.7 service contract"
    );

    let item = vecriga["items"][0]["short_id"].as_str().unwrap();
    k.ok(&["gallery", "remove", &client, item]);
    assert_eq!(k.json(&["gallery", "list", &client, "--unit", "Vecrīga"])["count"], 0);
    // The bytes stay: the Jūrmala gallery still shows the same photo.
    let out = tempfile::tempdir().unwrap();
    k.ok(&[
        "gallery",
        "export",
        &client,
        "--unit",
        "Jūrmala",
        "--to",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(out.path().join("kitchen.png")).unwrap(),
        std::fs::read(&kitchen).unwrap()
    );
}

#[test]
fn client_documents_are_listed_on_the_card_and_exported() {
    let (k, client) = restaurant_chain();
    let dir = tempfile::tempdir().unwrap();
    let offer = dir.path().join("offer.pdf");
    std::fs::write(&offer, b"%PDF offer").unwrap();
    k.ok(&[
        "document",
        "add",
        &client,
        offer.to_str().unwrap(),
        "--kind",
        "offer",
        "--name",
        "Offer 2027",
        "--date",
        "2026-11-20",
    ]);
    let card = k.json(&["client", "show", &client]);
    let document = &card["field"]["documents"][0];
    assert_eq!(document["name"], "Offer 2027");
    assert_eq!(document["kind"], "offer");
    let command = document["export_command"].as_str().unwrap().replace("--to .", "");
    let out = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = command.split_whitespace().skip(1).collect();
    args.extend(["--to", out.path().to_str().unwrap()]);
    k.ok(&args);
    assert_eq!(std::fs::read(out.path().join("Offer 2027")).unwrap(), b"%PDF offer");
    let error = k.fails(&["document", "add", &client, offer.to_str().unwrap(), "--kind", "poem"]);
    assert!(error.contains("contract, offer"), "{error}");
}

#[test]
fn a_corrupted_file_on_disk_is_detected_and_not_served() {
    let (k, client) = restaurant_chain();
    let dir = tempfile::tempdir().unwrap();
    let kitchen = photo(dir.path(), "kitchen.png", 10);
    k.ok(&["gallery", "add", &client, "--unit", "Vecrīga", kitchen.to_str().unwrap()]);
    let hash =
        k.json(&["gallery", "list", &client])["items"][0]["hash"].as_str().unwrap().to_owned();
    let stored = k.home().join("blobs").join(&hash[..2]).join(&hash);
    let mut bytes = std::fs::read(&stored).unwrap();
    bytes[100] ^= 0xFF;
    std::fs::write(&stored, bytes).unwrap();

    let error = k.fails(&["verify"]);
    assert!(error.contains("corrupted"), "{error}");
    let out = tempfile::tempdir().unwrap();
    let error = k.fails(&["gallery", "export", &client, "--to", out.path().to_str().unwrap()]);
    assert!(error.contains("corrupted"), "{error}");
    assert!(!out.path().join("kitchen.png").exists(), "a corrupted file is never handed out");
}

#[test]
fn bad_field_work_input_gets_a_clear_error_and_stores_nothing() {
    let (k, client) = restaurant_chain();
    let dir = tempfile::tempdir().unwrap();
    let kitchen = photo(dir.path(), "kitchen.png", 10);
    let before = k.json(&["client", "show", &client]);
    let blobs_before = blob_files(&k);
    let start = "2026-11-22T09:00";
    let end = "2026-11-22T10:00";

    let error = k.fails(&[
        "visit",
        "add",
        &client,
        "--start",
        start,
        "--end",
        end,
        "--photo",
        "/no/such/photo.jpg",
    ]);
    assert!(error.contains("no such file"), "{error}");
    let error = k.fails(&[
        "visit",
        "add",
        &client,
        "--start",
        start,
        "--end",
        end,
        "--photo",
        dir.path().to_str().unwrap(),
    ]);
    assert!(error.contains("directory"), "{error}");
    let error =
        k.fails(&["visit", "add", &client, "--unit", "Ventspils", "--start", start, "--end", end]);
    assert!(error.contains("no unit matches"), "{error}");
    let error = k.fails(&[
        "visit",
        "add",
        &client,
        "--start",
        end,
        "--end",
        start,
        "--photo",
        kitchen.to_str().unwrap(),
    ]);
    assert!(error.contains("before it starts"), "{error}");
    k.ok(&["config", "--max-file-bytes", "1000"]);
    let error = k.fails(&[
        "visit",
        "add",
        &client,
        "--start",
        start,
        "--end",
        end,
        "--photo",
        kitchen.to_str().unwrap(),
    ]);
    assert!(error.contains("more than the limit"), "{error}");
    let error = k.fails(&["visit", "add", &client, "--start", "tomorrow", "--end", end]);
    assert!(error.contains("not a time"), "{error}");

    assert_eq!(k.json(&["client", "show", &client]), before);
    assert_eq!(blob_files(&k), blobs_before, "no bytes were stored");
}

#[test]
fn offline_visits_and_photos_reach_every_replica_through_the_relay() {
    let relay = Relay::start();
    let (anna, client) = restaurant_chain();
    anna.connect(&relay);
    anna.ok(&["sync"]);
    let otto = Kartoteka::join(&anna.workspace_id(), "laptop-otto");
    otto.connect(&relay);
    otto.ok(&["sync"]);

    // Both record visits for the same client while offline.
    let dir = tempfile::tempdir().unwrap();
    let relay_photo = photo(dir.path(), "relay.png", 30);
    let panel_photo = photo(dir.path(), "panel.png", 90);
    record(
        &anna,
        &client,
        "Vecrīga",
        "2026-11-20T09:00+02:00",
        "2026-11-20T10:00+02:00",
        &[&relay_photo],
    );
    record(
        &otto,
        &client,
        "Jūrmala",
        "2026-11-20T11:00+02:00",
        "2026-11-20T12:30+02:00",
        &[&panel_photo],
    );
    let visit = anna.json(&["visit", "list", "--client", &client])["visits"][0]["short_id"]
        .as_str()
        .unwrap()
        .to_owned();
    anna.ok(&["visit", "notes", &visit, "Relay burnt."]);
    for replica in [&anna, &otto, &anna] {
        replica.ok(&["sync"]);
    }
    // Both technicians add to the notes of the same visit, offline.
    anna.ok(&["visit", "notes", &visit, "Relay burnt. Spare ordered."]);
    otto.ok(&["visit", "notes", &visit, "Urgent: Relay burnt."]);
    for replica in [&otto, &anna, &otto] {
        replica.ok(&["sync"]);
    }
    for replica in [&anna, &otto] {
        let visits = replica.json(&["visit", "list", "--client", &client]);
        assert_eq!(visits["count"], 2, "{visits}");
        assert_eq!(replica.json(&["gallery", "list", &client])["count"], 2);
        replica.ok(&["verify"]);
    }
    assert_eq!(
        anna.json(&["visit", "show", &visit])["notes"],
        "Urgent: Relay burnt. Spare ordered."
    );
    assert_eq!(otto.json(&["visit", "show", &visit]), anna.json(&["visit", "show", &visit]));

    // A third replica joins fresh and receives everything, photos included.
    let third = Kartoteka::join(&anna.workspace_id(), "branch-liepaja");
    third.connect(&relay);
    let report = third.json(&["sync"]);
    assert!(
        report["blobs_downloaded"].as_u64().unwrap() >= 4,
        "two photos and their thumbnails: {report}"
    );
    let out = tempfile::tempdir().unwrap();
    third.ok(&["gallery", "export", &client, "--to", out.path().to_str().unwrap()]);
    assert_eq!(
        std::fs::read(out.path().join("panel.png")).unwrap(),
        std::fs::read(&panel_photo).unwrap()
    );
    assert_eq!(third.json(&["client", "show", &client]), anna.json(&["client", "show", &client]));

    // A lazy replica fetches a photo only when it is needed.
    let lazy = Kartoteka::join(&anna.workspace_id(), "phone");
    let token = relay.token(&anna.workspace_id(), "phone", false);
    lazy.ok(&["remote", "add", &relay.url, "--token", &token, "--blobs", "lazy"]);
    let report = lazy.json(&["sync"]);
    assert_eq!(report["blobs_downloaded"], 0, "{report}");
    let out = tempfile::tempdir().unwrap();
    lazy.ok(&[
        "gallery",
        "export",
        &client,
        "--unit",
        "Vecrīga",
        "--to",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(out.path().join("relay.png")).unwrap(),
        std::fs::read(&relay_photo).unwrap()
    );
}

#[test]
fn an_interrupted_photo_download_resumes_where_it_stopped() {
    resume_a_photo(|size| size / 2);
}

#[test]
fn a_photo_received_whole_before_a_crash_is_not_downloaded_again() {
    resume_a_photo(|size| size);
}

/// A new laptop joins with the first `staged(size)` bytes of a photo already
/// staged by an earlier, interrupted sync; it must fetch only the rest.
fn resume_a_photo(staged: fn(usize) -> usize) {
    let relay = Relay::start();
    let (anna, client) = restaurant_chain();
    anna.connect(&relay);
    // A photo that does not compress, so it is large (about 900 KB).
    let dir = tempfile::tempdir().unwrap();
    let mut bits: u32 = 0x2545_f491;
    let image = image::RgbImage::from_fn(640, 480, |_, _| {
        bits ^= bits << 13;
        bits ^= bits >> 17;
        bits ^= bits << 5;
        let [r, g, b, _] = bits.to_le_bytes();
        image::Rgb([r, g, b])
    });
    let noisy = dir.path().join("noisy.png");
    image.save(&noisy).unwrap();
    record(
        &anna,
        &client,
        "Vecrīga",
        "2026-11-20T09:00+02:00",
        "2026-11-20T10:00+02:00",
        &[&noisy],
    );
    anna.ok(&["sync"]);

    // The laptop had received part of the photo (or all of it, unpublished)
    // when its last sync was cut off: it is staged where the download left it.
    let otto = Kartoteka::join(&anna.workspace_id(), "laptop-otto");
    otto.connect(&relay);
    let bytes = std::fs::read(&noisy).unwrap();
    let staged = staged(bytes.len());
    let staging = otto.home().join("blobs").join(".staging");
    std::fs::create_dir_all(&staging).unwrap();
    let hash = blake3::hash(&bytes).to_hex();
    std::fs::write(staging.join(format!("{hash}.upload")), &bytes[..staged]).unwrap();

    let report = otto.json(&["sync"]);

    // It received the rest of the photo and the whole thumbnail, nothing twice.
    let mut stored = 0;
    for shard in std::fs::read_dir(otto.home().join("blobs")).unwrap() {
        let shard = shard.unwrap();
        if shard.file_name() != ".staging" && shard.file_type().unwrap().is_dir() {
            for blob in std::fs::read_dir(shard.path()).unwrap() {
                stored += blob.unwrap().metadata().unwrap().len();
            }
        }
    }
    assert_eq!(report["blobs_downloaded"], 2, "the photo and its thumbnail: {report}");
    assert_eq!(report["blob_bytes"].as_u64().unwrap(), stored - staged as u64, "{report}");
    let out = tempfile::tempdir().unwrap();
    otto.ok(&["gallery", "export", &client, "--to", out.path().to_str().unwrap()]);
    assert_eq!(std::fs::read(out.path().join("noisy.png")).unwrap(), bytes);
    otto.ok(&["verify"]);
}
