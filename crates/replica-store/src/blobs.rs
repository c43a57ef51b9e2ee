//! The replica's blobs: the content-addressed store under `<home>/blobs`, which
//! blobs the documents reference, and which still have to be uploaded.

use blob_store::{BlobHash, BlobStore};
use rusqlite::Connection;

use crate::error::Result;
use crate::replica::Replica;

/// When blobs referenced by synced documents are downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobFetch {
    /// During every sync (the default): photos are there when the network is not.
    Eager,
    /// On first access (export, open): for devices short of disk.
    Lazy,
}

const FETCH_CONFIG: &str = "blobs.fetch";

impl Replica {
    /// The replica's blob store.
    pub fn blob_store(&self) -> Result<BlobStore> {
        Ok(BlobStore::open(&self.home().join("blobs"))?)
    }

    /// When referenced blobs are downloaded.
    pub fn blob_fetch(&self) -> Result<BlobFetch> {
        Ok(match self.config(FETCH_CONFIG)?.as_deref() {
            Some("lazy") => BlobFetch::Lazy,
            _ => BlobFetch::Eager,
        })
    }

    /// Sets when referenced blobs are downloaded.
    pub fn set_blob_fetch(&self, fetch: BlobFetch) -> Result<()> {
        self.set_config(FETCH_CONFIG, if fetch == BlobFetch::Lazy { "lazy" } else { "eager" })
    }

    /// Every blob a module's rows reference (photos, thumbnails, documents,
    /// letters), each once, in hash order.
    pub fn referenced_blobs(&self) -> Result<Vec<BlobHash>> {
        let mut referenced = std::collections::BTreeSet::new();
        for module in crate::modules::ALL {
            referenced.extend(module.referenced_blobs(&self.conn)?);
        }
        Ok(referenced.into_iter().filter_map(|hash| hash.parse().ok()).collect())
    }

    /// Blobs added here that the relay does not have yet.
    pub fn pending_uploads(&self) -> Result<Vec<BlobHash>> {
        let mut statement =
            self.conn.prepare_cached("SELECT hash FROM pending_uploads ORDER BY hash")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        let mut hashes = Vec::new();
        for row in rows {
            if let Ok(hash) = row?.parse() {
                hashes.push(hash);
            }
        }
        Ok(hashes)
    }

    /// Records that the relay has a blob.
    pub fn mark_uploaded(&self, hash: &BlobHash) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM pending_uploads WHERE hash = ?1")?
            .execute([hash.to_string()])?;
        Ok(())
    }
}

/// Records blobs for upload on `conn`, which may be inside the transaction that
/// stores the documents referencing them: then a crash between the two cannot
/// leave a referenced blob that is never uploaded, and a dunning run commits
/// (and syncs the disk) once per batch of letters, not once per letter.
pub(crate) fn queue_uploads<'a>(
    conn: &Connection,
    hashes: impl IntoIterator<Item = &'a BlobHash>,
) -> Result<()> {
    let mut insert =
        conn.prepare_cached("INSERT OR IGNORE INTO pending_uploads (hash) VALUES (?1)")?;
    for hash in hashes {
        insert.execute([hash.to_string()])?;
    }
    Ok(())
}
