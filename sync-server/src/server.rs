//! The relay's HTTP side: routes, authentication, limits, graceful shutdown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{ConnectInfo, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use relay_core::tokens::{AuthErrorOr, Grant};
use relay_core::{Hub, HubCommand, HubHandle, Metrics, RelayBudget, RelayStore};
use sync_protocol::bundle::BUNDLE_PAGE_BYTES;
use sync_protocol::limits::{FEED_PAGE_ENTRIES, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES};
use tokio_util::sync::CancellationToken;

use crate::connection_limits::{ConnectionLimits, ConnectionPlace, LimitHit};
use crate::throttle::AuthThrottle;

/// Default cap on a blob upload: a phone photo is 2–8 MB, a scanned contract
/// rarely more than 20 MB; 100 MiB leaves room while bounding the disk a single
/// request can fill.
pub(crate) const DEFAULT_MAX_BLOB_BYTES: u64 = 100 * 1024 * 1024;

/// Default cap on simultaneous websocket connections (each holds a send queue and
/// sync states); the 200-device benchmark fits five times over.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 1_024;

/// Default cap on the bytes of unfinished uploads one workspace keeps: a
/// technician's day of photos (a few hundred of 2–8 MB) may be interrupted at
/// once, and abandoned uploads cannot fill the relay's disk.
pub(crate) const DEFAULT_MAX_STAGED_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Requests handled at once, authenticated or not. Token checks are cheap, but an
/// unbounded flood of them would still take the relay's threads.
const MAX_IN_FLIGHT_REQUESTS: usize = 2_048;

/// How often live connections are checked against revoked tokens.
const REVOCATION_SWEEP: Duration = Duration::from_secs(5);

/// How often idle rate-limit state is forgotten and expired uploads removed.
const HOUSEKEEPING: Duration = Duration::from_secs(60);

/// What a client waits before retrying when the relay is full.
const RETRY_WHEN_FULL: Duration = Duration::from_secs(5);

/// Settings of a running relay.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerConfig {
    pub(crate) max_blob_bytes: u64,
    pub(crate) max_connections: usize,
    pub(crate) max_connections_per_workspace: usize,
    /// Bytes of unfinished uploads one workspace may keep staged.
    pub(crate) max_staged_bytes: u64,
    /// How long an unfinished upload is kept after its last byte arrived.
    pub(crate) staged_upload_lifetime: Duration,
    /// The largest the relay's database may grow (none: as large as the disk).
    pub(crate) max_database_bytes: Option<u64>,
}

/// Where the relay's TLS certificate and key are (PEM).
#[derive(Debug, Clone)]
pub(crate) struct TlsFiles {
    pub(crate) cert: std::path::PathBuf,
    pub(crate) key: std::path::PathBuf,
}

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) store: Arc<RelayStore>,
    /// A read connection for token checks and the change feed (the hub has its own).
    pub(crate) reader: Arc<Mutex<relay_core::RelayConnection>>,
    pub(crate) hub: HubHandle,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) config: ServerConfig,
    pub(crate) connection_limits: Arc<ConnectionLimits>,
    /// How much of the hub's queue each connection may occupy.
    pub(crate) budget: RelayBudget,
    pub(crate) throttle: Arc<AuthThrottle>,
    /// Hub work per token per second.
    pub(crate) token_rate: Arc<crate::throttle::TokenRate>,
    /// Where every received websocket frame is written, when
    /// `KARTOTEKA_RELAY_RECORD_DIR` is set: seeds for the fuzzers (docs/fuzzing.md).
    pub(crate) record_frames: Option<std::path::PathBuf>,
    pub(crate) shutdown: CancellationToken,
    /// Blobs verified since they last changed on disk.
    pub(crate) verified: Arc<crate::blobs::VerifiedBlobs>,
    /// Bytes unfinished uploads in progress may still add, per workspace.
    pub(crate) staged_reservations: Arc<crate::blobs::StagedReservations>,
    /// Blob uploads in progress, so two uploads of one blob cannot interleave.
    pub(crate) uploads: Arc<Mutex<std::collections::HashSet<(uuid::Uuid, blob_store::BlobHash)>>>,
    /// Bundle pages being read at once (each on its own database connection,
    /// so token checks and the change feed never wait behind one).
    pub(crate) bundle_readers: Arc<tokio::sync::Semaphore>,
    /// Tokens reading a bundle page now (one page at a time each).
    pub(crate) bundle_tokens: Arc<Mutex<std::collections::HashSet<String>>>,
}

/// Bundle pages read at once, relay-wide: each holds up to a page in memory.
const BUNDLE_READERS: usize = 2;

/// A token's one bundle read in progress; dropping it lets the token read again.
struct BundleSlot {
    reading: Arc<Mutex<std::collections::HashSet<String>>>,
    token_id: String,
}

impl BundleSlot {
    fn take(
        reading: &Arc<Mutex<std::collections::HashSet<String>>>,
        token_id: &str,
    ) -> Option<Self> {
        let mut tokens = reading.lock().unwrap_or_else(|poison| poison.into_inner());
        tokens
            .insert(token_id.to_owned())
            .then(|| Self { reading: reading.clone(), token_id: token_id.to_owned() })
    }
}

impl Drop for BundleSlot {
    fn drop(&mut self) {
        let mut tokens = self.reading.lock().unwrap_or_else(|poison| poison.into_inner());
        tokens.remove(&self.token_id);
    }
}

/// Runs the relay until SIGTERM or Ctrl-C.
pub(crate) async fn serve(
    store: RelayStore,
    listen: SocketAddr,
    config: ServerConfig,
    tls: Option<TlsFiles>,
) -> Result<()> {
    let certificate = match &tls {
        Some(files) => Some(crate::tls::ReloadingCertificate::open(&files.cert, &files.key)?),
        None => None,
    };
    let acceptor = match &certificate {
        Some(certificate) => Some(tokio_rustls::TlsAcceptor::from(certificate.server_config()?)),
        None => None,
    };
    let metrics = Arc::new(Metrics::default());
    let (hub, hub_thread) = Hub::spawn(&store, metrics.clone(), config.max_database_bytes)?;
    let reader = store.open_connection()?;
    let state = AppState {
        store: Arc::new(store),
        reader: Arc::new(Mutex::new(reader)),
        hub: hub.clone(),
        metrics,
        config,
        connection_limits: ConnectionLimits::new(
            config.max_connections,
            config.max_connections_per_workspace,
        ),
        budget: RelayBudget::default(),
        throttle: Arc::default(),
        token_rate: Arc::default(),
        record_frames: std::env::var_os("KARTOTEKA_RELAY_RECORD_DIR").map(Into::into),
        shutdown: CancellationToken::new(),
        uploads: Arc::default(),
        staged_reservations: Arc::default(),
        verified: Arc::default(),
        bundle_readers: Arc::new(tokio::sync::Semaphore::new(BUNDLE_READERS)),
        bundle_tokens: Arc::default(),
    };
    let app = router(state.clone());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    // Scripts and tests read this line to find a port chosen with `:0`.
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    println!("kartoteka-relay listening on {scheme}://{address}");
    tracing::info!(%address, data = %state.store.data_dir().display(), "relay started");

    let sweeper = tokio::spawn({
        let hub = hub.clone();
        let shutdown = state.shutdown.clone();
        async move {
            let mut interval = tokio::time::interval(REVOCATION_SWEEP);
            loop {
                tokio::select! {
                    _ = interval.tick() => if hub.send(HubCommand::Sweep).await.is_err() { break },
                    () = shutdown.cancelled() => break,
                }
            }
        }
    });
    let housekeeper = tokio::spawn(housekeeping(state.clone()));
    if let Some(certificate) = certificate {
        tokio::spawn(certificate.watch(state.shutdown.clone()));
    }

    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: closing connections, flushing the hub");
        shutdown.cancel();
    });
    crate::listener::serve(listener, app, state.shutdown.clone(), acceptor).await;
    sweeper.abort();
    housekeeper.abort();
    hub.shutdown().await;
    let _ = tokio::task::spawn_blocking(move || hub_thread.join()).await;
    tracing::info!("relay stopped");
    Ok(())
}

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route(sync_protocol::SYNC_PATH, get(sync_socket))
        .route(sync_protocol::CHANGES_PATH, get(changes))
        .route(sync_protocol::BUNDLE_PATH, get(bundle))
        .route(
            &format!("{}/{{hash}}", sync_protocol::BLOBS_PATH),
            get(crate::blobs::download).head(crate::blobs::status).patch(crate::blobs::upload),
        )
        // One limit for the whole relay: `ConcurrencyLimitLayer` on a router would
        // give every route a semaphore of its own.
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(MAX_IN_FLIGHT_REQUESTS))
        .with_state(state)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the relay");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Periodic clean-up: forgets idle rate-limit state, removes expired uploads.
async fn housekeeping(state: AppState) {
    let mut interval = tokio::time::interval(HOUSEKEEPING);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            () = state.shutdown.cancelled() => break,
        }
        state.throttle.forget_idle();
        state.token_rate.forget_idle();
        let store = state.store.clone();
        let lifetime = state.config.staged_upload_lifetime;
        let removed =
            tokio::task::spawn_blocking(move || crate::blobs::expire_uploads(&store, lifetime))
                .await;
        match removed {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => tracing::info!(removed, "removed expired unfinished uploads"),
            Ok(Err(error)) => tracing::warn!(%error, "cannot remove expired uploads"),
            Err(_) => {}
        }
    }
}

/// 200 while the hub is processing; 503 with the reason when its thread has
/// ended or one batch has run too long.
async fn health(State(state): State<AppState>) -> Response {
    match state.hub.health() {
        Ok(()) => "ok\n".into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

/// A refusal: a status and a short message, never a hint about what exists.
pub(crate) fn refuse(status: StatusCode, message: &'static str) -> Response {
    (status, format!("{message}\n")).into_response()
}

/// A refusal that tells the client when to try again.
fn retry_later(status: StatusCode, message: &'static str, after: Duration) -> Response {
    let mut response = refuse(status, message);
    // Whole seconds, rounded up: "Retry-After: 0" would invite an immediate retry.
    let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Checks the token from `Authorization: Bearer` or the `token` query parameter.
/// Every way of being wrong is the same 401; an address that keeps presenting
/// wrong tokens gets 429 (see [`AuthThrottle`]).
pub(crate) async fn authenticate(
    state: &AppState,
    remote: SocketAddr,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Grant, Response> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_owned);
    let presented =
        from_header.or_else(|| query.get(sync_protocol::TOKEN_QUERY_PARAMETER).cloned());
    if let Some(wait) = state.throttle.retry_after(remote.ip()) {
        // Devices behind the same address (an office's NAT, a proxy) whose token
        // was checked a moment ago are not locked out by another's failures.
        if let Some(grant) = presented.as_deref().and_then(|token| state.throttle.recent(token)) {
            return Ok(grant);
        }
        Metrics::add(&state.metrics.auth_throttled, 1);
        return Err(retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed token checks from this address",
            wait,
        ));
    }
    let presented_again = presented.clone();
    let reader = state.reader.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let conn = reader.lock().map_err(|_| ())?;
        Ok::<_, ()>(conn.authenticate(presented.as_deref()))
    })
    .await;
    match checked {
        Ok(Ok(Ok(grant))) => {
            if let Some(token) = presented_again {
                state.throttle.remember(&token, &grant);
            }
            Ok(grant)
        }
        Ok(Ok(Err(AuthErrorOr::Refused(reason)))) => {
            tracing::debug!(%reason, %remote, "refused a token");
            Metrics::add(&state.metrics.refusals, 1);
            Metrics::add(&state.metrics.auth_failures, 1);
            if let Some(wait) = state.throttle.failed(remote.ip()) {
                // Logged once per burst: the address is refused unchecked from now on.
                tracing::info!(address = %remote.ip(), ?wait, "throttling an address after repeated failed token checks");
            }
            Err(refuse(StatusCode::UNAUTHORIZED, "invalid or missing token"))
        }
        Ok(Ok(Err(AuthErrorOr::Relay(error)))) => {
            tracing::error!(%error, "token check failed");
            Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "the relay could not check the token"))
        }
        _ => Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "the relay could not check the token")),
    }
}

async fn sync_socket(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let grant = match authenticate(&state, remote, &headers, &query).await {
        Ok(grant) => grant,
        Err(response) => return response,
    };
    let place: ConnectionPlace = match state.connection_limits.enter(&grant) {
        Ok(place) => place,
        Err(hit) => {
            Metrics::add(&state.metrics.refusals, 1);
            tracing::debug!(?hit, token = %grant.token_id, "refused a connection at a limit");
            let (status, message) = match hit {
                LimitHit::Relay => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the relay is at its connection limit; retry later",
                ),
                LimitHit::Workspace => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "this workspace has as many connections as the relay allows; retry later",
                ),
                LimitHit::Token => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "this device already has as many connections as the relay allows",
                ),
            };
            return retry_later(status, message, RETRY_WHEN_FULL);
        }
    };
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| crate::connection::run(socket, grant, state, place))
}

/// A page of the workspace bundle (`sync_protocol::bundle`), as CBOR.
async fn bundle(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let grant = match authenticate(&state, remote, &headers, &query).await {
        Ok(grant) => grant,
        Err(response) => return response,
    };
    let since: i64 = query.get("since").and_then(|since| since.parse().ok()).unwrap_or(0);
    // One page at a time per token: a device reads its bundle page by page.
    let Some(slot) = BundleSlot::take(&state.bundle_tokens, &grant.token_id) else {
        return retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "this device is already reading a bundle page",
            Duration::from_secs(1),
        );
    };
    // Charged before the work, at a page's bound, and never while holding a
    // reader: a token out of budget waits without keeping others from reading.
    if state.token_rate.wait(&grant.token_id, BUNDLE_PAGE_BYTES).await {
        Metrics::add(&state.metrics.rate_limited, 1);
    }
    let Ok(reading) = state.bundle_readers.clone().acquire_owned().await else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "the relay is shutting down");
    };
    let store = state.store.clone();
    let workspace = grant.workspace;
    // The reader's place and the token's slot go with the read, which runs to its
    // end even if the client hangs up (a blocking task cannot be cancelled).
    let page = tokio::task::spawn_blocking(move || {
        let _reading = reading;
        let conn = store.open_connection()?;
        let bytes = conn.bundle_page(workspace, since)?.encode();
        Ok::<_, relay_core::RelayError>((bytes, slot))
    })
    .await;
    match page {
        Ok(Ok((bytes, slot))) => {
            Metrics::add(&state.metrics.bytes_out, bytes.len() as u64);
            let body = axum::body::Body::from_stream(sent_in_pieces(bytes.into(), slot));
            ([(axum::http::header::CONTENT_TYPE, "application/cbor")], body).into_response()
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "bundle page failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "the bundle failed")
        }
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the bundle failed"),
    }
}

/// A page's bytes as a body of 64 KiB pieces that keeps the token's slot
/// until the last piece is handed to the connection: a device that reads
/// slowly holds one page in the relay's memory, not one per request.
fn sent_in_pieces(
    bytes: axum::body::Bytes,
    slot: BundleSlot,
) -> impl futures_util::Stream<Item = Result<axum::body::Bytes, std::convert::Infallible>> {
    const PIECE: usize = 64 * 1024;
    futures_util::stream::unfold((bytes, Some(slot)), |(mut rest, mut slot)| async move {
        if rest.is_empty() {
            drop(slot.take());
            return None;
        }
        let piece = rest.split_to(rest.len().min(PIECE));
        Some((Ok(piece), (rest, slot)))
    })
}

#[derive(serde::Deserialize)]
struct FeedQuery {
    #[serde(default)]
    since: i64,
    limit: Option<usize>,
}

async fn changes(
    State(state): State<AppState>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let grant = match authenticate(&state, remote, &headers, &query).await {
        Ok(grant) => grant,
        Err(response) => return response,
    };
    let feed_query = FeedQuery {
        since: query.get("since").and_then(|since| since.parse().ok()).unwrap_or(0),
        limit: query.get("limit").and_then(|limit| limit.parse().ok()),
    };
    let limit = feed_query.limit.unwrap_or(FEED_PAGE_ENTRIES).clamp(1, FEED_PAGE_ENTRIES);
    let reader = state.reader.clone();
    let page = tokio::task::spawn_blocking(move || {
        let conn = reader.lock().map_err(|_| anyhow::anyhow!("reader lock poisoned"))?;
        Ok::<_, anyhow::Error>(conn.change_feed(grant.workspace, feed_query.since, limit)?)
    })
    .await;
    match page {
        Ok(Ok(page)) => axum::Json(page).into_response(),
        Ok(Err(error)) => {
            tracing::error!(%error, "change feed failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "the change feed failed")
        }
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the change feed failed"),
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_token_reads_one_bundle_page_at_a_time_until_it_is_sent() {
        let reading: Arc<Mutex<std::collections::HashSet<String>>> = Arc::default();
        let slot = BundleSlot::take(&reading, "laptop").expect("a free slot");
        assert!(BundleSlot::take(&reading, "laptop").is_none(), "one page at a time");
        assert!(BundleSlot::take(&reading, "office").is_some(), "other tokens read on");

        let page = axum::body::Bytes::from(vec![7_u8; 200 * 1024]);
        let mut pieces = Box::pin(sent_in_pieces(page, slot));
        let first = pieces.next().await.unwrap().unwrap();
        assert_eq!(first.len(), 64 * 1024);
        assert!(
            BundleSlot::take(&reading, "laptop").is_none(),
            "the slot is held while the page is being sent"
        );
        let mut sent = first.len();
        while let Some(piece) = pieces.next().await {
            sent += piece.unwrap().len();
        }
        assert_eq!(sent, 200 * 1024);
        assert!(BundleSlot::take(&reading, "laptop").is_some(), "free once it is sent");
    }
}
