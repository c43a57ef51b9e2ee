//! Where an invoice stands after its payments, credit notes and dunning notices.
//!
//! Events are taken in date order. A notice adds its fee (and the €40 lump sum)
//! to the costs and its interest to the interest owed; a payment is split by
//! §367 BGB: costs first, then interest, then the principal, and whatever is left
//! is the client's credit. A payment on the day of a notice is applied before the
//! notice, in the client's favour. Credit notes reduce the principal from the
//! start: they correct the invoice rather than pay it.

use chrono::NaiveDate;
use serde::Serialize;

use crate::allocation::{Allocation, Claim, allocate};

/// A dunning notice's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeClaim {
    /// Date of the notice.
    pub date: NaiveDate,
    /// Fee plus lump sum, in minor units.
    pub costs_minor: i64,
    /// Interest claimed, in minor units.
    pub interest_minor: i64,
}

/// A payment received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Date received.
    pub date: NaiveDate,
    /// Amount in minor units.
    pub amount_minor: i64,
}

/// The result of settling an invoice's events.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Settlement {
    /// Principal still open.
    pub open_principal_minor: i64,
    /// Dunning costs still open.
    pub open_costs_minor: i64,
    /// Interest still open.
    pub open_interest_minor: i64,
    /// Paid beyond everything owed: the client's credit.
    pub credit_minor: i64,
    /// The day the principal was paid in full, if it was.
    pub settled_on: Option<NaiveDate>,
    /// How each payment was split, in the order given.
    pub allocations: Vec<Allocation>,
}

/// Settles an invoice of `principal_minor` (gross minus credit notes).
pub fn settle(principal_minor: i64, notices: &[NoticeClaim], payments: &[Received]) -> Settlement {
    let mut order: Vec<usize> = (0..payments.len()).collect();
    order.sort_by_key(|index| (payments[*index].date, *index));
    let mut notices: Vec<NoticeClaim> = notices.to_vec();
    notices.sort_by_key(|notice| notice.date);

    let mut claim =
        Claim { costs_minor: 0, interest_minor: 0, principal_minor: principal_minor.max(0) };
    let mut allocations = vec![Allocation::default(); payments.len()];
    let mut credit_minor = 0;
    let mut settled_on = None;
    let mut next_notice = 0;
    for index in order {
        let payment = payments[index];
        // Notices strictly before the payment's day are owed when it arrives.
        while next_notice < notices.len() && notices[next_notice].date < payment.date {
            claim.costs_minor += notices[next_notice].costs_minor;
            claim.interest_minor += notices[next_notice].interest_minor;
            next_notice += 1;
        }
        let split = allocate(payment.amount_minor, claim);
        claim.costs_minor -= split.costs_minor;
        claim.interest_minor -= split.interest_minor;
        claim.principal_minor -= split.principal_minor;
        credit_minor += split.credit_minor;
        if claim.principal_minor == 0 && settled_on.is_none() && split.principal_minor > 0 {
            settled_on = Some(payment.date);
        }
        allocations[index] = split;
    }
    for notice in &notices[next_notice..] {
        claim.costs_minor += notice.costs_minor;
        claim.interest_minor += notice.interest_minor;
    }
    Settlement {
        open_principal_minor: claim.principal_minor,
        open_costs_minor: claim.costs_minor,
        open_interest_minor: claim.interest_minor,
        credit_minor,
        settled_on,
        allocations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, day).unwrap()
    }

    #[test]
    fn payments_after_a_notice_pay_its_costs_and_interest_first() {
        let notices = [NoticeClaim { date: date(10, 20), costs_minor: 500, interest_minor: 120 }];
        let payments = [
            Received { date: date(10, 1), amount_minor: 4_000 },
            Received { date: date(10, 25), amount_minor: 1_000 },
            Received { date: date(11, 2), amount_minor: 10_000 },
        ];
        let settlement = settle(10_000, &notices, &payments);
        // Before the notice, the whole payment is principal.
        assert_eq!(settlement.allocations[0].principal_minor, 4_000);
        // After it: 5.00 costs, 1.20 interest, 3.80 principal.
        assert_eq!(settlement.allocations[1].costs_minor, 500);
        assert_eq!(settlement.allocations[1].interest_minor, 120);
        assert_eq!(settlement.allocations[1].principal_minor, 380);
        // The rest: 56.20 principal, 43.80 credit.
        assert_eq!(settlement.allocations[2].principal_minor, 5_620);
        assert_eq!(settlement.credit_minor, 4_380);
        assert_eq!(settlement.open_principal_minor, 0);
        assert_eq!(settlement.settled_on, Some(date(11, 2)));
    }

    #[test]
    fn open_claims_add_up_and_payment_order_is_by_date_not_by_entry() {
        let notices = [NoticeClaim { date: date(10, 20), costs_minor: 250, interest_minor: 30 }];
        let payments = [
            Received { date: date(10, 25), amount_minor: 300 },
            Received { date: date(10, 1), amount_minor: 1_000 },
        ];
        let settlement = settle(5_000, &notices, &payments);
        assert_eq!(settlement.allocations[1].principal_minor, 1_000);
        assert_eq!(settlement.allocations[0].costs_minor, 250);
        assert_eq!(settlement.allocations[0].interest_minor, 30);
        assert_eq!(settlement.allocations[0].principal_minor, 20);
        assert_eq!(settlement.open_principal_minor, 3_980);
        assert_eq!(settlement.settled_on, None);
        let unpaid = settle(5_000, &notices, &[]);
        assert_eq!((unpaid.open_costs_minor, unpaid.open_interest_minor), (250, 30));
    }

    #[test]
    fn a_fully_credited_invoice_leaves_payments_as_credit() {
        let settlement = settle(0, &[], &[Received { date: date(10, 1), amount_minor: 700 }]);
        assert_eq!(settlement.credit_minor, 700);
        assert_eq!(settlement.open_principal_minor, 0);
    }
}
