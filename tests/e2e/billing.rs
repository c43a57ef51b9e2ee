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
    assert_eq!(number(&issued), "2026-B01-0001");
    assert_eq!(issued["due_date"], "2026-09-15");
    assert_eq!(issued["snapshot"]["name"], "Bäckerei Müller GmbH");
    // Issued means frozen: editing is refused and changes nothing.
    let error = k.fails(&["invoice", "edit", "2026-B01-0001", "--note", "changed"]);
    assert!(error.contains("issued and cannot change"), "{error}");
    // The client's name changes later; the invoice keeps the one it was issued to.
    k.ok(&["client", "edit", &client, "--name", "Müller Backwaren GmbH"]);
    let shown = k.json(&["invoice", "show", "2026-B01-0001", "--as-of", "2026-09-10"]);
    assert_eq!(shown["snapshot"]["name"], "Bäckerei Müller GmbH");
    assert_eq!(shown["note"], "Auftrag 4711");
    assert_eq!(shown["state"], "issued");

    let partly = k.json(&[
        "invoice",
        "pay",
        "2026-B01-0001",
        "50.00",
        "--date",
        "2026-09-20",
        "--reference",
        "SEPA 1",
    ]);
    assert_eq!(partly["paid_minor"], 5000);
    let overdue = k.json(&["invoice", "show", "2026-B01-0001", "--as-of", "2026-10-01"]);
    assert_eq!(overdue["state"], "overdue");
    assert_eq!(overdue["open_minor"], 13739 - 5000);
    assert_eq!(overdue["days_overdue"], 16);
    let listed =
        k.json(&["invoice", "list", "--client", &client, "--overdue", "--as-of", "2026-10-01"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // The rest and 10.00 too much: the surplus is the client's credit.
    let paid = k.json(&["invoice", "pay", "2026-B01-0001", "97.39", "--date", "2026-10-05"]);
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
        "C7/2026/00001",
        "--line",
        "Montage=1 h x 60 @ 19",
        "--date",
        "2026-11-05",
    ]);
    assert_eq!(number(&credit), "C7/2026/00002");
    assert_eq!(credit["kind"], "credit_note");
    assert_eq!(credit["gross_minor"], -7140);
    assert_eq!(credit["credits_number"], "C7/2026/00001");
    let original = k.json(&["invoice", "show", "C7/2026/00001", "--as-of", "2026-11-06"]);
    assert_eq!(original["open_minor"], 28560 - 7140);
    // More than is left is refused.
    let error = k.fails(&["invoice", "credit", "C7/2026/00001", "--line", "Montage=4 h x 60 @ 19"]);
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
    let cancel = k.json(&["invoice", "cancel", "C7/2026/00003", "--date", "2026-11-04"]);
    assert_eq!(cancel["gross_minor"], -11900);
    let cancelled = k.json(&["invoice", "show", "C7/2026/00003", "--as-of", "2026-12-01"]);
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
        "2026-B01-0001",
        "2026-B01-0002",
        "2026-B01-0003",
        "2026-T03-0001",
        "2026-T03-0002",
        "2026-T03-0003",
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
    assert_eq!(number(&next), "2026-T03-0004");
}
