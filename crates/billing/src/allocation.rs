//! §367 BGB: a payment that does not cover everything pays the costs first, then
//! the interest, then the principal; what is left over is the client's credit.

use serde::Serialize;

/// What a client owes on one invoice, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Claim {
    /// Dunning fees and other costs.
    pub costs_minor: i64,
    /// Default interest.
    pub interest_minor: i64,
    /// The invoice amount still open.
    pub principal_minor: i64,
}

/// How a payment was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Allocation {
    /// Paid towards costs.
    pub costs_minor: i64,
    /// Paid towards interest.
    pub interest_minor: i64,
    /// Paid towards the principal.
    pub principal_minor: i64,
    /// Paid beyond everything owed: the client's credit.
    pub credit_minor: i64,
}

/// Applies a payment to a claim in the order of §367 BGB.
pub fn allocate(payment_minor: i64, claim: Claim) -> Allocation {
    let mut left = payment_minor.max(0);
    let mut take = |owed: i64| {
        let paid = left.min(owed.max(0));
        left -= paid;
        paid
    };
    let costs_minor = take(claim.costs_minor);
    let interest_minor = take(claim.interest_minor);
    let principal_minor = take(claim.principal_minor);
    Allocation { costs_minor, interest_minor, principal_minor, credit_minor: left }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_then_interest_then_principal_then_credit() {
        let claim = Claim { costs_minor: 500, interest_minor: 120, principal_minor: 10_000 };
        assert_eq!(allocate(300, claim), Allocation { costs_minor: 300, ..Allocation::default() });
        assert_eq!(
            allocate(700, claim),
            Allocation {
                costs_minor: 500,
                interest_minor: 120,
                principal_minor: 80,
                credit_minor: 0
            }
        );
        assert_eq!(
            allocate(11_000, claim),
            Allocation {
                costs_minor: 500,
                interest_minor: 120,
                principal_minor: 10_000,
                credit_minor: 380
            }
        );
        assert_eq!(
            allocate(50, Claim { principal_minor: 100, ..Claim::default() }).principal_minor,
            50
        );
    }
}
