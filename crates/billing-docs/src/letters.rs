//! Dunning letters: one HTML page per letter, from the template of its language.
//!
//! The data is formatted here (amounts, dates) and the words live in the
//! templates, so a translator edits one file per language and never touches
//! arithmetic.

use billing::letter::{DunningLetter, Language};
use serde::Serialize;

use crate::error::Result;
use crate::format;

/// Renders a dunning letter as a self-contained HTML page (UTF-8).
pub fn render(letter: &DunningLetter) -> Result<String> {
    crate::templates::render(&format!("letter.{}.html", letter.language.code()), view(letter))
}

/// The heading of a letter whose highest level is `level` (0 = the payment
/// reminder) in `language`; its file is named after it too.
pub fn heading(language: Language, level: usize) -> &'static str {
    let (headings, last): (&[&'static str], &'static str) = match language {
        Language::De => {
            (&["Zahlungserinnerung", "1. Mahnung", "2. Mahnung", "3. Mahnung"], "Letzte Mahnung")
        }
        Language::En => {
            (&["Payment reminder", "First notice", "Second notice", "Third notice"], "Final notice")
        }
        Language::Lv => (
            &["Atgādinājums par maksājumu", "1. brīdinājums", "2. brīdinājums", "3. brīdinājums"],
            "Pēdējais brīdinājums",
        ),
    };
    headings.get(level).copied().unwrap_or(last)
}

/// The file name a letter is stored under: its heading, date, client and
/// currency (`2-Mahnung-2026-11-22-Bäckerei-Müller-EUR.html`).
pub fn file_name(letter: &DunningLetter, client_name: &str) -> String {
    let word = plain(heading(letter.language, letter.level()));
    format!("{word}-{}-{}-{}.html", letter.date, plain(client_name), letter.currency)
}

/// Letters and digits, runs of anything else as one `-`.
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

#[derive(Serialize)]
struct LetterView<'a> {
    level: usize,
    heading: &'static str,
    date: String,
    pay_by: String,
    seller: &'a std::collections::BTreeMap<String, String>,
    recipient: &'a std::collections::BTreeMap<String, String>,
    items: Vec<ItemView<'a>>,
    total: String,
    new_charges: String,
    has_charges: bool,
    has_interest: bool,
    has_lump_sum: bool,
}

#[derive(Serialize)]
struct ItemView<'a> {
    number: &'a str,
    issue_date: String,
    due_date: String,
    days_overdue: i64,
    level: usize,
    level_name: &'a str,
    open: String,
    earlier_charges: String,
    fee: String,
    interest: String,
    interest_from: String,
    interest_to: String,
    lump_sum: String,
    total: String,
}

fn view(letter: &DunningLetter) -> LetterView<'_> {
    let language = letter.language;
    let money = |minor| format::money(minor, &letter.currency, language);
    let date = |day| format::date(day, language);
    let items = letter
        .items
        .iter()
        .map(|item| ItemView {
            number: &item.number,
            issue_date: date(item.issue_date),
            due_date: date(item.due_date),
            days_overdue: item.days_overdue,
            level: item.level,
            level_name: &item.level_name,
            open: money(item.open_minor),
            earlier_charges: money(item.earlier_charges_minor),
            fee: money(item.fee_minor),
            interest: money(item.interest_minor),
            interest_from: item.interest_period.map(|(from, _)| date(from)).unwrap_or_default(),
            interest_to: item.interest_period.map(|(_, to)| date(to)).unwrap_or_default(),
            lump_sum: money(item.lump_sum_minor),
            total: money(item.total_minor()),
        })
        .collect();
    LetterView {
        level: letter.level(),
        heading: heading(language, letter.level()),
        date: date(letter.date),
        pay_by: date(letter.pay_by),
        seller: &letter.seller,
        recipient: &letter.recipient,
        items,
        total: money(letter.total_minor()),
        new_charges: money(letter.new_charges_minor()),
        has_charges: letter.items.iter().any(|item| {
            item.earlier_charges_minor + item.fee_minor + item.interest_minor + item.lump_sum_minor
                > 0
        }),
        has_interest: letter.items.iter().any(|item| item.interest_minor > 0),
        has_lump_sum: letter.items.iter().any(|item| item.lump_sum_minor > 0),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

    use std::collections::BTreeMap;

    use billing::letter::LetterItem;
    use chrono::NaiveDate;

    use super::*;

    fn day(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, day).unwrap()
    }

    fn letter(language: Language) -> DunningLetter {
        let seller = BTreeMap::from([
            ("name".to_owned(), "Serviss GmbH".to_owned()),
            ("iban".to_owned(), "DE44 5001 0517 5407 3249 31".to_owned()),
        ]);
        let recipient = BTreeMap::from([
            ("name".to_owned(), "Bäckerei <Müller> & Söhne".to_owned()),
            ("city".to_owned(), "Berlin".to_owned()),
        ]);
        DunningLetter {
            language,
            date: day(11, 22),
            pay_by: day(12, 2),
            seller,
            recipient,
            currency: "EUR".to_owned(),
            items: vec![LetterItem {
                number: "2026-B01-0001".to_owned(),
                issue_date: day(9, 1),
                due_date: day(9, 15),
                days_overdue: 68,
                open_minor: 13_739,
                level: 1,
                level_name: "1st notice".to_owned(),
                earlier_charges_minor: 0,
                fee_minor: 250,
                interest_minor: 312,
                interest_period: Some((day(9, 16), day(11, 22))),
                lump_sum_minor: 4_000,
            }],
        }
    }

    #[test]
    fn every_language_renders_the_amounts_and_escapes_names() {
        for language in Language::ALL {
            let html = render(&letter(language)).unwrap();
            assert!(html.contains("2026-B01-0001"), "{language}: {html}");
            assert!(html.contains("Bäckerei &lt;Müller&gt; &amp; Söhne"), "{language}");
            assert!(!html.contains("<Müller>"), "{language}");
            assert!(
                html.contains(&format::money(13_739 + 250 + 312 + 4_000, "EUR", language)),
                "{language}"
            );
            assert!(html.contains("DE44 5001 0517 5407 3249 31"), "{language}");
            assert!(html.contains(&format!("lang=\"{}\"", language.code())), "{language}");
        }
        let german = render(&letter(Language::De)).unwrap();
        assert!(german.contains("1. Mahnung"), "{german}");
        assert!(german.contains("Verzugszinsen"), "{german}");
        let latvian = render(&letter(Language::Lv)).unwrap();
        assert!(latvian.contains("Nokavējuma procenti"), "{latvian}");
    }

    #[test]
    fn rendering_is_deterministic_and_file_names_are_plain() {
        let one = render(&letter(Language::En)).unwrap();
        assert_eq!(one, render(&letter(Language::En)).unwrap());
        assert_eq!(
            file_name(&letter(Language::De), "Bäckerei Müller / Süd"),
            "1-Mahnung-2026-11-22-Bäckerei-Müller-Süd-EUR.html"
        );
    }

    /// Issue 11, part 3: a file is named after its letter's heading.
    #[test]
    fn file_names_follow_the_level_in_the_letters_language() {
        let cases = [
            (Language::En, 0, "Payment reminder", "Payment-reminder-"),
            (Language::En, 1, "First notice", "First-notice-"),
            (Language::De, 0, "Zahlungserinnerung", "Zahlungserinnerung-"),
            (Language::De, 2, "2. Mahnung", "2-Mahnung-"),
            (Language::Lv, 3, "3. brīdinājums", "3-brīdinājums-"),
            (Language::Lv, 7, "Pēdējais brīdinājums", "Pēdējais-brīdinājums-"),
        ];
        for (language, level, heading, prefix) in cases {
            let mut letter = letter(language);
            letter.items[0].level = level;
            let name = file_name(&letter, "Klients");
            assert!(name.starts_with(prefix), "{language} level {level}: {name}");
            let html = render(&letter).unwrap();
            assert!(html.contains(&format!("<h1>{heading}</h1>")), "{language} {level}: {html}");
        }
    }
}
