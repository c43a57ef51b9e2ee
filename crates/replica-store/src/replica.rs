//! The replica: one SQLite file holding a workspace's documents and their mirror.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use automerge::transaction::CommitOptions;
use automerge::{ActorId, AutoCommit, ChangeHash};
use doc_model::{DocId, DocKind};
use lru::LruCache;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use crate::entropy::{Entropy, Seeded};
use crate::error::{Result, StoreError};
use crate::module::PartWrites;
use crate::projection::{Projection, project, write_projection};
use crate::schema;
use doc_store::StoredDoc;

/// The database file inside a replica directory.
pub const DATABASE_FILE: &str = "replica.sqlite";

/// Documents kept loaded between operations. A client document takes ~20–35 KB in
/// memory (see the Automerge notes), so 256 stay far below the memory budget while
/// a sync session that touches a few hundred documents still avoids reloading them.
pub const DEFAULT_CACHE_DOCUMENTS: usize = 256;

/// How long a writer waits for another process (a running `sync --watch`) to
/// finish its transaction before giving up.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Who this replica is: the workspace it belongs to and the device it runs on.
#[derive(Debug, Clone)]
pub struct ReplicaMeta {
    /// The workspace (company data set) this replica holds.
    pub workspace_id: Uuid,
    /// This device's id.
    pub device_id: Uuid,
    /// This device's name.
    pub device_name: String,
    /// The Automerge actor this device writes changes as; one per device, reused
    /// for every document (each new actor costs space in every document it touches).
    pub actor: ActorId,
}

/// What `init` needs to know.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The company's name; required when starting a new workspace, optional when
    /// joining one (`workspace_id` set), whose name arrives with the first sync.
    pub workspace_name: Option<String>,
    /// This device's name ("laptop-anna").
    pub device_name: String,
    /// Join an existing workspace instead of starting a new one.
    pub workspace_id: Option<Uuid>,
    /// A fixed clock and seeded ids instead of the system's (simulations).
    pub seeded: Option<Seeded>,
}

/// How a write finds or creates the document it changes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Creation {
    /// The document must exist.
    Existing,
    /// Create it from its skeleton when missing.
    Skeleton(DocKind),
    /// Start from an empty document when missing (its content arrives from a peer).
    Empty,
}

/// Whether a change was made on this device (and must be pushed to the relay) or
/// arrived from elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// An edit on this device: the document goes into the sync outbox.
    Local,
    /// A merge of changes from another replica.
    Remote,
}

/// What a failed change in a multi-document transaction does to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// Only that document's change is dropped (a sync batch).
    PerDocument,
    /// Nothing is stored (a local edit that spans documents).
    Whole,
}

/// What a merge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeOutcome {
    /// Whether the document's heads changed (and its mirror rows were re-projected).
    pub changed: bool,
    /// Whether the replica did not have the document before.
    pub created: bool,
}

/// A replica on disk, opened.
#[derive(Debug)]
pub struct Replica {
    pub(crate) conn: Connection,
    home: PathBuf,
    meta: ReplicaMeta,
    cache: LruCache<DocId, StoredDoc>,
    /// The clock and randomness behind timestamps and new ids.
    pub(crate) entropy: Entropy,
}

impl Replica {
    /// Creates a new replica in `home` (created if missing), and the documents
    /// every module starts a replica with (`Module::on_new_replica`).
    pub fn create(home: &Path, options: &InitOptions) -> Result<Self> {
        std::fs::create_dir_all(home)
            .map_err(|source| StoreError::Io { path: home.to_owned(), source })?;
        let path = home.join(DATABASE_FILE);
        if path.exists() {
            return Err(StoreError::ReplicaExists(home.to_owned()));
        }
        let conn = open_connection(&path)?;
        schema::prepare(&conn)?;
        let mut entropy = Entropy::new(options.seeded);
        let workspace_id = match options.workspace_id {
            Some(workspace_id) => workspace_id,
            None => entropy.uuid(),
        };
        let meta = ReplicaMeta {
            workspace_id,
            device_id: entropy.uuid(),
            device_name: options.device_name.trim().to_owned(),
            actor: entropy.actor(),
        };
        let insert = "INSERT INTO replica_meta (key, value) VALUES (?1, ?2)";
        conn.execute(insert, ["workspace_id", &meta.workspace_id.to_string()])?;
        conn.execute(insert, ["device_id", &meta.device_id.to_string()])?;
        conn.execute(insert, ["device_name", &meta.device_name])?;
        conn.execute(insert, ["actor", &meta.actor.to_hex_string()])?;
        let mut replica = Self::from_parts(conn, home, meta, entropy);
        for module in crate::modules::ALL {
            module.on_new_replica(&mut replica, options)?;
        }
        tracing::info!(home = %home.display(), workspace = %replica.meta.workspace_id, "created replica");
        Ok(replica)
    }

    /// Opens the replica in `home`; rebuilds the mirror when its layout is from
    /// another version.
    pub fn open(home: &Path) -> Result<Self> {
        Self::open_with(home, None)
    }

    /// Opens the replica in `home` with a fixed clock and seeded ids (a
    /// simulation restarting a replica after a crash).
    pub fn open_seeded(home: &Path, seeded: Seeded) -> Result<Self> {
        Self::open_with(home, Some(seeded))
    }

    fn open_with(home: &Path, seeded: Option<Seeded>) -> Result<Self> {
        let path = home.join(DATABASE_FILE);
        if !path.exists() {
            return Err(StoreError::NoReplica(home.to_owned()));
        }
        let conn = open_connection(&path)?;
        let rebuild = schema::prepare(&conn)?;
        let meta = read_meta(&conn)?;
        let mut replica = Self::from_parts(conn, home, meta, Entropy::new(seeded));
        if rebuild {
            tracing::info!("mirror layout changed; rebuilding it from the documents");
            replica.reindex()?;
        }
        Ok(replica)
    }

    fn from_parts(conn: Connection, home: &Path, meta: ReplicaMeta, entropy: Entropy) -> Self {
        let capacity = NonZeroUsize::new(DEFAULT_CACHE_DOCUMENTS).unwrap_or(NonZeroUsize::MIN);
        Self { conn, home: home.to_owned(), meta, cache: LruCache::new(capacity), entropy }
    }

    /// Limits how many documents stay loaded between operations (at least one).
    pub fn set_cache_capacity(&mut self, documents: usize) {
        self.cache.resize(NonZeroUsize::new(documents).unwrap_or(NonZeroUsize::MIN));
    }

    /// Who this replica is.
    pub fn meta(&self) -> &ReplicaMeta {
        &self.meta
    }

    /// The replica's directory.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// A replica setting (relay address and the like), if set.
    pub fn config(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM replica_meta WHERE key = ?1",
                [format!("config.{key}")],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Stores a replica setting.
    pub fn set_config(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO replica_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![format!("config.{key}"), value],
        )?;
        Ok(())
    }

    /// Changes one document and updates its mirror rows, atomically.
    ///
    /// The write lock is taken first, so the document is changed from its latest
    /// stored state even when another process wrote it since this one cached it.
    /// If `change` fails, its operations are rolled back and nothing is stored; if
    /// storing fails, the in-memory copy (which is ahead of the disk) is dropped.
    pub(crate) fn transact<R>(
        &mut self,
        doc_id: DocId,
        creation: Creation,
        change: impl FnOnce(&mut AutoCommit) -> Result<R>,
    ) -> Result<R> {
        let mut change = Some(change);
        let origin = match creation {
            Creation::Empty => Origin::Remote,
            Creation::Existing | Creation::Skeleton(_) => Origin::Local,
        };
        let mut results =
            self.transact_many(&[doc_id], creation, origin, |_, doc| match change.take() {
                Some(change) => change(doc),
                // `transact_many` calls the closure once per listed document: once here.
                None => Err(StoreError::UnknownDocument(doc_id)),
            })?;
        results.pop().unwrap_or(Err(StoreError::UnknownDocument(doc_id)))
    }

    /// Changes several documents in one SQLite transaction (one fsync), as sync
    /// does with a batch of incoming messages. `change` runs once per document;
    /// a document whose change fails is rolled back and reported in its slot of the
    /// result, the others are stored and projected.
    pub(crate) fn transact_many<R>(
        &mut self,
        doc_ids: &[DocId],
        creation: Creation,
        origin: Origin,
        mut change: impl FnMut(DocId, &mut AutoCommit) -> Result<R>,
    ) -> Result<Vec<Result<R>>> {
        let docs: Vec<(DocId, Creation)> =
            doc_ids.iter().map(|doc_id| (*doc_id, creation)).collect();
        self.transact_docs(
            &docs,
            Preloaded::new(),
            origin,
            Failure::PerDocument,
            |_, doc_id, doc| change(doc_id, doc),
            |_, _| Ok(()),
        )
    }

    /// [`Self::transact_many`] for documents from a remote, with `then` writing
    /// in the same transaction once every document is handled (it sees each
    /// one's outcome): sync's bookkeeping commits with the documents it is about.
    pub(crate) fn transact_remote_then<R>(
        &mut self,
        doc_ids: &[DocId],
        mut change: impl FnMut(DocId, &mut AutoCommit) -> Result<R>,
        then: impl FnOnce(&Connection, &[Result<R>]) -> Result<()>,
    ) -> Result<Vec<Result<R>>> {
        let docs: Vec<(DocId, Creation)> =
            doc_ids.iter().map(|doc_id| (*doc_id, Creation::Empty)).collect();
        self.transact_docs(
            &docs,
            Preloaded::new(),
            Origin::Remote,
            Failure::PerDocument,
            |_, doc_id, doc| change(doc_id, doc),
            then,
        )
    }

    /// Changes several documents as one: if any change fails, nothing is stored.
    /// `change` also sees the mirror as it is inside the transaction (under the
    /// write lock), so what it reads there (the next invoice number) cannot be
    /// taken by another process before the change commits.
    pub(crate) fn transact_all<R>(
        &mut self,
        docs: &[(DocId, Creation)],
        change: impl FnMut(&Connection, DocId, &mut AutoCommit) -> Result<R>,
    ) -> Result<Vec<R>> {
        self.transact_all_preloaded(docs, Preloaded::new(), change)
    }

    /// [`Self::transact_all`] with documents loaded beforehand by a
    /// [`DocumentReader`] (on another thread); a preloaded copy is used only if
    /// it is still the stored version, else the document is loaded again.
    pub(crate) fn transact_all_preloaded<R>(
        &mut self,
        docs: &[(DocId, Creation)],
        preloaded: Preloaded,
        change: impl FnMut(&Connection, DocId, &mut AutoCommit) -> Result<R>,
    ) -> Result<Vec<R>> {
        self.transact_docs(docs, preloaded, Origin::Local, Failure::Whole, change, |_, _| Ok(()))?
            .into_iter()
            .collect()
    }

    fn transact_docs<R>(
        &mut self,
        docs: &[(DocId, Creation)],
        mut preloaded: Preloaded,
        origin: Origin,
        failure: Failure,
        mut change: impl FnMut(&Connection, DocId, &mut AutoCommit) -> Result<R>,
        then: impl FnOnce(&Connection, &[Result<R>]) -> Result<()>,
    ) -> Result<Vec<Result<R>>> {
        let now_ms = self.entropy.now_ms();
        let mut tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(docs.len());
        let mut written: Vec<(DocId, StoredDoc)> = Vec::new();
        for &(doc_id, creation) in docs {
            let stored_version = doc_store::version(&tx, doc_id.as_bytes())?;
            let copies = [self.cache.pop(&doc_id), preloaded.remove(&doc_id)];
            let current = match stored_version {
                Some(version) => {
                    match copies.into_iter().flatten().find(|c| c.version == version) {
                        Some(current) => Some(current),
                        None => match doc_store::load(&tx, doc_id.as_bytes()) {
                            Ok(loaded) => loaded,
                            // A stored document that cannot be loaded fails alone
                            // when documents fail one by one (sync).
                            Err(error) if failure == Failure::PerDocument => {
                                results.push(Err(error.into()));
                                continue;
                            }
                            Err(error) => return Err(error.into()),
                        },
                    }
                }
                None => None,
            };
            let created = current.is_none();
            let mut entry = match (current, creation) {
                (Some(entry), _) => entry,
                (None, Creation::Existing) => {
                    if failure == Failure::Whole {
                        return Err(StoreError::UnknownDocument(doc_id));
                    }
                    results.push(Err(StoreError::UnknownDocument(doc_id)));
                    continue;
                }
                (None, Creation::Skeleton(kind)) => StoredDoc {
                    doc: doc_model::new_document(doc_id, kind, &self.meta.actor)?,
                    kind: kind.as_str().to_owned(),
                    version: 0,
                },
                (None, Creation::Empty) => {
                    StoredDoc { doc: AutoCommit::new(), kind: String::new(), version: 0 }
                }
            };
            entry.doc.set_actor(self.meta.actor.clone());
            let heads_before = entry.doc.get_heads();
            let value = match change(&tx, doc_id, &mut entry.doc) {
                Ok(value) => value,
                Err(error) => {
                    entry.doc.rollback();
                    // A sync message applies changes outside the pending
                    // transaction, which `rollback` cannot take back: a copy
                    // whose heads moved is ahead of the disk and is dropped.
                    if !created && entry.doc.get_heads() == heads_before {
                        self.cache.put(doc_id, entry);
                    }
                    if failure == Failure::Whole {
                        // Dropping `tx` rolls back what was written before; the
                        // documents in `written` are ahead of the disk and go with it.
                        return Err(error);
                    }
                    results.push(Err(error));
                    continue;
                }
            };
            entry.doc.commit_with(CommitOptions::default().with_time(now_ms / 1000));
            let heads_after = entry.doc.get_heads();
            if heads_after.is_empty() || (!created && heads_after == heads_before) {
                if !created {
                    self.cache.put(doc_id, entry);
                }
                results.push(Ok(value));
                continue;
            }
            let kind = match check_identity(doc_id, &entry.kind, &entry.doc) {
                Ok(kind) => kind,
                Err(error) => {
                    // The document in memory now holds what was rejected; drop it.
                    if failure == Failure::Whole {
                        return Err(error);
                    }
                    results.push(Err(error));
                    continue;
                }
            };
            let previous = (!created).then_some(heads_before.as_slice());
            if failure == Failure::PerDocument {
                // One document that cannot be stored or projected (its content
                // trips the projection) fails alone, not the whole batch.
                let savepoint = tx.savepoint()?;
                let stored = doc_store::write(
                    &savepoint,
                    doc_id.as_bytes(),
                    &kind,
                    &mut entry.doc,
                    previous,
                )
                .map_err(StoreError::from)
                .and_then(|version| {
                    project(&savepoint, doc_id, &kind, &entry.doc, PartWrites::Compare)?;
                    if origin == Origin::Local {
                        crate::sync_support::add_to_outbox(&savepoint, doc_id)?;
                    }
                    Ok(version)
                });
                match stored {
                    Ok(version) => {
                        savepoint.commit()?;
                        entry.version = version;
                    }
                    Err(error) => {
                        // Dropping the savepoint rolls back what it wrote; the
                        // copy in memory is ahead of the disk and goes too.
                        drop(savepoint);
                        results.push(Err(error));
                        continue;
                    }
                }
            } else {
                entry.version =
                    doc_store::write(&tx, doc_id.as_bytes(), &kind, &mut entry.doc, previous)?;
                project(&tx, doc_id, &kind, &entry.doc, PartWrites::Compare)?;
                if origin == Origin::Local {
                    crate::sync_support::add_to_outbox(&tx, doc_id)?;
                }
            }
            entry.kind = kind;
            written.push((doc_id, entry));
            results.push(Ok(value));
        }
        then(&tx, &results)?;
        // On an error above, `written` is dropped with the transaction: the
        // documents in it are ahead of the disk and must be reloaded.
        tx.commit()?;
        for (doc_id, entry) in written {
            self.cache.put(doc_id, entry);
        }
        Ok(results)
    }

    /// Reads a document through the cache.
    pub fn read_document<R>(
        &mut self,
        doc_id: DocId,
        read: impl FnOnce(&mut AutoCommit) -> R,
    ) -> Result<R> {
        let stored_version = doc_store::version(&self.conn, doc_id.as_bytes())?;
        let Some(stored_version) = stored_version else {
            return Err(StoreError::UnknownDocument(doc_id));
        };
        let fresh = self.cache.peek(&doc_id).is_some_and(|cached| cached.version == stored_version);
        if !fresh {
            let Some(mut loaded) = doc_store::load(&self.conn, doc_id.as_bytes())? else {
                return Err(StoreError::UnknownDocument(doc_id));
            };
            loaded.doc.set_actor(self.meta.actor.clone());
            self.cache.put(doc_id, loaded);
        }
        match self.cache.get_mut(&doc_id) {
            Some(entry) => Ok(read(&mut entry.doc)),
            // The entry was inserted just above (capacity is at least one).
            None => Err(StoreError::UnknownDocument(doc_id)),
        }
    }

    /// Merges bytes from another replica (a whole document or incremental changes)
    /// into the document `doc_id`, and re-projects it if anything changed.
    pub fn merge_document(&mut self, doc_id: DocId, bytes: &[u8]) -> Result<MergeOutcome> {
        let existed = doc_store::version(&self.conn, doc_id.as_bytes())?.is_some();
        let mut changed = false;
        self.transact(doc_id, Creation::Empty, |doc| {
            let before = doc.get_heads();
            doc.load_incremental(bytes)?;
            changed = doc.get_heads() != before;
            Ok(())
        })?;
        Ok(MergeOutcome { changed, created: changed && !existed })
    }

    /// Runs `change` (e.g. receiving an Automerge sync message) against a document
    /// that may not exist yet; whatever it adds is stored and projected atomically.
    pub fn sync_document<R>(
        &mut self,
        doc_id: DocId,
        change: impl FnOnce(&mut AutoCommit) -> Result<R>,
    ) -> Result<R> {
        self.transact(doc_id, Creation::Empty, change)
    }

    /// The whole document, saved (for a peer that has nothing of it).
    pub fn export_document(&mut self, doc_id: DocId) -> Result<Vec<u8>> {
        self.read_document(doc_id, AutoCommit::save)
    }

    /// The document's current heads.
    pub fn document_heads(&mut self, doc_id: DocId) -> Result<Vec<ChangeHash>> {
        self.read_document(doc_id, AutoCommit::get_heads)
    }

    /// Every document of the replica with its kind, by id.
    pub fn documents(&self) -> Result<Vec<(DocId, String)>> {
        documents_of(&self.conn)
    }

    /// Stores many new documents at once (the demo generator's path): one
    /// transaction, each document saved as a snapshot and projected.
    pub fn insert_new_documents(&mut self, documents: Vec<(DocId, AutoCommit)>) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (doc_id, mut doc) in documents {
            if doc_store::version(&tx, doc_id.as_bytes())?.is_some() {
                return Err(StoreError::RejectedDocument {
                    doc_id,
                    reason: "it already exists".to_owned(),
                });
            }
            let kind = check_identity(doc_id, "", &doc)?;
            doc_store::write(&tx, doc_id.as_bytes(), &kind, &mut doc, None)?;
            project(&tx, doc_id, &kind, &doc, PartWrites::Compare)?;
            crate::sync_support::add_to_outbox(&tx, doc_id)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Rebuilds the whole mirror from the documents, one document in memory at a
    /// time; returns how many documents were projected.
    pub fn reindex(&mut self) -> Result<usize> {
        self.reindex_with_progress(&mut |_, _| {})
    }

    /// [`Self::reindex`], in transactions of [`REINDEX_BATCH`] documents, calling
    /// `progress(done, total)` after each. Until the last batch commits, the
    /// mirror is marked as of no layout, so a crash midway (or another process
    /// opening the replica) rebuilds it again rather than trusting half of it.
    pub fn reindex_with_progress(
        &mut self,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<usize> {
        self.reindex_in_batches(REINDEX_BATCH, progress)
    }

    fn reindex_in_batches(
        &mut self,
        batch_size: usize,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<usize> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        schema::recreate_mirror(&tx)?;
        schema::mark_mirror_incomplete(&tx)?;
        let documents = documents_of(&tx)?;
        tx.commit()?;
        self.cache.clear();
        let total = documents.len();
        progress(0, total);
        // One thread reads and hydrates documents (Automerge's share of the
        // work) while this one writes their rows (SQLite's), a bounded number
        // ahead.
        let reader = self.document_reader()?;
        let (read, projections) = std::sync::mpsc::sync_channel(PROJECTIONS_AHEAD);
        std::thread::scope(|scope| {
            let ids: Vec<DocId> = documents.iter().map(|(doc_id, _)| *doc_id).collect();
            scope.spawn(move || read_projections(reader, &ids, &read));
            let mut done = 0;
            let mut batches = documents.chunks(batch_size.max(1)).peekable();
            while let Some(batch) = batches.next() {
                let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                for (doc_id, kind) in batch {
                    let ahead = projections.recv().ok().filter(|ahead| ahead.doc_id == *doc_id);
                    let current = doc_store::version(&tx, doc_id.as_bytes())?;
                    match ahead {
                        // Read as it still is: use what the other thread made of it.
                        Some(ahead) if current.is_some() && ahead.version == current => {
                            write_projection(&tx, &ahead.projection?, PartWrites::Rebuild)?;
                        }
                        // Changed by another process since (or not read): read it here.
                        _ => {
                            let Some(stored) = doc_store::load(&tx, doc_id.as_bytes())? else {
                                continue;
                            };
                            project(&tx, *doc_id, kind, &stored.doc, PartWrites::Rebuild)?;
                        }
                    }
                }
                if batches.peek().is_none() {
                    schema::mark_mirror_complete(&tx)?;
                }
                tx.commit()?;
                done += batch.len();
                progress(done, total);
            }
            // Dropping the receiver ends the reading thread if it is still going.
            drop(projections);
            Ok::<(), StoreError>(())
        })?;
        if total == 0 {
            schema::mark_mirror_complete(&self.conn)?;
        }
        Ok(total)
    }
}

/// Documents the reading thread of a rebuild may be ahead of the writing one:
/// enough to keep both busy, few enough that their projections (an invoices
/// document's is its year of invoices) take little memory.
const PROJECTIONS_AHEAD: usize = 64;

/// A document read and projected ahead of the transaction that writes it.
struct ReadAhead {
    doc_id: DocId,
    /// The stored version it was read at (`None`: it was gone).
    version: Option<i64>,
    projection: Result<Projection>,
}

/// Reads and projects documents in order for a rebuild, until all are sent
/// or the writer stops listening. A document that cannot be read is sent with
/// its error, and the writer reads it again itself.
fn read_projections(
    mut reader: DocumentReader,
    doc_ids: &[DocId],
    read: &std::sync::mpsc::SyncSender<ReadAhead>,
) {
    for doc_id in doc_ids {
        // One read transaction per document: its snapshot, chunks and version
        // agree even while another process writes.
        let loaded = reader
            .conn
            .transaction()
            .map_err(StoreError::from)
            .and_then(|tx| Ok(doc_store::load(&tx, doc_id.as_bytes())?));
        let (version, projection) = match loaded {
            Ok(Some(stored)) => {
                (Some(stored.version), Projection::of(*doc_id, &stored.kind, &stored.doc))
            }
            Ok(None) => (None, Err(StoreError::UnknownDocument(*doc_id))),
            Err(error) => (None, Err(error)),
        };
        if read.send(ReadAhead { doc_id: *doc_id, version, projection }).is_err() {
            return;
        }
    }
}

/// Documents projected per transaction by [`Replica::reindex_with_progress`]:
/// large enough that commits cost little, small enough that progress moves
/// every second or so and the write lock is given up between batches.
pub const REINDEX_BATCH: usize = 2_000;

/// The replica's documents: its keys are 16-byte document ids.
pub(crate) fn documents_of(conn: &Connection) -> Result<Vec<(DocId, String)>> {
    Ok(doc_store::all_documents(conn)?
        .into_iter()
        .filter_map(|(key, kind)| {
            Some((DocId::from_bytes(<[u8; 16]>::try_from(key.as_slice()).ok()?), kind))
        })
        .collect())
}

/// Checks that a document still names itself `doc_id` and keeps its kind (a peer
/// must not be able to turn a client into something else); returns the kind.
pub(crate) fn check_identity(
    doc_id: DocId,
    previous_kind: &str,
    doc: &AutoCommit,
) -> Result<String> {
    let reject = |reason: String| StoreError::RejectedDocument { doc_id, reason };
    let kind = doc_model::document_kind(doc).ok_or_else(|| reject("it has no kind".to_owned()))?;
    if !previous_kind.is_empty() && kind != previous_kind {
        return Err(reject(format!("its kind changed from {previous_kind} to {kind}")));
    }
    let named = doc_model::document_id(doc);
    if named != Some(doc_id) {
        return Err(reject("it names a different document id".to_owned()));
    }
    Ok(kind)
}

/// Documents loaded ahead of a transaction, by id.
pub(crate) type Preloaded = HashMap<DocId, StoredDoc>;

/// Loads documents on another thread, through its own read-only connection, to
/// hand them to a later transaction of the replica (see
/// [`Replica::transact_all_preloaded`]).
pub(crate) struct DocumentReader {
    conn: Connection,
}

impl DocumentReader {
    /// Loads the documents as of one moment, each once however often it is
    /// named; one that cannot be loaded is left out (the transaction then loads
    /// it itself and reports what is wrong).
    pub(crate) fn load(&mut self, doc_ids: impl IntoIterator<Item = DocId>) -> Preloaded {
        let mut loaded = Preloaded::new();
        let Ok(tx) = self.conn.transaction() else { return loaded };
        for doc_id in doc_ids {
            if loaded.contains_key(&doc_id) {
                continue;
            }
            match doc_store::load(&tx, doc_id.as_bytes()) {
                Ok(Some(stored)) => {
                    loaded.insert(doc_id, stored);
                }
                Ok(None) => {}
                Err(error) => tracing::debug!(%doc_id, %error, "not preloaded"),
            }
        }
        loaded
    }
}

impl Replica {
    /// A reader of this replica's documents for another thread.
    pub(crate) fn document_reader(&self) -> Result<DocumentReader> {
        let conn = Connection::open_with_flags(
            self.home.join(DATABASE_FILE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(DocumentReader { conn })
    }
}

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL lets readers (a catalog query) run while a sync writes; FULL makes every
    // committed edit survive a power cut, which is what "nothing saved is lost" means.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // 32 MiB of page cache (the default is 2 MiB): the mirror's indexes are keyed by
    // random UUIDs, so bulk writes touch pages all over the file.
    conn.pragma_update(None, "cache_size", -32 * 1024)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn read_meta(conn: &Connection) -> Result<ReplicaMeta> {
    let get = |key: &'static str| -> Result<String> {
        conn.query_row("SELECT value FROM replica_meta WHERE key = ?1", [key], |row| row.get(0))
            .optional()?
            .ok_or(StoreError::MissingMeta(key))
    };
    let parse_uuid = |key: &'static str| -> Result<Uuid> {
        Uuid::parse_str(&get(key)?).map_err(|_| StoreError::MissingMeta(key))
    };
    let actor = ActorId::try_from(get("actor")?).map_err(|_| StoreError::MissingMeta("actor"))?;
    Ok(ReplicaMeta {
        workspace_id: parse_uuid("workspace_id")?,
        device_id: parse_uuid("device_id")?,
        device_name: get("device_name")?,
        actor,
    })
}

#[cfg(test)]
mod tests {
    use std::panic::AssertUnwindSafe;

    use domain::{ClientEdit, ProfileField};

    use super::*;

    fn office(home: &Path) -> Replica {
        let options = InitOptions {
            workspace_name: Some("Serviss SIA".to_owned()),
            device_name: "office".to_owned(),
            workspace_id: None,
            seeded: None,
        };
        Replica::create(home, &options).unwrap()
    }

    #[test]
    fn a_rebuild_shows_a_document_another_process_changed_while_it_ran() {
        let dir = tempfile::tempdir().unwrap();
        let mut replica = office(dir.path());
        let field = |field, value: &str| ClientEdit::Field(field, value.to_owned());
        let mut clients = Vec::new();
        for name in ["Ozols SIA", "Bērzs SIA", "Kalns SIA", "Lejas SIA"] {
            clients.push(replica.create_client(&[field(ProfileField::Name, name)]).unwrap());
        }
        let last = *clients.last().unwrap();
        let mut edited = false;
        // One document per batch; after the first, another process renames the
        // last client, which the reading thread has most likely read already.
        replica
            .reindex_in_batches(1, &mut |done, _| {
                if done == 1 && !edited {
                    edited = true;
                    Replica::open(dir.path())
                        .unwrap()
                        .edit_client(last, &[field(ProfileField::Name, "Lejas un Kalns SIA")])
                        .unwrap();
                }
            })
            .unwrap();
        assert!(edited);
        let names: Vec<String> = replica
            .catalog(&crate::CatalogQuery::default())
            .unwrap()
            .into_iter()
            .map(|row| row.name)
            .collect();
        assert!(names.contains(&"Lejas un Kalns SIA".to_owned()), "{names:?}");
        assert!(!names.contains(&"Lejas SIA".to_owned()), "{names:?}");
    }

    #[test]
    fn a_preloaded_copy_that_another_writer_overtook_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let mut replica = office(dir.path());
        let field = |field, value: &str| ClientEdit::Field(field, value.to_owned());
        let client = replica.create_client(&[field(ProfileField::Name, "Ozols SIA")]).unwrap();
        let doc_id = DocId::client(client);
        let preloaded = replica.document_reader().unwrap().load([doc_id]);
        assert!(preloaded.contains_key(&doc_id));

        // Another process renames the client after the copy was loaded.
        Replica::open(dir.path())
            .unwrap()
            .edit_client(client, &[field(ProfileField::Name, "Ozols un Bērzs SIA")])
            .unwrap();
        replica
            .transact_all_preloaded(&[(doc_id, Creation::Existing)], preloaded, |_, _, doc| {
                let now = 0;
                Ok(doc_model::ClientDocMut::open(doc)?
                    .apply(&field(ProfileField::RegNo, "40003000001"), now)?)
            })
            .unwrap();
        let stored = replica.client(client).unwrap();
        assert_eq!(stored.profile.name, "Ozols un Bērzs SIA");
        assert_eq!(stored.profile.reg_no, "40003000001");
    }

    #[test]
    fn a_reindex_stopped_midway_is_done_again_when_the_replica_opens() {
        let dir = tempfile::tempdir().unwrap();
        let mut replica = office(dir.path());
        for name in ["Ozols", "Bērzs", "Liepa", "Egle", "Kļava"] {
            replica
                .create_client(&[ClientEdit::Field(ProfileField::Name, name.to_owned())])
                .unwrap();
        }
        let documents = documents_of(&replica.conn).unwrap().len();
        let mut seen = Vec::new();
        replica.reindex_in_batches(2, &mut |done, total| seen.push((done, total))).unwrap();
        let expected: Vec<(usize, usize)> = [0, 2, 4, 6, documents]
            .into_iter()
            .filter(|done| *done <= documents)
            .map(|done| (done, documents))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(seen, expected, "progress after each batch of two");

        // The process dies after the first batch committed (a panic here).
        let stopped = std::panic::catch_unwind(AssertUnwindSafe(|| {
            replica.reindex_in_batches(2, &mut |done, _| assert!(done < 2, "killed")).unwrap();
        }));
        assert!(stopped.is_err());
        drop(replica);
        let replica = Replica::open(dir.path()).unwrap();
        let catalog = replica.catalog(&crate::CatalogQuery::default()).unwrap();
        assert_eq!(catalog.len(), 5, "the half-built mirror was rebuilt on open");
    }
}
