//! The per-document sync engine over one websocket.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use automerge::sync::{self, SyncDoc};
use doc_model::DocId;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use replica_store::Replica;
use serde::Serialize;
use sync_protocol::limits::MAX_DOCUMENTS_IN_FLIGHT;
use sync_protocol::{DocumentId, Message};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::error::{Result, SyncError};
use crate::remote::{Remote, Socket};

/// Incoming frames applied in one transaction at most.
const MAX_BATCH: usize = 256;

/// With documents in flight, the relay must say something within this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The replica's config key of the change-feed cursor for a remote.
pub(crate) fn cursor_key(remote: &Remote) -> String {
    format!("sync.cursor.{}", remote.key())
}

/// What a sync round did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncReport {
    /// Documents brought in sync with the relay.
    pub documents_synced: usize,
    /// Documents that changed here because of what the relay sent.
    pub documents_received: usize,
    /// Documents for which changes were sent to the relay.
    pub documents_sent: usize,
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
}

/// Runs one sync round: documents the relay changed since the cursor and those
/// changed here, then blobs (per the replica's blob policy).
pub async fn sync_once(
    replica: &mut Replica,
    remote: &Remote,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport> {
    let started = Instant::now();
    let connection = remote.connect(&replica.meta().device_name).await?;
    let mut session = Session::new(replica, remote, connection);
    session.run_round(progress).await?;
    session.leave().await;
    let mut report = session.report;
    crate::blobs::transfer(replica, remote, &mut report).await?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// One document being synced.
struct DocSync {
    state: sync::State,
    /// The outbox position to clear once the relay has this document.
    outbox_seq: Option<i64>,
}

/// A connected sync session.
pub(crate) struct Session<'a> {
    pub(crate) replica: &'a mut Replica,
    remote: Remote,
    relay_peer_id: String,
    remote_key: String,
    cursor_key: String,
    peer_id: String,
    sink: SplitSink<Socket, WsMessage>,
    stream: SplitStream<Socket>,
    in_flight: HashMap<DocId, DocSync>,
    queue: VecDeque<(DocId, Option<i64>)>,
    queued: HashSet<DocId>,
    pub(crate) report: SyncReport,
    done: usize,
}

/// What handling one incoming sync message produced.
struct Handled {
    changed: bool,
    reply: Option<(Vec<u8>, bool)>,
    in_sync: bool,
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        replica: &'a mut Replica,
        remote: &Remote,
        connection: (Socket, String),
    ) -> Self {
        let (socket, relay_peer_id) = connection;
        let (sink, stream) = socket.split();
        Self {
            peer_id: replica.meta().device_name.clone(),
            replica,
            remote: remote.clone(),
            relay_peer_id,
            remote_key: remote.key().to_owned(),
            cursor_key: cursor_key(remote),
            sink,
            stream,
            in_flight: HashMap::new(),
            queue: VecDeque::new(),
            queued: HashSet::new(),
            report: SyncReport::default(),
            done: 0,
        }
    }

    /// Feed plus outbox, synced to the end.
    pub(crate) async fn run_round(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<()> {
        let cursor: i64 = self
            .replica
            .config(&self.cursor_key)?
            .and_then(|value| value.parse().ok())
            .unwrap_or(0);
        let workspace = self.replica.meta().workspace_id.to_string();
        let (changed, next_cursor) = self.remote.changes_since(&workspace, cursor).await?;
        for entry in changed {
            let document = match entry.document_id.parse::<DocumentId>() {
                Ok(document) => DocId::from_bytes(*document.as_bytes()),
                Err(error) => {
                    tracing::warn!(%error, "ignoring a malformed change-feed entry");
                    continue;
                }
            };
            // Skip documents that already have the relay's heads: our own pushes,
            // and changes the relay announced while we were connected.
            let mut theirs: Vec<automerge::ChangeHash> =
                entry.heads.iter().filter_map(|hash| hash.parse().ok()).collect();
            theirs.sort_unstable();
            let ours = self.replica.stored_heads(document)?;
            if ours.is_some_and(|ours| !theirs.is_empty() && ours == theirs) {
                continue;
            }
            self.enqueue(document, None);
        }
        self.enqueue_outbox()?;
        progress(Progress::Started { documents: self.queue.len() });
        self.run_until_idle(&mut |done| progress(Progress::Synced { done }), None).await?;
        self.replica.set_config(&self.cursor_key, &next_cursor.to_string())?;
        Ok(())
    }

    /// Queues the outbox's documents; returns how many were not queued or in
    /// flight yet. A document already queued (from the feed) or in flight takes
    /// on its outbox position, so it is cleared from the outbox when done.
    pub(crate) fn enqueue_outbox(&mut self) -> Result<usize> {
        let outbox = self.replica.outbox()?;
        let mut added = 0;
        for (doc_id, seq) in outbox {
            if let Some(entry) = self.in_flight.get_mut(&doc_id) {
                entry.outbox_seq = Some(entry.outbox_seq.map_or(seq, |known| known.max(seq)));
                continue;
            }
            if !self.queued.contains(&doc_id) {
                added += 1;
            }
            self.enqueue(doc_id, Some(seq));
        }
        Ok(added)
    }

    fn enqueue(&mut self, doc_id: DocId, outbox_seq: Option<i64>) {
        if self.queued.insert(doc_id) {
            self.queue.push_back((doc_id, outbox_seq));
        } else if let Some(seq) = outbox_seq
            && let Some(entry) = self.queue.iter_mut().find(|(queued, _)| *queued == doc_id)
        {
            entry.1 = Some(seq);
        }
    }

    /// Syncs until nothing is queued or in flight. With `until`, also returns when
    /// that future resolves (watch mode's tick).
    pub(crate) async fn run_until_idle(
        &mut self,
        progress: &mut dyn FnMut(usize),
        mut until: Option<std::pin::Pin<&mut tokio::time::Sleep>>,
    ) -> Result<()> {
        loop {
            self.fill_window().await?;
            if self.in_flight.is_empty() && self.queue.is_empty() {
                return Ok(());
            }
            let frame = match until.as_mut() {
                Some(deadline) => tokio::select! {
                    frame = tokio::time::timeout(IDLE_TIMEOUT, self.stream.next()) => frame,
                    () = deadline.as_mut() => return Ok(()),
                },
                None => tokio::time::timeout(IDLE_TIMEOUT, self.stream.next()).await,
            };
            let first = frame.map_err(|_| SyncError::Timeout(IDLE_TIMEOUT.as_secs()))?;
            self.receive_frames(first).await?;
            progress(self.done);
        }
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
        self.handle(messages).await
    }

    async fn handle(&mut self, messages: Vec<Message>) -> Result<()> {
        let mut syncs: Vec<(DocId, sync::Message)> = Vec::new();
        for message in messages {
            match message {
                Message::Sync { document_id, data, .. }
                | Message::Request { document_id, data, .. } => {
                    let Ok(document) = document_id.parse::<DocumentId>() else { continue };
                    match sync::Message::decode(&data) {
                        Ok(decoded) => {
                            syncs.push((DocId::from_bytes(*document.as_bytes()), decoded))
                        }
                        Err(error) => {
                            tracing::warn!(%error, "relay sent an undecodable sync message")
                        }
                    }
                }
                Message::DocUnavailable { document_id, .. } => {
                    if let Ok(document) = document_id.parse::<DocumentId>() {
                        // Neither side has it: nothing to sync.
                        self.finish(&[DocId::from_bytes(*document.as_bytes())], false)?;
                    }
                }
                Message::Error { message } => return Err(SyncError::Relay(message)),
                _ => {}
            }
        }
        // A document appears at most once per transaction; later messages for it
        // go into the next pass, in order.
        while !syncs.is_empty() {
            let mut seen = HashSet::new();
            let (now, later): (Vec<_>, Vec<_>) =
                syncs.into_iter().partition(|(doc_id, _)| seen.insert(*doc_id));
            syncs = later;
            self.apply(now).await?;
        }
        Ok(())
    }

    async fn apply(&mut self, batch: Vec<(DocId, sync::Message)>) -> Result<()> {
        // Documents the relay announced on its own get a state too.
        for (doc_id, _) in &batch {
            if !self.in_flight.contains_key(doc_id) {
                let state = self.load_state(*doc_id)?;
                let outbox_seq = self.take_queued(*doc_id);
                self.in_flight.insert(*doc_id, DocSync { state, outbox_seq });
            }
        }
        let doc_ids: Vec<DocId> = batch.iter().map(|(doc_id, _)| *doc_id).collect();
        let mut incoming: HashMap<DocId, sync::Message> = batch.into_iter().collect();
        let in_flight = &mut self.in_flight;
        let results = self.replica.sync_documents(&doc_ids, |doc_id, doc| {
            let (Some(entry), Some(message)) =
                (in_flight.get_mut(&doc_id), incoming.remove(&doc_id))
            else {
                return Ok(Handled { changed: false, reply: None, in_sync: true });
            };
            let before = doc.get_heads();
            doc.sync().receive_sync_message(&mut entry.state, message)?;
            Ok(handled(doc, &mut entry.state, &before))
        })?;
        let mut finished = Vec::new();
        for (doc_id, result) in doc_ids.into_iter().zip(results) {
            match result {
                Ok(handled) => {
                    if handled.changed {
                        self.report.documents_received += 1;
                    }
                    if let Some((reply, has_changes)) = handled.reply {
                        self.send_sync(doc_id, reply, has_changes, true).await?;
                    }
                    if handled.in_sync {
                        finished.push(doc_id);
                    }
                }
                Err(error) => {
                    // This document is retried on the next round; the others go on.
                    tracing::warn!(%doc_id, %error, "could not apply a sync message");
                    self.in_flight.remove(&doc_id);
                }
            }
        }
        self.finish(&finished, true)
    }

    /// Starts documents from the queue until the window is full.
    async fn fill_window(&mut self) -> Result<()> {
        while self.in_flight.len() < MAX_DOCUMENTS_IN_FLIGHT {
            let Some((doc_id, outbox_seq)) = self.queue.pop_front() else { return Ok(()) };
            self.queued.remove(&doc_id);
            let mut state = self.load_state(doc_id)?;
            let has_document = self.replica.has_document(doc_id)?;
            let first = if has_document {
                self.replica
                    .read_document(doc_id, |doc| doc.sync().generate_sync_message(&mut state))?
            } else {
                AutoCommit::new().sync().generate_sync_message(&mut state)
            };
            self.in_flight.insert(doc_id, DocSync { state, outbox_seq });
            match first {
                Some(message) => {
                    let has_changes = !message.changes.is_empty();
                    self.send_sync(doc_id, message.encode(), has_changes, has_document).await?;
                }
                None => self.finish(&[doc_id], true)?,
            }
        }
        Ok(())
    }

    fn take_queued(&mut self, doc_id: DocId) -> Option<i64> {
        if !self.queued.remove(&doc_id) {
            return None;
        }
        let position = self.queue.iter().position(|(queued, _)| *queued == doc_id)?;
        self.queue.remove(position).and_then(|(_, seq)| seq)
    }

    fn load_state(&self, doc_id: DocId) -> Result<sync::State> {
        Ok(self
            .replica
            .sync_state(&self.remote_key, doc_id)?
            .and_then(|bytes| sync::State::decode(&bytes).ok())
            .unwrap_or_default())
    }

    async fn send_sync(
        &mut self,
        doc_id: DocId,
        data: Vec<u8>,
        has_changes: bool,
        have_document: bool,
    ) -> Result<()> {
        let document = DocumentId::from_bytes(*doc_id.as_bytes());
        let message = if have_document {
            Message::sync(&self.peer_id, &self.relay_peer_id, document, data)
        } else {
            Message::request(&self.peer_id, &self.relay_peer_id, document, data)
        };
        if has_changes {
            self.report.documents_sent += 1;
        }
        let bytes = message.encode();
        self.report.messages_sent += 1;
        self.report.bytes_sent += bytes.len() as u64;
        if let Err(error) = self.sink.send(WsMessage::Binary(bytes.into())).await {
            return Err(self.explain(error.into()).await);
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

    /// Marks documents done: saves their sync state, clears their outbox entries.
    fn finish(&mut self, doc_ids: &[DocId], save_state: bool) -> Result<()> {
        let mut states = Vec::new();
        let mut pushed = Vec::new();
        for doc_id in doc_ids {
            let Some(entry) = self.in_flight.remove(doc_id) else { continue };
            self.done += 1;
            self.report.documents_synced += 1;
            if save_state {
                states.push((*doc_id, entry.state.encode()));
            }
            if let Some(seq) = entry.outbox_seq {
                pushed.push((*doc_id, seq));
            }
        }
        if !states.is_empty() {
            self.replica.save_sync_states(&self.remote_key, &states)?;
        }
        if !pushed.is_empty() {
            self.replica.clear_outbox(&pushed)?;
        }
        Ok(())
    }

    /// Says goodbye.
    pub(crate) async fn leave(&mut self) {
        let leave = Message::Leave { sender_id: self.peer_id.clone() };
        let _ = self.sink.send(WsMessage::Binary(leave.encode().into())).await;
        let _ = self.sink.close().await;
    }

    /// Whether documents are queued or in flight.
    pub(crate) fn busy(&self) -> bool {
        !self.in_flight.is_empty() || !self.queue.is_empty()
    }
}

/// After receiving: the reply to send, and whether the document is in sync (the
/// relay last told us heads equal to ours).
fn handled(
    doc: &mut AutoCommit,
    state: &mut sync::State,
    before: &[automerge::ChangeHash],
) -> Handled {
    let mut heads = doc.get_heads();
    let changed = heads != before;
    let reply = doc.sync().generate_sync_message(state).map(|message| {
        let has_changes = !message.changes.is_empty();
        (message.encode(), has_changes)
    });
    heads.sort_unstable();
    let in_sync = state.their_heads.as_ref().is_some_and(|theirs| {
        let mut theirs = theirs.clone();
        theirs.sort_unstable();
        theirs == heads
    });
    Handled { changed, reply, in_sync }
}
