//! The one error type of billing paperwork.

/// A document that cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    /// A template failed (a bug in a shipped template, not in the data).
    #[error("the {template} template failed: {source}")]
    Template {
        /// Which template.
        template: String,
        /// What went wrong.
        #[source]
        source: minijinja::Error,
    },
    /// An invoice that cannot be an e-invoice as it stands.
    #[error("invoice {number} cannot be exported as XRechnung:\n  {}", problems.join("\n  "))]
    EInvoice {
        /// The invoice.
        number: String,
        /// What is missing or wrong, one per line, with the fix where known.
        problems: Vec<String>,
    },
    /// Invoice arithmetic failed.
    #[error(transparent)]
    Billing(#[from] billing::BillingError),
}

/// Results of this crate.
pub type Result<T, E = DocsError> = std::result::Result<T, E>;
