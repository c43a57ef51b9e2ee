//! Whether a replica's database is intact and its mirror agrees with its
//! documents.
//!
//! Two different kinds of damage need different cures. A database file that
//! SQLite itself finds damaged (a disk error, a file overwritten) can only be
//! restored from the relay; a mirror that disagrees with the documents (a bug in
//! a projection, an interrupted upgrade) is rebuilt from them by `reindex`.

use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;

use crate::error::Result;
use crate::module::PartWrites;
use crate::projection::project;
use crate::replica::{Replica, documents_of};
use crate::schema;

/// What [`Replica::check_integrity`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrityReport {
    /// What SQLite's `integrity_check` reported; empty when the file is intact.
    pub database_problems: Vec<String>,
    /// Mirror tables whose rows differ from a rebuild from the documents; empty
    /// when they agree (not checked when the database itself is damaged).
    pub mirror_differences: Vec<String>,
    /// Documents projected for the comparison.
    pub documents_checked: usize,
}

impl IntegrityReport {
    /// Whether nothing is wrong.
    pub fn is_intact(&self) -> bool {
        self.database_problems.is_empty() && self.mirror_differences.is_empty()
    }
}

impl Replica {
    /// Runs SQLite's integrity check on the whole file; if it passes, rebuilds the
    /// mirror from the documents inside a transaction that is rolled back, and
    /// compares every mirror table with what it holds now. Changes nothing.
    pub fn check_integrity(&mut self) -> Result<IntegrityReport> {
        let database_problems = database_problems(&self.conn)?;
        if !database_problems.is_empty() {
            return Ok(IntegrityReport {
                database_problems,
                mirror_differences: Vec::new(),
                documents_checked: 0,
            });
        }
        // Immediate: no other process may write between the two fingerprints.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before = fingerprints(&tx)?;
        schema::recreate_mirror(&tx)?;
        let documents = documents_of(&tx)?;
        for (doc_id, kind) in &documents {
            let Some(stored) = doc_store::load(&tx, doc_id.as_bytes())? else { continue };
            project(&tx, *doc_id, kind, &stored.doc, PartWrites::Rebuild)?;
        }
        let after = fingerprints(&tx)?;
        tx.rollback()?;
        let mirror_differences = before
            .iter()
            .zip(&after)
            .filter(|(old, new)| old != new)
            .map(|((table, _), _)| (*table).to_owned())
            .collect();
        Ok(IntegrityReport {
            database_problems: Vec::new(),
            mirror_differences,
            documents_checked: documents.len(),
        })
    }
}

/// SQLite's own verdict; a file too damaged to be read at all is one problem.
fn database_problems(conn: &Connection) -> Result<Vec<String>> {
    let checked: rusqlite::Result<Vec<String>> = conn
        .prepare("PRAGMA integrity_check(100)")
        .and_then(|mut statement| statement.query_map([], |row| row.get(0))?.collect());
    match checked {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => Ok(Vec::new()),
        Ok(lines) => Ok(lines),
        Err(error) => Ok(vec![error.to_string()]),
    }
}

/// A hash of each mirror table's rows in a fixed order, so that two states of
/// the mirror compare without holding either in memory. A `rowid` column is left
/// out: it is a surrogate key numbered in the order rows were written (the
/// search index refers to it), not data projected from a document.
fn fingerprints(conn: &Connection) -> Result<Vec<(&'static str, blake3::Hash)>> {
    let mut prints = Vec::new();
    // `mirror_parts` records how parts were last written, which a rebuild does
    // not record: bookkeeping, not rows projected from the documents.
    for table in schema::mirror_tables().filter(|table| *table != "mirror_parts") {
        let names: Vec<String> = conn
            .prepare(&format!("SELECT * FROM {table} LIMIT 0"))?
            .column_names()
            .filter(|name| *name != "rowid")
            .map(|name| format!("\"{name}\""))
            .collect();
        let columns = names.len();
        let listed = names.join(", ");
        let mut statement =
            conn.prepare(&format!("SELECT {listed} FROM {table} ORDER BY {listed}"))?;
        let mut rows = statement.query([])?;
        let mut hasher = blake3::Hasher::new();
        while let Some(row) = rows.next()? {
            for column in 0..columns {
                // The value's type and bytes, length-prefixed, so that no two
                // different rows hash alike.
                let value = row.get_ref(column)?;
                let (tag, bytes): (u8, Vec<u8>) = match value {
                    rusqlite::types::ValueRef::Null => (0, Vec::new()),
                    rusqlite::types::ValueRef::Integer(n) => (1, n.to_le_bytes().to_vec()),
                    rusqlite::types::ValueRef::Real(x) => (2, x.to_le_bytes().to_vec()),
                    rusqlite::types::ValueRef::Text(text) => (3, text.to_vec()),
                    rusqlite::types::ValueRef::Blob(blob) => (4, blob.to_vec()),
                };
                hasher.update(&[tag]);
                hasher.update(&(bytes.len() as u64).to_le_bytes());
                hasher.update(&bytes);
            }
        }
        prints.push((table, hasher.finalize()));
    }
    Ok(prints)
}
