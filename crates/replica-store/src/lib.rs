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

#![warn(missing_docs)]

mod billing_card;
mod blobs;
mod card;
mod catalog;
mod clients;
mod dunning;
mod entropy;
mod error;
mod field;
mod integrity;
mod invoice_queries;
mod invoicing;
mod lookup;
mod project;
mod project_billing;
mod recurring;
mod replica;
mod schema;
mod sync_support;
mod visits;

pub use billing_card::{AccountSummary, CurrencyAccount, YearTurnover};
pub use blobs::BlobFetch;
pub use card::{
    AddressView, AutomergeDocument, BankAccountView, BillingView, ChannelView, ClientCard,
    ConflictValueView, ConflictView, ContactView, UnitView,
};
pub use catalog::{ArchiveFilter, CatalogQuery, CatalogRow, CatalogSort};
pub use dunning::{
    BaseRateView, DunningReport, DunningRun, LetterRenderer, PlannedNotice, PolicyView,
    RenderedLetter, STANDARD_POLICY,
};
pub use entropy::Seeded;
pub use error::{IssuedRefusal, Result, StoreError};
pub use field::{DEFAULT_MAX_FILE_BYTES, GalleryPlace, ImportedFile};
pub use integrity::IntegrityReport;
pub use invoice_queries::{
    DuplicateInvoice, DuplicateNumber, InvoiceDetail, InvoiceLineView, InvoiceQuery, InvoiceRow,
    InvoiceSort, NoticeView, PaymentView, SendingView, StateFilter, Statement, StatementEntry,
};
pub use invoicing::{
    CreditInput, DEFAULT_SERIES_CODE, DEFAULT_TERMS_DAYS, InvoiceDraft, InvoiceEdit, PaymentInput,
    SeriesView,
};
pub use lookup::{EntryList, GroupRow, ReplicaStatus};
pub use recurring::{GeneratedInvoice, NewTemplate, TemplateView};
pub use replica::{
    DATABASE_FILE, DEFAULT_CACHE_DOCUMENTS, InitOptions, MergeOutcome, REINDEX_BATCH, Replica,
    ReplicaMeta,
};
pub use sync_support::RemoteSync;
pub use visits::{
    DocumentRow, FieldSections, GalleryRow, GallerySummary, MonthSummary, UnitVisits, VisitDetail,
    VisitQuery, VisitRow, WorkItemView,
};
