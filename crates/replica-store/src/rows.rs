//! Writing a part of a document's mirror rows only when it changed.
//!
//! Most changes touch one part of a document: an edit of a client's industry
//! changes its profile, not its units, visits or templates. A module writes each
//! such part through [`replace_if_changed`], which first runs the part's
//! statements without executing them, hashing each statement and its values; if
//! the hash is the one recorded when the part was last written
//! (`mirror_parts`), the rows are already exactly those and nothing is written.
//! Otherwise the statements run (they delete the part's old rows and insert the
//! new ones) and the new hash is recorded, in the caller's transaction. A part
//! with no recorded hash (a new document, or one changed for the first time
//! since a rebuild) is written and hashed in one pass.
//!
//! A rebuild writes every part without comparing or recording it
//! ([`PartWrites::Rebuild`]); `mirror_parts` is a core mirror table (see
//! `projection.rs`), emptied with the others.

use blake3::Hasher;
use doc_model::DocId;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params};

use crate::error::Result;
use crate::module::{MirrorWrite, PartWrites};

/// Where a part's statements go: into a hash, or to the database.
pub(crate) struct RowSink<'c> {
    target: Target<'c>,
    /// The part's statements prepared so far: a part runs a few statements,
    /// each once per row, and looking one up in the connection's cache for
    /// every row costs a rebuild more than the lookup here.
    prepared: Vec<(String, rusqlite::CachedStatement<'c>)>,
}

enum Target<'c> {
    Hash(&'c mut Hasher),
    Database(&'c Connection),
    /// Both at once: a part with no recorded hash (a new document, or one
    /// changed for the first time since a rebuild) has nothing to compare with.
    Both(&'c Connection, &'c mut Hasher),
}

impl<'c> RowSink<'c> {
    fn new(target: Target<'c>) -> Self {
        Self { target, prepared: Vec::new() }
    }

    /// Runs one statement of the part (a `DELETE` of its old rows or an
    /// `INSERT` of a new one), or hashes it with its values.
    pub(crate) fn execute(&mut self, sql: &str, values: &[&dyn ToSql]) -> Result<()> {
        let (conn, hasher) = match &mut self.target {
            Target::Database(conn) => (Some(*conn), None),
            Target::Hash(hasher) => (None, Some(hasher)),
            Target::Both(conn, hasher) => (Some(*conn), Some(hasher)),
        };
        if let Some(hasher) = hasher {
            hash_bytes(hasher, 0, sql.as_bytes());
            for value in values {
                hash_value(hasher, &value.to_sql()?);
            }
        }
        if let Some(conn) = conn {
            let index = match self.prepared.iter().position(|(text, _)| text == sql) {
                Some(index) => index,
                None => {
                    self.prepared.push((sql.to_owned(), conn.prepare_cached(sql)?));
                    self.prepared.len() - 1
                }
            };
            self.prepared[index].1.execute(values)?;
        }
        Ok(())
    }
}

/// Writes the part `part` of `doc_id`'s rows with `statements`, unless they are
/// the statements it was last written with. `statements` may only issue
/// statements through the sink: it runs once to hash them, and once more to
/// execute them when they differ.
pub(crate) fn replace_if_changed(
    mirror: MirrorWrite<'_>,
    doc_id: DocId,
    part: &str,
    statements: impl Fn(&mut RowSink<'_>) -> Result<()>,
) -> Result<()> {
    let conn = mirror.conn;
    let doc = doc_id.to_string();
    if mirror.parts == PartWrites::Rebuild {
        // Nothing recorded may outlive these rows.
        conn.prepare_cached("DELETE FROM mirror_parts WHERE doc_id = ?1 AND part = ?2")?
            .execute(params![doc, part])?;
        return statements(&mut RowSink::new(Target::Database(conn)));
    }
    let recorded: Option<Vec<u8>> = conn
        .prepare_cached("SELECT hash FROM mirror_parts WHERE doc_id = ?1 AND part = ?2")?
        .query_row(params![doc, part], |row| row.get(0))
        .optional()?;
    let mut hasher = Hasher::new();
    match recorded {
        // Nothing to compare with: write and hash in one pass.
        None => statements(&mut RowSink::new(Target::Both(conn, &mut hasher)))?,
        Some(recorded) => {
            statements(&mut RowSink::new(Target::Hash(&mut hasher)))?;
            if recorded.as_slice() == hasher.finalize().as_bytes().as_slice() {
                return Ok(());
            }
            statements(&mut RowSink::new(Target::Database(conn)))?;
        }
    }
    conn.prepare_cached(
        "INSERT INTO mirror_parts (doc_id, part, hash) VALUES (?1, ?2, ?3)
         ON CONFLICT (doc_id, part) DO UPDATE SET hash = excluded.hash",
    )?
    .execute(params![doc, part, hasher.finalize().as_bytes().as_slice()])?;
    Ok(())
}

/// `INSERT INTO table (columns) VALUES (?1, …) ON CONFLICT (key) DO UPDATE SET …`
/// with a `WHERE` that skips the update when nothing differs, so an unchanged
/// row costs a lookup and no write.
pub(crate) fn upsert_sql(table: &str, columns: &[&str], key: &[&str]) -> String {
    let values: Vec<String> = (1..=columns.len()).map(|n| format!("?{n}")).collect();
    let rest: Vec<&str> = columns.iter().copied().filter(|column| !key.contains(column)).collect();
    let sets: Vec<String> =
        rest.iter().map(|column| format!("{column} = excluded.{column}")).collect();
    let fresh: Vec<String> = rest.iter().map(|column| format!("excluded.{column}")).collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {} WHERE ({}) IS NOT ({})",
        columns.join(", "),
        values.join(", "),
        key.join(", "),
        sets.join(", "),
        rest.join(", "),
        fresh.join(", ")
    )
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
