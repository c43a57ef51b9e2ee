//! `sync --watch`: stay connected, push local edits as they happen, apply what
//! the relay announces, reconnect after failures.

use std::future::Future;
use std::time::Duration;

use rand::RngExt;
use replica_store::Replica;

use crate::error::{Result, SyncError};
use crate::remote::Remote;
use crate::session::{Session, SyncReport};

/// How often the outbox is checked for edits made by other processes (a
/// technician running `kartoteka client edit` while a watch runs).
const OUTBOX_POLL: Duration = Duration::from_millis(200);

/// First reconnect delay; doubles per failed attempt.
const BACKOFF_BASE: Duration = Duration::from_millis(500);

/// Longest reconnect delay.
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// What a watch reports as it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// Connected and caught up.
    Synced(SyncReport),
    /// Documents changed here because of the relay, or were pushed from here.
    Activity {
        /// Documents received so far in this connection.
        received: usize,
        /// Documents sent so far in this connection.
        sent: usize,
    },
    /// The connection failed; the next attempt is after the delay.
    Disconnected {
        /// Why.
        error: String,
        /// When the next attempt starts.
        retry_in: Duration,
    },
}

/// Watches until `stop` resolves. Returns early only for errors a retry cannot
/// fix (a refused token, a broken replica).
pub async fn watch(
    replica: &mut Replica,
    remote: &Remote,
    on_event: &mut dyn FnMut(WatchEvent),
    stop: impl Future<Output = ()>,
) -> Result<()> {
    let mut stop = std::pin::pin!(stop);
    let mut attempt: u32 = 0;
    loop {
        let outcome = tokio::select! {
            outcome = connected(replica, remote, on_event, &mut attempt) => outcome,
            () = stop.as_mut() => return Ok(()),
        };
        let error = match outcome {
            Ok(()) => return Ok(()),
            Err(
                error @ (SyncError::Unauthorized(_)
                | SyncError::WrongWorkspace { .. }
                | SyncError::Store(_)
                | SyncError::NoRemote
                | SyncError::BadUrl(_)),
            ) => {
                return Err(error);
            }
            Err(error) => error,
        };
        let delay = backoff(attempt);
        attempt = attempt.saturating_add(1);
        on_event(WatchEvent::Disconnected { error: error.to_string(), retry_in: delay });
        tokio::select! {
            () = tokio::time::sleep(delay) => {},
            () = stop.as_mut() => return Ok(()),
        }
    }
}

/// One connection's life: catch up, then follow.
async fn connected(
    replica: &mut Replica,
    remote: &Remote,
    on_event: &mut dyn FnMut(WatchEvent),
    attempt: &mut u32,
) -> Result<()> {
    let started = std::time::Instant::now();
    let mut downloaded = SyncReport::default();
    crate::session::download_bundle(replica, remote, &mut downloaded, &mut |_| {}).await?;
    let connection = remote.connect(&replica.meta().device_name).await?;
    let mut session = Session::new(replica, remote, connection);
    session.report.documents_received = downloaded.documents_received;
    session.run_round(&mut |_| {}).await?;
    crate::blobs::transfer(session.replica, remote, &mut session.report, &mut |_| {}).await?;
    let mut report = session.report.clone();
    report.seconds = started.elapsed().as_secs_f64();
    // Only a completed round proves the relay works; reset the backoff then.
    *attempt = 0;
    on_event(WatchEvent::Synced(report));
    let mut seen = (session.report.documents_received, session.report.documents_sent);
    loop {
        session.receive_once(OUTBOX_POLL).await?;
        if session.enqueue_outbox().await? > 0 || session.busy() {
            let deadline = tokio::time::sleep(OUTBOX_POLL);
            tokio::pin!(deadline);
            session.run_until_idle(&mut |_| {}, Some(deadline.as_mut())).await?;
        }
        let now = (session.report.documents_received, session.report.documents_sent);
        if now != seen {
            seen = now;
            crate::blobs::transfer(session.replica, remote, &mut session.report, &mut |_| {})
                .await?;
            on_event(WatchEvent::Activity { received: now.0, sent: now.1 });
        }
    }
}

/// Exponential backoff with full jitter: a random delay up to base·2^attempt,
/// capped, so that many devices reconnecting after a relay restart spread out.
fn backoff(attempt: u32) -> Duration {
    let ceiling =
        BACKOFF_BASE.saturating_mul(2_u32.saturating_pow(attempt.min(16))).min(BACKOFF_CAP);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(millis / 10..=millis.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for _ in 0..100 {
            assert!(backoff(0) <= BACKOFF_BASE);
            assert!(backoff(3) <= BACKOFF_BASE * 8);
            assert!(backoff(40) <= BACKOFF_CAP);
        }
    }
}
