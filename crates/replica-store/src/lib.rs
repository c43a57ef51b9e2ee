//! A Kartoteka replica on disk.
//!
//! One SQLite file (`replica.sqlite`, WAL mode) holds two things:
//!
//! 1. the workspace's Automerge documents, the source of truth, each stored as a
//!    snapshot plus incremental chunks that are compacted as they accumulate;
//! 2. the *mirror*: query tables (clients, units, contacts, the FTS5 search index,
//!    conflicts, …) projected from the documents.
//!
//! # The write path
//!
//! Every change, a local edit or a merge from another replica, goes through one
//! function (`Replica::transact`):
//!
//! 1. take SQLite's write lock (`BEGIN IMMEDIATE`);
//! 2. get the document from the bounded in-memory cache if the cached copy is
//!    current, or load it from the store;
//! 3. apply the change to the Automerge document (on error: roll it back, store
//!    nothing);
//! 4. append the new changes as a chunk and re-project this document's mirror
//!    rows;
//! 5. commit. Documents and mirror cannot disagree after a crash, because both are
//!    written by one SQLite transaction.
//!
//! Reads (catalog, card, conflicts) query the mirror only, so they never load
//! documents; `reindex` rebuilds the mirror from the documents one at a time.
//!
//! # Core and modules
//!
//! The files directly under `src/` are the core: documents, the write path,
//! sync bookkeeping, blobs, the schema; they know no client, invoice or visit.
//! What the mirror holds, and every query and edit, belongs to a feature module
//! under `modules/` (clients, field work, billing), which declares its tables
//! and projects documents into them through the `module::Module` interface.

#![warn(missing_docs)]

mod blobs;
mod entropy;
mod error;
mod integrity;
mod module;
mod modules;
mod projection;
mod replica;
mod rows;
mod schema;
mod sync_support;

pub use blobs::BlobFetch;
pub use entropy::Seeded;
pub use error::{IssuedRefusal, Refusal, Result, StoreError};
pub use integrity::IntegrityReport;
pub use modules::billing::card::{AccountSummary, CurrencyAccount, YearTurnover};
pub use modules::billing::dunning::{
    BaseRateView, DunningReport, DunningRun, LetterRenderer, PlannedNotice, PolicyView,
    RenderedLetter, STANDARD_POLICY,
};
pub use modules::billing::invoice_queries::{
    DuplicateInvoice, DuplicateNumber, InvoiceDetail, InvoiceLineView, InvoiceQuery, InvoiceRow,
    InvoiceSort, NoticeView, PaymentView, SendingView, StateFilter, Statement, StatementEntry,
};
pub use modules::billing::invoicing::{
    CreditInput, DEFAULT_SERIES_CODE, DEFAULT_TERMS_DAYS, InvoiceDraft, InvoiceEdit, PaymentInput,
    SeriesView,
};
pub use modules::billing::recurring::{GeneratedInvoice, NewTemplate, TemplateView};
pub use modules::clients::card::{
    AddressView, AutomergeDocument, BankAccountView, BillingView, ChannelView, ClientCard,
    ConflictValueView, ConflictView, ContactView, UnitView,
};
pub use modules::clients::catalog::{ArchiveFilter, CatalogQuery, CatalogRow, CatalogSort};
pub use modules::clients::lookup::{EntryList, GroupRow, ReplicaStatus};
pub use modules::field_work::record::{DEFAULT_MAX_FILE_BYTES, GalleryPlace, ImportedFile};
pub use modules::field_work::visits::{
    DocumentRow, FieldSections, GalleryRow, GallerySummary, MonthSummary, UnitVisits, VisitDetail,
    VisitQuery, VisitRow, WorkItemView,
};
pub use replica::{
    DATABASE_FILE, DEFAULT_CACHE_DOCUMENTS, InitOptions, MergeOutcome, REINDEX_BATCH, Replica,
    ReplicaMeta,
};
pub use sync_support::RemoteSync;
