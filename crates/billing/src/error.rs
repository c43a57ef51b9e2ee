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
    /// A language letters are not written in.
    #[error("letters are not written in '{0}' (use de, en or lv)")]
    UnknownLanguage(String),
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
    /// Not an invoice line.
    #[error(
        "'{0}' is not an invoice line (use 'DESCRIPTION=QUANTITY UNIT x PRICE @ VAT', e.g. 'Diagnostics=1.5 h x 45.00 @ 21')"
    )]
    InvalidLine(String),
    /// Not a usable series code.
    #[error("'{0}' is not a series code (use 1 to 12 letters or digits, e.g. T03)")]
    InvalidSeriesCode(String),
    /// Not a usable number pattern.
    #[error(
        "'{0}' is not a number pattern: it needs {{year}}, {{series}} set off by separators, and {{seq}} or {{seq:N}} (e.g. {{year}}-{{series}}-{{seq:4}})"
    )]
    InvalidNumberPattern(String),
    /// Not a usable dunning policy.
    #[error("the dunning policy is not usable: {0}")]
    InvalidPolicy(String),
    /// Not a dunning level.
    #[error(
        "'{0}' is not a level (use NAME:DAYS_AFTER_DUE:MIN_DAYS_AFTER_PREVIOUS:FEE[:interest], e.g. '1st notice:21:14:2.50:interest')"
    )]
    InvalidLevel(String),
    /// An amount too large to compute with.
    #[error("the amount is too large")]
    Overflow,
}

/// Result with [`BillingError`].
pub type Result<T, E = BillingError> = std::result::Result<T, E>;
