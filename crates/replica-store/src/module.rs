//! The interface between the replica's core and its feature modules.
//!
//! The core (the document store, the write path, the outbox and sync state,
//! blobs, mirror versioning) knows no client, invoice or visit. What the mirror
//! holds is decided by the feature modules under `modules/`: each declares its
//! mirror tables and projects a changed document into them. The core calls every
//! module for every changed document, inside the transaction that stored the
//! change, and rebuilds every module's tables in `reindex`.
//!
//! A module's rows are read from the document first, without the database
//! ([`Module::read`]), and written afterwards ([`ModuleRows::write`]): a rebuild
//! and a joining device read documents on one thread while another writes.
//!
//! To add a module: give it a directory under `modules/` with its `mirror.sql`,
//! implement [`Module`] in its `mod.rs` (the clients module is the model), and
//! list it in [`crate::modules::ALL`].

use std::fmt;

use automerge::AutoCommit;
use doc_model::{DocId, DocKind, Hydrated};
use rusqlite::Connection;

use crate::error::Result;
use crate::replica::{InitOptions, Replica};

/// A document the core asks the modules to project.
pub(crate) struct ChangedDocument<'a> {
    /// Its kind; `None` for a kind this version does not know (kept, not shown).
    pub(crate) kind: Option<DocKind>,
    /// The document itself, for what hydration does not show (conflicting values).
    pub(crate) doc: &'a AutoCommit,
    /// Its whole state, read once for every module.
    pub(crate) hydrated: &'a Hydrated,
}

/// A feature module: the mirror tables it owns and how documents fill them.
pub(crate) trait Module: Sync {
    /// Its name, for logs and the mirror's layout version.
    fn name(&self) -> &'static str;

    /// Raised when the projection writes something else into the same tables, so
    /// that replicas rebuild their mirror; a change of `mirror_ddl` does that by
    /// itself.
    fn projection_version(&self) -> u32;

    /// The statements that create its tables and indexes, empty.
    fn mirror_ddl(&self) -> &'static str;

    /// The tables `mirror_ddl` creates (a test checks the two agree), dropped
    /// before a rebuild creates them again.
    fn mirror_tables(&self) -> &'static [&'static str];

    /// Reads this module's rows of a document, without the database; `None` when
    /// it shows nothing of documents of this kind.
    fn read(&self, document: &ChangedDocument<'_>) -> Result<Option<Box<dyn ModuleRows>>>;

    /// Creates the documents a new replica starts with (the clients module's
    /// workspace and groups documents), each with its own change.
    fn on_new_replica(&self, _replica: &mut Replica, _options: &InitOptions) -> Result<()> {
        Ok(())
    }

    /// The blobs (hex blake3 hashes) its rows reference, which sync downloads
    /// and keeps.
    fn referenced_blobs(&self, _conn: &Connection) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

/// Where a module writes a document's rows: the transaction, and whether the
/// parts it writes through `rows::replace_if_changed` are compared with what
/// was last written.
#[derive(Clone, Copy)]
pub(crate) struct MirrorWrite<'c> {
    /// The transaction.
    pub(crate) conn: &'c Connection,
    /// How parts are written.
    pub(crate) parts: PartWrites,
}

/// How `rows::replace_if_changed` writes a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartWrites {
    /// Compared with the hash recorded when it was last written, and written
    /// only when it differs (edits and merges).
    Compare,
    /// Written without comparing or recording (a rebuild, a joining device's
    /// new documents: there is nothing to compare with, and recording a hash
    /// for every part would cost a rebuild a sixth of its time); the next
    /// change of the document writes the part once more and records it.
    Rebuild,
}

/// One module's rows of one document, read and not yet written.
pub(crate) trait ModuleRows: Send + fmt::Debug {
    /// Replaces the document's rows in the module's tables.
    fn write(&self, mirror: MirrorWrite<'_>, doc_id: DocId) -> Result<()>;

    /// The record this document belongs to (a client's id), under which its
    /// conflicts are listed; the core does not know what it names.
    fn owner(&self) -> Option<String> {
        None
    }
}
