//! The one error type of the document model.

use domain::{DomainError, EntryId, UnitId};

/// What can go wrong reading or editing a document.
#[derive(Debug, thiserror::Error)]
pub enum DocModelError {
    /// Automerge rejected an operation or a load (boxed: the error is 120 bytes).
    #[error("document storage error: {0}")]
    Automerge(#[source] Box<automerge::AutomergeError>),
    /// A value the user typed was rejected.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// The document is not of the expected kind.
    #[error("document is a {found:?} document, expected a {expected} document")]
    WrongKind {
        /// The kind the caller expected.
        expected: &'static str,
        /// The kind stored in the document.
        found: String,
    },
    /// A container every document of this kind has is missing: the document is damaged.
    #[error("document is damaged: it has no '{path}'")]
    MissingContainer {
        /// Where the container was expected.
        path: String,
    },
    /// The document was written by a newer Kartoteka.
    #[error(
        "this record was saved by a newer version of Kartoteka (schema {found}, this version knows {supported}); upgrade Kartoteka to edit it"
    )]
    NewerSchema {
        /// The document's schema version.
        found: u64,
        /// The newest schema version this build knows.
        supported: u64,
    },
    /// No unit with this id belongs to the client.
    #[error("the client has no unit {0}")]
    UnknownUnit(UnitId),
    /// No entry with this id exists in the list.
    #[error("the client has no {list} entry {id}")]
    UnknownEntry {
        /// Which list was searched.
        list: &'static str,
        /// The id that was not found.
        id: EntryId,
    },
    /// No visit, gallery item or document with this id (or it was removed).
    #[error("the client has no {what} {id}")]
    UnknownRecord {
        /// What was looked for.
        what: &'static str,
        /// The id.
        id: String,
    },
    /// A record with this id exists already.
    #[error("a {what} with id {id} exists already")]
    DuplicateRecord {
        /// What was added.
        what: &'static str,
        /// The id.
        id: String,
    },
    /// An issued invoice cannot change.
    #[error("invoice {0} is issued and cannot change; correct it with a credit note")]
    Frozen(String),
    /// No conflict at this path.
    #[error("there is no conflict at {0}")]
    NoConflict(String),
    /// A conflict between two objects cannot be resolved by choosing a value.
    #[error("the conflict at {0} is between whole objects and cannot be resolved by a value")]
    StructuralConflict(String),
    /// The chosen value does not exist.
    #[error("the conflict at {path} has {count} values; choose 1 to {count}")]
    NoSuchChoice {
        /// The conflict's path.
        path: String,
        /// How many values there are.
        count: usize,
    },
}

impl From<automerge::AutomergeError> for DocModelError {
    fn from(error: automerge::AutomergeError) -> Self {
        Self::Automerge(Box::new(error))
    }
}

/// Result with [`DocModelError`].
pub type Result<T, E = DocModelError> = std::result::Result<T, E>;
