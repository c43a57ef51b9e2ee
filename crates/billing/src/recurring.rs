//! Recurring invoices: periods and their deterministic ids.
//!
//! A template issues one invoice per period on a day of the period (clamped to
//! the period's last day: day 31 of February is the 28th or 29th). The invoice
//! for (template, period) has an id derived from both, so two replicas that
//! generate the same period offline produce one invoice after sync.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{InvoiceId, TemplateId};

/// How often a template issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Every month.
    Monthly,
    /// Every three months (January, April, July, October).
    Quarterly,
    /// Every year, in the start date's month.
    Yearly,
}

impl Period {
    /// Parses `monthly`, `quarterly` or `yearly`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_lowercase().as_str() {
            "monthly" => Some(Self::Monthly),
            "quarterly" => Some(Self::Quarterly),
            "yearly" => Some(Self::Yearly),
            _ => None,
        }
    }

    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Monthly => "monthly",
            Self::Quarterly => "quarterly",
            Self::Yearly => "yearly",
        }
    }

    fn months(self) -> u32 {
        match self {
            Self::Monthly => 1,
            Self::Quarterly => 3,
            Self::Yearly => 12,
        }
    }
}

/// When a template issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// How often.
    pub period: Period,
    /// Day of the period's first month (1–31, clamped to the month's length).
    pub day: u32,
    /// First period starts in this month; no invoice before this date.
    pub start: NaiveDate,
    /// No invoice after this date.
    pub end: Option<NaiveDate>,
}

/// One generated period: its first day and the invoice's issue date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    /// First day of the period.
    pub period_start: NaiveDate,
    /// The issue date of its invoice.
    pub issue_date: NaiveDate,
}

/// Every occurrence with an issue date up to and including `until`.
pub fn occurrences(schedule: &Schedule, until: NaiveDate) -> Vec<Occurrence> {
    let months = schedule.period.months();
    // Quarterly periods align to calendar quarters, the others to the start month.
    let mut month_index = schedule.start.year() * 12 + schedule.start.month0() as i32;
    if schedule.period == Period::Quarterly {
        month_index -= month_index % 3;
    }
    let mut found = Vec::new();
    loop {
        let year = month_index.div_euclid(12);
        let month0 = month_index.rem_euclid(12) as u32;
        let Some(period_start) = NaiveDate::from_ymd_opt(year, month0 + 1, 1) else { break };
        let issue_date = clamp_day(year, month0 + 1, schedule.day);
        if issue_date > until || schedule.end.is_some_and(|end| issue_date > end) {
            break;
        }
        if issue_date >= schedule.start {
            found.push(Occurrence { period_start, issue_date });
        }
        month_index += months as i32;
    }
    found
}

/// The next occurrence after `today` whose invoice is not generated yet
/// (`generated` says so by period start): periods generated ahead of time are
/// done, so the card and the list name the one after them.
pub fn next_pending(
    schedule: &Schedule,
    today: NaiveDate,
    n_generated: usize,
    generated: impl Fn(NaiveDate) -> bool,
) -> Option<Occurrence> {
    // At most `n_generated` of the occurrences after today are generated, so
    // the first `n_generated + 1` of them hold a pending one; each lies within
    // a period of the one before.
    let periods = u32::try_from(n_generated).unwrap_or(u32::MAX / 24).saturating_add(2);
    let months = schedule.period.months().saturating_mul(periods).saturating_add(1);
    let horizon = today.max(schedule.start).checked_add_months(chrono::Months::new(months))?;
    occurrences(schedule, horizon)
        .into_iter()
        .find(|occurrence| occurrence.issue_date > today && !generated(occurrence.period_start))
}

/// The id of the invoice a template issues for the period starting `period_start`.
pub fn invoice_id(template: TemplateId, period_start: NaiveDate) -> InvoiceId {
    InvoiceId::from_uuid(Uuid::new_v5(
        template.as_uuid(),
        format!("kartoteka/recurring/{period_start}").as_bytes(),
    ))
}

fn clamp_day(year: i32, month: u32, day: u32) -> NaiveDate {
    (1..=day.clamp(1, 31))
        .rev()
        .find_map(|day| NaiveDate::from_ymd_opt(year, month, day))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    #[test]
    fn month_ends_are_clamped_including_leap_years() {
        let schedule =
            Schedule { period: Period::Monthly, day: 31, start: date(2027, 12, 1), end: None };
        let dates: Vec<NaiveDate> =
            occurrences(&schedule, date(2028, 4, 30)).iter().map(|o| o.issue_date).collect();
        assert_eq!(
            dates,
            [
                date(2027, 12, 31),
                date(2028, 1, 31),
                date(2028, 2, 29),
                date(2028, 3, 31),
                date(2028, 4, 30)
            ]
        );
        let feb_2027 = occurrences(
            &Schedule { period: Period::Monthly, day: 30, start: date(2027, 2, 1), end: None },
            date(2027, 2, 28),
        );
        assert_eq!(feb_2027[0].issue_date, date(2027, 2, 28));
    }

    #[test]
    fn quarters_align_to_the_calendar_and_the_end_date_is_kept() {
        let schedule = Schedule {
            period: Period::Quarterly,
            day: 1,
            start: date(2026, 2, 10),
            end: Some(date(2026, 12, 31)),
        };
        let starts: Vec<NaiveDate> =
            occurrences(&schedule, date(2027, 6, 1)).iter().map(|o| o.period_start).collect();
        // January's quarter started before the start date: its issue date (1 Jan) is skipped.
        assert_eq!(starts, [date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1)]);
        let yearly =
            Schedule { period: Period::Yearly, day: 15, start: date(2025, 3, 1), end: None };
        assert_eq!(occurrences(&yearly, date(2026, 12, 31)).len(), 2);
        assert_eq!(
            next_pending(&yearly, date(2026, 11, 22), 0, |_| false).unwrap().issue_date,
            date(2027, 3, 15)
        );
        // A template starting next year is listed with its first date, not "never".
        let later =
            Schedule { period: Period::Monthly, day: 31, start: date(2027, 1, 1), end: None };
        assert_eq!(
            next_pending(&later, date(2026, 11, 22), 0, |_| false).unwrap().issue_date,
            date(2027, 1, 31)
        );
        // Periods generated ahead of time are passed over.
        let done = [date(2027, 1, 1), date(2027, 2, 1)];
        assert_eq!(
            next_pending(&later, date(2026, 11, 22), done.len(), |start| done.contains(&start))
                .unwrap()
                .issue_date,
            date(2027, 3, 31)
        );
        let ended = Schedule { end: Some(date(2027, 2, 28)), ..later };
        assert_eq!(
            next_pending(&ended, date(2026, 11, 22), 2, |start| done.contains(&start)),
            None
        );
    }

    #[test]
    fn the_same_template_and_period_give_the_same_invoice_id() {
        let template = TemplateId::from_uuid(Uuid::from_u128(3));
        assert_eq!(invoice_id(template, date(2026, 4, 1)), invoice_id(template, date(2026, 4, 1)));
        assert_ne!(invoice_id(template, date(2026, 4, 1)), invoice_id(template, date(2026, 7, 1)));
    }
}
