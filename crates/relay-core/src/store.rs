//! The relay's database: documents of every workspace, the change log behind the
//! change feed, and the device tokens, in one SQLite file under `--data`.

use std::path::{Path, PathBuf};

use blob_store::BlobStore;
use rusqlite::{Connection, params};
use sync_protocol::DocumentId;
use sync_protocol::bundle::{
    BUNDLE_PAGE_BYTES, BUNDLE_PAGE_DOCUMENTS, BundleDocument, BundlePage, MAX_BUNDLE_DOCUMENT_BYTES,
};
use sync_protocol::feed::{FeedEntry, FeedPage};
use uuid::Uuid;

use crate::error::{RelayError, Result};

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "relay.sqlite";

const CHANGE_LOG_DDL: &str = r"
-- One row per (workspace, document), moved to a new, higher `seq` each time the
-- document changes: the change feed lists each changed document once, and the
-- log never holds more rows than there are documents.
CREATE TABLE IF NOT EXISTS change_log (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace BLOB NOT NULL,
    doc_id    BLOB NOT NULL,
    heads     BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS change_log_document ON change_log (workspace, doc_id);
CREATE INDEX IF NOT EXISTS change_log_feed ON change_log (workspace, seq);
";

/// The relay's data directory and its database.
#[derive(Debug)]
pub struct RelayStore {
    data_dir: PathBuf,
}

impl RelayStore {
    /// Opens (creating if needed) the data directory and its database schema.
    pub fn open(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| RelayError::Io { path: data_dir.to_owned(), source })?;
        let store = Self { data_dir: data_dir.to_owned() };
        let conn = store.connect()?;
        conn.execute_batch(doc_store::DDL)?;
        conn.execute_batch(crate::tokens::DDL)?;
        conn.execute_batch(CHANGE_LOG_DDL)?;
        Ok(store)
    }

    /// A connection for what the web server and the admin commands do outside
    /// the hub (token checks and administration, the change feed, bundle
    /// pages); WAL lets it run beside the hub's.
    pub fn open_connection(&self) -> Result<RelayConnection> {
        Ok(RelayConnection { conn: self.connect()? })
    }

    /// A new connection to the database. The hub holds one for writing; the web
    /// server holds [`RelayConnection`]s; WAL lets them run side by side.
    pub(crate) fn connect(&self) -> Result<Connection> {
        let conn = Connection::open(self.data_dir.join(DATABASE_FILE))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Nothing is acknowledged before it is on disk.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "cache_size", -32 * 1024)?;
        Ok(conn)
    }

    /// The blobs of one workspace (`<data>/blobs/<workspace>/`).
    pub fn blob_store(&self, workspace: Uuid) -> Result<BlobStore> {
        BlobStore::open(&self.data_dir.join("blobs").join(workspace.to_string())).map_err(|error| {
            RelayError::Io {
                path: self.data_dir.join("blobs"),
                source: std::io::Error::other(error.to_string()),
            }
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

/// The relay's database as the binaries use it outside the hub, so that they
/// never hold a SQLite connection themselves: token checks and
/// administration, the change feed and bundle pages.
#[derive(Debug)]
pub struct RelayConnection {
    conn: Connection,
}

impl RelayConnection {
    /// Checks a presented token (see [`crate::tokens::authenticate`]).
    pub fn authenticate(
        &self,
        presented: Option<&str>,
    ) -> std::result::Result<crate::Grant, crate::tokens::AuthErrorOr> {
        crate::tokens::authenticate(&self.conn, presented)
    }

    /// One page of a workspace's change feed after `since` (see [`change_feed`]).
    pub fn change_feed(&self, workspace: Uuid, since: i64, limit: usize) -> Result<FeedPage> {
        change_feed(&self.conn, workspace, since, limit)
    }

    /// One page of a workspace's bundle after `since` (see [`bundle_page`]).
    pub fn bundle_page(&self, workspace: Uuid, since: i64) -> Result<BundlePage> {
        bundle_page(&self.conn, workspace, since)
    }

    /// Issues a token; returns its record and the token string, shown once.
    pub fn issue_token(
        &self,
        workspace: Uuid,
        device: &str,
        read_only: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(crate::TokenRecord, String)> {
        crate::tokens::issue(&self.conn, workspace, device, read_only, now)
    }

    /// Every token, or one workspace's.
    pub fn list_tokens(&self, workspace: Option<Uuid>) -> Result<Vec<crate::TokenRecord>> {
        crate::tokens::list(&self.conn, workspace)
    }

    /// Revokes a token by its id.
    pub fn revoke_token(&self, id: &str, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
        crate::tokens::revoke(&self.conn, id, now)
    }
}

/// The storage key of a document: workspace id, then document id. Every lookup
/// goes through this key, so a document id alone never reaches another workspace.
pub fn document_key(workspace: Uuid, document: DocumentId) -> [u8; 32] {
    let mut key = [0_u8; 32];
    key[..16].copy_from_slice(workspace.as_bytes());
    key[16..].copy_from_slice(document.as_bytes());
    key
}

/// Records that a document changed, with its new heads (inside the writer's
/// transaction).
pub(crate) fn log_change(
    conn: &Connection,
    workspace: Uuid,
    document: DocumentId,
    heads: &[automerge::ChangeHash],
) -> Result<i64> {
    conn.prepare_cached("DELETE FROM change_log WHERE workspace = ?1 AND doc_id = ?2")?
        .execute(params![workspace.as_bytes().as_slice(), document.as_bytes().as_slice()])?;
    conn.prepare_cached("INSERT INTO change_log (workspace, doc_id, heads) VALUES (?1, ?2, ?3)")?
        .execute(params![
        workspace.as_bytes().as_slice(),
        document.as_bytes().as_slice(),
        doc_store::encode_heads(heads)
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Stored heads as the feed and the bundle name them: hex change hashes.
fn hex_heads(stored: &[u8]) -> Vec<String> {
    doc_store::decode_heads(stored).iter().map(ToString::to_string).collect()
}

/// One page of a workspace's change feed after `since`.
pub(crate) fn change_feed(
    conn: &Connection,
    workspace: Uuid,
    since: i64,
    limit: usize,
) -> Result<FeedPage> {
    let mut statement = conn.prepare_cached(
        "SELECT seq, doc_id, heads FROM change_log WHERE workspace = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = statement
        .query_map(params![workspace.as_bytes().as_slice(), since, limit as i64], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?, row.get::<_, Vec<u8>>(2)?))
        })?;
    let mut entries = Vec::new();
    for row in rows {
        let (seq, doc_id, heads) = row?;
        if let Ok(bytes) = <[u8; 16]>::try_from(doc_id.as_slice()) {
            entries.push(FeedEntry {
                document_id: DocumentId::from_bytes(bytes).to_string(),
                seq,
                heads: hex_heads(&heads),
            });
        }
    }
    let next = entries.last().map_or(since, |entry| entry.seq);
    let more = entries.len() == limit;
    Ok(FeedPage { workspace: workspace.to_string(), entries, next, more })
}

/// One page of a workspace's bundle after `since`: the documents the change
/// feed lists, in its order, with their saved bytes, up to
/// [`BUNDLE_PAGE_DOCUMENTS`] documents or [`BUNDLE_PAGE_BYTES`] bytes (a larger
/// document comes alone). Read in one transaction, so each document's bytes
/// match the heads beside it.
pub(crate) fn bundle_page(conn: &Connection, workspace: Uuid, since: i64) -> Result<BundlePage> {
    let tx = conn.unchecked_transaction()?;
    let mut statement = tx.prepare_cached(
        "SELECT seq, doc_id, heads FROM change_log WHERE workspace = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = statement.query_map(
        params![workspace.as_bytes().as_slice(), since, BUNDLE_PAGE_DOCUMENTS as i64],
        |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?, row.get::<_, Vec<u8>>(2)?)),
    )?;
    let mut documents = Vec::new();
    let mut bytes = 0;
    let mut next = since;
    let mut full = false;
    let mut examined = 0;
    for row in rows {
        examined += 1;
        let (seq, doc_id, heads) = row?;
        let Ok(id) = <[u8; 16]>::try_from(doc_id.as_slice()) else {
            next = seq;
            continue;
        };
        let document = DocumentId::from_bytes(id);
        let key = document_key(workspace, document);
        let Some(size) = doc_store::saved_size(&tx, &key)? else {
            // Logged but not stored (cannot happen: both are written together);
            // the page still moves past it.
            next = seq;
            continue;
        };
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        // Sized before it is read: a document over the bound is listed without
        // its bytes, and one that does not fit the page waits for the next.
        let carried = if size > MAX_BUNDLE_DOCUMENT_BYTES { 0 } else { size };
        if !documents.is_empty() && bytes + carried > BUNDLE_PAGE_BYTES {
            full = true;
            break;
        }
        let data = if carried == 0 {
            Vec::new()
        } else {
            doc_store::saved_bytes(&tx, &key)?.unwrap_or_default()
        };
        bytes += data.len();
        next = seq;
        documents.push(BundleDocument {
            document_id: document.to_string(),
            seq,
            heads: hex_heads(&heads),
            data,
        });
    }
    let more = full || examined == BUNDLE_PAGE_DOCUMENTS;
    Ok(BundlePage { workspace: workspace.to_string(), documents, next, more })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feed_lists_each_changed_document_once_and_only_its_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path()).unwrap();
        let conn = store.connect().unwrap();
        let (mine, theirs) = (Uuid::new_v4(), Uuid::new_v4());
        let (a, b) = (DocumentId::from_bytes([1; 16]), DocumentId::from_bytes([2; 16]));
        log_change(&conn, mine, a, &[]).unwrap();
        log_change(&conn, mine, b, &[]).unwrap();
        log_change(&conn, theirs, a, &[]).unwrap();
        let cursor = log_change(&conn, mine, a, &[]).unwrap();
        let page = change_feed(&conn, mine, 0, 100).unwrap();
        let ids: Vec<&str> = page.entries.iter().map(|entry| entry.document_id.as_str()).collect();
        assert_eq!(ids, [b.to_string(), a.to_string()]);
        assert_eq!(page.next, cursor);
        assert!(!page.more);
        assert!(change_feed(&conn, mine, cursor, 100).unwrap().entries.is_empty());
        let first = change_feed(&conn, mine, 0, 1).unwrap();
        assert!(first.more);
        assert_eq!(
            change_feed(&conn, mine, first.next, 1).unwrap().entries[0].document_id,
            a.to_string()
        );
    }

    #[test]
    fn bundle_pages_follow_the_feed_and_end_at_their_byte_bound() {
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path()).unwrap();
        let conn = store.connect().unwrap();
        let (mine, theirs) = (Uuid::new_v4(), Uuid::new_v4());
        let mut expected = Vec::new();
        for byte in 1..=3_u8 {
            let document = DocumentId::from_bytes([byte; 16]);
            let mut doc = automerge::AutoCommit::new();
            // Documents of about 3 MiB each (bytes that do not compress): two
            // fill a page of 8 MiB.
            let mut state = 0x9e37_79b9_u32 ^ u32::from(byte);
            let filler: Vec<u8> = (0..3 * 1024 * 1024)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state.to_le_bytes()[0]
                })
                .collect();
            let value = automerge::ScalarValue::Bytes(filler);
            automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "filler", value)
                .unwrap();
            let heads = doc.get_heads();
            doc_store::write(&conn, &document_key(mine, document), "client", &mut doc, None)
                .unwrap();
            log_change(&conn, mine, document, &heads).unwrap();
            expected.push((document, heads));
        }
        let other = DocumentId::from_bytes([9; 16]);
        log_change(&conn, theirs, other, &[]).unwrap();

        let first = bundle_page(&conn, mine, 0).unwrap();
        assert_eq!(first.documents.len(), 2);
        assert!(first.more);
        let second = bundle_page(&conn, mine, first.next).unwrap();
        assert_eq!(second.documents.len(), 1);
        assert!(!second.more);
        let documents: Vec<_> = first.documents.iter().chain(&second.documents).collect();
        for (document, (id, heads)) in documents.iter().zip(&expected) {
            assert_eq!(document.document_id, id.to_string());
            let loaded = automerge::AutoCommit::load(&document.data).unwrap();
            assert_eq!(loaded.clone().get_heads(), *heads);
            let listed: Vec<String> = heads.iter().map(ToString::to_string).collect();
            assert_eq!(document.heads, listed);
        }
        assert!(bundle_page(&conn, mine, second.next).unwrap().documents.is_empty());
        assert!(bundle_page(&conn, theirs, 0).unwrap().documents.is_empty(), "not stored");
    }
}
