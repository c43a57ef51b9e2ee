//! The one error type of the replica store.

use std::path::PathBuf;

/// What can go wrong with a replica on disk.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (disk full, locked, corrupt file).
    #[error("replica database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// An Automerge document could not be loaded or changed (boxed: the error is
    /// 120 bytes and would make every result that large).
    #[error("document error: {0}")]
    Automerge(#[source] Box<automerge::AutomergeError>),
    /// The document store failed.
    #[error(transparent)]
    DocStore(#[from] doc_store::DocStoreError),
    /// A blob could not be stored or read.
    #[error(transparent)]
    Blob(#[from] blob_store::BlobError),
    /// The document model rejected an edit or a document.
    #[error(transparent)]
    Document(#[from] doc_model::DocModelError),
    /// A billing value (amount, line, rate, pattern) is not usable.
    #[error(transparent)]
    Billing(#[from] billing::BillingError),
    /// A billing operation is not allowed in the invoice's state; the message
    /// says why and what to do instead.
    #[error("{0}")]
    NotAllowed(String),
    /// A file operation on the replica directory failed.
    #[error("cannot use replica directory {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file to add cannot be used.
    #[error("cannot add {path}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// There is no replica in the directory.
    #[error("no replica in {0}")]
    NoReplica(PathBuf),
    /// A replica already exists in the directory.
    #[error("{0} already holds a replica; choose another directory with --home")]
    ReplicaExists(PathBuf),
    /// The replica's metadata is missing a value.
    #[error("the replica is damaged: its metadata has no '{0}'")]
    MissingMeta(&'static str),
    /// A stored document does not match its recorded heads.
    #[error("document {doc_id} is damaged: its stored changes do not add up to its recorded state")]
    CorruptDocument {
        /// The damaged document.
        doc_id: doc_model::DocId,
    },
    /// A document received from elsewhere is not acceptable.
    #[error("rejected document {doc_id}: {reason}")]
    RejectedDocument {
        /// The document.
        doc_id: doc_model::DocId,
        /// Why it was rejected.
        reason: String,
    },
    /// No document with this id.
    #[error("there is no document {0}")]
    UnknownDocument(doc_model::DocId),
    /// A reference typed by the user matched nothing.
    #[error("no {what} matches '{reference}'{hint}")]
    NotFound {
        /// What was looked for ("client", "unit").
        what: &'static str,
        /// What the user typed.
        reference: String,
        /// Where the replica shows the right one (empty, or starting with
        /// "; "); never a command: the CLI names those.
        hint: String,
    },
    /// An issued invoice cannot be changed or discarded; it is corrected by a
    /// credit note or cancelled.
    #[error("invoice {number} is issued and {refusal}")]
    InvoiceIssued {
        /// Its number.
        number: String,
        /// What was refused.
        refusal: IssuedRefusal,
    },
    /// A draft without lines cannot be issued.
    #[error("draft {short_id} has no lines")]
    DraftWithoutLines {
        /// The draft's short id.
        short_id: String,
    },
    /// No dunning policy of this name.
    #[error("there is no dunning policy '{0}'")]
    NoDunningPolicy(String),
    /// A reference typed by the user matched several records.
    #[error("'{reference}' matches {count} {what}s: {candidates}; type more of the id")]
    Ambiguous {
        /// What was looked for.
        what: &'static str,
        /// What the user typed.
        reference: String,
        /// How many matched.
        count: usize,
        /// Some of the matches.
        candidates: String,
    },
    /// An invoice number typed by the user belongs to several invoices (two
    /// devices issued it before numbers carried the device tag).
    #[error(
        "number {number} belongs to {count} invoices ({candidates}); name the invoice by its id"
    )]
    AmbiguousNumber {
        /// The number.
        number: String,
        /// How many invoices carry it.
        count: usize,
        /// Their short ids, clients and issuing devices.
        candidates: String,
    },
    /// This device's series code holds numbers that two devices issued, so no
    /// further number is issued in it.
    #[error(
        "series {code} holds {numbers} invoice number(s) issued by two devices; \
         no further number is issued in it"
    )]
    SeriesHasDuplicates {
        /// The series code.
        code: String,
        /// How many numbers exist more than once.
        numbers: usize,
    },
    /// Another device of the workspace has this device's tag, the part of every
    /// number that keeps devices apart (two random ids share six hex digits).
    #[error(
        "this device's tag {tag} is also {device}'s, so its numbers could repeat {device}'s; \
         no number is issued on this device"
    )]
    DeviceTagShared {
        /// The tag.
        tag: String,
        /// The other device's name.
        device: String,
    },
}

impl From<automerge::AutomergeError> for StoreError {
    fn from(error: automerge::AutomergeError) -> Self {
        Self::Automerge(Box::new(error))
    }
}

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Whether SQLite found the replica's database file damaged (or not a
    /// database at all): only a copy from elsewhere mends that, not `reindex`.
    pub fn is_damaged_database(&self) -> bool {
        let (Self::Sqlite(sqlite) | Self::DocStore(doc_store::DocStoreError::Sqlite(sqlite))) =
            self
        else {
            return false;
        };
        matches!(
            sqlite.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
        )
    }
}

/// What [`StoreError::InvoiceIssued`] refused: a change (corrected by a credit
/// note) or discarding it (an issued invoice is kept, and cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuedRefusal {
    /// Its content cannot change.
    CannotChange,
    /// It cannot be discarded.
    IsKept,
}

impl std::fmt::Display for IssuedRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::CannotChange => "cannot change",
            Self::IsKept => "is kept",
        })
    }
}
