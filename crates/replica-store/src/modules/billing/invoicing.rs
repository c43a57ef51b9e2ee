//! Writing invoices: drafts, issue, payments, credit notes, number series.
//!
//! Every operation checks its input against the mirror first and then changes
//! the documents in one transaction, so a refused operation stores nothing.
//! Issuing takes the next number of this device's series inside the write
//! transaction: another process on the same replica waits for the lock and then
//! sees the number as taken. Every number ends in this device's tag
//! (`billing::numbering::device_number`), so no other device can issue it.

use std::collections::BTreeMap;

use billing::invoice::{InvoiceKind, InvoiceStatus, Line, PaymentTerms};
use billing::money::{Currency, Money, format_minor};
use billing::numbering::{
    DEFAULT_PATTERN, device_number, device_tag, series_key, validate_code, validate_pattern,
};
use chrono::{Datelike, NaiveDate};
use doc_model::{
    BillingDocMut, DocId, DocKind, DraftChanges, InvoicesDocMut, Issue, NewInvoice, PaymentRecord,
    Series,
};
use domain::{ClientId, UnitId};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{Refusal, Result, StoreError, mirror_value};
use crate::replica::{Creation, Replica};

/// Payment terms when neither the command nor the client names any.
pub const DEFAULT_TERMS_DAYS: u32 = 14;

/// A new invoice, as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDraft {
    /// The client billed.
    pub client_id: ClientId,
    /// The unit billed, if any.
    pub unit_id: Option<UnitId>,
    /// Currency [default: the client's billing currency, else the workspace's].
    pub currency: Option<Currency>,
    /// Planned issue date.
    pub issue_date: NaiveDate,
    /// Payment terms [default: the client's, else 14 days].
    pub terms: Option<PaymentTerms>,
    /// Note printed on the invoice.
    pub note: String,
    /// Lines (at least one before issue).
    pub lines: Vec<Line>,
}

/// Changes to a draft.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InvoiceEdit {
    /// New note.
    pub note: Option<String>,
    /// New issue date.
    pub issue_date: Option<NaiveDate>,
    /// New payment terms.
    pub terms: Option<PaymentTerms>,
    /// New unit (`Some(None)` for the client itself).
    pub unit_id: Option<Option<UnitId>>,
    /// Lines to add.
    pub add_lines: Vec<Line>,
    /// Line positions (1-based) to remove.
    pub remove_lines: Vec<usize>,
}

/// A payment, as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentInput {
    /// Date received.
    pub date: NaiveDate,
    /// Amount and currency.
    pub amount: Money,
    /// Bank transfer, cash, card…
    pub method: String,
    /// The payer's reference.
    pub reference: String,
}

/// A credit note, as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditInput {
    /// Its date.
    pub date: NaiveDate,
    /// The lines credited (positive quantities); `None` credits the whole invoice.
    pub lines: Option<Vec<Line>>,
    /// Note (the reason).
    pub note: String,
}

/// This device's number series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeriesView {
    /// The code ("T03"), a label chosen by the user.
    pub code: String,
    /// The pattern.
    pub pattern: String,
    /// Whether it was set (or is the default `D`).
    pub configured: bool,
    /// This device's tag, the end of every number it issues ("7F3A2B").
    pub device_tag: String,
    /// The series' key: code and tag ("T03-7F3A2B"), recorded on its invoices.
    pub key: String,
    /// The number the next invoice issued this year would get.
    pub next_number: String,
    /// Its sequence number in the series and year.
    pub next_seq: i64,
    /// Other devices that chose the same code (harmless: their numbers end in
    /// their own tags).
    pub shared_with: Vec<String>,
    /// Numbers in this code that two invoices carry (issued by two devices
    /// before numbers carried the device tag): while there are any, this device
    /// issues no further number in the code.
    pub duplicate_numbers: usize,
    /// Another device with this device's tag, if any: then nothing is issued here.
    pub tag_shared_with: Option<String>,
}

/// Where an invoice is and what state it is in, as the write path needs it.
#[derive(Debug, Clone)]
pub(crate) struct InvoiceLocation {
    pub(crate) id: Uuid,
    pub(crate) doc_id: DocId,
    pub(crate) client_id: ClientId,
    pub(crate) kind: InvoiceKind,
    pub(crate) status: InvoiceStatus,
    pub(crate) number: String,
    pub(crate) currency: String,
    pub(crate) issue_date: NaiveDate,
    pub(crate) due_date: NaiveDate,
    pub(crate) gross_minor: i64,
    pub(crate) credited_minor: i64,
    pub(crate) created_by: String,
}

impl InvoiceLocation {
    /// How the invoice is named in messages: its number, or "draft 1a2b3c4d".
    pub(crate) fn label(&self) -> String {
        if self.number.is_empty() {
            format!("draft {}", &self.id.to_string()[..8])
        } else {
            self.number.clone()
        }
    }
}

impl Replica {
    /// The id of the workspace's billing document.
    pub fn billing_doc_id(&self) -> DocId {
        DocId::billing(self.meta().workspace_id)
    }

    /// Creates a draft invoice; returns its id.
    pub fn create_invoice(&mut self, draft: &InvoiceDraft) -> Result<Uuid> {
        let client = self.billing_client(draft.client_id)?;
        if let Some(unit_id) = draft.unit_id {
            self.check_unit(draft.client_id, unit_id)?;
        }
        for line in &draft.lines {
            line.validate(false)?;
        }
        billing::invoice::totals(&draft.lines)?;
        let currency = match draft.currency {
            Some(currency) => currency,
            None => self.default_currency(&client.currency)?,
        };
        let terms = draft.terms.unwrap_or(PaymentTerms::Days(client.terms_days));
        let due_date = terms.due_date(draft.issue_date)?;
        let id = self.entropy.uuid();
        let invoice = NewInvoice {
            id: id.to_string(),
            unit_id: draft.unit_id.map(|unit| unit.to_string()).unwrap_or_default(),
            kind: InvoiceKind::Invoice.to_string(),
            credits: String::new(),
            currency: currency.to_string(),
            issue_date: draft.issue_date,
            due_date,
            note: draft.note.clone(),
            lines: draft.lines.clone(),
            template_id: String::new(),
            created_by: self.meta().device_id.to_string(),
        };
        let doc_id = DocId::invoices(draft.client_id, draft.issue_date.year());
        let (client_id, year) = (draft.client_id.to_string(), draft.issue_date.year());
        let now = self.entropy.now_ms();
        self.transact_all(&[(doc_id, Creation::Skeleton(DocKind::Invoices))], |_, _, doc| {
            let mut invoices = InvoicesDocMut::open(doc)?;
            invoices.label(&client_id, year)?;
            invoices.create(&invoice, now)?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Changes a draft; an issued invoice is refused (correct it with a credit note).
    pub fn edit_invoice(&mut self, invoice_id: Uuid, edit: &InvoiceEdit) -> Result<()> {
        let location = self.locate_invoice(invoice_id)?;
        if location.status != InvoiceStatus::Draft {
            return Err(StoreError::InvoiceIssued {
                number: location.number,
                refusal: crate::error::IssuedRefusal::CannotChange,
            });
        }
        if let Some(Some(unit_id)) = edit.unit_id {
            self.check_unit(location.client_id, unit_id)?;
        }
        let mut lines = self.invoice_lines(invoice_id)?;
        let mut remove = edit.remove_lines.clone();
        remove.sort_unstable();
        remove.dedup();
        for position in remove.iter().rev() {
            if *position == 0 || *position > lines.len() {
                return Err(
                    Refusal::NoSuchDraftLine { position: *position, lines: lines.len() }.into()
                );
            }
            lines.remove(position - 1);
        }
        for line in &edit.add_lines {
            line.validate(false)?;
            lines.push(line.clone());
        }
        billing::invoice::totals(&lines)?;
        let issue_date = edit.issue_date.unwrap_or(location.issue_date);
        let due_date = match edit.terms {
            Some(terms) => terms.due_date(issue_date)?,
            None if edit.issue_date.is_some() => {
                let days = (location.due_date - location.issue_date).num_days().max(0);
                issue_date + chrono::Days::new(days.unsigned_abs())
            }
            None => location.due_date,
        };
        let changes = DraftChanges {
            note: edit.note.clone(),
            issue_date: edit.issue_date,
            due_date: Some(due_date),
            unit_id: edit.unit_id.map(|unit| unit.map(|unit| unit.to_string()).unwrap_or_default()),
            lines: (!edit.add_lines.is_empty() || !edit.remove_lines.is_empty()).then_some(lines),
        };
        let id = invoice_id.to_string();
        self.transact_all(&[(location.doc_id, Creation::Existing)], |_, _, doc| {
            Ok(InvoicesDocMut::open(doc)?.edit_draft(&id, &changes)?)
        })?;
        Ok(())
    }

    /// Discards a draft.
    pub fn discard_invoice(&mut self, invoice_id: Uuid) -> Result<()> {
        let location = self.locate_invoice(invoice_id)?;
        if location.status != InvoiceStatus::Draft {
            return Err(StoreError::InvoiceIssued {
                number: location.number,
                refusal: crate::error::IssuedRefusal::IsKept,
            });
        }
        let id = invoice_id.to_string();
        self.transact_all(&[(location.doc_id, Creation::Existing)], |_, _, doc| {
            Ok(InvoicesDocMut::open(doc)?.discard_draft(&id)?)
        })?;
        Ok(())
    }

    /// Issues a draft: freezes it and gives it the next number of this device's
    /// series. `issue_date` overrides the draft's date (the due date moves with it).
    pub fn issue_invoice(
        &mut self,
        invoice_id: Uuid,
        issue_date: Option<NaiveDate>,
    ) -> Result<String> {
        let location = self.locate_invoice(invoice_id)?;
        if location.status != InvoiceStatus::Draft {
            return Err(Refusal::AlreadyIssued { number: location.number }.into());
        }
        let device_id = self.meta().device_id.to_string();
        if !location.created_by.is_empty() && location.created_by != device_id {
            let device = self.device_name(&location.created_by)?;
            let short_id = invoice_id.to_string()[..8].to_owned();
            return Err(Refusal::DraftOfAnotherDevice { short_id, device }.into());
        }
        let lines = self.invoice_lines(invoice_id)?;
        if lines.is_empty() {
            return Err(StoreError::DraftWithoutLines {
                short_id: invoice_id.to_string()[..8].to_owned(),
            });
        }
        let totals = billing::invoice::totals(&lines)?;
        let issue_date = issue_date.unwrap_or(location.issue_date);
        let terms_days = (location.due_date - location.issue_date).num_days().max(0);
        let due_date = issue_date + chrono::Days::new(terms_days.unsigned_abs());
        let unit_id: String = self.conn.query_row(
            "SELECT unit_id FROM invoices WHERE id = ?1",
            [invoice_id.to_string()],
            |row| row.get(0),
        )?;
        let snapshot = self.issue_snapshot(location.client_id, &unit_id)?;
        self.issue_frozen(&location, issue_date, due_date, &totals, &snapshot)
    }

    /// Records a payment of an issued invoice; returns its id. An amount beyond
    /// what is owed becomes the client's credit.
    pub fn record_payment(&mut self, invoice_id: Uuid, payment: &PaymentInput) -> Result<Uuid> {
        let location = self.locate_invoice(invoice_id)?;
        if location.status != InvoiceStatus::Issued {
            return Err(Refusal::PaymentBeforeIssue { invoice: location.label() }.into());
        }
        if location.kind != InvoiceKind::Invoice {
            return Err(Refusal::PaymentOnCreditNote { number: location.number }.into());
        }
        if payment.amount.currency.as_str() != location.currency {
            return Err(billing::BillingError::CurrencyMismatch {
                expected: location.currency,
                found: payment.amount.currency.to_string(),
            }
            .into());
        }
        if payment.amount.minor <= 0 {
            let amount = format_minor(payment.amount.minor);
            return Err(Refusal::PaymentNotPositive { amount }.into());
        }
        let id = self.entropy.uuid();
        let record = PaymentRecord {
            id: id.to_string(),
            invoice_id: invoice_id.to_string(),
            date: payment.date,
            amount_minor: payment.amount.minor,
            currency: location.currency.clone(),
            method: payment.method.trim().to_owned(),
            reference: payment.reference.trim().to_owned(),
        };
        let now = self.entropy.now_ms();
        self.transact_all(&[(location.doc_id, Creation::Existing)], |_, _, doc| {
            Ok(InvoicesDocMut::open(doc)?.add_payment(&record, now)?)
        })?;
        Ok(id)
    }

    /// Issues a credit note for an issued invoice: the given lines, or the whole
    /// invoice (a cancellation). Returns the credit note's id and number.
    pub fn credit_invoice(
        &mut self,
        invoice_id: Uuid,
        credit: &CreditInput,
    ) -> Result<(Uuid, String)> {
        let location = self.locate_invoice(invoice_id)?;
        if location.status != InvoiceStatus::Issued || location.kind != InvoiceKind::Invoice {
            return Err(Refusal::CreditOfUnissued { invoice: location.label() }.into());
        }
        let creditable = location.gross_minor - location.credited_minor;
        let lines: Vec<Line> = match &credit.lines {
            None if location.credited_minor > 0 => {
                return Err(Refusal::PartlyCredited { number: location.number }.into());
            }
            None => self.invoice_lines(invoice_id)?,
            Some(lines) => {
                for line in lines {
                    line.validate(false)?;
                }
                lines.clone()
            }
        };
        let negated: Vec<Line> = lines
            .into_iter()
            .map(|line| Line { quantity_milli: -line.quantity_milli, ..line })
            .collect();
        let totals = billing::invoice::totals(&negated)?;
        if -totals.gross_minor > creditable {
            return Err(Refusal::CreditExceedsRemainder {
                credit: format_minor(-totals.gross_minor),
                number: location.number,
                remaining: format_minor(creditable),
                currency: location.currency,
            }
            .into());
        }
        if credit.date < location.issue_date {
            return Err(Refusal::CreditBeforeInvoice { issue_date: location.issue_date }.into());
        }
        let id = self.entropy.uuid();
        let note = if credit.note.trim().is_empty() {
            format!("Credit note for invoice {}", location.number)
        } else {
            credit.note.trim().to_owned()
        };
        let draft = NewInvoice {
            id: id.to_string(),
            unit_id: String::new(),
            kind: InvoiceKind::CreditNote.to_string(),
            credits: invoice_id.to_string(),
            currency: location.currency.clone(),
            issue_date: credit.date,
            due_date: credit.date,
            note,
            lines: negated,
            template_id: String::new(),
            created_by: self.meta().device_id.to_string(),
        };
        let snapshot = self.issue_snapshot(location.client_id, "")?;
        // The credit note lives in its invoice's document: one document tells an
        // invoice's whole story.
        let credit_location = InvoiceLocation {
            id,
            kind: InvoiceKind::CreditNote,
            status: InvoiceStatus::Draft,
            number: String::new(),
            issue_date: credit.date,
            due_date: credit.date,
            gross_minor: totals.gross_minor,
            credited_minor: 0,
            created_by: draft.created_by.clone(),
            ..location
        };
        let number = self.issue_new(&credit_location, &draft, &totals, &snapshot)?;
        Ok((id, number))
    }

    /// This device's number series, with the next number it would give in `year`.
    pub fn series(&self, year: i32) -> Result<SeriesView> {
        let device_id = self.meta().device_id.to_string();
        let stored: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT code, pattern FROM billing_series WHERE device_id = ?1",
                [&device_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let configured = stored.is_some();
        let (code, pattern) =
            stored.unwrap_or_else(|| (DEFAULT_SERIES_CODE.to_owned(), DEFAULT_PATTERN.to_owned()));
        let tag = device_tag(&self.meta().device_id);
        let key = series_key(&code, &tag);
        let seq = next_seq(&self.conn, &key, year)?;
        let next_number = device_number(&pattern, year, &code, seq, &tag);
        let shared_with = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(d.name, s.device_id) FROM billing_series s
                 LEFT JOIN device_directory d ON d.id = s.device_id
                 WHERE s.code = ?1 AND s.device_id <> ?2 ORDER BY 1",
            )?
            .query_map(params![code, device_id], |row| row.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        let duplicate_numbers = duplicates_in_series(&self.conn, &code, &key)?;
        let tag_shared_with = self.device_with_tag(&tag)?;
        Ok(SeriesView {
            code,
            pattern,
            configured,
            device_tag: tag,
            key,
            next_number,
            next_seq: seq,
            shared_with,
            duplicate_numbers,
            tag_shared_with,
        })
    }

    /// This device's series for `year` if it may issue in it now: refused while
    /// its code holds numbers two devices issued (see [`Replica::duplicate_numbers`])
    /// or another registered device has this device's tag. `invoice new --issue`
    /// asks before it stores the draft.
    pub fn series_to_issue(&self, year: i32) -> Result<SeriesView> {
        let series = self.series(year)?;
        if series.duplicate_numbers > 0 {
            return Err(StoreError::SeriesHasDuplicates {
                code: series.code,
                numbers: series.duplicate_numbers,
            });
        }
        if let Some(device) = series.tag_shared_with {
            return Err(StoreError::DeviceTagShared { tag: series.device_tag, device });
        }
        Ok(series)
    }

    /// Sets this device's series code and pattern. A code another device is known
    /// to use is refused to keep series apart for readers; numbers stay unique
    /// without it (each ends in its device's tag), so a code chosen on two devices
    /// offline is harmless.
    pub fn set_series(
        &mut self,
        code: &str,
        pattern: Option<&str>,
        year: i32,
    ) -> Result<SeriesView> {
        let code = code.trim().to_uppercase();
        validate_code(&code)?;
        let pattern = pattern.map(str::trim).unwrap_or(DEFAULT_PATTERN).to_owned();
        validate_pattern(&pattern)?;
        let device_id = self.meta().device_id.to_string();
        let taken_by: Option<String> = self
            .conn
            .query_row(
                "SELECT s.device_id FROM billing_series s WHERE s.code = ?1 AND s.device_id <> ?2",
                params![code, device_id],
                |row| row.get(0),
            )
            .optional()?;
        // A code another device used before (and gave up) is taken too: its
        // numbers exist, and this device would count them again from 1.
        let used_by: Option<String> = self
            .conn
            .query_row(
                "SELECT created_by FROM invoices WHERE series = ?1 AND created_by <> ?2 LIMIT 1",
                params![code, device_id],
                |row| row.get(0),
            )
            .optional()?;
        let held_here: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM billing_series WHERE code = ?1 AND device_id = ?2)",
            params![code, device_id],
            |row| row.get(0),
        )?;
        // The default code is every unconfigured device's; its numbers are told
        // apart by their tags like all others.
        let shared_by_design = code == DEFAULT_SERIES_CODE;
        if let Some(other) = taken_by.or(used_by).filter(|_| !held_here && !shared_by_design) {
            let device = self.device_name(&other)?;
            return Err(Refusal::SeriesOfAnotherDevice { code, device }.into());
        }
        let series = Series { code, pattern };
        self.transact_all(
            &[(self.billing_doc_id(), Creation::Skeleton(DocKind::Billing))],
            |_, _, doc| Ok(BillingDocMut::open(doc)?.set_series(&device_id, &series)?),
        )?;
        self.series(year)
    }

    /// Freezes an existing draft with the next number.
    fn issue_frozen(
        &mut self,
        location: &InvoiceLocation,
        issue_date: NaiveDate,
        due_date: NaiveDate,
        totals: &billing::invoice::Totals,
        snapshot: &BTreeMap<String, String>,
    ) -> Result<String> {
        self.issue_with(location, None, issue_date, due_date, totals, snapshot)
    }

    /// Creates and issues a document in one change (a credit note).
    fn issue_new(
        &mut self,
        location: &InvoiceLocation,
        draft: &NewInvoice,
        totals: &billing::invoice::Totals,
        snapshot: &BTreeMap<String, String>,
    ) -> Result<String> {
        self.issue_with(location, Some(draft), draft.issue_date, draft.due_date, totals, snapshot)
    }

    fn issue_with(
        &mut self,
        location: &InvoiceLocation,
        create: Option<&NewInvoice>,
        issue_date: NaiveDate,
        due_date: NaiveDate,
        totals: &billing::invoice::Totals,
        snapshot: &BTreeMap<String, String>,
    ) -> Result<String> {
        if due_date < issue_date {
            return Err(
                billing::BillingError::DueBeforeIssue { issue: issue_date, due: due_date }.into()
            );
        }
        let year = issue_date.year();
        let series = self.series_to_issue(year)?;
        let device_id = self.meta().device_id.to_string();
        let mut docs = vec![(location.doc_id, Creation::Existing)];
        if !series.configured {
            // Record the default series, so other devices see the code as taken.
            docs.insert(0, (self.billing_doc_id(), Creation::Skeleton(DocKind::Billing)));
        }
        let invoice_id = location.id.to_string();
        let mut number = String::new();
        let now = self.entropy.now_ms();
        self.transact_all(&docs, |conn, doc_id, doc| {
            if doc_id != location.doc_id {
                let stored = Series { code: series.code.clone(), pattern: series.pattern.clone() };
                return Ok(BillingDocMut::open(doc)?.set_series(&device_id, &stored)?);
            }
            let seq = next_seq(conn, &series.key, year)?;
            number = device_number(&series.pattern, year, &series.code, seq, &series.device_tag);
            if number_taken(conn, &number)? {
                let number = number.clone();
                return Err(Refusal::NumberExists { number, pattern: DEFAULT_PATTERN }.into());
            }
            let mut invoices = InvoicesDocMut::open(doc)?;
            if let Some(draft) = create {
                invoices.create(draft, now)?;
            }
            invoices.issue(
                &invoice_id,
                &Issue {
                    number: number.clone(),
                    series: series.key.clone(),
                    seq,
                    issue_date,
                    due_date,
                    totals: totals.clone(),
                    snapshot: snapshot.clone(),
                },
            )?;
            Ok(())
        })?;
        tracing::info!(number, invoice = %location.id, "issued");
        Ok(number)
    }

    /// Where an invoice is, from the mirror.
    pub(crate) fn locate_invoice(&self, invoice_id: Uuid) -> Result<InvoiceLocation> {
        let id = invoice_id.to_string();
        self.conn
            .prepare_cached(
                "SELECT doc_id, client_id, kind, status, number, currency, issue_date, due_date,
                        gross_minor, credited_minor, created_by
                 FROM invoices WHERE id = ?1",
            )?
            .query_row([&id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    [row.get::<_, String>(6)?, row.get::<_, String>(7)?],
                    [row.get::<_, String>(2)?, row.get::<_, String>(3)?],
                    InvoiceLocation {
                        id: invoice_id,
                        doc_id: DocId::from_bytes([0; 16]),
                        client_id: ClientId::from_uuid(Uuid::nil()),
                        kind: InvoiceKind::Invoice,
                        status: InvoiceStatus::Draft,
                        number: row.get(4)?,
                        currency: row.get(5)?,
                        issue_date: NaiveDate::MIN,
                        due_date: NaiveDate::MIN,
                        gross_minor: row.get(8)?,
                        credited_minor: row.get(9)?,
                        created_by: row.get(10)?,
                    },
                ))
            })
            .optional()?
            // The placeholders above are replaced here or the read fails: a
            // value the mirror cannot give back is an error, not a default.
            .map(|(doc_id, client_id, [issue_date, due_date], [kind, status], location)| -> Result<_> {
                Ok(InvoiceLocation {
                    kind: mirror_value("invoice kind", kind)?,
                    status: mirror_value("invoice status", status)?,
                    doc_id: mirror_value("document id", doc_id)?,
                    client_id: mirror_value("client id", client_id)?,
                    issue_date: mirror_value("issue date", issue_date)?,
                    due_date: mirror_value("due date", due_date)?,
                    ..location
                })
            })
            .transpose()?
            .ok_or_else(|| StoreError::NotFound {
                what: "invoice",
                reference: id,
                hint: String::new(),
            })
    }

    pub(crate) fn invoice_lines(&self, invoice_id: Uuid) -> Result<Vec<Line>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT description, quantity_milli, unit, unit_price_minor, vat_bp
             FROM invoice_lines WHERE invoice_id = ?1 ORDER BY position",
        )?;
        let lines = statement
            .query_map([invoice_id.to_string()], |row| {
                Ok(Line {
                    description: row.get(0)?,
                    quantity_milli: row.get(1)?,
                    unit: row.get(2)?,
                    unit_price_minor: row.get(3)?,
                    vat_bp: row.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(lines)
    }

    /// The client's details frozen into an invoice at issue, and the company's.
    pub(crate) fn issue_snapshot(
        &self,
        client_id: ClientId,
        unit_id: &str,
    ) -> Result<BTreeMap<String, String>> {
        let mut snapshot = self.party_details(client_id, unit_id)?;
        for (key, value) in self.company_details()? {
            snapshot.insert(format!("seller.{key}"), value);
        }
        Ok(snapshot)
    }

    /// The currency used when none is given.
    pub(crate) fn default_currency(&self, client_currency: &str) -> Result<Currency> {
        if !client_currency.trim().is_empty() {
            return Ok(client_currency.parse()?);
        }
        let workspace: Option<String> = self
            .conn
            .query_row("SELECT value FROM billing_settings WHERE key = 'currency'", [], |row| {
                row.get(0)
            })
            .optional()?;
        Ok(workspace.map(|code| code.parse()).transpose()?.unwrap_or(Currency::EUR))
    }

    pub(crate) fn billing_client(&self, client_id: ClientId) -> Result<BillingClient> {
        let defaults = self.billing_defaults(client_id)?;
        Ok(BillingClient {
            name: defaults.name,
            currency: defaults.currency,
            terms_days: defaults
                .payment_terms_days
                .and_then(|days| u32::try_from(days).ok())
                .unwrap_or(DEFAULT_TERMS_DAYS),
        })
    }

    pub(crate) fn check_unit(&self, client_id: ClientId, unit_id: UnitId) -> Result<()> {
        let found: Option<i64> = self
            .conn
            .query_row(
                "SELECT 1 FROM unit_directory WHERE id = ?1 AND client_id = ?2",
                params![unit_id.to_string(), client_id.to_string()],
                |row| row.get(0),
            )
            .optional()?;
        match found {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound {
                what: "unit",
                reference: unit_id.to_string(),
                hint: "; the client card lists its units".to_owned(),
            }),
        }
    }

    pub(crate) fn device_name(&self, device_id: &str) -> Result<String> {
        Ok(self
            .conn
            .query_row("SELECT name FROM device_directory WHERE id = ?1", [device_id], |row| {
                row.get(0)
            })
            .optional()?
            .unwrap_or_else(|| format!("device {}", &device_id[..device_id.len().min(8)])))
    }

    /// Another registered device whose id starts with the same six hex digits,
    /// if any (device ids are random: about one pair in 16 million).
    fn device_with_tag(&self, tag: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT name FROM device_directory WHERE id <> ?1 AND upper(substr(id, 1, 6)) = ?2 LIMIT 1",
                params![self.meta().device_id.to_string(), tag],
                |row| row.get(0),
            )
            .optional()?)
    }
}

/// The series code of a device that has not chosen one; its numbers are told
/// apart by the device tag (`2026-D-0001-7F3A2B`).
pub const DEFAULT_SERIES_CODE: &str = "D";

/// How many numbers of series `code` (as issued before numbers carried the
/// device tag) or `key` (this device's) two or more invoices carry.
pub(crate) fn duplicates_in_series(conn: &Connection, code: &str, key: &str) -> Result<usize> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM (
                 SELECT number FROM invoices
                 WHERE number <> '' AND (series = ?1 OR series = ?2)
                 GROUP BY number HAVING COUNT(*) > 1)",
        )?
        .query_row(params![code, key], |row| row.get(0))?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// A client as billing needs it.
#[derive(Debug, Clone)]
pub(crate) struct BillingClient {
    pub(crate) name: String,
    pub(crate) currency: String,
    pub(crate) terms_days: u32,
}

/// The next sequence number of a series (its key, code and device tag) in a
/// year: one more than the highest this replica holds. Only the device with the
/// tag issues in the series, and every invoice it issued is in its own replica,
/// so the highest is known here.
fn next_seq(conn: &Connection, series: &str, year: i32) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM invoices WHERE series = ?1 AND number_year = ?2",
        )?
        .query_row(params![series, year], |row| row.get(0))?)
}

pub(crate) fn number_taken(conn: &Connection, number: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM invoices WHERE number = ?1")?
        .query_row([number], |_| Ok(()))
        .optional()?
        .is_some())
}
