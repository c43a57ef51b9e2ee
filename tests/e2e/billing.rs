//! Billing from the command line: invoices, payments, credit notes, statements,
//! dunning and recurring invoices, alone and across replicas through the relay.

use kartoteka_e2e::{Kartoteka, Relay};
use serde_json::Value;

/// A replica with one business client.
fn office_with_client() -> (Kartoteka, String) {
    let k = Kartoteka::init("Serviss GmbH", "office-berlin");
    k.ok(&["company", "set", "name", "Serviss GmbH"]);
    let client = k.json(&["client", "add", "--name", "Bäckerei Müller GmbH"])["short_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (k, client)
}

fn number(invoice: &Value) -> String {
    invoice["number"].as_str().unwrap().to_owned()
}

fn invoice_count(k: &Kartoteka) -> usize {
    k.json(&["invoice", "list", "--as-of", "2026-12-31"]).as_array().unwrap().len()
}

#[test]
fn issue_pay_partly_and_pay_the_rest() {
    let (k, client) = office_with_client();
    let tag = k.device_tag();
    k.ok(&["invoice", "series", "B01"]);
    let draft = k.json(&[
        "invoice",
        "new",
        &client,
        "--date",
        "2026-09-01",
        "--due-in",
        "14",
        "--line",
        "Wartung=1.5 h x 45.00 @ 19",
        "--line",
        "Filter=3 pcs x 12.99 @ 19",
        "--line",
        "Buch=1 x 9.99 @ 7",
    ]);
    assert_eq!(draft["state"], "draft");
    // Per line: 67.50 + 38.97 at 19 %, 9.99 at 7 %; VAT per rate: 20.23 and 0.70.
    assert_eq!(draft["net_minor"], 11646);
    assert_eq!(draft["vat_minor"], 2023 + 70);
    assert_eq!(draft["gross_minor"], 11646 + 2093);
    let id = draft["short_id"].as_str().unwrap().to_owned();
    k.ok(&["invoice", "edit", &id, "--note", "Auftrag 4711"]);

    let issued = k.json(&["invoice", "issue", &id]);
    assert_eq!(number(&issued), format!("2026-B01-0001-{tag}").as_str());
    assert_eq!(issued["due_date"], "2026-09-15");
    assert_eq!(issued["snapshot"]["name"], "Bäckerei Müller GmbH");
    // Issued means frozen: editing is refused and changes nothing.
    let error =
        k.fails(&["invoice", "edit", format!("2026-B01-0001-{tag}").as_str(), "--note", "changed"]);
    assert!(error.contains("issued and cannot change"), "{error}");
    // The client's name changes later; the invoice keeps the one it was issued to.
    k.ok(&["client", "edit", &client, "--name", "Müller Backwaren GmbH"]);
    let shown = k.json(&[
        "invoice",
        "show",
        format!("2026-B01-0001-{tag}").as_str(),
        "--as-of",
        "2026-09-10",
    ]);
    assert_eq!(shown["snapshot"]["name"], "Bäckerei Müller GmbH");
    assert_eq!(shown["note"], "Auftrag 4711");
    assert_eq!(shown["state"], "issued");

    let partly = k.json(&[
        "invoice",
        "pay",
        format!("2026-B01-0001-{tag}").as_str(),
        "50.00",
        "--date",
        "2026-09-20",
        "--reference",
        "SEPA 1",
    ]);
    assert_eq!(partly["paid_minor"], 5000);
    let overdue = k.json(&[
        "invoice",
        "show",
        format!("2026-B01-0001-{tag}").as_str(),
        "--as-of",
        "2026-10-01",
    ]);
    assert_eq!(overdue["state"], "overdue");
    assert_eq!(overdue["open_minor"], 13739 - 5000);
    assert_eq!(overdue["days_overdue"], 16);
    let listed =
        k.json(&["invoice", "list", "--client", &client, "--overdue", "--as-of", "2026-10-01"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // The rest and 10.00 too much: the surplus is the client's credit.
    let paid = k.json(&[
        "invoice",
        "pay",
        format!("2026-B01-0001-{tag}").as_str(),
        "97.39",
        "--date",
        "2026-10-05",
    ]);
    assert_eq!(paid["state"], "paid");
    assert_eq!(paid["credit_minor"], 1000);
    assert_eq!(paid["settled_on"], "2026-10-05");

    let statement = k.json(&["statement", &client, "--from", "2026-01-01", "--to", "2026-12-31"]);
    let entries = statement["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{statement:#}");
    assert_eq!(statement["closing_minor"], -1000);
}

#[test]
fn credit_notes_correct_and_cancel() {
    let (k, client) = office_with_client();
    let tag = k.device_tag();
    k.ok(&["invoice", "series", "C7", "--pattern", "{series}/{year}/{seq:5}"]);
    k.ok(&[
        "invoice",
        "new",
        &client,
        "--date",
        "2026-11-02",
        "--line",
        "Montage=4 h x 60 @ 19",
        "--issue",
    ]);
    let credit = k.json(&[
        "invoice",
        "credit",
        format!("C7/2026/00001-{tag}").as_str(),
        "--line",
        "Montage=1 h x 60 @ 19",
        "--date",
        "2026-11-05",
    ]);
    assert_eq!(number(&credit), format!("C7/2026/00002-{tag}").as_str());
    assert_eq!(credit["kind"], "credit_note");
    assert_eq!(credit["gross_minor"], -7140);
    assert_eq!(credit["credits_number"], format!("C7/2026/00001-{tag}").as_str());
    let original = k.json(&[
        "invoice",
        "show",
        format!("C7/2026/00001-{tag}").as_str(),
        "--as-of",
        "2026-11-06",
    ]);
    assert_eq!(original["open_minor"], 28560 - 7140);
    // More than is left is refused.
    let error = k.fails(&[
        "invoice",
        "credit",
        format!("C7/2026/00001-{tag}").as_str(),
        "--line",
        "Montage=4 h x 60 @ 19",
    ]);
    assert!(error.contains("exceeds what remains"), "{error}");

    k.ok(&[
        "invoice",
        "new",
        &client,
        "--date",
        "2026-11-03",
        "--line",
        "Doppelt=1 x 100 @ 19",
        "--issue",
    ]);
    let cancel = k.json(&[
        "invoice",
        "cancel",
        format!("C7/2026/00003-{tag}").as_str(),
        "--date",
        "2026-11-04",
    ]);
    assert_eq!(cancel["gross_minor"], -11900);
    let cancelled = k.json(&[
        "invoice",
        "show",
        format!("C7/2026/00003-{tag}").as_str(),
        "--as-of",
        "2026-12-01",
    ]);
    assert_eq!(cancelled["open_minor"], 0);
}

#[test]
fn bad_input_is_refused_and_nothing_is_stored() {
    let (k, client) = office_with_client();
    k.ok(&[
        "invoice",
        "new",
        &client,
        "--date",
        "2026-10-01",
        "--currency",
        "EUR",
        "--line",
        "Wartung=1 x 100 @ 19",
        "--issue",
    ]);
    let status_before = k.json(&["status"]);
    let before = invoice_count(&k);
    let number = k.json(&["invoice", "list"])[0]["number"].as_str().unwrap().to_owned();

    let cases: &[(&[&str], &str)] = &[
        (
            &["invoice", "pay", &number, "10", "--currency", "USD"],
            "does not match the invoice's currency EUR",
        ),
        (&["invoice", "pay", &number, "-10"], "positive"),
        (&["invoice", "new", &client, "--line", "Rabatt=-1 x 10 @ 19"], "must be positive"),
        (&["invoice", "new", "nobody-here", "--line", "X=1 x 10 @ 19"], "no client matches"),
        (
            &[
                "invoice",
                "new",
                &client,
                "--date",
                "2026-10-01",
                "--due",
                "2026-09-30",
                "--line",
                "X=1 x 10 @ 19",
            ],
            "before the issue date",
        ),
        (&["invoice", "new", &client, "--line", "no amounts here"], "line"),
        (&["invoice", "new", &client, "--line", "X=1 x 10 @ 19", "--currency", "euro"], "currency"),
        (&["invoice", "edit", &number, "--note", "changed"], "issued and cannot change"),
        (&["invoice", "discard", &number], "issued"),
        (&["invoice", "series", "bad code!"], "series"),
    ];
    for (args, expected) in cases {
        let error = k.fails(args);
        assert!(error.contains(expected), "{args:?}: expected {expected:?} in {error:?}");
    }
    assert_eq!(invoice_count(&k), before);
    let status_after = k.json(&["status"]);
    assert_eq!(status_before["documents"], status_after["documents"]);
    let shown = k.json(&["invoice", "show", &number]);
    assert_eq!(shown["note"], "");
    assert_eq!(shown["paid_minor"], 0);
}

#[test]
fn two_replicas_issue_offline_with_unique_numbers() {
    let relay = Relay::start();
    let (office, client) = office_with_client();
    let laptop = Kartoteka::join(&office.workspace_id(), "laptop-anna");
    let office_tag = office.device_tag();
    let laptop_tag = laptop.device_tag();
    office.connect(&relay);
    laptop.connect(&relay);
    office.ok(&["sync"]);
    laptop.ok(&["sync"]);
    office.ok(&["sync"]);
    // The laptop may not take the office's series once it knows it.
    office.ok(&["invoice", "series", "B01"]);
    office.ok(&["sync"]);
    laptop.ok(&["sync"]);
    let error = laptop.fails(&["invoice", "series", "B01"]);
    assert!(error.contains("belongs to office-berlin"), "{error}");
    laptop.ok(&["invoice", "series", "T03"]);

    // Both issue three invoices offline for the same client and year.
    for day in ["2026-11-02", "2026-11-03", "2026-11-04"] {
        office.ok(&[
            "invoice",
            "new",
            &client,
            "--date",
            day,
            "--line",
            "Wartung=1 x 100 @ 19",
            "--issue",
        ]);
        laptop.ok(&[
            "invoice",
            "new",
            &client,
            "--date",
            day,
            "--line",
            "Einsatz=2 h x 55 @ 19",
            "--issue",
        ]);
    }
    for _ in 0..2 {
        office.ok(&["sync"]);
        laptop.ok(&["sync"]);
    }
    let numbers = |k: &Kartoteka| {
        let mut numbers: Vec<String> = k
            .json(&["invoice", "list", "--client", &client])
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["number"].as_str().unwrap().to_owned())
            .collect();
        numbers.sort();
        numbers
    };
    let expected: Vec<String> = [
        format!("2026-B01-0001-{office_tag}").as_str(),
        format!("2026-B01-0002-{office_tag}").as_str(),
        format!("2026-B01-0003-{office_tag}").as_str(),
        format!("2026-T03-0001-{laptop_tag}").as_str(),
        format!("2026-T03-0002-{laptop_tag}").as_str(),
        format!("2026-T03-0003-{laptop_tag}").as_str(),
    ]
    .map(str::to_owned)
    .to_vec();
    assert_eq!(numbers(&office), expected);
    assert_eq!(numbers(&laptop), expected);
    // After the sync, each continues its own series.
    let next = laptop.json(&[
        "invoice",
        "new",
        &client,
        "--date",
        "2026-11-05",
        "--line",
        "X=1 x 1 @ 19",
        "--issue",
    ]);
    assert_eq!(number(&next), format!("2026-T03-0004-{laptop_tag}").as_str());
}

/// Issue 11, part 1: two synced replicas choose one series code offline, issue
/// in it, sync through the relay and issue again. No number may be issued twice.
#[test]
fn two_devices_choosing_one_series_code_offline_never_issue_one_number_twice() {
    let relay = Relay::start();
    let (a, client) = office_with_client();
    let b = Kartoteka::join(&a.workspace_id(), "laptop-anna");
    a.connect(&relay);
    b.connect(&relay);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    // Offline: both choose T03 and issue.
    a.ok(&["invoice", "series", "T03"]);
    b.ok(&["invoice", "series", "T03"]);
    let issue = |k: &Kartoteka, line: &str| {
        number(&k.json(&[
            "invoice",
            "new",
            &client,
            "--date",
            "2026-11-02",
            "--line",
            line,
            "--issue",
        ]))
    };
    let first_a = issue(&a, "S=1 x 10 @ 21");
    let first_b = issue(&b, "S=1 x 20 @ 21");
    assert_ne!(first_a, first_b, "two devices issued one number offline");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    // Both know of each other now, and both go on issuing.
    let second_a = issue(&a, "S=1 x 30 @ 21");
    let second_b = issue(&b, "S=1 x 40 @ 21");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    for k in [&a, &b] {
        let mut numbers: Vec<String> = k
            .json(&["invoice", "list", "--as-of", "2026-11-22"])
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["number"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(numbers.len(), 4, "{numbers:?}");
        numbers.sort();
        numbers.dedup();
        assert_eq!(numbers.len(), 4, "a number was issued twice: {numbers:?}");
        // Every number names one invoice: paying by number works.
        for number in [&first_a, &first_b, &second_a, &second_b] {
            k.ok(&["invoice", "show", number]);
        }
    }
    a.ok(&["invoice", "pay", &first_a, "1.00", "--date", "2026-11-20"]);
    // The shared code is reported, and no number is duplicated.
    let series = a.json(&["invoice", "series"]);
    assert_eq!(series["code"], "T03");
    assert_eq!(series["shared_with"], serde_json::json!(["laptop-anna"]));
    assert_eq!(series["duplicate_numbers"], 0);
    assert!(first_a.starts_with("2026-T03-0001-"), "{first_a}");
    assert!(second_a.starts_with("2026-T03-0002-"), "{second_a}");
    assert_eq!(a.json(&["invoice", "duplicates"]), serde_json::json!([]));
}

/// Issues a draft the way earlier versions did: `2026-T03-0001` in series `T03`,
/// without the device tag, written into the replica's invoices document.
fn issue_as_before_the_tag(k: &Kartoteka, draft: &str, number: &str) {
    let mut replica = replica_store::Replica::open(k.home()).unwrap();
    let id = replica.resolve_invoice(draft).unwrap();
    let detail = replica.invoice(id, "2026-11-22".parse().unwrap()).unwrap();
    let client: domain::ClientId = detail.row.client_id.parse().unwrap();
    let doc_id = doc_model::DocId::invoices(client, 2026);
    let mut doc = automerge::AutoCommit::load(&replica.export_document(doc_id).unwrap()).unwrap();
    let lines = vec![billing::invoice::Line::parse("S=1 x 10 @ 21").unwrap()];
    let issue = doc_model::Issue {
        number: number.to_owned(),
        series: "T03".to_owned(),
        seq: 1,
        issue_date: "2026-11-02".parse().unwrap(),
        due_date: "2026-11-16".parse().unwrap(),
        totals: billing::invoice::totals(&lines).unwrap(),
        snapshot: std::collections::BTreeMap::new(),
    };
    doc_model::InvoicesDocMut::open(&mut doc).unwrap().issue(&id.to_string(), &issue).unwrap();
    replica.merge_document(doc_id, &doc.save()).unwrap();
}

/// Issue 11, part 1: replicas written before numbers carried the device tag
/// hold one number on two devices. After sync both devices are told, neither
/// issues in the code again, a number names no invoice but an id does, and the
/// documented way out works.
#[test]
fn a_number_two_devices_issued_before_the_tag_is_reported_on_both_after_sync() {
    let relay = Relay::start();
    let (a, client) = office_with_client();
    let b = Kartoteka::join(&a.workspace_id(), "laptop-anna");
    a.connect(&relay);
    b.connect(&relay);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let mut ids = Vec::new();
    for k in [&a, &b] {
        k.ok(&["invoice", "series", "T03"]);
        let draft =
            k.json(&["invoice", "new", &client, "--date", "2026-11-02", "--line", "S=1 x 10 @ 21"]);
        let id = draft["id"].as_str().unwrap().to_owned();
        issue_as_before_the_tag(k, &id, "2026-T03-0001");
        ids.push(id);
    }
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    for k in [&a, &b] {
        let series = k.json(&["invoice", "series"]);
        assert_eq!(series["duplicate_numbers"], 1, "{series:#}");
        let text = k.ok(&["invoice", "series"]);
        assert!(text.contains("were issued by two devices"), "{text}");
        assert!(k.ok(&["conflicts"]).contains("kartoteka invoice duplicates"));
        let duplicates = k.json(&["invoice", "duplicates"]);
        assert_eq!(duplicates[0]["number"], "2026-T03-0001");
        assert_eq!(duplicates[0]["invoices"].as_array().unwrap().len(), 2, "{duplicates:#}");
        // The number is ambiguous and says so with both ids; an id works.
        let error = k.fails(&["invoice", "pay", "2026-T03-0001", "1.00"]);
        assert!(error.contains("belongs to 2 invoices") && error.contains("by its id"), "{error}");
        for id in &ids {
            assert!(error.contains(&id[..8]), "{error}");
        }
        k.ok(&["invoice", "show", &ids[0][..8]]);
        // Nothing more is issued in T03, and a refused `new --issue` stores no draft.
        let before = invoice_count(k);
        let error = k.fails(&["invoice", "new", &client, "--line", "S=1 x 5 @ 21", "--issue"]);
        assert!(error.contains("series T03 holds 1 invoice number(s) issued by two devices"));
        assert!(error.contains("kartoteka invoice series CODE"), "{error}");
        assert_eq!(invoice_count(k), before);
    }
    a.ok(&["invoice", "pay", &ids[0][..8], "1.00", "--date", "2026-11-20"]);
    // The way out on b: a fresh code, a credit note for its invoice, a new number.
    b.ok(&["invoice", "series", "T04"]);
    let credit = b.json(&[
        "invoice",
        "cancel",
        &ids[1][..8],
        "--date",
        "2026-11-21",
        "--note",
        "Number issued twice",
    ]);
    assert!(number(&credit).starts_with("2026-T04-0001-"), "{credit:#}");
    let again = b.json(&["invoice", "new", &client, "--line", "S=1 x 20 @ 21", "--issue"]);
    assert!(number(&again).starts_with("2026-T04-0002-"), "{again:#}");
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    for k in [&a, &b] {
        assert_eq!(k.json(&["invoice", "duplicates"])[0]["settled"], true);
        assert!(!k.ok(&["conflicts"]).contains("kartoteka invoice duplicates"));
    }
}

fn notices(k: &Kartoteka, invoice: &str) -> Vec<(i64, String, i64, i64, i64)> {
    k.json(&["invoice", "show", invoice])["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|notice| {
            (
                notice["level"].as_i64().unwrap(),
                notice["date"].as_str().unwrap().to_owned(),
                notice["fee_minor"].as_i64().unwrap(),
                notice["interest_minor"].as_i64().unwrap(),
                notice["lump_sum_minor"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn run_dunning(k: &Kartoteka, day: &str) -> Value {
    k.json(&["dunning", "run", "--as-of", day])
}

#[test]
fn dunning_climbs_one_level_at_a_time_and_payments_clear_charges_first() {
    let (k, client) = office_with_client();
    let tag = k.device_tag();
    k.ok(&["client", "edit", &client, "--country", "DE"]);
    k.ok(&["company", "set", "iban", "DE44 5001 0517 5407 3249 31"]);
    k.ok(&[
        "dunning",
        "policy",
        "set",
        "Standard",
        "--level",
        "Zahlungserinnerung:7:0:0",
        "--level",
        "1. Mahnung:21:14:2.50:interest",
        "--level",
        "2. Mahnung:35:14:5.00:interest",
        "--level",
        "3. Mahnung:49:14:7.50:interest",
        "--lump-sum",
        "--default",
    ]);
    k.ok(&["invoice", "series", "B01"]);
    k.ok(&[
        "invoice",
        "new",
        &client,
        "--date",
        "2026-09-01",
        "--due-in",
        "14",
        "--line",
        "Wartung=10 h x 100 @ 19",
        "--issue",
    ]);
    let invoice = &format!("2026-B01-0001-{tag}");
    // 190.00 paid before the due date: 1,000.00 stays open.
    k.ok(&["invoice", "pay", invoice, "190.00", "--date", "2026-09-10"]);

    assert_eq!(
        run_dunning(&k, "2026-09-21")["notices"].as_array().unwrap().len(),
        0,
        "not 7 days late yet"
    );
    let first = run_dunning(&k, "2026-09-22");
    assert_eq!(first["notices"][0]["level_name"], "Zahlungserinnerung");
    assert_eq!(first["notices"][0]["language"], "de");
    // The same day again: nothing new.
    assert_eq!(run_dunning(&k, "2026-09-22")["notices"].as_array().unwrap().len(), 0);
    // Long after every level's day, a run still gives only the next level.
    let second = run_dunning(&k, "2026-12-01");
    assert_eq!(second["notices"].as_array().unwrap().len(), 1);
    assert_eq!(second["notices"][0]["level_name"], "1. Mahnung");
    // 1,000.00 × (1.27 % + 9 %) × 77 days (16 Sep – 1 Dec) / 365 = 21.67.
    assert_eq!(second["notices"][0]["interest_minor"], 2167);
    assert_eq!(second["notices"][0]["lump_sum_minor"], 4000);
    // Spacing: the 2nd notice waits 14 days after the 1st.
    assert_eq!(run_dunning(&k, "2026-12-14")["notices"].as_array().unwrap().len(), 0);

    // A blocked invoice is passed over until the block ends.
    k.ok(&["dunning", "invoice", invoice, "--block", "Reklamation", "--until", "2026-12-20"]);
    let blocked = run_dunning(&k, "2026-12-15");
    assert_eq!(
        (blocked["notices"].as_array().unwrap().len(), blocked["blocked"].as_i64()),
        (0, Some(1))
    );
    let third = run_dunning(&k, "2026-12-21");
    assert_eq!(third["notices"][0]["level_name"], "2. Mahnung");
    // Interest continues from the last claim: 20 days (2 – 21 Dec) = 5.63, no second lump sum.
    assert_eq!(third["notices"][0]["interest_minor"], 563);
    assert_eq!(third["notices"][0]["lump_sum_minor"], 0);
    assert_eq!(
        notices(&k, invoice),
        vec![
            (1, "2026-09-22".to_owned(), 0, 0, 0),
            (2, "2026-12-01".to_owned(), 250, 2167, 4000),
            (3, "2026-12-21".to_owned(), 500, 563, 0),
        ]
    );
    // The invoice itself never changes: charges are a separate claim without VAT.
    let shown = k.json(&["invoice", "show", invoice, "--as-of", "2026-12-22"]);
    assert_eq!(shown["gross_minor"], 119_000);
    assert_eq!(shown["vat_minor"], 19_000);
    assert_eq!(shown["open_costs_minor"], 250 + 4000 + 500);
    assert_eq!(shown["open_interest_minor"], 2167 + 563);

    // §367 BGB: 100.00 pays costs (47.50), then interest (27.30), then 25.20 of the invoice.
    let partly = k.json(&["invoice", "pay", invoice, "100.00", "--date", "2026-12-23"]);
    let payment = &partly["payments"].as_array().unwrap()[1];
    assert_eq!(
        (&payment["costs_minor"], &payment["interest_minor"], &payment["principal_minor"]),
        (&Value::from(4750), &Value::from(2730), &Value::from(2520))
    );
    let paid = k.json(&["invoice", "pay", invoice, "974.80", "--date", "2026-12-28"]);
    assert_eq!(paid["state"], "paid");
    let after = run_dunning(&k, "2027-03-01");
    assert_eq!(
        (after["overdue"].as_i64(), after["notices"].as_array().unwrap().len()),
        (Some(0), 0)
    );

    // Three letters, stored as the client's documents with their content hash, in German.
    let documents = k.json(&["document", "list", &client]);
    let letters: Vec<&Value> = documents["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "dunning_letter")
        .collect();
    assert_eq!(letters.len(), 3, "{documents:#}");
    let out = tempfile::tempdir().unwrap();
    let second_letter = letters.iter().find(|d| d["date"] == "2026-12-01").unwrap();
    k.ok(&[
        "document",
        "export",
        &client,
        second_letter["short_id"].as_str().unwrap(),
        "--to",
        out.path().to_str().unwrap(),
    ]);
    let file = std::fs::read_dir(out.path()).unwrap().next().unwrap().unwrap().path();
    let html = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        blake3::hash(html.as_bytes()).to_hex().as_str(),
        second_letter["hash"].as_str().unwrap()
    );
    for expected in [
        "1. Mahnung",
        format!("2026-B01-0001-{tag}").as_str(),
        "1.000,00\u{a0}EUR",
        "21,67\u{a0}EUR",
        "40,00\u{a0}EUR",
        "DE44 5001 0517 5407 3249 31",
    ] {
        assert!(html.contains(expected), "{expected:?} missing in\n{html}");
    }
    k.ok(&["verify"]);
    // Letters belong to the dunning history: they are not removed.
    let error =
        k.fails(&["document", "remove", &client, second_letter["short_id"].as_str().unwrap()]);
    assert!(error.contains("is kept"), "{error}");
}

#[test]
fn letters_follow_the_clients_language_and_blocked_clients_wait() {
    let (k, _) = office_with_client();
    let riga = k.json(&["client", "add", "--name", "Ķiploks SIA", "--country", "LV"])["short_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let london = k.json(&["client", "add", "--name", "Tea Ltd", "--country", "GB"])["short_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let oslo = k.json(&["client", "add", "--name", "Fisk AS", "--country", "NO"])["short_id"]
        .as_str()
        .unwrap()
        .to_owned();
    k.ok(&["client", "set", &oslo, "language", "de"]);
    for client in [&riga, &london, &oslo] {
        k.ok(&[
            "invoice",
            "new",
            client,
            "--date",
            "2026-10-01",
            "--due-in",
            "10",
            "--line",
            "Service=1 x 100 @ 21",
            "--issue",
        ]);
    }
    k.ok(&[
        "dunning",
        "client",
        &london,
        "--block",
        "Payment plan agreed",
        "--until",
        "2026-11-30",
    ]);
    let run = run_dunning(&k, "2026-11-01");
    let languages: std::collections::BTreeMap<String, String> = run["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["client_name"].as_str().unwrap().to_owned(),
                n["language"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(languages.get("Ķiploks SIA").map(String::as_str), Some("lv"));
    assert_eq!(languages.get("Fisk AS").map(String::as_str), Some("de"));
    assert!(!languages.contains_key("Tea Ltd"), "blocked client dunned: {run:#}");
    assert_eq!(run["blocked"], 1);
    let after_block = run_dunning(&k, "2026-12-01");
    let tea = after_block["notices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|notice| notice["client_name"] == "Tea Ltd")
        .unwrap_or_else(|| panic!("the block has ended: {after_block:#}"));
    assert_eq!((&tea["level"], &tea["language"]), (&Value::from(1), &Value::from("en")));

    // Bad dunning input is refused and changes nothing.
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "dunning",
                "policy",
                "set",
                "Broken",
                "--level",
                "1st:21:14:2.50",
                "--level",
                "reminder:7:0:0",
            ],
            "fall due before",
        ),
        (&["dunning", "policy", "set", "Broken", "--level", "1st:21:14"], "level"),
        (&["dunning", "client", &riga, "--policy", "Nonexistent"], "no dunning policy"),
        (&["dunning", "base-rate", "set", "2027-02-01", "1.5"], "1 January and 1 July"),
        (&["dunning", "run", "--language", "fr"], "not written in"),
    ];
    for (args, expected) in cases {
        let error = k.fails(args);
        assert!(error.contains(expected), "{args:?}: expected {expected:?} in {error:?}");
    }
    assert_eq!(k.json(&["dunning", "policy", "list"]).as_array().unwrap().len(), 1);
    k.ok(&["dunning", "base-rate", "set", "2027-01-01", "1.10"]);
    let rates = k.json(&["dunning", "base-rate", "list"]);
    assert_eq!(rates.as_array().unwrap().last().unwrap()["rate_bp"], 110);
}

#[test]
fn two_replicas_running_dunning_offline_store_each_notice_once() {
    let relay = Relay::start();
    let (office, client) = office_with_client();
    let laptop = Kartoteka::join(&office.workspace_id(), "laptop-anna");
    office.connect(&relay);
    laptop.connect(&relay);
    office.ok(&[
        "invoice",
        "new",
        &client,
        "--date",
        "2026-09-01",
        "--due-in",
        "14",
        "--line",
        "Wartung=1 x 500 @ 19",
        "--issue",
    ]);
    office.ok(&["sync"]);
    laptop.ok(&["sync"]);
    let number = office.json(&["invoice", "list"])[0]["number"].as_str().unwrap().to_owned();
    // Both run the same day's dunning offline.
    assert_eq!(run_dunning(&office, "2026-10-10")["notices"].as_array().unwrap().len(), 1);
    assert_eq!(run_dunning(&laptop, "2026-10-10")["notices"].as_array().unwrap().len(), 1);
    for _ in 0..2 {
        office.ok(&["sync"]);
        laptop.ok(&["sync"]);
    }
    for k in [&office, &laptop] {
        assert_eq!(notices(k, &number).len(), 1);
        let letters = k.json(&["document", "list", &client]);
        assert_eq!(letters["count"], 1, "{letters:#}");
    }
    // The next level, run on one replica, reaches the other.
    assert_eq!(run_dunning(&laptop, "2026-10-24")["notices"][0]["level"], 2);
    laptop.ok(&["sync"]);
    office.ok(&["sync"]);
    assert_eq!(notices(&office, &number).len(), 2);
    assert_eq!(run_dunning(&office, "2026-10-24")["notices"].as_array().unwrap().len(), 0);
}

/// Issue 11, part 2: two replicas send the same level for one invoice on
/// different days while offline. After sync both letters are in the history,
/// with their dates, devices and interest; the level and its fee count once.
#[test]
fn letters_sent_for_one_level_on_two_offline_replicas_on_different_days_are_both_kept() {
    let relay = Relay::start();
    let (office, client) = office_with_client();
    let laptop = Kartoteka::join(&office.workspace_id(), "laptop-anna");
    office.connect(&relay);
    laptop.connect(&relay);
    office.ok(&[
        "invoice",
        "new",
        &client,
        "--date",
        "2026-09-01",
        "--due-in",
        "14",
        "--line",
        "Wartung=10 h x 100 @ 19",
        "--issue",
    ]);
    let number = office.json(&["invoice", "list"])[0]["number"].as_str().unwrap().to_owned();
    // The reminder goes out once, from the office, and both know it.
    assert_eq!(run_dunning(&office, "2026-09-22")["notices"].as_array().unwrap().len(), 1);
    office.ok(&["sync"]);
    laptop.ok(&["sync"]);
    // Offline, each sends the 1st notice (fee and interest) on its own day.
    let early = run_dunning(&office, "2026-10-22");
    let late = run_dunning(&laptop, "2026-10-24");
    let interest = |report: &Value| report["notices"][0]["interest_minor"].as_i64().unwrap();
    assert_eq!(early["notices"][0]["level"], 2);
    assert_eq!(late["notices"][0]["level"], 2);
    assert!(interest(&late) > interest(&early), "{early:#} {late:#}");
    for _ in 0..2 {
        office.ok(&["sync"]);
        laptop.ok(&["sync"]);
    }
    for k in [&office, &laptop] {
        // Every letter stays: the reminder and both 1st notices.
        let letters = k.json(&["document", "list", &client]);
        assert_eq!(letters["count"], 3, "{letters:#}");
        // The level is reached once, on the earlier day, with its charges.
        let shown = k.json(&["invoice", "show", &number, "--as-of", "2026-10-25"]);
        let notices = shown["notices"].as_array().unwrap();
        assert_eq!(notices.len(), 2, "{shown:#}");
        assert_eq!(notices[1]["date"], "2026-10-22");
        assert_eq!(notices[1]["interest_minor"], interest(&early));
        // One fee (2.50), not two.
        assert_eq!(shown["open_costs_minor"], 250, "{shown:#}");
        let sendings: Vec<(String, String, i64, bool)> = notices[1]["sendings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sending| {
                (
                    sending["date"].as_str().unwrap().to_owned(),
                    sending["device"].as_str().unwrap().to_owned(),
                    sending["interest_minor"].as_i64().unwrap(),
                    sending["charged"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            sendings,
            [
                ("2026-10-22".to_owned(), "office-berlin".to_owned(), interest(&early), true),
                ("2026-10-24".to_owned(), "laptop-anna".to_owned(), interest(&late), false),
            ]
        );
        // The card and the statement show both letters.
        let card = k.ok(&["client", "show", &client, "--as-of", "2026-10-25"]);
        assert!(card.contains("2026-10-22"), "{card}");
        assert!(card.contains("2026-10-24") && card.contains("also sent by laptop-anna"), "{card}");
        let statement =
            k.json(&["statement", &client, "--from", "2026-01-01", "--to", "2026-12-31"]);
        let kinds: Vec<(&str, &str)> = statement["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| (entry["date"].as_str().unwrap(), entry["kind"].as_str().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("2026-09-01", "invoice"),
                ("2026-09-22", "dunning"),
                ("2026-10-22", "dunning"),
                ("2026-10-24", "dunning_letter"),
            ],
            "{statement:#}"
        );
    }
    // The next level follows from the earlier day, and is sent once.
    assert_eq!(run_dunning(&office, "2026-10-24")["notices"].as_array().unwrap().len(), 0);
}

fn numbers_of(k: &Kartoteka, client: &str) -> Vec<String> {
    let mut numbers: Vec<String> = k
        .json(&["invoice", "list", "--client", client])
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["number"].as_str().unwrap().to_owned())
        .collect();
    numbers.sort();
    numbers
}

#[test]
fn recurring_templates_issue_each_period_once() {
    let (k, client) = office_with_client();
    let tag = k.device_tag();
    k.ok(&["invoice", "series", "B01"]);
    k.ok(&["unit", "add", &client, "--name", "Filiale Mitte"]);
    let monthly = k.json(&[
        "recurring",
        "add",
        &client,
        "--period",
        "monthly",
        "--day",
        "31",
        "--start",
        "2027-12-01",
        "--line",
        "Wartungsvertrag=1 x 89 @ 19",
    ]);
    assert_eq!(monthly["code"], format!("B01R1-{tag}").as_str());
    assert_eq!(monthly["next_date"], "2027-12-31");
    let quarterly = k.json(&[
        "recurring",
        "add",
        &client,
        "--unit",
        "Filiale Mitte",
        "--period",
        "quarterly",
        "--day",
        "15",
        "--start",
        "2028-01-01",
        "--end",
        "2028-06-30",
        "--due-in",
        "30",
        "--line",
        "Filter=4 h x 45 @ 19",
    ]);
    assert_eq!(quarterly["code"], format!("B01R2-{tag}").as_str());

    let planned = k.json(&["generate", "--until", "2028-03-31", "--dry-run"]);
    assert_eq!(planned.as_array().unwrap().len(), 5);
    assert!(numbers_of(&k, &client).is_empty(), "a dry run stored invoices");
    let issued = k.json(&["generate", "--until", "2028-03-31"]);
    let dates: Vec<(&str, &str)> = issued
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["number"].as_str().unwrap(), i["issue_date"].as_str().unwrap()))
        .collect();
    // Month ends are clamped, February of a leap year has 29 days.
    assert_eq!(
        dates,
        [
            (format!("B01R1-{tag}-2027-12").as_str(), "2027-12-31"),
            (format!("B01R1-{tag}-2028-01").as_str(), "2028-01-31"),
            (format!("B01R1-{tag}-2028-02").as_str(), "2028-02-29"),
            (format!("B01R1-{tag}-2028-03").as_str(), "2028-03-31"),
            (format!("B01R2-{tag}-2028-01").as_str(), "2028-01-15"),
        ]
    );
    // Generating again issues nothing new.
    assert_eq!(k.json(&["generate", "--until", "2028-03-31"]).as_array().unwrap().len(), 0);
    let invoice = k.json(&["invoice", "show", format!("B01R2-{tag}-2028-01").as_str()]);
    assert_eq!(invoice["state"], "issued");
    assert_eq!(invoice["due_date"], "2028-02-14");
    assert_eq!(invoice["unit_name"], "Filiale Mitte");
    assert_eq!(invoice["template_code"], format!("B01R2-{tag}").as_str());
    // A unit is found by the start of a word of its name, as clients are.
    let at_unit = k.json(&["invoice", "list", "--client", &client, "--unit", "mitte"]);
    assert_eq!(at_unit.as_array().unwrap().len(), 1, "{at_unit:#}");
    assert!(
        k.fails(&["invoice", "list", "--client", &client, "--unit", "nord"])
            .contains("no unit matches")
    );

    // An ended template stops; the quarterly one ends by itself after June.
    k.ok(&["recurring", "end", format!("B01R1-{tag}").as_str(), "--on", "2028-04-30"]);
    let rest = k.json(&["generate", "--until", "2028-12-31"]);
    let numbers: Vec<&str> =
        rest.as_array().unwrap().iter().map(|i| i["number"].as_str().unwrap()).collect();
    assert_eq!(
        numbers,
        [format!("B01R1-{tag}-2028-04").as_str(), format!("B01R2-{tag}-2028-04").as_str()]
    );
    let listed = k.json(&["recurring", "list", "--client", &client, "--as-of", "2028-12-31"]);
    assert!(listed.as_array().unwrap().iter().all(|t| t["next_date"].is_null()), "{listed:#}");

    // Bad templates are refused and nothing is stored.
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "recurring",
                "add",
                &client,
                "--period",
                "weekly",
                "--start",
                "2028-01-01",
                "--line",
                "X=1 x 1 @ 19",
            ],
            "unknown period",
        ),
        (
            &[
                "recurring",
                "add",
                &client,
                "--period",
                "monthly",
                "--day",
                "0",
                "--start",
                "2028-01-01",
                "--line",
                "X=1 x 1 @ 19",
            ],
            "not a day",
        ),
        (
            &[
                "recurring",
                "add",
                &client,
                "--period",
                "monthly",
                "--start",
                "2028-02-01",
                "--end",
                "2028-01-01",
                "--line",
                "X=1 x 1 @ 19",
            ],
            "before it starts",
        ),
        (
            &[
                "recurring",
                "add",
                &client,
                "--period",
                "monthly",
                "--start",
                "2028-01-01",
                "--line",
                "X=-1 x 1 @ 19",
            ],
            "must be positive",
        ),
        (&["recurring", "end", "NOPE1", "--on", "2028-01-01"], "template"),
    ];
    for (args, expected) in cases {
        let error = k.fails(args);
        assert!(error.contains(expected), "{args:?}: expected {expected:?} in {error:?}");
    }
    assert_eq!(k.json(&["recurring", "list"]).as_array().unwrap().len(), 2);
}

/// Issue 11, part 3: once a period is generated, the list and the card name
/// the next period that is not.
#[test]
fn the_next_date_of_a_template_skips_periods_already_generated() {
    let (k, client) = office_with_client();
    k.ok(&[
        "recurring",
        "add",
        &client,
        "--period",
        "monthly",
        "--day",
        "1",
        "--start",
        "2027-01-01",
        "--line",
        "Plan=1 x 89 @ 19",
    ]);
    let next = |k: &Kartoteka| {
        let listed = k.json(&["recurring", "list", "--as-of", "2026-12-15"]);
        listed[0]["next_date"].as_str().unwrap().to_owned()
    };
    assert_eq!(next(&k), "2027-01-01");
    // Generated ahead of time, in December: January is done, February is next.
    assert_eq!(k.json(&["generate", "--until", "2027-01-31"]).as_array().unwrap().len(), 1);
    assert_eq!(next(&k), "2027-02-01");
    let card = k.json(&["client", "show", &client, "--as-of", "2026-12-15"]);
    assert_eq!(card["account"]["templates"][0]["next_date"], "2027-02-01", "{card:#}");
    let text = k.ok(&["recurring", "list", "--as-of", "2026-12-15"]);
    assert!(text.contains("2027-02-01"), "{text}");
}

#[test]
fn two_replicas_generating_offline_end_with_one_invoice_per_period() {
    let relay = Relay::start();
    let (office, client) = office_with_client();
    let laptop = Kartoteka::join(&office.workspace_id(), "laptop-anna");
    let office_tag = office.device_tag();
    let laptop_tag = laptop.device_tag();
    office.connect(&relay);
    laptop.connect(&relay);
    office.ok(&["invoice", "series", "B01"]);
    office.ok(&[
        "recurring",
        "add",
        &client,
        "--period",
        "monthly",
        "--day",
        "1",
        "--start",
        "2027-01-01",
        "--line",
        "Plan=1 x 89 @ 19",
    ]);
    office.ok(&["sync"]);
    laptop.ok(&["sync"]);
    laptop.ok(&["invoice", "series", "T03"]);
    // Offline, both generate January to March; the laptop also issues an invoice by hand.
    assert_eq!(office.json(&["generate", "--until", "2027-03-31"]).as_array().unwrap().len(), 3);
    assert_eq!(laptop.json(&["generate", "--until", "2027-03-31"]).as_array().unwrap().len(), 3);
    laptop.ok(&[
        "invoice",
        "new",
        &client,
        "--date",
        "2027-02-10",
        "--line",
        "Einsatz=1 x 120 @ 19",
        "--issue",
    ]);
    for _ in 0..2 {
        office.ok(&["sync"]);
        laptop.ok(&["sync"]);
    }
    let expected = [
        format!("2027-T03-0001-{laptop_tag}").as_str(),
        format!("B01R1-{office_tag}-2027-01").as_str(),
        format!("B01R1-{office_tag}-2027-02").as_str(),
        format!("B01R1-{office_tag}-2027-03").as_str(),
    ]
    .map(str::to_owned)
    .to_vec();
    assert_eq!(numbers_of(&office, &client), expected);
    assert_eq!(numbers_of(&laptop, &client), expected);
    // Both know April is next and nothing before it is missing.
    for k in [&office, &laptop] {
        let planned = k.json(&["generate", "--until", "2027-04-30", "--dry-run"]);
        let numbers: Vec<&str> =
            planned.as_array().unwrap().iter().map(|i| i["number"].as_str().unwrap()).collect();
        assert_eq!(numbers, [format!("B01R1-{office_tag}-2027-04").as_str()]);
    }
}

#[test]
fn the_card_shows_turnover_balances_and_how_the_client_pays() {
    let (k, baker) = office_with_client();
    let tag = k.device_tag();
    let small = k.json(&["client", "add", "--name", "Kleiner Kunde"])["short_id"]
        .as_str()
        .unwrap()
        .to_owned();
    k.ok(&["invoice", "series", "B01"]);
    let issue = |client: &str, date: &str, line: &str| {
        number(&k.json(&[
            "invoice", "new", client, "--date", date, "--due-in", "10", "--line", line, "--issue",
        ]))
    };
    // 2025: 1,000 net, paid 40 days late. 2026: 500 net paid 5 days late, 300 net open and overdue.
    let old = issue(&baker, "2025-03-01", "Anlage=1 x 1000 @ 19");
    k.ok(&["invoice", "pay", &old, "1190", "--date", "2025-04-20"]);
    let paid = issue(&baker, "2026-06-01", "Wartung=1 x 500 @ 19");
    k.ok(&["invoice", "pay", &paid, "595", "--date", "2026-06-16"]);
    let open = issue(&baker, "2026-10-01", "Reparatur=1 x 300 @ 19");
    // A credit note lowers the turnover of its year.
    k.ok(&["invoice", "credit", &paid, "--line", "Wartung=1 x 100 @ 19", "--date", "2026-06-20"]);
    issue(&small, "2026-11-01", "Kleinteil=1 x 50 @ 19");

    let card = k.json(&["client", "show", &baker, "--as-of", "2026-11-22"]);
    let account = &card["account"];
    let eur = &account["currencies"][0];
    assert_eq!(eur["currency"], "EUR");
    assert_eq!(eur["turnover_total_minor"], 100_000 + 50_000 + 30_000 - 10_000);
    assert_eq!(eur["turnover_by_year"][0]["year"], 2026);
    assert_eq!(eur["turnover_by_year"][0]["net_minor"], 70_000);
    assert_eq!(eur["turnover_by_year"][1]["net_minor"], 100_000);
    assert_eq!(eur["open_minor"], 35_700);
    assert_eq!(eur["overdue_minor"], 35_700);
    // The 100 credit on a paid invoice is the client's credit.
    assert_eq!(eur["credit_minor"], 11_900);
    let behaviour = &account["behaviour"];
    // Two paid invoices, both late (40 and 5 days); the open one is overdue, not "paid late".
    assert_eq!(behaviour["paid_invoices"], 2);
    assert_eq!(behaviour["longest_delay_days"], 40);
    assert_eq!(behaviour["share_late_percent"], 100.0);
    assert_eq!(behaviour["overdue_invoices"], 1);
    assert_eq!(behaviour["longest_overdue_days"], 42);
    assert_eq!(behaviour["trend"], "better");
    // The card names the command for the full list; it lists exactly this client's invoices.
    let command = account["invoice_list_command"].as_str().unwrap();
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    let mut with_json = vec!["--json"];
    with_json.extend(&args);
    let listed: Value = serde_json::from_str(&k.ok(&with_json)).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 4);
    assert!(
        listed.as_array().unwrap().iter().all(|row| row["client_name"] == "Bäckerei Müller GmbH")
    );
    let text = k.ok(&["client", "show", &baker, "--as-of", "2026-11-22"]);
    assert!(
        text.contains("Turnover (EUR, net)  total 1700.00   2026 700.00 · 2025 1000.00"),
        "{text}"
    );
    assert!(text.contains("100 % of 2 paid invoices paid late, longest 40 days"), "{text}");
    assert!(
        text.contains("Unpaid and overdue: 1 invoice(s), the oldest 42 days past due"),
        "{text}"
    );
    // A client who has paid nothing yet has not paid late: the invoice is overdue.
    let small_text = k.ok(&["client", "show", &small, "--as-of", "2026-11-22"]);
    assert!(!small_text.contains("paid late"), "{small_text}");
    assert!(small_text.contains("Unpaid and overdue: 1 invoice(s), the oldest 11 days past due"));

    // Lists filter and sort.
    let overdue =
        k.json(&["invoice", "list", "--overdue", "--as-of", "2026-11-22", "--sort", "overdue"]);
    let numbers: Vec<&str> =
        overdue.as_array().unwrap().iter().map(|r| r["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, [open.as_str(), format!("2026-B01-0004-{tag}").as_str()]);
    let by_amount = k.json(&[
        "invoice",
        "list",
        "--client",
        &baker,
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--sort",
        "amount",
    ]);
    let amounts: Vec<i64> =
        by_amount.as_array().unwrap().iter().map(|r| r["gross_minor"].as_i64().unwrap()).collect();
    assert_eq!(amounts, [59_500, 35_700, -11_900]);
    let paid_rows = k.json(&["invoice", "list", "--state", "paid"]);
    assert_eq!(paid_rows.as_array().unwrap().len(), 2);

    // The catalog sorts by overdue balance and by turnover of the last 12 months.
    let catalog = |sort: &str| -> Vec<(String, i64)> {
        k.json(&["catalog", "--sort", sort, "--as-of", "2026-11-22"])["clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let amount =
                    row["overdue_minor"].as_i64().or(row["turnover_minor"].as_i64()).unwrap();
                (row["name"].as_str().unwrap().to_owned(), amount)
            })
            .collect()
    };
    assert_eq!(
        catalog("overdue"),
        [("Bäckerei Müller GmbH".to_owned(), 35_700), ("Kleiner Kunde".to_owned(), 5_950)]
    );
    assert_eq!(
        catalog("turnover"),
        [("Bäckerei Müller GmbH".to_owned(), 70_000), ("Kleiner Kunde".to_owned(), 5_000)]
    );

    // The statement of account: opening balance, movements, running balance.
    let statement = k.json(&["statement", &baker, "--from", "2026-01-01", "--to", "2026-12-31"]);
    assert_eq!(statement["opening_minor"], 0);
    let balances: Vec<i64> = statement["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["balance_minor"].as_i64().unwrap())
        .collect();
    assert_eq!(balances, [59_500, 0, -11_900, 23_800]);
    assert_eq!(statement["closing_minor"], 23_800);
}

#[test]
fn invoices_export_as_xrechnung_and_printable_pages() {
    let (k, client) = office_with_client();
    let tag = k.device_tag();
    k.ok(&["invoice", "series", "B01"]);
    k.ok(&[
        "client",
        "edit",
        &client,
        "--country",
        "DE",
        "--city",
        "Potsdam",
        "--postal-code",
        "14467",
        "--street",
        "Rathausplatz 5",
    ]);
    k.ok(&["client", "set", &client, "buyer_reference", "04011000-12345-34"]);
    // Without the company's contact details the e-invoice is refused, and the error says what to add.
    k.ok(&[
        "invoice",
        "new",
        &client,
        "--date",
        "2026-11-02",
        "--line",
        "Wartung=1.5 h x 33.33 @ 19",
        "--issue",
    ]);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let error =
        k.fails(&["invoice", "export", format!("2026-B01-0001-{tag}").as_str(), "--to", dir]);
    assert!(error.contains("kartoteka company set phone"), "{error}");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "a refused export wrote a file");

    for (key, value) in [
        ("street", "Hauptstr. 1"),
        ("city", "Berlin"),
        ("postal_code", "10115"),
        ("country", "DE"),
        ("vat_id", "DE123456789"),
        ("iban", "DE02 1203 0000 0000 2020 51"),
        ("email", "rechnung@serviss.de"),
        ("phone", "+49 30 1234567"),
        ("contact", "Anna Schmidt"),
    ] {
        k.ok(&["company", "set", key, value]);
    }
    k.ok(&[
        "invoice",
        "new",
        &client,
        "--date",
        "2026-11-03",
        "--line",
        "Wartung=1.5 h x 33.33 @ 19",
        "--line",
        "Filter=3 pcs x 19.99 @ 7",
        "--issue",
    ]);
    k.ok(&[
        "invoice",
        "credit",
        format!("2026-B01-0002-{tag}").as_str(),
        "--line",
        "Filter=1 pcs x 19.99 @ 7",
        "--date",
        "2026-11-05",
    ]);
    k.ok(&["invoice", "export", format!("2026-B01-0002-{tag}").as_str(), "--to", dir]);
    k.ok(&[
        "invoice",
        "export",
        format!("2026-B01-0003-{tag}").as_str(),
        "--format",
        "ubl",
        "--to",
        dir,
    ]);
    let html_path = out.path().join("rechnung.html");
    k.ok(&[
        "invoice",
        "export",
        format!("2026-B01-0002-{tag}").as_str(),
        "--format",
        "html",
        "--to",
        html_path.to_str().unwrap(),
    ]);

    let invoice =
        std::fs::read_to_string(out.path().join(format!("2026-B01-0002-{tag}.xml"))).unwrap();
    let report = core_invoice_formats::validate_xml(&invoice, None).unwrap();
    assert!(report.ok(), "{report}\n{invoice}");
    // 50.00 + 9.50 VAT, 59.97 + 4.20 VAT: the same totals as the issued invoice.
    assert!(invoice.contains(">123.67</cbc:TaxInclusiveAmount>"), "{invoice}");
    assert!(
        invoice.contains("<cbc:BuyerReference>04011000-12345-34</cbc:BuyerReference>"),
        "{invoice}"
    );
    assert_eq!(
        k.json(&["invoice", "show", format!("2026-B01-0002-{tag}").as_str()])["gross_minor"],
        12_367
    );
    let credit =
        std::fs::read_to_string(out.path().join(format!("2026-B01-0003-{tag}.xml"))).unwrap();
    let report = core_invoice_formats::validate_xml(&credit, None).unwrap();
    assert!(report.ok(), "{report}\n{credit}");
    assert!(credit.contains("<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>"));
    assert!(
        credit.contains(&format!("<cbc:ID>2026-B01-0002-{tag}</cbc:ID>")),
        "the credit note names its invoice"
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    for expected in [
        format!("Rechnung 2026-B01-0002-{tag}").as_str(),
        "Bäckerei Müller GmbH",
        "123,67\u{a0}EUR",
        "DE123456789",
    ] {
        assert!(html.contains(expected), "{expected:?} missing in {html}");
    }
    // A draft is not exported.
    k.ok(&["invoice", "new", &client, "--line", "X=1 x 1 @ 19"]);
    let draft = k.json(&["invoice", "list", "--state", "draft"])[0]["short_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(k.fails(&["invoice", "export", &draft, "--to", dir]).contains("not issued"));
}
