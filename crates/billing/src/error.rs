//! The one error type of the billing arithmetic.

/// A billing value that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BillingError {
    /// Not an amount of money.
    #[error("'{0}' is not an amount (use digits with up to two decimals, e.g. 120.50)")]
    InvalidAmount(String),
    /// Not a quantity.
    #[error("'{0}' is not a quantity (use a number with up to three decimals, e.g. 1.5)")]
    InvalidQuantity(String),
    /// A quantity that must be positive is not.
    #[error("the quantity of '{0}' must be positive")]
    NonPositiveQuantity(String),
    /// Not a VAT rate.
    #[error("'{0}' is not a VAT rate (use a percentage such as 21 or 7.5)")]
    InvalidVatRate(String),
    /// Not a currency code.
    #[error("'{0}' is not a currency code (use the three-letter ISO code, e.g. EUR)")]
    InvalidCurrency(String),
    /// Two amounts in different currencies.
    #[error("{found} does not match the invoice's currency {expected}")]
    CurrencyMismatch {
        /// The invoice's currency.
        expected: String,
        /// The other currency.
        found: String,
    },
    /// A due date before the issue date.
    #[error("the due date {due} is before the issue date {issue}")]
    DueBeforeIssue {
        /// Issue date.
        issue: chrono::NaiveDate,
        /// Due date.
        due: chrono::NaiveDate,
    },
    /// An amount too large to compute with.
    #[error("the amount is too large")]
    Overflow,
}

/// Result with [`BillingError`].
pub type Result<T, E = BillingError> = std::result::Result<T, E>;
