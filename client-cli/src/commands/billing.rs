//! `invoice …` and `statement`: invoices, payments, credit notes, statements.

use ::billing::invoice::{Line, PaymentTerms};
use ::billing::letter::Language;
use ::billing::money::{Currency, Money, format_minor, format_quantity};
use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDate};
use replica_store::{
    CreditInput, InvoiceDetail, InvoiceDraft, InvoiceEdit, InvoiceQuery, InvoiceSort, PaymentInput,
    Replica, StateFilter,
};
use serde_json::json;

use crate::cli::billing::{
    BilledArgs, ExportFormat, InvoiceCommand, InvoiceSortArg, StatementArgs, TermsArgs,
};
use crate::commands::today;
use crate::output::Output;

pub(crate) fn invoice(
    replica: &mut Replica,
    command: InvoiceCommand,
    output: &mut Output,
) -> Result<()> {
    match command {
        InvoiceCommand::New(args) => {
            let billed = billed(replica, &args.billed)?;
            let draft = InvoiceDraft {
                client_id: billed.client_id,
                unit_id: billed.unit_id,
                currency: billed.currency,
                issue_date: args.date.unwrap_or_else(today),
                terms: terms(&args.terms),
                note: args.note,
                lines: billed.lines,
            };
            if args.issue {
                // Refused before the draft is stored, so a refusal leaves nothing behind.
                replica.series_to_issue(draft.issue_date.year())?;
            }
            let id = replica.create_invoice(&draft)?;
            if args.issue {
                let number = replica.issue_invoice(id, None)?;
                return show_saved(replica, id, &format!("Issued {number}"), output);
            }
            show_saved(replica, id, &format!("Draft {} saved", &id.to_string()[..8]), output)
        }
        InvoiceCommand::Edit(args) => {
            let id = replica.resolve_invoice(&args.invoice)?;
            let unit_id = match args.unit.as_deref() {
                None => None,
                Some("") => Some(None),
                Some(unit) => {
                    let client_id = replica.invoice(id, today())?.row.client_id.parse()?;
                    Some(Some(replica.resolve_unit(client_id, unit)?))
                }
            };
            let edit = InvoiceEdit {
                note: args.note,
                issue_date: args.date,
                terms: terms(&args.terms),
                unit_id,
                add_lines: parse_lines(&args.add_lines)?,
                remove_lines: args.remove_lines,
            };
            replica.edit_invoice(id, &edit)?;
            show_saved(replica, id, &format!("Draft {} changed", &id.to_string()[..8]), output)
        }
        InvoiceCommand::Issue { invoice, date } => {
            let id = replica.resolve_invoice(&invoice)?;
            let number = replica.issue_invoice(id, date)?;
            show_saved(replica, id, &format!("Issued {number}"), output)
        }
        InvoiceCommand::Discard { invoice } => {
            let id = replica.resolve_invoice(&invoice)?;
            replica.discard_invoice(id)?;
            if output.json {
                return output.json(&json!({ "discarded": id }));
            }
            output.line(format!("Discarded draft {}", &id.to_string()[..8]))
        }
        InvoiceCommand::Show { invoice, as_of } => {
            let id = replica.resolve_invoice(&invoice)?;
            let detail = replica.invoice(id, as_of.unwrap_or_else(today))?;
            if output.json {
                return output.json(&detail);
            }
            print_detail(&detail, output)
        }
        InvoiceCommand::List(args) => {
            let client =
                args.client.as_deref().map(|client| replica.resolve_client(client)).transpose()?;
            let unit = match (client, args.unit.as_deref()) {
                (Some(client), Some(unit)) => Some(replica.resolve_unit(client, unit)?),
                _ => None,
            };
            let state = match (&args.state, args.overdue) {
                (_, true) => Some(StateFilter::Overdue),
                (Some(state), false) => Some(StateFilter::parse(state).with_context(|| {
                    format!(
                        "unknown state {state:?}; use draft, issued, partly-paid, paid, overdue, open or credit-note"
                    )
                })?),
                (None, false) => None,
            };
            let query = InvoiceQuery {
                client,
                unit,
                state,
                from: args.from,
                to: args.to,
                sort: match args.sort {
                    InvoiceSortArg::Date => InvoiceSort::Date,
                    InvoiceSortArg::Amount => InvoiceSort::Amount,
                    InvoiceSortArg::Overdue => InvoiceSort::DaysOverdue,
                },
                reverse: args.reverse,
                as_of: args.as_of.unwrap_or_else(today),
                limit: args.limit,
            };
            let rows = replica.invoices(&query)?;
            if output.json {
                return output.json(&rows);
            }
            let mut table = output.table(&[
                "NUMBER", "ID", "CLIENT", "UNIT", "ISSUED", "DUE", "GROSS", "OPEN", "STATE", "LATE",
            ])?;
            for row in &rows {
                table.row([
                    if row.number.is_empty() { "(draft)" } else { &row.number },
                    &row.short_id,
                    &row.client_name,
                    &row.unit_name,
                    &row.issue_date,
                    &row.due_date,
                    &format!("{} {}", format_minor(row.gross_minor), row.currency),
                    &format_minor(row.open_minor),
                    &row.state,
                    &if row.days_overdue > 0 {
                        format!("{} d", row.days_overdue)
                    } else {
                        String::new()
                    },
                ])?;
            }
            table.finish()?;
            output.line(format!("{} invoices", rows.len()))
        }
        InvoiceCommand::Pay(args) => {
            let id = replica.resolve_invoice(&args.invoice)?;
            let detail = replica.invoice(id, today())?;
            let currency = match args.currency.as_deref() {
                Some(currency) => parse_currency(currency)?,
                None => parse_currency(&detail.row.currency)?,
            };
            let payment = PaymentInput {
                date: args.date.unwrap_or_else(today),
                amount: Money::parse(&args.amount, currency)?,
                method: args.method,
                reference: args.reference,
            };
            replica.record_payment(id, &payment)?;
            show_saved(
                replica,
                id,
                &format!("Payment of {} recorded on {}", payment.amount, detail.row.number),
                output,
            )
        }
        InvoiceCommand::Credit(args) => {
            let id = replica.resolve_invoice(&args.invoice)?;
            let credit = CreditInput {
                date: args.date.unwrap_or_else(today),
                lines: Some(parse_lines(&args.lines)?),
                note: args.note,
            };
            let (credit_id, number) = replica.credit_invoice(id, &credit)?;
            show_saved(replica, credit_id, &format!("Issued credit note {number}"), output)
        }
        InvoiceCommand::Cancel { invoice, date, note } => {
            let id = replica.resolve_invoice(&invoice)?;
            let credit = CreditInput { date: date.unwrap_or_else(today), lines: None, note };
            let (credit_id, number) = replica.credit_invoice(id, &credit)?;
            show_saved(replica, credit_id, &format!("Cancelled with credit note {number}"), output)
        }
        InvoiceCommand::Export { invoice, format, language, to } => {
            let id = replica.resolve_invoice(&invoice)?;
            let detail = replica.invoice(id, today())?;
            let document = issued_document(replica, &detail)?;
            let (content, extension) = match format {
                ExportFormat::Ubl => (billing_docs::einvoice::xrechnung_ubl(&document)?, "xml"),
                ExportFormat::Html => {
                    let language = match language.as_deref() {
                        Some(language) => language.parse::<Language>()?,
                        None => Language::for_country(
                            document.buyer.get("country").map_or("", String::as_str),
                        ),
                    };
                    (billing_docs::printout::render(&document, language)?, "html")
                }
            };
            let path = if to.is_dir() {
                let file: String = document
                    .number
                    .chars()
                    .map(|c| if c.is_alphanumeric() || c == '-' { c } else { '_' })
                    .collect();
                to.join(format!("{file}.{extension}"))
            } else {
                to
            };
            std::fs::write(&path, &content)
                .with_context(|| format!("cannot write {}", path.display()))?;
            if output.json {
                return output.json(
                    &json!({ "number": document.number, "path": path, "bytes": content.len() }),
                );
            }
            output.line(format!("Wrote {} ({} bytes)", path.display(), content.len()))
        }
        InvoiceCommand::Series { code, pattern } => {
            let year = today().year();
            let series = match code {
                Some(code) => replica.set_series(&code, pattern.as_deref(), year)?,
                None => replica.series(year)?,
            };
            if output.json {
                return output.json(&series);
            }
            output.line(format!(
                "series   {}{}",
                series.code,
                if series.configured { "" } else { " (default)" }
            ))?;
            output.line(format!("pattern  {}", series.pattern))?;
            output.line(format!("device   {} (every number ends in it)", series.device_tag))?;
            if !series.shared_with.is_empty() {
                output.line(format!(
                    "shared   code also chosen by {} (numbers stay apart by their device tags)",
                    series.shared_with.join(", ")
                ))?;
            }
            if let Some(device) = &series.tag_shared_with {
                output.line(format!(
                    "warning: {device} has this device's tag {}; no number is issued here: \
                     set this device up again with `kartoteka init` in a new directory",
                    series.device_tag
                ))?;
            }
            if series.duplicate_numbers > 0 {
                output.line(format!(
                    "warning: {} number(s) of series {} were issued by two devices; no further \
                     number is issued in it: list them with `kartoteka invoice duplicates` and \
                     choose a fresh code with `kartoteka invoice series CODE`",
                    series.duplicate_numbers, series.code
                ))?;
                return Ok(());
            }
            output.line(format!("next     {}", series.next_number))
        }
        InvoiceCommand::Duplicates => {
            let duplicates = replica.duplicate_numbers()?;
            if output.json {
                return output.json(&duplicates);
            }
            if duplicates.is_empty() {
                return output.line("No invoice number is carried by two invoices.");
            }
            let mut table = output.table(&[
                "NUMBER", "ID", "KIND", "CLIENT", "DEVICE", "ISSUED", "GROSS", "CREDITED", "STATUS",
            ])?;
            for duplicate in &duplicates {
                for invoice in &duplicate.invoices {
                    table.row([
                        duplicate.number.as_str(),
                        &invoice.short_id,
                        &invoice.kind,
                        &invoice.client_name,
                        &invoice.device,
                        &invoice.issue_date,
                        &format!("{} {}", format_minor(invoice.gross_minor), invoice.currency),
                        &format_minor(invoice.credited_minor),
                        if duplicate.settled { "settled" } else { "open" },
                    ])?;
                }
            }
            table.finish()?;
            output.line(
                "Name these invoices by their ids. The way out: `kartoteka invoice series NEWCODE`, \
                 then `kartoteka invoice cancel ID` for one of each pair and issue it again \
                 (see `kartoteka invoice duplicates --help`).",
            )
        }
    }
}

pub(crate) fn statement(
    replica: &Replica,
    args: &StatementArgs,
    output: &mut Output,
) -> Result<()> {
    let client_id = replica.resolve_client(&args.client)?;
    let to = args.to.unwrap_or_else(today);
    let from = match args.from {
        Some(from) => from,
        // 1 January always exists.
        None => NaiveDate::from_ymd_opt(to.year(), 1, 1).context("no 1 January in that year")?,
    };
    let currency = args.currency.as_deref().map(parse_currency).transpose()?;
    let statement = replica.statement(client_id, from, to, currency)?;
    if output.json {
        return output.json(&statement);
    }
    output.line(format!(
        "Statement of account: {}, {} to {}, {}",
        statement.client_name, statement.from, statement.to, statement.currency
    ))?;
    let mut table =
        output.table(&["DATE", "KIND", "REFERENCE", "TEXT", "DEBIT", "CREDIT", "BALANCE"])?;
    table.row(["", "", "", "opening balance", "", "", &format_minor(statement.opening_minor)])?;
    for entry in &statement.entries {
        table.row([
            entry.date.as_str(),
            &entry.kind,
            &entry.reference,
            &entry.text,
            &amount_or_blank(entry.debit_minor),
            &amount_or_blank(entry.credit_minor),
            &format_minor(entry.balance_minor),
        ])?;
    }
    table.row(["", "", "", "closing balance", "", "", &format_minor(statement.closing_minor)])?;
    table.finish()
}

/// An issued invoice as the paperwork crate needs it: lines, frozen totals and
/// both parties as they were at issue.
fn issued_document(
    replica: &Replica,
    detail: &InvoiceDetail,
) -> Result<billing_docs::einvoice::IssuedDocument> {
    let row = &detail.row;
    if row.number.is_empty() {
        anyhow::bail!(
            "draft {} is not issued yet; issue it first with `kartoteka invoice issue {}`",
            row.short_id,
            row.short_id
        );
    }
    let credits = if detail.credits_number.is_empty() {
        None
    } else {
        let original =
            replica.invoice(replica.resolve_invoice(&detail.credits_number)?, today())?;
        Some((detail.credits_number.clone(), original.row.issue_date.parse()?))
    };
    let lines = detail
        .lines
        .iter()
        .map(|line| {
            Ok(Line {
                description: line.description.clone(),
                quantity_milli: line.quantity_milli,
                unit: line.unit.clone(),
                unit_price_minor: line.unit_price_minor,
                vat_bp: u32::try_from(line.vat_bp)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let (seller, buyer): (Vec<_>, Vec<_>) = detail
        .snapshot
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .partition(|(key, _)| key.starts_with("seller."));
    Ok(billing_docs::einvoice::IssuedDocument {
        number: row.number.clone(),
        credits,
        issue_date: row.issue_date.parse()?,
        due_date: row.due_date.parse()?,
        currency: row.currency.clone(),
        note: detail.note.clone(),
        totals: ::billing::invoice::Totals {
            net_minor: detail.net_minor,
            vat_minor: detail.vat_minor,
            gross_minor: row.gross_minor,
            by_rate: detail.by_rate.clone(),
        },
        lines,
        seller: seller
            .into_iter()
            .map(|(key, value)| (key.trim_start_matches("seller.").to_owned(), value))
            .collect(),
        buyer: buyer.into_iter().collect(),
    })
}

fn amount_or_blank(minor: i64) -> String {
    if minor == 0 { String::new() } else { format_minor(minor) }
}

/// Who is billed for what, resolved and parsed.
pub(crate) struct Billed {
    pub(crate) client_id: domain::ClientId,
    pub(crate) unit_id: Option<domain::UnitId>,
    pub(crate) currency: Option<Currency>,
    pub(crate) lines: Vec<Line>,
}

pub(crate) fn billed(replica: &Replica, args: &BilledArgs) -> Result<Billed> {
    let client_id = replica.resolve_client(&args.client)?;
    Ok(Billed {
        client_id,
        unit_id: args
            .unit
            .as_deref()
            .map(|unit| replica.resolve_unit(client_id, unit))
            .transpose()?,
        currency: args.currency.as_deref().map(parse_currency).transpose()?,
        lines: parse_lines(&args.lines)?,
    })
}

pub(crate) fn parse_currency(text: &str) -> Result<Currency> {
    Ok(text.parse::<Currency>()?)
}

pub(crate) fn parse_lines(lines: &[String]) -> Result<Vec<Line>> {
    Ok(lines.iter().map(|line| Line::parse(line)).collect::<Result<Vec<_>, _>>()?)
}

fn terms(args: &TermsArgs) -> Option<PaymentTerms> {
    match (args.due_in, args.due) {
        (Some(days), _) => Some(PaymentTerms::Days(days)),
        (None, Some(date)) => Some(PaymentTerms::Until(date)),
        (None, None) => None,
    }
}

/// After a change: the JSON detail, or a one-line confirmation and the invoice.
fn show_saved(replica: &Replica, id: uuid::Uuid, message: &str, output: &mut Output) -> Result<()> {
    let detail = replica.invoice(id, today())?;
    if output.json {
        return output.json(&detail);
    }
    output.line(message)?;
    output.line("")?;
    print_detail(&detail, output)
}

pub(crate) fn print_detail(detail: &InvoiceDetail, output: &mut Output) -> Result<()> {
    let row = &detail.row;
    let title = match row.kind.as_str() {
        "credit_note" => "Credit note",
        _ => "Invoice",
    };
    let number = if row.number.is_empty() {
        format!("(draft {})", row.short_id)
    } else {
        row.number.clone()
    };
    output.line(format!("{title} {number}  [{}]", row.state))?;
    output.line(format!(
        "client   {}{}",
        row.client_name,
        if row.unit_name.is_empty() { String::new() } else { format!(" / {}", row.unit_name) }
    ))?;
    output.line(format!("issued   {}   due {}", row.issue_date, row.due_date))?;
    if !detail.credits_number.is_empty() {
        output.line(format!("credits  {}", detail.credits_number))?;
    }
    if !detail.template_code.is_empty() {
        output.line(format!("template {}", detail.template_code))?;
    }
    if !detail.note.is_empty() {
        output.line(format!("note     {}", detail.note))?;
    }
    if let Some((reason, until)) = &detail.block {
        output.line(format!("dunning blocked until {until}: {reason}"))?;
    }
    output.line("")?;
    let mut table = output.table(&["#", "DESCRIPTION", "QTY", "UNIT", "PRICE", "VAT %", "NET"])?;
    for line in &detail.lines {
        table.row([
            line.position.to_string(),
            line.description.clone(),
            format_quantity(line.quantity_milli),
            line.unit.clone(),
            format_minor(line.unit_price_minor),
            format_minor(line.vat_bp),
            format_minor(line.net_minor),
        ])?;
    }
    table.finish()?;
    for rate in &detail.by_rate {
        output.line(format!(
            "  VAT {:>6} %  on {:>12}  = {:>10}",
            format_minor(i64::from(rate.vat_bp)),
            format_minor(rate.net_minor),
            format_minor(rate.vat_minor)
        ))?;
    }
    output.line(format!(
        "net {}  VAT {}  total {} {}",
        format_minor(detail.net_minor),
        format_minor(detail.vat_minor),
        format_minor(row.gross_minor),
        row.currency
    ))?;
    if detail.credited_minor != 0 {
        output.line(format!("credited {}", format_minor(detail.credited_minor)))?;
    }
    if !detail.payments.is_empty() {
        output.line("")?;
        let mut table = output.table(&[
            "PAID ON",
            "AMOUNT",
            "METHOD",
            "REFERENCE",
            "→ COSTS",
            "→ INTEREST",
            "→ INVOICE",
            "→ CREDIT",
        ])?;
        for payment in &detail.payments {
            table.row([
                payment.date.clone(),
                format_minor(payment.amount_minor),
                payment.method.clone(),
                payment.reference.clone(),
                format_minor(payment.costs_minor),
                format_minor(payment.interest_minor),
                format_minor(payment.principal_minor),
                format_minor(payment.credit_minor),
            ])?;
        }
        table.finish()?;
    }
    if !detail.notices.is_empty() {
        output.line("")?;
        output.line("Dunning history")?;
        let mut table =
            output.table(&["DATE", "LEVEL", "NAME", "FEE", "LUMP SUM", "INTEREST", "LETTER"])?;
        for notice in &detail.notices {
            table.row([
                notice.date.clone(),
                notice.level.to_string(),
                notice.name.clone(),
                format_minor(notice.fee_minor),
                format_minor(notice.lump_sum_minor),
                format_minor(notice.interest_minor),
                notice.letter_document.clone(),
            ])?;
            // Letters sent for the same level on other days (by another device
            // while offline) are kept; they charge nothing more.
            for sending in notice.sendings.iter().filter(|sending| !sending.charged) {
                table.row([
                    sending.date.clone(),
                    notice.level.to_string(),
                    format!("also sent by {}", sending.device),
                    "-".to_owned(),
                    "-".to_owned(),
                    format!("({})", format_minor(sending.interest_minor)),
                    sending.letter_document.clone(),
                ])?;
            }
        }
        table.finish()?;
    }
    for credit in &detail.credit_notes {
        output.line(format!(
            "credit note {} of {}: {} {}",
            credit.number,
            credit.issue_date,
            format_minor(credit.gross_minor),
            credit.currency
        ))?;
    }
    output.line("")?;
    output.line(format!(
        "open: invoice {}  costs {}  interest {}{}",
        format_minor(detail.open_principal_minor),
        format_minor(detail.open_costs_minor),
        format_minor(detail.open_interest_minor),
        if detail.credit_minor > 0 {
            format!("  client credit {}", format_minor(detail.credit_minor))
        } else {
            String::new()
        }
    ))?;
    if let Some(settled) = &detail.settled_on {
        output.line(format!("settled on {settled}"))?;
    }
    Ok(())
}
