//! Projection of the billing documents into the mirror.
//!
//! An invoices document holds everything about its invoices (their credit notes,
//! payments and notices), so projecting it computes each invoice's settlement
//! (open principal, open costs and interest, the client's credit, the day it was
//! settled) without reading any other document.

use std::collections::HashMap;
use std::sync::LazyLock;

use billing::invoice::{InvoiceKind, InvoiceStatus};
use billing::settlement::{NoticeClaim, Received, settle};
use chrono::Datelike;
use doc_model::{BillingSettings, ClientBilling, DocId, InvoiceRecord, InvoicesContent};
use rusqlite::{Connection, params};

use crate::error::Result;
use crate::module::MirrorWrite;
use crate::modules::field_work::{FiledDocument, file_documents};
use crate::rows::{replace_if_changed, upsert_sql};

/// Upserts that write a row only when it differs from the stored one.
static INSERT_INVOICE_SQL: LazyLock<String> = LazyLock::new(|| {
    upsert_sql(
        "invoices",
        &[
            "id",
            "doc_id",
            "client_id",
            "unit_id",
            "kind",
            "credits",
            "status",
            "number",
            "series",
            "number_year",
            "seq",
            "currency",
            "issue_date",
            "due_date",
            "net_minor",
            "vat_minor",
            "gross_minor",
            "credited_minor",
            "paid_minor",
            "open_minor",
            "costs_open_minor",
            "interest_open_minor",
            "credit_minor",
            "settled_on",
            "notices",
            "last_notice_date",
            "interest_until",
            "lump_sum_charged",
            "block_reason",
            "block_until",
            "template_id",
            "created_by",
            "note",
            "snapshot",
        ],
        &["id"],
    )
});
static INSERT_LINE_SQL: LazyLock<String> = LazyLock::new(|| {
    upsert_sql(
        "invoice_lines",
        &[
            "invoice_id",
            "position",
            "description",
            "quantity_milli",
            "unit",
            "unit_price_minor",
            "vat_bp",
            "net_minor",
            "vat_minor",
        ],
        &["invoice_id", "position"],
    )
});
static INSERT_PAYMENT_SQL: LazyLock<String> = LazyLock::new(|| {
    upsert_sql(
        "payments",
        &[
            "id",
            "doc_id",
            "invoice_id",
            "client_id",
            "date",
            "amount_minor",
            "currency",
            "method",
            "reference",
            "costs_minor",
            "interest_minor",
            "principal_minor",
            "credit_minor",
        ],
        &["id"],
    )
});
static INSERT_NOTICE_SQL: LazyLock<String> = LazyLock::new(|| {
    upsert_sql(
        "notices",
        &[
            "id",
            "doc_id",
            "invoice_id",
            "client_id",
            "level",
            "name",
            "date",
            "fee_minor",
            "lump_sum_minor",
            "interest_minor",
            "letter_document",
        ],
        &["id"],
    )
});

/// Brings the rows of one invoices document up to date.
pub(super) fn project_invoices(
    conn: &Connection,
    doc_id: DocId,
    content: &InvoicesContent,
) -> Result<()> {
    let doc = doc_id.to_string();
    // Rows are upserted and only written when they changed, then rows the
    // document no longer has are deleted: a dunning notice rewrites one invoice
    // row and adds one notice, instead of every row of the document and every
    // index entry of those rows.
    remove_stale(conn, &doc, content)?;
    let client_id = &content.client_id;
    let letters: Vec<FiledDocument<'_>> = content
        .letters
        .iter()
        .map(|letter| FiledDocument {
            id: &letter.id,
            client_id,
            name: &letter.name,
            kind: "dunning_letter",
            date: letter.date,
            hash: &letter.hash,
            media_type: &letter.media_type,
            size: letter.size,
        })
        .collect();
    file_documents(conn, doc_id, &letters)?;
    // A sending never changes once written: only new ones are inserted.
    let mut insert_sending = conn.prepare_cached(
        "INSERT INTO notice_sendings (id, doc_id, notice_id, invoice_id, client_id, date,
             fee_minor, lump_sum_minor, interest_minor, letter_id, device_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (id) DO NOTHING",
    )?;
    for sending in &content.sendings {
        insert_sending.execute(params![
            sending.id,
            doc,
            sending.notice_id,
            sending.invoice_id,
            client_id,
            sending.date.to_string(),
            sending.fee_minor,
            sending.lump_sum_minor,
            sending.interest_minor,
            sending.letter_id,
            sending.device_id,
        ])?;
    }
    let mut credited: HashMap<&str, i64> = HashMap::new();
    for note in content.invoices.iter().filter(|invoice| is_issued_credit_note(invoice)) {
        *credited.entry(note.credits.as_str()).or_default() += note.gross_minor.abs();
    }

    let mut insert_invoice = conn.prepare_cached(&INSERT_INVOICE_SQL)?;
    let mut insert_line = conn.prepare_cached(&INSERT_LINE_SQL)?;
    let mut insert_payment = conn.prepare_cached(&INSERT_PAYMENT_SQL)?;
    let mut insert_notice = conn.prepare_cached(&INSERT_NOTICE_SQL)?;

    for invoice in &content.invoices {
        let totals =
            billing::invoice::totals(&invoice.lines).unwrap_or_else(|_| billing::invoice::Totals {
                net_minor: 0,
                vat_minor: 0,
                gross_minor: invoice.gross_minor,
                by_rate: Vec::new(),
            });
        let gross = invoice.gross_minor;
        let payments: Vec<_> = content
            .payments
            .iter()
            .filter(|payment| {
                payment.invoice_id == invoice.id && payment.currency == invoice.currency
            })
            .collect();
        let notices: Vec<_> =
            content.notices.iter().filter(|notice| notice.invoice_id == invoice.id).collect();
        let owes = invoice.status == InvoiceStatus::Issued.as_str()
            && invoice.kind == InvoiceKind::Invoice.as_str();
        let credited_minor = credited.get(invoice.id.as_str()).copied().unwrap_or(0);
        let settlement = if owes {
            settle(
                gross - credited_minor,
                &notices
                    .iter()
                    .map(|notice| NoticeClaim {
                        date: notice.date,
                        costs_minor: notice.fee_minor + notice.lump_sum_minor,
                        interest_minor: notice.interest_minor,
                    })
                    .collect::<Vec<_>>(),
                &payments
                    .iter()
                    .map(|payment| Received {
                        date: payment.date,
                        amount_minor: payment.amount_minor,
                    })
                    .collect::<Vec<_>>(),
            )
        } else {
            billing::settlement::Settlement::default()
        };
        let paid_minor: i64 = payments.iter().map(|payment| payment.amount_minor).sum();
        let last_notice = notices.iter().map(|notice| notice.date).max();
        let interest_until = notices
            .iter()
            .filter(|notice| notice.interest_minor > 0)
            .map(|notice| notice.date)
            .max();
        let (block_reason, block_until) = match &invoice.block {
            Some(block) => (block.reason.clone(), block.until.to_string()),
            None => (String::new(), String::new()),
        };
        let issued = invoice.status == InvoiceStatus::Issued.as_str();
        insert_invoice.execute(params![
            invoice.id,
            doc,
            client_id,
            invoice.unit_id,
            invoice.kind,
            invoice.credits,
            invoice.status,
            invoice.number,
            invoice.series,
            if issued { invoice.issue_date.year() } else { 0 },
            invoice.seq,
            invoice.currency,
            invoice.issue_date.to_string(),
            invoice.due_date.to_string(),
            totals.net_minor,
            totals.vat_minor,
            gross,
            credited_minor,
            paid_minor,
            settlement.open_principal_minor,
            settlement.open_costs_minor,
            settlement.open_interest_minor,
            settlement.credit_minor,
            settlement.settled_on.map(|date| date.to_string()),
            notices.len() as i64,
            last_notice.map(|date| date.to_string()),
            interest_until.map(|date| date.to_string()),
            notices.iter().any(|notice| notice.lump_sum_minor > 0),
            block_reason,
            block_until,
            invoice.template_id,
            invoice.created_by,
            invoice.note,
            serde_json::to_string(&invoice.snapshot).unwrap_or_default(),
        ])?;
        for (position, line) in invoice.lines.iter().enumerate() {
            insert_line.execute(params![
                invoice.id,
                position as i64,
                line.description,
                line.quantity_milli,
                line.unit,
                line.unit_price_minor,
                i64::from(line.vat_bp),
                line.net_minor().unwrap_or(0),
                line.vat_minor().unwrap_or(0),
            ])?;
        }
        for (payment, split) in payments
            .iter()
            .zip(settlement.allocations.iter().copied().map(Some).chain(std::iter::repeat(None)))
        {
            let split = split.unwrap_or_default();
            insert_payment.execute(params![
                payment.id,
                doc,
                payment.invoice_id,
                client_id,
                payment.date.to_string(),
                payment.amount_minor,
                payment.currency,
                payment.method,
                payment.reference,
                split.costs_minor,
                split.interest_minor,
                split.principal_minor,
                split.credit_minor,
            ])?;
        }
        for notice in notices {
            insert_notice.execute(params![
                notice.id,
                doc,
                notice.invoice_id,
                client_id,
                notice.level,
                notice.name,
                notice.date.to_string(),
                notice.fee_minor,
                notice.lump_sum_minor,
                notice.interest_minor,
                notice.letter_document,
            ])?;
        }
    }
    Ok(())
}

/// Deletes the rows of `doc` that its current content no longer has: discarded
/// drafts and their lines, lines removed from a draft, and anything else gone.
fn remove_stale(conn: &Connection, doc: &str, content: &InvoicesContent) -> Result<()> {
    let lines: HashMap<&str, usize> =
        content.invoices.iter().map(|invoice| (invoice.id.as_str(), invoice.lines.len())).collect();
    let existing: Vec<String> = conn
        .prepare_cached("SELECT id FROM invoices WHERE doc_id = ?1")?
        .query_map([doc], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &existing {
        let kept = lines.get(id.as_str()).copied().unwrap_or(0);
        conn.prepare_cached("DELETE FROM invoice_lines WHERE invoice_id = ?1 AND position >= ?2")?
            .execute(params![id, i64::try_from(kept).unwrap_or(i64::MAX)])?;
        if !lines.contains_key(id.as_str()) {
            conn.prepare_cached("DELETE FROM invoices WHERE id = ?1")?.execute([id])?;
        }
    }
    let kept: [(&str, Vec<&str>); 3] = [
        ("payments", content.payments.iter().map(|payment| payment.id.as_str()).collect()),
        ("notices", content.notices.iter().map(|notice| notice.id.as_str()).collect()),
        ("notice_sendings", content.sendings.iter().map(|sending| sending.id.as_str()).collect()),
    ];
    for (table, ids) in kept {
        let existing: Vec<String> = conn
            .prepare_cached(&format!("SELECT id FROM {table} WHERE doc_id = ?1"))?
            .query_map([doc], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in existing.iter().filter(|id| !ids.contains(&id.as_str())) {
            conn.prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))?.execute([id])?;
        }
    }
    Ok(())
}

fn is_issued_credit_note(invoice: &InvoiceRecord) -> bool {
    invoice.kind == InvoiceKind::CreditNote.as_str()
        && invoice.status == InvoiceStatus::Issued.as_str()
        && !invoice.credits.is_empty()
}

/// Replaces a client's templates and dunning settings, when they changed.
pub(super) fn project_client_billing(
    mirror: MirrorWrite<'_>,
    doc_id: DocId,
    client_id: &str,
    billing: &ClientBilling,
) -> Result<()> {
    replace_if_changed(mirror, doc_id, "billing.client", |sink| {
        sink.execute("DELETE FROM recurring_templates WHERE client_id = ?1", params![client_id])?;
        sink.execute("DELETE FROM client_dunning WHERE client_id = ?1", params![client_id])?;
        let insert = "INSERT INTO recurring_templates (id, client_id, code, unit_id, period, day, start, end,
                 terms_days, currency, note, lines, net_minor, gross_minor)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (id) DO NOTHING";
        for template in &billing.templates {
            let totals = billing::invoice::totals(&template.lines).ok();
            sink.execute(
                insert,
                params![
                    template.id,
                    client_id,
                    template.code,
                    template.unit_id,
                    template.period.as_str(),
                    template.day,
                    template.start.to_string(),
                    template.end.map(|end| end.to_string()),
                    template.terms_days,
                    template.currency,
                    template.note,
                    serde_json::to_string(&template.lines).unwrap_or_default(),
                    totals.as_ref().map_or(0, |totals| totals.net_minor),
                    totals.as_ref().map_or(0, |totals| totals.gross_minor),
                ],
            )?;
        }
        let dunning = &billing.dunning;
        if !dunning.policy.is_empty() || dunning.block.is_some() {
            let (reason, until) = match &dunning.block {
                Some(block) => (block.reason.clone(), block.until.to_string()),
                None => (String::new(), String::new()),
            };
            sink.execute("INSERT INTO client_dunning (client_id, policy, block_reason, block_until) VALUES (?1, ?2, ?3, ?4)", params![client_id, dunning.policy, reason, until])?;
        }
        Ok(())
    })
}

/// Replaces the workspace's billing settings.
pub(super) fn project_billing_settings(
    conn: &Connection,
    settings: &BillingSettings,
) -> Result<()> {
    for table in ["billing_series", "dunning_policies", "base_rates", "billing_settings"] {
        conn.prepare_cached(&format!("DELETE FROM {table}"))?.execute([])?;
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO billing_series (device_id, code, pattern) VALUES (?1, ?2, ?3)",
    )?;
    for (device, series) in &settings.series {
        insert.execute(params![device, series.code, series.pattern])?;
    }
    let mut insert =
        conn.prepare_cached("INSERT INTO dunning_policies (name, json) VALUES (?1, ?2)")?;
    for (name, json) in &settings.policies {
        insert.execute(params![name, json])?;
    }
    let mut insert =
        conn.prepare_cached("INSERT INTO base_rates (date, rate_bp) VALUES (?1, ?2)")?;
    for (date, rate) in &settings.base_rates {
        insert.execute(params![date.to_string(), rate])?;
    }
    let mut insert =
        conn.prepare_cached("INSERT INTO billing_settings (key, value) VALUES (?1, ?2)")?;
    for (key, value) in &settings.settings {
        insert.execute(params![key, value])?;
    }
    Ok(())
}
