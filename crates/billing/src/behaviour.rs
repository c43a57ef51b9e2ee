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

/// Payment behaviour of a client as of a day: how late paid invoices were
/// paid, and, separately, what is overdue and unpaid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaymentBehaviour {
    /// Paid invoices considered.
    pub paid_invoices: usize,
    /// Average days late of the paid invoices, weighted by amount (an invoice
    /// paid early counts 0).
    pub average_days_late: f64,
    /// Share of the paid invoices paid after their due date, in percent.
    pub share_late_percent: f64,
    /// The longest delay of a paid invoice, in days.
    pub longest_delay_days: i64,
    /// Unpaid invoices past their due date.
    pub overdue_invoices: usize,
    /// Days the longest-overdue unpaid invoice is past due.
    pub longest_overdue_days: i64,
    /// The weighted average days late of invoices paid that fell due in the
    /// last 12 months.
    pub recent_average_days_late: Option<f64>,
    /// The same before those 12 months.
    pub earlier_average_days_late: Option<f64>,
    /// `better`, `worse` or `same`: the last 12 months against the years before
    /// (a difference under two days counts as the same).
    pub trend: &'static str,
}

/// Computes payment behaviour as of `today`. An invoice belongs to the last 12
/// months when it fell due in them. An open invoice is not "paid late" (it is
/// not paid): it counts as overdue once past due, and says nothing before.
pub fn payment_behaviour(history: &[InvoiceHistory], today: NaiveDate) -> PaymentBehaviour {
    let year_ago = today - chrono::Months::new(12);
    let invoices = history.iter().filter(|invoice| invoice.gross_minor > 0);
    let delays: Vec<(i64, i64, NaiveDate)> = invoices
        .clone()
        .filter_map(|invoice| {
            let paid_on = invoice.paid_on?;
            Some(((paid_on - invoice.due).num_days().max(0), invoice.gross_minor, invoice.due))
        })
        .collect();
    let overdue: Vec<i64> = invoices
        .filter(|invoice| invoice.paid_on.is_none() && invoice.due < today)
        .map(|invoice| (today - invoice.due).num_days())
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
        paid_invoices: delays.len(),
        average_days_late: (average * 10.0).round() / 10.0,
        share_late_percent: if delays.is_empty() {
            0.0
        } else {
            (late as f64 * 1000.0 / delays.len() as f64).round() / 10.0
        },
        longest_delay_days: delays.iter().map(|(days, _, _)| *days).max().unwrap_or(0),
        overdue_invoices: overdue.len(),
        longest_overdue_days: overdue.iter().copied().max().unwrap_or(0),
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
    fn days_late_are_weighted_by_amount_and_open_overdue_invoices_count_apart() {
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
        assert_eq!(behaviour.paid_invoices, 3);
        // (10×900 + 0×100 + 40×100) / 1100 = 11.8
        assert_eq!(behaviour.average_days_late, 11.8);
        assert_eq!(behaviour.share_late_percent, 66.7);
        assert_eq!(behaviour.longest_delay_days, 40);
        // The open one is overdue, said separately.
        assert_eq!((behaviour.overdue_invoices, behaviour.longest_overdue_days), (1, 21));
        // Recent: 9000 / 1000 = 9.0; earlier: 40 → better.
        assert_eq!(behaviour.recent_average_days_late, Some(9.0));
        assert_eq!(behaviour.earlier_average_days_late, Some(40.0));
        assert_eq!(behaviour.trend, "better");
    }

    /// Issue 11, part 3: an unpaid invoice is overdue, not "paid late".
    #[test]
    fn an_unpaid_overdue_invoice_is_not_counted_as_paid_late() {
        let today = date(2026, 11, 22);
        let history =
            [InvoiceHistory { gross_minor: 10_000, due: date(2026, 11, 6), paid_on: None }];
        let behaviour = payment_behaviour(&history, today);
        assert_eq!(behaviour.average_days_late, 0.0);
        assert_eq!(behaviour.share_late_percent, 0.0);
        assert_eq!(behaviour.longest_delay_days, 0);
        assert_eq!(behaviour.paid_invoices, 0);
        assert_eq!((behaviour.overdue_invoices, behaviour.longest_overdue_days), (1, 16));
    }

    #[test]
    fn a_client_without_history_has_neutral_behaviour() {
        let behaviour = payment_behaviour(&[], date(2026, 11, 22));
        assert_eq!((behaviour.paid_invoices, behaviour.overdue_invoices), (0, 0));
        assert_eq!(behaviour.trend, "same");
    }
}
