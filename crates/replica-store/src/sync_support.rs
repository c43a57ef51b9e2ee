//! What sync needs from a replica: applying a batch of incoming sync messages in
//! one transaction, the outbox of locally changed documents, and the persisted
//! per-document sync state for each remote.

use automerge::AutoCommit;
use doc_model::DocId;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::Result;
use crate::replica::{Creation, Origin, Replica};

impl Replica {
    /// Runs `change` (receiving a sync message, generating the reply) for each of
    /// `doc_ids` inside one SQLite transaction; documents the replica does not have
    /// start empty and are stored once they have content. A failure of one
    /// document (a malformed message) is reported in its slot and does not stop
    /// the others.
    pub fn sync_documents<R>(
        &mut self,
        doc_ids: &[DocId],
        change: impl FnMut(DocId, &mut AutoCommit) -> Result<R>,
    ) -> Result<Vec<Result<R>>> {
        self.transact_many(doc_ids, Creation::Empty, Origin::Remote, change)
    }

    /// The document's heads as stored (sorted), without loading it; `None` if the
    /// replica does not have it.
    pub fn stored_heads(&self, doc_id: DocId) -> Result<Option<Vec<automerge::ChangeHash>>> {
        let heads: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT heads FROM doc_store WHERE doc_id = ?1")?
            .query_row([doc_id.as_bytes()], |row| row.get(0))
            .optional()?;
        Ok(heads.map(|bytes| {
            bytes
                .chunks_exact(32)
                .filter_map(|hash| automerge::ChangeHash::try_from(hash).ok())
                .collect()
        }))
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

    /// Removes pushed documents from the outbox, unless they changed again since.
    pub fn clear_outbox(&mut self, pushed: &[(DocId, i64)]) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut delete =
                tx.prepare_cached("DELETE FROM outbox WHERE doc_id = ?1 AND seq <= ?2")?;
            for (doc_id, seq) in pushed {
                delete.execute(params![doc_id.as_bytes(), seq])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The stored sync state of a document with a remote.
    pub fn sync_state(&self, remote: &str, doc_id: DocId) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT state FROM sync_state WHERE remote = ?1 AND doc_id = ?2")?
            .query_row(params![remote, doc_id.as_bytes()], |row| row.get(0))
            .optional()?)
    }

    /// Stores the sync states of several documents with a remote, in one transaction.
    pub fn save_sync_states(&mut self, remote: &str, states: &[(DocId, Vec<u8>)]) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO sync_state (remote, doc_id, state) VALUES (?1, ?2, ?3)
                 ON CONFLICT (remote, doc_id) DO UPDATE SET state = excluded.state",
            )?;
            for (doc_id, state) in states {
                upsert.execute(params![remote, doc_id.as_bytes(), state])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
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
