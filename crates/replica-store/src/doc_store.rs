//! Automerge documents inside the replica's SQLite file.
//!
//! A document is stored as its last compacted snapshot (`doc_store.snapshot`) plus
//! the incremental chunks written since (`doc_chunks`). A write appends one chunk
//! holding exactly the changes the edit or merge added; once there are more than
//! [`MAX_CHUNKS`] chunks, or they outweigh the snapshot, the document is compacted
//! into a new snapshot in the same transaction. Every write happens inside the
//! caller's transaction, which also updates the mirror, so documents and mirror
//! can never disagree after a crash.

use automerge::{AutoCommit, ChangeHash};
use doc_model::DocId;
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Result, StoreError};

/// Chunks kept before a document is compacted into a fresh snapshot. Loading
/// applies every chunk, so this bounds load time; compaction costs one full save,
/// so compacting on every write would make edits of large documents slow.
pub(crate) const MAX_CHUNKS: i64 = 32;

/// A document loaded from the store.
#[derive(Debug)]
pub(crate) struct StoredDoc {
    pub(crate) doc: AutoCommit,
    pub(crate) kind: String,
    pub(crate) version: i64,
}

/// Loads a document; `None` if the replica does not have it.
pub(crate) fn load(conn: &Connection, doc_id: DocId) -> Result<Option<StoredDoc>> {
    let row = conn
        .prepare_cached("SELECT kind, snapshot, heads, version FROM doc_store WHERE doc_id = ?1")?
        .query_row([doc_id.as_bytes()], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Vec<u8>>(1)?,
                row.get::<_, Vec<u8>>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })
        .optional()?;
    let Some((kind, snapshot, stored_heads, version)) = row else { return Ok(None) };
    let mut doc = AutoCommit::load(&snapshot)?;
    let mut chunks =
        conn.prepare_cached("SELECT bytes FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?;
    let mut rows = chunks.query([doc_id.as_bytes()])?;
    while let Some(row) = rows.next()? {
        let bytes: Vec<u8> = row.get(0)?;
        doc.load_incremental(&bytes)?;
    }
    if encode_heads(&doc.get_heads()) != stored_heads {
        return Err(StoreError::CorruptDocument { doc_id });
    }
    Ok(Some(StoredDoc { doc, kind, version }))
}

/// The stored version of a document, to tell whether a cached copy is current.
pub(crate) fn version(conn: &Connection, doc_id: DocId) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT version FROM doc_store WHERE doc_id = ?1")?
        .query_row([doc_id.as_bytes()], |row| row.get(0))
        .optional()?)
}

/// Writes what changed in `doc` since `heads_before` (`None`: the document is new)
/// and returns the document's new version.
pub(crate) fn write(
    conn: &Connection,
    doc_id: DocId,
    kind: &str,
    doc: &mut AutoCommit,
    heads_before: Option<&[ChangeHash]>,
) -> Result<i64> {
    let heads = encode_heads(&doc.get_heads());
    let local_seq: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(local_seq), 0) + 1 FROM doc_store")?
        .query_row([], |row| row.get(0))?;
    let Some(heads_before) = heads_before else {
        let snapshot = doc.save();
        conn.prepare_cached(
            "INSERT INTO doc_store (doc_id, kind, snapshot, snapshot_bytes, heads, version, local_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
        )?
        .execute(params![doc_id.as_bytes(), kind, snapshot, snapshot.len() as i64, heads, local_seq])?;
        return Ok(1);
    };
    let (chunk_count, chunk_bytes, snapshot_bytes, version): (i64, i64, i64, i64) = conn
        .prepare_cached(
            "SELECT chunk_count, chunk_bytes, snapshot_bytes, version FROM doc_store WHERE doc_id = ?1",
        )?
        .query_row([doc_id.as_bytes()], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?;
    let chunk = doc.save_after(heads_before);
    let new_chunk_bytes = chunk_bytes + chunk.len() as i64;
    if chunk_count + 1 > MAX_CHUNKS || new_chunk_bytes > snapshot_bytes.max(4096) {
        let snapshot = doc.save();
        conn.prepare_cached("DELETE FROM doc_chunks WHERE doc_id = ?1")?
            .execute([doc_id.as_bytes()])?;
        conn.prepare_cached(
            "UPDATE doc_store SET snapshot = ?2, snapshot_bytes = ?3, heads = ?4, chunk_count = 0,
                 chunk_bytes = 0, version = version + 1, local_seq = ?5
             WHERE doc_id = ?1",
        )?
        .execute(params![
            doc_id.as_bytes(),
            snapshot,
            snapshot.len() as i64,
            heads,
            local_seq
        ])?;
    } else {
        conn.prepare_cached("INSERT INTO doc_chunks (doc_id, seq, bytes) VALUES (?1, ?2, ?3)")?
            .execute(params![doc_id.as_bytes(), chunk_count + 1, chunk])?;
        conn.prepare_cached(
            "UPDATE doc_store SET heads = ?2, chunk_count = chunk_count + 1, chunk_bytes = ?3,
                 version = version + 1, local_seq = ?4
             WHERE doc_id = ?1",
        )?
        .execute(params![doc_id.as_bytes(), heads, new_chunk_bytes, local_seq])?;
    }
    Ok(version + 1)
}

/// Head hashes as stored: sorted and concatenated.
pub(crate) fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    let mut sorted = heads.to_vec();
    sorted.sort_unstable();
    sorted.iter().flat_map(|hash| hash.0).collect()
}

/// Every document id with its kind, in id order.
pub(crate) fn all_documents(conn: &Connection) -> Result<Vec<(DocId, String)>> {
    let mut statement = conn.prepare("SELECT doc_id, kind FROM doc_store ORDER BY doc_id")?;
    let rows = statement.query_map([], |row| {
        let bytes: Vec<u8> = row.get(0)?;
        Ok((bytes, row.get::<_, String>(1)?))
    })?;
    let mut documents = Vec::new();
    for row in rows {
        let (bytes, kind) = row?;
        if let Ok(bytes) = <[u8; 16]>::try_from(bytes.as_slice()) {
            documents.push((DocId::from_bytes(bytes), kind));
        }
    }
    Ok(documents)
}
