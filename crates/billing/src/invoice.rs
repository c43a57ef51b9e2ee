//! Invoice lines, totals, due dates and states.
//!
//! Rounding is per line and stated: a line's net amount is quantity × unit price
//! rounded to the cent, and its VAT is that net amount × rate rounded to the
//! cent; the invoice's totals are sums of the rounded line amounts, so the lines
//! printed on the invoice always add up to its totals.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{BillingError, Result};
use crate::money::round_half_away;

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// What was sold.
    pub description: String,
    /// How many, in thousandths.
    pub quantity_milli: i64,
    /// Of what ("h", "pcs").
    pub unit: String,
    /// Price per unit in minor units (net).
    pub unit_price_minor: i64,
    /// VAT rate in basis points (2100 = 21 %).
    pub vat_bp: u32,
}

impl Line {
    /// Parses `DESCRIPTION=QUANTITY [UNIT] x UNIT_PRICE @ VAT%`, e.g.
    /// `Diagnostics=1.5 h x 45.00 @ 21` (the description may itself contain '=').
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = || BillingError::InvalidLine(text.to_owned());
        let (description, amounts) = text.rsplit_once('=').ok_or_else(invalid)?;
        let (quantity_and_unit, price_and_vat) = amounts.split_once(" x ").ok_or_else(invalid)?;
        let (price, vat) = price_and_vat.split_once('@').ok_or_else(invalid)?;
        let mut words = quantity_and_unit.split_whitespace();
        let quantity = words.next().ok_or_else(invalid)?;
        let unit = words.collect::<Vec<_>>().join(" ");
        let description = description.trim();
        if description.is_empty() {
            return Err(invalid());
        }
        Ok(Self {
            description: description.to_owned(),
            quantity_milli: crate::money::parse_quantity(quantity)?,
            unit,
            unit_price_minor: crate::money::parse_minor(price)?,
            vat_bp: crate::money::parse_vat_rate(vat)?,
        })
    }

    /// Checks a line: a description, and a positive quantity unless
    /// `allow_negative` (credit notes negate their lines).
    pub fn validate(&self, allow_negative: bool) -> Result<()> {
        if self.quantity_milli == 0 || (!allow_negative && self.quantity_milli < 0) {
            return Err(BillingError::NonPositiveQuantity(self.description.clone()));
        }
        Ok(())
    }

    /// Net amount: quantity × unit price, rounded to the cent.
    pub fn net_minor(&self) -> Result<i64> {
        round_half_away(i128::from(self.quantity_milli) * i128::from(self.unit_price_minor), 1000)
    }

    /// VAT of this line alone: net × rate, rounded to the cent. Informational:
    /// the invoice's VAT is computed per rate (see [`totals`]).
    pub fn vat_minor(&self) -> Result<i64> {
        round_half_away(i128::from(self.net_minor()?) * i128::from(self.vat_bp), 10_000)
    }
}

/// Amounts of one VAT rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateTotal {
    /// The rate in basis points.
    pub vat_bp: u32,
    /// Net amount at this rate.
    pub net_minor: i64,
    /// VAT at this rate.
    pub vat_minor: i64,
}

/// An invoice's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Sum of the lines' net amounts.
    pub net_minor: i64,
    /// Sum of the lines' VAT.
    pub vat_minor: i64,
    /// Net plus VAT.
    pub gross_minor: i64,
    /// Per VAT rate, ascending.
    pub by_rate: Vec<RateTotal>,
}

/// The totals of some lines. Each line's net amount is rounded to the cent;
/// VAT is computed per rate on the sum of those rounded nets and rounded once
/// (EN 16931 BR-CO-17), so the printed invoice and its e-invoice agree to the cent.
pub fn totals(lines: &[Line]) -> Result<Totals> {
    let mut by_rate: Vec<RateTotal> = Vec::new();
    for line in lines {
        let net = line.net_minor()?;
        match by_rate.iter_mut().find(|total| total.vat_bp == line.vat_bp) {
            Some(total) => {
                total.net_minor = total.net_minor.checked_add(net).ok_or(BillingError::Overflow)?;
            }
            None => by_rate.push(RateTotal { vat_bp: line.vat_bp, net_minor: net, vat_minor: 0 }),
        }
    }
    for total in &mut by_rate {
        total.vat_minor =
            round_half_away(i128::from(total.net_minor) * i128::from(total.vat_bp), 10_000)?;
    }
    by_rate.sort_by_key(|total| total.vat_bp);
    let net_minor = checked_sum(by_rate.iter().map(|total| total.net_minor))?;
    let vat_minor = checked_sum(by_rate.iter().map(|total| total.vat_minor))?;
    let gross_minor = net_minor.checked_add(vat_minor).ok_or(BillingError::Overflow)?;
    Ok(Totals { net_minor, vat_minor, gross_minor, by_rate })
}

/// The sum of some amounts, or `Overflow` instead of wrapping.
fn checked_sum(amounts: impl Iterator<Item = i64>) -> Result<i64> {
    let mut sum = 0_i64;
    for amount in amounts {
        sum = sum.checked_add(amount).ok_or(BillingError::Overflow)?;
    }
    Ok(sum)
}

/// When an invoice falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentTerms {
    /// This many days after the issue date.
    Days(u32),
    /// On this date.
    Until(NaiveDate),
}

impl PaymentTerms {
    /// The due date of an invoice issued on `issue`.
    pub fn due_date(self, issue: NaiveDate) -> Result<NaiveDate> {
        let due = match self {
            Self::Days(days) => issue + chrono::Days::new(u64::from(days)),
            Self::Until(date) => date,
        };
        if due < issue {
            return Err(BillingError::DueBeforeIssue { issue, due });
        }
        Ok(due)
    }
}

/// What a billing record is: an invoice, or a credit note that corrects one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// An invoice: the client owes its gross total.
    Invoice,
    /// A credit note: takes back (part of) the invoice it credits.
    CreditNote,
}

/// Whether a record is still a draft or issued (and frozen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Editable; has no number yet.
    Draft,
    /// Numbered and frozen: lines, totals and the parties never change again.
    Issued,
}

/// A stored word that is no [`InvoiceKind`] or [`InvoiceStatus`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an invoice {what}")]
pub struct UnknownWord {
    /// `kind` or `status`.
    pub what: &'static str,
    /// What was found.
    pub value: String,
}

impl InvoiceKind {
    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invoice => "invoice",
            Self::CreditNote => "credit_note",
        }
    }
}

impl std::str::FromStr for InvoiceKind {
    type Err = UnknownWord;

    fn from_str(value: &str) -> std::result::Result<Self, UnknownWord> {
        match value {
            "invoice" => Ok(Self::Invoice),
            "credit_note" => Ok(Self::CreditNote),
            _ => Err(UnknownWord { what: "kind", value: value.to_owned() }),
        }
    }
}

impl InvoiceStatus {
    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Issued => "issued",
        }
    }
}

impl std::str::FromStr for InvoiceStatus {
    type Err = UnknownWord;

    fn from_str(value: &str) -> std::result::Result<Self, UnknownWord> {
        match value {
            "draft" => Ok(Self::Draft),
            "issued" => Ok(Self::Issued),
            _ => Err(UnknownWord { what: "status", value: value.to_owned() }),
        }
    }
}

impl std::fmt::Display for InvoiceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an invoice stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceState {
    /// Not issued yet; may still change.
    Draft,
    /// Issued, nothing paid, not yet due.
    Issued,
    /// Partly paid, not yet due.
    PartlyPaid,
    /// Fully paid (or settled by credit notes).
    Paid,
    /// Past due with something open.
    Overdue,
}

impl InvoiceState {
    /// The stored and displayed word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Issued => "issued",
            Self::PartlyPaid => "partly_paid",
            Self::Paid => "paid",
            Self::Overdue => "overdue",
        }
    }
}

/// The state of an invoice on `today`: `open` is what remains after payments
/// and credit notes.
pub fn state(
    issued: bool,
    gross_minor: i64,
    open_minor: i64,
    due: NaiveDate,
    today: NaiveDate,
) -> InvoiceState {
    if !issued {
        InvoiceState::Draft
    } else if open_minor <= 0 {
        InvoiceState::Paid
    } else if today > due {
        InvoiceState::Overdue
    } else if open_minor < gross_minor {
        InvoiceState::PartlyPaid
    } else {
        InvoiceState::Issued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(quantity_milli: i64, unit_price_minor: i64, vat_bp: u32) -> Line {
        Line {
            description: "x".to_owned(),
            quantity_milli,
            unit: "pcs".to_owned(),
            unit_price_minor,
            vat_bp,
        }
    }

    #[test]
    fn amounts_are_rounded_per_line_and_summed_per_rate() {
        // 1.5 h × 33.33 = 49.995 → 50.00; VAT 21 % of 50.00 = 10.50.
        let lines = [line(1_500, 3_333, 2_100), line(3_000, 1_999, 2_100), line(1_000, 1_000, 700)];
        let totals = totals(&lines).unwrap();
        assert_eq!(lines[0].net_minor(), Ok(5_000));
        assert_eq!(lines[0].vat_minor(), Ok(1_050));
        // 3 × 19.99 = 59.97; VAT 12.5937 → 12.59.
        assert_eq!(lines[1].vat_minor(), Ok(1_259));
        assert_eq!(
            totals.by_rate,
            vec![
                RateTotal { vat_bp: 700, net_minor: 1_000, vat_minor: 70 },
                RateTotal { vat_bp: 2_100, net_minor: 10_997, vat_minor: 2_309 },
            ]
        );
        assert_eq!(totals.gross_minor, 1_000 + 70 + 10_997 + 2_309);
    }

    #[test]
    fn totals_too_large_for_the_books_are_an_error_not_a_wrap() {
        let huge = [line(1_000, 9_000_000_000_000_000_000, 1_900)];
        assert!(matches!(totals(&huge), Err(BillingError::Overflow)));
        let two_rates = [line(1_000, i64::MAX / 2, 0), line(1_000, i64::MAX / 2, 700)];
        assert!(matches!(totals(&two_rates), Err(BillingError::Overflow)));
    }

    #[test]
    fn vat_is_rounded_once_per_rate_not_per_line() {
        // Three lines of 0.05 at 10 %: per line 0.005 → 0.01 each (0.03 in all),
        // per rate 0.15 × 10 % = 0.015 → 0.02.
        let lines = [line(1_000, 5, 1_000), line(1_000, 5, 1_000), line(1_000, 5, 1_000)];
        assert_eq!(lines[0].vat_minor(), Ok(1));
        let totals = totals(&lines).unwrap();
        assert_eq!(totals.vat_minor, 2);
        assert_eq!(totals.gross_minor, 17);
    }

    #[test]
    fn lines_parse_from_the_command_line_syntax() {
        let line = Line::parse("Service = flat rate=1.5 h x 45.00 @ 21").unwrap();
        assert_eq!(line.description, "Service = flat rate");
        assert_eq!((line.quantity_milli, line.unit.as_str()), (1_500, "h"));
        assert_eq!((line.unit_price_minor, line.vat_bp), (4_500, 2_100));
        assert_eq!(Line::parse("Filter=2 x 9.90 @ 7%").unwrap().unit, "");
        assert!(matches!(Line::parse("Filter=2 pcs @ 7"), Err(BillingError::InvalidLine(_))));
        assert!(matches!(Line::parse("Filter=two x 1 @ 7"), Err(BillingError::InvalidQuantity(_))));
        assert!(Line::parse("=1 x 1 @ 7").is_err());
    }

    #[test]
    fn rounding_of_a_half_cent_goes_away_from_zero_also_for_credits() {
        // 0.5 × 0.01 = 0.005 → 0.01; a credit of the same → -0.01.
        assert_eq!(line(500, 1, 0).net_minor(), Ok(1));
        assert_eq!(line(-500, 1, 0).net_minor(), Ok(-1));
        assert!(line(-500, 1, 0).validate(false).is_err());
        assert!(line(-500, 1, 0).validate(true).is_ok());
        assert!(line(0, 1, 0).validate(true).is_err());
    }

    #[test]
    fn due_dates_follow_the_terms_and_never_precede_the_issue() {
        let issue = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        assert_eq!(
            PaymentTerms::Days(14).due_date(issue),
            Ok(NaiveDate::from_ymd_opt(2026, 12, 4).unwrap())
        );
        let before = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert!(matches!(
            PaymentTerms::Until(before).due_date(issue),
            Err(BillingError::DueBeforeIssue { .. })
        ));
    }

    #[test]
    fn the_state_depends_on_payments_and_the_day() {
        let due = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let before = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let after = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        assert_eq!(state(false, 100, 100, due, after), InvoiceState::Draft);
        assert_eq!(state(true, 100, 100, due, before), InvoiceState::Issued);
        assert_eq!(state(true, 100, 40, due, before), InvoiceState::PartlyPaid);
        assert_eq!(state(true, 100, 40, due, after), InvoiceState::Overdue);
        assert_eq!(state(true, 100, 0, due, after), InvoiceState::Paid);
        assert_eq!(state(true, 100, -10, due, after), InvoiceState::Paid);
    }
}
