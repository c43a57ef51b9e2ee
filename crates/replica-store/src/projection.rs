//! Projection: documents → mirror rows.
//!
//! After a document changes (a local edit or a merge), its rows in the mirror are
//! replaced by rows derived from the document's new state, inside the transaction
//! that stored the change. Only the changed document is re-projected; `reindex`
//! runs the same code for every document, so the incremental path and a rebuild
//! cannot drift apart.
//!
//! The core hydrates the document once and asks every feature module for its
//! rows (see [`crate::module`]); the one table it writes itself is `conflicts`,
//! Automerge's concurrent values of any document, listed under the owner a
//! module names.

use automerge::AutoCommit;
use doc_model::{DocId, DocKind};
use rusqlite::{Connection, params};

use crate::error::Result;
use crate::module::{ChangedDocument, MirrorWrite, ModuleRows, PartWrites};

/// The core's own mirror tables.
pub(crate) const CORE_MIRROR_DDL: &str = r"
-- Fields with concurrent values, per document; `vals` is a JSON array of
-- {value, winner}; `owner` is the record a module says the document belongs to
-- (a client's id).
CREATE TABLE conflicts (
    doc_id  TEXT NOT NULL,
    owner   TEXT,
    pointer TEXT NOT NULL,
    vals    TEXT NOT NULL,
    PRIMARY KEY (doc_id, pointer)
) WITHOUT ROWID;
CREATE INDEX conflicts_owner ON conflicts (owner);

-- What each part of a document's rows was last written from (see rows.rs): a
-- part whose statements hash alike is not written again.
CREATE TABLE mirror_parts (
    doc_id TEXT NOT NULL,
    part   TEXT NOT NULL,
    hash   BLOB NOT NULL,
    PRIMARY KEY (doc_id, part)
) WITHOUT ROWID;
";

/// The tables of [`CORE_MIRROR_DDL`].
pub(crate) const CORE_MIRROR_TABLES: &[&str] = &["conflicts", "mirror_parts"];

/// Replaces the mirror rows of one document.
pub(crate) fn project(
    conn: &Connection,
    doc_id: DocId,
    kind: &str,
    doc: &AutoCommit,
    parts: PartWrites,
) -> Result<()> {
    write_projection(conn, &Projection::of(doc_id, kind, doc)?, parts)
}

/// What a document's mirror rows are made from: read from the document
/// without touching the database, so a rebuild can read documents on one
/// thread while another writes their rows.
#[derive(Debug)]
pub(crate) struct Projection {
    doc_id: DocId,
    /// Each module's rows, for the modules that show this kind.
    parts: Vec<Box<dyn ModuleRows>>,
    conflicts: Vec<doc_model::Conflict>,
}

impl Projection {
    /// Reads what the mirror shows of a document.
    pub(crate) fn of(doc_id: DocId, kind: &str, doc: &AutoCommit) -> Result<Self> {
        let hydrated = doc_model::hydrate(doc)?;
        let kind = DocKind::from_stored(kind).or_else(|| {
            tracing::debug!(%doc_id, kind, "not projecting a document of an unknown kind");
            None
        });
        let document = ChangedDocument { kind, doc, hydrated: &hydrated };
        let mut parts = Vec::new();
        if kind.is_some() {
            for module in crate::modules::ALL {
                parts.extend(module.read(&document)?);
            }
        }
        Ok(Self { doc_id, parts, conflicts: hydrated.conflicts(doc)? })
    }
}

/// Replaces a document's mirror rows with what its projection says.
pub(crate) fn write_projection(
    conn: &Connection,
    projection: &Projection,
    parts: PartWrites,
) -> Result<()> {
    for part in &projection.parts {
        part.write(MirrorWrite { conn, parts }, projection.doc_id)?;
    }
    let owner = projection.parts.iter().find_map(|part| part.owner());
    project_conflicts(conn, projection.doc_id, owner.as_deref(), &projection.conflicts)
}

fn project_conflicts(
    conn: &Connection,
    doc_id: DocId,
    owner: Option<&str>,
    conflicts: &[doc_model::Conflict],
) -> Result<()> {
    let doc_id = doc_id.to_string();
    conn.prepare_cached("DELETE FROM conflicts WHERE doc_id = ?1")?.execute([&doc_id])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO conflicts (doc_id, owner, pointer, vals) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for conflict in conflicts {
        let values: Vec<serde_json::Value> = conflict
            .values
            .iter()
            .map(|value| serde_json::json!({ "value": value.value, "winner": value.winner }))
            .collect();
        insert.execute(params![
            doc_id,
            owner,
            conflict.pointer(),
            serde_json::Value::from(values).to_string()
        ])?;
    }
    Ok(())
}
