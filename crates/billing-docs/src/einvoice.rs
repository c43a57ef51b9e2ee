//! EN 16931 e-invoices in UBL 2.1 with the XRechnung 3.0 rules, built with
//! `core-invoice` (model, reconciliation, validation) and `core-invoice-formats`
//! (the UBL writer).
//!
//! Amounts come from Kartoteka's own arithmetic (line nets rounded per line,
//! VAT per rate); the model recomputes them and the export is refused if the
//! two disagree by a cent, so an e-invoice never says something the issued
//! invoice does not. Everything missing for XRechnung (the company's phone, a
//! client's country, …) is reported in one error with the command that fixes it.

use std::collections::BTreeMap;

use billing::invoice::{Line, Totals};
use chrono::{Datelike, NaiveDate};
use core_invoice::{
    Amount, Code, Contact, CreditTransfer, Date, DocumentReference, Identifier, Invoice,
    InvoiceNote, Party, PaymentInstructions, PaymentMeans, PostalAddress, Price, Profile, Quantity,
    Severity, TaxCategory, UnitPriceAmount, reconcile, validate,
};
use core_invoice_formats::{Syntax, write_unchecked};
use rust_decimal::Decimal;

use crate::error::{DocsError, Result};

/// BT-24 of XRechnung 3.0.
const XRECHNUNG_3: &str = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0";
/// BT-23, which the UBL writer leaves out for the EN 16931 profile.
const BUSINESS_PROCESS: &str = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0";

/// An issued invoice or credit note as the paperwork needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedDocument {
    /// The number.
    pub number: String,
    /// For a credit note: the number and issue date of the invoice it corrects.
    pub credits: Option<(String, NaiveDate)>,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
    /// ISO currency code.
    pub currency: String,
    /// Note printed on it.
    pub note: String,
    /// Lines as stored (a credit note's quantities are negative).
    pub lines: Vec<Line>,
    /// The frozen totals.
    pub totals: Totals,
    /// The seller at issue: name, street, city, postal_code, country, vat_id,
    /// reg_no, iban, bic, email, phone, contact.
    pub seller: BTreeMap<String, String>,
    /// The buyer at issue: name, recipient, street, city, postal_code, country,
    /// vat_id, reg_no, email, and `buyer_reference` (Leitweg-ID) if the client has one.
    pub buyer: BTreeMap<String, String>,
}

impl IssuedDocument {
    /// Whether this is a credit note.
    pub const fn is_credit_note(&self) -> bool {
        self.credits.is_some()
    }
}

/// The document as an XRechnung 3.0 UBL invoice (or credit note).
pub fn xrechnung_ubl(document: &IssuedDocument) -> Result<String> {
    let invoice = model(document)?;
    let report = validate(&invoice);
    let fatal: Vec<String> = report
        .findings
        .iter()
        .filter(|finding| finding.severity == Severity::Fatal)
        .map(|finding| format!("{finding}{}", hint(finding.id, &finding.path.to_string())))
        .collect();
    if !fatal.is_empty() {
        let mut problems = fatal;
        problems.push(
            "(an invoice keeps the company's and the client's details as they were when it was issued: \
             after adding them, invoices issued from then on export; correct this one with a credit note and a new invoice)"
                .to_owned(),
        );
        return Err(DocsError::EInvoice { number: document.number.clone(), problems });
    }
    let xml = write_unchecked(&invoice, Syntax::Ubl).map_err(|error| DocsError::EInvoice {
        number: document.number.clone(),
        problems: vec![error.to_string()],
    })?;
    patch_ubl(&xml, &invoice).ok_or_else(|| DocsError::EInvoice {
        number: document.number.clone(),
        problems: vec!["the UBL writer's output has an unexpected shape".to_owned()],
    })
}

/// The EN 16931 model of a document, reconciled and checked against our totals.
fn model(document: &IssuedDocument) -> Result<Invoice> {
    let problem = |text: String| DocsError::EInvoice {
        number: document.number.clone(),
        problems: vec![text],
    };
    let seller = party(&document.seller, true);
    let buyer = party(&document.buyer, false);
    // A credit note is written as the invoice it corrects, then turned around
    // (core-invoice keeps credit-note amounts positive and links BG-3).
    let (number, issue_date) = match &document.credits {
        Some((number, issued)) => (number.clone(), *issued),
        None => (document.number.clone(), document.issue_date),
    };
    let mut invoice =
        Invoice::blank(Profile::En16931, number, document.currency.clone(), seller, buyer);
    invoice.specification_id = Some(XRECHNUNG_3.to_owned());
    invoice.type_code = Some(Code::new("380"));
    invoice.issue_date = Some(date(issue_date)?);
    invoice.buyer_reference = Some(DocumentReference::new(
        document
            .buyer
            .get("buyer_reference")
            .filter(|reference| !reference.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| document.number.clone()),
    ));
    if !document.note.trim().is_empty() {
        invoice.notes.push(InvoiceNote { subject: None, text: document.note.clone() });
    }
    let sign = if document.is_credit_note() { -1 } else { 1 };
    invoice.lines = document
        .lines
        .iter()
        .enumerate()
        .map(|(index, line)| model_line(index + 1, line, sign))
        .collect::<Result<_>>()?;
    if let Some(iban) = document.seller.get("iban").filter(|iban| !iban.trim().is_empty()) {
        invoice.payment = Some(PaymentInstructions {
            means_code: Some(Code::new("58")), // SEPA credit transfer
            means_text: None,
            remittance: Some(document.number.clone()),
            means: Some(PaymentMeans::CreditTransfer(vec![CreditTransfer {
                account_id: Identifier::new(iban.replace(' ', "")),
                account_name: None,
                provider: document.seller.get("bic").filter(|bic| !bic.is_empty()).cloned(),
            }])),
        });
    }
    if let Some((_, _)) = &document.credits {
        invoice = invoice.to_credit_note(document.number.clone(), date(document.issue_date)?);
        invoice.payment_terms = Some("Refund by bank transfer".to_owned());
    } else {
        invoice.due_date = Some(date(document.due_date)?);
        invoice.payment_terms = Some(format!("Due on {}", document.due_date));
    }
    reconcile(&mut invoice).map_err(|error| problem(error.to_string()))?;
    let gross =
        invoice.totals.as_ref().and_then(|totals| totals.with_tax).map(|amount| amount.raw());
    let expected = Decimal::new(document.totals.gross_minor * sign, 2);
    if gross != Some(expected) {
        return Err(problem(format!(
            "the e-invoice totals {gross:?} differ from the issued invoice's {expected}; not exported"
        )));
    }
    Ok(invoice)
}

fn model_line(position: usize, line: &Line, sign: i64) -> Result<core_invoice::Line> {
    let net_minor = line.net_minor().map_err(DocsError::Billing)? * sign;
    let rate = Decimal::new(i64::from(line.vat_bp), 2);
    let category =
        if line.vat_bp == 0 { TaxCategory::vat("Z", rate) } else { TaxCategory::vat("S", rate) };
    let mut model = core_invoice::Line::new(
        position.to_string(),
        line.description.clone(),
        Amount::from_minor(net_minor),
        category,
    );
    model.quantity = Some(Quantity::new(Decimal::new(line.quantity_milli * sign, 3).normalize()));
    model.unit = Some(Code::new(unit_code(&line.unit)));
    model.price = Some(Price {
        net: UnitPriceAmount::new(Decimal::new(line.unit_price_minor, 2)),
        discount: None,
        gross: None,
        base_qty: None,
        base_unit: None,
    });
    Ok(model)
}

/// A UN/ECE Recommendation 20 unit code for the units people type.
fn unit_code(unit: &str) -> &'static str {
    match unit.trim().to_lowercase().trim_end_matches('.') {
        "h" | "hr" | "hour" | "hours" | "std" | "stunde" | "stunden" | "st" => "HUR",
        "min" | "minute" | "minutes" => "MIN",
        "d" | "day" | "days" | "tag" | "tage" | "diena" | "dienas" => "DAY",
        "month" | "months" | "monat" | "mon" | "mēn" => "MON",
        "km" => "KMT",
        "m" => "MTR",
        "m2" | "m²" => "MTK",
        "kg" => "KGM",
        "l" => "LTR",
        "pcs" | "pc" | "piece" | "pieces" | "stk" | "stück" | "gab" => "H87",
        _ => "C62", // "one": a unit without a name
    }
}

fn party(details: &BTreeMap<String, String>, seller: bool) -> Party {
    let get =
        |key: &str| details.get(key).map(|value| value.trim()).filter(|value| !value.is_empty());
    let name = if seller { get("name") } else { get("recipient").or_else(|| get("name")) };
    let mut party =
        Party::new(name.unwrap_or_default(), get("country").unwrap_or_default().to_uppercase());
    if let Some(address) = party.address.as_mut() {
        *address = PostalAddress {
            line1: get("street").map(str::to_owned),
            city: get("city").map(str::to_owned),
            post_code: get("postal_code").map(str::to_owned),
            ..address.clone()
        };
    }
    party.vat_identifier = get("vat_id").map(Identifier::new);
    party.electronic_address = get("email").map(|email| Identifier::schemed(email, "EM"));
    if seller {
        party.contact = Some(Contact {
            point: get("contact").or_else(|| get("name")).map(str::to_owned),
            phone: get("phone").map(str::to_owned),
            email: get("email").map(str::to_owned),
        });
    }
    party
}

fn date(day: NaiveDate) -> Result<Date> {
    let month = u8::try_from(day.month()).unwrap_or(1);
    let day_of_month = u8::try_from(day.day()).unwrap_or(1);
    Date::new(day.year(), month, day_of_month).map_err(|error| DocsError::EInvoice {
        number: day.to_string(),
        problems: vec![error.to_string()],
    })
}

/// What the user can do about a finding.
fn hint(rule: &str, path: &str) -> String {
    let fix = match rule {
        "BR-DE-5" => "kartoteka company set contact 'NAME'",
        "BR-DE-6" => "kartoteka company set phone '+49 …'",
        "BR-DE-7" => "kartoteka company set email rechnung@…",
        "BR-DE-3" | "BR-08" => "kartoteka company set city …",
        "BR-DE-4" => "kartoteka company set postal_code …",
        "BR-09" => "kartoteka company set country DE",
        "BR-11" => "kartoteka client edit CLIENT --country DE (then issue a new invoice)",
        "BR-CO-9" | "BR-CO-26" | "BR-S-02" | "BR-DE-16" => "kartoteka company set vat_id DE…",
        "BR-DE-8" | "BR-DE-9" | "BR-10" => "kartoteka client edit CLIENT --city … --postal-code …",
        "BR-DE-1" | "BR-DE-23-a" => "kartoteka company set iban 'DE…'",
        _ if path.contains("seller") => "kartoteka company set KEY VALUE",
        _ => "",
    };
    if fix.is_empty() { String::new() } else { format!(" → {fix}") }
}

/// Adds what `core-invoice-formats` 2.0.3 leaves out for XRechnung: BT-23
/// (PEPPOL-EN16931-R001) and, for parties without a legal registration number,
/// `PartyLegalEntity/RegistrationName` (BR-06, BR-07). The name is copied from
/// the writer's own (already escaped) `PartyName`.
fn patch_ubl(xml: &str, invoice: &Invoice) -> Option<String> {
    let mut xml = xml.replacen(
        "</cbc:CustomizationID>",
        &format!("</cbc:CustomizationID>\n  <cbc:ProfileID>{BUSINESS_PROCESS}</cbc:ProfileID>"),
        1,
    );
    for (tag, party) in
        [("AccountingSupplierParty", &invoice.seller), ("AccountingCustomerParty", &invoice.buyer)]
    {
        if party.legal_registration.is_some() {
            continue;
        }
        let start = xml.find(&format!("<cac:{tag}>"))?;
        let end = start + xml[start..].find(&format!("</cac:{tag}>"))?;
        let block = &xml[start..end];
        let name_start = block.find("<cbc:Name>")? + "<cbc:Name>".len();
        let name_end = name_start + block[name_start..].find("</cbc:Name>")?;
        let escaped_name = block[name_start..name_end].to_owned();
        let at = start + block.find("<cac:Contact>").or_else(|| block.find("</cac:Party>"))?;
        xml.insert_str(
            at,
            &format!(
                "<cac:PartyLegalEntity>\n        <cbc:RegistrationName>{escaped_name}</cbc:RegistrationName>\n      </cac:PartyLegalEntity>\n      "
            ),
        );
    }
    Some(xml)
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

    use super::*;

    pub(crate) fn day(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, day).unwrap()
    }

    pub(crate) fn document() -> IssuedDocument {
        let lines = vec![
            Line::parse("Beratung=1.5 h x 33.33 @ 19").unwrap(),
            Line::parse("Fachbuch <Band 2> & Co=3 pcs x 19.99 @ 7").unwrap(),
        ];
        let seller = [
            ("name", "Muster Service GmbH"),
            ("street", "Hauptstr. 1"),
            ("city", "Berlin"),
            ("postal_code", "10115"),
            ("country", "DE"),
            ("vat_id", "DE123456789"),
            ("iban", "DE02 1203 0000 0000 2020 51"),
            ("email", "rechnung@muster.de"),
            ("phone", "+49 30 1234567"),
            ("contact", "Max Muster"),
        ];
        let buyer = [
            ("name", "Bäckerei Müller & Söhne"),
            ("street", "Rathausplatz 5"),
            ("city", "Potsdam"),
            ("postal_code", "14467"),
            ("country", "DE"),
            ("email", "einkauf@mueller.de"),
        ];
        let map = |pairs: &[(&str, &str)]| {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        IssuedDocument {
            number: "2026-B01-0042".to_owned(),
            credits: None,
            issue_date: day(11, 20),
            due_date: day(12, 4),
            currency: "EUR".to_owned(),
            note: "Auftrag 4711".to_owned(),
            totals: billing::invoice::totals(&lines).unwrap(),
            lines,
            seller: map(&seller),
            buyer: map(&buyer),
        }
    }

    #[test]
    fn an_invoice_becomes_a_valid_xrechnung() {
        let xml = xrechnung_ubl(&document()).unwrap();
        let report = core_invoice_formats::validate_xml(&xml, None).unwrap();
        assert!(report.ok(), "{report}\n{xml}");
        assert!(xml.contains(
            "<cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>"
        ));
        assert!(
            xml.contains(
                "<cbc:RegistrationName>Bäckerei Müller &amp; Söhne</cbc:RegistrationName>"
            ),
            "{xml}"
        );
        assert!(xml.contains("Fachbuch &lt;Band 2&gt; &amp; Co"));
        // 1.5 × 33.33 = 49.995 → 50.00 (+19 % = 9.50); 3 × 19.99 = 59.97 (+7 % = 4.20).
        assert!(xml.contains(">123.67</cbc:TaxInclusiveAmount>"), "{xml}");
        assert!(
            xml.contains("<cbc:InvoicedQuantity unitCode=\"HUR\">1.5</cbc:InvoicedQuantity>"),
            "{xml}"
        );
    }

    #[test]
    fn a_credit_note_refers_to_its_invoice_with_positive_amounts() {
        let mut credit = document();
        credit.number = "2026-B01-0043".to_owned();
        credit.credits = Some(("2026-B01-0042".to_owned(), day(11, 20)));
        credit.issue_date = day(11, 27);
        credit.lines = vec![Line {
            quantity_milli: -1_000,
            ..Line::parse("Beratung=1 h x 33.33 @ 19").unwrap()
        }];
        credit.totals = billing::invoice::totals(&credit.lines).unwrap();
        let xml = xrechnung_ubl(&credit).unwrap();
        let report = core_invoice_formats::validate_xml(&xml, None).unwrap();
        assert!(report.ok(), "{report}\n{xml}");
        assert!(xml.contains("<CreditNote"), "{xml}");
        assert!(xml.contains("<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>"), "{xml}");
        assert!(xml.contains("<cbc:ID>2026-B01-0042</cbc:ID>"), "{xml}");
        assert!(xml.contains(">39.66</cbc:TaxInclusiveAmount>"), "{xml}");
    }

    #[test]
    fn missing_company_details_are_named_with_their_fix() {
        let mut incomplete = document();
        incomplete.seller.remove("phone");
        incomplete.buyer.remove("country");
        let error = xrechnung_ubl(&incomplete).unwrap_err().to_string();
        assert!(error.contains("kartoteka company set phone"), "{error}");
        assert!(error.contains("BR-11") || error.contains("country"), "{error}");
    }
}
