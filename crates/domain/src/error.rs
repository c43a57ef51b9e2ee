//! The one error type of the domain crate: a value a user typed was rejected.

/// Why a value was rejected. Messages are written for the person who typed it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    /// An e-mail address that is not `local@domain`.
    #[error("'{value}' is not an e-mail address (expected name@example.com)")]
    InvalidEmail {
        /// What was typed.
        value: String,
    },
    /// An IBAN whose check digits or national format are wrong.
    #[error("'{value}' is not a valid IBAN: {reason}")]
    InvalidIban {
        /// What was typed.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A BIC that is not 8 or 11 characters of the SWIFT shape.
    #[error("'{value}' is not a BIC (expected 8 or 11 characters such as HABALV22 or DEUTDEFF500)")]
    InvalidBic {
        /// What was typed.
        value: String,
    },
    /// A phone number without a single digit.
    #[error("'{value}' is not a phone number (it has no digits)")]
    InvalidPhone {
        /// What was typed.
        value: String,
    },
    /// A country that is not an ISO 3166-1 alpha-2 code.
    #[error("'{value}' is not a country code (use the two-letter ISO code, e.g. LV, DE, EE)")]
    InvalidCountry {
        /// What was typed.
        value: String,
    },
    /// A currency that is not an ISO 4217 code.
    #[error("'{value}' is not a currency code (use the three-letter ISO code, e.g. EUR)")]
    InvalidCurrency {
        /// What was typed.
        value: String,
    },
    /// Payment terms outside 0..=365 days.
    #[error("'{value}' is not a number of days between 0 and 365")]
    InvalidPaymentTerms {
        /// What was typed.
        value: String,
    },
    /// A visit that ends before it starts.
    #[error("the visit ends ({end}) before it starts ({start})")]
    EndBeforeStart {
        /// Start as typed.
        start: String,
        /// End as typed.
        end: String,
    },
    /// A value that is not one of the allowed words.
    #[error("'{value}' is not a {what}; use one of: {allowed}")]
    NotOneOf {
        /// What was expected.
        what: &'static str,
        /// What was typed.
        value: String,
        /// The allowed values.
        allowed: &'static str,
    },
    /// A quantity that is not a positive number.
    #[error("'{value}' is not a quantity (a positive number such as 2 or 1.5)")]
    InvalidQuantity {
        /// What was typed.
        value: String,
    },
    /// A field that must not be empty was empty.
    #[error("{field} must not be empty")]
    Empty {
        /// Which field.
        field: &'static str,
    },
}

/// Result with [`DomainError`].
pub type Result<T, E = DomainError> = std::result::Result<T, E>;
