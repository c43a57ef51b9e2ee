//! Amounts and dates as each language writes them: "1.234,56 EUR" (de),
//! "1 234,56 EUR" (lv), "EUR 1,234.56" (en); "22.11.2026", "22.11.2026.",
//! "22 November 2026".

use billing::letter::Language;
use chrono::NaiveDate;
use num_format::{Buffer, Locale};

/// An amount in minor units of `currency` as `language` writes it, with the
/// language's separators from CLDR.
pub fn money(minor: i64, currency: &str, language: Language) -> String {
    let locale = locale(language);
    let sign = if minor < 0 { locale.minus_sign() } else { "" };
    let absolute = minor.unsigned_abs();
    let mut whole = Buffer::default();
    whole.write_formatted(&(absolute / 100), &locale);
    let number = format!("{sign}{whole}{}{:02}", locale.decimal(), absolute % 100);
    match language {
        Language::En => format!("{currency}\u{a0}{number}"),
        Language::De | Language::Lv => format!("{number}\u{a0}{currency}"),
    }
}

/// A rate in basis points as `language` writes a percentage, without the sign:
/// 1900 → "19,00" (de, lv), "19.00" (en).
pub fn percent(basis_points: u32, language: Language) -> String {
    format!("{}{}{:02}", basis_points / 100, locale(language).decimal(), basis_points % 100)
}

const fn locale(language: Language) -> Locale {
    match language {
        Language::De => Locale::de,
        Language::En => Locale::en,
        Language::Lv => Locale::lv,
    }
}

/// A date as `language` writes it in a letter.
pub fn date(date: NaiveDate, language: Language) -> String {
    match language {
        Language::De => date.format("%d.%m.%Y").to_string(),
        Language::Lv => date.format("%d.%m.%Y.").to_string(),
        Language::En => date.format("%-d %B %Y").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_dates_per_language() {
        assert_eq!(money(123_456, "EUR", Language::De), "1.234,56\u{a0}EUR");
        assert_eq!(money(123_456_789, "EUR", Language::Lv), "1\u{a0}234\u{a0}567,89\u{a0}EUR");
        assert_eq!(money(-5, "USD", Language::En), "USD\u{a0}-0.05");
        assert_eq!(money(100_000, "EUR", Language::En), "EUR\u{a0}1,000.00");
        assert_eq!(percent(1_900, Language::De), "19,00");
        assert_eq!(percent(750, Language::En), "7.50");
        let day = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default();
        assert_eq!(date(day, Language::De), "02.11.2026");
        assert_eq!(date(day, Language::Lv), "02.11.2026.");
        assert_eq!(date(day, Language::En), "2 November 2026");
    }
}
