//! Writing a part of a document's mirror rows only when it changed.
//!
//! Most changes touch one part of a document: an edit of a client's industry
//! changes its profile, not its units, visits or templates. A module writes each
//! such part through [`replace_if_changed`], which first runs the part's
//! statements without executing them, hashing each statement and its values; if
//! the hash is the one recorded when the part was last written
//! (`mirror_parts`), the rows are already exactly those and nothing is written.
//! Otherwise the statements run (they delete the part's old rows and insert the
//! new ones) and the new hash is recorded, in the caller's transaction.
//!
//! A rebuild starts from an empty `mirror_parts` (a core mirror table, see
//! `projection.rs`), so every part is written.

use blake3::Hasher;
use doc_model::DocId;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params};

use crate::error::Result;

/// Where a part's statements go: into a hash, or to the database.
pub(crate) struct RowSink<'c> {
    target: Target<'c>,
}

enum Target<'c> {
    Hash(&'c mut Hasher),
    Database(&'c Connection),
}

impl RowSink<'_> {
    /// Runs one statement of the part (a `DELETE` of its old rows or an
    /// `INSERT` of a new one), or hashes it with its values.
    pub(crate) fn execute(&mut self, sql: &str, values: &[&dyn ToSql]) -> Result<()> {
        match &mut self.target {
            Target::Database(conn) => {
                conn.prepare_cached(sql)?.execute(values)?;
            }
            Target::Hash(hasher) => {
                hash_bytes(hasher, 0, sql.as_bytes());
                for value in values {
                    hash_value(hasher, &value.to_sql()?);
                }
            }
        }
        Ok(())
    }
}

/// Writes the part `part` of `doc_id`'s rows with `statements`, unless they are
/// the statements it was last written with. `statements` may only issue
/// statements through the sink: it runs once to hash them, and once more to
/// execute them when they differ.
pub(crate) fn replace_if_changed(
    conn: &Connection,
    doc_id: DocId,
    part: &str,
    statements: impl Fn(&mut RowSink<'_>) -> Result<()>,
) -> Result<()> {
    let mut hasher = Hasher::new();
    statements(&mut RowSink { target: Target::Hash(&mut hasher) })?;
    let hash = hasher.finalize();
    let doc = doc_id.to_string();
    let recorded: Option<Vec<u8>> = conn
        .prepare_cached("SELECT hash FROM mirror_parts WHERE doc_id = ?1 AND part = ?2")?
        .query_row(params![doc, part], |row| row.get(0))
        .optional()?;
    if recorded.as_deref() == Some(hash.as_bytes().as_slice()) {
        return Ok(());
    }
    statements(&mut RowSink { target: Target::Database(conn) })?;
    conn.prepare_cached(
        "INSERT INTO mirror_parts (doc_id, part, hash) VALUES (?1, ?2, ?3)
         ON CONFLICT (doc_id, part) DO UPDATE SET hash = excluded.hash",
    )?
    .execute(params![doc, part, hash.as_bytes().as_slice()])?;
    Ok(())
}

/// A tag, the length and the bytes, so that no two different sequences of
/// statements and values hash alike.
fn hash_bytes(hasher: &mut Hasher, tag: u8, bytes: &[u8]) {
    hasher.update(&[tag]);
    hasher.update(&(bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

fn hash_value(hasher: &mut Hasher, value: &ToSqlOutput<'_>) {
    let value = match value {
        ToSqlOutput::Borrowed(value) => *value,
        ToSqlOutput::Owned(value) => value.into(),
        // Not used by projections (zero blobs, arrays); hashed by their debug
        // form so that they still count as a change.
        other => {
            hash_bytes(hasher, 9, format!("{other:?}").as_bytes());
            return;
        }
    };
    match value {
        ValueRef::Null => hash_bytes(hasher, 1, &[]),
        ValueRef::Integer(number) => hash_bytes(hasher, 2, &number.to_le_bytes()),
        ValueRef::Real(number) => hash_bytes(hasher, 3, &number.to_le_bytes()),
        ValueRef::Text(text) => hash_bytes(hasher, 4, text),
        ValueRef::Blob(blob) => hash_bytes(hasher, 5, blob),
    }
}
