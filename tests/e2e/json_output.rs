//! Every command's `--json` output is one JSON document with unique keys,
//! read with a parser that refuses a key seen twice in one object
//! (`kartoteka_e2e::strict_json`, which `Kartoteka::json` uses). Issue 11,
//! part 3: `invoice show`, `visit show` and `visit add` printed `"notices"` and
//! `"files"` twice.

use std::path::Path;

use kartoteka_e2e::{Kartoteka, Relay};
use serde_json::Value;

fn short_id(value: &Value) -> String {
    value["short_id"].as_str().unwrap().to_owned()
}

fn photo(dir: &Path, name: &str) -> String {
    let image =
        image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([90, (x * 4) as u8, (y * 5) as u8]));
    let path = dir.join(name);
    image.save(&path).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn every_command_prints_one_json_document_with_unique_keys() {
    let relay = Relay::start();
    let k = Kartoteka::init("Serviss GmbH", "office-berlin");
    let files = tempfile::tempdir().unwrap();
    let dir = files.path().to_str().unwrap().to_owned();
    let kitchen = photo(files.path(), "kitchen.png");
    let contract = files.path().join("contract.txt");
    std::fs::write(&contract, "Service contract 2027").unwrap();
    let contract = contract.to_str().unwrap().to_owned();

    // The workspace and the company.
    k.json(&["status"]);
    k.json(&["company", "set", "name", "Serviss GmbH"]);
    k.json(&["company", "set", "iban", "DE44 5001 0517 5407 3249 31"]);
    k.json(&["company", "show"]);
    k.json(&["config", "--max-file-bytes", "50000000"]);
    k.json(&["config"]);
    k.json(&["group", "add", "Bakeries"]);
    k.json(&["group", "rename", "Bakeries", "Bäckereien"]);
    k.json(&["group", "list"]);

    // A client, its channels, contacts, bank account, settings and units.
    let client = short_id(&k.json(&[
        "client",
        "add",
        "--name",
        "Bäckerei Müller GmbH",
        "--city",
        "Berlin",
        "--country",
        "DE",
    ]));
    k.json(&["client", "edit", &client, "--vat-id", "DE123456789"]);
    k.json(&["client", "add-phone", &client, "+49 30 1234567"]);
    k.json(&["client", "add-email", &client, "info@mueller.example"]);
    k.json(&["client", "add-web", &client, "https://mueller.example"]);
    k.json(&["client", "remove-channel", &client, "https://mueller.example"]);
    k.json(&["client", "add-contact", &client, "--name", "Inga Liepa"]);
    k.json(&["client", "edit-contact", &client, "Inga Liepa", "--phone", "+49 30 7654321"]);
    k.json(&["client", "add-contact", &client, "--name", "Otto Kern"]);
    k.json(&["client", "remove-contact", &client, "Otto Kern"]);
    k.json(&["client", "add-bank", &client, "DE89 3704 0044 0532 0130 00"]);
    k.json(&["client", "add-bank", &client, "DE02 1203 0000 0000 2020 51"]);
    k.json(&["client", "remove-bank", &client, "DE02 1203 0000 0000 2020 51"]);
    k.json(&["client", "set", &client, "language", "de"]);
    k.json(&["client", "set", &client, "note", "temporary"]);
    k.json(&["client", "unset", &client, "note"]);
    k.json(&["unit", "add", &client, "--name", "Filiale Mitte", "--city", "Berlin"]);
    k.json(&["unit", "add", &client, "--name", "Filiale Nord"]);
    k.json(&["unit", "edit", &client, "Mitte", "--phone", "+49 30 5550000"]);
    k.json(&["unit", "main", &client, "Mitte"]);
    k.json(&["unit", "deactivate", &client, "Nord"]);
    k.json(&["unit", "activate", &client, "Nord"]);
    k.json(&["unit", "add-contact", &client, "Mitte", "--name", "Jens Weber"]);
    k.json(&["unit", "list", &client]);
    let other = short_id(&k.json(&["client", "add", "--name", "Kleiner Kunde"]));
    k.json(&["client", "archive", &other]);
    k.json(&["client", "unarchive", &other]);
    k.json(&["catalog", "*"]);
    k.json(&["catalog", "bäck"]);

    // Field work.
    let visit = short_id(&k.json(&[
        "visit",
        "add",
        &client,
        "--unit",
        "Mitte",
        "--start",
        "2026-11-02T09:00",
        "--end",
        "2026-11-02T10:30",
        "--kind",
        "breakdown",
        "--item",
        "Relay=1 pcs",
        "--photo",
        &kitchen,
    ]));
    k.json(&["visit", "show", &visit]);
    k.json(&["visit", "status", &visit, "done"]);
    k.json(&["visit", "notes", &visit, "Replaced the relay."]);
    k.json(&["visit", "list", "--client", &client]);
    k.json(&["gallery", "add", &client, &photo(files.path(), "door.png"), "--unit", "Mitte"]);
    k.json(&["gallery", "list", &client]);
    k.json(&["gallery", "export", &client, "--to", &format!("{dir}/gallery")]);
    k.json(&["gallery", "remove", &client, "door.png"]);
    k.json(&["document", "add", &client, &contract, "--name", "Service contract 2027"]);
    k.json(&["document", "list", &client]);
    k.json(&["document", "export", &client, "Service contract 2027", "--to", &dir]);
    k.json(&["document", "remove", &client, "Service contract 2027"]);
    k.json(&["verify"]);

    // Billing.
    k.json(&["invoice", "series", "B01"]);
    k.json(&["invoice", "series"]);
    let draft = short_id(&k.json(&[
        "invoice",
        "new",
        &client,
        "--date",
        "2026-09-01",
        "--line",
        "Wartung=2 h x 50 @ 19",
    ]));
    k.json(&["invoice", "edit", &draft, "--add-line", "Filter=1 x 10 @ 19"]);
    let number = k.json(&["invoice", "issue", &draft])["number"].as_str().unwrap().to_owned();
    let spare = short_id(&k.json(&["invoice", "new", &client, "--line", "X=1 x 1 @ 19"]));
    k.json(&["invoice", "discard", &spare]);
    k.json(&["invoice", "pay", &number, "20.00", "--date", "2026-09-10"]);
    k.json(&["invoice", "credit", &number, "--line", "Filter=1 x 10 @ 19", "--date", "2026-09-11"]);
    let second = k.json(&[
        "invoice",
        "new",
        &client,
        "--date",
        "2026-09-02",
        "--line",
        "Y=1 x 5 @ 19",
        "--issue",
    ])["number"]
        .as_str()
        .unwrap()
        .to_owned();
    k.json(&["invoice", "cancel", &second, "--date", "2026-09-03"]);
    k.json(&["invoice", "list", "--as-of", "2026-12-01"]);
    k.json(&["invoice", "export", &number, "--format", "html", "--to", &dir]);
    k.json(&["invoice", "duplicates"]);
    k.json(&[
        "recurring",
        "add",
        &client,
        "--period",
        "monthly",
        "--day",
        "1",
        "--start",
        "2026-10-01",
        "--line",
        "Plan=1 x 89 @ 19",
    ]);
    let template = k.json(&["recurring", "list"])[0]["code"].as_str().unwrap().to_owned();
    k.json(&["generate", "--until", "2026-11-30"]);
    k.json(&["recurring", "end", &template, "--on", "2026-12-31"]);
    k.json(&["dunning", "policy", "list"]);
    k.json(&[
        "dunning",
        "policy",
        "set",
        "Gentle",
        "--level",
        "Reminder:14:0:0",
        "--level",
        "1st notice:35:21:0:interest",
    ]);
    k.json(&["dunning", "base-rate", "list"]);
    k.json(&["dunning", "base-rate", "set", "2027-01-01", "1.27"]);
    k.json(&["dunning", "client", &client, "--policy", "Gentle"]);
    k.json(&["dunning", "client", &client, "--default-policy"]);
    k.json(&["dunning", "run", "--as-of", "2026-10-20", "--dry-run"]);
    k.json(&["dunning", "run", "--as-of", "2026-10-20"]);
    k.json(&["dunning", "invoice", &number, "--block", "Disputed", "--until", "2026-12-31"]);
    k.json(&["dunning", "invoice", &number, "--unblock"]);
    k.json(&["statement", &client, "--from", "2026-01-01", "--to", "2026-12-31"]);
    // The detail views whose keys were duplicated, now with notices and files.
    let shown = k.json(&["invoice", "show", &number, "--as-of", "2026-12-01"]);
    assert_eq!(shown["notice_count"], 1, "{shown:#}");
    assert_eq!(shown["notices"].as_array().unwrap().len(), 1, "{shown:#}");
    let shown = k.json(&["visit", "show", &visit]);
    assert_eq!(shown["file_count"], 1, "{shown:#}");
    assert_eq!(shown["files"].as_array().unwrap().len(), 1, "{shown:#}");
    k.json(&["client", "show", &client, "--as-of", "2026-12-01"]);
    k.json(&["client", "urls", &client]);
    k.json(&["conflicts"]);
    k.json(&["reindex"]);

    // Sync.
    k.connect(&relay);
    k.json(&["remote", "show"]);
    k.json(&["sync"]);
    let empty = Kartoteka::new();
    empty.json(&["init", "--workspace", "Demo", "--device", "demo"]);
    empty.json(&["demo", "generate", "--clients", "5", "--invoices", "10", "--seed", "3"]);
}
