//! Money and quantities as integers.
//!
//! An amount is minor units (cents) of a currency with two decimals; a quantity
//! is thousandths. Rounding is half away from zero, the commercial convention.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{BillingError, Result};

/// An ISO 4217 currency code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// The euro.
    pub const EUR: Self = Self(*b"EUR");

    /// The code ("EUR").
    pub fn as_str(&self) -> &str {
        // Constructed only from three ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl FromStr for Currency {
    type Err = BillingError;

    fn from_str(text: &str) -> Result<Self> {
        let code = text.trim().to_uppercase();
        match <[u8; 3]>::try_from(code.as_bytes()) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_uppercase) => Ok(Self(bytes)),
            _ => Err(BillingError::InvalidCurrency(text.to_owned())),
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = BillingError;
    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount of money: minor units of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (cents).
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// An amount.
    pub const fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Parses "120.50" in `currency`.
    pub fn parse(text: &str, currency: Currency) -> Result<Self> {
        Ok(Self { minor: parse_minor(text)?, currency })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", format_minor(self.minor), self.currency)
    }
}

/// Parses a decimal amount with up to two decimals into minor units.
pub fn parse_minor(text: &str) -> Result<i64> {
    parse_fixed(text, 2).ok_or_else(|| BillingError::InvalidAmount(text.to_owned()))
}

/// Parses a quantity with up to three decimals into thousandths.
pub fn parse_quantity(text: &str) -> Result<i64> {
    parse_fixed(text, 3).ok_or_else(|| BillingError::InvalidQuantity(text.to_owned()))
}

/// Parses a VAT rate in percent (up to two decimals) into basis points.
pub fn parse_vat_rate(text: &str) -> Result<u32> {
    let text = text.trim().trim_end_matches('%');
    parse_fixed(text, 2)
        .and_then(|bp| u32::try_from(bp).ok())
        .filter(|bp| *bp <= 10_000)
        .ok_or_else(|| BillingError::InvalidVatRate(text.to_owned()))
}

/// A decimal with at most `decimals` decimals as an integer of that scale
/// ("1.5", 3 → 1500); `None` if it is not such a number.
fn parse_fixed(text: &str, decimals: u32) -> Option<i64> {
    let text = text.trim().replace(',', ".");
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((&digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if fraction.len() > decimals as usize {
        return None;
    }
    let scale = 10_i64.checked_pow(decimals)?;
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let fraction_value: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<i64>().ok()? * 10_i64.checked_pow(decimals - fraction.len() as u32)?
    };
    let value = whole.checked_mul(scale)?.checked_add(fraction_value)?;
    Some(if negative { -value } else { value })
}

/// Minor units as "1 234.50"-style text without grouping: "1234.50".
pub fn format_minor(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let absolute = minor.unsigned_abs();
    format!("{sign}{}.{:02}", absolute / 100, absolute % 100)
}

/// Thousandths as text without trailing zeros: 1500 → "1.5".
pub fn format_quantity(milli: i64) -> String {
    let sign = if milli < 0 { "-" } else { "" };
    let absolute = milli.unsigned_abs();
    let fraction = format!("{:03}", absolute % 1000);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{sign}{}", absolute / 1000)
    } else {
        format!("{sign}{}.{fraction}", absolute / 1000)
    }
}

/// `numerator / denominator` rounded half away from zero.
pub fn round_half_away(numerator: i128, denominator: i128) -> Result<i64> {
    if denominator == 0 {
        return Err(BillingError::Overflow);
    }
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    let rounded = if remainder.abs() * 2 >= denominator.abs() {
        quotient + if (numerator < 0) == (denominator < 0) { 1 } else { -1 }
    } else {
        quotient
    };
    i64::try_from(rounded).map_err(|_| BillingError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_quantities_parse_to_integers() {
        assert_eq!(parse_minor("120.5"), Ok(12_050));
        assert_eq!(parse_minor("0,99"), Ok(99));
        assert_eq!(parse_minor("-3"), Ok(-300));
        assert!(parse_minor("1.234").is_err());
        assert!(parse_minor("12a").is_err());
        assert!(parse_minor("").is_err());
        assert_eq!(parse_quantity("1.5"), Ok(1_500));
        assert_eq!(parse_quantity("0.125"), Ok(125));
        assert_eq!(parse_vat_rate("21"), Ok(2_100));
        assert_eq!(parse_vat_rate("7.5%"), Ok(750));
        assert!(parse_vat_rate("120").is_err());
        assert_eq!(format_minor(-12_050), "-120.50");
        assert_eq!(format_quantity(1_500), "1.5");
        assert_eq!(format_quantity(2_000), "2");
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_half_away(5, 10), Ok(1));
        assert_eq!(round_half_away(-5, 10), Ok(-1));
        assert_eq!(round_half_away(4, 10), Ok(0));
        assert_eq!(round_half_away(-15, 10), Ok(-2));
        assert_eq!(round_half_away(14, 10), Ok(1));
    }

    #[test]
    fn currencies_are_three_letters() {
        assert_eq!("eur".parse::<Currency>(), Ok(Currency::EUR));
        assert!("€".parse::<Currency>().is_err());
        assert_eq!(Money::parse("10", Currency::EUR).unwrap().to_string(), "10.00 EUR");
    }
}
