//! What a dunning letter says, independent of how it is rendered: the open
//! invoices of one client in one currency, the level each has reached, and the
//! charges (fees, §288 interest, the lump sum) that are claimed separately from
//! the invoices and carry no VAT.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::Serialize;

use crate::error::BillingError;

/// The language a letter is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Deutsch.
    De,
    /// English.
    En,
    /// Latviešu.
    Lv,
}

impl Language {
    /// Every language letters are written in.
    pub const ALL: [Self; 3] = [Self::De, Self::En, Self::Lv];

    /// The ISO 639-1 code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::De => "de",
            Self::En => "en",
            Self::Lv => "lv",
        }
    }

    /// The language a client in `country` (ISO 3166 alpha-2) is written to when
    /// nothing else is said: German in the DACH countries, Latvian in Latvia,
    /// English elsewhere.
    pub fn for_country(country: &str) -> Self {
        match country.trim().to_uppercase().as_str() {
            "DE" | "AT" | "CH" | "LI" | "LU" => Self::De,
            "LV" => Self::Lv,
            _ => Self::En,
        }
    }
}

impl FromStr for Language {
    type Err = BillingError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_lowercase().as_str() {
            "de" | "deutsch" | "german" => Ok(Self::De),
            "en" | "english" => Ok(Self::En),
            "lv" | "latviešu" | "latvian" => Ok(Self::Lv),
            _ => Err(BillingError::UnknownLanguage(text.to_owned())),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One open invoice in a letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LetterItem {
    /// The invoice number.
    pub number: String,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
    /// Days past due on the letter's date.
    pub days_overdue: i64,
    /// Open principal.
    pub open_minor: i64,
    /// The level this letter is for this invoice (0 = payment reminder).
    pub level: usize,
    /// The level's name in the policy.
    pub level_name: String,
    /// Charges of earlier notices still open (fees, interest, lump sum).
    pub earlier_charges_minor: i64,
    /// This notice's fee.
    pub fee_minor: i64,
    /// Default interest claimed with this notice.
    pub interest_minor: i64,
    /// The interest period, when interest is claimed: first and last day.
    pub interest_period: Option<(NaiveDate, NaiveDate)>,
    /// The §288 (5) BGB lump sum charged with this notice.
    pub lump_sum_minor: i64,
}

impl LetterItem {
    /// Everything owed on this invoice after this notice.
    pub const fn total_minor(&self) -> i64 {
        self.open_minor
            + self.earlier_charges_minor
            + self.fee_minor
            + self.interest_minor
            + self.lump_sum_minor
    }
}

/// A dunning letter to one client about its overdue invoices in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DunningLetter {
    /// The language.
    pub language: Language,
    /// The letter's date (the run's date).
    pub date: NaiveDate,
    /// The day by which payment is asked for.
    pub pay_by: NaiveDate,
    /// The sender's details (`kartoteka company set`): name, street, city, iban, …
    pub seller: BTreeMap<String, String>,
    /// The recipient: name, recipient, street, postal_code, city, country.
    pub recipient: BTreeMap<String, String>,
    /// ISO currency code of every amount.
    pub currency: String,
    /// The invoices, oldest due date first.
    pub items: Vec<LetterItem>,
}

impl DunningLetter {
    /// The highest level among the items: what the letter is headed as.
    pub fn level(&self) -> usize {
        self.items.iter().map(|item| item.level).max().unwrap_or(0)
    }

    /// Everything owed after this letter.
    pub fn total_minor(&self) -> i64 {
        self.items.iter().map(LetterItem::total_minor).sum()
    }

    /// The charges this letter adds (fees, interest, lump sum).
    pub fn new_charges_minor(&self) -> i64 {
        self.items
            .iter()
            .map(|item| item.fee_minor + item.interest_minor + item.lump_sum_minor)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_parse_and_follow_the_country() {
        assert_eq!("DE".parse::<Language>(), Ok(Language::De));
        assert_eq!("latviešu".parse::<Language>(), Ok(Language::Lv));
        assert!("fr".parse::<Language>().is_err());
        assert_eq!(Language::for_country("at"), Language::De);
        assert_eq!(Language::for_country("LV"), Language::Lv);
        assert_eq!(Language::for_country(""), Language::En);
    }
}
