//! The client module from the command line: a technician's or office user's day.

use kartoteka_e2e::Kartoteka;
use serde_json::Value;

fn names(catalog: &Value) -> Vec<String> {
    catalog["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_client_is_added_edited_and_shown_on_its_card() {
    let k = Kartoteka::init("Serviss SIA", "office-riga");
    let added = k.json(&[
        "client",
        "add",
        "--name",
        "Ķiploks SIA",
        "--reg-no",
        "40003000001",
        "--vat-id",
        "lv 40003000001",
        "--street",
        "Kaļķu iela 10",
        "--city",
        "Rīga",
        "--postal-code",
        "LV-1050",
        "--country",
        "lv",
        "--email",
        "birojs@kiploks.lv",
        "--phone",
        "+371 2912 3456",
        "--web",
        "https://kiploks.lv",
        "--iban",
        "LV80 BANK 0000 4351 9500 1",
        "--industry",
        "Restaurants",
        "--payment-terms",
        "14",
    ]);
    let id = added["short_id"].as_str().unwrap().to_owned();
    assert_eq!(added["vat_id"], "LV40003000001");
    assert_eq!(added["address"]["country"], "LV");

    k.ok(&["group", "add", "Restaurant chains"]);
    k.ok(&[
        "client",
        "edit",
        &id,
        "--group",
        "restaurant chains",
        "--comments",
        "Keys at the reception.",
    ]);
    k.ok(&[
        "client",
        "add-contact",
        &id,
        "--name",
        "Inga Liepa",
        "--role",
        "chef",
        "--email",
        "inga@kiploks.lv",
    ]);
    k.ok(&["client", "set", &id, "visit.window", "08:00-12:00"]);
    k.ok(&[
        "client",
        "add-bank",
        &id,
        "DE44 5001 0517 5407 3249 31",
        "--bic",
        "INGDDEFFXXX",
        "--bank",
        "ING",
    ]);
    k.ok(&["unit", "add", &id, "--name", "Restorāns Vecrīga", "--city", "Rīga", "--main"]);
    k.ok(&["unit", "add", &id, "--name", "Kafejnīca Jūrmala", "--city", "Jūrmala"]);
    k.ok(&["unit", "add", &id, "--name", "Noliktava", "--inactive"]);
    k.ok(&[
        "unit",
        "add-contact",
        &id,
        "Kafejnīca Jūrmala",
        "--name",
        "Pēteris Ozols",
        "--phone",
        "+371 2000 0001",
    ]);

    let card = k.json(&["client", "show", "kiploks"]);
    assert_eq!(card["display_name"], "Ķiploks SIA");
    assert_eq!(card["group"], "Restaurant chains");
    assert_eq!(card["comments"], "Keys at the reception.");
    assert_eq!(card["billing"]["payment_terms_days"], 14);
    assert_eq!(card["contacts"][0]["name"], "Inga Liepa");
    assert_eq!(card["settings"]["visit.window"], "08:00-12:00");
    assert_eq!(card["bank_accounts"].as_array().unwrap().len(), 2);
    let units: Vec<&str> =
        card["units"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(units, ["Kafejnīca Jūrmala", "Restorāns Vecrīga", "Noliktava"]);
    let main = card["units"].as_array().unwrap().iter().find(|u| u["main"] == true).unwrap();
    assert_eq!(card["opened_unit"], main["id"]);
    assert_eq!(card["units"][0]["contacts"][0]["name"], "Pēteris Ozols");

    let text = k.ok(&["client", "show", &id]);
    assert!(text.contains("Ķiploks SIA"), "{text}");
    assert!(text.contains("▶"), "the card marks the unit it opens on:\n{text}");

    // Remove what was added, by value.
    k.ok(&["client", "remove-channel", &id, "https://kiploks.lv"]);
    k.ok(&["client", "remove-bank", &id, "DE44 5001 0517 5407 3249 31"]);
    k.ok(&["client", "remove-contact", &id, "Inga Liepa"]);
    k.ok(&["client", "unset", &id, "visit.window"]);
    let card = k.json(&["client", "show", &id]);
    assert!(card["channels"].as_array().unwrap().iter().all(|c| c["kind"] != "web"));
    assert_eq!(card["bank_accounts"].as_array().unwrap().len(), 1);
    assert!(card["contacts"].as_array().unwrap().is_empty());
    assert!(card["settings"].as_object().unwrap().is_empty());
}

#[test]
fn the_catalog_searches_as_the_user_types_in_several_languages() {
    let k = Kartoteka::init("Serviss SIA", "office-riga");
    k.ok(&["client", "add", "--name", "Bērziņš un Partneri SIA", "--city", "Rīga"]);
    k.ok(&["client", "add", "--name", "Müller Großküchen GmbH", "--city", "München"]);
    k.ok(&["client", "add", "--name", "Ääsmäe Pagar OÜ", "--city", "Tallinn"]);
    k.ok(&[
        "client",
        "add",
        "--person",
        "--first-name",
        "Jānis",
        "--last-name",
        "Ņikiforovs",
        "--personal-code",
        "120389-11111",
    ]);
    let archived = k.json(&["client", "add", "--name", "Alte Zeiten KG"]);
    k.ok(&["client", "archive", archived["short_id"].as_str().unwrap()]);

    assert_eq!(names(&k.json(&["catalog", "ber"])), ["Bērziņš un Partneri SIA"]);
    assert_eq!(names(&k.json(&["catalog", "straße", "groß"])), Vec::<String>::new());
    assert_eq!(names(&k.json(&["catalog", "gross"])), ["Müller Großküchen GmbH"]);
    assert_eq!(names(&k.json(&["catalog", "münch"])), ["Müller Großküchen GmbH"]);
    assert_eq!(names(&k.json(&["catalog", "ääs"])), ["Ääsmäe Pagar OÜ"]);
    assert_eq!(names(&k.json(&["catalog", "ņik"])), ["Jānis Ņikiforovs"]);
    assert_eq!(names(&k.json(&["catalog", "1203"])), ["Jānis Ņikiforovs"]);
    let everyone = k.json(&["catalog", "*"]);
    assert_eq!(everyone["count"], 4);
    assert_eq!(
        names(&everyone),
        [
            "Ääsmäe Pagar OÜ",
            "Bērziņš un Partneri SIA",
            "Jānis Ņikiforovs",
            "Müller Großküchen GmbH"
        ]
    );
    assert_eq!(names(&k.json(&["catalog", "--archived"])), ["Alte Zeiten KG"]);
    assert_eq!(k.json(&["catalog", "--all"])["count"], 5);
    assert_eq!(
        names(&k.json(&["catalog", "--sort", "city", "--limit", "1"])),
        ["Müller Großküchen GmbH"]
    );

    let table = k.ok(&["catalog"]);
    assert!(table.lines().next().unwrap().starts_with("ID"), "{table}");
    assert!(table.trim_end().ends_with("4 clients"), "{table}");
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let k = Kartoteka::init("Serviss SIA", "office-riga");
    let client = k.json(&["client", "add", "--name", "Acme SIA"]);
    let id = client["short_id"].as_str().unwrap();
    let before = k.json(&["client", "show", id]);

    let error = k.fails(&["client", "add-bank", id, "DE44 5001 0517 5407 3249 32"]);
    assert!(error.contains("check digits"), "{error}");
    let error =
        k.fails(&["client", "edit", id, "--billing-email", "not-an-email", "--city", "Rīga"]);
    assert!(error.contains("not an e-mail address"), "{error}");
    let error = k.fails(&["client", "edit", id, "--country", "Latvia"]);
    assert!(error.contains("two-letter"), "{error}");
    let error = k.fails(&["client", "edit", id, "--payment-terms=-3"]);
    assert!(error.contains("days"), "{error}");
    let error = k.fails(&["client", "add", "--vat-id", "LV1"]);
    assert!(error.contains("name"), "{error}");
    let error = k.fails(&["client", "show", "nobody"]);
    assert!(error.contains("kartoteka catalog"), "{error}");
    let error = k.fails(&["unit", "edit", id, "ghost", "--city", "Rīga"]);
    assert!(error.contains("no unit matches"), "{error}");
    let error = k.fails(&["client", "edit", id]);
    assert!(error.contains("nothing to change"), "{error}");
    assert_eq!(k.json(&["client", "show", id]), before);

    let nowhere = Kartoteka::new();
    let error = nowhere.fails(&["catalog"]);
    assert!(error.contains("kartoteka init"), "{error}");
    let error = k.fails(&["init", "--workspace", "Again", "--device", "x"]);
    assert!(error.contains("already holds a replica"), "{error}");
}

#[test]
fn reindex_yields_the_same_query_results_as_the_incremental_mirror() {
    let k = Kartoteka::init("Serviss SIA", "office-riga");
    k.ok(&["demo", "generate", "--clients", "120", "--seed", "5"]);
    let first =
        k.json(&["catalog", "--all"])["clients"][0]["short_id"].as_str().unwrap().to_owned();
    k.ok(&["client", "edit", &first, "--comments", "edited after generation"]);
    k.ok(&["client", "archive", &first]);
    let catalog = k.json(&["catalog", "--all"]);
    let search = k.json(&["catalog", "rig"]);
    let card = k.json(&["client", "show", &first]);
    let groups = k.json(&["group", "list"]);
    let reindexed = k.json(&["reindex"]);
    assert!(reindexed["documents"].as_u64().unwrap() >= 122);
    assert_eq!(k.json(&["catalog", "--all"]), catalog);
    assert_eq!(k.json(&["catalog", "rig"]), search);
    assert_eq!(k.json(&["client", "show", &first]), card);
    assert_eq!(k.json(&["group", "list"]), groups);
}

#[test]
fn the_demo_generator_is_deterministic() {
    let one = Kartoteka::init("Demo", "a");
    let two = Kartoteka::init("Demo", "b");
    let report = one.json(&["demo", "generate", "--clients", "60", "--seed", "9"]);
    two.ok(&["demo", "generate", "--clients", "60", "--seed", "9"]);
    assert_eq!(report["clients"], 60);
    assert!(report["units"].as_u64().unwrap() >= 60);
    assert_eq!(one.json(&["catalog", "--all"]), two.json(&["catalog", "--all"]));
}

#[test]
fn every_command_has_help_with_examples() {
    let k = Kartoteka::new();
    for command in [
        &["catalog"][..],
        &["client", "add"],
        &["client", "edit"],
        &["unit", "add"],
        &["conflicts"],
        &["demo", "generate"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let help = k.ok(&args);
        assert!(help.contains("Example"), "{command:?} --help has no examples:\n{help}");
    }
}

#[test]
fn the_tour_shows_two_offline_devices_converging() {
    let k = Kartoteka::new();
    let tour = k.json(&["demo", "tour"]);
    assert_eq!(tour["converged"], true);
    let card = &tour["card"];
    assert_eq!(card["vat_id"], "LV40003999999", "the office's edit");
    assert_eq!(card["address"]["city"], "Jūrmala", "the laptop's edit");
    assert_eq!(card["comments"], "Ring twice. Keys at the reception. Deliveries before 9.");
    assert_eq!(card["conflicts"][0]["field"], "/profile/industry");
}

#[test]
fn verify_finds_a_damaged_database_and_a_mirror_that_disagrees_and_names_the_cure() {
    let k = Kartoteka::init("Serviss SIA", "office");
    for n in 0..300 {
        k.ok(&["client", "add", "--name", &format!("Klients {n} SIA"), "--city", "Rīga"]);
    }
    k.ok(&["verify"]);

    // A query table edited behind the documents' back: `reindex` mends it.
    let database = k.home().join("replica.sqlite");
    {
        let conn = rusqlite::Connection::open(&database).unwrap();
        conn.execute("UPDATE clients SET display_name = 'Nobody' WHERE rowid = 1", []).unwrap();
    }
    let error = k.fails(&["verify"]);
    assert!(error.contains("clients") && error.contains("kartoteka reindex"), "{error}");
    k.ok(&["reindex"]);
    assert!(k.ok(&["verify"]).contains("Database intact"));

    // 64 KiB of garbage in the middle of the file: SQLite's own check finds it.
    let mut bytes = std::fs::read(&database).unwrap();
    assert!(bytes.len() > 200_000, "the database is large enough to damage its middle");
    let middle = bytes.len() / 2;
    for (offset, byte) in bytes[middle..middle + 65_536].iter_mut().enumerate() {
        *byte = (offset * 31 % 251) as u8;
    }
    std::fs::write(&database, bytes).unwrap();
    // Every command that reads the damaged pages (verify first) says so once,
    // gives SQLite's reason once, and names the way back. (`verify` gives the
    // integrity check's verdict, which depends on the pages the garbage lands
    // on: a list of damaged pages or "malformed"; the others the read's error.)
    for command in ["verify", "reindex", "catalog"] {
        let error = k.fails(&[command]);
        assert_eq!(error.matches("database file is damaged").count(), 1, "{command}: {error}");
        assert!(error.contains("kartoteka init --workspace-id"), "{command}: {error}");
        let reasons = match command {
            "verify" => error.matches("SQLite reports:").count(),
            _ => error.matches("malformed").count(),
        };
        assert_eq!(reasons, 1, "{command}: {error}");
    }
}
