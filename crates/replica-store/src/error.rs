//! The one error type of the replica store.

use std::path::PathBuf;

/// What can go wrong with a replica on disk.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (disk full, locked, corrupt file).
    #[error("replica database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
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
    /// What the user asked for is refused: a rule of billing, numbering or
    /// dunning, or a value outside what it may be.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The mirror holds a value that cannot be read back (a damaged database, or
    /// a projection of an earlier version); a rebuild of the mirror from the
    /// documents replaces it.
    #[error("the mirror holds an unreadable {what}: '{value}'")]
    CorruptMirror {
        /// What the value should be ("client id", "issue date").
        what: &'static str,
        /// The value found.
        value: String,
    },
    /// A dunning letter could not be rendered.
    #[error("cannot render a letter: {0}")]
    LetterRendering(String),
    /// The thread preparing a dunning run's next letters stopped without an
    /// answer (it panicked); nothing of its batch was stored.
    #[error("preparing the letters failed")]
    LetterPreparationFailed,
    /// A dunning run stopped after some of its batches were stored.
    #[error(
        "{source} (the run had stored {stored} letters with their notices; \
         run it again for the same day to continue)"
    )]
    DunningRunStopped {
        /// How many letters were stored, with their notices.
        stored: usize,
        /// Why it stopped.
        source: Box<Self>,
    },
    /// A value could not be written as JSON.
    #[error("cannot store the {what}: {source}")]
    Json {
        /// What was written ("dunning policy").
        what: &'static str,
        /// Why.
        source: serde_json::Error,
    },
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

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        // A corrupt value found inside a row closure (`mirror_json`) travels
        // through rusqlite as a conversion failure; it is told as what it is.
        match error {
            rusqlite::Error::FromSqlConversionFailure(index, kind, source) => {
                match source.downcast::<Self>() {
                    Ok(corrupt) => *corrupt,
                    Err(source) => {
                        Self::Sqlite(rusqlite::Error::FromSqlConversionFailure(index, kind, source))
                    }
                }
            }
            error => Self::Sqlite(error),
        }
    }
}

/// Reads a JSON column of the mirror inside a row closure: a value that does
/// not parse is a [`StoreError::CorruptMirror`], never a default.
pub(crate) fn mirror_json<T: serde::de::DeserializeOwned>(
    row: &rusqlite::Row<'_>,
    index: usize,
    what: &'static str,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|_| corrupt_cell(index, what, text))
}

/// Reads a text column of the mirror that must parse (a date, an id, a kind)
/// inside a row closure: one that does not is a [`StoreError::CorruptMirror`],
/// never a default.
pub(crate) fn mirror_column<T: std::str::FromStr>(
    row: &rusqlite::Row<'_>,
    index: usize,
    what: &'static str,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    text.parse().map_err(|_| corrupt_cell(index, what, text))
}

/// A [`StoreError::CorruptMirror`] found inside a row closure, wrapped as the
/// conversion failure rusqlite lets a closure return; `From<rusqlite::Error>`
/// unwraps it again.
fn corrupt_cell(index: usize, what: &'static str, text: String) -> rusqlite::Error {
    let corrupt = StoreError::CorruptMirror { what, value: text };
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(corrupt))
}

impl From<automerge::AutomergeError> for StoreError {
    fn from(error: automerge::AutomergeError) -> Self {
        Self::Automerge(Box::new(error))
    }
}

/// Parses a value read back from the mirror: one that does not parse is a
/// [`StoreError::CorruptMirror`], never a default.
pub(crate) fn mirror_value<T: std::str::FromStr>(what: &'static str, value: String) -> Result<T> {
    value.parse().map_err(|_| StoreError::CorruptMirror { what, value })
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

/// What [`StoreError::Refused`] refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A draft line that does not exist.
    #[error("the draft has no line {position} (it has {lines})")]
    NoSuchDraftLine {
        /// The line asked for, from 1.
        position: usize,
        /// How many lines it has.
        lines: usize,
    },
    /// Issuing an invoice that is issued.
    #[error("invoice {number} is issued already")]
    AlreadyIssued {
        /// Its number.
        number: String,
    },
    /// Issuing a draft on a device that did not create it: two devices issuing
    /// one draft offline would give it two numbers.
    #[error(
        "draft {short_id} was created on {device}; issue it there (two devices issuing one \
         draft offline would give it two numbers), or create a new draft on this device"
    )]
    DraftOfAnotherDevice {
        /// The draft's short id.
        short_id: String,
        /// The device that created it.
        device: String,
    },
    /// A payment on a draft.
    #[error("{invoice} is not issued yet; issue it before recording payments")]
    PaymentBeforeIssue {
        /// The invoice, as its label shows it.
        invoice: String,
    },
    /// A payment on a credit note.
    #[error("{number} is a credit note; record the payment on the invoice it corrects")]
    PaymentOnCreditNote {
        /// The credit note's number.
        number: String,
    },
    /// A payment of zero or less.
    #[error("a payment must be positive, not {amount}; a refund is a credit note")]
    PaymentNotPositive {
        /// The amount given.
        amount: String,
    },
    /// A credit note for a draft or a credit note.
    #[error(
        "{invoice} is not an issued invoice; only issued invoices are credited (a draft is \
         simply edited or discarded)"
    )]
    CreditOfUnissued {
        /// The invoice, as its label shows it.
        invoice: String,
    },
    /// Crediting a partly credited invoice in full.
    #[error("{number} is partly credited already; name the lines to credit with --line")]
    PartlyCredited {
        /// The invoice's number.
        number: String,
    },
    /// A credit note larger than what remains of the invoice.
    #[error("the credit of {credit} exceeds what remains of {number} ({remaining} {currency})")]
    CreditExceedsRemainder {
        /// The credit's amount.
        credit: String,
        /// The invoice's number.
        number: String,
        /// What remains creditable.
        remaining: String,
        /// The invoice's currency.
        currency: String,
    },
    /// A credit note dated before its invoice.
    #[error("a credit note cannot precede the invoice it corrects ({issue_date})")]
    CreditBeforeInvoice {
        /// The invoice's issue date.
        issue_date: chrono::NaiveDate,
    },
    /// Dunning a draft or a credit note.
    #[error("{invoice} is not an issued invoice; only issued invoices are dunned")]
    DunningOfUnissued {
        /// The invoice, as its label shows it.
        invoice: String,
    },
    /// Choosing a series code another device uses.
    #[error("series {code} belongs to {device}; every device needs its own series")]
    SeriesOfAnotherDevice {
        /// The code.
        code: String,
        /// The device using it.
        device: String,
    },
    /// A series pattern that would repeat a number.
    #[error(
        "number {number} exists already; choose a series pattern that keeps the code and the \
         sequence apart (e.g. {pattern})"
    )]
    NumberExists {
        /// The number.
        number: String,
        /// A pattern that works.
        pattern: &'static str,
    },
    /// A recurring template without lines.
    #[error("a template needs at least one line")]
    TemplateWithoutLines,
    /// A template's day that is no day of a month.
    #[error("day {day} is not a day of a month (1–31; 31 means the month's last day)")]
    TemplateDay {
        /// The day given.
        day: u32,
    },
    /// A new template that ends before it starts.
    #[error("the template ends ({end}) before it starts ({start})")]
    TemplateEndsBeforeStart {
        /// Its start.
        start: chrono::NaiveDate,
        /// Its end.
        end: chrono::NaiveDate,
    },
    /// Ending a template before its start.
    #[error("template {code} starts on {start}, after {end}")]
    TemplateEndBeforeStart {
        /// The template's code.
        code: String,
        /// Its start.
        start: String,
        /// The end asked for.
        end: chrono::NaiveDate,
    },
    /// A base rate on a day it does not change (§247 BGB).
    #[error("the base rate changes on 1 January and 1 July only, not on {from}")]
    BaseRateDay {
        /// The day given.
        from: chrono::NaiveDate,
    },
    /// A base rate no central bank has set.
    #[error("a base rate of {rate_bp} basis points is not plausible (−10 % to 20 %)")]
    BaseRateImplausible {
        /// The rate given.
        rate_bp: i32,
    },
    /// A dunning run without any policy.
    #[error("no dunning policy is defined")]
    NoDunningPolicies,
    /// A dunning block without a reason.
    #[error("a dunning block needs a reason")]
    BlockWithoutReason,
    /// Removing a dunning letter from a client's documents.
    #[error("a dunning letter is part of its invoices' dunning history and is kept")]
    DunningLetterKept,
    /// A statement whose period ends before it starts.
    #[error("the statement ends ({to}) before it starts ({from})")]
    StatementEndsBeforeStart {
        /// Its start.
        from: chrono::NaiveDate,
        /// Its end.
        to: chrono::NaiveDate,
    },
    /// Sorting the catalog by money without a day to compute it for.
    #[error("sorting by turnover or overdue balance needs the day to compute them for")]
    BalanceSortWithoutDay,
}
