//! Billing across replicas at the library level: offline issuing, payments,
//! recurring generation and dunning on two replicas, merged both ways; the
//! mirror must equal its rebuild and both replicas must show the same.

use billing::invoice::{Line, PaymentTerms};
use billing::money::{Currency, Money};
use billing::recurring::Period;
use chrono::NaiveDate;
use replica_store::{
    DunningRun, InvoiceDraft, InvoiceQuery, InvoiceSort, NewTemplate, PaymentInput, Replica,
};
use uuid::Uuid;

use crate::support::{TestReplica, name, replica, send_all, visible};

fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

fn draft(client: domain::ClientId, issue_date: NaiveDate, line: &str) -> InvoiceDraft {
    InvoiceDraft {
        client_id: client,
        unit_id: None,
        currency: Some(Currency::EUR),
        issue_date,
        terms: Some(PaymentTerms::Days(14)),
        note: String::new(),
        lines: vec![Line::parse(line).unwrap()],
    }
}

fn dun(replica: &mut Replica, as_of: NaiveDate) -> usize {
    let run = DunningRun { as_of, dry_run: false, language: None, pay_within_days: 10 };
    replica
        .run_dunning(&run, &mut |letter| {
            Ok((
                billing_docs::letters::file_name(letter, "client"),
                billing_docs::letters::render(letter)?.into_bytes(),
            ))
        })
        .unwrap()
        .notices
        .len()
}

fn numbers(replica: &Replica) -> Vec<String> {
    let mut numbers: Vec<String> = replica
        .invoices(&InvoiceQuery {
            client: None,
            unit: None,
            state: None,
            from: None,
            to: None,
            sort: InvoiceSort::Date,
            reverse: false,
            as_of: day(2026, 11, 22),
            limit: None,
        })
        .unwrap()
        .into_iter()
        .map(|row| row.number)
        .collect();
    numbers.sort();
    numbers
}

#[test]
fn offline_billing_on_two_replicas_merges_into_one_account() {
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let mut otto = replica(workspace, "office-otto");
    let client = anna.create_client(&[name("Ķiploks SIA")]).unwrap();
    anna.set_series("A1", None, 2026).unwrap();
    send_all(&mut anna, &mut otto);
    otto.set_series("O1", None, 2026).unwrap();
    otto.add_template(&NewTemplate {
        client_id: client,
        unit_id: None,
        period: Period::Monthly,
        day: 1,
        start: day(2026, 8, 1),
        end: None,
        terms_days: Some(14),
        currency: None,
        note: String::new(),
        lines: vec![Line::parse("Plan=1 x 89 @ 21").unwrap()],
    })
    .unwrap();
    send_all(&mut otto, &mut anna);

    // Offline: both issue, both generate the same months, Anna records a payment
    // and runs dunning, Otto runs dunning for the same day.
    for (replica, line) in [(&mut anna, "Repair=2 h x 50 @ 21"), (&mut otto, "Filter=1 x 30 @ 21")]
    {
        let id = replica.create_invoice(&draft(client, day(2026, 9, 1), line)).unwrap();
        replica.issue_invoice(id, None).unwrap();
        assert_eq!(replica.generate_recurring(day(2026, 10, 31), None, false).unwrap().len(), 3);
    }
    let first = anna.resolve_invoice("2026-A1-0001").unwrap();
    let payment = PaymentInput {
        date: day(2026, 9, 20),
        amount: Money::new(5_000, Currency::EUR),
        method: "transfer".to_owned(),
        reference: String::new(),
    };
    anna.record_payment(first, &payment).unwrap();
    assert!(dun(&mut anna, day(2026, 10, 1)) > 0);
    assert!(dun(&mut otto, day(2026, 10, 1)) > 0);

    send_all(&mut anna, &mut otto);
    send_all(&mut otto, &mut anna);
    let expected = ["2026-A1-0001", "2026-O1-0001", "O1R1-2026-08", "O1R1-2026-09", "O1R1-2026-10"];
    assert_eq!(numbers(&anna), expected);
    assert_eq!(numbers(&otto), expected);
    let seen = visible(&anna);
    assert_eq!(visible(&otto), seen);
    let card = &seen.cards[0].account;
    assert_eq!(card.invoices, 5);
    // Each replica sent reminders for the overdue invoices it knew on 1 October
    // (its own, and the two recurring ones both had): notice ids come from
    // invoice and level, so the merge keeps one per invoice: A1-0001, O1-0001,
    // O1R1-2026-08 and O1R1-2026-09.
    assert_eq!(card.notice_count, 4, "{card:#?}");
    anna.reindex().unwrap();
    assert_eq!(visible(&anna), seen);
    // The same run after the merge finds everything sent already.
    assert_eq!(dun(&mut anna, day(2026, 10, 1)), 0);
    assert_eq!(dun(&mut otto, day(2026, 10, 1)), 0);
}

#[test]
fn a_dunning_run_that_fails_part_way_keeps_complete_batches_and_continues_when_repeated() {
    // 450 clients with one overdue invoice each: letters are stored 200 at a
    // time, the files of one batch written while the batch before is recorded.
    let mut office = replica(Uuid::new_v4(), "office");
    for index in 0..450 {
        let client = office.create_client(&[name(&format!("Klients {index:03}"))]).unwrap();
        let id =
            office.create_invoice(&draft(client, day(2026, 9, 1), "Visit=1 x 80 @ 21")).unwrap();
        office.issue_invoice(id, None).unwrap();
    }
    let run =
        DunningRun { as_of: day(2026, 11, 1), dry_run: false, language: None, pay_within_days: 10 };
    // The renderer fails on the 430th letter: the first batch is recorded, the
    // second is being prepared (complete, so it is recorded before the run
    // stops), the third, incomplete, is dropped.
    let mut rendered = 0;
    let error = office
        .run_dunning(&run, &mut |letter| {
            rendered += 1;
            if rendered == 430 {
                return Err("the printer template is broken".into());
            }
            Ok((
                billing_docs::letters::file_name(letter, "client"),
                billing_docs::letters::render(letter)?.into_bytes(),
            ))
        })
        .unwrap_err()
        .to_string();
    assert!(error.contains("the printer template is broken"), "{error}");
    assert!(error.contains("stored 400 letters"), "{error}");
    let letter_files = |office: &TestReplica| {
        walk_files(&office.dir.path().join("blobs"))
            .into_iter()
            .filter(|path| !path.components().any(|part| part.as_os_str() == ".staging"))
            .count()
    };
    // Only the recorded batches' files are left, and they wait for upload.
    assert_eq!(letter_files(&office), 400);
    assert_eq!(office.pending_uploads().unwrap().len(), 400);
    let staging = office.dir.path().join("blobs").join(".staging");
    assert_eq!(std::fs::read_dir(staging).unwrap().count(), 0);

    // Run again for the same day: the rest is sent, nothing twice.
    assert_eq!(dun(&mut office, day(2026, 11, 1)), 50);
    assert_eq!(letter_files(&office), 450);
    assert_eq!(office.pending_uploads().unwrap().len(), 450);
    assert_eq!(dun(&mut office, day(2026, 11, 1)), 0);
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}
