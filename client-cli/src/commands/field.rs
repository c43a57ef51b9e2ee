//! `visit …`, `gallery …`, `document …` and `verify`: field work.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use blob_store::{BlobError, BlobHash};
use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, TimeZone};
use domain::{
    ClientEdit, ClientId, DocumentKind, NewVisit, UnitId, VisitId, VisitKind, VisitStatus, WorkItem,
};
use replica_store::{GalleryPlace, Replica, VisitQuery};
use serde_json::json;

use crate::cli::{DocumentCommand, GalleryCommand, VisitCommand};
use crate::output::Output;

pub(crate) fn visit(
    replica: &mut Replica,
    command: VisitCommand,
    output: &mut Output,
) -> Result<()> {
    match command {
        VisitCommand::Add(args) => {
            let client_id = replica.resolve_client(&args.client)?;
            let unit_id = args
                .unit
                .as_deref()
                .map(|unit| replica.resolve_unit(client_id, unit))
                .transpose()?;
            let items = args
                .items
                .iter()
                .map(|item| WorkItem::parse(item))
                .collect::<Result<Vec<_>, _>>()?;
            let visit = NewVisit {
                id: VisitId::random(),
                unit_id,
                start: parse_time(&args.start)?,
                end: parse_time(&args.end)?,
                technician: args
                    .technician
                    .clone()
                    .unwrap_or_else(|| replica.meta().device_name.clone()),
                kind: VisitKind::parse(&args.kind)?,
                status: VisitStatus::parse(&args.status)?,
                items,
                notes: args.notes.clone(),
            };
            let visit_id = visit.id;
            let files = replica.record_visit(client_id, visit, &args.photos)?;
            let detail = replica.visit(visit_id)?;
            if output.json {
                return output.json(&detail);
            }
            output.line(format!(
                "Recorded visit {} at {} ({} min, {} files)",
                detail.visit.short_id,
                if detail.visit.unit_name.is_empty() {
                    &detail.visit.client_name
                } else {
                    &detail.visit.unit_name
                },
                detail.visit.minutes,
                files.len()
            ))
        }
        VisitCommand::List(args) => {
            let client =
                args.client.as_deref().map(|client| replica.resolve_client(client)).transpose()?;
            let unit = match (client, args.unit.as_deref()) {
                (Some(client), Some(unit)) => Some(replica.resolve_unit(client, unit)?),
                _ => None,
            };
            let month = args.month.as_deref().map(parse_month).transpose()?;
            let query = VisitQuery {
                client,
                unit,
                technician: args.technician,
                from: args.from,
                to: args.to,
                month,
            };
            let visits = replica.visits(&query)?;
            if output.json {
                return output.json(&json!({ "count": visits.len(), "visits": visits }));
            }
            let mut table = output.table(&[
                "ID",
                "START",
                "MIN",
                "CLIENT",
                "UNIT",
                "TECHNICIAN",
                "TYPE",
                "STATUS",
                "FILES",
            ])?;
            for visit in &visits {
                table.row([
                    visit.short_id.clone(),
                    visit.start.clone(),
                    visit.minutes.to_string(),
                    visit.client_name.clone(),
                    visit.unit_name.clone(),
                    visit.technician.clone(),
                    visit.kind.clone(),
                    visit.status.clone(),
                    visit.file_count.to_string(),
                ])?;
            }
            table.finish()?;
            output.line(format!("{} visits", visits.len()))
        }
        VisitCommand::Show { visit } => {
            let (_, visit_id) = replica.resolve_visit(&visit)?;
            let detail = replica.visit(visit_id)?;
            if output.json {
                return output.json(&detail);
            }
            let visit = &detail.visit;
            output.line(format!(
                "Visit {} at {} / {}",
                visit.short_id, visit.client_name, visit.unit_name
            ))?;
            output.line(format!("  {} – {} ({} min)", visit.start, visit.end, visit.minutes))?;
            output.line(format!("  {} · {} · {}", visit.technician, visit.kind, visit.status))?;
            for item in &detail.items {
                output
                    .line(format!("  - {} = {} {}", item.description, item.quantity, item.unit))?;
            }
            if !visit.notes.is_empty() {
                output.line(format!("  Notes: {}", visit.notes))?;
            }
            for file in &detail.files {
                output.line(format!(
                    "  File {} {} ({} bytes)",
                    file.short_id, file.name, file.size
                ))?;
            }
            Ok(())
        }
        VisitCommand::Status { visit, status } => {
            let (client_id, visit_id) = replica.resolve_visit(&visit)?;
            replica.edit_client(
                client_id,
                &[ClientEdit::VisitStatus(visit_id, VisitStatus::parse(&status)?)],
            )?;
            visit_saved(replica, visit_id, output)
        }
        VisitCommand::Notes { visit, notes } => {
            let (client_id, visit_id) = replica.resolve_visit(&visit)?;
            replica.edit_client(client_id, &[ClientEdit::VisitNotes(visit_id, notes)])?;
            visit_saved(replica, visit_id, output)
        }
    }
}

fn visit_saved(replica: &Replica, visit_id: VisitId, output: &mut Output) -> Result<()> {
    let detail = replica.visit(visit_id)?;
    if output.json {
        return output.json(&detail);
    }
    output.line(format!("Saved visit {}", detail.visit.short_id))
}

pub(crate) fn gallery(
    replica: &mut Replica,
    command: GalleryCommand,
    output: &mut Output,
) -> Result<()> {
    match command {
        GalleryCommand::Add { client, files, unit, visit, caption } => {
            let client_id = replica.resolve_client(&client)?;
            let unit_id = resolve_unit_filter(replica, client_id, unit.as_deref())?.flatten();
            let visit_id = visit
                .as_deref()
                .map(|visit| replica.resolve_visit(visit).map(|(_, id)| id))
                .transpose()?;
            let ids = replica.add_to_gallery(
                client_id,
                &files,
                GalleryPlace { unit_id, visit_id },
                &caption,
            )?;
            let added: Vec<String> = ids.iter().map(ToString::to_string).collect();
            if output.json {
                return output.json(&json!({ "added": added }));
            }
            output.line(format!("Added {} files", ids.len()))
        }
        GalleryCommand::List { client, unit, visit } => {
            let client_id = replica.resolve_client(&client)?;
            let unit = resolve_unit_filter(replica, client_id, unit.as_deref())?;
            let visit_id = visit
                .as_deref()
                .map(|visit| replica.resolve_visit(visit).map(|(_, id)| id))
                .transpose()?;
            let items = replica.gallery(client_id, unit, visit_id)?;
            if output.json {
                return output.json(&json!({ "count": items.len(), "items": items }));
            }
            let mut table =
                output.table(&["ID", "GALLERY", "NAME", "TYPE", "SIZE", "TAKEN", "CAPTION"])?;
            for item in &items {
                let gallery =
                    if item.unit_name.is_empty() { "(client)" } else { item.unit_name.as_str() };
                table.row([
                    item.short_id.as_str(),
                    gallery,
                    item.name.as_str(),
                    item.media_type.as_str(),
                    &item.size.to_string(),
                    item.taken_at.as_str(),
                    item.caption.as_str(),
                ])?;
            }
            table.finish()?;
            output.line(format!("{} items", items.len()))
        }
        GalleryCommand::Export { client, to, unit, item } => {
            let client_id = replica.resolve_client(&client)?;
            let unit = resolve_unit_filter(replica, client_id, unit.as_deref())?;
            let mut items = replica.gallery(client_id, unit, None)?;
            if let Some(item) = item {
                let item_id = replica.resolve_gallery_item(client_id, &item)?.to_string();
                items.retain(|row| row.id == item_id);
            }
            std::fs::create_dir_all(&to)
                .with_context(|| format!("cannot create {}", to.display()))?;
            let mut exported = Vec::new();
            for item in &items {
                let target = free_name(&to, &item.name);
                export_blob(replica, &item.hash, &target)?;
                exported.push(target);
            }
            if output.json {
                return output.json(&json!({ "exported": exported }));
            }
            output.line(format!("Exported {} files to {}", exported.len(), to.display()))
        }
        GalleryCommand::Remove { client, item } => {
            let client_id = replica.resolve_client(&client)?;
            let item_id = replica.resolve_gallery_item(client_id, &item)?;
            replica.edit_client(client_id, &[ClientEdit::RemoveGalleryItem(item_id)])?;
            if output.json {
                return output.json(&json!({ "removed": item_id }));
            }
            output.line("Removed from the gallery.")
        }
    }
}

pub(crate) fn document(
    replica: &mut Replica,
    command: DocumentCommand,
    output: &mut Output,
) -> Result<()> {
    match command {
        DocumentCommand::Add { client, file, name, kind, date, unit, invoice, visit } => {
            let client_id = replica.resolve_client(&client)?;
            let unit_id =
                unit.as_deref().map(|unit| replica.resolve_unit(client_id, unit)).transpose()?;
            let visit_id = visit
                .as_deref()
                .map(|visit| replica.resolve_visit(visit).map(|(_, id)| id))
                .transpose()?;
            let document_id = replica.add_document_file(
                client_id,
                &file,
                name.as_deref(),
                DocumentKind::parse(&kind)?,
                date.unwrap_or_else(super::today),
                unit_id,
                invoice.as_deref(),
                visit_id,
            )?;
            let documents = replica.client_documents(client_id)?;
            let added = documents.into_iter().find(|row| row.id == document_id.to_string());
            if output.json {
                return output.json(&added);
            }
            output.line(format!("Added document {}", added.map(|row| row.name).unwrap_or_default()))
        }
        DocumentCommand::List { client } => {
            let client_id = replica.resolve_client(&client)?;
            let documents = replica.client_documents(client_id)?;
            if output.json {
                return output.json(&json!({ "count": documents.len(), "documents": documents }));
            }
            let mut table = output.table(&["ID", "DATE", "NAME", "KIND", "UNIT", "SIZE"])?;
            for document in &documents {
                table.row([
                    document.short_id.as_str(),
                    document.date.as_str(),
                    document.name.as_str(),
                    document.kind.as_str(),
                    document.unit_name.as_str(),
                    &document.size.to_string(),
                ])?;
            }
            table.finish()
        }
        DocumentCommand::Export { client, document, to } => {
            let client_id = replica.resolve_client(&client)?;
            let document_id = replica.resolve_document(client_id, &document)?.to_string();
            let row = replica
                .client_documents(client_id)?
                .into_iter()
                .find(|row| row.id == document_id)
                .context("the document disappeared while exporting")?;
            std::fs::create_dir_all(&to)
                .with_context(|| format!("cannot create {}", to.display()))?;
            let target = free_name(&to, &row.name);
            export_blob(replica, &row.hash, &target)?;
            if output.json {
                return output.json(&json!({ "exported": target }));
            }
            output.line(format!("Exported {}", target.display()))
        }
        DocumentCommand::Remove { client, document } => {
            let client_id = replica.resolve_client(&client)?;
            let document_id = replica.resolve_document(client_id, &document)?;
            replica.remove_client_document(client_id, document_id)?;
            if output.json {
                return output.json(&json!({ "removed": document_id }));
            }
            output.line("Removed the document.")
        }
    }
}

/// Checks the database file, the mirror against the documents, and every
/// referenced blob against its hash; says which command mends what it finds.
pub(crate) fn verify(replica: &mut Replica, output: &mut Output) -> Result<()> {
    let integrity = replica.check_integrity()?;
    if !integrity.database_problems.is_empty() {
        let meta = replica.meta();
        bail!(
            "the replica's database file is damaged (SQLite reports: {}); restore it from the relay: move {} aside, then run `kartoteka init --workspace-id {} --device {}`, `kartoteka remote add URL --token TOKEN` and `kartoteka sync` (changes this device has not synced yet cannot be recovered)",
            integrity.database_problems.iter().take(3).cloned().collect::<Vec<_>>().join("; "),
            replica.home().display(),
            meta.workspace_id,
            meta.device_name,
        );
    }
    if !integrity.mirror_differences.is_empty() {
        bail!(
            "the query tables disagree with the documents (tables: {}); run `kartoteka reindex` to rebuild them from the documents",
            integrity.mirror_differences.join(", ")
        );
    }
    let store = replica.blob_store()?;
    let mut missing = Vec::new();
    let mut corrupt = Vec::new();
    let referenced = replica.referenced_blobs()?;
    for hash in &referenced {
        match store.verify(hash) {
            Ok(_) => {}
            Err(BlobError::Missing(_)) => missing.push(hash.to_string()),
            Err(BlobError::Corrupt(_)) => corrupt.push(hash.to_string()),
            Err(error) => return Err(error.into()),
        }
    }
    if !corrupt.is_empty() {
        bail!(
            "{} of {} stored files are corrupted and are not served: {}; delete them under blobs/ and run `kartoteka sync` to fetch intact copies",
            corrupt.len(),
            referenced.len(),
            corrupt.join(", ")
        );
    }
    if output.json {
        return output.json(&json!({
            "database": "intact",
            "documents_checked": integrity.documents_checked,
            "checked": referenced.len(),
            "missing": missing,
            "corrupt": corrupt,
        }));
    }
    output.line(format!(
        "Database intact; mirror agrees with {} documents; checked {} files: all intact, {} not downloaded yet",
        integrity.documents_checked,
        referenced.len(),
        missing.len()
    ))
}

/// Copies a blob out, verified; fetches it from the relay first when this
/// replica downloads blobs lazily.
fn export_blob(replica: &Replica, hash: &str, target: &Path) -> Result<()> {
    let hash: BlobHash = hash.parse()?;
    let store = replica.blob_store()?;
    if !store.contains(&hash) {
        let remote = super::sync::configured_remote(replica).with_context(|| {
            format!("file {hash} is not on this device yet and no relay is configured")
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let max_bytes = replica.max_file_bytes()?;
        let fetched = runtime
            .block_on(sync_client::blobs::fetch(&store, &remote, &hash, max_bytes))
            .with_context(|| format!("cannot fetch file {hash}"))?;
        if fetched == sync_client::blobs::Fetched::Elsewhere {
            anyhow::bail!(
                "file {hash} is being downloaded by a sync of this replica right now; run the export again when it is done"
            );
        }
    }
    store.copy_to(&hash, target)?;
    Ok(())
}

/// `name`, or `name (2)`, … whichever does not exist in `directory`.
fn free_name(directory: &Path, name: &str) -> PathBuf {
    let name = Path::new(name)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    let candidate = directory.join(&name);
    if !candidate.exists() {
        return candidate;
    }
    let path = Path::new(&name);
    let stem = path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
    let extension = path
        .extension()
        .map(|extension| format!(".{}", extension.to_string_lossy()))
        .unwrap_or_default();
    (2..)
        .map(|n| directory.join(format!("{stem} ({n}){extension}")))
        .find(|candidate| !candidate.exists())
        .unwrap_or(candidate)
}

/// `None`: all galleries; `Some(None)`: the client's own (`-`); `Some(Some(unit))`.
fn resolve_unit_filter(
    replica: &Replica,
    client_id: ClientId,
    unit: Option<&str>,
) -> Result<Option<Option<UnitId>>> {
    Ok(match unit {
        None => None,
        Some("-") => Some(None),
        Some(unit) => Some(Some(replica.resolve_unit(client_id, unit)?)),
    })
}

/// A time as typed: with an offset, or this device's local time.
fn parse_time(text: &str) -> Result<DateTime<FixedOffset>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time);
    }
    if let Ok(time) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M%:z") {
        return Ok(time);
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Local
                .from_local_datetime(&naive)
                .earliest()
                .map(|time| time.fixed_offset())
                .with_context(|| format!("{text} does not exist in this device's time zone"));
        }
    }
    bail!("'{text}' is not a time; use 2026-11-22T09:00 (local) or 2026-11-22T09:00+02:00")
}

fn parse_month(text: &str) -> Result<(i32, u32)> {
    let (year, month) =
        text.split_once('-').with_context(|| format!("'{text}' is not a month; use YYYY-MM"))?;
    let year: i32 =
        year.parse().with_context(|| format!("'{text}' is not a month; use YYYY-MM"))?;
    let month: u32 =
        month.parse().with_context(|| format!("'{text}' is not a month; use YYYY-MM"))?;
    if !(1..=12).contains(&month) {
        bail!("'{text}' is not a month; use YYYY-MM");
    }
    Ok((year, month))
}
