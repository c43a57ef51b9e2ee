//! The field work module: visits at client units with their work items, the
//! gallery of photos, and the client's documents (files, and what other modules
//! file among them: dunning letters).
//!
//! It owns the client document's field work part (the layout is `doc-model`'s),
//! the tables of `mirror.sql`, and the queries over them (`visits`); recording
//! visits and adding files is in `record`. Other modules file documents through
//! [`file_documents`].

mod project;
pub(crate) mod record;
pub(crate) mod visits;

use std::sync::Arc;

use doc_model::{DocId, DocKind};
use domain::Client;
use rusqlite::Connection;

use crate::error::Result;
use crate::module::{ChangedDocument, MirrorWrite, Module, ModuleRows};

pub(crate) use project::{FiledDocument, file_documents, utc_text};

/// See the module docs.
pub(crate) struct FieldWorkModule;

impl Module for FieldWorkModule {
    fn name(&self) -> &'static str {
        "field_work"
    }

    fn projection_version(&self) -> u32 {
        1
    }

    fn mirror_ddl(&self) -> &'static str {
        include_str!("mirror.sql")
    }

    fn mirror_tables(&self) -> &'static [&'static str] {
        &["visits", "visit_items", "gallery", "client_documents"]
    }

    fn read(&self, document: &ChangedDocument<'_>) -> Result<Option<Box<dyn ModuleRows>>> {
        match document.kind {
            Some(DocKind::Client) => Ok(Some(Box::new(FieldWorkRows(document.hydrated.client()?)))),
            Some(DocKind::Invoices | DocKind::Billing | DocKind::Groups | DocKind::Workspace)
            | None => Ok(None),
        }
    }

    fn referenced_blobs(&self, conn: &Connection) -> Result<Vec<String>> {
        let mut statement = conn.prepare_cached(
            "SELECT hash FROM gallery UNION SELECT thumb_hash FROM gallery WHERE thumb_hash <> ''
             UNION SELECT hash FROM client_documents WHERE hash <> ''",
        )?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// A client's field work, read from its document.
#[derive(Debug)]
struct FieldWorkRows(Arc<Client>);

impl ModuleRows for FieldWorkRows {
    fn write(&self, mirror: MirrorWrite<'_>, doc_id: DocId) -> Result<()> {
        project::project_field_work(mirror, doc_id, &self.0)
    }
}
