//! Invoice numbers: per-device series and their patterns.
//!
//! German and EU rules allow several number series as long as every number is
//! unique and belongs to one series (UStAE 14.5 Abs. 10–11). A series belongs to
//! one device: a user-chosen code (a label such as `T03`) together with the
//! device's tag, six hex digits of its id. Every number ends in the tag
//! (`2026-T03-0042-7F3A2B`), so replicas issue offline without coordinating and
//! two devices cannot produce the same number even with the same code: their
//! numbers differ in the last six characters.

use crate::error::{BillingError, Result};

/// The pattern used when a device has not set its own: `2026-T03-0042`.
pub const DEFAULT_PATTERN: &str = "{year}-{series}-{seq:4}";

/// Length of a device tag in hex digits.
pub const DEVICE_TAG_LEN: usize = 6;

/// The tag that ends every number a device issues: the first six hex digits of
/// its id, upper case (`7F3A2B`).
pub fn device_tag(device_id: &uuid::Uuid) -> String {
    // The simple form is always 32 hex digits, so the first six exist.
    device_id.simple().to_string().to_uppercase().chars().take(DEVICE_TAG_LEN).collect()
}

/// The key of a device's series: its code and its tag (`T03-7F3A2B`). Sequence
/// numbers count per key and year, and an invoice records the key it came from.
pub fn series_key(code: &str, tag: &str) -> String {
    format!("{code}-{tag}")
}

/// A number issued by a device: the pattern filled, then `-` and the device's
/// tag. Whatever the pattern, the last seven characters name the device.
pub fn device_number(pattern: &str, year: i32, code: &str, seq: i64, tag: &str) -> String {
    format!("{}-{tag}", format_number(pattern, year, code, seq))
}

/// Checks a series code: 1–12 letters or digits, so numbers stay readable.
pub fn validate_code(code: &str) -> Result<()> {
    let valid = (1..=12).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric());
    if valid { Ok(()) } else { Err(BillingError::InvalidSeriesCode(code.to_owned())) }
}

/// Checks a pattern: it must contain `{year}`, `{series}` and `{seq}` (or
/// `{seq:N}` for N digits), with `{series}` set off by separators (or the
/// pattern's start or end), or two series or years could produce one number.
pub fn validate_pattern(pattern: &str) -> Result<()> {
    let invalid = || BillingError::InvalidNumberPattern(pattern.to_owned());
    if !pattern.contains("{year}") || !pattern.contains("{series}") {
        return Err(invalid());
    }
    let mut rest = pattern;
    let mut seq_found = false;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').ok_or_else(invalid)? + start;
        match &rest[start + 1..end] {
            "year" | "series" => {}
            "seq" => seq_found = true,
            other => {
                let width = other.strip_prefix("seq:").ok_or_else(invalid)?;
                width
                    .parse::<u8>()
                    .ok()
                    .filter(|width| (1..=9).contains(width))
                    .ok_or_else(invalid)?;
                seq_found = true;
            }
        }
        rest = &rest[end + 1..];
    }
    if !seq_found {
        return Err(invalid());
    }
    // Codes are letters and digits: without a separator around the code, series
    // "A1" at 23 and series "A12" at 3 would both read "2026A123".
    let (before, after) = pattern.split_once("{series}").ok_or_else(invalid)?;
    let delimited = |next: Option<char>| {
        next.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '}' && c != '{')
    };
    if !delimited(before.chars().next_back()) || !delimited(after.chars().next()) {
        return Err(invalid());
    }
    Ok(())
}

/// Fills a (validated) pattern.
pub fn format_number(pattern: &str, year: i32, series: &str, seq: i64) -> String {
    let mut number = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        number.push_str(&rest[..start]);
        let Some(length) = rest[start..].find('}') else { break };
        let end = start + length;
        match &rest[start + 1..end] {
            "year" => number.push_str(&year.to_string()),
            "series" => number.push_str(series),
            "seq" => number.push_str(&seq.to_string()),
            other => {
                let width =
                    other.strip_prefix("seq:").and_then(|width| width.parse().ok()).unwrap_or(1);
                number.push_str(&format!("{seq:0width$}"));
            }
        }
        rest = &rest[end + 1..];
    }
    number.push_str(rest);
    number
}

/// The code of a device's `n`th recurring template in series `code`:
/// `T03R2-7F3A2B`, the creating device's tag included.
pub fn template_code(code: &str, n: i64, tag: &str) -> String {
    format!("{code}R{n}-{tag}")
}

/// The number of a recurring template's invoice for the period starting in
/// `year`/`month`: derived from the template's code (which carries the tag of
/// the device that created the template), so two replicas that generate the
/// same period offline give it the same number.
pub fn recurring_number(template_code: &str, year: i32, month: u32) -> String {
    format!("{template_code}-{year}-{month:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_fill_year_series_and_padded_sequence() {
        assert_eq!(format_number(DEFAULT_PATTERN, 2026, "T03", 42), "2026-T03-0042");
        assert_eq!(format_number("RE-{series}/{year}/{seq}", 2026, "B", 7), "RE-B/2026/7");
        assert_eq!(format_number(DEFAULT_PATTERN, 2026, "T03", 123_456), "2026-T03-123456");
        assert_eq!(recurring_number("T03R2", 2027, 1), "T03R2-2027-01");
    }

    #[test]
    fn device_numbers_end_in_the_device_tag_whatever_the_pattern() {
        let anna = uuid::Uuid::parse_str("7f3a2b11-0000-4000-8000-000000000000").unwrap();
        let otto = uuid::Uuid::parse_str("0c9e4d22-0000-4000-8000-000000000000").unwrap();
        assert_eq!(device_tag(&anna), "7F3A2B");
        assert_eq!(series_key("T03", &device_tag(&anna)), "T03-7F3A2B");
        let a = device_number(DEFAULT_PATTERN, 2026, "T03", 1, &device_tag(&anna));
        let o = device_number(DEFAULT_PATTERN, 2026, "T03", 1, &device_tag(&otto));
        assert_eq!(a, "2026-T03-0001-7F3A2B");
        assert_eq!(o, "2026-T03-0001-0C9E4D");
        // A pattern that spells another device's tag still ends in its own.
        let odd = device_number("{year}-{series}-{seq}-0C9E4D", 2026, "T03", 1, "7F3A2B");
        assert!(odd.ends_with("-7F3A2B"), "{odd}");
        assert_eq!(template_code("T03", 2, "7F3A2B"), "T03R2-7F3A2B");
        assert_eq!(recurring_number("T03R2-7F3A2B", 2027, 1), "T03R2-7F3A2B-2027-01");
    }

    #[test]
    fn patterns_and_codes_that_could_repeat_numbers_are_refused() {
        assert!(validate_pattern(DEFAULT_PATTERN).is_ok());
        assert!(validate_pattern("{year}-{seq:5}").is_err(), "no series");
        assert!(validate_pattern("{series}-{seq}").is_err(), "no year");
        assert!(validate_pattern("{year}-{series}").is_err(), "no sequence");
        assert!(validate_pattern("{year}-{series}-{seq:x}").is_err());
        assert!(validate_pattern("{year}-{series}-{seq").is_err());
        assert!(validate_pattern("{year}{series}{seq}").is_err(), "code runs into the numbers");
        assert!(validate_pattern("{year}/{series}{seq:4}").is_err(), "code runs into the sequence");
        assert!(validate_pattern("RE{series}-{year}-{seq}").is_err(), "letters run into the code");
        assert!(validate_pattern("{series}/{year}/{seq:5}").is_ok());
        assert!(validate_code("T03").is_ok());
        assert!(validate_code("T 03").is_err());
        assert!(validate_code("").is_err());
    }
}
