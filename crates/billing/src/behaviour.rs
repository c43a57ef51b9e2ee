//! How a client pays: not only whether, but how late.

use chrono::NaiveDate;
use serde::Serialize;

/// One issued invoice as payment behaviour sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceHistory {
    /// Gross amount.
    pub gross_minor: i64,
    /// Due date.
    pub due: NaiveDate,
    /// The day it was fully paid, if it was.
    pub paid_on: Option<NaiveDate>,
}

/// Payment behaviour of a client as of a day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaymentBehaviour {
    /// Invoices considered: paid ones, and open ones already past due.
    pub invoices: usize,
    /// Average days late, weighted by amount (an invoice paid early counts 0).
    pub average_days_late: f64,
    /// Share of those invoices paid late or still overdue, in percent.
    pub share_late_percent: f64,
    /// The longest delay in days (an open one counts until today).
    pub longest_delay_days: i64,
    /// The weighted average days late over the last 12 months.
    pub recent_average_days_late: Option<f64>,
    /// The same before those 12 months.
    pub earlier_average_days_late: Option<f64>,
    /// `better`, `worse` or `same`: the last 12 months against the years before
    /// (a difference under two days counts as the same).
    pub trend: &'static str,
}

/// Computes payment behaviour as of `today`. An invoice belongs to the last 12
/// months when it fell due in them.
pub fn payment_behaviour(history: &[InvoiceHistory], today: NaiveDate) -> PaymentBehaviour {
    let year_ago = today - chrono::Months::new(12);
    let delays: Vec<(i64, i64, NaiveDate)> = history
        .iter()
        .filter(|invoice| invoice.gross_minor > 0)
        .filter_map(|invoice| {
            let settled = invoice.paid_on.unwrap_or(today);
            if invoice.paid_on.is_none() && today <= invoice.due {
                return None; // open and not yet due: says nothing yet
            }
            Some(((settled - invoice.due).num_days().max(0), invoice.gross_minor, invoice.due))
        })
        .collect();
    let weighted = |rows: &mut dyn Iterator<Item = &(i64, i64, NaiveDate)>| -> Option<f64> {
        let (days, amount) = rows.fold((0_i128, 0_i128), |(days, amount), (late, gross, _)| {
            (days + i128::from(*late) * i128::from(*gross), amount + i128::from(*gross))
        });
        (amount > 0).then(|| days as f64 / amount as f64)
    };
    let average = weighted(&mut delays.iter()).unwrap_or(0.0);
    let recent = weighted(&mut delays.iter().filter(|(_, _, due)| *due > year_ago));
    let earlier = weighted(&mut delays.iter().filter(|(_, _, due)| *due <= year_ago));
    let late = delays.iter().filter(|(days, _, _)| *days > 0).count();
    let trend = match (recent, earlier) {
        (Some(recent), Some(earlier)) if recent + 2.0 < earlier => "better",
        (Some(recent), Some(earlier)) if recent > earlier + 2.0 => "worse",
        _ => "same",
    };
    PaymentBehaviour {
        invoices: delays.len(),
        average_days_late: (average * 10.0).round() / 10.0,
        share_late_percent: if delays.is_empty() {
            0.0
        } else {
            (late as f64 * 1000.0 / delays.len() as f64).round() / 10.0
        },
        longest_delay_days: delays.iter().map(|(days, _, _)| *days).max().unwrap_or(0),
        recent_average_days_late: recent.map(|value| (value * 10.0).round() / 10.0),
        earlier_average_days_late: earlier.map(|value| (value * 10.0).round() / 10.0),
        trend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    #[test]
    fn days_late_are_weighted_by_amount_and_open_overdue_invoices_count() {
        let today = date(2026, 11, 22);
        let history = [
            // Paid 10 days late, 900.
            InvoiceHistory {
                gross_minor: 90_000,
                due: date(2026, 9, 1),
                paid_on: Some(date(2026, 9, 11)),
            },
            // Paid early, 100.
            InvoiceHistory {
                gross_minor: 10_000,
                due: date(2026, 10, 1),
                paid_on: Some(date(2026, 9, 25)),
            },
            // Open, not yet due: ignored.
            InvoiceHistory { gross_minor: 50_000, due: date(2026, 12, 1), paid_on: None },
            // Two years ago, paid 40 days late.
            InvoiceHistory {
                gross_minor: 10_000,
                due: date(2024, 11, 1),
                paid_on: Some(date(2024, 12, 11)),
            },
            // Open and 21 days overdue.
            InvoiceHistory { gross_minor: 10_000, due: date(2026, 11, 1), paid_on: None },
        ];
        let behaviour = payment_behaviour(&history, today);
        assert_eq!(behaviour.invoices, 4);
        // (10×900 + 0×100 + 40×100 + 21×100) / 1200 = 12.58
        assert_eq!(behaviour.average_days_late, 12.6);
        assert_eq!(behaviour.share_late_percent, 75.0);
        assert_eq!(behaviour.longest_delay_days, 40);
        // Recent: (9000 + 2100) / 1100 = 10.1; earlier: 40 → better.
        assert_eq!(behaviour.recent_average_days_late, Some(10.1));
        assert_eq!(behaviour.earlier_average_days_late, Some(40.0));
        assert_eq!(behaviour.trend, "better");
    }

    #[test]
    fn a_client_without_history_has_neutral_behaviour() {
        let behaviour = payment_behaviour(&[], date(2026, 11, 22));
        assert_eq!(behaviour.invoices, 0);
        assert_eq!(behaviour.trend, "same");
    }
}
