//! Blob transfer between a replica and the relay.
//!
//! Uploads go in resumable `PATCH` requests: the relay says how much of an upload
//! it already has (`HEAD` → `upload-offset`), the replica sends the rest, and the
//! relay publishes the blob only if its bytes hash to its name. Downloads are
//! staged, hashed and published only on a match, so a corrupted or forged blob is
//! never exposed.

use std::io::{SeekFrom, Write};

use blob_store::{BlobError, BlobHash, BlobStore};
use futures_util::StreamExt;
use replica_store::{BlobFetch, Replica};
use sync_protocol::blobs::{UPLOAD_LENGTH, UPLOAD_OFFSET};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::error::{Result, SyncError};
use crate::remote::{Remote, check};
use crate::session::{Direction, Progress, SyncReport};

/// Attempts per upload; each resumes where the previous one stopped.
const UPLOAD_ATTEMPTS: usize = 3;

/// Bytes read from a file per piece of an upload's body: the default (4 KiB)
/// made uploads 2.5 times slower than sending the file whole.
const UPLOAD_PIECE: usize = 256 * 1024;

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
    // Each hash once: two fetches of one blob would share its staging file.
    let missing: std::collections::BTreeSet<BlobHash> =
        replica.referenced_blobs()?.into_iter().filter(|hash| !store.contains(hash)).collect();
    let max_bytes = replica.max_file_bytes()?;
    if !missing.is_empty() {
        progress(Progress::BlobsStarted { direction: Direction::Down, blobs: missing.len() });
    }
    let mut receiving = futures_util::stream::iter(missing.iter().map(|hash| {
        let store = &store;
        async move { (*hash, fetch(store, remote, hash, max_bytes).await) }
    }))
    .buffer_unordered(BLOBS_IN_FLIGHT);
    let mut done = 0;
    while let Some((hash, fetched)) = receiving.next().await {
        match fetched {
            Ok(Fetched::Stored(received)) => {
                report.blobs_downloaded += 1;
                report.blob_bytes += received;
            }
            // The other sync stores it; this one's next look finds it there.
            Ok(Fetched::Elsewhere) => tracing::info!(%hash, "blob being fetched by another sync"),
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
        let io = |source| BlobError::Io { path: path.clone(), source };
        let mut file = tokio::fs::File::open(&path).await.map_err(io)?;
        file.seek(SeekFrom::Start(offset)).await.map_err(io)?;
        // Streamed from the file: four uploads of large files at once must
        // not hold them in memory.
        let chunk = length - offset;
        let pieces = tokio_util::io::ReaderStream::with_capacity(file.take(chunk), UPLOAD_PIECE);
        let body = reqwest::Body::wrap_stream(pieces);
        let response = remote
            .http()
            .patch(url.clone())
            .bearer_auth(remote.token())
            .header(UPLOAD_OFFSET, offset.to_string())
            .header(UPLOAD_LENGTH, length.to_string())
            .header(reqwest::header::CONTENT_LENGTH, chunk.to_string())
            .body(body)
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

/// What one download did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// Stored, after receiving this many bytes.
    Stored(u64),
    /// Another sync of this replica is downloading it right now.
    Elsewhere,
}

/// Downloads one blob into the store, verifying its hash. A download
/// interrupted earlier (in this sync or an earlier one) resumes where its
/// staged bytes end. The staging file is locked while it is written, so two
/// syncs of one replica never write one file; the relay's answer must say
/// which bytes it sends, and no more than `max_bytes` are ever staged.
pub async fn fetch(
    store: &BlobStore,
    remote: &Remote,
    hash: &BlobHash,
    max_bytes: u64,
) -> Result<Fetched> {
    let url = remote.url(&format!("{}/{hash}", sync_protocol::BLOBS_PATH));
    let path = store.upload_path(hash);
    let io = |source| SyncError::Blob(BlobError::Io { path: path.clone(), source });
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut staging =
        std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
    match staging.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(Fetched::Elsewhere),
        Err(std::fs::TryLockError::Error(error)) => return Err(io(error)),
    }
    let mut received = 0;
    let mut last_error = None;
    for _ in 0..DOWNLOAD_ATTEMPTS {
        let staged = staging.metadata().map_err(io)?.len();
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
            // Perhaps all of it arrived before the last sync stopped.
            if total_of(&response) == Some(staged) {
                return finish(store, hash, received);
            }
            staging.set_len(0).map_err(io)?;
            continue;
        }
        let response = check(response).await?;
        let total = if response.status() == reqwest::StatusCode::PARTIAL_CONTENT {
            match content_range(&response) {
                Some((start, total)) if start == staged => total,
                _ => {
                    return Err(SyncError::Relay(format!(
                        "the relay sent another part of blob {hash} than was asked for"
                    )));
                }
            }
        } else {
            // The whole blob (a relay that does not resume): start again.
            staging.set_len(0).map_err(io)?;
            response.content_length().unwrap_or(u64::MAX)
        };
        if total > max_bytes {
            staging.set_len(0).map_err(io)?;
            return Err(SyncError::Relay(format!(
                "the relay offers {total} bytes for blob {hash}, more than the {max_bytes} a file may have"
            )));
        }
        let mut body = response.bytes_stream();
        let mut interrupted = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => {
                    let written = staging.metadata().map_err(io)?.len();
                    if written + chunk.len() as u64 > total {
                        staging.set_len(0).map_err(io)?;
                        return Err(SyncError::Relay(format!(
                            "the relay sent more bytes for blob {hash} than it announced"
                        )));
                    }
                    staging.write_all(&chunk).map_err(io)?;
                    received += chunk.len() as u64;
                }
                Err(error) => {
                    interrupted = Some(error);
                    break;
                }
            }
        }
        if let Some(error) = interrupted {
            tracing::info!(%hash, %error, "download interrupted; resuming");
            last_error = Some(error.into());
            continue;
        }
        // Published while the lock is held: no other sync appends meanwhile.
        return finish(store, hash, received);
    }
    Err(last_error.unwrap_or_else(|| {
        SyncError::Relay(format!("the download of blob {hash} did not complete"))
    }))
}

/// Publishes a staged download if its bytes hash to its name.
fn finish(store: &BlobStore, hash: &BlobHash, received: u64) -> Result<Fetched> {
    match store.finish_upload(hash) {
        Ok(_) => Ok(Fetched::Stored(received)),
        Err(BlobError::HashMismatch { .. }) => Err(SyncError::Relay(format!(
            "the relay sent bytes that do not match blob {hash}; they were discarded"
        ))),
        Err(error) => Err(error.into()),
    }
}

/// `Content-Range: bytes START-END/TOTAL` as (START, TOTAL).
fn content_range(response: &reqwest::Response) -> Option<(u64, u64)> {
    let range = response.headers().get(reqwest::header::CONTENT_RANGE)?.to_str().ok()?;
    let (span, total) = range.strip_prefix("bytes ")?.split_once('/')?;
    let (start, _) = span.split_once('-')?;
    Some((start.parse().ok()?, total.parse().ok()?))
}

/// The total of a 416's `Content-Range: bytes */TOTAL`.
fn total_of(response: &reqwest::Response) -> Option<u64> {
    let range = response.headers().get(reqwest::header::CONTENT_RANGE)?.to_str().ok()?;
    range.strip_prefix("bytes */")?.parse().ok()
}

fn offset_of(response: &reqwest::Response) -> Option<u64> {
    response.headers().get(UPLOAD_OFFSET)?.to_str().ok()?.parse().ok()
}
