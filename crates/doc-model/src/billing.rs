//! Billing documents: a client's invoices of one year (with their credit notes,
//! payments and dunning notices), and the workspace's billing settings (number
//! series per device, dunning policies, base rates).
//!
//! An issued invoice is frozen: its lines, totals, number and a snapshot of the
//! client's name, address, VAT id and bank details are written once at issue and
//! never changed; corrections are credit notes, kept in the same document as the
//! invoice they correct so that one document says everything about an invoice.
//! Payments and notices are entries of their own maps keyed by id, so concurrent
//! payments recorded on two devices both count, and a notice (whose id is derived
//! from invoice and level) written by two replicas is one entry: a level is
//! reached once. Each sending of a notice (one letter carrying it) is an entry of
//! its own in the same `notices` map, keyed by notice and letter, so letters sent
//! for one level by two offline devices on different days both stay; the
//! earliest sending is the one whose charges count (`invoices_from_root`), the
//! same on every replica. Sending entries keep their date under `sent_on`, so
//! readers that predate them skip them.

use std::collections::{BTreeMap, HashMap};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ReadDoc, hydrate};
use billing::invoice::Line;
use chrono::NaiveDate;

use crate::doc_id::DocKind;
use crate::error::{DocModelError, Result};
use crate::read;
use crate::skeleton::{check_writable, container};

/// An invoice or credit note as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRecord {
    /// Its id.
    pub id: String,
    /// The client.
    pub client_id: String,
    /// The unit it belongs to ('' for the client itself).
    pub unit_id: String,
    /// `invoice` or `credit_note`.
    pub kind: String,
    /// For a credit note: the invoice it corrects.
    pub credits: String,
    /// `draft` or `issued`.
    pub status: String,
    /// Its number ('' while a draft).
    pub number: String,
    /// The number series it was issued from ('' while a draft).
    pub series: String,
    /// Its sequence number within the series and year (0 for recurring invoices,
    /// whose numbers come from their template).
    pub seq: i64,
    /// Currency code.
    pub currency: String,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
    /// Note printed on the invoice.
    pub note: String,
    /// Lines.
    pub lines: Vec<Line>,
    /// Gross total as frozen at issue (computed from the lines for drafts).
    pub gross_minor: i64,
    /// The client's details as they were at issue.
    pub snapshot: BTreeMap<String, String>,
    /// The recurring template that generated it ('' if none).
    pub template_id: String,
    /// The device that created it.
    pub created_by: String,
    /// A dunning block on this invoice, if any.
    pub block: Option<billing::dunning::Block>,
}

/// A payment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    /// Its id.
    pub id: String,
    /// The invoice paid.
    pub invoice_id: String,
    /// Date received.
    pub date: NaiveDate,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// Currency code.
    pub currency: String,
    /// Bank transfer, cash, card…
    pub method: String,
    /// The payer's reference.
    pub reference: String,
}

/// A dunning notice as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRecord {
    /// Its id (derived from invoice and level).
    pub id: String,
    /// The invoice.
    pub invoice_id: String,
    /// Level index (0 = first).
    pub level: i64,
    /// Level name.
    pub name: String,
    /// Date of the notice.
    pub date: NaiveDate,
    /// Fee in minor units (no VAT).
    pub fee_minor: i64,
    /// The §288 (5) BGB lump sum charged with this notice.
    pub lump_sum_minor: i64,
    /// Default interest claimed by this notice (from the previous claim to `date`).
    pub interest_minor: i64,
    /// The client document holding the letter.
    pub letter_document: String,
}

/// One sending of a dunning notice: a letter that carried it, with what that
/// letter said about it. Kept in the invoice's document beside the notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendingRecord {
    /// Its key: `{notice id}/{letter id}` (see [`sending_key`]).
    pub id: String,
    /// The notice sent.
    pub notice_id: String,
    /// The invoice.
    pub invoice_id: String,
    /// Level index (0 = first).
    pub level: i64,
    /// Level name.
    pub name: String,
    /// The day the letter was sent.
    pub date: NaiveDate,
    /// Fee the letter claimed.
    pub fee_minor: i64,
    /// Lump sum the letter claimed.
    pub lump_sum_minor: i64,
    /// Default interest the letter claimed.
    pub interest_minor: i64,
    /// The letter's id.
    pub letter_id: String,
    /// The device that sent it.
    pub device_id: String,
}

/// The key of a sending: notice and letter. A letter's id is derived from its
/// client, notices and date, so the same run on two replicas on one day writes
/// one sending, and runs on different days write two.
pub fn sending_key(notice_id: &str, letter_id: &str) -> String {
    format!("{notice_id}/{letter_id}")
}

/// A dunning letter as stored: the file that carries a run's notices to one
/// client, kept with them in the invoices document (append-only like them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterRecord {
    /// Its id (derived from the notices it carries).
    pub id: String,
    /// File name.
    pub name: String,
    /// The run's date.
    pub date: NaiveDate,
    /// blake3 of the file, hex.
    pub hash: String,
    /// Media type.
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
}

/// A new invoice or credit note, as a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvoice {
    /// Its id.
    pub id: String,
    /// The unit, if any ('' for none).
    pub unit_id: String,
    /// `invoice` or `credit_note`.
    pub kind: String,
    /// For a credit note: the invoice it corrects.
    pub credits: String,
    /// Currency code.
    pub currency: String,
    /// Planned issue date.
    pub issue_date: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
    /// Note.
    pub note: String,
    /// Lines.
    pub lines: Vec<Line>,
    /// The recurring template that generated it ('' if none).
    pub template_id: String,
    /// The device creating it.
    pub created_by: String,
}

/// What freezes a draft into an issued invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The number.
    pub number: String,
    /// The series it belongs to.
    pub series: String,
    /// Its sequence number in the series and year (0 if not from a sequence).
    pub seq: i64,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
    /// Totals of the lines.
    pub totals: billing::invoice::Totals,
    /// The client's details at issue.
    pub snapshot: BTreeMap<String, String>,
}

/// Changes to a draft.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DraftChanges {
    /// New note.
    pub note: Option<String>,
    /// New issue date.
    pub issue_date: Option<NaiveDate>,
    /// New due date.
    pub due_date: Option<NaiveDate>,
    /// New unit ('' for none).
    pub unit_id: Option<String>,
    /// Replaces all lines.
    pub lines: Option<Vec<Line>>,
}

/// A client's invoices document of one year, opened for editing.
#[derive(Debug)]
pub struct InvoicesDocMut<'a> {
    doc: &'a mut AutoCommit,
}

impl<'a> InvoicesDocMut<'a> {
    /// Opens an invoices document; fails on a wrong kind or a newer schema.
    pub fn open(doc: &'a mut AutoCommit) -> Result<Self> {
        check_writable(doc, DocKind::Invoices)?;
        Ok(Self { doc })
    }

    /// Records which client and year the document holds (every replica writes
    /// the same values, so a concurrent first write is no conflict).
    pub fn label(&mut self, client_id: &str, year: i32) -> Result<()> {
        if read_scalar_text(self.doc, &automerge::ROOT, "client_id").is_empty() {
            self.doc.put(automerge::ROOT, "client_id", client_id)?;
            self.doc.put(automerge::ROOT, "year", i64::from(year))?;
        }
        Ok(())
    }

    /// Whether an invoice with this id exists (e.g. a recurring period already generated).
    pub fn contains(&self, invoice_id: &str) -> Result<bool> {
        let invoices = container(self.doc, &["invoices"])?;
        Ok(self.doc.get(&invoices, invoice_id)?.is_some())
    }

    /// Writes a draft.
    pub fn create(&mut self, invoice: &NewInvoice, now_ms: i64) -> Result<()> {
        let invoices = container(self.doc, &["invoices"])?;
        if self.doc.get(&invoices, invoice.id.as_str())?.is_some() {
            return Err(DocModelError::DuplicateRecord { what: "invoice", id: invoice.id.clone() });
        }
        let value: hydrate::Value = HashMap::from([
            ("unit_id", invoice.unit_id.as_str().into()),
            ("kind", invoice.kind.as_str().into()),
            ("credits", invoice.credits.as_str().into()),
            ("status", "draft".into()),
            ("number", "".into()),
            ("series", "".into()),
            ("seq", 0_i64.into()),
            ("currency", invoice.currency.as_str().into()),
            ("issue_date", invoice.issue_date.to_string().as_str().into()),
            ("due_date", invoice.due_date.to_string().as_str().into()),
            ("note", invoice.note.as_str().into()),
            ("lines", lines_value(&invoice.lines)),
            ("template_id", invoice.template_id.as_str().into()),
            ("created_by", invoice.created_by.as_str().into()),
            ("added_at", now_ms.into()),
        ])
        .into();
        self.doc.batch_create_object(&invoices, invoice.id.as_str(), &value, false)?;
        Ok(())
    }

    /// Changes a draft; an issued invoice is refused.
    pub fn edit_draft(&mut self, invoice_id: &str, changes: &DraftChanges) -> Result<()> {
        let invoice = self.draft(invoice_id)?;
        if let Some(note) = &changes.note {
            self.doc.put(&invoice, "note", note.as_str())?;
        }
        if let Some(date) = changes.issue_date {
            self.doc.put(&invoice, "issue_date", date.to_string())?;
        }
        if let Some(date) = changes.due_date {
            self.doc.put(&invoice, "due_date", date.to_string())?;
        }
        if let Some(unit_id) = &changes.unit_id {
            self.doc.put(&invoice, "unit_id", unit_id.as_str())?;
        }
        if let Some(lines) = &changes.lines {
            // Drafts are edited by one person at a time; replacing the list keeps
            // the lines in the order they were given.
            let hydrate::Value::List(list) = lines_value(lines) else {
                return Err(DocModelError::MissingContainer { path: "lines".to_owned() });
            };
            let lines_obj = self.doc.put_object(&invoice, "lines", ObjType::List)?;
            for (index, line) in list.iter().enumerate() {
                self.doc.batch_create_object(&lines_obj, index, &line.value, true)?;
            }
        }
        Ok(())
    }

    /// Freezes a draft: number, dates, totals and the client snapshot.
    pub fn issue(&mut self, invoice_id: &str, issue: &Issue) -> Result<()> {
        let invoice = self.draft(invoice_id)?;
        self.doc.put(&invoice, "status", "issued")?;
        self.doc.put(&invoice, "number", issue.number.as_str())?;
        self.doc.put(&invoice, "series", issue.series.as_str())?;
        self.doc.put(&invoice, "seq", issue.seq)?;
        self.doc.put(&invoice, "issue_date", issue.issue_date.to_string())?;
        self.doc.put(&invoice, "due_date", issue.due_date.to_string())?;
        self.doc.put(&invoice, "net_minor", issue.totals.net_minor)?;
        self.doc.put(&invoice, "vat_minor", issue.totals.vat_minor)?;
        self.doc.put(&invoice, "gross_minor", issue.totals.gross_minor)?;
        let snapshot: HashMap<&str, hydrate::Value> = issue
            .snapshot
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str().into()))
            .collect();
        self.doc.batch_create_object(&invoice, "snapshot", &snapshot.into(), false)?;
        Ok(())
    }

    /// Removes a draft (an issued invoice is never removed; it is credited).
    pub fn discard_draft(&mut self, invoice_id: &str) -> Result<()> {
        let invoice = self.draft(invoice_id)?;
        self.doc.put(&invoice, "removed", true)?;
        Ok(())
    }

    /// Blocks or unblocks dunning of an invoice (not part of its frozen content).
    pub fn set_block(
        &mut self,
        invoice_id: &str,
        block: Option<&billing::dunning::Block>,
    ) -> Result<()> {
        let invoice = self.existing(invoice_id)?;
        let (reason, until) = match block {
            Some(block) => (block.reason.clone(), block.until.to_string()),
            None => (String::new(), String::new()),
        };
        self.doc.put(&invoice, "block_reason", reason)?;
        self.doc.put(&invoice, "block_until", until)?;
        Ok(())
    }

    /// Records a payment.
    pub fn add_payment(&mut self, payment: &PaymentRecord, now_ms: i64) -> Result<()> {
        self.existing(&payment.invoice_id)?;
        let payments = container(self.doc, &["payments"])?;
        let value: hydrate::Value = HashMap::from([
            ("invoice_id", payment.invoice_id.as_str().into()),
            ("date", payment.date.to_string().as_str().into()),
            ("amount_minor", payment.amount_minor.into()),
            ("currency", payment.currency.as_str().into()),
            ("method", payment.method.as_str().into()),
            ("reference", payment.reference.as_str().into()),
            ("added_at", now_ms.into()),
        ])
        .into();
        self.doc.batch_create_object(&payments, payment.id.as_str(), &value, false)?;
        Ok(())
    }

    /// Records a dunning notice; returns false (and writes nothing) when the
    /// notice exists already: a repeated run changes nothing.
    pub fn add_notice(&mut self, notice: &NoticeRecord) -> Result<bool> {
        self.existing(&notice.invoice_id)?;
        let notices = container(self.doc, &["notices"])?;
        if self.doc.get(&notices, notice.id.as_str())?.is_some() {
            return Ok(false);
        }
        let value: hydrate::Value = HashMap::from([
            ("invoice_id", notice.invoice_id.as_str().into()),
            ("level", notice.level.into()),
            ("name", notice.name.as_str().into()),
            ("date", notice.date.to_string().as_str().into()),
            ("fee_minor", notice.fee_minor.into()),
            ("lump_sum_minor", notice.lump_sum_minor.into()),
            ("interest_minor", notice.interest_minor.into()),
            ("letter_document", notice.letter_document.as_str().into()),
        ])
        .into();
        self.doc.batch_create_object(&notices, notice.id.as_str(), &value, false)?;
        Ok(true)
    }

    /// Records a sending of a notice; returns false (and writes nothing) when it
    /// exists.
    pub fn add_sending(&mut self, sending: &SendingRecord) -> Result<bool> {
        self.existing(&sending.invoice_id)?;
        let notices = container(self.doc, &["notices"])?;
        if self.doc.get(&notices, sending.id.as_str())?.is_some() {
            return Ok(false);
        }
        let value: hydrate::Value = HashMap::from([
            ("kind", "sending".into()),
            ("notice_id", sending.notice_id.as_str().into()),
            ("invoice_id", sending.invoice_id.as_str().into()),
            ("level", sending.level.into()),
            ("name", sending.name.as_str().into()),
            ("sent_on", sending.date.to_string().as_str().into()),
            ("fee_minor", sending.fee_minor.into()),
            ("lump_sum_minor", sending.lump_sum_minor.into()),
            ("interest_minor", sending.interest_minor.into()),
            ("letter_id", sending.letter_id.as_str().into()),
            ("device_id", sending.device_id.as_str().into()),
        ])
        .into();
        self.doc.batch_create_object(&notices, sending.id.as_str(), &value, false)?;
        Ok(true)
    }

    /// Records a dunning letter; returns false (and writes nothing) when it exists.
    pub fn add_letter(&mut self, letter: &LetterRecord) -> Result<bool> {
        let letters = container(self.doc, &["letters"])?;
        if self.doc.get(&letters, letter.id.as_str())?.is_some() {
            return Ok(false);
        }
        let value: hydrate::Value = HashMap::from([
            ("name", letter.name.as_str().into()),
            ("date", letter.date.to_string().as_str().into()),
            ("hash", letter.hash.as_str().into()),
            ("media_type", letter.media_type.as_str().into()),
            ("size", hydrate::Value::scalar(automerge::ScalarValue::Uint(letter.size))),
        ])
        .into();
        self.doc.batch_create_object(&letters, letter.id.as_str(), &value, false)?;
        Ok(true)
    }

    fn existing(&self, invoice_id: &str) -> Result<automerge::ObjId> {
        let invoices = container(self.doc, &["invoices"])?;
        match self.doc.get(&invoices, invoice_id)? {
            Some((automerge::Value::Object(ObjType::Map), invoice)) => Ok(invoice),
            _ => Err(DocModelError::UnknownRecord { what: "invoice", id: invoice_id.to_owned() }),
        }
    }

    fn draft(&self, invoice_id: &str) -> Result<automerge::ObjId> {
        let invoice = self.existing(invoice_id)?;
        if read_scalar_text(self.doc, &invoice, "status") != "draft" {
            return Err(DocModelError::Frozen(invoice_id.to_owned()));
        }
        Ok(invoice)
    }
}

fn read_scalar_text(doc: &AutoCommit, obj: &automerge::ObjId, key: &str) -> String {
    match doc.get(obj, key) {
        Ok(Some((automerge::Value::Scalar(value), _))) => {
            value.as_str().unwrap_or_default().to_owned()
        }
        _ => String::new(),
    }
}

pub(crate) fn lines_value(lines: &[Line]) -> hydrate::Value {
    let values: Vec<hydrate::Value> = lines
        .iter()
        .map(|line| {
            HashMap::from([
                ("description", line.description.as_str().into()),
                ("quantity_milli", line.quantity_milli.into()),
                ("unit", line.unit.as_str().into()),
                ("unit_price_minor", line.unit_price_minor.into()),
                ("vat_bp", i64::from(line.vat_bp).into()),
            ])
            .into()
        })
        .collect();
    hydrate::Value::List(values.into())
}

pub(crate) fn lines_from(entry: &hydrate::Map) -> Vec<Line> {
    match entry.get("lines") {
        Some(hydrate::Value::List(list)) => list
            .iter()
            .filter_map(|item| match &item.value {
                hydrate::Value::Map(line) => Some(Line {
                    description: read::text(line, "description"),
                    quantity_milli: read::integer(line, "quantity_milli").unwrap_or(0),
                    unit: read::text(line, "unit"),
                    unit_price_minor: read::integer(line, "unit_price_minor").unwrap_or(0),
                    vat_bp: u32::try_from(read::integer(line, "vat_bp").unwrap_or(0)).unwrap_or(0),
                }),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn date_of(map: &hydrate::Map, key: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&read::text(map, key), "%Y-%m-%d").ok()
}

/// The contents of a client's invoices document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InvoicesContent {
    /// The client.
    pub client_id: String,
    /// Invoices and credit notes, by issue date.
    pub invoices: Vec<InvoiceRecord>,
    /// Payments, by date.
    pub payments: Vec<PaymentRecord>,
    /// Dunning notices, by invoice and level; date and charges are those of the
    /// notice's earliest sending, where it has any.
    pub notices: Vec<NoticeRecord>,
    /// Every sending of a notice, by invoice, level, date and letter.
    pub sendings: Vec<SendingRecord>,
    /// Dunning letters, by date.
    pub letters: Vec<LetterRecord>,
}

/// Reads an invoices document from its hydrated root.
pub(crate) fn invoices_from_root(root: &hydrate::Map) -> InvoicesContent {
    let client_id = read::text(root, "client_id");
    let mut invoices: Vec<InvoiceRecord> = read::entries(root, "invoices")
        .into_iter()
        .filter(|(_, entry)| !read::boolean(entry, "removed", false))
        .filter_map(|(id, entry)| {
            let lines = lines_from(entry);
            let gross_minor = read::integer(entry, "gross_minor")
                .or_else(|| billing::invoice::totals(&lines).ok().map(|totals| totals.gross_minor))
                .unwrap_or(0);
            let snapshot = read::map(entry, "snapshot")
                .map(|snapshot| {
                    snapshot
                        .iter()
                        .map(|(key, _)| (key.clone(), read::text(snapshot, key)))
                        .collect()
                })
                .unwrap_or_default();
            let block = date_of(entry, "block_until").map(|until| billing::dunning::Block {
                reason: read::text(entry, "block_reason"),
                until,
            });
            Some(InvoiceRecord {
                id: id.to_owned(),
                client_id: client_id.clone(),
                unit_id: read::text(entry, "unit_id"),
                kind: read::text(entry, "kind"),
                credits: read::text(entry, "credits"),
                status: read::text(entry, "status"),
                number: read::text(entry, "number"),
                series: read::text(entry, "series"),
                seq: read::integer(entry, "seq").unwrap_or(0),
                currency: read::text(entry, "currency"),
                issue_date: date_of(entry, "issue_date")?,
                due_date: date_of(entry, "due_date")?,
                note: read::text(entry, "note"),
                lines,
                gross_minor,
                snapshot,
                template_id: read::text(entry, "template_id"),
                created_by: read::text(entry, "created_by"),
                block,
            })
        })
        .collect();
    invoices.sort_by(|a, b| (a.issue_date, &a.id).cmp(&(b.issue_date, &b.id)));
    let mut payments: Vec<PaymentRecord> = read::entries(root, "payments")
        .into_iter()
        .filter_map(|(id, entry)| {
            Some(PaymentRecord {
                id: id.to_owned(),
                invoice_id: read::text(entry, "invoice_id"),
                date: date_of(entry, "date")?,
                amount_minor: read::integer(entry, "amount_minor").unwrap_or(0),
                currency: read::text(entry, "currency"),
                method: read::text(entry, "method"),
                reference: read::text(entry, "reference"),
            })
        })
        .collect();
    payments.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
    let notice_entries = read::entries(root, "notices");
    let (sending_entries, notice_entries): (Vec<_>, Vec<_>) =
        notice_entries.into_iter().partition(|(_, entry)| read::text(entry, "kind") == "sending");
    let mut sendings: Vec<SendingRecord> = sending_entries
        .into_iter()
        .filter_map(|(id, entry)| {
            Some(SendingRecord {
                id: id.to_owned(),
                notice_id: read::text(entry, "notice_id"),
                invoice_id: read::text(entry, "invoice_id"),
                level: read::integer(entry, "level").unwrap_or(0),
                name: read::text(entry, "name"),
                date: date_of(entry, "sent_on")?,
                fee_minor: read::integer(entry, "fee_minor").unwrap_or(0),
                lump_sum_minor: read::integer(entry, "lump_sum_minor").unwrap_or(0),
                interest_minor: read::integer(entry, "interest_minor").unwrap_or(0),
                letter_id: read::text(entry, "letter_id"),
                device_id: read::text(entry, "device_id"),
            })
        })
        .collect();
    sendings.sort_by(|a, b| {
        (&a.invoice_id, a.level, a.date, &a.letter_id).cmp(&(
            &b.invoice_id,
            b.level,
            b.date,
            &b.letter_id,
        ))
    });
    let mut notices: Vec<NoticeRecord> = notice_entries
        .into_iter()
        .filter_map(|(id, entry)| {
            Some(NoticeRecord {
                id: id.to_owned(),
                invoice_id: read::text(entry, "invoice_id"),
                level: read::integer(entry, "level").unwrap_or(0),
                name: read::text(entry, "name"),
                date: date_of(entry, "date")?,
                fee_minor: read::integer(entry, "fee_minor").unwrap_or(0),
                lump_sum_minor: read::integer(entry, "lump_sum_minor").unwrap_or(0),
                interest_minor: read::integer(entry, "interest_minor").unwrap_or(0),
                letter_document: read::text(entry, "letter_document"),
            })
        })
        .collect();
    notices.sort_by(|a, b| (&a.invoice_id, a.level).cmp(&(&b.invoice_id, b.level)));
    earliest_sendings_count(&mut notices, &sendings);
    let mut letters: Vec<LetterRecord> = read::entries(root, "letters")
        .into_iter()
        .filter_map(|(id, entry)| {
            Some(LetterRecord {
                id: id.to_owned(),
                name: read::text(entry, "name"),
                date: date_of(entry, "date")?,
                hash: read::text(entry, "hash"),
                media_type: read::text(entry, "media_type"),
                size: u64::try_from(read::integer(entry, "size").unwrap_or(0)).unwrap_or(0),
            })
        })
        .collect();
    letters.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
    InvoicesContent { client_id, invoices, payments, notices, sendings, letters }
}

/// Two devices that sent one level offline wrote the notice twice under one
/// key, and Automerge shows one of the two; the earliest sending (`sendings` is
/// sorted) says when the level was reached and what it charged, on every
/// replica alike.
fn earliest_sendings_count(notices: &mut [NoticeRecord], sendings: &[SendingRecord]) {
    for notice in notices {
        if let Some(first) = sendings.iter().find(|sending| sending.notice_id == notice.id) {
            notice.date = first.date;
            notice.fee_minor = first.fee_minor;
            notice.lump_sum_minor = first.lump_sum_minor;
            notice.interest_minor = first.interest_minor;
            notice.letter_document = first.letter_id.clone();
        }
    }
}

/// Reads an invoices document (`root` hydrated from `doc`), with the letters
/// earlier versions lost in merges restored. Those versions keyed a letter by its notices alone and
/// wrote each notice with its day's charges, so two devices that sent one level
/// on different days wrote two letters under one key and two notices under
/// another, and Automerge shows one of each. The others are still in the
/// document as conflicting values of those keys: each letter of such a key
/// becomes a letter of its own (its id derived from the key and its date, see
/// [`recovered_letter_id`]) and each notice a sending of it, as this version
/// records them. Conflicts between objects of one date (one run's letter on two
/// devices) are one letter, as they always were.
pub(crate) fn invoices_restored(root: &hydrate::Map, doc: &AutoCommit) -> Result<InvoicesContent> {
    let mut content = invoices_from_root(root);
    let letters = container(doc, &["letters"])?;
    for (key, objects) in conflicting_entries(doc, &letters)? {
        let recovered: Vec<LetterRecord> = objects
            .iter()
            .filter_map(|entry| {
                let date = date_of(entry, "date")?;
                Some(LetterRecord {
                    id: recovered_letter_id(&key, date),
                    name: read::text(entry, "name"),
                    date,
                    hash: read::text(entry, "hash"),
                    media_type: read::text(entry, "media_type"),
                    size: u64::try_from(read::integer(entry, "size").unwrap_or(0)).unwrap_or(0),
                })
            })
            .collect();
        content.letters.retain(|letter| letter.id != key);
        content.letters.extend(recovered);
    }
    content.letters.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
    content.letters.dedup_by(|a, b| a.id == b.id);
    let notices = container(doc, &["notices"])?;
    for (key, objects) in conflicting_entries(doc, &notices)? {
        // A notice this version wrote has sendings of its own.
        if content.sendings.iter().any(|sending| sending.notice_id == key) {
            continue;
        }
        for entry in objects.iter().filter(|entry| read::text(entry, "kind") != "sending") {
            let Some(date) = date_of(entry, "date") else { continue };
            let letter_id = recovered_letter_id(&read::text(entry, "letter_document"), date);
            content.sendings.push(SendingRecord {
                id: sending_key(&key, &letter_id),
                notice_id: key.clone(),
                invoice_id: read::text(entry, "invoice_id"),
                level: read::integer(entry, "level").unwrap_or(0),
                name: read::text(entry, "name"),
                date,
                fee_minor: read::integer(entry, "fee_minor").unwrap_or(0),
                lump_sum_minor: read::integer(entry, "lump_sum_minor").unwrap_or(0),
                interest_minor: read::integer(entry, "interest_minor").unwrap_or(0),
                letter_id,
                device_id: String::new(),
            });
        }
    }
    content.sendings.sort_by(|a, b| {
        (&a.invoice_id, a.level, a.date, &a.letter_id).cmp(&(
            &b.invoice_id,
            b.level,
            b.date,
            &b.letter_id,
        ))
    });
    content.sendings.dedup_by(|a, b| a.id == b.id);
    earliest_sendings_count(&mut content.notices, &content.sendings);
    Ok(content)
}

/// The id of a letter restored from a merge conflict of key `letter_key`: the
/// same on every replica.
pub fn recovered_letter_id(letter_key: &str, date: NaiveDate) -> String {
    let namespace = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, letter_key.as_bytes());
    uuid::Uuid::new_v5(&namespace, date.to_string().as_bytes()).to_string()
}

/// The entries of map `obj` whose key holds several objects from concurrent
/// writes, each hydrated, when they carry at least two different dates
/// (`date`): what one device wrote on one day and another on another.
fn conflicting_entries(
    doc: &AutoCommit,
    obj: &automerge::ObjId,
) -> Result<Vec<(String, Vec<hydrate::Map>)>> {
    let mut res = Vec::new();
    for key in doc.keys(obj) {
        let values = doc.get_all(obj, key.as_str())?;
        if values.len() < 2 {
            continue;
        }
        let mut objects = Vec::with_capacity(values.len());
        for (value, id) in values {
            if let automerge::Value::Object(ObjType::Map) = value
                && let hydrate::Value::Map(entry) = doc.hydrate(&id, None)?
            {
                objects.push(entry);
            }
        }
        let mut dates: Vec<String> =
            objects.iter().map(|entry| read::text(entry, "date")).collect();
        dates.sort_unstable();
        dates.dedup();
        if dates.len() > 1 {
            res.push((key, objects));
        }
    }
    Ok(res)
}

/// The workspace's billing settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BillingSettings {
    /// Number series by device id.
    pub series: BTreeMap<String, Series>,
    /// Dunning policies by name, as JSON (`billing::dunning::Policy`).
    pub policies: BTreeMap<String, String>,
    /// Base rates added or corrected by users: first day → basis points.
    pub base_rates: BTreeMap<NaiveDate, i64>,
    /// Other settings (`default_policy`, `currency`).
    pub settings: BTreeMap<String, String>,
}

/// A device's invoice number series.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Series {
    /// The code in the numbers ("T03").
    pub code: String,
    /// The number pattern (see `billing::numbering`).
    pub pattern: String,
}

/// The billing document opened for editing.
#[derive(Debug)]
pub struct BillingDocMut<'a> {
    doc: &'a mut AutoCommit,
}

impl<'a> BillingDocMut<'a> {
    /// Opens the billing document; fails on a wrong kind or a newer schema.
    pub fn open(doc: &'a mut AutoCommit) -> Result<Self> {
        check_writable(doc, DocKind::Billing)?;
        Ok(Self { doc })
    }

    /// Sets a device's series (only that device's replica writes it).
    pub fn set_series(&mut self, device_id: &str, series: &Series) -> Result<()> {
        let all = container(self.doc, &["series"])?;
        let entry = match self.doc.get(&all, device_id)? {
            Some((automerge::Value::Object(ObjType::Map), entry)) => entry,
            _ => self.doc.put_object(&all, device_id, ObjType::Map)?,
        };
        self.doc.put(&entry, "code", series.code.as_str())?;
        self.doc.put(&entry, "pattern", series.pattern.as_str())?;
        Ok(())
    }

    /// Stores a dunning policy under its name.
    pub fn set_policy(&mut self, policy_json: &str, name: &str) -> Result<()> {
        let policies = container(self.doc, &["policies"])?;
        self.doc.put(&policies, name, policy_json)?;
        Ok(())
    }

    /// Adds or corrects a base rate.
    pub fn set_base_rate(&mut self, from: NaiveDate, rate_bp: i64) -> Result<()> {
        let rates = container(self.doc, &["base_rates"])?;
        self.doc.put(&rates, from.to_string(), rate_bp)?;
        Ok(())
    }

    /// Sets a setting (`default_policy`, `currency`).
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        let settings = container(self.doc, &["settings"])?;
        self.doc.put(&settings, key, value)?;
        Ok(())
    }
}

/// Reads the billing document.
pub(crate) fn billing_from_root(root: &hydrate::Map) -> BillingSettings {
    let series = read::entries(root, "series")
        .into_iter()
        .map(|(device, entry)| {
            (
                device.to_owned(),
                Series { code: read::text(entry, "code"), pattern: read::text(entry, "pattern") },
            )
        })
        .collect();
    let texts = |key: &str| -> BTreeMap<String, String> {
        read::map(root, key)
            .map(|map| map.iter().map(|(name, _)| (name.clone(), read::text(map, name))).collect())
            .unwrap_or_default()
    };
    let base_rates = read::map(root, "base_rates")
        .map(|rates| {
            rates
                .iter()
                .filter_map(|(date, _)| {
                    Some((
                        NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?,
                        read::integer(rates, date)?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    BillingSettings { series, policies: texts("policies"), base_rates, settings: texts("settings") }
}

#[cfg(test)]
mod tests {
    use automerge::ActorId;

    use super::*;
    use crate::{DocId, hydrate, new_document};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap()
    }

    /// One replica's run on `date`: the notice of level 1 and its sending.
    fn send(doc: &mut AutoCommit, date: NaiveDate, interest_minor: i64, device: &str) {
        let notice = NoticeRecord {
            id: "n1".to_owned(),
            invoice_id: "i1".to_owned(),
            level: 1,
            name: "1. Mahnung".to_owned(),
            date,
            fee_minor: 250,
            lump_sum_minor: 0,
            interest_minor,
            letter_document: format!("letter-{date}"),
        };
        let mut invoices = InvoicesDocMut::open(doc).unwrap();
        assert!(invoices.add_notice(&notice).unwrap());
        let sending = SendingRecord {
            id: sending_key(&notice.id, &notice.letter_document),
            notice_id: notice.id.clone(),
            invoice_id: notice.invoice_id.clone(),
            level: notice.level,
            name: notice.name.clone(),
            date,
            fee_minor: notice.fee_minor,
            lump_sum_minor: 0,
            interest_minor,
            letter_id: notice.letter_document.clone(),
            device_id: device.to_owned(),
        };
        assert!(invoices.add_sending(&sending).unwrap());
        doc.commit();
    }

    /// What earlier versions wrote for one run: the notice with the day's
    /// charges, and a letter keyed by its notices alone.
    fn send_as_before(doc: &mut AutoCommit, date: NaiveDate, interest_minor: i64, hash: &str) {
        let notice = NoticeRecord {
            id: "n1".to_owned(),
            invoice_id: "i1".to_owned(),
            level: 1,
            name: "1. Mahnung".to_owned(),
            date,
            fee_minor: 250,
            lump_sum_minor: 0,
            interest_minor,
            letter_document: "letter-n1".to_owned(),
        };
        let letter = LetterRecord {
            id: "letter-n1".to_owned(),
            name: format!("Mahnung-{date}.html"),
            date,
            hash: hash.to_owned(),
            media_type: "text/html".to_owned(),
            size: 100,
        };
        let mut invoices = InvoicesDocMut::open(doc).unwrap();
        assert!(invoices.add_notice(&notice).unwrap());
        assert!(invoices.add_letter(&letter).unwrap());
        doc.commit();
    }

    fn with_invoice() -> AutoCommit {
        let doc_id = DocId::from_bytes([3; 16]);
        let mut base =
            new_document(doc_id, DocKind::Invoices, &ActorId::from([9; 16].as_slice())).unwrap();
        let draft = NewInvoice {
            id: "i1".to_owned(),
            unit_id: String::new(),
            kind: "invoice".to_owned(),
            credits: String::new(),
            currency: "EUR".to_owned(),
            issue_date: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            due_date: NaiveDate::from_ymd_opt(2026, 9, 15).unwrap(),
            note: String::new(),
            lines: vec![Line::parse("Service=1 x 100 @ 19").unwrap()],
            template_id: String::new(),
            created_by: "d1".to_owned(),
        };
        InvoicesDocMut::open(&mut base).unwrap().create(&draft, 0).unwrap();
        base.commit();
        base
    }

    #[test]
    fn letters_earlier_versions_lost_in_a_merge_are_read_back_from_the_conflict() {
        let mut base = with_invoice();
        for (early_actor, late_actor) in [(1_u8, 2_u8), (2, 1)] {
            let mut early = base.fork().with_actor(ActorId::from([early_actor; 16].as_slice()));
            let mut late = base.fork().with_actor(ActorId::from([late_actor; 16].as_slice()));
            send_as_before(&mut early, day(22), 715, "aa");
            send_as_before(&mut late, day(24), 885, "bb");
            early.merge(&mut late).unwrap();
            late.merge(&mut early).unwrap();
            for doc in [&early, &late] {
                let hydrated = hydrate(doc).unwrap();
                // Plain hydration shows one of each, as the old versions did.
                assert_eq!(hydrated.invoices().letters.len(), 1);
                let content = hydrated.invoices_restored(doc).unwrap();
                let letters: Vec<(NaiveDate, &str, String)> = content
                    .letters
                    .iter()
                    .map(|letter| (letter.date, letter.hash.as_str(), letter.id.clone()))
                    .collect();
                assert_eq!(
                    letters,
                    [
                        (day(22), "aa", recovered_letter_id("letter-n1", day(22))),
                        (day(24), "bb", recovered_letter_id("letter-n1", day(24))),
                    ]
                );
                let sent: Vec<(NaiveDate, i64, &str)> = content
                    .sendings
                    .iter()
                    .map(|s| (s.date, s.interest_minor, s.letter_id.as_str()))
                    .collect();
                assert_eq!(
                    sent,
                    [(day(22), 715, letters[0].2.as_str()), (day(24), 885, letters[1].2.as_str()),]
                );
                assert_eq!(content.notices.len(), 1);
                assert_eq!(
                    (content.notices[0].date, content.notices[0].interest_minor),
                    (day(22), 715)
                );
                assert_eq!(content.notices[0].letter_document, letters[0].2);
            }
        }
        // One run's letter written on two devices on one day stays one letter.
        let mut anna = base.fork().with_actor(ActorId::from([1; 16].as_slice()));
        let mut otto = base.fork().with_actor(ActorId::from([2; 16].as_slice()));
        send_as_before(&mut anna, day(22), 715, "aa");
        send_as_before(&mut otto, day(22), 715, "aa");
        anna.merge(&mut otto).unwrap();
        let content = hydrate(&anna).unwrap().invoices_restored(&anna).unwrap();
        assert_eq!(content.letters.len(), 1);
        assert_eq!(content.letters[0].id, "letter-n1");
        assert!(content.sendings.is_empty());
        assert_eq!(content.notices[0].letter_document, "letter-n1");
    }

    #[test]
    fn a_level_sent_on_two_replicas_on_different_days_keeps_both_sendings_and_counts_the_first() {
        let doc_id = DocId::from_bytes([3; 16]);
        let mut base =
            new_document(doc_id, DocKind::Invoices, &ActorId::from([9; 16].as_slice())).unwrap();
        let lines = vec![Line::parse("Service=1 x 100 @ 19").unwrap()];
        let draft = NewInvoice {
            id: "i1".to_owned(),
            unit_id: String::new(),
            kind: "invoice".to_owned(),
            credits: String::new(),
            currency: "EUR".to_owned(),
            issue_date: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            due_date: NaiveDate::from_ymd_opt(2026, 9, 15).unwrap(),
            note: String::new(),
            lines,
            template_id: String::new(),
            created_by: "d1".to_owned(),
        };
        InvoicesDocMut::open(&mut base).unwrap().create(&draft, 0).unwrap();
        base.commit();
        // Actor order decides which notice object Automerge shows; try both.
        for (early_actor, late_actor) in [(1_u8, 2_u8), (2, 1)] {
            let mut early = base.fork().with_actor(ActorId::from([early_actor; 16].as_slice()));
            let mut late = base.fork().with_actor(ActorId::from([late_actor; 16].as_slice()));
            send(&mut early, day(22), 715, "office");
            send(&mut late, day(24), 885, "laptop");
            early.merge(&mut late).unwrap();
            late.merge(&mut early).unwrap();
            for doc in [&early, &late] {
                let hydrated = hydrate(doc).unwrap();
                let content = hydrated.invoices();
                // This version's sendings leave nothing to restore.
                assert_eq!(hydrated.invoices_restored(doc).unwrap(), content);
                assert_eq!(content.notices.len(), 1);
                let notice = &content.notices[0];
                assert_eq!((notice.date, notice.interest_minor), (day(22), 715));
                assert_eq!(notice.letter_document, "letter-2026-10-22");
                let sent: Vec<(NaiveDate, i64, &str)> = content
                    .sendings
                    .iter()
                    .map(|s| (s.date, s.interest_minor, s.device_id.as_str()))
                    .collect();
                assert_eq!(sent, [(day(22), 715, "office"), (day(24), 885, "laptop")]);
            }
        }
    }
}
