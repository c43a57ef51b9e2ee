//! Recording field work: visits with photos, gallery files and client documents.
//!
//! Files are checked first (they exist, are regular files, fit the size cap),
//! then stored in the content-addressed blob store, then referenced from the
//! client's document in one change. If anything is wrong nothing is stored; if
//! the change itself fails, the blobs it brought in (and nothing else) are
//! removed again.

use std::path::{Path, PathBuf};

use blob_store::{BlobHash, BlobStore};
use chrono::NaiveDate;
use domain::{
    ClientDocumentId, ClientEdit, ClientId, DocumentKind, GalleryItemId, NewClientDocument,
    NewGalleryItem, NewVisit, UnitId, VisitId,
};

use rusqlite::OptionalExtension;

use crate::error::{Refusal, Result, StoreError};
use crate::replica::Replica;

/// The default cap on one file: a phone photo is 2–8 MB, a scanned contract
/// rarely over 20 MB. The relay's default cap is the same, so anything a replica
/// accepts can travel.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

const MAX_FILE_CONFIG: &str = "files.max_bytes";

/// A file copied into the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedFile {
    /// Its hash.
    pub hash: BlobHash,
    /// Its thumbnail's hash, for images.
    pub thumb_hash: Option<BlobHash>,
    /// The file's name (without directories).
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was taken (EXIF), for photos.
    pub taken_at: Option<String>,
}

/// Where in a client's galleries new files go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GalleryPlace {
    /// The unit's gallery, or the client's own (`None`).
    pub unit_id: Option<UnitId>,
    /// The visit the files belong to, if any.
    pub visit_id: Option<VisitId>,
}

impl Replica {
    /// The largest file this replica accepts.
    pub fn max_file_bytes(&self) -> Result<u64> {
        Ok(self
            .config(MAX_FILE_CONFIG)?
            .and_then(|value| value.parse().ok())
            .unwrap_or(DEFAULT_MAX_FILE_BYTES))
    }

    /// Sets the largest file this replica accepts.
    pub fn set_max_file_bytes(&self, bytes: u64) -> Result<()> {
        self.set_config(MAX_FILE_CONFIG, &bytes.to_string())
    }

    /// Records a visit and attaches photos or files to it, in one change.
    pub fn record_visit(
        &mut self,
        client_id: ClientId,
        visit: NewVisit,
        files: &[PathBuf],
    ) -> Result<Vec<GalleryItemId>> {
        visit.validate().map_err(doc_model::DocModelError::from)?;
        let place = GalleryPlace { unit_id: visit.unit_id, visit_id: Some(visit.id) };
        self.add_files(client_id, files, place, "", |edits| {
            edits.insert(0, ClientEdit::AddVisit(visit))
        })
    }

    /// Adds files to a gallery (of a unit, or of the client), in one change.
    pub fn add_to_gallery(
        &mut self,
        client_id: ClientId,
        files: &[PathBuf],
        place: GalleryPlace,
        caption: &str,
    ) -> Result<Vec<GalleryItemId>> {
        if files.is_empty() {
            return Err(doc_model::DocModelError::from(domain::DomainError::Empty {
                field: "the list of files",
            })
            .into());
        }
        self.add_files(client_id, files, place, caption, |_| {})
    }

    fn add_files(
        &mut self,
        client_id: ClientId,
        files: &[PathBuf],
        place: GalleryPlace,
        caption: &str,
        first_edits: impl FnOnce(&mut Vec<ClientEdit>),
    ) -> Result<Vec<GalleryItemId>> {
        let max_bytes = self.max_file_bytes()?;
        for file in files {
            check_file(file, max_bytes)?;
        }
        let store = self.blob_store()?;
        let mut imported = Vec::new();
        let mut fresh = Vec::new();
        for file in files {
            let file = import(&store, file, max_bytes, &mut fresh)?;
            imported.push(file);
        }
        let device = self.meta().device_name.clone();
        let mut edits = Vec::new();
        first_edits(&mut edits);
        let mut ids = Vec::new();
        for file in &imported {
            let id = GalleryItemId::random();
            ids.push(id);
            edits.push(ClientEdit::AddGalleryItem(NewGalleryItem {
                id,
                unit_id: place.unit_id,
                visit_id: place.visit_id,
                hash: file.hash.to_string(),
                thumb_hash: file.thumb_hash.map(|hash| hash.to_string()),
                name: file.name.clone(),
                media_type: file.media_type.clone(),
                size: file.size,
                caption: caption.to_owned(),
                taken_at: file.taken_at.clone(),
                added_by: device.clone(),
            }));
        }
        self.commit_with_blobs(client_id, &edits, &store, &imported, &fresh)?;
        Ok(ids)
    }

    /// Adds a client document from a file.
    #[allow(
        clippy::too_many_arguments,
        reason = "mirrors the command's flags; a struct would only rename them"
    )]
    pub fn add_document_file(
        &mut self,
        client_id: ClientId,
        file: &Path,
        name: Option<&str>,
        kind: DocumentKind,
        date: NaiveDate,
        unit_id: Option<UnitId>,
        invoice_id: Option<&str>,
        visit_id: Option<VisitId>,
    ) -> Result<ClientDocumentId> {
        let max_bytes = self.max_file_bytes()?;
        check_file(file, max_bytes)?;
        let store = self.blob_store()?;
        let mut fresh = Vec::new();
        let imported = import(&store, file, max_bytes, &mut fresh)?;
        let id = ClientDocumentId::random();
        let edit = ClientEdit::AddDocument(NewClientDocument {
            id,
            name: name.map(str::to_owned).unwrap_or_else(|| imported.name.clone()),
            kind,
            date,
            unit_id,
            invoice_id: invoice_id.map(str::to_owned),
            visit_id,
            hash: imported.hash.to_string(),
            media_type: imported.media_type.clone(),
            size: imported.size,
        });
        self.commit_with_blobs(client_id, &[edit], &store, &[imported], &fresh)?;
        Ok(id)
    }

    /// Removes a client's document. Dunning letters are refused: they are part of
    /// the append-only dunning history, kept with the notices they carry.
    pub fn remove_client_document(
        &mut self,
        client_id: ClientId,
        document_id: ClientDocumentId,
    ) -> Result<()> {
        let kind: Option<String> = self
            .conn
            .query_row(
                "SELECT kind FROM client_documents WHERE id = ?1 AND doc_id <> ?2",
                rusqlite::params![
                    document_id.to_string(),
                    doc_model::DocId::client(client_id).to_string()
                ],
                |row| row.get(0),
            )
            .optional()?;
        if kind.is_some() {
            return Err(Refusal::DunningLetterKept.into());
        }
        self.edit_client(client_id, &[ClientEdit::RemoveDocument(document_id)])
    }

    /// Applies the edits; on success the new blobs wait for upload, on failure the
    /// blobs this call brought in are removed again.
    fn commit_with_blobs(
        &mut self,
        client_id: ClientId,
        edits: &[ClientEdit],
        store: &BlobStore,
        imported: &[ImportedFile],
        fresh: &[BlobHash],
    ) -> Result<()> {
        let uploads: Vec<BlobHash> = imported
            .iter()
            .flat_map(|file| std::iter::once(file.hash).chain(file.thumb_hash))
            .collect();
        if let Err(error) = self.edit_client_with_uploads(client_id, edits, &uploads) {
            for hash in fresh {
                let _ = store.remove(hash);
            }
            return Err(error);
        }
        Ok(())
    }
}

fn check_file(path: &Path, max_bytes: u64) -> Result<()> {
    let bad = |reason: String| StoreError::BadFile { path: path.to_owned(), reason };
    let metadata = std::fs::metadata(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => bad("there is no such file".to_owned()),
        _ => bad(error.to_string()),
    })?;
    if metadata.is_dir() {
        return Err(bad("it is a directory; name the files in it".to_owned()));
    }
    if !metadata.is_file() {
        return Err(bad("it is not a regular file".to_owned()));
    }
    if metadata.len() > max_bytes {
        return Err(bad(format!(
            "it has {} bytes, more than the limit of {max_bytes} bytes",
            metadata.len()
        )));
    }
    Ok(())
}

/// Copies a file (and, for an image, its thumbnail) into the store; records in
/// `fresh` the hashes the store did not have before.
fn import(
    store: &BlobStore,
    path: &Path,
    max_bytes: u64,
    fresh: &mut Vec<BlobHash>,
) -> Result<ImportedFile> {
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let guessed = media::describe(path, &[]);
    if !guessed.media_type.starts_with("image/") {
        let put = tracked(store.put_file(path, max_bytes)?, fresh);
        return Ok(ImportedFile {
            hash: put.hash,
            thumb_hash: None,
            name,
            media_type: guessed.media_type,
            size: put.size,
            taken_at: None,
        });
    }
    let bytes =
        std::fs::read(path).map_err(|source| StoreError::Io { path: path.to_owned(), source })?;
    let described = media::describe(path, &bytes);
    let put = tracked(store.put_bytes(&bytes)?, fresh);
    let thumb_hash = match &described.thumbnail {
        Some(thumbnail) => Some(tracked(store.put_bytes(thumbnail)?, fresh).hash),
        None => None,
    };
    Ok(ImportedFile {
        hash: put.hash,
        thumb_hash,
        name,
        media_type: described.media_type,
        size: put.size,
        taken_at: described.taken_at,
    })
}

/// Remembers blobs this call stored for the first time (only those are removed
/// if the change fails: a deduplicated blob belongs to something else too).
fn tracked(put: blob_store::Put, fresh: &mut Vec<BlobHash>) -> blob_store::Put {
    if put.new {
        fresh.push(put.hash);
    }
    put
}
