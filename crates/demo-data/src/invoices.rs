//! Demo invoices and payments: about ten per client over the three years before
//! `today`, paid by habits that differ per client (most on time, some late,
//! a few very late or not yet), so that turnover, open and overdue balances,
//! payment behaviour and dunning runs have something real to work on.

use std::collections::{BTreeMap, HashMap};

use billing::invoice::{Line, totals};
use chrono::{Datelike, Days, NaiveDate};
use doc_model::{AutoCommit, DocId, DocKind, InvoicesDocMut, Issue, NewInvoice, PaymentRecord};
use domain::ClientId;
use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use uuid::Uuid;

use crate::DemoError;

/// Services the demo company invoices: description, unit, net price in cents.
const SERVICES: [(&str, &str, i64); 10] = [
    ("Apkope / Wartung / Maintenance", "h", 4_500),
    ("Diagnostika / Diagnose", "h", 5_500),
    ("Izbraukums / Anfahrt / Call-out", "", 3_500),
    ("Filtrs / Filter", "pcs", 1_240),
    ("Dzesēšanas šķidrums / Kältemittel", "kg", 3_890),
    ("Remonts / Reparatur", "h", 6_000),
    ("Rezerves daļa / Ersatzteil", "pcs", 8_990),
    ("Ikgadējā pārbaude / Jahresprüfung", "", 14_900),
    ("Tīrīšana / Reinigung", "h", 3_900),
    ("Sensors / Sensor", "pcs", 2_750),
];

/// How a client pays: the spread of days after the due date.
#[derive(Clone, Copy)]
enum Habit {
    OnTime,
    SomewhatLate,
    VeryLate,
}

/// Builds one client's invoices, grouped into their per-year documents.
pub(crate) struct InvoiceMaker<'a> {
    pub(crate) series: &'a str,
    /// The series key (code and device tag) the invoices record.
    pub(crate) series_key: &'a str,
    /// The device tag every number ends in.
    pub(crate) device_tag: &'a str,
    pub(crate) device_id: &'a str,
    pub(crate) actor: &'a doc_model::ActorId,
    pub(crate) today: NaiveDate,
    pub(crate) now_ms: i64,
    /// Next sequence number per year, across all clients.
    pub(crate) next_seq: &'a mut HashMap<i32, i64>,
    /// The seller's details for the snapshots.
    pub(crate) seller: &'a BTreeMap<String, String>,
}

impl InvoiceMaker<'_> {
    /// `count` invoices of one client with their payments, as new documents.
    pub(crate) fn documents(
        &mut self,
        rng: &mut ChaCha8Rng,
        client_id: ClientId,
        client_name: &str,
        count: usize,
    ) -> Result<Vec<(DocId, AutoCommit)>, DemoError> {
        let habit = match rng.random_range(0..100) {
            0..65 => Habit::OnTime,
            65..90 => Habit::SomewhatLate,
            _ => Habit::VeryLate,
        };
        let mut by_year: BTreeMap<i32, AutoCommit> = BTreeMap::new();
        let mut snapshot = BTreeMap::from([("name".to_owned(), client_name.to_owned())]);
        for (key, value) in self.seller {
            snapshot.insert(format!("seller.{key}"), value.clone());
        }
        let mut dates: Vec<NaiveDate> =
            (0..count).map(|_| self.today - Days::new(rng.random_range(0..3 * 365))).collect();
        dates.sort();
        for issue_date in dates {
            let year = issue_date.year();
            let doc = match by_year.entry(year) {
                std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::btree_map::Entry::Vacant(entry) => {
                    let doc_id = DocId::invoices(client_id, year);
                    let mut doc = doc_model::new_document(doc_id, DocKind::Invoices, self.actor)?;
                    InvoicesDocMut::open(&mut doc)?.label(&client_id.to_string(), year)?;
                    entry.insert(doc)
                }
            };
            let lines: Vec<Line> = (0..rng.random_range(1..=3))
                .map(|_| {
                    let (description, unit, price) = SERVICES[rng.random_range(0..SERVICES.len())];
                    Line {
                        description: description.to_owned(),
                        quantity_milli: i64::from(rng.random_range(1..=8_u8)) * 500,
                        unit: unit.to_owned(),
                        unit_price_minor: price,
                        vat_bp: 2_100,
                    }
                })
                .collect();
            let totals = totals(&lines)?;
            let due_date = issue_date + Days::new(14);
            let seq = self.next_seq.entry(year).or_insert(1);
            let number = billing::numbering::device_number(
                billing::numbering::DEFAULT_PATTERN,
                year,
                self.series,
                *seq,
                self.device_tag,
            );
            let id = Uuid::from_bytes(rng.random());
            let mut invoices = InvoicesDocMut::open(doc)?;
            invoices.create(
                &NewInvoice {
                    id: id.to_string(),
                    unit_id: String::new(),
                    kind: "invoice".to_owned(),
                    credits: String::new(),
                    currency: "EUR".to_owned(),
                    issue_date,
                    due_date,
                    note: String::new(),
                    lines,
                    template_id: String::new(),
                    created_by: self.device_id.to_owned(),
                },
                self.now_ms,
            )?;
            invoices.issue(
                &id.to_string(),
                &Issue {
                    number,
                    series: self.series_key.to_owned(),
                    seq: *seq,
                    issue_date,
                    due_date,
                    totals: totals.clone(),
                    snapshot: snapshot.clone(),
                },
            )?;
            *seq += 1;
            for (date, amount_minor) in
                payments(rng, habit, due_date, totals.gross_minor, self.today)
            {
                if date > self.today {
                    continue;
                }
                invoices.add_payment(
                    &PaymentRecord {
                        id: Uuid::from_bytes(rng.random()).to_string(),
                        invoice_id: id.to_string(),
                        date,
                        amount_minor,
                        currency: "EUR".to_owned(),
                        method: "transfer".to_owned(),
                        reference: String::new(),
                    },
                    self.now_ms,
                )?;
            }
        }
        Ok(by_year
            .into_iter()
            .map(|(year, mut doc)| {
                doc.commit();
                (DocId::invoices(client_id, year), doc)
            })
            .collect())
    }
}

/// When and how much a client with `habit` pays an invoice: usually once in
/// full, sometimes in two parts, now and then not at all — but what fell due
/// more than a year before `today` has been paid, if very late (bad debts are
/// written off, not kept open for years).
fn payments(
    rng: &mut ChaCha8Rng,
    habit: Habit,
    due: NaiveDate,
    gross: i64,
    today: NaiveDate,
) -> Vec<(NaiveDate, i64)> {
    let delay: i64 = match habit {
        Habit::OnTime => rng.random_range(-10..=3),
        Habit::SomewhatLate => rng.random_range(-5..=40),
        Habit::VeryLate => rng.random_range(10..=150),
    };
    let never = match habit {
        Habit::OnTime => rng.random_bool(0.005),
        Habit::SomewhatLate => rng.random_bool(0.02),
        Habit::VeryLate => rng.random_bool(0.1),
    };
    if never {
        if (today - due).num_days() <= 365 {
            return Vec::new();
        }
        return vec![(offset(due, rng.random_range(120..=300)), gross)];
    }
    let paid_on = offset(due, delay);
    if rng.random_bool(0.08) {
        let first = gross / 2;
        return vec![(offset(due, delay - 20), first), (paid_on, gross - first)];
    }
    vec![(paid_on, gross)]
}

fn offset(day: NaiveDate, days: i64) -> NaiveDate {
    if days >= 0 {
        day + Days::new(days.unsigned_abs())
    } else {
        day - Days::new(days.unsigned_abs())
    }
}
