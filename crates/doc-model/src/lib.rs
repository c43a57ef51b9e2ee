//! Kartoteka's Automerge document model.
//!
//! A replica is a set of Automerge documents: one per client aggregate (profile,
//! contacts, units, the client's visits, gallery and document references,
//! recurring-invoice templates and dunning settings), one per client and year of
//! invoices, plus a few workspace-wide documents (company settings, client
//! groups, billing settings). This crate knows how those documents are laid out,
//! and nothing about where they are stored or how they travel: `replica-store`
//! keeps them in SQLite, the sync crates move them.
//!
//! # Layout rules that keep merges lossless
//!
//! - Every container a document will ever have at a fixed key is created by the
//!   document's *skeleton*: a first change built deterministically from the
//!   document id (fixed actor, time 0). Two replicas that create the same
//!   document offline produce byte-identical skeletons with the same change hash,
//!   so Automerge sees one change, not two competing maps of which one would hide
//!   the other's contents.
//! - Edits put single fields; nothing rewrites a whole map. Concurrent edits of
//!   different fields therefore both survive, and fields this version does not
//!   know (written by a newer version) are never touched.
//! - Entries in lists (contacts, phones, units) live in maps keyed by their id, and
//!   are removed by a `removed` flag, not by deleting the object: a concurrent edit
//!   of a removed entry stays in the document instead of vanishing.
//! - Comments are Automerge text and merge character by character; every other
//!   field is a last-writer-wins scalar whose concurrent values [`conflicts`] lists.
//! - Every document records `schema`; a replica refuses to edit a document of a
//!   newer schema than it knows ([`SCHEMA_VERSION`]) but still reads it.

#![warn(missing_docs)]

mod billing;
mod client;
mod client_billing;
mod conflicts;
mod doc_id;
mod error;
mod field;
mod groups;
mod read;
mod skeleton;
mod workspace;

pub use billing::{
    BillingDocMut, BillingSettings, DraftChanges, InvoiceRecord, InvoicesContent, InvoicesDocMut,
    Issue, LetterRecord, NewInvoice, NoticeRecord, PaymentRecord, SendingRecord, Series,
    recovered_letter_id, sending_key,
};
pub use client::{ClientDocMut, hydrate_client, hydrate_client_profile};
pub use client_billing::{ClientBilling, ClientBillingMut, ClientDunning, Template};
pub use conflicts::{Conflict, ConflictValue, Resolution, conflicts, resolve_conflict};
pub use doc_id::{BadDocId, DocId, DocKind};
pub use error::{DocModelError, Result};
pub use groups::{Group, GroupsDocMut, hydrate_groups};
pub use skeleton::{SCHEMA_VERSION, document_id, document_kind, new_document, schema_of};
pub use workspace::{DeviceInfo, WorkspaceDocMut, WorkspaceInfo, hydrate_workspace};

/// A document's whole state, read once (Automerge's `hydrate`): projection reads
/// the record and its conflicts from one traversal.
#[derive(Debug)]
pub struct Hydrated {
    root: automerge::hydrate::Map,
    /// The client aggregate, read once for everyone who asks.
    client: std::cell::OnceCell<std::sync::Arc<domain::Client>>,
}

/// Reads a document's whole state.
pub fn hydrate(doc: &AutoCommit) -> Result<Hydrated> {
    Ok(Hydrated { root: hydrate_root(doc)?, client: std::cell::OnceCell::new() })
}

impl Hydrated {
    /// The client aggregate, if this is a client document, read from the
    /// document once however often it is asked for (the projection's modules
    /// each show a part of it).
    pub fn client(&self) -> Result<std::sync::Arc<domain::Client>> {
        if let Some(client) = self.client.get() {
            return Ok(client.clone());
        }
        let client = std::sync::Arc::new(client::client_from_root(&self.root)?);
        Ok(self.client.get_or_init(|| client).clone())
    }

    /// The client's id, if this is a client document: what [`Hydrated::client`]
    /// reads first, without the rest.
    pub fn client_id(&self) -> Result<domain::ClientId> {
        client::client_id_from_root(&self.root)
    }

    /// The client groups, if this is the groups document.
    pub fn groups(&self) -> Vec<Group> {
        groups::groups_from_root(&self.root)
    }

    /// The workspace details, if this is the workspace document.
    pub fn workspace(&self) -> WorkspaceInfo {
        workspace::workspace_from_root(&self.root)
    }

    /// The invoices, payments and notices, if this is an invoices document.
    pub fn invoices(&self) -> InvoicesContent {
        billing::invoices_from_root(&self.root)
    }

    /// The same, with the letters and notices that earlier versions lost in
    /// merges read back from `doc` (the document this was hydrated from), where
    /// they remain as conflicting values.
    pub fn invoices_restored(&self, doc: &AutoCommit) -> Result<InvoicesContent> {
        billing::invoices_restored(&self.root, doc)
    }

    /// Recurring templates and dunning settings, if this is a client document.
    pub fn client_billing(&self) -> ClientBilling {
        client_billing::client_billing_from_root(&self.root)
    }

    /// The billing settings, if this is the billing document.
    pub fn billing(&self) -> BillingSettings {
        billing::billing_from_root(&self.root)
    }

    /// The conflicted fields; `doc` must be the document this was read from.
    pub fn conflicts(&self, doc: &AutoCommit) -> Result<Vec<Conflict>> {
        conflicts::conflicts_in(doc, &self.root)
    }
}

pub(crate) fn hydrate_root(doc: &AutoCommit) -> Result<automerge::hydrate::Map> {
    match doc.hydrate(&automerge::ROOT, None)? {
        automerge::hydrate::Value::Map(root) => Ok(root),
        _ => Err(DocModelError::MissingContainer { path: "root".to_owned() }),
    }
}

/// Automerge types this crate's API hands out.
pub use automerge::{ActorId, AutoCommit, ChangeHash};

use automerge::ReadDoc;
