//! Field work inside a client document: visits, gallery items, client documents.
//!
//! Each lives in its own map of the client document keyed by id (created by the
//! skeleton), so two technicians recording visits offline for the same client
//! both keep theirs. A visit's notes are Automerge text. Removing an item sets
//! `removed`; the entry (and a concurrent edit of it) stays in the document.

use std::collections::HashMap;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, hydrate};
use chrono::{DateTime, NaiveDate};
use domain::{
    ClientDocument, ClientDocumentId, DocumentKind, GalleryItem, GalleryItemId, NewClientDocument,
    NewGalleryItem, NewVisit, UnitId, Visit, VisitId, VisitKind, VisitStatus, WorkItem,
};

use crate::error::{DocModelError, Result};
use crate::read;
use crate::skeleton::container;

/// Writes a new visit.
pub(crate) fn add_visit(doc: &mut AutoCommit, visit: &NewVisit, now_ms: i64) -> Result<()> {
    visit.validate()?;
    if let Some(unit_id) = visit.unit_id {
        live_unit(doc, unit_id)?;
    }
    let items: Vec<hydrate::Value> = visit
        .items
        .iter()
        .map(|item| {
            HashMap::from([
                ("description", item.description.as_str().into()),
                ("quantity", item.quantity.as_str().into()),
                ("unit", item.unit.as_str().into()),
            ])
            .into()
        })
        .collect();
    let value: hydrate::Value = HashMap::from([
        ("unit_id", visit.unit_id.map(|id| id.to_string()).unwrap_or_default().as_str().into()),
        ("start", visit.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, false).as_str().into()),
        ("end", visit.end.to_rfc3339_opts(chrono::SecondsFormat::Secs, false).as_str().into()),
        ("technician", visit.technician.trim().into()),
        ("kind", visit.kind.as_str().into()),
        ("status", visit.status.as_str().into()),
        ("items", hydrate::Value::List(items.into())),
        (
            "notes",
            hydrate::Value::Text(hydrate::Text::new(
                automerge::TextEncoding::platform_default(),
                &visit.notes,
            )),
        ),
        ("added_at", now_ms.into()),
    ])
    .into();
    let visits = container(doc, &["visits"])?;
    doc.batch_create_object(&visits, visit.id.to_string(), &value, false)?;
    Ok(())
}

/// Sets a visit's status.
pub(crate) fn set_visit_status(
    doc: &mut AutoCommit,
    visit_id: VisitId,
    status: VisitStatus,
) -> Result<()> {
    let visit = live_entry(doc, "visits", "visit", visit_id.to_string())?;
    doc.put(&visit, "status", status.as_str())?;
    Ok(())
}

/// Replaces a visit's notes (as a text diff).
pub(crate) fn set_visit_notes(doc: &mut AutoCommit, visit_id: VisitId, notes: &str) -> Result<()> {
    let visit = live_entry(doc, "visits", "visit", visit_id.to_string())?;
    match doc.get(&visit, "notes")? {
        Some((automerge::Value::Object(ObjType::Text), notes_obj)) => {
            doc.update_text(&notes_obj, notes)?
        }
        _ => {
            let notes_obj = doc.put_object(&visit, "notes", ObjType::Text)?;
            doc.update_text(&notes_obj, notes)?;
        }
    }
    Ok(())
}

/// Adds a gallery item.
pub(crate) fn add_gallery_item(
    doc: &mut AutoCommit,
    item: &NewGalleryItem,
    now_ms: i64,
) -> Result<()> {
    if let Some(unit_id) = item.unit_id {
        live_unit(doc, unit_id)?;
    }
    if let Some(visit_id) = item.visit_id {
        live_entry(doc, "visits", "visit", visit_id.to_string())?;
    }
    let value: hydrate::Value = HashMap::from([
        ("unit_id", item.unit_id.map(|id| id.to_string()).unwrap_or_default().as_str().into()),
        ("visit_id", item.visit_id.map(|id| id.to_string()).unwrap_or_default().as_str().into()),
        ("hash", item.hash.as_str().into()),
        ("thumb_hash", item.thumb_hash.as_deref().unwrap_or_default().into()),
        ("name", item.name.as_str().into()),
        ("media_type", item.media_type.as_str().into()),
        ("size", hydrate::Value::scalar(ScalarValue::Uint(item.size))),
        ("caption", item.caption.trim().into()),
        ("taken_at", item.taken_at.as_deref().unwrap_or_default().into()),
        ("added_by", item.added_by.as_str().into()),
        ("added_at", now_ms.into()),
    ])
    .into();
    let gallery = container(doc, &["gallery"])?;
    doc.batch_create_object(&gallery, item.id.to_string(), &value, false)?;
    Ok(())
}

/// Changes a gallery item's caption.
pub(crate) fn set_caption(
    doc: &mut AutoCommit,
    item_id: GalleryItemId,
    caption: &str,
) -> Result<()> {
    let item = live_entry(doc, "gallery", "gallery item", item_id.to_string())?;
    doc.put(&item, "caption", caption.trim())?;
    Ok(())
}

/// Adds a client document.
pub(crate) fn add_document(
    doc: &mut AutoCommit,
    document: &NewClientDocument,
    now_ms: i64,
) -> Result<()> {
    if document.name.trim().is_empty() {
        return Err(domain::DomainError::Empty { field: "document name" }.into());
    }
    if let Some(unit_id) = document.unit_id {
        live_unit(doc, unit_id)?;
    }
    if let Some(visit_id) = document.visit_id {
        live_entry(doc, "visits", "visit", visit_id.to_string())?;
    }
    let value: hydrate::Value = HashMap::from([
        ("name", document.name.trim().into()),
        ("kind", document.kind.as_str().into()),
        ("date", document.date.to_string().as_str().into()),
        ("unit_id", document.unit_id.map(|id| id.to_string()).unwrap_or_default().as_str().into()),
        ("invoice_id", document.invoice_id.as_deref().unwrap_or_default().into()),
        (
            "visit_id",
            document.visit_id.map(|id| id.to_string()).unwrap_or_default().as_str().into(),
        ),
        ("hash", document.hash.as_str().into()),
        ("media_type", document.media_type.as_str().into()),
        ("size", hydrate::Value::scalar(ScalarValue::Uint(document.size))),
        ("added_at", now_ms.into()),
    ])
    .into();
    let documents = container(doc, &["documents"])?;
    doc.batch_create_object(&documents, document.id.to_string(), &value, false)?;
    Ok(())
}

/// Marks an entry of `collection` removed.
pub(crate) fn remove(
    doc: &mut AutoCommit,
    collection: &str,
    what: &'static str,
    id: String,
) -> Result<()> {
    let entry = live_entry(doc, collection, what, id)?;
    doc.put(&entry, "removed", true)?;
    Ok(())
}

fn live_unit(doc: &AutoCommit, unit_id: UnitId) -> Result<ObjId> {
    let units = container(doc, &["units"])?;
    match doc.get(&units, unit_id.to_string())? {
        Some((automerge::Value::Object(ObjType::Map), unit)) => Ok(unit),
        _ => Err(DocModelError::UnknownUnit(unit_id)),
    }
}

fn live_entry(doc: &AutoCommit, collection: &str, what: &'static str, id: String) -> Result<ObjId> {
    let map = container(doc, &[collection])?;
    let Some((automerge::Value::Object(ObjType::Map), entry)) = doc.get(&map, id.as_str())? else {
        return Err(DocModelError::UnknownRecord { what, id });
    };
    let removed = matches!(
        doc.get(&entry, "removed")?,
        Some((automerge::Value::Scalar(value), _)) if value.as_ref() == &ScalarValue::Boolean(true)
    );
    if removed {
        return Err(DocModelError::UnknownRecord { what, id });
    }
    Ok(entry)
}

fn live(root: &hydrate::Map, key: &str) -> Vec<(String, hydrate::Map)> {
    read::entries(root, key)
        .into_iter()
        .filter(|(_, entry)| !read::boolean(entry, "removed", false))
        .map(|(id, entry)| (id.to_owned(), entry.clone()))
        .collect()
}

/// The visits of a hydrated client document, by start.
pub(crate) fn visits(root: &hydrate::Map) -> Vec<Visit> {
    let mut visits: Vec<Visit> = live(root, "visits")
        .into_iter()
        .filter_map(|(id, entry)| {
            let start = DateTime::parse_from_rfc3339(&read::text(&entry, "start")).ok()?;
            let end = DateTime::parse_from_rfc3339(&read::text(&entry, "end")).ok()?;
            let items = match entry.get("items") {
                Some(hydrate::Value::List(list)) => list
                    .iter()
                    .filter_map(|item| match &item.value {
                        hydrate::Value::Map(item) => Some(WorkItem {
                            description: read::text(item, "description"),
                            quantity: read::text(item, "quantity"),
                            unit: read::text(item, "unit"),
                        }),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Some(Visit {
                id: id.parse().ok()?,
                unit_id: read::text(&entry, "unit_id").parse().ok(),
                start,
                end,
                technician: read::text(&entry, "technician"),
                kind: VisitKind::parse(&read::text(&entry, "kind")).unwrap_or(VisitKind::Scheduled),
                status: VisitStatus::parse(&read::text(&entry, "status"))
                    .unwrap_or(VisitStatus::Planned),
                items,
                notes: read::text(&entry, "notes"),
            })
        })
        .collect();
    visits.sort_by_key(|visit| (visit.start, visit.id));
    visits
}

/// The gallery items of a hydrated client document, in the order they were added.
pub(crate) fn gallery(root: &hydrate::Map) -> Vec<GalleryItem> {
    let mut items: Vec<(i64, GalleryItem)> = live(root, "gallery")
        .into_iter()
        .filter_map(|(id, entry)| {
            let optional =
                |key: &str| Some(read::text(&entry, key)).filter(|value| !value.is_empty());
            Some((
                read::integer(&entry, "added_at").unwrap_or(0),
                GalleryItem {
                    id: id.parse().ok()?,
                    unit_id: read::text(&entry, "unit_id").parse().ok(),
                    visit_id: read::text(&entry, "visit_id").parse().ok(),
                    hash: read::text(&entry, "hash"),
                    thumb_hash: optional("thumb_hash"),
                    name: read::text(&entry, "name"),
                    media_type: read::text(&entry, "media_type"),
                    size: u64::try_from(read::integer(&entry, "size").unwrap_or(0)).unwrap_or(0),
                    caption: read::text(&entry, "caption"),
                    taken_at: optional("taken_at"),
                    added_by: read::text(&entry, "added_by"),
                },
            ))
        })
        .collect();
    items.sort_by(|(a_time, a), (b_time, b)| (a_time, a.id).cmp(&(b_time, b.id)));
    items.into_iter().map(|(_, item)| item).collect()
}

/// The documents of a hydrated client document, by date.
pub(crate) fn documents(root: &hydrate::Map) -> Vec<ClientDocument> {
    let mut documents: Vec<ClientDocument> = live(root, "documents")
        .into_iter()
        .filter_map(|(id, entry)| {
            Some(ClientDocument {
                id: id.parse::<ClientDocumentId>().ok()?,
                name: read::text(&entry, "name"),
                kind: DocumentKind::parse(&read::text(&entry, "kind"))
                    .unwrap_or(DocumentKind::Other),
                date: NaiveDate::parse_from_str(&read::text(&entry, "date"), "%Y-%m-%d").ok()?,
                unit_id: read::text(&entry, "unit_id").parse().ok(),
                invoice_id: Some(read::text(&entry, "invoice_id"))
                    .filter(|value| !value.is_empty()),
                visit_id: read::text(&entry, "visit_id").parse().ok(),
                hash: read::text(&entry, "hash"),
                media_type: read::text(&entry, "media_type"),
                size: u64::try_from(read::integer(&entry, "size").unwrap_or(0)).unwrap_or(0),
            })
        })
        .collect();
    documents.sort_by(|a, b| (a.date, &a.name, a.id).cmp(&(b.date, &b.name, b.id)));
    documents
}
