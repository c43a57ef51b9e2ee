//! Printable invoices and credit notes: one HTML page from the template of the
//! chosen language, with the company's details and the client's as frozen at issue.

use billing::letter::Language;
use billing::money::format_quantity;
use serde::Serialize;

use crate::einvoice::IssuedDocument;
use crate::error::Result;
use crate::format;

/// Renders an issued invoice or credit note as a self-contained HTML page.
pub fn render(document: &IssuedDocument, language: Language) -> Result<String> {
    crate::templates::render(
        &format!("invoice.{}.html", language.code()),
        view(document, language)?,
    )
}

#[derive(Serialize)]
struct PrintView<'a> {
    credit_note: bool,
    number: &'a str,
    credits_number: String,
    credits_date: String,
    issue_date: String,
    due_date: String,
    note: &'a str,
    seller: &'a std::collections::BTreeMap<String, String>,
    buyer: &'a std::collections::BTreeMap<String, String>,
    lines: Vec<LineView<'a>>,
    rates: Vec<RateView>,
    net: String,
    vat: String,
    gross: String,
}

#[derive(Serialize)]
struct LineView<'a> {
    position: usize,
    description: &'a str,
    quantity: String,
    unit: &'a str,
    price: String,
    vat_rate: String,
    net: String,
}

#[derive(Serialize)]
struct RateView {
    rate: String,
    net: String,
    vat: String,
}

fn view(document: &IssuedDocument, language: Language) -> Result<PrintView<'_>> {
    let money = |minor| format::money(minor, &document.currency, language);
    let date = |day| format::date(day, language);
    let percent = |bp: u32| format::percent(bp, language);
    let lines = document
        .lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            Ok(LineView {
                position: index + 1,
                description: &line.description,
                quantity: format_quantity(line.quantity_milli),
                unit: &line.unit,
                price: money(line.unit_price_minor),
                vat_rate: percent(line.vat_bp),
                net: money(line.net_minor()?),
            })
        })
        .collect::<Result<Vec<_>, billing::BillingError>>()?;
    Ok(PrintView {
        credit_note: document.is_credit_note(),
        number: &document.number,
        credits_number: document
            .credits
            .as_ref()
            .map(|(number, _)| number.clone())
            .unwrap_or_default(),
        credits_date: document.credits.as_ref().map(|(_, day)| date(*day)).unwrap_or_default(),
        issue_date: date(document.issue_date),
        due_date: date(document.due_date),
        note: &document.note,
        seller: &document.seller,
        buyer: &document.buyer,
        lines,
        rates: document
            .totals
            .by_rate
            .iter()
            .map(|rate| RateView {
                rate: percent(rate.vat_bp),
                net: money(rate.net_minor),
                vat: money(rate.vat_minor),
            })
            .collect(),
        net: money(document.totals.net_minor),
        vat: money(document.totals.vat_minor),
        gross: money(document.totals.gross_minor),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

    use super::*;
    use crate::einvoice::tests::document;

    #[test]
    fn every_language_prints_the_totals_per_rate_and_both_parties() {
        for language in Language::ALL {
            let html = render(&document(), language).unwrap();
            for expected in [
                "2026-B01-0042",
                "Muster Service GmbH",
                "Bäckerei Müller &amp; Söhne",
                "DE123456789",
                "DE02 1203 0000 0000 2020 51",
            ] {
                assert!(html.contains(expected), "{language}: {expected:?} missing in {html}");
            }
            assert!(html.contains(&format::money(12_367, "EUR", language)), "{language}: {html}");
            assert!(html.contains(&format::money(950, "EUR", language)), "{language}: VAT at 19 %");
        }
        assert!(render(&document(), Language::De).unwrap().contains("Rechnung"));
        assert!(render(&document(), Language::Lv).unwrap().contains("Rēķins"));
    }
}
