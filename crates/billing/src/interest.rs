//! §288 BGB default interest.
//!
//! The rate is the base rate (§247 BGB, set by the Deutsche Bundesbank on
//! 1 January and 1 July) plus 5 percentage points with consumers or 9 with
//! businesses. Interest accrues per day (actual/365) at the rate in force that
//! day, so a period across a base-rate change uses both rates.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::money::round_half_away;

/// A base rate in force from a date until the next entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseRate {
    /// First day the rate applies.
    pub from: NaiveDate,
    /// The rate in basis points (−88 = −0.88 %).
    pub rate_bp: i32,
}

/// The base rates Kartoteka ships with (Deutsche Bundesbank). Later rates are
/// added by users (`kartoteka billing base-rate`), since a rate is only known
/// once it is published.
pub fn known_base_rates() -> Vec<BaseRate> {
    [
        (2020, 1, 1, -88),
        (2023, 1, 1, 162),
        (2023, 7, 1, 312),
        (2024, 1, 1, 362),
        (2024, 7, 1, 337),
        (2025, 1, 1, 227),
        (2025, 7, 1, 127),
    ]
    .into_iter()
    .filter_map(|(year, month, day, rate_bp)| {
        Some(BaseRate { from: NaiveDate::from_ymd_opt(year, month, day)?, rate_bp })
    })
    .collect()
}

/// Whether the debtor is a business (9 points) or a consumer (5 points).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Debtor {
    /// A consumer: base rate + 5 points.
    Consumer,
    /// A business: base rate + 9 points.
    Business,
}

impl Debtor {
    const fn surcharge_bp(self) -> i32 {
        match self {
            Self::Consumer => 500,
            Self::Business => 900,
        }
    }
}

/// Default interest on `principal_minor` for the days after `due` up to and
/// including `until`.
pub fn default_interest(
    principal_minor: i64,
    due: NaiveDate,
    until: NaiveDate,
    rates: &[BaseRate],
    debtor: Debtor,
) -> Result<i64> {
    if until <= due || principal_minor <= 0 {
        return Ok(0);
    }
    let mut sorted = rates.to_vec();
    sorted.sort_by_key(|rate| rate.from);
    // Sum of principal × rate_bp × days, divided once at the end: rounding once.
    let mut accrued: i128 = 0;
    let mut day = due + chrono::Days::new(1);
    while day <= until {
        let base = sorted.iter().rev().find(|rate| rate.from <= day).map_or(0, |rate| rate.rate_bp);
        let next_change = sorted.iter().find(|rate| rate.from > day).map(|rate| rate.from);
        let segment_end = match next_change {
            Some(change) if change <= until => change - chrono::Days::new(1),
            _ => until,
        };
        let days = (segment_end - day).num_days() + 1;
        let rate = i128::from((base + debtor.surcharge_bp()).max(0));
        accrued += i128::from(principal_minor) * rate * i128::from(days);
        day = segment_end + chrono::Days::new(1);
    }
    round_half_away(accrued, 10_000 * 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    #[test]
    fn interest_uses_each_rate_for_its_days() {
        let rates = known_base_rates();
        // 10,000.00 EUR, business, 31 days in December 2024 at 3.37 + 9 = 12.37 %:
        // 1,000,000 × 0.1237 × 31 / 365 = 10,505.75 cents.
        assert_eq!(
            default_interest(
                1_000_000,
                date(2024, 11, 30),
                date(2024, 12, 31),
                &rates,
                Debtor::Business
            ),
            Ok(10_506)
        );
        // Across 1 January 2025 (3.37 % → 2.27 %), consumer: 10 days at 8.37 %, 10 at 7.27 %.
        let across = default_interest(
            1_000_000,
            date(2024, 12, 21),
            date(2025, 1, 10),
            &rates,
            Debtor::Consumer,
        )
        .unwrap();
        // 1,000,000 × (8.37 % × 10 + 7.27 % × 10) / 365 = 4,284.93 cents.
        let expected = 4_285;
        assert_eq!(across, expected);
    }

    #[test]
    fn nothing_accrues_before_the_due_date_or_on_nothing() {
        let rates = known_base_rates();
        assert_eq!(
            default_interest(1_000, date(2025, 3, 1), date(2025, 3, 1), &rates, Debtor::Business),
            Ok(0)
        );
        assert_eq!(
            default_interest(0, date(2025, 3, 1), date(2025, 6, 1), &rates, Debtor::Business),
            Ok(0)
        );
    }
}
