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
use crate::session::{Direction, Progress, SyncReport};

/// Attempts per upload; each resumes where the previous one stopped.
const UPLOAD_ATTEMPTS: usize = 3;

/// Attempts per download; each resumes where the previous one stopped.
const DOWNLOAD_ATTEMPTS: usize = 3;

/// Blobs moved at once. Photos are a few megabytes each: a handful of
/// requests in flight keeps the line busy while one waits for its first byte,
/// without holding many files open on either side.
pub const BLOBS_IN_FLIGHT: usize = 4;

/// Uploads pending blobs and (when eager) downloads missing referenced ones,
/// [`BLOBS_IN_FLIGHT`] at a time, reporting each one done.
pub async fn transfer(
    replica: &mut Replica,
    remote: &Remote,
    report: &mut SyncReport,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let store = replica.blob_store()?;
    let mut uploads = Vec::new();
    for hash in replica.pending_uploads()? {
        if store.contains(&hash) {
            uploads.push(hash);
        } else {
            // Added and then lost locally (a removed item whose bytes were dropped).
            replica.mark_uploaded(&hash)?;
        }
    }
    if !uploads.is_empty() {
        progress(Progress::BlobsStarted { direction: Direction::Up, blobs: uploads.len() });
    }
    let mut sending = futures_util::stream::iter(uploads.iter().map(|hash| {
        let store = &store;
        async move { (*hash, upload(store, remote, hash).await) }
    }))
    .buffer_unordered(BLOBS_IN_FLIGHT);
    let mut done = 0;
    while let Some((hash, sent)) = sending.next().await {
        let sent = sent?;
        replica.mark_uploaded(&hash)?;
        if sent > 0 {
            report.blobs_uploaded += 1;
            report.blob_bytes += sent;
        }
        done += 1;
        progress(Progress::BlobsMoved { direction: Direction::Up, done, bytes: report.blob_bytes });
    }
    drop(sending);
    if replica.blob_fetch()? != BlobFetch::Eager {
        return Ok(());
    }
    let missing: Vec<BlobHash> =
        replica.referenced_blobs()?.into_iter().filter(|hash| !store.contains(hash)).collect();
    if !missing.is_empty() {
        progress(Progress::BlobsStarted { direction: Direction::Down, blobs: missing.len() });
    }
    let mut receiving = futures_util::stream::iter(missing.iter().map(|hash| {
        let store = &store;
        async move { (*hash, fetch(store, remote, hash).await) }
    }))
    .buffer_unordered(BLOBS_IN_FLIGHT);
    let mut done = 0;
    while let Some((hash, fetched)) = receiving.next().await {
        match fetched {
            Ok(received) => {
                report.blobs_downloaded += 1;
                report.blob_bytes += received;
            }
            // Referenced but not uploaded yet by the device that added it:
            // the next sync fetches it.
            Err(SyncError::Status { status: 404, .. }) => {
                tracing::info!(%hash, "blob not on the relay yet");
            }
            // What arrived so far stays staged: the next sync asks for the rest.
            Err(error) => return Err(error),
        }
        done += 1;
        progress(Progress::BlobsMoved {
            direction: Direction::Down,
            done,
            bytes: report.blob_bytes,
        });
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

/// Downloads one blob into the store, verifying its hash; returns the bytes
/// received. A download interrupted earlier (in this sync or an earlier one)
/// resumes where its staged bytes end.
pub async fn fetch(store: &BlobStore, remote: &Remote, hash: &BlobHash) -> Result<u64> {
    let url = remote.url(&format!("{}/{hash}", sync_protocol::BLOBS_PATH));
    let mut received = 0;
    let mut last_error = None;
    for _ in 0..DOWNLOAD_ATTEMPTS {
        let staged = store.staged_len(hash);
        let mut request = remote.http().get(url.clone()).bearer_auth(remote.token());
        if staged > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={staged}-"));
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                tracing::info!(%hash, %error, "download interrupted; resuming");
                last_error = Some(error.into());
                continue;
            }
        };
        if response.status() == reqwest::StatusCode::RANGE_NOT_SATISFIABLE {
            // The staged bytes are not a prefix of this blob: start again.
            store.discard_upload(hash);
            continue;
        }
        let response = check(response).await?;
        let offset = if response.status() == reqwest::StatusCode::PARTIAL_CONTENT {
            staged
        } else {
            // The whole blob (a relay that does not resume): start again.
            store.discard_upload(hash);
            0
        };
        let mut staging = store.append_upload(hash, offset)?;
        let mut body = response.bytes_stream();
        let mut interrupted = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => {
                    staging.write_all(&chunk).map_err(|source| BlobError::Io {
                        path: store.upload_path(hash),
                        source,
                    })?;
                    received += chunk.len() as u64;
                }
                Err(error) => {
                    interrupted = Some(error);
                    break;
                }
            }
        }
        drop(staging);
        if let Some(error) = interrupted {
            tracing::info!(%hash, %error, "download interrupted; resuming");
            last_error = Some(error.into());
            continue;
        }
        return match store.finish_upload(hash) {
            Ok(_) => Ok(received),
            Err(BlobError::HashMismatch { .. }) => Err(SyncError::Relay(format!(
                "the relay sent bytes that do not match blob {hash}; they were discarded"
            ))),
            Err(error) => Err(error.into()),
        };
    }
    Err(last_error.unwrap_or_else(|| {
        SyncError::Relay(format!("the download of blob {hash} did not complete"))
    }))
}

fn offset_of(response: &reqwest::Response) -> Option<u64> {
    response.headers().get(UPLOAD_OFFSET)?.to_str().ok()?.parse().ok()
}
