//! What sync needs from a replica: applying a batch of incoming sync messages in
//! one transaction together with sync's bookkeeping (`SyncRecord`: sync states,
//! the outbox entries pushed, documents to retry, the feed cursor), the outbox of
//! locally changed documents, and the persisted per-document sync state for each
//! remote.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender};

use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, ChangeHash};
use doc_model::DocId;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sync_engine::{Outcome, ReplicaStorage, SyncBatch, SyncRecord};
use sync_protocol::DocumentId;
use sync_protocol::bundle::{BundleDocument, BundlePage};

use crate::error::{Result, StoreError};
use crate::module::PartWrites;
use crate::projection::{Projection, write_projection};
use crate::replica::{Replica, check_identity};

impl Replica {
    /// The replica as the sync engine's storage for `remote` (the remote's key:
    /// sync states, retries and the feed cursor are kept per remote).
    pub fn sync_storage<'a>(&'a mut self, remote: &'a str) -> RemoteSync<'a> {
        RemoteSync { replica: self, remote }
    }

    /// Stores a page of the remote's workspace bundle: each document's saved
    /// bytes become the replica's copy (or are merged into it), checked to hold
    /// the heads the relay gave, and projected. A document that fails is put up
    /// for retry by the next sync round; the remote's feed cursor moves with
    /// what is stored, so an interrupted download resumes after it. Returns how
    /// many documents changed here and how many failed.
    ///
    /// When none of the page's documents is here yet (a device joining), the
    /// page is stored in one transaction: another thread loads, checks and
    /// projects the documents ahead of this one, which stores their bytes as
    /// they came (no second save) and writes their rows. Otherwise (a replica
    /// that has some of them, or rows that cannot be written) the page is
    /// stored the ordinary way, [`IMPORT_BATCH`] documents per transaction,
    /// each merged and projected on its own and failing alone.
    pub fn import_bundle(&mut self, remote: &str, page: &BundlePage) -> Result<(usize, usize)> {
        if page.documents.is_empty() {
            let record = SyncRecord { cursor: Some(page.next), ..SyncRecord::default() };
            self.sync_storage(remote).record(&record)?;
            return Ok((0, 0));
        }
        // A page with a document that is here already is stored the ordinary
        // way; asking first spares preparing it (every join has two such pages:
        // the workspace and groups documents `init` made).
        let mut here = false;
        for document in &page.documents {
            if let Ok(id) = document.document_id.parse::<DocumentId>() {
                here |= doc_store::version(&self.conn, doc_id(id).as_bytes())?.is_some();
            }
        }
        let fast = if here { None } else { self.store_page_prepared(remote, page)? };
        if let Some(stored) = fast {
            return Ok(stored);
        }
        let mut changed = 0;
        let mut failed = 0;
        let mut batches = page.documents.chunks(IMPORT_BATCH).peekable();
        while let Some(batch) = batches.next() {
            let cursor = match batches.peek() {
                Some(_) => batch.last().map_or(page.next, |document| document.seq),
                None => page.next,
            };
            let (batch_changed, batch_failed) = self.import_bundle_batch(remote, batch, cursor)?;
            changed += batch_changed;
            failed += batch_failed;
        }
        Ok((changed, failed))
    }

    /// Stores a page the fast way: another thread prepares its documents
    /// while [`Self::store_prepared`] writes them.
    fn store_page_prepared(
        &mut self,
        remote: &str,
        page: &BundlePage,
    ) -> Result<Option<(usize, usize)>> {
        std::thread::scope(|scope| {
            let (send, prepared) = std::sync::mpsc::sync_channel(PREPARED_AHEAD);
            scope.spawn(move || prepare_bundle(&page.documents, &send));
            let stored = self.store_prepared(remote, page.documents.len(), &prepared, page.next);
            // When the call returned early (and on an error), the preparing
            // thread stops at its next document, before the scope waits for it.
            drop(prepared);
            stored
        })
    }

    /// Stores a page's `count` prepared documents in one transaction with the
    /// cursor; `None` (and nothing stored) as soon as one of them is already
    /// here or its rows cannot be written, so that the page is stored the
    /// ordinary way.
    fn store_prepared(
        &mut self,
        remote: &str,
        count: usize,
        prepared: &Receiver<Prepared<'_>>,
        cursor: i64,
    ) -> Result<Option<(usize, usize)>> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut ordinary = false;
        let mut retry = Vec::new();
        let mut stored = 0;
        let mut malformed = 0;
        for _ in 0..count {
            // The preparing thread sends one item per document (a panic is
            // caught per document), so this does not happen; if it did, the
            // page would be stored the ordinary way.
            let Ok(item) = prepared.recv() else {
                ordinary = true;
                break;
            };
            match item {
                Prepared::Ready { doc_id, kind, saved, heads, projection } => {
                    let key = doc_id.as_bytes();
                    let written = match doc_store::version(&tx, key)? {
                        Some(_) => false,
                        None => {
                            doc_store::insert_saved(&tx, key, &kind, saved, &heads).is_ok()
                                && write_projection(&tx, &projection, PartWrites::Rebuild).is_ok()
                        }
                    };
                    if !written {
                        ordinary = true;
                        break;
                    }
                    stored += 1;
                }
                Prepared::Rejected { doc_id, reason } => {
                    tracing::debug!(reason, "a bundle document is put up for retry");
                    match doc_id {
                        Some(doc_id) => retry.push(document_id(doc_id)),
                        None => malformed += 1,
                    }
                }
            }
        }
        if ordinary {
            // Dropping the transaction rolls back what this batch wrote.
            return Ok(None);
        }
        let failed = retry.len() + malformed;
        let record = SyncRecord { retry, cursor: Some(cursor), ..SyncRecord::default() };
        write_record(&tx, remote, &record)?;
        tx.commit()?;
        Ok(Some((stored, failed)))
    }

    fn import_bundle_batch(
        &mut self,
        remote: &str,
        batch: &[BundleDocument],
        cursor: i64,
    ) -> Result<(usize, usize)> {
        let mut doc_ids = Vec::with_capacity(batch.len());
        let mut documents = HashMap::with_capacity(batch.len());
        let mut malformed = 0;
        for document in batch {
            match document.document_id.parse::<DocumentId>() {
                Ok(id) => {
                    doc_ids.push(doc_id(id));
                    documents.insert(doc_id(id), document);
                }
                Err(_) => malformed += 1,
            }
        }
        let results = self.transact_remote_then(
            &doc_ids,
            |doc_id, doc| {
                let Some(document) = documents.get(&doc_id) else { return Ok(false) };
                let reject = |reason: &str| StoreError::RejectedDocument {
                    doc_id,
                    reason: reason.to_owned(),
                };
                if let Some(reason) = unusable(document) {
                    return Err(reject(reason));
                }
                let before = doc.get_heads();
                // Bytes from the network: a panic in Automerge fails this
                // document, not the sync.
                let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    doc.load_incremental(&document.data)
                }));
                match loaded {
                    Ok(loaded) => {
                        loaded?;
                    }
                    Err(_) => return Err(reject("Automerge could not load its bytes")),
                }
                let complete = document.heads.iter().all(|head| {
                    head.parse::<ChangeHash>()
                        .is_ok_and(|hash| doc.get_change_by_hash(&hash).is_some())
                });
                if complete {
                    Ok(doc.get_heads() != before)
                } else {
                    Err(StoreError::RejectedDocument {
                        doc_id,
                        reason: "its bundle bytes do not hold the heads the relay gave".to_owned(),
                    })
                }
            },
            |conn, results| {
                let retry = doc_ids
                    .iter()
                    .zip(results)
                    .filter(|(_, result)| result.is_err())
                    .map(|(doc_id, _)| document_id(*doc_id))
                    .collect();
                let record = SyncRecord { retry, cursor: Some(cursor), ..SyncRecord::default() };
                write_record(conn, remote, &record)
            },
        )?;
        let changed = results.iter().filter(|result| matches!(result, Ok(true))).count();
        Ok((changed, malformed + results.iter().filter(|result| result.is_err()).count()))
    }

    /// The remote's change-feed cursor (0 before the first round).
    pub fn sync_cursor(&self, remote: &str) -> Result<i64> {
        Ok(self.config(&cursor_key(remote))?.and_then(|value| value.parse().ok()).unwrap_or(0))
    }

    /// Documents whose sync with `remote` failed in earlier rounds, with how
    /// many rounds each failed in.
    pub fn sync_retries(&self, remote: &str) -> Result<Vec<(DocId, u32)>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT doc_id, failed_rounds FROM sync_retry WHERE remote = ?1 ORDER BY doc_id",
        )?;
        let rows = statement
            .query_map([remote], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, u32>(1)?)))?;
        let mut retries = Vec::new();
        for row in rows {
            let (bytes, failed_rounds) = row?;
            if let Ok(bytes) = <[u8; 16]>::try_from(bytes.as_slice()) {
                retries.push((DocId::from_bytes(bytes), failed_rounds));
            }
        }
        Ok(retries)
    }

    /// The document's heads as stored (sorted), without loading it; `None` if the
    /// replica does not have it.
    pub fn stored_heads(&self, doc_id: DocId) -> Result<Option<Vec<automerge::ChangeHash>>> {
        let heads: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT heads FROM doc_store WHERE doc_id = ?1")?
            .query_row([doc_id.as_bytes()], |row| row.get(0))
            .optional()?;
        Ok(heads.as_deref().map(doc_store::decode_heads))
    }

    /// Whether the replica has the document.
    pub fn has_document(&self, doc_id: DocId) -> Result<bool> {
        Ok(doc_store::version(&self.conn, doc_id.as_bytes())?.is_some())
    }

    /// Documents changed on this device since they were last pushed, with the
    /// outbox position to clear them by.
    pub fn outbox(&self) -> Result<Vec<(DocId, i64)>> {
        let mut statement =
            self.conn.prepare_cached("SELECT doc_id, seq FROM outbox ORDER BY seq")?;
        let rows = statement
            .query_map([], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?)))?;
        let mut outbox = Vec::new();
        for row in rows {
            let (bytes, seq) = row?;
            if let Ok(bytes) = <[u8; 16]>::try_from(bytes.as_slice()) {
                outbox.push((DocId::from_bytes(bytes), seq));
            }
        }
        Ok(outbox)
    }

    /// The stored sync state of a document with a remote.
    pub fn sync_state(&self, remote: &str, doc_id: DocId) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT state FROM sync_state WHERE remote = ?1 AND doc_id = ?2")?
            .query_row(params![remote, doc_id.as_bytes()], |row| row.get(0))
            .optional()?)
    }
}

/// Bundle documents stored per transaction: each is held in memory, loaded,
/// until its transaction commits (an invoices document of a busy client is a
/// few hundred kilobytes loaded), so a page of 2,000 is stored in ten.
pub(crate) const IMPORT_BATCH: usize = 200;

/// Bundle documents the preparing thread of [`Replica::import_bundle`] may be
/// ahead of the writing one: enough to keep both busy, few enough that what
/// they hold (projected rows) takes little memory.
const PREPARED_AHEAD: usize = 64;

/// A bundle document made ready to store by the preparing thread.
enum Prepared<'a> {
    /// Loaded, holding exactly the heads the relay gave, naming itself, and
    /// projected.
    Ready {
        doc_id: DocId,
        kind: String,
        saved: &'a [u8],
        heads: Vec<ChangeHash>,
        projection: Projection,
    },
    /// Not stored by this page (`doc_id` is `None` when the id is malformed):
    /// the next round syncs it alone.
    Rejected { doc_id: Option<DocId>, reason: String },
}

/// Loads, checks and projects bundle documents in order, one item per
/// document, until all are sent or the writer stops listening.
fn prepare_bundle<'a>(documents: &'a [BundleDocument], send: &SyncSender<Prepared<'a>>) {
    for document in documents {
        let item = match document.document_id.parse::<DocumentId>() {
            Ok(id) => prepare(doc_id(id), document),
            Err(error) => Prepared::Rejected { doc_id: None, reason: error.to_string() },
        };
        if send.send(item).is_err() {
            return;
        }
    }
}

/// Why a bundle document cannot be stored from this page, before its bytes are
/// read (either way of storing a page asks).
fn unusable(document: &BundleDocument) -> Option<&'static str> {
    if document.data.is_empty() {
        // Too large for a bundle page: the next round syncs it alone.
        Some("it is too large for the bundle")
    } else if document.heads.is_empty() {
        Some("the relay gave it no heads")
    } else {
        None
    }
}

/// One bundle document, as [`prepare_bundle`] makes it ready.
fn prepare(doc_id: DocId, document: &BundleDocument) -> Prepared<'_> {
    let reject = |reason: &str| StoreError::RejectedDocument { doc_id, reason: reason.to_owned() };
    let ready = || -> Result<Prepared<'_>> {
        if let Some(reason) = unusable(document) {
            return Err(reject(reason));
        }
        let mut heads = Vec::with_capacity(document.heads.len());
        for head in &document.heads {
            heads.push(
                head.parse::<ChangeHash>()
                    .map_err(|_| reject("the relay gave a malformed head"))?,
            );
        }
        let mut doc = AutoCommit::load(&document.data)?;
        heads.sort_unstable();
        let mut loaded = doc.get_heads();
        loaded.sort_unstable();
        if loaded != heads {
            return Err(reject("its bundle bytes do not hold exactly the heads the relay gave"));
        }
        let kind = check_identity(doc_id, "", &doc)?;
        let projection = Projection::of(doc_id, &kind, &doc)?;
        Ok(Prepared::Ready { doc_id, kind, saved: &document.data, heads, projection })
    };
    // Bytes from the network: a panic in Automerge (loading, hydrating) or in
    // the projection fails this document, not the sync.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(ready)) {
        Ok(Ok(ready)) => ready,
        Ok(Err(error)) => Prepared::Rejected { doc_id: Some(doc_id), reason: error.to_string() },
        Err(_) => Prepared::Rejected {
            doc_id: Some(doc_id),
            reason: "reading it failed inside Automerge or the projection".to_owned(),
        },
    }
}

/// A replica's documents and sync bookkeeping with one remote: the storage the
/// sync engine runs over.
pub struct RemoteSync<'a> {
    replica: &'a mut Replica,
    remote: &'a str,
}

impl std::fmt::Debug for RemoteSync<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSync").field("remote", &self.remote).finish_non_exhaustive()
    }
}

impl ReplicaStorage for RemoteSync<'_> {
    type Error = StoreError;

    fn cursor(&self) -> Result<i64> {
        self.replica.sync_cursor(self.remote)
    }

    fn retries(&self) -> Result<Vec<(DocumentId, u32)>> {
        let retries = self.replica.sync_retries(self.remote)?;
        Ok(retries.into_iter().map(|(doc_id, rounds)| (document_id(doc_id), rounds)).collect())
    }

    fn outbox(&self) -> Result<Vec<(DocumentId, i64)>> {
        Ok(self
            .replica
            .outbox()?
            .into_iter()
            .map(|(doc_id, seq)| (document_id(doc_id), seq))
            .collect())
    }

    fn stored_heads(&self, document: DocumentId) -> Result<Option<Vec<ChangeHash>>> {
        self.replica.stored_heads(doc_id(document))
    }

    fn sync_state(&self, document: DocumentId) -> Result<Option<Vec<u8>>> {
        self.replica.sync_state(self.remote, doc_id(document))
    }

    fn first_message(
        &mut self,
        document: DocumentId,
        state: &mut sync::State,
    ) -> Result<(bool, Option<sync::Message>)> {
        let doc_id = doc_id(document);
        if self.replica.has_document(doc_id)? {
            let message = self
                .replica
                .read_document(doc_id, |doc| doc.sync().generate_sync_message(state))?;
            Ok((true, message))
        } else {
            Ok((false, AutoCommit::new().sync().generate_sync_message(state)))
        }
    }

    fn receive(
        &mut self,
        documents: &[DocumentId],
        batch: &mut dyn SyncBatch,
    ) -> Result<Vec<Outcome>> {
        let doc_ids: Vec<DocId> = documents.iter().copied().map(doc_id).collect();
        // `apply` runs per document, then `record` once; never both at a time.
        let batch = RefCell::new(batch);
        let remote = self.remote;
        let results = self.replica.transact_remote_then(
            &doc_ids,
            |doc_id, doc| Ok(batch.borrow_mut().apply(document_id(doc_id), doc)?),
            |conn, results| {
                let outcomes: Vec<Outcome> = results.iter().map(outcome).collect();
                write_record(conn, remote, &batch.borrow_mut().record(&outcomes))
            },
        )?;
        Ok(results.iter().map(outcome).collect())
    }

    fn record(&mut self, record: &SyncRecord) -> Result<()> {
        if record.is_empty() {
            return Ok(());
        }
        let tx = self.replica.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        write_record(&tx, self.remote, record)?;
        tx.commit()?;
        Ok(())
    }
}

fn outcome(result: &Result<()>) -> Outcome {
    result.as_ref().copied().map_err(ToString::to_string)
}

fn doc_id(document: DocumentId) -> DocId {
    DocId::from_bytes(*document.as_bytes())
}

fn document_id(doc_id: DocId) -> DocumentId {
    DocumentId::from_bytes(*doc_id.as_bytes())
}

/// The config key of a remote's change-feed cursor (as earlier versions named it).
fn cursor_key(remote: &str) -> String {
    format!("sync.cursor.{remote}")
}

fn write_record(conn: &Connection, remote: &str, record: &SyncRecord) -> Result<()> {
    let mut upsert = conn.prepare_cached(
        "INSERT INTO sync_state (remote, doc_id, state) VALUES (?1, ?2, ?3)
         ON CONFLICT (remote, doc_id) DO UPDATE SET state = excluded.state",
    )?;
    for (document, state) in &record.states {
        upsert.execute(params![remote, document.as_bytes(), state])?;
    }
    let mut clear = conn.prepare_cached("DELETE FROM outbox WHERE doc_id = ?1 AND seq <= ?2")?;
    for (document, seq) in &record.pushed {
        clear.execute(params![document.as_bytes(), seq])?;
    }
    let mut retried =
        conn.prepare_cached("DELETE FROM sync_retry WHERE remote = ?1 AND doc_id = ?2")?;
    for document in &record.retried {
        retried.execute(params![remote, document.as_bytes()])?;
    }
    let mut retry = conn.prepare_cached(
        "INSERT INTO sync_retry (remote, doc_id, failed_rounds) VALUES (?1, ?2, 1)
         ON CONFLICT (remote, doc_id) DO UPDATE SET failed_rounds = failed_rounds + 1",
    )?;
    for document in &record.retry {
        retry.execute(params![remote, document.as_bytes()])?;
    }
    if let Some(cursor) = record.cursor {
        conn.prepare_cached(
            "INSERT INTO replica_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![format!("config.{}", cursor_key(remote)), cursor.to_string()])?;
    }
    Ok(())
}

/// Records a local change of `doc_id` in the outbox (inside the writer's transaction).
pub(crate) fn add_to_outbox(conn: &Connection, doc_id: DocId) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (doc_id, seq) SELECT doc_id, local_seq FROM doc_store WHERE doc_id = ?1
         ON CONFLICT (doc_id) DO UPDATE SET seq = excluded.seq",
    )?
    .execute([doc_id.as_bytes()])?;
    Ok(())
}
