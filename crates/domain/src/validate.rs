//! Validation of the values that have a checkable shape: e-mail syntax, IBAN check
//! digits, BIC, country and currency codes. Everything else is kept as typed:
//! unusual data is not wrong data.

use std::str::FromStr;

use iban::{BaseIban, Iban, IbanLike, ParseIbanError};

use crate::error::{DomainError, Result};

/// Trims an e-mail address and checks its syntax (no DNS lookup).
pub fn normalize_email(value: &str) -> Result<String> {
    let trimmed = value.trim();
    match email_address::EmailAddress::from_str(trimmed) {
        Ok(_) => Ok(trimmed.to_owned()),
        Err(_) => Err(DomainError::InvalidEmail { value: value.to_owned() }),
    }
}

/// Checks an IBAN's check digits and, for countries in the SWIFT registry, its
/// national format; returns the electronic form (no spaces, upper case).
///
/// An IBAN of a country the registry does not know is accepted when its check
/// digits are right: the registry grows, and a client's bank should not be
/// refused because our copy of it is old.
pub fn normalize_iban(value: &str) -> Result<String> {
    let compact: String = value.split_whitespace().collect::<String>().to_uppercase();
    match compact.parse::<Iban>() {
        Ok(iban) => Ok(iban.electronic_str().to_owned()),
        Err(ParseIbanError::UnknownCountry(base)) => Ok(base.electronic_str().to_owned()),
        Err(ParseIbanError::InvalidBban(_)) => Err(DomainError::InvalidIban {
            value: value.to_owned(),
            reason: "the account part does not follow the country's format".to_owned(),
        }),
        Err(ParseIbanError::InvalidBaseIban { source }) => {
            let reason = match compact.parse::<BaseIban>() {
                Err(iban::ParseBaseIbanError::InvalidChecksum) => {
                    "the check digits do not match (a typo?)".to_owned()
                }
                _ => source.to_string(),
            };
            Err(DomainError::InvalidIban { value: value.to_owned(), reason })
        }
    }
}

/// Checks the shape of a BIC: 4 letters (bank), 2 letters (country), 2 letters or
/// digits (location), optionally 3 letters or digits (branch).
pub fn normalize_bic(value: &str) -> Result<String> {
    let bic = value.trim().to_uppercase();
    let bytes = bic.as_bytes();
    let shape_ok = (bytes.len() == 8 || bytes.len() == 11)
        && bytes[..6].iter().all(u8::is_ascii_uppercase)
        && bytes[6..].iter().all(u8::is_ascii_alphanumeric);
    if shape_ok { Ok(bic) } else { Err(DomainError::InvalidBic { value: value.to_owned() }) }
}

/// Keeps a phone number as typed (spaces, `+`, extensions) but requires a digit.
pub fn normalize_phone(value: &str) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.chars().any(|c| c.is_ascii_digit()) {
        Ok(trimmed.split_whitespace().collect::<Vec<_>>().join(" "))
    } else {
        Err(DomainError::InvalidPhone { value: value.to_owned() })
    }
}

/// Upper-cases a two-letter country code.
pub fn normalize_country(value: &str) -> Result<String> {
    let code = value.trim().to_uppercase();
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(DomainError::InvalidCountry { value: value.to_owned() })
    }
}

/// Upper-cases a three-letter currency code.
pub fn normalize_currency(value: &str) -> Result<String> {
    let code = value.trim().to_uppercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(DomainError::InvalidCurrency { value: value.to_owned() })
    }
}

/// Parses payment terms in days (0 to 365).
pub fn normalize_payment_terms(value: &str) -> Result<String> {
    match value.trim().parse::<u32>() {
        Ok(days) if days <= 365 => Ok(days.to_string()),
        _ => Err(DomainError::InvalidPaymentTerms { value: value.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ibans_come_back_in_electronic_form() {
        assert_eq!(
            normalize_iban("lv80 bank 0000 4351 9500 1"),
            Ok("LV80BANK0000435195001".to_owned())
        );
        assert_eq!(
            normalize_iban("DE44 5001 0517 5407 3249 31"),
            Ok("DE44500105175407324931".to_owned())
        );
    }

    #[test]
    fn a_typo_in_an_iban_is_caught_by_its_check_digits() {
        let error = normalize_iban("DE44 5001 0517 5407 3249 32").unwrap_err();
        assert!(error.to_string().contains("check digits"), "{error}");
        assert!(normalize_iban("hello").is_err());
    }

    #[test]
    fn e_mail_syntax_is_checked_but_unusual_addresses_pass() {
        assert_eq!(normalize_email(" anna@example.lv "), Ok("anna@example.lv".to_owned()));
        assert!(normalize_email("jürgen.müller@bäckerei.de").is_ok());
        assert!(normalize_email("anna.example.lv").is_err());
        assert!(normalize_email("anna@").is_err());
    }

    #[test]
    fn bic_country_currency_and_terms_have_fixed_shapes() {
        assert_eq!(normalize_bic("habalv22"), Ok("HABALV22".to_owned()));
        assert_eq!(normalize_bic("DEUTDEFF500"), Ok("DEUTDEFF500".to_owned()));
        assert!(normalize_bic("HABA22").is_err());
        assert_eq!(normalize_country("ee"), Ok("EE".to_owned()));
        assert!(normalize_country("Latvia").is_err());
        assert_eq!(normalize_currency("eur"), Ok("EUR".to_owned()));
        assert!(normalize_currency("€").is_err());
        assert_eq!(normalize_payment_terms("14"), Ok("14".to_owned()));
        assert!(normalize_payment_terms("-1").is_err());
        assert!(normalize_payment_terms("400").is_err());
    }

    #[test]
    fn phones_need_a_digit_and_keep_their_formatting() {
        assert_eq!(normalize_phone(" +371  2912 3456 "), Ok("+371 2912 3456".to_owned()));
        assert!(normalize_phone("n/a").is_err());
    }
}
