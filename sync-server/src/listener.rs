//! The accept loop: HTTP/1.1 with a deadline for request headers, and a cap on
//! connections from one address that have not yet sent a complete request.
//!
//! `axum::serve` configures neither: a peer that opens connections and sends
//! headers one byte a minute (slowloris) kept 2,000 sockets open indefinitely,
//! enough to use up a process's open files. Here a connection must deliver each
//! request's headers within [`HEADER_READ_TIMEOUT`], and one address may hold
//! at most [`PENDING_PER_ADDRESS`] connections that have not delivered their
//! first request; beyond that new ones from that address are closed at once.
//! Honest clients send their request right after connecting, so they hold a
//! pending place for milliseconds. Open connections are bounded too, per
//! address ([`OPEN_PER_ADDRESS`]) and in all (the process's file limit, raised
//! to its hard limit), so that kept-alive connections cannot use up the files.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// How long a client may take to send a request's headers (the first request of
/// a connection, and each next one on a kept-alive connection).
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections from one address that have not sent a complete request yet. A
/// branch office behind one NAT address opens a few at a time.
pub(crate) const PENDING_PER_ADDRESS: usize = 64;

/// How long open connections get to finish after shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Connections from one address open at once, however busy: a branch office
/// behind one NAT address has a few dozen devices, each with a websocket and a
/// few HTTP requests.
pub(crate) const OPEN_PER_ADDRESS: usize = 256;

/// Counts connections per address against a limit.
#[derive(Debug)]
struct PerAddress {
    limit: usize,
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection's place in a [`PerAddress`] count; given back when dropped.
#[derive(Debug)]
struct AddressPlace {
    counter: Arc<PerAddress>,
    address: IpAddr,
}

impl PerAddress {
    fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self { limit, by_address: Mutex::default() })
    }

    fn enter(self: &Arc<Self>, address: IpAddr) -> Option<AddressPlace> {
        let mut by_address = self.by_address.lock().ok()?;
        let count = by_address.entry(address).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(AddressPlace { counter: self.clone(), address })
    }
}

impl Drop for AddressPlace {
    fn drop(&mut self) {
        if let Ok(mut by_address) = self.counter.by_address.lock()
            && let Some(count) = by_address.get_mut(&self.address)
        {
            *count -= 1;
            if *count == 0 {
                by_address.remove(&self.address);
            }
        }
    }
}

/// A connection's place among all open ones.
#[derive(Debug)]
struct OpenPlace(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for OpenPlace {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// The connections the process can hold open: its file limit, raised to the
/// hard limit where allowed, less room for the database, blobs and logs.
fn open_connection_limit() -> usize {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else { return 1_024 };
    let raised = if setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() { hard } else { soft };
    usize::try_from(raised.saturating_sub(256)).unwrap_or(usize::MAX).clamp(64, 65_536)
}

/// Serves `router` on `listener` (over TLS when `tls` is given) until
/// `shutdown` is cancelled, then lets open connections finish for a grace period.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    tls: Option<TlsAcceptor>,
) {
    let pending = PerAddress::new(PENDING_PER_ADDRESS);
    let open = PerAddress::new(OPEN_PER_ADDRESS);
    let open_limit = open_connection_limit();
    let open_total = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    tracing::info!(open_limit, "accepting connections");
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors or a connection reset before accept:
                // wait a little instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Refused at once, before a byte is read: past the relay's open files,
        // past what one address may hold open, or past what it may hold before
        // sending a request.
        if open_total.fetch_add(1, std::sync::atomic::Ordering::AcqRel) >= open_limit {
            open_total.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            tracing::debug!(%remote, "closed a connection: the relay holds all it can");
            continue;
        }
        let open_place = (OpenPlace(open_total.clone()), open.enter(remote.ip()));
        let (open_place, Some(address_place)) = open_place else {
            tracing::debug!(%remote, "closed a connection: too many open from this address");
            continue;
        };
        let Some(place) = pending.enter(remote.ip()) else {
            tracing::debug!(%remote, "closed a connection: too many pending from this address");
            continue;
        };
        let router = router.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _open = (open_place, address_place);
            let Some(tls) = tls else {
                serve_connection(stream, remote, place, router, shutdown).await;
                return;
            };
            // The handshake counts against the header deadline, and the
            // connection keeps its pending place meanwhile.
            let handshake = tls.accept(stream);
            match tokio::time::timeout(HEADER_READ_TIMEOUT, handshake).await {
                Ok(Ok(stream)) => serve_connection(stream, remote, place, router, shutdown).await,
                Ok(Err(error)) => tracing::debug!(%remote, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
            }
        });
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.wait()).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period");
    }
}

/// HTTP/1.1 on one connection, with upgrades (the websocket), until it ends or
/// the relay shuts down.
async fn serve_connection<I>(
    io: I,
    remote: SocketAddr,
    place: AddressPlace,
    router: Router,
    shutdown: CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let place = Arc::new(Mutex::new(Some(place)));
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        // Headers are complete: this connection is no longer pending.
        if let Ok(mut place) = place.lock() {
            place.take();
        }
        request.extensions_mut().insert(ConnectInfo(remote));
        router.clone().oneshot(request.map(axum::body::Body::new))
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = shutdown.cancelled() => {
            // Finish the request in progress, then close.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = outcome {
        tracing::debug!(%remote, %error, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_may_hold_a_bounded_number_of_pending_connections() {
        let pending = PerAddress::new(PENDING_PER_ADDRESS);
        let one: IpAddr = "127.0.0.2".parse().unwrap();
        let other: IpAddr = "127.0.0.3".parse().unwrap();
        let places: Vec<_> = (0..PENDING_PER_ADDRESS).map(|_| pending.enter(one)).collect();
        assert!(places.iter().all(Option::is_some));
        assert!(pending.enter(one).is_none());
        assert!(pending.enter(other).is_some(), "another address is not affected");
        drop(places);
        let _again = pending.enter(one).unwrap();
        assert_eq!(pending.by_address.lock().unwrap().get(&one), Some(&1));
    }
}
