//! The hub: one thread that owns the relay's documents and every connection's
//! sync state.
//!
//! A single owner means no document is ever changed by two threads at once and
//! no locks are needed; the hub's work per message is small (an Automerge
//! receive and generate, sub-millisecond for a client document), and batching
//! many messages into one transaction amortises the fsync.

use std::collections::{HashMap, HashSet, VecDeque};
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::{AutoCommit, ChangeHash};
use lru::LruCache;
use rusqlite::{Connection, TransactionBehavior};
use sync_engine::{Peer, RelayEffect, RelayEngine, RelayStats, RelayStorage};
use sync_protocol::{DocumentId, Message};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::RELAY_PEER_ID;
use crate::admission::Admission;
use crate::error::{RelayError, Result};
use crate::metrics::Metrics;
use crate::store::{RelayStore, document_key, log_change};
use crate::tokens::Grant;

pub use sync_engine::relay::{ConnId, MAX_EPHEMERAL_BYTES, SYNC_STATE_BYTES, SYNC_STATES, close};

/// Commands handled in one transaction at most. Bounds the latency a message can
/// wait behind others while still amortising one fsync over many changes.
pub const MAX_BATCH: usize = 256;

/// Documents the hub keeps loaded. A client document holds ~20–35 KB in memory
/// (see the Automerge notes), so 2,048 cost about 70 MB however many documents
/// the relay stores; others are loaded from SQLite on demand.
pub const DOCUMENT_CACHE: usize = 2_048;

/// Messages queued for one connection before it counts as too slow. A peer that
/// cannot keep up is disconnected and resyncs when it returns, instead of the
/// relay buffering without bound or silently dropping messages.
pub const SEND_QUEUE: usize = 1_024;

/// Bytes queued for one connection before it counts as too slow. A frame larger
/// than this is still sent when the queue is empty (a large document's reply).
pub const SEND_QUEUE_BYTES: usize = 32 * 1024 * 1024;

/// A batch running longer than this means the hub is stuck: `/health` says so.
pub const STALLED_AFTER: Duration = Duration::from_secs(10);

/// Commands waiting for the hub; connection tasks wait (backpressure) beyond it.
pub const COMMAND_QUEUE: usize = 4_096;

/// What the hub sends to a connection task.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A binary websocket frame.
    Frame(Vec<u8>),
    /// Close the websocket with this code and reason.
    Close {
        /// The close code.
        code: u16,
        /// Why.
        reason: String,
    },
}

/// A connection as it registers with the hub.
#[derive(Debug)]
pub struct ConnectionGrant {
    /// What its token allows.
    pub grant: Grant,
    /// Its bounded send queue.
    pub outbox: mpsc::Sender<Outgoing>,
    /// Fired when the hub wants the connection closed at once (its queue is full,
    /// its token was revoked, another connection replaced it).
    pub kick: oneshot::Sender<(u16, String)>,
    /// Bytes in the send queue: the hub adds each frame's size, the connection
    /// task subtracts it once the frame is written.
    pub queued_bytes: Arc<AtomicUsize>,
}

/// What connection tasks and the server ask of the hub.
#[derive(Debug)]
pub enum HubCommand {
    /// A connection finished its handshake.
    Connect {
        /// Its id.
        conn: ConnId,
        /// What it may do and how to reach it.
        connection: ConnectionGrant,
    },
    /// A decoded message from a connection.
    Message {
        /// From whom.
        conn: ConnId,
        /// What.
        message: Message,
        /// Its place in the connection's budget, given back once it is handled.
        admission: Option<Admission>,
    },
    /// A connection ended.
    Disconnect {
        /// Which.
        conn: ConnId,
    },
    /// Close connections whose token was revoked (sent periodically).
    Sweep,
    /// Commit, close every connection and stop.
    Shutdown {
        /// Answered when the hub has stopped.
        done: oneshot::Sender<()>,
    },
}

/// A cloneable handle for sending commands to the hub.
#[derive(Debug, Clone)]
pub struct HubHandle {
    commands: mpsc::Sender<HubCommand>,
    next_conn: Arc<AtomicU64>,
    /// When the batch being handled started (`None` between batches).
    batch_started: Arc<Mutex<Option<Instant>>>,
}

impl HubHandle {
    /// Sends a command, waiting while the hub's queue is full.
    pub async fn send(&self, command: HubCommand) -> Result<()> {
        self.commands.send(command).await.map_err(|_| RelayError::Stopped)
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Whether the hub is processing: `Err` says why not (its thread ended, or
    /// one batch has run longer than [`STALLED_AFTER`]).
    pub fn health(&self) -> std::result::Result<(), &'static str> {
        if self.commands.is_closed() {
            return Err("the relay hub has stopped");
        }
        let started = *self.batch_started.lock().map_err(|_| "the relay hub has stopped")?;
        match started {
            Some(started) if started.elapsed() > STALLED_AFTER => {
                Err("the relay hub is stalled on one batch")
            }
            _ => Ok(()),
        }
    }

    /// Asks the hub to stop and waits until it has.
    pub async fn shutdown(&self) {
        let (done, stopped) = oneshot::channel();
        if self.commands.send(HubCommand::Shutdown { done }).await.is_ok() {
            let _ = stopped.await;
        }
    }
}

/// The hub. Create it with [`Hub::spawn`].
#[derive(Debug)]
pub struct Hub {
    db: Connection,
    state: HubState,
    batch_started: Arc<Mutex<Option<Instant>>>,
}

/// What the hub needs to reach a connection; who it is and its sync states are
/// the engine's.
struct Conn {
    grant: Grant,
    outbox: mpsc::Sender<Outgoing>,
    kick: Option<oneshot::Sender<(u16, String)>>,
    queued_bytes: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("peer_id", &self.grant.peer_id).finish()
    }
}

struct HubState {
    docs: LruCache<[u8; 32], AutoCommit>,
    conns: HashMap<ConnId, Conn>,
    engine: RelayEngine,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for HubState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubState")
            .field("documents", &self.docs.len())
            .field("conns", &self.conns)
            .field("engine", &self.engine)
            .finish()
    }
}

/// What handling a batch produced, delivered after the commit.
#[derive(Default)]
struct Effects {
    frames: Vec<(ConnId, Outgoing)>,
    kicks: Vec<(ConnId, u16, String)>,
    /// Documents written in this batch (evicted if the commit fails).
    written: HashSet<[u8; 32]>,
}

impl Effects {
    fn send(&mut self, conn: ConnId, message: &Message) {
        self.frames.push((conn, Outgoing::Frame(message.encode())));
    }

    /// Tells the peer why with an `error` message, then closes.
    fn refuse(&mut self, conn: ConnId, code: u16, reason: &str) {
        self.send(conn, &Message::Error { message: reason.to_owned() });
        self.frames.push((conn, Outgoing::Close { code, reason: reason.to_owned() }));
    }

    fn add(&mut self, effects: Vec<RelayEffect>) {
        for effect in effects {
            match effect {
                RelayEffect::Send { conn, message } => self.send(conn, &message),
                RelayEffect::Close { conn, code, reason } => {
                    self.frames.push((conn, Outgoing::Close { code, reason }));
                }
                RelayEffect::Cut { conn, code, reason } => self.kicks.push((conn, code, reason)),
            }
        }
    }
}

/// The relay engine's storage inside one batch: the batch's transaction (or a
/// command's savepoint of it) and the hub's document cache.
struct HubStorage<'a> {
    tx: &'a Connection,
    docs: &'a mut LruCache<[u8; 32], AutoCommit>,
    written: &'a mut HashSet<[u8; 32]>,
}

impl RelayStorage for HubStorage<'_> {
    type Error = RelayError;

    fn take(&mut self, workspace: Uuid, document: DocumentId) -> Result<Option<AutoCommit>> {
        let key = document_key(workspace, document);
        match self.docs.pop(&key) {
            Some(doc) => Ok(Some(doc)),
            None => Ok(doc_store::load(self.tx, &key)?.map(|stored| stored.doc)),
        }
    }

    fn save(
        &mut self,
        workspace: Uuid,
        document: DocumentId,
        doc: &mut AutoCommit,
        previous: &[ChangeHash],
    ) -> Result<()> {
        let key = document_key(workspace, document);
        let previous = (!previous.is_empty()).then_some(previous);
        let kind = doc_model_kind(doc);
        doc_store::write(self.tx, &key, &kind, doc, previous)?;
        log_change(self.tx, workspace, document, &doc.get_heads())?;
        self.written.insert(key);
        Ok(())
    }

    fn keep(&mut self, workspace: Uuid, document: DocumentId, doc: AutoCommit) {
        self.docs.put(document_key(workspace, document), doc);
    }
}

impl Hub {
    /// Starts the hub on its own thread.
    ///
    /// `max_database_bytes` caps the relay's database (SQLite's `max_page_count`):
    /// past it a batch fails as on a full disk, and its senders are told so.
    pub fn spawn(
        store: &RelayStore,
        metrics: Arc<Metrics>,
        max_database_bytes: Option<u64>,
    ) -> Result<(HubHandle, std::thread::JoinHandle<()>)> {
        let hub = Self::new(store, metrics, max_database_bytes)?;
        let batch_started = hub.batch_started.clone();
        let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
        let thread = std::thread::Builder::new()
            .name("relay-hub".to_owned())
            .spawn(move || hub.run(receiver))
            .map_err(|source| RelayError::Io { path: "relay-hub thread".into(), source })?;
        Ok((HubHandle { commands, next_conn: Arc::new(AtomicU64::new(1)), batch_started }, thread))
    }

    fn new(
        store: &RelayStore,
        metrics: Arc<Metrics>,
        max_database_bytes: Option<u64>,
    ) -> Result<Self> {
        let db = store.connect()?;
        if let Some(bytes) = max_database_bytes {
            let page_size: i64 = db.pragma_query_value(None, "page_size", |row| row.get(0))?;
            let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
            let pages = (bytes / page_size.max(1)).max(1);
            db.pragma_update(None, "max_page_count", pages)?;
        }
        let capacity = NonZeroUsize::new(DOCUMENT_CACHE).unwrap_or(NonZeroUsize::MIN);
        Ok(Self {
            db,
            state: HubState {
                docs: LruCache::new(capacity),
                conns: HashMap::new(),
                engine: RelayEngine::new(RELAY_PEER_ID),
                metrics,
            },
            batch_started: Arc::new(Mutex::new(None)),
        })
    }

    /// Handles one batch in one transaction and delivers its effects once it
    /// is committed; returns where to answer if the batch asked the hub to stop.
    fn run_batch(&mut self, batch: Vec<HubCommand>) -> Option<oneshot::Sender<()>> {
        let mut shutdown = None;
        let mut effects = Effects::default();
        // Connections whose messages were in this batch: if it fails, their
        // sync states are ahead of the disk (or their message was never
        // handled), so they are closed to resync.
        let mut senders = HashSet::new();
        let Self { db, state, .. } = self;
        // Until something fails, every command runs in one transaction. After
        // a failure (or when no transaction could be begun), connections still
        // come and go (they touch no storage); messages wait for their peers
        // to resend them.
        let (mut tx, mut failed) =
            match db.transaction_with_behavior(TransactionBehavior::Immediate) {
                Ok(tx) => (Some(tx), None),
                Err(error) => (None, Some(RelayError::from(error))),
            };
        for command in batch {
            if let HubCommand::Message { conn, .. } = &command {
                senders.insert(*conn);
            }
            match (command, tx.as_mut()) {
                (HubCommand::Shutdown { done }, _) => shutdown = Some(done),
                (command @ (HubCommand::Connect { .. } | HubCommand::Disconnect { .. }), _)
                    if failed.is_some() =>
                {
                    if let Some(produced) = state.handle_connection(command) {
                        effects.add(produced);
                    }
                }
                (command, Some(tx)) if failed.is_none() => {
                    if let Err(error) = state.handle_isolated(tx, command, &mut effects) {
                        failed = Some(error);
                    }
                }
                _ => {}
            }
        }
        let outcome = match (failed, tx) {
            (Some(error), _) => Err(error),
            (None, Some(tx)) => tx.commit().map_err(RelayError::from),
            (None, None) => Ok(()),
        };
        if let Err(error) = outcome {
            // Nothing of this batch is durable: forget the documents it touched
            // (they are ahead of the disk) and close the connections that sent
            // it, so their peers resync; nothing was acknowledged.
            tracing::error!(%error, "relay could not store a batch");
            let reason = if error.is_storage_full() {
                "the relay's storage is full: nothing of this was stored; sync again once the relay has space"
            } else {
                "the relay could not store this; nothing of it was stored; reconnect later"
            };
            for key in &effects.written {
                self.state.docs.pop(key);
            }
            senders.extend(effects.frames.iter().map(|(conn, _)| *conn));
            // Closes acknowledge nothing and still happen (a replaced
            // connection the engine has already forgotten); replies do not.
            let kicks = std::mem::take(&mut effects.kicks);
            effects = Effects { kicks, ..Effects::default() };
            for conn in senders {
                effects.kicks.push((conn, close::INTERNAL, reason.to_owned()));
            }
        }
        self.state.deliver(effects);
        shutdown
    }

    fn set_batch_started(&self, started: Option<Instant>) {
        if let Ok(mut slot) = self.batch_started.lock() {
            *slot = started;
        }
    }

    fn run(mut self, mut receiver: mpsc::Receiver<HubCommand>) {
        let mut lanes = Lanes::default();
        loop {
            if lanes.is_empty() {
                match receiver.blocking_recv() {
                    Some(command) => lanes.push(command),
                    None => break,
                }
            }
            // Everything already waiting joins its connection's lane (what it can
            // hold is bounded by the connections' budgets and the channel).
            for _ in 0..COMMAND_QUEUE {
                match receiver.try_recv() {
                    Ok(command) => lanes.push(command),
                    Err(_) => break,
                }
            }
            let batch = lanes.take_batch(MAX_BATCH);
            self.set_batch_started(Some(Instant::now()));
            let shutdown = self.run_batch(batch);
            self.set_batch_started(None);
            self.state
                .metrics
                .documents_loaded
                .store(self.state.docs.len() as u64, Ordering::Relaxed);
            let states = self.state.engine.sync_states();
            self.state.metrics.sync_states.store(states as u64, Ordering::Relaxed);
            if let Some(done) = shutdown {
                self.state.close_all();
                let _ = done.send(());
                break;
            }
        }
        tracing::info!("relay hub stopped");
    }
}

/// Commands waiting for the hub: one lane per connection, connections grouped
/// by workspace, taken in turn at both levels.
///
/// A batch takes one command from each workspace that has any, round after
/// round, and within a workspace one from each of its connections in turn. A
/// connection that sent a thousand messages gets no more of a batch than one
/// that sent a single message, and a workspace with two hundred busy devices
/// gets no more than one with a single device: the honest peer's message is
/// handled in the next batch, not after the flood. A connection's own commands
/// keep their order (its `Connect` before its messages, its `Disconnect` last).
#[derive(Default)]
struct Lanes {
    lanes: HashMap<ConnId, VecDeque<HubCommand>>,
    /// Per group (a workspace, or the relay's own lane): its connections with
    /// waiting commands, in turn order.
    groups: HashMap<LaneGroup, VecDeque<ConnId>>,
    /// Groups with waiting commands, in turn order.
    turns: VecDeque<LaneGroup>,
    /// Each known connection's workspace, learnt from its `Connect` and
    /// forgotten once its `Disconnect` is taken.
    workspace_of: HashMap<ConnId, Uuid>,
}

/// What a lane is grouped by when turns are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LaneGroup {
    Workspace(Uuid),
    /// Commands of a connection whose `Connect` the lanes did not see (none
    /// should exist; they still get a turn of their own), and the relay's own.
    Alone(ConnId),
}

/// The lane of commands that belong to no connection (sweeps, shutdown).
const RELAY_LANE: ConnId = 0;

impl Lanes {
    fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    fn push(&mut self, command: HubCommand) {
        let lane = match &command {
            HubCommand::Connect { conn, connection } => {
                self.workspace_of.insert(*conn, connection.grant.workspace);
                *conn
            }
            HubCommand::Message { conn, .. } | HubCommand::Disconnect { conn } => *conn,
            HubCommand::Sweep | HubCommand::Shutdown { .. } => RELAY_LANE,
        };
        let group = self.group_of(lane);
        let queue = self.lanes.entry(lane).or_default();
        queue.push_back(command);
        if queue.len() > 1 {
            return;
        }
        let members = self.groups.entry(group).or_default();
        members.push_back(lane);
        if members.len() == 1 {
            self.turns.push_back(group);
        }
    }

    fn group_of(&self, lane: ConnId) -> LaneGroup {
        match self.workspace_of.get(&lane) {
            Some(workspace) => LaneGroup::Workspace(*workspace),
            None => LaneGroup::Alone(lane),
        }
    }

    fn take_batch(&mut self, size: usize) -> Vec<HubCommand> {
        let mut batch = Vec::with_capacity(size.min(64));
        while batch.len() < size {
            let Some(group) = self.turns.pop_front() else { break };
            let Some(members) = self.groups.get_mut(&group) else { continue };
            let Some(lane) = members.pop_front() else {
                self.groups.remove(&group);
                continue;
            };
            let mut lane_done = true;
            if let Some(queue) = self.lanes.get_mut(&lane) {
                if let Some(command) = queue.pop_front() {
                    if matches!(command, HubCommand::Disconnect { .. }) {
                        self.workspace_of.remove(&lane);
                    }
                    batch.push(command);
                }
                lane_done = queue.is_empty();
            }
            if lane_done {
                self.lanes.remove(&lane);
            } else {
                members.push_back(lane);
            }
            if members.is_empty() {
                self.groups.remove(&group);
            } else {
                self.turns.push_back(group);
            }
        }
        batch
    }
}

impl HubState {
    /// Handles one command inside a savepoint of the batch's transaction. A panic
    /// (Automerge on hostile input, or a bug here) rolls back what this command
    /// wrote, drops the replies it would have queued, closes the connection that
    /// sent it and leaves every other command of the batch, and the hub, running.
    fn handle_isolated(
        &mut self,
        tx: &mut rusqlite::Transaction<'_>,
        command: HubCommand,
        effects: &mut Effects,
    ) -> Result<()> {
        let sender = match &command {
            HubCommand::Message { conn, .. } => Some(*conn),
            _ => None,
        };
        let savepoint = tx.savepoint()?;
        let mut written = HashSet::new();
        let handled = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.handle(&savepoint, command, &mut written)
        }));
        let stats = self.engine.take_stats();
        self.count(stats);
        effects.written.extend(written);
        match handled {
            Ok(Ok(produced)) => {
                savepoint.commit()?;
                effects.add(produced);
                Ok(())
            }
            Ok(Err(error)) => Err(error),
            Err(_) => {
                // Dropping the savepoint rolls back what the command wrote.
                drop(savepoint);
                Metrics::add(&self.metrics.panics, 1);
                tracing::error!(?sender, "handling a message panicked; closing its connection");
                // The document the command worked on was taken out of the cache
                // and is only put back when the command succeeds, so nothing it
                // half did stays cached.
                if let Some(conn) = sender {
                    effects.refuse(
                        conn,
                        close::INTERNAL,
                        "the relay could not process this message",
                    );
                }
                Ok(())
            }
        }
    }

    fn count(&self, stats: RelayStats) {
        Metrics::add(&self.metrics.refusals, stats.refusals);
        Metrics::add(&self.metrics.panics, stats.panics);
        Metrics::add(&self.metrics.changes_stored, stats.changes_stored);
    }

    /// A connection that comes or goes (no storage involved); `None` for any
    /// other command.
    fn handle_connection(&mut self, command: HubCommand) -> Option<Vec<RelayEffect>> {
        match command {
            HubCommand::Connect { conn, connection } => {
                let ConnectionGrant { grant, outbox, kick, queued_bytes } = connection;
                let peer = Peer {
                    workspace: grant.workspace,
                    peer_id: grant.peer_id.clone(),
                    read_only: grant.read_only,
                };
                self.conns.insert(conn, Conn { grant, outbox, kick: Some(kick), queued_bytes });
                Some(self.engine.connect(conn, peer))
            }
            HubCommand::Disconnect { conn } => {
                self.conns.remove(&conn);
                self.engine.disconnect(conn);
                Some(Vec::new())
            }
            _ => None,
        }
    }

    /// One command; the effects to deliver once the batch is committed.
    fn handle(
        &mut self,
        tx: &Connection,
        command: HubCommand,
        written: &mut HashSet<[u8; 32]>,
    ) -> Result<Vec<RelayEffect>> {
        match command {
            command @ (HubCommand::Connect { .. } | HubCommand::Disconnect { .. }) => {
                Ok(self.handle_connection(command).unwrap_or_default())
            }
            HubCommand::Message { conn, message, admission } => {
                let mut storage = HubStorage { tx, docs: &mut self.docs, written };
                let produced = self.engine.receive(&mut storage, conn, message)?;
                // The connection may send its next message.
                drop(admission);
                Ok(produced)
            }
            HubCommand::Sweep => {
                let mut produced = Vec::new();
                for (conn, entry) in &self.conns {
                    if !crate::tokens::is_active(tx, &entry.grant.token_id)? {
                        produced.push(RelayEffect::Cut {
                            conn: *conn,
                            code: close::POLICY,
                            reason: "token revoked".to_owned(),
                        });
                    }
                }
                Ok(produced)
            }
            HubCommand::Shutdown { .. } => Ok(Vec::new()),
        }
    }

    /// Queues frames and closes after the commit.
    fn deliver(&mut self, effects: Effects) {
        let mut slow: Vec<ConnId> = Vec::new();
        let mut gone: Vec<ConnId> = Vec::new();
        for (conn, outgoing) in effects.frames {
            let Some(entry) = self.conns.get(&conn) else { continue };
            if slow.contains(&conn) || gone.contains(&conn) {
                continue;
            }
            let size = match &outgoing {
                Outgoing::Frame(bytes) => bytes.len(),
                Outgoing::Close { .. } => 0,
            };
            let queued = entry.queued_bytes.load(Ordering::Acquire);
            if queued > 0 && queued + size > SEND_QUEUE_BYTES {
                slow.push(conn);
                continue;
            }
            entry.queued_bytes.fetch_add(size, Ordering::AcqRel);
            match entry.outbox.try_send(outgoing) {
                Ok(()) => Metrics::add(&self.metrics.messages_out, 1),
                Err(refused) => {
                    entry.queued_bytes.fetch_sub(size, Ordering::AcqRel);
                    match refused {
                        mpsc::error::TrySendError::Full(_) => slow.push(conn),
                        // The connection ended; its Disconnect is on its way.
                        mpsc::error::TrySendError::Closed(_) => gone.push(conn),
                    }
                }
            }
        }
        for conn in gone {
            self.conns.remove(&conn);
            self.engine.disconnect(conn);
        }
        let mut kicks = effects.kicks;
        kicks.extend(
            slow.into_iter()
                .map(|conn| (conn, close::SLOW_PEER, "too slow: reconnect to resync".to_owned())),
        );
        for (conn, code, reason) in kicks {
            self.engine.disconnect(conn);
            if let Some(mut entry) = self.conns.remove(&conn) {
                tracing::info!(conn, peer = %entry.grant.peer_id, code, %reason, "closing connection");
                Metrics::add(&self.metrics.refusals, 1);
                if let Some(kick) = entry.kick.take() {
                    let _ = kick.send((code, reason));
                }
            }
        }
    }

    fn close_all(&mut self) {
        for (conn, mut entry) in self.conns.drain() {
            self.engine.disconnect(conn);
            if let Some(kick) = entry.kick.take() {
                let _ = kick.send((close::GOING_AWAY, "relay shutting down".to_owned()));
            }
        }
    }
}

/// The kind a document records at its root (`kind`), if it is a Kartoteka
/// document; the relay stores any automerge-repo document and only keeps the kind
/// for operators' queries.
fn doc_model_kind(doc: &AutoCommit) -> String {
    use automerge::ReadDoc;
    match doc.get(automerge::ROOT, "kind") {
        Ok(Some((automerge::Value::Scalar(value), _))) => {
            value.as_str().unwrap_or_default().to_owned()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(conn: ConnId) -> HubCommand {
        HubCommand::Message { conn, message: Message::Unknown, admission: None }
    }

    fn senders(batch: &[HubCommand]) -> Vec<ConnId> {
        batch
            .iter()
            .map(|command| match command {
                HubCommand::Message { conn, .. } | HubCommand::Disconnect { conn } => *conn,
                _ => RELAY_LANE,
            })
            .collect()
    }

    #[test]
    fn a_batch_takes_connections_in_turn_and_keeps_each_ones_order() {
        let mut lanes = Lanes::default();
        for _ in 0..1_000 {
            lanes.push(message(1));
        }
        lanes.push(message(2));
        lanes.push(HubCommand::Disconnect { conn: 2 });
        lanes.push(HubCommand::Sweep);
        let batch = lanes.take_batch(5);
        assert_eq!(senders(&batch), [1, 2, RELAY_LANE, 1, 2]);
        assert!(matches!(batch[4], HubCommand::Disconnect { conn: 2 }));
        let rest = lanes.take_batch(MAX_BATCH);
        assert_eq!(rest.len(), MAX_BATCH);
        assert!(senders(&rest).iter().all(|conn| *conn == 1));
    }

    fn connect(conn: ConnId, workspace: Uuid) -> HubCommand {
        connect_as(conn, workspace, &format!("device-{conn}")).0
    }

    #[test]
    fn a_workspace_with_many_busy_connections_gets_no_more_turns_than_one_with_one() {
        let crowded = Uuid::from_u128(1);
        let quiet = Uuid::from_u128(2);
        let mut lanes = Lanes::default();
        for conn in 1..=200 {
            lanes.push(connect(conn, crowded));
            for _ in 0..10 {
                lanes.push(message(conn));
            }
        }
        lanes.push(connect(1_000, quiet));
        lanes.push(message(1_000));
        lanes.push(HubCommand::Disconnect { conn: 1_000 });

        // The first batch takes the crowded workspace's first connect, then the
        // quiet one's, alternating: the quiet device's message and disconnect are
        // in the first six commands, not after 2,200 others.
        let batch = lanes.take_batch(6);
        let conns: Vec<ConnId> = batch
            .iter()
            .map(|command| match command {
                HubCommand::Connect { conn, .. } => *conn,
                other => senders(std::slice::from_ref(other))[0],
            })
            .collect();
        assert_eq!(conns, [1, 1_000, 2, 1_000, 3, 1_000]);
        assert!(matches!(batch[5], HubCommand::Disconnect { conn: 1_000 }));

        // Within the crowded workspace, its connections still take turns, and
        // each one's own commands keep their order.
        let rest = lanes.take_batch(usize::MAX);
        assert_eq!(rest.len(), 200 * 11 - 3);
        let mut seen_connect = HashSet::new();
        for command in &rest {
            match command {
                HubCommand::Connect { conn, .. } => assert!(seen_connect.insert(*conn)),
                HubCommand::Message { conn, .. } => {
                    assert!(*conn <= 3 || seen_connect.contains(conn), "{conn} before its connect")
                }
                _ => panic!("unexpected command"),
            }
        }
        assert!(lanes.is_empty());
        assert!(lanes.workspace_of.contains_key(&1), "no disconnect was taken for it");
        assert!(!lanes.workspace_of.contains_key(&1_000));
    }

    /// A connection as a test holds it: the receiving ends of its send queue
    /// and of its kick.
    struct TestConn {
        outbox: mpsc::Receiver<Outgoing>,
        kick: oneshot::Receiver<(u16, String)>,
    }

    fn connect_as(conn: ConnId, workspace: Uuid, device: &str) -> (HubCommand, TestConn) {
        let (outbox, outbox_rx) = mpsc::channel(SEND_QUEUE);
        let (kick, kick_rx) = oneshot::channel();
        let command = HubCommand::Connect {
            conn,
            connection: ConnectionGrant {
                grant: Grant {
                    token_id: format!("token-{device}"),
                    workspace,
                    peer_id: device.to_owned(),
                    read_only: false,
                },
                outbox,
                kick,
                queued_bytes: Arc::default(),
            },
        };
        (command, TestConn { outbox: outbox_rx, kick: kick_rx })
    }

    fn sync_from(conn: ConnId, device: &str, document: DocumentId, data: Vec<u8>) -> HubCommand {
        let message = Message::sync(device, RELAY_PEER_ID, document, data);
        HubCommand::Message { conn, message, admission: None }
    }

    #[test]
    fn a_batch_that_cannot_be_stored_still_closes_the_connection_it_replaced() {
        use automerge::sync::{self, SyncDoc};
        use automerge::transaction::Transactable;

        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path()).unwrap();
        let used = std::fs::metadata(dir.path().join(crate::DATABASE_FILE)).unwrap().len();
        // Room for what is there and a little more, not for a 2 MB document.
        let mut hub = Hub::new(&store, Arc::default(), Some(used + 256 * 1024)).unwrap();
        let workspace = Uuid::from_u128(7);
        let (first, mut laptop) = connect_as(1, workspace, "laptop");
        let (office_connect, mut office) = connect_as(2, workspace, "office");
        assert!(hub.run_batch(vec![first, office_connect]).is_none());

        // The office starts syncing a large document and the relay answers.
        let document = DocumentId::from_bytes([9; 16]);
        let mut doc = AutoCommit::new();
        // Text that does not compress (xorshift, fixed seed).
        let mut bits: u64 = 0x9e37_79b9_7f4a_7c15;
        let notes: String = (0..2 * 1024 * 1024)
            .map(|_| {
                bits ^= bits << 13;
                bits ^= bits >> 7;
                bits ^= bits << 17;
                char::from(b'a' + (bits % 26) as u8)
            })
            .collect();
        doc.put(automerge::ROOT, "notes", notes).unwrap();
        let mut state = sync::State::new();
        let opening = doc.sync().generate_sync_message(&mut state).unwrap();
        hub.run_batch(vec![sync_from(2, "office", document, opening.encode())]);
        let Ok(Outgoing::Frame(reply)) = office.outbox.try_recv() else { panic!("no reply") };
        let Message::Sync { data, .. } = Message::decode(&reply).unwrap() else { panic!() };
        doc.sync().receive_sync_message(&mut state, sync::Message::decode(&data).unwrap()).unwrap();
        let changes = doc.sync().generate_sync_message(&mut state).unwrap();
        assert!(!changes.changes.is_empty());

        // In one batch the laptop reconnects (replacing its old connection) and
        // the office sends changes the relay has no room for.
        let (again, _laptop_again) = connect_as(3, workspace, "laptop");
        hub.run_batch(vec![again, sync_from(2, "office", document, changes.encode())]);

        let (code, reason) = laptop.kick.try_recv().expect("the replaced connection was closed");
        assert_eq!(code, close::REPLACED, "{reason}");
        let (code, _) = office.kick.try_recv().expect("the office was told to resync");
        assert_eq!(code, close::INTERNAL);
        assert!(laptop.outbox.try_recv().is_err());
    }

    #[test]
    fn health_reports_a_stopped_hub() {
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path()).unwrap();
        let (handle, thread) = Hub::spawn(&store, Arc::default(), None).unwrap();
        assert_eq!(handle.health(), Ok(()));
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(handle.shutdown());
        thread.join().unwrap();
        assert_eq!(handle.health(), Err("the relay hub has stopped"));
    }
}
