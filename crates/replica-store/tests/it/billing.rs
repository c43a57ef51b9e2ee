//! Billing across replicas at the library level: offline issuing, payments,
//! recurring generation and dunning on two replicas, merged both ways; the
//! mirror must equal its rebuild and both replicas must show the same.

use billing::invoice::{Line, PaymentTerms};
use billing::money::{Currency, Money};
use billing::recurring::Period;
use chrono::NaiveDate;
use replica_store::{
    CreditInput, DunningRun, InvoiceDraft, InvoiceQuery, InvoiceSort, NewTemplate, PaymentInput,
    Replica, StoreError,
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

/// Every invoice of the replica, as the list shows them on 22 November 2026.
fn all_invoices(replica: &Replica) -> replica_store::Result<Vec<replica_store::InvoiceRow>> {
    replica.invoices(&InvoiceQuery {
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
}

fn numbers(replica: &Replica) -> Vec<String> {
    let mut numbers: Vec<String> =
        all_invoices(replica).unwrap().into_iter().map(|row| row.number).collect();
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
    let anna_tag = anna.series(2026).unwrap().device_tag;
    let otto_tag = otto.series(2026).unwrap().device_tag;
    let first = anna.resolve_invoice(&format!("2026-A1-0001-{anna_tag}")).unwrap();
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
    let mut expected = vec![format!("2026-A1-0001-{anna_tag}"), format!("2026-O1-0001-{otto_tag}")];
    expected.extend(["08", "09", "10"].map(|month| format!("O1R1-{otto_tag}-2026-{month}")));
    expected.sort();
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

/// Issues a draft the way replicas did before numbers carried the device tag:
/// the bare pattern in the bare code, written into the invoices document as a
/// peer's change would arrive.
fn issue_as_before_the_tag(replica: &mut Replica, id: Uuid, number: &str, code: &str, seq: i64) {
    let detail = replica.invoice(id, day(2026, 11, 22)).unwrap();
    let client: domain::ClientId = detail.row.client_id.parse().unwrap();
    let doc_id = doc_model::DocId::invoices(client, 2026);
    let mut doc = automerge::AutoCommit::load(&replica.export_document(doc_id).unwrap()).unwrap();
    let lines = vec![Line::parse("Service=1 x 10 @ 21").unwrap()];
    doc_model::InvoicesDocMut::open(&mut doc)
        .unwrap()
        .issue(
            &id.to_string(),
            &doc_model::Issue {
                number: number.to_owned(),
                series: code.to_owned(),
                seq,
                issue_date: day(2026, 11, 2),
                due_date: day(2026, 11, 16),
                totals: billing::invoice::totals(&lines).unwrap(),
                snapshot: std::collections::BTreeMap::new(),
            },
        )
        .unwrap();
    replica.merge_document(doc_id, &doc.save()).unwrap();
}

#[test]
fn numbers_issued_twice_before_the_tag_are_found_after_sync_and_stop_both_devices() {
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let mut otto = replica(workspace, "office-otto");
    let client = anna.create_client(&[name("Ķiploks SIA")]).unwrap();
    send_all(&mut anna, &mut otto);
    send_all(&mut otto, &mut anna);
    // Offline, both choose T03 and issue 2026-T03-0001 as the old code did.
    let mut issued = Vec::new();
    for replica in [&mut anna, &mut otto] {
        replica.set_series("T03", None, 2026).unwrap();
        let id = replica
            .create_invoice(&draft(client, day(2026, 11, 2), "Service=1 x 10 @ 21"))
            .unwrap();
        issue_as_before_the_tag(replica, id, "2026-T03-0001", "T03", 1);
        issued.push(id);
    }
    send_all(&mut anna, &mut otto);
    send_all(&mut otto, &mut anna);

    for replica in [&anna, &otto] {
        let duplicates = replica.duplicate_numbers().unwrap();
        assert_eq!(duplicates.len(), 1, "{duplicates:#?}");
        assert_eq!(duplicates[0].number, "2026-T03-0001");
        let mut ids: Vec<String> = duplicates[0].invoices.iter().map(|i| i.id.clone()).collect();
        ids.sort();
        let mut expected: Vec<String> = issued.iter().map(Uuid::to_string).collect();
        expected.sort();
        assert_eq!(ids, expected);
        let devices: Vec<&str> = duplicates[0].invoices.iter().map(|i| i.device.as_str()).collect();
        assert!(
            devices.contains(&"laptop-anna") && devices.contains(&"office-otto"),
            "{devices:?}"
        );
        assert!(!duplicates[0].settled);
        // Both are told, and the number alone names no invoice; the id does.
        assert_eq!(replica.series(2026).unwrap().duplicate_numbers, 1);
        let error = replica.resolve_invoice("2026-T03-0001").unwrap_err();
        assert!(matches!(error, StoreError::AmbiguousNumber { count: 2, .. }), "{error}");
        assert_eq!(replica.resolve_invoice(&issued[0].to_string()).unwrap(), issued[0]);
        assert_eq!(replica.resolve_invoice(&issued[1].to_string()[..8]).unwrap(), issued[1]);
    }
    // Neither issues another number in T03.
    for replica in [&mut anna, &mut otto] {
        let id =
            replica.create_invoice(&draft(client, day(2026, 11, 5), "More=1 x 5 @ 21")).unwrap();
        let error = replica.issue_invoice(id, None).unwrap_err();
        assert!(matches!(error, StoreError::SeriesHasDuplicates { numbers: 1, .. }), "{error}");
        assert_eq!(replica.invoice(id, day(2026, 11, 22)).unwrap().row.number, "");
    }

    // The way out, on Otto's device: a fresh code, a credit note, a new number.
    otto.set_series("T04", None, 2026).unwrap();
    let credit =
        CreditInput { date: day(2026, 11, 6), lines: None, note: "Number issued twice".to_owned() };
    let (_, credit_number) = otto.credit_invoice(issued[1], &credit).unwrap();
    let tag = otto.series(2026).unwrap().device_tag;
    assert_eq!(credit_number, format!("2026-T04-0001-{tag}"));
    let again =
        otto.create_invoice(&draft(client, day(2026, 11, 6), "Service=1 x 10 @ 21")).unwrap();
    assert_eq!(otto.issue_invoice(again, None).unwrap(), format!("2026-T04-0002-{tag}"));
    send_all(&mut otto, &mut anna);
    for replica in [&anna, &otto] {
        let duplicates = replica.duplicate_numbers().unwrap();
        assert_eq!(duplicates.len(), 1);
        assert!(duplicates[0].settled, "{duplicates:#?}");
    }
}

#[test]
fn a_device_whose_tag_another_device_has_issues_nothing() {
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let client = anna.create_client(&[name("Ķiploks SIA")]).unwrap();
    // Another device of the workspace whose random id starts with the same six
    // hex digits, registered as its replica would register itself.
    let mut twin_id = *anna.meta().device_id.as_bytes();
    twin_id[15] ^= 0xff;
    let twin_id = Uuid::from_bytes(twin_id);
    let doc_id = anna.workspace_doc_id();
    let mut doc = automerge::AutoCommit::load(&anna.export_document(doc_id).unwrap()).unwrap();
    doc_model::WorkspaceDocMut::open(&mut doc)
        .unwrap()
        .register_device(&twin_id.to_string(), "laptop-twin", 0)
        .unwrap();
    anna.merge_document(doc_id, &doc.save()).unwrap();

    let series = anna.series(2026).unwrap();
    assert_eq!(series.tag_shared_with.as_deref(), Some("laptop-twin"));
    let id = anna.create_invoice(&draft(client, day(2026, 11, 2), "Service=1 x 10 @ 21")).unwrap();
    let error = anna.issue_invoice(id, None).unwrap_err();
    assert!(matches!(error, StoreError::DeviceTagShared { .. }), "{error}");
    assert!(matches!(anna.series_to_issue(2026), Err(StoreError::DeviceTagShared { .. })));
    assert_eq!(anna.invoice(id, day(2026, 11, 22)).unwrap().row.number, "");
}

/// Writes the 1st notice of `invoice` and its letter as earlier versions did:
/// the letter keyed by its notice alone, so two devices' letters share a key.
fn dun_as_before(
    replica: &mut Replica,
    client: domain::ClientId,
    invoice: Uuid,
    date: NaiveDate,
    interest_minor: i64,
) {
    let doc_id = doc_model::DocId::invoices(client, 2026);
    let mut doc = automerge::AutoCommit::load(&replica.export_document(doc_id).unwrap()).unwrap();
    let notice_id =
        billing::dunning::notice_id(billing::InvoiceId::from_uuid(invoice), 1).to_string();
    let letter_id = Uuid::new_v5(&Uuid::NAMESPACE_OID, notice_id.as_bytes()).to_string();
    let mut invoices = doc_model::InvoicesDocMut::open(&mut doc).unwrap();
    invoices
        .add_notice(&doc_model::NoticeRecord {
            id: notice_id,
            invoice_id: invoice.to_string(),
            level: 1,
            name: "1. Mahnung".to_owned(),
            date,
            fee_minor: 250,
            lump_sum_minor: 0,
            interest_minor,
            letter_document: letter_id.clone(),
        })
        .unwrap();
    invoices
        .add_letter(&doc_model::LetterRecord {
            id: letter_id,
            name: format!("Mahnung-{date}.html"),
            date,
            hash: format!("{:0>64}", date.format("%Y%m%d")),
            media_type: "text/html".to_owned(),
            size: 10,
        })
        .unwrap();
    replica.merge_document(doc_id, &doc.save()).unwrap();
}

#[test]
fn letters_lost_in_merges_of_earlier_versions_are_back_in_the_history() {
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let mut otto = replica(workspace, "office-otto");
    let client = anna.create_client(&[name("Ķiploks SIA")]).unwrap();
    let invoice =
        anna.create_invoice(&draft(client, day(2026, 9, 1), "Service=1 x 100 @ 21")).unwrap();
    anna.issue_invoice(invoice, None).unwrap();
    send_all(&mut anna, &mut otto);
    dun_as_before(&mut anna, client, invoice, day(2026, 10, 22), 715);
    dun_as_before(&mut otto, client, invoice, day(2026, 10, 24), 885);
    send_all(&mut anna, &mut otto);
    send_all(&mut otto, &mut anna);
    for replica in [&mut anna, &mut otto] {
        let letters: Vec<String> = replica
            .client_documents(client)
            .unwrap()
            .into_iter()
            .filter(|row| row.kind == "dunning_letter")
            .map(|row| row.date)
            .collect();
        assert_eq!(letters.len(), 2, "{letters:?}");
        let detail = replica.invoice(invoice, day(2026, 11, 22)).unwrap();
        assert_eq!(detail.notices.len(), 1);
        let notice = &detail.notices[0];
        assert_eq!((notice.date.as_str(), notice.interest_minor), ("2026-10-22", 715));
        let sendings: Vec<(&str, i64, bool, &str)> = notice
            .sendings
            .iter()
            .map(|s| (s.date.as_str(), s.interest_minor, s.charged, s.device.as_str()))
            .collect();
        let earlier = "a device of an earlier version";
        assert_eq!(
            sendings,
            [("2026-10-22", 715, true, earlier), ("2026-10-24", 885, false, earlier)]
        );
        // The fee counts once.
        assert_eq!(detail.open_costs_minor, 250);
        let statement =
            replica.statement(client, day(2026, 1, 1), day(2026, 12, 31), None).unwrap();
        let kinds: Vec<&str> = statement.entries.iter().map(|entry| entry.kind.as_str()).collect();
        assert_eq!(kinds, ["invoice", "dunning", "dunning_letter"], "{statement:#?}");
        let before = visible(replica);
        replica.reindex().unwrap();
        assert_eq!(visible(replica), before);
    }
}

#[test]
fn an_unreadable_date_in_the_mirror_is_an_error_not_the_first_of_january_1970() {
    let mut office = replica(Uuid::new_v4(), "office");
    let client = office.create_client(&[name("Ozols SIA")]).unwrap();
    let id =
        office.create_invoice(&draft(client, day(2026, 11, 2), "Repair=2 h x 50 @ 21")).unwrap();
    // What a damaged file or a projection bug of an earlier version leaves.
    let file =
        rusqlite::Connection::open(office.dir.path().join(replica_store::DATABASE_FILE)).unwrap();
    file.execute("UPDATE invoices SET issue_date = '2026-13-45' WHERE id = ?1", [id.to_string()])
        .unwrap();
    drop(file);
    let error = office.issue_invoice(id, None).unwrap_err();
    assert!(
        matches!(&error, StoreError::CorruptMirror { what: "issue date", value } if value == "2026-13-45"),
        "{error:?}"
    );
    // Nothing was issued on the strength of the bad date.
    assert!(numbers(&office).iter().all(String::is_empty), "{:?}", numbers(&office));
}

#[test]
fn an_unreadable_due_date_or_kind_in_the_mirror_fails_the_list_instead_of_counting_as_not_overdue()
{
    let mut office = replica(Uuid::new_v4(), "office");
    let client = office.create_client(&[name("Ozols SIA")]).unwrap();
    let id =
        office.create_invoice(&draft(client, day(2026, 10, 2), "Repair=2 h x 50 @ 21")).unwrap();
    office.issue_invoice(id, None).unwrap();
    assert_eq!(all_invoices(&office).unwrap()[0].state, "overdue");
    let file =
        rusqlite::Connection::open(office.dir.path().join(replica_store::DATABASE_FILE)).unwrap();
    // The code before read a bad due date as the query's day: the invoice
    // listed as issued and not overdue, and dunning never saw it.
    file.execute("UPDATE invoices SET due_date = '2026-10-32' WHERE id = ?1", [id.to_string()])
        .unwrap();
    let error = all_invoices(&office).unwrap_err();
    assert!(
        matches!(&error, StoreError::CorruptMirror { what: "due date", value } if value == "2026-10-32"),
        "{error:?}"
    );
    file.execute(
        "UPDATE invoices SET due_date = '2026-10-16', kind = 'quote' WHERE id = ?1",
        [id.to_string()],
    )
    .unwrap();
    let error = all_invoices(&office).unwrap_err();
    assert!(
        matches!(&error, StoreError::CorruptMirror { what: "invoice kind", value } if value == "quote"),
        "{error:?}"
    );
    let payment = PaymentInput {
        date: day(2026, 11, 3),
        amount: Money::new(1_000, Currency::EUR),
        method: "transfer".to_owned(),
        reference: String::new(),
    };
    let error = office.record_payment(id, &payment).unwrap_err();
    assert!(matches!(&error, StoreError::CorruptMirror { what: "invoice kind", .. }), "{error:?}");
    // reindex rebuilds the mirror from the documents and the list reads again.
    drop(file);
    office.reindex().unwrap();
    assert_eq!(all_invoices(&office).unwrap()[0].state, "overdue");
}
