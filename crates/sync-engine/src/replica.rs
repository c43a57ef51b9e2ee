//! The replica's side of sync as a state machine: feed, retries and outbox in;
//! messages for the relay and storage writes out.

use std::collections::{HashMap, HashSet, VecDeque};

use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, ChangeHash};
use sync_protocol::feed::FeedEntry;
use sync_protocol::limits::MAX_DOCUMENTS_IN_FLIGHT;
use sync_protocol::{DocumentId, Message};

use crate::error::EngineError;
use crate::storage::{Outcome, ReplicaStorage, SyncBatch, SyncRecord};

/// Rounds in a row a failing document is retried without the relay naming it
/// again. A document that can never be applied (one this replica refuses)
/// would otherwise be downloaded again by every round; after this many it
/// waits until it changes at the relay (the feed names it again, for one more
/// try) and is counted in [`EngineStats::documents_given_up`].
pub const MAX_RETRY_ROUNDS: u32 = 5;

/// Replies in a row from the relay that bring nothing new (same heads, no
/// change, and we still lack some of them) before the engine asks the relay to
/// forget what it believes it sent for the document. Automerge never sends a
/// change twice on one connection; if one was lost on the way (or kept only in
/// a copy of the document that was dropped), both sides would otherwise answer
/// each other forever without progress.
pub const STALLED_REPLIES: u32 = 2;

/// Messages in a row that bring a document no change before the engine gives
/// it up for this round (put up for retry, and restarted with a reset), so a
/// peer that never brings it in sync cannot keep the round, and the
/// connection, busy forever.
pub const MAX_EXCHANGES: u32 = 64;

/// What the engine has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Documents brought in sync with the relay.
    pub documents_synced: usize,
    /// Documents that changed here because of what the relay sent.
    pub documents_received: usize,
    /// Documents for which changes were sent to the relay.
    pub documents_sent: usize,
    /// Documents whose messages could not be applied (put up for retry).
    pub documents_failed: usize,
    /// Documents that failed in [`MAX_RETRY_ROUNDS`] rounds and are no longer
    /// retried until they change at the relay.
    pub documents_given_up: usize,
}

/// Why a document is being synced, beyond "the relay may have changes".
#[derive(Debug, Clone, Copy, Default)]
struct Reasons {
    /// The outbox position to clear once the relay has the document.
    outbox_seq: Option<i64>,
    /// Whether its retry record is to be removed once it is in sync.
    retry: bool,
}

impl Reasons {
    fn merge(&mut self, other: Self) {
        self.outbox_seq = match (self.outbox_seq, other.outbox_seq) {
            (Some(known), Some(seq)) => Some(known.max(seq)),
            (known, seq) => known.or(seq),
        };
        self.retry |= other.retry;
    }
}

/// One document being synced.
#[derive(Debug)]
struct InFlight {
    state: sync::State,
    reasons: Reasons,
    /// Whether this replica started it (from the feed, the retries or the
    /// outbox) rather than the relay announcing it: only those keep a round
    /// open, so a busy workspace cannot keep a round from ending.
    started_here: bool,
    /// Whether it was started with `request` (the replica did not have it):
    /// only then does `doc-unavailable` mean there is nothing to sync.
    requested: bool,
    /// Messages received in a row that did not change it.
    exchanges: u32,
    /// Replies in a row that brought nothing new (see [`STALLED_REPLIES`]).
    stalled: u32,
}

impl InFlight {
    fn new(state: sync::State, reasons: Reasons, started_here: bool, requested: bool) -> Self {
        Self { state, reasons, started_here, requested, exchanges: 0, stalled: 0 }
    }
}

/// The replica's side of sync with one relay. See the crate documentation for
/// a round; the engine keeps no clock (waiting is the shell's).
#[derive(Debug)]
pub struct ReplicaEngine {
    peer_id: String,
    relay_peer_id: String,
    in_flight: HashMap<DocumentId, InFlight>,
    queue: VecDeque<DocumentId>,
    queued: HashMap<DocumentId, Reasons>,
    /// The cursor to write once the round's documents are all done.
    round_cursor: Option<i64>,
    stats: EngineStats,
}

/// What applying one incoming sync message produced.
struct Handled {
    changed: bool,
    reply: Option<sync::Message>,
    in_sync: bool,
}

type Result<T, S> = std::result::Result<T, EngineError<<S as ReplicaStorage>::Error>>;

impl ReplicaEngine {
    /// An engine for the device `peer_id` talking to the relay `relay_peer_id`.
    pub fn new(peer_id: &str, relay_peer_id: &str) -> Self {
        Self {
            peer_id: peer_id.to_owned(),
            relay_peer_id: relay_peer_id.to_owned(),
            in_flight: HashMap::new(),
            queue: VecDeque::new(),
            queued: HashMap::new(),
            round_cursor: None,
            stats: EngineStats::default(),
        }
    }

    /// What the engine has done so far.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Documents queued or in flight.
    pub fn pending(&self) -> usize {
        self.queue.len() + self.started_in_flight()
    }

    fn started_in_flight(&self) -> usize {
        self.in_flight.values().filter(|entry| entry.started_here).count()
    }

    /// Whether nothing this replica started is queued or in flight (documents
    /// the relay announced on its own may still be).
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.started_in_flight() == 0
    }

    /// Starts a round: the feed's entries since the stored cursor (`next_cursor`
    /// is the feed's end), the retries and the outbox. Returns the first
    /// messages to send.
    pub fn start_round<S: ReplicaStorage>(
        &mut self,
        storage: &mut S,
        feed: &[FeedEntry],
        next_cursor: i64,
    ) -> Result<Vec<Message>, S> {
        for entry in feed {
            let document = match entry.document_id.parse::<DocumentId>() {
                Ok(document) => document,
                Err(error) => {
                    tracing::warn!(%error, "ignoring a malformed change-feed entry");
                    continue;
                }
            };
            // Skip documents that already have the relay's heads: our own pushes,
            // and changes the relay announced while we were connected.
            let mut theirs: Vec<ChangeHash> =
                entry.heads.iter().filter_map(|hash| hash.parse().ok()).collect();
            theirs.sort_unstable();
            let ours = storage.stored_heads(document).map_err(EngineError::Storage)?;
            if ours.is_some_and(|ours| !theirs.is_empty() && ours == theirs) {
                continue;
            }
            self.enqueue(document, Reasons::default());
        }
        for (document, failed_rounds) in storage.retries().map_err(EngineError::Storage)? {
            if failed_rounds < MAX_RETRY_ROUNDS {
                self.enqueue(document, Reasons { retry: true, ..Reasons::default() });
            } else if let Some(queued) = self.queued.get_mut(&document) {
                // Given up on, but the feed names it again: its record goes once
                // it is in sync.
                queued.retry = true;
            } else {
                self.stats.documents_given_up += 1;
            }
        }
        self.enqueue_outbox(storage)?;
        // An unchanged cursor is not written again.
        let stored = storage.cursor().map_err(EngineError::Storage)?;
        self.round_cursor = (next_cursor != stored).then_some(next_cursor);
        let mut record = SyncRecord::default();
        let messages = self.fill_window(storage, &mut record)?;
        self.close_round_if_done(&mut record);
        storage.record(&record).map_err(EngineError::Storage)?;
        Ok(messages)
    }

    /// Queues documents changed on this device since the last look (a watch
    /// polls this); returns how many were new to the engine and the messages to
    /// send.
    pub fn poll_outbox<S: ReplicaStorage>(
        &mut self,
        storage: &mut S,
    ) -> Result<(usize, Vec<Message>), S> {
        let added = self.enqueue_outbox(storage)?;
        let mut record = SyncRecord::default();
        let messages = self.fill_window(storage, &mut record)?;
        storage.record(&record).map_err(EngineError::Storage)?;
        Ok((added, messages))
    }

    /// Handles what the relay sent (a batch of frames, decoded); returns the
    /// replies and the next documents' first messages.
    pub fn receive<S: ReplicaStorage>(
        &mut self,
        storage: &mut S,
        messages: Vec<Message>,
    ) -> Result<Vec<Message>, S> {
        let mut syncs: Vec<(DocumentId, sync::Message)> = Vec::new();
        let mut record = SyncRecord::default();
        for message in messages {
            match message {
                Message::Sync { document_id, data, .. }
                | Message::Request { document_id, data, .. } => {
                    let Ok(document) = document_id.parse::<DocumentId>() else { continue };
                    match sync::Message::decode(&data) {
                        Ok(decoded) => syncs.push((document, decoded)),
                        // Waiting for another message would leave it in flight
                        // until the idle timeout.
                        Err(error) => self.fail(document, &error.to_string(), &mut record),
                    }
                }
                Message::DocUnavailable { document_id, .. } => {
                    let Ok(document) = document_id.parse::<DocumentId>() else { continue };
                    let requested =
                        self.in_flight.get(&document).is_some_and(|entry| entry.requested);
                    if requested {
                        // Neither side has it: nothing to sync.
                        self.finish(document, None, &mut record);
                    } else {
                        // We sent it our document: the relay must not say it has
                        // none, and our changes are not acknowledged.
                        self.fail(document, "the relay said it has no such document", &mut record);
                    }
                }
                Message::Error { message } => return Err(EngineError::Refused(message)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        // A document appears at most once per transaction; later messages for it
        // go into the next pass, in order.
        while !syncs.is_empty() {
            let mut seen = HashSet::new();
            let (now, later): (Vec<_>, Vec<_>) =
                syncs.into_iter().partition(|(document, _)| seen.insert(*document));
            syncs = later;
            out.extend(self.apply(storage, now, std::mem::take(&mut record))?);
        }
        out.extend(self.fill_window(storage, &mut record)?);
        self.close_round_if_done(&mut record);
        storage.record(&record).map_err(EngineError::Storage)?;
        Ok(out)
    }

    /// Applies one message per document in one storage transaction, with the
    /// bookkeeping `pending` (earlier finishes of this call) and this batch's.
    fn apply<S: ReplicaStorage>(
        &mut self,
        storage: &mut S,
        batch: Vec<(DocumentId, sync::Message)>,
        pending: SyncRecord,
    ) -> Result<Vec<Message>, S> {
        // Documents the relay announced on its own get a state too.
        for (document, _) in &batch {
            if !self.in_flight.contains_key(document) {
                let state = load_state(storage, *document)?;
                let queued = self.take_queued(*document);
                let started_here = queued.is_some();
                let reasons = queued.unwrap_or_default();
                let entry = InFlight::new(state, reasons, started_here, false);
                self.in_flight.insert(*document, entry);
            }
        }
        let documents: Vec<DocumentId> = batch.iter().map(|(document, _)| *document).collect();
        let mut receiving = Receiving {
            engine: self,
            incoming: batch.into_iter().collect(),
            handled: HashMap::new(),
            documents: &documents,
            pending: Some(pending),
        };
        let outcomes = storage.receive(&documents, &mut receiving).map_err(EngineError::Storage)?;
        let mut handled = std::mem::take(&mut receiving.handled);
        let mut out = Vec::new();
        for (document, outcome) in documents.iter().zip(&outcomes) {
            let Some(handled) = handled.remove(document) else { continue };
            if outcome.is_err() {
                continue;
            }
            if handled.changed {
                self.stats.documents_received += 1;
            }
            if let Some(reply) = handled.reply {
                out.push(self.sync_message(*document, reply, true));
            }
        }
        Ok(out)
    }

    /// Starts documents from the queue until the window is full; documents that
    /// need nothing are finished into `record`.
    fn fill_window<S: ReplicaStorage>(
        &mut self,
        storage: &mut S,
        record: &mut SyncRecord,
    ) -> Result<Vec<Message>, S> {
        let mut out = Vec::new();
        while self.in_flight.len() < MAX_DOCUMENTS_IN_FLIGHT {
            let Some(document) = self.queue.pop_front() else { break };
            let reasons = self.queued.remove(&document).unwrap_or_default();
            let mut state = load_state(storage, document)?;
            if reasons.retry {
                // It failed before, perhaps on this very connection: the relay
                // is to send everything again rather than trust what it sent.
                state.needs_reset = true;
            }
            let (has_document, first) =
                storage.first_message(document, &mut state).map_err(EngineError::Storage)?;
            let entry = InFlight::new(state, reasons, true, !has_document);
            self.in_flight.insert(document, entry);
            match first {
                Some(message) => out.push(self.sync_message(document, message, has_document)),
                None => {
                    let state = self.in_flight.get(&document).map(|entry| entry.state.encode());
                    self.finish(document, state, record);
                }
            }
        }
        Ok(out)
    }

    fn sync_message(
        &mut self,
        document: DocumentId,
        message: sync::Message,
        have_document: bool,
    ) -> Message {
        if !message.changes.is_empty() {
            self.stats.documents_sent += 1;
        }
        let data = message.encode();
        if have_document {
            Message::sync(&self.peer_id, &self.relay_peer_id, document, data)
        } else {
            Message::request(&self.peer_id, &self.relay_peer_id, document, data)
        }
    }

    fn enqueue_outbox<S: ReplicaStorage>(&mut self, storage: &mut S) -> Result<usize, S> {
        let mut added = 0;
        for (document, seq) in storage.outbox().map_err(EngineError::Storage)? {
            let reasons = Reasons { outbox_seq: Some(seq), ..Reasons::default() };
            if let Some(entry) = self.in_flight.get_mut(&document) {
                entry.reasons.merge(reasons);
                continue;
            }
            if !self.queued.contains_key(&document) {
                added += 1;
            }
            self.enqueue(document, reasons);
        }
        Ok(added)
    }

    fn enqueue(&mut self, document: DocumentId, reasons: Reasons) {
        match self.queued.get_mut(&document) {
            Some(known) => known.merge(reasons),
            None => {
                self.queued.insert(document, reasons);
                self.queue.push_back(document);
            }
        }
    }

    /// Takes a document out of the queue (the relay spoke first); its reasons
    /// if it was queued.
    fn take_queued(&mut self, document: DocumentId) -> Option<Reasons> {
        let reasons = self.queued.remove(&document)?;
        if let Some(position) = self.queue.iter().position(|queued| *queued == document) {
            self.queue.remove(position);
        }
        Some(reasons)
    }

    /// Marks a document done: its state (when given) is saved, its outbox entry
    /// cleared and its retry record removed, all in `record`.
    fn finish(&mut self, document: DocumentId, state: Option<Vec<u8>>, record: &mut SyncRecord) {
        let Some(entry) = self.in_flight.remove(&document) else { return };
        self.stats.documents_synced += 1;
        if let Some(state) = state {
            record.states.push((document, state));
        }
        if let Some(seq) = entry.reasons.outbox_seq {
            record.pushed.push((document, seq));
        }
        if entry.reasons.retry {
            record.retried.push(document);
        }
    }

    /// A document whose message could not be applied: dropped from this round
    /// and put up for retry, so the feed cursor can move on without it.
    fn fail(&mut self, document: DocumentId, error: &str, record: &mut SyncRecord) {
        tracing::warn!(%document, %error, "could not apply a sync message; retried next round");
        self.stats.documents_failed += 1;
        if self.in_flight.remove(&document).is_some() {
            // Counts one more failed round (see MAX_RETRY_ROUNDS).
            record.retry.push(document);
        }
    }

    fn close_round_if_done(&mut self, record: &mut SyncRecord) {
        if self.is_idle()
            && let Some(cursor) = self.round_cursor.take()
        {
            record.cursor = Some(cursor);
        }
    }
}

/// One `receive` transaction's view of the engine.
struct Receiving<'a> {
    engine: &'a mut ReplicaEngine,
    incoming: HashMap<DocumentId, sync::Message>,
    handled: HashMap<DocumentId, Handled>,
    documents: &'a [DocumentId],
    /// Bookkeeping from before this batch, written with it.
    pending: Option<SyncRecord>,
}

impl SyncBatch for Receiving<'_> {
    fn apply(
        &mut self,
        document: DocumentId,
        doc: &mut AutoCommit,
    ) -> std::result::Result<(), automerge::AutomergeError> {
        let (Some(entry), Some(message)) =
            (self.engine.in_flight.get_mut(&document), self.incoming.remove(&document))
        else {
            return Ok(());
        };
        let before = doc.get_heads();
        let their_before = entry.state.their_heads.clone();
        doc.sync().receive_sync_message(&mut entry.state, message)?;
        let ours = doc.get_heads();
        let ours_moved = ours != before;
        entry.exchanges = if ours_moved { 0 } else { entry.exchanges + 1 };
        // Neither side moved, and we are not in sync: one of us lacks what the
        // other believes it sent.
        let nothing_new = !ours_moved
            && entry.state.their_heads.is_some()
            && entry.state.their_heads == their_before
            && !same_heads(&ours, entry.state.their_heads.as_deref());
        entry.stalled = if nothing_new { entry.stalled + 1 } else { 0 };
        if entry.stalled >= STALLED_REPLIES {
            // Automerge sends a change only once per connection: ask the relay
            // to forget what it sent (`needs_reset`), and forget what we sent.
            tracing::debug!(%document, "sync stalled; both sides send again");
            entry.state.needs_reset = true;
            entry.state.sent_hashes.clear();
            entry.stalled = 0;
        }
        self.handled.insert(document, handled(doc, &mut entry.state, &before));
        Ok(())
    }

    fn record(&mut self, outcomes: &[Outcome]) -> SyncRecord {
        let mut record = self.pending.take().unwrap_or_default();
        for (document, outcome) in self.documents.iter().zip(outcomes) {
            match outcome {
                Err(error) => self.engine.fail(*document, error, &mut record),
                Ok(()) => {
                    let in_sync = self.handled.get(document).is_some_and(|handled| handled.in_sync);
                    let exhausted = self
                        .engine
                        .in_flight
                        .get(document)
                        .is_some_and(|entry| entry.exchanges >= MAX_EXCHANGES);
                    if !in_sync && exhausted {
                        // Its reply is not sent (see `ReplicaEngine::apply`).
                        self.handled.remove(document);
                        let reason =
                            format!("no progress with the relay after {MAX_EXCHANGES} messages");
                        self.engine.fail(*document, &reason, &mut record);
                    } else if in_sync {
                        let state =
                            self.engine.in_flight.get(document).map(|entry| entry.state.encode());
                        self.engine.finish(*document, state, &mut record);
                    }
                }
            }
        }
        // The round's last document: the cursor commits with it.
        if self.engine.queue.is_empty() {
            self.engine.close_round_if_done(&mut record);
        }
        record
    }
}

fn load_state<S: ReplicaStorage>(storage: &S, document: DocumentId) -> Result<sync::State, S> {
    Ok(storage
        .sync_state(document)
        .map_err(EngineError::Storage)?
        .and_then(|bytes| sync::State::decode(&bytes).ok())
        .unwrap_or_default())
}

/// After receiving: the reply to send, and whether the document is in sync (the
/// relay last told us heads equal to ours).
fn handled(doc: &mut AutoCommit, state: &mut sync::State, before: &[ChangeHash]) -> Handled {
    let heads = doc.get_heads();
    let changed = heads != before;
    let reply = doc.sync().generate_sync_message(state);
    let in_sync = same_heads(&heads, state.their_heads.as_deref());
    Handled { changed, reply, in_sync }
}

/// Whether the relay's last heads are ours, in any order.
fn same_heads(ours: &[ChangeHash], theirs: Option<&[ChangeHash]>) -> bool {
    theirs.is_some_and(|theirs| {
        let (mut ours, mut theirs) = (ours.to_vec(), theirs.to_vec());
        ours.sort_unstable();
        theirs.sort_unstable();
        ours == theirs
    })
}
