//! Blob transfer between a replica and the relay.
//!
//! Uploads go in resumable `PATCH` requests: the relay says how much of an upload
//! it already has (`HEAD` → `upload-offset`), the replica sends the rest, and the
//! relay publishes the blob only if its bytes hash to its name. Downloads are
//! staged, hashed and published only on a match, so a corrupted or forged blob is
//! never exposed.

use std::io::{Read, Seek, SeekFrom, Write};

use blob_store::{BlobError, BlobHash, BlobStore};
use futures_util::StreamExt;
use replica_store::{BlobFetch, Replica};
use sync_protocol::blobs::{UPLOAD_LENGTH, UPLOAD_OFFSET};

use crate::error::{Result, SyncError};
use crate::remote::{Remote, check};
use crate::session::SyncReport;

/// Attempts per upload; each resumes where the previous one stopped.
const UPLOAD_ATTEMPTS: usize = 3;

/// Uploads pending blobs and (when eager) downloads missing referenced ones.
pub async fn transfer(
    replica: &mut Replica,
    remote: &Remote,
    report: &mut SyncReport,
) -> Result<()> {
    let store = replica.blob_store()?;
    for hash in replica.pending_uploads()? {
        if !store.contains(&hash) {
            // Added and then lost locally (a removed item whose bytes were dropped).
            replica.mark_uploaded(&hash)?;
            continue;
        }
        let sent = upload(&store, remote, &hash).await?;
        replica.mark_uploaded(&hash)?;
        if sent > 0 {
            report.blobs_uploaded += 1;
            report.blob_bytes += sent;
        }
    }
    if replica.blob_fetch()? == BlobFetch::Eager {
        for hash in replica.referenced_blobs()? {
            if store.contains(&hash) {
                continue;
            }
            match fetch(&store, remote, &hash).await {
                Ok(size) => {
                    report.blobs_downloaded += 1;
                    report.blob_bytes += size;
                }
                // Referenced but not uploaded yet by the device that added it:
                // the next sync fetches it.
                Err(SyncError::Status { status: 404, .. }) => {
                    tracing::info!(%hash, "blob not on the relay yet");
                }
                Err(error) => return Err(error),
            }
        }
    }
    Ok(())
}

/// Uploads one blob, resuming a partial upload; returns the bytes sent.
pub async fn upload(store: &BlobStore, remote: &Remote, hash: &BlobHash) -> Result<u64> {
    let path = store.path_of(hash);
    let length = store.size(hash).ok_or(BlobError::Missing(*hash))?;
    let url = remote.url(&format!("{}/{hash}", sync_protocol::BLOBS_PATH));
    let mut sent = 0;
    for _ in 0..UPLOAD_ATTEMPTS {
        let head = remote.http().head(url.clone()).bearer_auth(remote.token()).send().await?;
        if head.status().is_success() {
            return Ok(sent);
        }
        if head.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(SyncError::Unauthorized(401));
        }
        let offset = offset_of(&head).unwrap_or(0).min(length);
        let mut file = std::fs::File::open(&path)
            .map_err(|source| BlobError::Io { path: path.clone(), source })?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|source| BlobError::Io { path: path.clone(), source })?;
        let mut rest = Vec::with_capacity(usize::try_from(length - offset).unwrap_or(0));
        file.read_to_end(&mut rest)
            .map_err(|source| BlobError::Io { path: path.clone(), source })?;
        let chunk = rest.len() as u64;
        let response = remote
            .http()
            .patch(url.clone())
            .bearer_auth(remote.token())
            .header(UPLOAD_OFFSET, offset.to_string())
            .header(UPLOAD_LENGTH, length.to_string())
            .body(rest)
            .send()
            .await;
        match response {
            Ok(response) if response.status() == reqwest::StatusCode::CONFLICT => continue,
            Ok(response) => {
                let response = check(response).await?;
                sent += chunk;
                if response.status() != reqwest::StatusCode::NO_CONTENT {
                    return Ok(sent);
                }
            }
            // A broken connection: ask where the relay stopped and resume.
            Err(error) => tracing::info!(%hash, %error, "upload interrupted; resuming"),
        }
    }
    Err(SyncError::Relay(format!("the upload of blob {hash} did not complete")))
}

/// Downloads one blob into the store, verifying its hash; returns its size.
pub async fn fetch(store: &BlobStore, remote: &Remote, hash: &BlobHash) -> Result<u64> {
    let url = remote.url(&format!("{}/{hash}", sync_protocol::BLOBS_PATH));
    let response = check(remote.http().get(url).bearer_auth(remote.token()).send().await?).await?;
    store.discard_upload(hash);
    let mut staging = store.append_upload(hash, 0)?;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        staging
            .write_all(&chunk)
            .map_err(|source| BlobError::Io { path: store.upload_path(hash), source })?;
    }
    drop(staging);
    match store.finish_upload(hash) {
        Ok(size) => Ok(size),
        Err(BlobError::HashMismatch { .. }) => Err(SyncError::Relay(format!(
            "the relay sent bytes that do not match blob {hash}; they were discarded"
        ))),
        Err(error) => Err(error.into()),
    }
}

fn offset_of(response: &reqwest::Response) -> Option<u64> {
    response.headers().get(UPLOAD_OFFSET)?.to_str().ok()?.parse().ok()
}
