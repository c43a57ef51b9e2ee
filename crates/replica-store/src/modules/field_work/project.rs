//! The field work module's projection: a client's visits with their work
//! items, its gallery and its documents; and the documents other modules file
//! among a client's documents (dunning letters).

use doc_model::DocId;
use domain::Client;
use rusqlite::{Connection, params};

use crate::error::Result;
use crate::module::MirrorWrite;
use crate::rows::replace_if_changed;

/// A time as UTC text that sorts chronologically (`2026-11-22T07:00:00Z`).
pub(crate) fn utc_text(time: &chrono::DateTime<chrono::FixedOffset>) -> String {
    time.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Replaces a client's visits, gallery and documents, when they changed.
pub(super) fn project_field_work(
    mirror: MirrorWrite<'_>,
    doc_id: DocId,
    client: &Client,
) -> Result<()> {
    let id = client.id.to_string();
    replace_if_changed(mirror, doc_id, "field_work", |sink| {
        use chrono::Datelike;
        sink.execute("DELETE FROM gallery WHERE client_id = ?1", params![id])?;
        sink.execute(
            "DELETE FROM client_documents WHERE doc_id = ?1",
            params![doc_id.to_string()],
        )?;
        sink.execute("DELETE FROM visit_items WHERE visit_id IN (SELECT id FROM visits WHERE client_id = ?1)", params![id])?;
        sink.execute("DELETE FROM visits WHERE client_id = ?1", params![id])?;
        let insert_visit = "INSERT INTO visits (id, client_id, unit_id, start_utc, start_local, end_local, minutes, year, month,
                 technician, kind, status, notes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
        let insert_item = "INSERT INTO visit_items (visit_id, position, description, quantity, unit) VALUES (?1, ?2, ?3, ?4, ?5)";
        for visit in &client.visits {
            let visit_id = visit.id.to_string();
            sink.execute(
                insert_visit,
                params![
                    visit_id,
                    id,
                    visit.unit_id.map(|unit| unit.to_string()).unwrap_or_default(),
                    utc_text(&visit.start),
                    visit.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                    visit.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                    visit.minutes(),
                    visit.start.year(),
                    visit.start.month(),
                    visit.technician,
                    visit.kind.as_str(),
                    visit.status.as_str(),
                    visit.notes,
                ],
            )?;
            for (position, item) in visit.items.iter().enumerate() {
                sink.execute(
                    insert_item,
                    params![visit_id, position as i64, item.description, item.quantity, item.unit],
                )?;
            }
        }
        let insert_item = "INSERT INTO gallery (id, client_id, unit_id, visit_id, hash, thumb_hash, name, media_type, size,
                 caption, taken_at, added_by, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
        for (position, item) in client.gallery.iter().enumerate() {
            sink.execute(
                insert_item,
                params![
                    item.id.to_string(),
                    id,
                    item.unit_id.map(|unit| unit.to_string()).unwrap_or_default(),
                    item.visit_id.map(|visit| visit.to_string()).unwrap_or_default(),
                    item.hash,
                    item.thumb_hash.clone().unwrap_or_default(),
                    item.name,
                    item.media_type,
                    i64::try_from(item.size).unwrap_or(i64::MAX),
                    item.caption,
                    item.taken_at.clone().unwrap_or_default(),
                    item.added_by,
                    position as i64,
                ],
            )?;
        }
        let insert_document = "INSERT INTO client_documents (id, client_id, doc_id, name, kind, date, unit_id, invoice_id, visit_id,
                 hash, media_type, size)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
        for document in &client.documents {
            sink.execute(
                insert_document,
                params![
                    document.id.to_string(),
                    id,
                    doc_id.to_string(),
                    document.name,
                    document.kind.as_str(),
                    document.date.to_string(),
                    document.unit_id.map(|unit| unit.to_string()).unwrap_or_default(),
                    document.invoice_id.clone().unwrap_or_default(),
                    document.visit_id.map(|visit| visit.to_string()).unwrap_or_default(),
                    document.hash,
                    document.media_type,
                    i64::try_from(document.size).unwrap_or(i64::MAX),
                ],
            )?;
        }
        Ok(())
    })
}

/// A document another module keeps in its own Automerge document and files among
/// a client's documents (a dunning letter, in its invoices document).
#[derive(Debug)]
pub(crate) struct FiledDocument<'a> {
    /// The document's id.
    pub(crate) id: &'a str,
    /// The client it is filed under.
    pub(crate) client_id: &'a str,
    /// What the list shows as its name.
    pub(crate) name: &'a str,
    /// Its kind, as the list shows it (`dunning_letter`).
    pub(crate) kind: &'static str,
    /// Its date.
    pub(crate) date: chrono::NaiveDate,
    /// Its file's blake3 hash.
    pub(crate) hash: &'a str,
    /// Its file's media type.
    pub(crate) media_type: &'a str,
    /// Its file's size in bytes.
    pub(crate) size: u64,
}

/// Brings the documents that Automerge document `doc_id` files up to date: a row
/// is written only when it changed, and rows `doc_id` no longer files are
/// removed, so a dunning run that adds one letter writes one row.
pub(crate) fn file_documents(
    conn: &Connection,
    doc_id: DocId,
    documents: &[FiledDocument<'_>],
) -> Result<()> {
    let doc = doc_id.to_string();
    let existing: Vec<String> = conn
        .prepare_cached("SELECT id FROM client_documents WHERE doc_id = ?1")?
        .query_map([&doc], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in existing.iter().filter(|id| !documents.iter().any(|filed| filed.id == id.as_str())) {
        conn.prepare_cached("DELETE FROM client_documents WHERE id = ?1")?.execute([id])?;
    }
    let mut upsert = conn.prepare_cached(
        "INSERT INTO client_documents (id, client_id, doc_id, name, kind, date, unit_id, invoice_id, visit_id,
             hash, media_type, size)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', '', '', ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, date = excluded.date,
             hash = excluded.hash, media_type = excluded.media_type, size = excluded.size
         WHERE (name, date, hash, media_type, size)
             IS NOT (excluded.name, excluded.date, excluded.hash, excluded.media_type, excluded.size)",
    )?;
    for filed in documents {
        upsert.execute(params![
            filed.id,
            filed.client_id,
            doc,
            filed.name,
            filed.kind,
            filed.date.to_string(),
            filed.hash,
            filed.media_type,
            i64::try_from(filed.size).unwrap_or(i64::MAX),
        ])?;
    }
    Ok(())
}
