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
}

/// Results of this crate.
pub type Result<T, E = DocsError> = std::result::Result<T, E>;
