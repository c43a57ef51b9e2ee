//! Amounts and dates as each language writes them: "1.234,56 EUR" (de),
//! "1 234,56 EUR" (lv), "EUR 1,234.56" (en); "22.11.2026", "22.11.2026.",
//! "22 November 2026".

use billing::letter::Language;
use chrono::NaiveDate;

/// An amount in minor units of `currency` as `language` writes it.
pub fn money(minor: i64, currency: &str, language: Language) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let absolute = minor.unsigned_abs();
    let (group, decimal) = match language {
        Language::De => ('.', ','),
        Language::Lv => ('\u{a0}', ','),
        Language::En => (',', '.'),
    };
    let whole = grouped(absolute / 100, group);
    let number = format!("{sign}{whole}{decimal}{:02}", absolute % 100);
    match language {
        Language::En => format!("{currency}\u{a0}{number}"),
        Language::De | Language::Lv => format!("{number}\u{a0}{currency}"),
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

fn grouped(mut value: u64, separator: char) -> String {
    let mut groups = Vec::new();
    loop {
        groups.push(value % 1000);
        value /= 1000;
        if value == 0 {
            break;
        }
    }
    let mut text = String::new();
    for (index, group) in groups.iter().rev().enumerate() {
        if index == 0 {
            text.push_str(&group.to_string());
        } else {
            text.push(separator);
            text.push_str(&format!("{group:03}"));
        }
    }
    text
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
        let day = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default();
        assert_eq!(date(day, Language::De), "02.11.2026");
        assert_eq!(date(day, Language::Lv), "02.11.2026.");
        assert_eq!(date(day, Language::En), "2 November 2026");
    }
}
