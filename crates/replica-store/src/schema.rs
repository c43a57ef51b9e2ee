//! The replica's SQLite schema.
//!
//! Two groups of tables share one file:
//!
//! - the *document store* (`replica_meta`, `doc_store`, `doc_chunks`): the
//!   Automerge documents, the source of truth. Its layout only ever grows by
//!   additive migrations;
//! - the *mirror* (everything else): rows projected from the documents for
//!   queries, in the core's `conflicts` table and the tables each feature module
//!   declares (`modules/*/mirror.sql`). It is derived data, so a mirror of an
//!   older layout is not migrated but dropped and rebuilt from the documents (see
//!   `reindex`).

use rusqlite::Connection;

use crate::error::Result;
use crate::projection::{CORE_MIRROR_DDL, CORE_MIRROR_TABLES};

/// Replica tables besides the documents (see `doc_store::DDL`): the replica's
/// identity and settings, and per-document sync state.
pub(crate) const STORE_DDL: &str = r"
CREATE TABLE IF NOT EXISTS replica_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- What this replica and a remote know they share, per document (automerge's
-- encoded sync state: the shared heads), so a reconnect exchanges only changes.
CREATE TABLE IF NOT EXISTS sync_state (
    remote TEXT NOT NULL,
    doc_id BLOB NOT NULL,
    state  BLOB NOT NULL,
    PRIMARY KEY (remote, doc_id)
) WITHOUT ROWID;

-- Documents whose sync with a remote failed in a round (a message that could not
-- be applied): the next rounds sync them even if the remote's change feed, whose
-- cursor moved on, does not name them again; `failed_rounds` bounds how often.
CREATE TABLE IF NOT EXISTS sync_retry (
    remote        TEXT NOT NULL,
    doc_id        BLOB NOT NULL,
    failed_rounds INTEGER NOT NULL,
    PRIMARY KEY (remote, doc_id)
) WITHOUT ROWID;

-- Blobs added on this device and not yet uploaded to the relay.
CREATE TABLE IF NOT EXISTS pending_uploads (
    hash TEXT PRIMARY KEY
) WITHOUT ROWID;

-- Documents changed on this device and not yet pushed to the relay; `seq` is the
-- document's `local_seq` at its latest local change, so a change made while a
-- sync runs keeps its row when the sync clears what it pushed.
CREATE TABLE IF NOT EXISTS outbox (
    doc_id BLOB PRIMARY KEY,
    seq    INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Raised when the core's projection (the `conflicts` table) changes what it
/// writes; the modules have versions of their own.
const CORE_PROJECTION_VERSION: u32 = 1;

/// Every mirror table: the core's, then each module's.
pub(crate) fn mirror_tables() -> impl Iterator<Item = &'static str> {
    CORE_MIRROR_TABLES
        .iter()
        .copied()
        .chain(crate::modules::ALL.iter().flat_map(|module| module.mirror_tables().iter().copied()))
}

/// The mirror's layout version, stored as SQLite's `user_version`: a hash of
/// the core's and every module's projection version and tables, so that a
/// replica whose mirror was written by another layout rebuilds it, and a
/// changed table cannot be forgotten. Never 0, which marks a mirror being
/// rebuilt.
pub(crate) fn mirror_version() -> i64 {
    *MIRROR_VERSION
}

/// Computed once per process: every open compares it.
static MIRROR_VERSION: std::sync::LazyLock<i64> = std::sync::LazyLock::new(|| {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&CORE_PROJECTION_VERSION.to_le_bytes());
    hasher.update(without_comments(CORE_MIRROR_DDL).as_bytes());
    for module in crate::modules::ALL {
        for part in [module.name().to_owned(), without_comments(module.mirror_ddl())] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        hasher.update(&module.projection_version().to_le_bytes());
    }
    let hash = hasher.finalize();
    let [a, b, c, d, ..] = *hash.as_bytes();
    // `user_version` is a signed 32-bit integer: 31 bits of the hash, plus one
    // so it is never 0.
    i64::from(u32::from_le_bytes([a, b, c, d]) >> 1) + 1
});

/// The statements of `ddl` without its comment lines, so that explaining a
/// table better does not make every replica rebuild its mirror.
fn without_comments(ddl: &str) -> String {
    ddl.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Creates the document store if needed; returns whether the mirror must be rebuilt.
pub(crate) fn prepare(conn: &Connection) -> Result<bool> {
    conn.execute_batch(doc_store::DDL)?;
    conn.execute_batch(STORE_DDL)?;
    let stored: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if stored == mirror_version() {
        return Ok(false);
    }
    recreate_mirror(conn)?;
    Ok(true)
}

/// Marks the mirror as of no layout while it is being rebuilt: opening the
/// replica then rebuilds it again.
pub(crate) fn mark_mirror_incomplete(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "user_version", 0)?;
    Ok(())
}

/// Marks the mirror as complete in the current layout.
pub(crate) fn mark_mirror_complete(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "user_version", mirror_version())?;
    Ok(())
}

/// Drops every mirror table and creates the current layout, empty.
pub(crate) fn recreate_mirror(conn: &Connection) -> Result<()> {
    let mut ddl = String::new();
    // Every view is a module's published view of its tables (the document
    // store has none), dropped with them.
    let views: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'view'")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for view in views {
        ddl.push_str(&format!("DROP VIEW IF EXISTS \"{view}\";\n"));
    }
    for table in mirror_tables() {
        ddl.push_str(&format!("DROP TABLE IF EXISTS {table};\n"));
    }
    ddl.push_str(CORE_MIRROR_DDL);
    for module in crate::modules::ALL {
        ddl.push_str(module.mirror_ddl());
    }
    ddl.push_str(&format!("PRAGMA user_version = {};", mirror_version()));
    conn.execute_batch(&ddl)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables SQLite holds after running `ddl` on an empty database (a
    /// search index's shadow tables are of type `shadow`, not listed).
    fn tables_created_by(ddl: &str) -> Vec<String> {
        let conn = Connection::open_in_memory().expect("an in-memory database opens");
        conn.execute_batch(ddl).expect("the DDL runs");
        let mut statement = conn
            .prepare(
                "SELECT name FROM pragma_table_list
                 WHERE schema = 'main' AND type IN ('table', 'virtual')
                     AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                 ORDER BY name",
            )
            .expect("the schema query prepares");
        let names = statement.query_map([], |row| row.get(0)).expect("the schema is read");
        names.collect::<rusqlite::Result<_>>().expect("names are text")
    }

    #[test]
    fn every_module_lists_exactly_the_tables_its_ddl_creates() {
        let declared = |tables: &[&str]| {
            let mut tables: Vec<String> = tables.iter().map(|table| (*table).to_owned()).collect();
            tables.sort();
            tables
        };
        assert_eq!(tables_created_by(CORE_MIRROR_DDL), declared(CORE_MIRROR_TABLES));
        for module in crate::modules::ALL {
            assert_eq!(
                tables_created_by(module.mirror_ddl()),
                declared(module.mirror_tables()),
                "module {}",
                module.name()
            );
        }
    }

    #[test]
    fn no_two_modules_share_a_table() {
        let mut tables: Vec<&str> = mirror_tables().collect();
        let count = tables.len();
        tables.sort_unstable();
        tables.dedup();
        assert_eq!(tables.len(), count);
    }

    #[test]
    fn the_mirror_version_is_never_the_mark_of_a_rebuild_under_way() {
        assert!(mirror_version() > 0);
        assert!(mirror_version() <= i64::from(i32::MAX));
    }
}
