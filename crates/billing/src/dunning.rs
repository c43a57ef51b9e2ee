//! Dunning (Mahnwesen): levels, when the next one is due, blocks.
//!
//! An invoice climbs the levels of its client's policy one at a time: level n is
//! due when the invoice is `days_after_due` past its due date and at least
//! `min_days_after_previous` have passed since level n−1. No level is skipped,
//! however late a run happens. A notice's id is derived from the invoice and the
//! level, so runs repeated for the same day, or on two offline replicas, create
//! the same notice, not two.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{BillingError, Result};
use crate::ids::{InvoiceId, NoticeId};

/// One level of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// "Payment reminder", "1st notice", …
    pub name: String,
    /// Days after the due date before this level is due.
    pub days_after_due: u32,
    /// Days after the previous level's notice before this level is due.
    pub min_days_after_previous: u32,
    /// Fee in minor units (not subject to VAT).
    pub fee_minor: i64,
    /// Whether default interest is claimed from this level on.
    pub interest: bool,
}

/// A dunning policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Name.
    pub name: String,
    /// Levels in order.
    pub levels: Vec<Level>,
    /// Whether businesses are charged the €40 lump sum of §288 (5) BGB (once).
    pub lump_sum: bool,
}

impl Policy {
    /// The policy Kartoteka starts with: a reminder, then three notices.
    pub fn standard() -> Self {
        let level =
            |name: &str, days_after_due, min_days_after_previous, fee_minor, interest| Level {
                name: name.to_owned(),
                days_after_due,
                min_days_after_previous,
                fee_minor,
                interest,
            };
        Self {
            name: "Standard".to_owned(),
            levels: vec![
                level("Payment reminder", 7, 0, 0, false),
                level("1st notice", 21, 14, 250, true),
                level("2nd notice", 35, 14, 500, true),
                level("3rd notice", 49, 14, 750, true),
            ],
            lump_sum: false,
        }
    }

    /// Checks a policy: a name, at least one level, no negative fees, and levels
    /// that do not fall due earlier than the one before them.
    pub fn validate(&self) -> Result<()> {
        let invalid = |reason: &str| BillingError::InvalidPolicy(reason.to_owned());
        if self.name.trim().is_empty() {
            return Err(invalid("it needs a name"));
        }
        if self.levels.is_empty() {
            return Err(invalid("it needs at least one level"));
        }
        for pair in self.levels.windows(2) {
            if pair[1].days_after_due < pair[0].days_after_due {
                return Err(invalid(&format!(
                    "'{}' would fall due before '{}'",
                    pair[1].name, pair[0].name
                )));
            }
        }
        if let Some(level) = self.levels.iter().find(|level| level.fee_minor < 0) {
            return Err(invalid(&format!("the fee of '{}' is negative", level.name)));
        }
        Ok(())
    }
}

/// The flat fee of §288 (5) BGB a business debtor owes once per claim: €40.
pub const LUMP_SUM_MINOR: i64 = 4_000;

impl std::str::FromStr for Level {
    type Err = BillingError;

    /// Parses `NAME:DAYS_AFTER_DUE:MIN_DAYS_AFTER_PREVIOUS:FEE[:interest]`,
    /// e.g. `1st notice:21:14:2.50:interest`.
    fn from_str(text: &str) -> Result<Self> {
        let invalid = || BillingError::InvalidLevel(text.to_owned());
        let parts: Vec<&str> = text.split(':').map(str::trim).collect();
        let (name, days, spacing, fee, flag) = match parts.as_slice() {
            [name, days, spacing, fee] => (name, days, spacing, fee, ""),
            [name, days, spacing, fee, flag] => (name, days, spacing, fee, *flag),
            _ => return Err(invalid()),
        };
        let interest = match flag {
            "" => false,
            "interest" => true,
            _ => return Err(invalid()),
        };
        if name.is_empty() {
            return Err(invalid());
        }
        Ok(Self {
            name: (*name).to_owned(),
            days_after_due: days.parse().map_err(|_| invalid())?,
            min_days_after_previous: spacing.parse().map_err(|_| invalid())?,
            fee_minor: crate::money::parse_minor(fee).map_err(|_| invalid())?,
            interest,
        })
    }
}

/// A block: no dunning until `until` (inclusive), for a stated reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Why.
    pub reason: String,
    /// Last blocked day.
    pub until: NaiveDate,
}

/// The level due for an invoice on `today`, given how many notices were sent
/// and the date of the last; `None` when nothing is due.
pub fn next_level(
    policy: &Policy,
    due: NaiveDate,
    sent: usize,
    last_sent: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<usize> {
    let level = policy.levels.get(sent)?;
    if today < due + chrono::Days::new(u64::from(level.days_after_due)) {
        return None;
    }
    if let Some(previous) = last_sent
        && today < previous + chrono::Days::new(u64::from(level.min_days_after_previous))
    {
        return None;
    }
    Some(sent)
}

/// Whether a block applies on `today`.
pub fn blocked(block: Option<&Block>, today: NaiveDate) -> bool {
    block.is_some_and(|block| today <= block.until)
}

/// The id of the notice of `level` for `invoice`: the same on every replica.
pub fn notice_id(invoice: InvoiceId, level: usize) -> NoticeId {
    NoticeId::from_uuid(Uuid::new_v5(
        invoice.as_uuid(),
        format!("kartoteka/dunning/{level}").as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    #[test]
    fn levels_come_one_at_a_time_and_respect_their_spacing() {
        let policy = Policy::standard();
        let due = date(2026, 10, 1);
        assert_eq!(next_level(&policy, due, 0, None, date(2026, 10, 7)), None);
        assert_eq!(next_level(&policy, due, 0, None, date(2026, 10, 8)), Some(0));
        // A run long after the due date still starts with the reminder.
        assert_eq!(next_level(&policy, due, 0, None, date(2027, 3, 1)), Some(0));
        // The 1st notice waits 14 days after the reminder even if 21 days are long past.
        let reminded = Some(date(2026, 12, 1));
        assert_eq!(next_level(&policy, due, 1, reminded, date(2026, 12, 10)), None);
        assert_eq!(next_level(&policy, due, 1, reminded, date(2026, 12, 15)), Some(1));
        // After the last level nothing more is due.
        assert_eq!(next_level(&policy, due, 4, Some(date(2026, 11, 19)), date(2027, 1, 1)), None);
    }

    #[test]
    fn levels_parse_and_policies_are_checked() {
        let level: Level = "1st notice:21:14:2.50:interest".parse().unwrap();
        assert_eq!((level.days_after_due, level.fee_minor, level.interest), (21, 250, true));
        assert!("reminder:7:0:0".parse::<Level>().is_ok_and(|level| !level.interest));
        assert!("reminder:7:0".parse::<Level>().is_err());
        assert!("reminder:x:0:0".parse::<Level>().is_err());
        assert!("reminder:7:0:0:maybe".parse::<Level>().is_err());
        assert!(Policy::standard().validate().is_ok());
        let mut backwards = Policy::standard();
        backwards.levels.swap(1, 2);
        assert!(backwards.validate().is_err());
        assert!(Policy { levels: Vec::new(), ..Policy::standard() }.validate().is_err());
    }

    #[test]
    fn blocks_end_after_their_last_day_and_ids_are_deterministic() {
        let block = Block { reason: "disputed".to_owned(), until: date(2026, 11, 30) };
        assert!(blocked(Some(&block), date(2026, 11, 30)));
        assert!(!blocked(Some(&block), date(2026, 12, 1)));
        assert!(!blocked(None, date(2026, 12, 1)));
        let invoice = InvoiceId::from_uuid(Uuid::from_u128(7));
        assert_eq!(notice_id(invoice, 1), notice_id(invoice, 1));
        assert_ne!(notice_id(invoice, 1), notice_id(invoice, 2));
    }
}
