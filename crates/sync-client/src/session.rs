//! The sync engine's shell over one websocket: frames in and out, timeouts,
//! the change feed over HTTP; what to send and store is `sync_engine`'s.

use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use replica_store::{Replica, StoreError};
use serde::Serialize;
use sync_engine::{EngineError, ReplicaEngine};
use sync_protocol::Message;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::error::{Result, SyncError};
use crate::remote::{Remote, Socket};

/// Incoming frames applied in one transaction at most.
const MAX_BATCH: usize = 256;

/// With documents in flight, the relay must say something within this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What a sync round did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncReport {
    /// Documents brought in sync with the relay.
    pub documents_synced: usize,
    /// Documents that changed here because of what the relay sent.
    pub documents_received: usize,
    /// Documents for which changes were sent to the relay.
    pub documents_sent: usize,
    /// Documents whose messages could not be applied; retried next round.
    pub documents_failed: usize,
    /// Documents that failed in several rounds and wait until they change at
    /// the relay.
    pub documents_given_up: usize,
    /// Websocket messages sent.
    pub messages_sent: usize,
    /// Websocket messages received.
    pub messages_received: usize,
    /// Bytes sent on the websocket.
    pub bytes_sent: u64,
    /// Bytes received on the websocket.
    pub bytes_received: u64,
    /// Blobs uploaded to the relay.
    pub blobs_uploaded: usize,
    /// Blobs downloaded from the relay.
    pub blobs_downloaded: usize,
    /// Bytes of blobs uploaded and downloaded.
    pub blob_bytes: u64,
    /// Wall time of the round in seconds.
    pub seconds: f64,
}

/// Progress of a round, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A joining replica has stored this many documents of the workspace
    /// bundle so far.
    Downloaded {
        /// How many.
        documents: usize,
    },
    /// The round will sync this many documents.
    Started {
        /// How many.
        documents: usize,
    },
    /// This many are done.
    Synced {
        /// How many.
        done: usize,
    },
    /// Photos and files are about to move, after the documents.
    BlobsStarted {
        /// Up or down.
        direction: Direction,
        /// How many.
        blobs: usize,
    },
    /// This many have moved (or were found not yet on the relay).
    BlobsMoved {
        /// Up or down.
        direction: Direction,
        /// How many.
        done: usize,
        /// Bytes moved so far, both ways.
        bytes: u64,
    },
}

/// Which way blobs move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From this replica to the relay.
    Up,
    /// From the relay to this replica.
    Down,
}

/// Runs one sync round: documents the relay changed since the cursor and those
/// changed here, then blobs (per the replica's blob policy).
pub async fn sync_once(
    replica: &mut Replica,
    remote: &Remote,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport> {
    let started = Instant::now();
    let mut downloaded = SyncReport::default();
    download_bundle(replica, remote, &mut downloaded, progress).await?;
    let connection = remote.connect(&replica.meta().device_name).await?;
    let mut session = Session::new(replica, remote, connection);
    session.run_round(progress).await?;
    session.leave().await;
    let mut report = session.report;
    report.documents_received += downloaded.documents_received;
    report.documents_synced += downloaded.documents_synced;
    report.documents_failed += downloaded.documents_failed;
    report.bytes_received += downloaded.bytes_received;
    crate::blobs::transfer(replica, remote, &mut report, progress).await?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The replica's config key saying whether the bundle download for a remote
/// is under way (an interrupted one resumes as a bundle, not document by
/// document) or done.
fn bundle_key(remote: &Remote) -> String {
    format!("sync.bundle.{}", remote.key())
}

/// A replica that has never synced with this relay (or whose bundle download
/// was interrupted) takes the workspace as bundle pages, each stored in one
/// transaction with the feed cursor; the round after it syncs only what
/// changed meanwhile, and the outbox.
pub(crate) async fn download_bundle(
    replica: &mut Replica,
    remote: &Remote,
    report: &mut SyncReport,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let key = bundle_key(remote);
    let mut since = replica.sync_cursor(remote.key())?;
    // Once per relay: "active" while a download runs (an interrupted one
    // resumes), "done" after (a replica whose cursor is still 0 because the
    // relay was empty when it first synced does not download again).
    match replica.config(&key)?.as_deref() {
        Some("done") => return Ok(()),
        Some("active") => {}
        _ if since != 0 => return Ok(()),
        _ => replica.set_config(&key, "active")?,
    }
    let workspace = replica.meta().workspace_id.to_string();
    loop {
        let page = match remote.bundle_page(&workspace, since).await {
            Ok(Some(page)) => page,
            // A relay without a bundle: the round syncs document by document.
            Ok(None) => break,
            Err(
                error @ (SyncError::Unauthorized(_)
                | SyncError::WrongWorkspace { .. }
                | SyncError::Store(_)),
            ) => return Err(error),
            Err(error) => {
                // The round syncs the rest document by document; the next sync
                // resumes the download where this page stopped.
                tracing::warn!(%error, "the workspace bundle failed; syncing document by document");
                return Ok(());
            }
        };
        let documents = page.documents.len();
        report.bytes_received += page.documents.iter().map(|d| d.data.len() as u64).sum::<u64>();
        let (changed, failed) = replica.import_bundle(remote.key(), &page)?;
        report.documents_received += changed;
        report.documents_synced += documents - failed;
        report.documents_failed += failed;
        progress(Progress::Downloaded { documents: report.documents_synced });
        since = page.next;
        if !page.more {
            break;
        }
    }
    replica.set_config(&key, "done")?;
    Ok(())
}

/// A connected sync session: the websocket and the replica around a
/// [`ReplicaEngine`], which decides what to send and store.
pub(crate) struct Session<'a> {
    pub(crate) replica: &'a mut Replica,
    remote: Remote,
    remote_key: String,
    sink: SplitSink<Socket, WsMessage>,
    stream: SplitStream<Socket>,
    engine: ReplicaEngine,
    pub(crate) report: SyncReport,
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        replica: &'a mut Replica,
        remote: &Remote,
        connection: (Socket, String),
    ) -> Self {
        let (socket, relay_peer_id) = connection;
        let (sink, stream) = socket.split();
        let engine = ReplicaEngine::new(&replica.meta().device_name, &relay_peer_id);
        Self {
            replica,
            remote: remote.clone(),
            remote_key: remote.key().to_owned(),
            sink,
            stream,
            engine,
            report: SyncReport::default(),
        }
    }

    /// Feed, retries and outbox, synced to the end.
    pub(crate) async fn run_round(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<()> {
        let cursor = self.replica.sync_cursor(&self.remote_key)?;
        let workspace = self.replica.meta().workspace_id.to_string();
        let (changed, next_cursor) = self.remote.changes_since(&workspace, cursor).await?;
        let mut storage = self.replica.sync_storage(&self.remote_key);
        let outgoing = self.engine.start_round(&mut storage, &changed, next_cursor);
        self.send_all(outgoing).await?;
        progress(Progress::Started { documents: self.engine.pending() });
        self.run_until_idle(&mut |done| progress(Progress::Synced { done }), None).await
    }

    /// Queues the outbox's documents and starts what fits; returns how many were
    /// new to the session.
    pub(crate) async fn enqueue_outbox(&mut self) -> Result<usize> {
        let mut storage = self.replica.sync_storage(&self.remote_key);
        let polled = self.engine.poll_outbox(&mut storage);
        let added = polled.as_ref().map_or(0, |(added, _)| *added);
        self.send_all(polled.map(|(_, outgoing)| outgoing)).await?;
        Ok(added)
    }

    /// Syncs until nothing is queued or in flight. With `until`, also returns when
    /// that future resolves (watch mode's tick).
    pub(crate) async fn run_until_idle(
        &mut self,
        progress: &mut dyn FnMut(usize),
        mut until: Option<std::pin::Pin<&mut tokio::time::Sleep>>,
    ) -> Result<()> {
        while !self.engine.is_idle() {
            let frame = match until.as_mut() {
                Some(deadline) => tokio::select! {
                    frame = tokio::time::timeout(IDLE_TIMEOUT, self.stream.next()) => frame,
                    () = deadline.as_mut() => return Ok(()),
                },
                None => tokio::time::timeout(IDLE_TIMEOUT, self.stream.next()).await,
            };
            let first = frame.map_err(|_| SyncError::Timeout(IDLE_TIMEOUT.as_secs()))?;
            self.receive_frames(first).await?;
            progress(self.engine.stats().documents_synced);
        }
        Ok(())
    }

    /// Waits for frames and handles them (watch mode's idle state).
    pub(crate) async fn receive_once(&mut self, wait: Duration) -> Result<bool> {
        match tokio::time::timeout(wait, self.stream.next()).await {
            Err(_) => Ok(false),
            Ok(first) => {
                self.receive_frames(first).await?;
                Ok(true)
            }
        }
    }

    /// Handles a frame plus every frame already waiting behind it, as one batch.
    async fn receive_frames(
        &mut self,
        first: Option<std::result::Result<WsMessage, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<()> {
        let mut frames = vec![first];
        while frames.len() < MAX_BATCH {
            match self.stream.next().now_or_never() {
                Some(frame) => frames.push(frame),
                None => break,
            }
        }
        let mut messages = Vec::new();
        for frame in frames {
            match frame {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    self.report.messages_received += 1;
                    self.report.bytes_received += bytes.len() as u64;
                    match Message::decode(&bytes) {
                        Ok(message) => messages.push(message),
                        Err(error) => {
                            return Err(SyncError::Relay(format!(
                                "malformed message from the relay: {error}"
                            )));
                        }
                    }
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    let reason = frame.map(|frame| frame.reason.to_string()).unwrap_or_default();
                    return Err(SyncError::Relay(if reason.is_empty() {
                        "closed".to_owned()
                    } else {
                        reason
                    }));
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error.into()),
                None => return Err(SyncError::Relay("connection closed".to_owned())),
            }
        }
        let mut storage = self.replica.sync_storage(&self.remote_key);
        let outgoing = self.engine.receive(&mut storage, messages);
        self.send_all(outgoing).await
    }

    /// Sends what the engine produced (after counting what it did), or turns its
    /// error into the session's.
    async fn send_all(
        &mut self,
        outgoing: std::result::Result<Vec<Message>, EngineError<StoreError>>,
    ) -> Result<()> {
        let stats = self.engine.stats();
        self.report.documents_synced = stats.documents_synced;
        self.report.documents_received = stats.documents_received;
        self.report.documents_sent = stats.documents_sent;
        self.report.documents_failed = stats.documents_failed;
        self.report.documents_given_up = stats.documents_given_up;
        let outgoing = outgoing.map_err(|error| match error {
            EngineError::Storage(error) => SyncError::Store(error),
            EngineError::Refused(reason) => SyncError::Relay(reason),
        })?;
        for message in outgoing {
            let bytes = message.encode();
            self.report.messages_sent += 1;
            self.report.bytes_sent += bytes.len() as u64;
            if let Err(error) = self.sink.send(WsMessage::Binary(bytes.into())).await {
                return Err(self.explain(error.into()).await);
            }
        }
        Ok(())
    }

    /// After a failed send: the relay usually said why before closing (an `error`
    /// message or a close reason); report that rather than a bare socket error.
    async fn explain(&mut self, error: SyncError) -> SyncError {
        let reason = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(frame)) = self.stream.next().await {
                match frame {
                    WsMessage::Binary(bytes) => {
                        if let Ok(Message::Error { message }) = Message::decode(&bytes) {
                            return Some(message);
                        }
                    }
                    WsMessage::Close(Some(frame)) if !frame.reason.is_empty() => {
                        return Some(frame.reason.to_string());
                    }
                    _ => {}
                }
            }
            None
        })
        .await;
        match reason {
            Ok(Some(reason)) => SyncError::Relay(reason),
            _ => error,
        }
    }

    /// Says goodbye.
    pub(crate) async fn leave(&mut self) {
        let leave = Message::Leave { sender_id: self.replica.meta().device_name.clone() };
        let _ = self.sink.send(WsMessage::Binary(leave.encode().into())).await;
        let _ = self.sink.close().await;
    }

    /// Whether documents are queued or in flight.
    pub(crate) fn busy(&self) -> bool {
        !self.engine.is_idle()
    }
}
