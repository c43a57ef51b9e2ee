//! Blob endpoints: `HEAD`, `GET` and resumable `PATCH` of `/v1/blobs/<hash>`,
//! per workspace, with the same token as the websocket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use blob_store::{BlobError, BlobHash, BlobStore};
use futures_util::StreamExt;
use relay_core::{Metrics, RelayStore};
use sync_protocol::blobs::{UPLOAD_LENGTH, UPLOAD_OFFSET};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use crate::server::{AppState, authenticate, refuse};

/// Finds the workspace's blob store after checking the token and the hash.
async fn open(
    state: &AppState,
    remote: SocketAddr,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    hash: &str,
) -> Result<(relay_core::Grant, BlobStore, BlobHash), Response> {
    let grant = authenticate(state, remote, headers, query).await?;
    let Ok(hash) = hash.parse::<BlobHash>() else {
        return Err(refuse(StatusCode::BAD_REQUEST, "not a blob hash (64 hex digits)"));
    };
    let store = state.store.blob_store(grant.workspace).map_err(|error| {
        tracing::error!(%error, "blob store unavailable");
        refuse(StatusCode::INTERNAL_SERVER_ERROR, "blob storage failed")
    })?;
    Ok((grant, store, hash))
}

/// Whether the stored blob still has its hash. A damaged one is moved to
/// quarantine and counts as absent, so that `HEAD` answers 404 and the uploader
/// sends it again, and no replica is served bytes it would refuse.
async fn verified_size(
    state: &AppState,
    workspace: uuid::Uuid,
    store: &BlobStore,
    hash: BlobHash,
) -> Option<u64> {
    let metadata = std::fs::metadata(store.path_of(&hash)).ok()?;
    let stamp = (metadata.len(), metadata.modified().ok());
    let key = (workspace, hash);
    if state.verified.known(&key, stamp) {
        return Some(stamp.0);
    }
    // Hashing a large file is the most a request can make the relay do: a few
    // at a time, the rest wait (the cache above spares repeated requests).
    let _permit = state.verified.hashing.acquire().await.ok()?;
    let checking = store.clone();
    let checked = tokio::task::spawn_blocking(move || checking.verify(&hash)).await.ok()?;
    match checked {
        Ok(size) => {
            state.verified.remember(key, stamp);
            Some(size)
        }
        Err(BlobError::Corrupt(_)) => {
            Metrics::add(&state.metrics.blobs_quarantined, 1);
            match store.quarantine(&hash) {
                Ok(moved) => {
                    tracing::error!(%hash, to = %moved.display(), "a stored blob was damaged; quarantined it")
                }
                Err(error) => {
                    tracing::error!(%hash, %error, "a stored blob is damaged and cannot be quarantined")
                }
            }
            None
        }
        Err(error) => {
            tracing::error!(%hash, %error, "cannot verify a stored blob");
            None
        }
    }
}

/// `HEAD`: whether the relay has the blob (intact), or how much of an upload it has.
pub(crate) async fn status(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Path(hash): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (grant, store, hash) = match open(&state, remote, &headers, &query, &hash).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    match verified_size(&state, grant.workspace, &store, hash).await {
        Some(size) => {
            (StatusCode::OK, [(header::CONTENT_LENGTH, size.to_string())]).into_response()
        }
        None => (StatusCode::NOT_FOUND, [(UPLOAD_OFFSET, store.staged_len(&hash).to_string())])
            .into_response(),
    }
}

/// `GET`: the blob's bytes, verified before they are sent (the replica verifies
/// them again before using them).
pub(crate) async fn download(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Path(hash): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (grant, store, hash) = match open(&state, remote, &headers, &query, &hash).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if verified_size(&state, grant.workspace, &store, hash).await.is_none() {
        return refuse(StatusCode::NOT_FOUND, "no such blob");
    }
    let Ok(file) = tokio::fs::File::open(store.path_of(&hash)).await else {
        return refuse(StatusCode::NOT_FOUND, "no such blob");
    };
    let size = file.metadata().await.map(|metadata| metadata.len()).unwrap_or(0);
    // A replica resuming an interrupted download asks for the rest.
    let start = match resume_offset(&headers) {
        None => 0,
        Some(start) if start < size => start,
        Some(_) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response();
        }
    };
    let mut file = file;
    if start > 0 && file.seek(std::io::SeekFrom::Start(start)).await.is_err() {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "could not read the blob");
    }
    Metrics::add(&state.metrics.bytes_out, size - start);
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut response = (
        if start > 0 { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK },
        [
            (header::CONTENT_LENGTH, (size - start).to_string()),
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::ACCEPT_RANGES, "bytes".to_owned()),
        ],
        body,
    )
        .into_response();
    if start > 0 {
        let range = format!("bytes {start}-{}/{size}", size - 1);
        if let Ok(value) = HeaderValue::from_str(&range) {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
    }
    response
}

/// The offset of a `Range: bytes=N-` request (the unit in any case); `None`
/// for no range or any other shape, which is answered with the whole blob, as
/// RFC 9110 allows (only "from here to the end" is what a replica asks).
fn resume_offset(headers: &HeaderMap) -> Option<u64> {
    let range = headers.get(header::RANGE)?.to_str().ok()?;
    let (unit, spec) = range.split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    spec.trim().strip_suffix('-')?.parse().ok()
}

/// `PATCH`: appends to a resumable upload; publishes the blob once complete and
/// only if its bytes hash to its name.
pub(crate) async fn upload(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    Path(hash): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> Response {
    let (grant, store, hash) = match open(&state, remote, &headers, &query, &hash).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if grant.read_only {
        return refuse(StatusCode::FORBIDDEN, "this device's token is read-only");
    }
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok())
    };
    let Some(length) = number(UPLOAD_LENGTH) else {
        return refuse(StatusCode::BAD_REQUEST, "missing upload-length header");
    };
    // The cap is enforced before a byte of the body is read.
    if length > state.config.max_blob_bytes {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "blob larger than this relay accepts");
    }
    if store.contains(&hash) {
        return with_offset(StatusCode::OK, length);
    }
    let offset = number(UPLOAD_OFFSET).unwrap_or(0);
    let key = (grant.workspace, hash);
    {
        let Ok(mut uploads) = state.uploads.lock() else {
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "upload registry unavailable");
        };
        if !uploads.insert(key) {
            return refuse(StatusCode::CONFLICT, "this blob is being uploaded by another request");
        }
    }
    let response = receive(&state, grant.workspace, &store, &hash, (offset, length), body).await;
    if let Ok(mut uploads) = state.uploads.lock() {
        uploads.remove(&key);
    }
    response
}

async fn receive(
    state: &AppState,
    workspace: uuid::Uuid,
    store: &BlobStore,
    hash: &BlobHash,
    (offset, length): (u64, u64),
    body: Body,
) -> Response {
    if offset > length {
        return refuse(StatusCode::BAD_REQUEST, "upload-offset beyond upload-length");
    }
    // The bytes this request may add count against the workspace's quota of
    // unfinished uploads before any is read.
    let staged = match store.staged_upload_bytes() {
        Ok(staged) => staged,
        Err(error) => {
            tracing::error!(%error, "cannot measure unfinished uploads");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "blob storage failed");
        }
    };
    // What is on disk already, plus what uploads in progress may still add (their
    // reservations), plus what this one may add: uploads running at once cannot
    // each see the quota as free.
    let this_upload = store.staged_len(hash);
    let on_disk = staged.saturating_sub(this_upload).saturating_add(this_upload.min(offset));
    let Some(_reservation) = state.staged_reservations.reserve(
        workspace,
        length - offset,
        on_disk,
        state.config.max_staged_bytes,
    ) else {
        Metrics::add(&state.metrics.refusals, 1);
        return refuse(
            StatusCode::INSUFFICIENT_STORAGE,
            "this workspace's unfinished uploads are at the relay's quota; finish or wait for them to expire",
        );
    };
    let file = match store.append_upload(hash, offset) {
        Ok(file) => file,
        Err(BlobError::WrongOffset { expected, .. }) => {
            return with_offset(StatusCode::CONFLICT, expected);
        }
        Err(error) => {
            tracing::error!(%error, "cannot stage an upload");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "blob storage failed");
        }
    };
    let mut file = tokio::fs::File::from_std(file);
    let mut staged = offset;
    let mut stream = body.into_data_stream();
    loop {
        // A body that stops arriving keeps what came and frees the request.
        let next = tokio::time::timeout(BODY_IDLE_TIMEOUT, stream.next()).await;
        let Ok(next) = next else {
            let _ = file.flush().await;
            return with_offset(StatusCode::REQUEST_TIMEOUT, staged);
        };
        let Some(chunk) = next else { break };
        let Ok(chunk) = chunk else {
            // The client went away: keep what arrived, it resumes from here.
            let _ = file.flush().await;
            return with_offset(StatusCode::NO_CONTENT, staged);
        };
        if staged + chunk.len() as u64 > length {
            drop(file);
            store.discard_upload(hash);
            return refuse(StatusCode::BAD_REQUEST, "more bytes than upload-length");
        }
        if file.write_all(&chunk).await.is_err() {
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "blob storage failed");
        }
        staged += chunk.len() as u64;
        Metrics::add(&state.metrics.bytes_in, chunk.len() as u64);
    }
    if file.flush().await.is_err() {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "blob storage failed");
    }
    drop(file);
    if staged < length {
        return with_offset(StatusCode::NO_CONTENT, staged);
    }
    let finishing = store.clone();
    let hash = *hash;
    match tokio::task::spawn_blocking(move || finishing.finish_upload(&hash)).await {
        Ok(Ok(_)) => with_offset(StatusCode::CREATED, staged),
        Ok(Err(BlobError::HashMismatch { expected, actual })) => {
            tracing::info!(%expected, %actual, "refused an upload whose bytes do not match its hash");
            Metrics::add(&state.metrics.refusals, 1);
            refuse(StatusCode::UNPROCESSABLE_ENTITY, "the bytes do not hash to the blob's name")
        }
        _ => refuse(StatusCode::INTERNAL_SERVER_ERROR, "blob storage failed"),
    }
}

fn with_offset(status: StatusCode, offset: u64) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(&offset.to_string()) {
        response.headers_mut().insert(UPLOAD_OFFSET, value);
    }
    response
}

/// Blobs verified since they last changed on disk, so that `HEAD` and `GET`
/// hash a file once, not on every request (a 200-byte request could otherwise
/// make the relay hash 100 MiB).
#[derive(Debug)]
pub(crate) struct VerifiedBlobs {
    /// (workspace, hash) → (size, modification time) when verified.
    cache: std::sync::Mutex<lru::LruCache<(uuid::Uuid, BlobHash), Stamp>>,
    /// Verifications running at once.
    hashing: tokio::sync::Semaphore,
}

type Stamp = (u64, Option<SystemTime>);

/// Blobs remembered as verified.
const VERIFIED_BLOBS: usize = 65_536;

/// Blobs hashed at once for `HEAD` and `GET`.
const HASHING_AT_ONCE: usize = 2;

impl Default for VerifiedBlobs {
    fn default() -> Self {
        let capacity =
            std::num::NonZeroUsize::new(VERIFIED_BLOBS).unwrap_or(std::num::NonZeroUsize::MIN);
        Self {
            cache: std::sync::Mutex::new(lru::LruCache::new(capacity)),
            hashing: tokio::sync::Semaphore::new(HASHING_AT_ONCE),
        }
    }
}

impl VerifiedBlobs {
    fn known(&self, key: &(uuid::Uuid, BlobHash), stamp: Stamp) -> bool {
        self.cache.lock().is_ok_and(|mut cache| cache.get(key) == Some(&stamp))
    }

    fn remember(&self, key: (uuid::Uuid, BlobHash), stamp: Stamp) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(key, stamp);
        }
    }
}

/// How long an upload's body may pause before the request is ended (what
/// arrived is kept; the client resumes from the offset it is told).
const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes that uploads in progress may still add, per workspace.
#[derive(Debug, Default)]
pub(crate) struct StagedReservations {
    reserved: std::sync::Mutex<HashMap<uuid::Uuid, u64>>,
}

/// One upload's reservation; given back when the request ends.
#[derive(Debug)]
pub(crate) struct Reservation<'a> {
    reservations: &'a StagedReservations,
    workspace: uuid::Uuid,
    bytes: u64,
}

impl StagedReservations {
    /// Reserves `bytes` for an upload if `on_disk` plus every reservation of the
    /// workspace plus `bytes` stay within `max`.
    fn reserve(
        &self,
        workspace: uuid::Uuid,
        bytes: u64,
        on_disk: u64,
        max: u64,
    ) -> Option<Reservation<'_>> {
        let mut reserved = self.reserved.lock().ok()?;
        let current = reserved.entry(workspace).or_default();
        if on_disk.saturating_add(*current).saturating_add(bytes) > max {
            return None;
        }
        *current += bytes;
        Some(Reservation { reservations: self, workspace, bytes })
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Ok(mut reserved) = self.reservations.reserved.lock()
            && let Some(current) = reserved.get_mut(&self.workspace)
        {
            *current -= self.bytes;
            if *current == 0 {
                reserved.remove(&self.workspace);
            }
        }
    }
}

/// Removes unfinished uploads of every workspace whose last byte arrived more
/// than `lifetime` ago; returns how many.
pub(crate) fn expire_uploads(store: &RelayStore, lifetime: Duration) -> anyhow::Result<usize> {
    let cutoff = SystemTime::now() - lifetime;
    let root = store.data_dir().join("blobs");
    let mut removed = 0;
    let entries = match std::fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error.into()),
    };
    for entry in entries {
        let entry = entry?;
        let Some(workspace) = entry.file_name().to_str().and_then(|name| name.parse().ok()) else {
            continue;
        };
        removed += store.blob_store(workspace)?.expire_uploads(cutoff)?;
    }
    Ok(removed)
}
