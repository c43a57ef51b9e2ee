//! Reading invoices from the mirror: the list with its filters and sorts, one
//! invoice in full, and a client's statement of account.

use std::collections::BTreeMap;

use billing::invoice::{InvoiceKind, InvoiceState, InvoiceStatus};
use chrono::NaiveDate;
use domain::{ClientId, UnitId};
use rusqlite::{OptionalExtension, Row, ToSql, params, params_from_iter};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{Refusal, Result, StoreError, mirror_column, mirror_json};
use crate::modules::clients::catalog::short_id;
use crate::replica::Replica;

/// What the invoice list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFilter {
    /// Drafts.
    Draft,
    /// Issued, nothing paid, not yet due.
    Issued,
    /// Partly paid, not yet due.
    PartlyPaid,
    /// Paid in full.
    Paid,
    /// Past due with principal open.
    Overdue,
    /// Anything with principal open (issued, partly paid or overdue).
    Open,
    /// Credit notes.
    CreditNote,
}

impl StateFilter {
    /// Parses the word shown in the list's STATE column.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_lowercase().replace('-', "_").as_str() {
            "draft" => Self::Draft,
            "issued" => Self::Issued,
            "partly_paid" => Self::PartlyPaid,
            "paid" => Self::Paid,
            "overdue" => Self::Overdue,
            "open" => Self::Open,
            "credit_note" | "credit" => Self::CreditNote,
            _ => return None,
        })
    }
}

/// How the invoice list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvoiceSort {
    /// Issue date, newest first.
    #[default]
    Date,
    /// Gross amount, largest first.
    Amount,
    /// Days overdue, most overdue first.
    DaysOverdue,
}

/// A number carried by several invoices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateNumber {
    /// The number.
    pub number: String,
    /// The invoices (or credit notes) carrying it, by issue date.
    pub invoices: Vec<DuplicateInvoice>,
    /// Whether all but one of them are credited in full (the way out taken).
    pub settled: bool,
}

/// One invoice of a [`DuplicateNumber`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateInvoice {
    /// Its id.
    pub id: String,
    /// Its id's first characters, as lists show it.
    pub short_id: String,
    /// `invoice` or `credit_note`.
    pub kind: String,
    /// The series it was issued from.
    pub series: String,
    /// The client's name.
    pub client_name: String,
    /// The device that issued it.
    pub device: String,
    /// Issue date.
    pub issue_date: String,
    /// Gross total.
    pub gross_minor: i64,
    /// How much of it credit notes take back.
    pub credited_minor: i64,
    /// Currency code.
    pub currency: String,
}

/// An invoice list request.
#[derive(Debug, Clone)]
pub struct InvoiceQuery {
    /// Only this client's.
    pub client: Option<ClientId>,
    /// Only this unit's.
    pub unit: Option<UnitId>,
    /// Only in this state.
    pub state: Option<StateFilter>,
    /// Issued on or after.
    pub from: Option<NaiveDate>,
    /// Issued on or before.
    pub to: Option<NaiveDate>,
    /// Sort column.
    pub sort: InvoiceSort,
    /// Reverse the sort.
    pub reverse: bool,
    /// The day states and days overdue are computed for.
    pub as_of: NaiveDate,
    /// At most this many rows.
    pub limit: Option<usize>,
}

/// One row of the invoice list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceRow {
    /// Id.
    pub id: String,
    /// Short id.
    pub short_id: String,
    /// Number ('' for drafts).
    pub number: String,
    /// `invoice` or `credit_note`.
    pub kind: InvoiceKind,
    /// State on the query's day (`credit_note` for credit notes).
    pub state: String,
    /// Client id.
    pub client_id: String,
    /// Client name.
    pub client_name: String,
    /// Unit name ('' for the client itself).
    pub unit_name: String,
    /// Issue date.
    pub issue_date: String,
    /// Due date.
    pub due_date: String,
    /// Currency.
    pub currency: String,
    /// Gross total.
    pub gross_minor: i64,
    /// Open: principal plus dunning costs and interest.
    pub open_minor: i64,
    /// Days past due with principal open.
    pub days_overdue: i64,
    /// Dunning notices sent (`notice_count`, so that `InvoiceDetail`, which
    /// flattens the row, can list them as `notices`).
    pub notice_count: i64,
}

/// A line of an invoice as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLineView {
    /// Position (1-based).
    pub position: i64,
    /// Description.
    pub description: String,
    /// Quantity in thousandths.
    pub quantity_milli: i64,
    /// Unit.
    pub unit: String,
    /// Unit price.
    pub unit_price_minor: i64,
    /// VAT rate in basis points.
    pub vat_bp: i64,
    /// Net amount (rounded per line).
    pub net_minor: i64,
    /// VAT amount (rounded per line).
    pub vat_minor: i64,
}

/// A payment as shown, with its §367 split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentView {
    /// Id.
    pub id: String,
    /// Date.
    pub date: String,
    /// Amount.
    pub amount_minor: i64,
    /// Method.
    pub method: String,
    /// Reference.
    pub reference: String,
    /// Paid towards dunning costs.
    pub costs_minor: i64,
    /// Paid towards interest.
    pub interest_minor: i64,
    /// Paid towards the principal.
    pub principal_minor: i64,
    /// Beyond what was owed: the client's credit.
    pub credit_minor: i64,
}

/// A dunning notice as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeView {
    /// Id.
    pub id: String,
    /// The invoice's number.
    pub invoice_number: String,
    /// Level (1 = first).
    pub level: i64,
    /// Level name.
    pub name: String,
    /// Date.
    pub date: String,
    /// Fee.
    pub fee_minor: i64,
    /// Lump sum (§288 (5) BGB).
    pub lump_sum_minor: i64,
    /// Interest claimed.
    pub interest_minor: i64,
    /// The client document holding the letter whose charges count (the
    /// earliest that carried the notice).
    pub letter_document: String,
    /// Every letter that carried the notice, earliest first: two devices may
    /// have sent the level on different days while offline.
    pub sendings: Vec<SendingView>,
}

/// One letter that carried a notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendingView {
    /// The day it was sent.
    pub date: String,
    /// The device that sent it ("a device of an earlier version" for a letter
    /// restored from a merge of such versions, which did not record it).
    pub device: String,
    /// The letter (a client document).
    pub letter_document: String,
    /// The letter's file name ('' while the letter's document has not arrived).
    pub file_name: String,
    /// Fee the letter claimed.
    pub fee_minor: i64,
    /// Lump sum the letter claimed.
    pub lump_sum_minor: i64,
    /// Interest the letter claimed.
    pub interest_minor: i64,
    /// Whether its charges are the notice's (the earliest letter); the others
    /// were sent too but charge nothing more.
    pub charged: bool,
}

/// One invoice in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceDetail {
    /// The list row.
    #[serde(flatten)]
    pub row: InvoiceRow,
    /// Unit id.
    pub unit_id: String,
    /// For a credit note: the number of the invoice it corrects.
    pub credits_number: String,
    /// Note.
    pub note: String,
    /// Lines.
    pub lines: Vec<InvoiceLineView>,
    /// Net total.
    pub net_minor: i64,
    /// VAT total.
    pub vat_minor: i64,
    /// Net and VAT per rate.
    pub by_rate: Vec<billing::invoice::RateTotal>,
    /// Credited by credit notes.
    pub credited_minor: i64,
    /// Paid in total.
    pub paid_minor: i64,
    /// Open principal.
    pub open_principal_minor: i64,
    /// Open dunning costs.
    pub open_costs_minor: i64,
    /// Open interest.
    pub open_interest_minor: i64,
    /// Paid beyond what was owed.
    pub credit_minor: i64,
    /// The day the principal was paid in full.
    pub settled_on: Option<String>,
    /// Client and company details frozen at issue.
    pub snapshot: BTreeMap<String, String>,
    /// Payments.
    pub payments: Vec<PaymentView>,
    /// Credit notes correcting it: (number, date, gross).
    pub credit_notes: Vec<InvoiceRow>,
    /// Dunning history.
    pub notices: Vec<NoticeView>,
    /// Dunning block reason and last day, if blocked.
    pub block: Option<(String, String)>,
    /// The recurring template's code, if generated.
    pub template_code: String,
}

/// One entry of a statement of account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementEntry {
    /// Date.
    pub date: String,
    /// `invoice`, `credit_note`, `dunning`, `dunning_letter` (a further letter
    /// for a notice, sent by another device, charging nothing) or `payment`.
    pub kind: String,
    /// The document's number (for a payment or notice: the invoice's).
    pub reference: String,
    /// What it is.
    pub text: String,
    /// Owed by the client.
    pub debit_minor: i64,
    /// In the client's favour.
    pub credit_minor: i64,
    /// Balance after this entry.
    pub balance_minor: i64,
}

/// A statement of account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// Client id.
    pub client_id: String,
    /// Client name.
    pub client_name: String,
    /// Currency.
    pub currency: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Balance before the first day.
    pub opening_minor: i64,
    /// Entries in date order.
    pub entries: Vec<StatementEntry>,
    /// Balance after the last day.
    pub closing_minor: i64,
}

pub(crate) const ROW_COLUMNS: &str =
    "i.id, i.number, i.kind, i.status, i.client_id, c.display_name,
    COALESCE(u.name, ''), i.issue_date, i.due_date, i.currency, i.gross_minor,
    i.open_minor, i.costs_open_minor + i.interest_open_minor, i.credited_minor, i.notices";

pub(crate) const ROW_JOINS: &str = "FROM invoices i JOIN client_directory c ON c.id = i.client_id LEFT JOIN unit_directory u ON u.id = i.unit_id";

/// Reads a row selected with [`ROW_COLUMNS`].
pub(crate) fn invoice_row(row: &Row<'_>, as_of: NaiveDate) -> rusqlite::Result<InvoiceRow> {
    let id: String = row.get(0)?;
    let kind: InvoiceKind = mirror_column(row, 2, "invoice kind")?;
    let status: InvoiceStatus = mirror_column(row, 3, "invoice status")?;
    let gross_minor: i64 = row.get(10)?;
    let open_principal: i64 = row.get(11)?;
    let open_claims: i64 = row.get(12)?;
    let credited: i64 = row.get(13)?;
    let due: NaiveDate = mirror_column(row, 8, "due date")?;
    let state = match (kind, status) {
        (InvoiceKind::CreditNote, InvoiceStatus::Draft) => InvoiceState::Draft.as_str(),
        (InvoiceKind::CreditNote, InvoiceStatus::Issued) => "credit_note",
        (InvoiceKind::Invoice, status) => billing::invoice::state(
            status == InvoiceStatus::Issued,
            gross_minor - credited,
            open_principal,
            due,
            as_of,
        )
        .as_str(),
    };
    let days_overdue =
        if state == InvoiceState::Overdue.as_str() { (as_of - due).num_days() } else { 0 };
    Ok(InvoiceRow {
        short_id: short_id(&id),
        id,
        number: row.get(1)?,
        kind,
        state: state.to_owned(),
        client_id: row.get(4)?,
        client_name: row.get(5)?,
        unit_name: row.get(6)?,
        issue_date: row.get(7)?,
        due_date: due.to_string(),
        currency: row.get(9)?,
        gross_minor,
        open_minor: open_principal + open_claims,
        days_overdue,
        notice_count: row.get(14)?,
    })
}

impl Replica {
    /// A client's invoices documents, as (document id, the year of its first
    /// invoice), oldest first.
    pub(crate) fn invoice_documents_of(
        &self,
        client_id: ClientId,
    ) -> Result<Vec<(String, Option<i32>)>> {
        let mut years = self.conn.prepare_cached(
            "SELECT doc_id, CAST(MIN(substr(issue_date, 1, 4)) AS INTEGER) FROM invoices
             WHERE client_id = ?1 GROUP BY doc_id ORDER BY 2",
        )?;
        let rows =
            years.query_map([client_id.to_string()], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Lists invoices.
    pub fn invoices(&self, query: &InvoiceQuery) -> Result<Vec<InvoiceRow>> {
        let mut sql = format!("SELECT {ROW_COLUMNS} {ROW_JOINS} WHERE 1 = 1");
        let mut values: Vec<Box<dyn ToSql>> = Vec::new();
        if let Some(client) = query.client {
            sql.push_str(" AND i.client_id = ?");
            values.push(Box::new(client.to_string()));
        }
        if let Some(unit) = query.unit {
            sql.push_str(" AND i.unit_id = ?");
            values.push(Box::new(unit.to_string()));
        }
        if let Some(from) = query.from {
            sql.push_str(" AND i.issue_date >= ?");
            values.push(Box::new(from.to_string()));
        }
        if let Some(to) = query.to {
            sql.push_str(" AND i.issue_date <= ?");
            values.push(Box::new(to.to_string()));
        }
        let as_of = query.as_of.to_string();
        let invoice = "i.kind = 'invoice' AND i.status = 'issued'";
        match query.state {
            None => {}
            Some(StateFilter::Draft) => sql.push_str(" AND i.status = 'draft'"),
            Some(StateFilter::CreditNote) => sql.push_str(" AND i.kind = 'credit_note'"),
            Some(StateFilter::Paid) => {
                sql.push_str(&format!(" AND {invoice} AND i.open_minor <= 0"))
            }
            Some(StateFilter::Open) => sql.push_str(" AND i.open_minor > 0"),
            Some(StateFilter::Overdue) => {
                sql.push_str(" AND i.open_minor > 0 AND i.due_date < ?");
                values.push(Box::new(as_of.clone()));
            }
            Some(StateFilter::Issued) => {
                sql.push_str(" AND i.open_minor > 0 AND i.open_minor >= i.gross_minor - i.credited_minor AND i.due_date >= ?");
                values.push(Box::new(as_of.clone()));
            }
            Some(StateFilter::PartlyPaid) => {
                sql.push_str(" AND i.open_minor > 0 AND i.open_minor < i.gross_minor - i.credited_minor AND i.due_date >= ?");
                values.push(Box::new(as_of.clone()));
            }
        }
        let (first, second) = if query.reverse { ("ASC", "DESC") } else { ("DESC", "ASC") };
        let order = match query.sort {
            InvoiceSort::Date => format!("i.issue_date {first}, i.number {first}, i.id"),
            InvoiceSort::Amount => format!("i.gross_minor {first}, i.issue_date {first}, i.id"),
            InvoiceSort::DaysOverdue => {
                // Overdue first (earliest due date first), then the rest by date.
                values.push(Box::new(as_of));
                format!(
                    "CASE WHEN i.open_minor > 0 AND i.due_date < ? THEN 0 ELSE 1 END {second},
                     i.due_date {second}, i.issue_date {first}, i.id"
                )
            }
        };
        sql.push_str(&format!(" ORDER BY {order}"));
        if let Some(limit) = query.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement
            .query_map(params_from_iter(values.iter()), |row| invoice_row(row, query.as_of))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Finds an invoice by number, id or id prefix. A number that two invoices
    /// carry (issued by two devices before numbers carried the device tag) is
    /// refused with both ids, so the user can name one.
    pub fn resolve_invoice(&self, reference: &str) -> Result<Uuid> {
        let reference = reference.trim();
        let by_number: Vec<(String, String, String)> = self
            .conn
            .prepare_cached(
                "SELECT i.id, COALESCE(c.display_name, ''), COALESCE(d.name, i.created_by)
                 FROM invoices i LEFT JOIN client_directory c ON c.id = i.client_id
                 LEFT JOIN device_directory d ON d.id = i.created_by
                 WHERE i.number = ?1 ORDER BY i.issue_date, i.id LIMIT 6",
            )?
            .query_map([reference], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<Result<_, _>>()?;
        if by_number.len() > 1 {
            return Err(StoreError::AmbiguousNumber {
                number: reference.to_owned(),
                count: by_number.len(),
                candidates: by_number
                    .iter()
                    .map(|(id, client, device)| format!("{} {client} from {device}", short_id(id)))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let by_number: Vec<String> = by_number.into_iter().map(|(id, _, _)| id).collect();
        let ids = match (by_number.is_empty(), crate::modules::clients::lookup::id_glob(reference))
        {
            (true, Some(pattern)) => self
                .conn
                .prepare_cached("SELECT id FROM invoices WHERE id GLOB ?1 LIMIT 6")?
                .query_map([pattern], |row| row.get(0))?
                .collect::<Result<_, _>>()?,
            _ => by_number,
        };
        match ids.as_slice() {
            [id] => id.parse().map_err(|_| not_found(reference)),
            [] => Err(not_found(reference)),
            many => Err(StoreError::Ambiguous {
                what: "invoice",
                reference: reference.to_owned(),
                count: many.len(),
                candidates: many.iter().map(|id| short_id(id)).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Invoice numbers that two or more invoices carry, with those invoices:
    /// replicas written before numbers carried the device tag could issue one
    /// number on two devices. Sorted by number.
    pub fn duplicate_numbers(&self) -> Result<Vec<DuplicateNumber>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT i.number, i.id, i.kind, i.series, COALESCE(c.display_name, ''),
                    COALESCE(d.name, i.created_by), i.issue_date, i.gross_minor,
                    i.credited_minor, i.currency
             FROM invoices i LEFT JOIN client_directory c ON c.id = i.client_id
             LEFT JOIN device_directory d ON d.id = i.created_by
             WHERE i.number IN (SELECT number FROM invoices WHERE number <> ''
                                GROUP BY number HAVING COUNT(*) > 1)
             ORDER BY i.number, i.issue_date, i.id",
        )?;
        let rows = statement.query_map([], |row| {
            let id: String = row.get(1)?;
            Ok((
                row.get::<_, String>(0)?,
                DuplicateInvoice {
                    short_id: short_id(&id),
                    id,
                    kind: row.get(2)?,
                    series: row.get(3)?,
                    client_name: row.get(4)?,
                    device: row.get(5)?,
                    issue_date: row.get(6)?,
                    gross_minor: row.get(7)?,
                    credited_minor: row.get(8)?,
                    currency: row.get(9)?,
                },
            ))
        })?;
        let mut res: Vec<DuplicateNumber> = Vec::new();
        for row in rows {
            let (number, invoice) = row?;
            match res.last_mut() {
                Some(last) if last.number == number => last.invoices.push(invoice),
                _ => res.push(DuplicateNumber { number, invoices: vec![invoice], settled: false }),
            }
        }
        for duplicate in &mut res {
            // Settled once all but one of the invoices are credited in full.
            let open = duplicate
                .invoices
                .iter()
                .filter(|invoice| invoice.credited_minor < invoice.gross_minor)
                .count();
            duplicate.settled = open <= 1;
        }
        Ok(res)
    }

    /// One invoice in full, with its state on `as_of`.
    pub fn invoice(&self, invoice_id: Uuid, as_of: NaiveDate) -> Result<InvoiceDetail> {
        let id = invoice_id.to_string();
        let found = self
            .conn
            .prepare_cached(&format!(
                "SELECT {ROW_COLUMNS}, i.unit_id, COALESCE(o.number, ''), i.note, i.net_minor, i.vat_minor,
                        i.paid_minor, i.open_minor, i.costs_open_minor, i.interest_open_minor, i.credit_minor,
                        i.settled_on, i.snapshot, i.block_reason, i.block_until,
                        COALESCE(t.code, '')
                 {ROW_JOINS} LEFT JOIN invoices o ON o.id = i.credits
                 LEFT JOIN recurring_templates t ON t.id = i.template_id
                 WHERE i.id = ?1"
            ))?
            .query_row([&id], |row| {
                let block_until: String = row.get(28)?;
                Ok(InvoiceDetail {
                    row: invoice_row(row, as_of)?,
                    unit_id: row.get(15)?,
                    credits_number: row.get(16)?,
                    note: row.get(17)?,
                    lines: Vec::new(),
                    net_minor: row.get(18)?,
                    vat_minor: row.get(19)?,
                    by_rate: Vec::new(),
                    credited_minor: row.get(13)?,
                    paid_minor: row.get(20)?,
                    open_principal_minor: row.get(21)?,
                    open_costs_minor: row.get(22)?,
                    open_interest_minor: row.get(23)?,
                    credit_minor: row.get(24)?,
                    settled_on: row.get(25)?,
                    snapshot: mirror_json(row, 26, "invoice snapshot")?,
                    payments: Vec::new(),
                    credit_notes: Vec::new(),
                    notices: Vec::new(),
                    block: (!block_until.is_empty()).then(|| (row.get(27).unwrap_or_default(), block_until)),
                    template_code: row.get(29)?,
                })
            })
            .optional()?;
        let mut detail = found.ok_or_else(|| not_found(&id))?;
        detail.lines = self
            .conn
            .prepare_cached(
                "SELECT position, description, quantity_milli, unit, unit_price_minor, vat_bp, net_minor, vat_minor
                 FROM invoice_lines WHERE invoice_id = ?1 ORDER BY position",
            )?
            .query_map([&id], |row| {
                Ok(InvoiceLineView {
                    position: row.get::<_, i64>(0)? + 1,
                    description: row.get(1)?,
                    quantity_milli: row.get(2)?,
                    unit: row.get(3)?,
                    unit_price_minor: row.get(4)?,
                    vat_bp: row.get(5)?,
                    net_minor: row.get(6)?,
                    vat_minor: row.get(7)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let lines = self.invoice_lines(invoice_id)?;
        detail.by_rate =
            billing::invoice::totals(&lines).map(|totals| totals.by_rate).unwrap_or_default();
        detail.payments = self
            .conn
            .prepare_cached(
                "SELECT id, date, amount_minor, method, reference, costs_minor, interest_minor, principal_minor,
                        credit_minor
                 FROM payments WHERE invoice_id = ?1 ORDER BY date, id",
            )?
            .query_map([&id], |row| {
                Ok(PaymentView {
                    id: row.get(0)?,
                    date: row.get(1)?,
                    amount_minor: row.get(2)?,
                    method: row.get(3)?,
                    reference: row.get(4)?,
                    costs_minor: row.get(5)?,
                    interest_minor: row.get(6)?,
                    principal_minor: row.get(7)?,
                    credit_minor: row.get(8)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        detail.credit_notes = self
            .conn
            .prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} {ROW_JOINS} WHERE i.credits = ?1 ORDER BY i.issue_date"
            ))?
            .query_map([&id], |row| invoice_row(row, as_of))?
            .collect::<Result<_, _>>()?;
        detail.notices = self.notices_where("n.invoice_id = ?1", &id)?;
        Ok(detail)
    }

    pub(crate) fn notices_where(&self, condition: &str, value: &str) -> Result<Vec<NoticeView>> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT n.id, i.number, n.level, n.name, n.date, n.fee_minor, n.lump_sum_minor, n.interest_minor,
                    n.letter_document
             FROM notices n JOIN invoices i ON i.id = n.invoice_id
             WHERE {condition} ORDER BY n.date, i.number, n.level"
        ))?;
        let notices = statement
            .query_map([value], |row| {
                Ok(NoticeView {
                    id: row.get(0)?,
                    invoice_number: row.get(1)?,
                    level: row.get::<_, i64>(2)? + 1,
                    name: row.get(3)?,
                    date: row.get(4)?,
                    fee_minor: row.get(5)?,
                    lump_sum_minor: row.get(6)?,
                    interest_minor: row.get(7)?,
                    letter_document: row.get(8)?,
                    sendings: Vec::new(),
                })
            })?
            .collect::<Result<Vec<NoticeView>, _>>()?;
        let mut notices = notices;
        let mut sendings = self.conn.prepare_cached(
            "SELECT s.date, COALESCE(d.name, NULLIF(s.device_id, ''), 'a device of an earlier version'),
                    s.letter_id, COALESCE(l.name, ''),
                    s.fee_minor, s.lump_sum_minor, s.interest_minor
             FROM notice_sendings s
             LEFT JOIN device_directory d ON d.id = s.device_id
             LEFT JOIN document_directory l ON l.id = s.letter_id
             WHERE s.notice_id = ?1 ORDER BY s.date, s.letter_id",
        )?;
        for notice in &mut notices {
            notice.sendings = sendings
                .query_map([&notice.id], |row| {
                    let letter_document: String = row.get(2)?;
                    Ok(SendingView {
                        date: row.get(0)?,
                        device: row.get(1)?,
                        charged: letter_document == notice.letter_document,
                        letter_document,
                        file_name: row.get(3)?,
                        fee_minor: row.get(4)?,
                        lump_sum_minor: row.get(5)?,
                        interest_minor: row.get(6)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
        }
        Ok(notices)
    }

    /// A client's statement of account from `from` to `to` in one currency [default:
    /// the client's]: invoices, dunning charges, credit notes and payments with a
    /// running balance.
    pub fn statement(
        &self,
        client_id: ClientId,
        from: NaiveDate,
        to: NaiveDate,
        currency: Option<billing::money::Currency>,
    ) -> Result<Statement> {
        if to < from {
            return Err(Refusal::StatementEndsBeforeStart { from, to }.into());
        }
        let client = self.billing_client(client_id)?;
        let currency = match currency {
            Some(currency) => currency,
            None => self.default_currency(&client.currency)?,
        }
        .to_string();
        let id = client_id.to_string();
        // Every movement of the client's account, in one query.
        let sql = "
            SELECT issue_date, CASE kind WHEN 'invoice' THEN 0 ELSE 2 END, kind, number, note,
                   CASE WHEN gross_minor > 0 THEN gross_minor ELSE 0 END,
                   CASE WHEN gross_minor < 0 THEN -gross_minor ELSE 0 END
              FROM invoices WHERE client_id = ?1 AND currency = ?2 AND status = 'issued'
            UNION ALL
            SELECT n.date, 1, 'dunning', i.number, n.name, n.fee_minor + n.lump_sum_minor + n.interest_minor, 0
              FROM notices n JOIN invoices i ON i.id = n.invoice_id
             WHERE n.client_id = ?1 AND i.currency = ?2
            UNION ALL
            SELECT s.date, 1, 'dunning_letter', i.number,
                   n.name || ' sent again by '
                   || COALESCE(d.name, NULLIF(s.device_id, ''), 'a device of an earlier version')
                   || ' (charged once, on '
                   || n.date || ')', 0, 0
              FROM notice_sendings s JOIN notices n ON n.id = s.notice_id
              JOIN invoices i ON i.id = s.invoice_id
              LEFT JOIN device_directory d ON d.id = s.device_id
             WHERE s.client_id = ?1 AND i.currency = ?2 AND s.letter_id <> n.letter_document
            UNION ALL
            SELECT p.date, 3, 'payment', i.number,
                   CASE WHEN p.method = '' THEN 'Payment' ELSE 'Payment (' || p.method || ')' END
                   || CASE WHEN p.reference = '' THEN '' ELSE ' ' || p.reference END,
                   0, p.amount_minor
              FROM payments p JOIN invoices i ON i.id = p.invoice_id
             WHERE p.client_id = ?1 AND p.currency = ?2
            ORDER BY 1, 2, 4";
        let mut statement = self.conn.prepare_cached(sql)?;
        let mut rows = statement.query(params![id, currency])?;
        let (from_text, to_text) = (from.to_string(), to.to_string());
        let mut opening = 0_i64;
        let mut balance = 0_i64;
        let mut entries = Vec::new();
        while let Some(row) = rows.next()? {
            let date: String = row.get(0)?;
            let debit: i64 = row.get(5)?;
            let credit: i64 = row.get(6)?;
            if date > to_text {
                break;
            }
            if date < from_text {
                opening += debit - credit;
                balance = opening;
                continue;
            }
            balance += debit - credit;
            let kind: String = row.get(2)?;
            let note: String = row.get(4)?;
            let text = match kind.as_str() {
                "invoice" => "Invoice".to_owned(),
                "credit_note" => format!("Credit note: {note}"),
                _ => note,
            };
            entries.push(StatementEntry {
                date,
                kind,
                reference: row.get(3)?,
                text,
                debit_minor: debit,
                credit_minor: credit,
                balance_minor: balance,
            });
        }
        Ok(Statement {
            client_id: id,
            client_name: client.name,
            currency,
            from: from_text,
            to: to_text,
            opening_minor: opening,
            closing_minor: balance,
            entries,
        })
    }
}

fn not_found(reference: &str) -> StoreError {
    StoreError::NotFound { what: "invoice", reference: reference.to_owned(), hint: String::new() }
}
