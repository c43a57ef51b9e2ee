//! The relay's side of sync as a state machine: connections and their messages
//! in; replies, announcements and closes out, over a storage trait.
//!
//! The engine owns every connection's Automerge sync states and decides what
//! each message costs and produces; the shell (`relay-core`'s hub) owns the
//! transaction the storage writes go into, and delivers the effects only after
//! it committed, so nothing is acknowledged or relayed before it is durable.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;

use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, ChangeHash};
use lru::LruCache;
use sync_protocol::{DocumentId, Message};
use uuid::Uuid;

/// A connection's id, chosen by the shell.
pub type ConnId = u64;

/// Sync states one connection keeps (one per document it talked about, and one
/// per document of its workspace that changed while it was connected). The least
/// recently used is forgotten beyond this; the next message for that document
/// starts afresh, as after a reconnect, so nothing is lost.
pub const SYNC_STATES: usize = 4_096;

/// Estimated bytes of one connection's sync states (hashes and Bloom filters),
/// bounded like [`SYNC_STATES`].
pub const SYNC_STATE_BYTES: usize = 8 * 1024 * 1024;

/// Largest `ephemeral` payload relayed. Presence (a cursor, a name) is tens of
/// bytes; everything the relay relays is copied to each of the workspace's peers.
pub const MAX_EPHEMERAL_BYTES: usize = 64 * 1024;

/// Websocket close codes the relay uses.
pub mod close {
    /// The relay is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Malformed input.
    pub const INVALID_DATA: u16 = 1007;
    /// A policy was violated (wrong peer id, read-only token writing, revoked token).
    pub const POLICY: u16 = 1008;
    /// The relay failed internally; the peer should reconnect later.
    pub const INTERNAL: u16 = 1011;
    /// The peer did not read its messages fast enough.
    pub const SLOW_PEER: u16 = 4000;
    /// Another connection of the same device replaced this one.
    pub const REPLACED: u16 = 4001;
}

/// Who is on a connection, as its token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The only workspace the connection may touch.
    pub workspace: Uuid,
    /// The device's peer id; every message must name it as sender.
    pub peer_id: String,
    /// Whether the device may only read.
    pub read_only: bool,
}

/// What the shell does after the storage writes of a call are committed.
#[derive(Debug, Clone, PartialEq)]
pub enum RelayEffect {
    /// Queue a message to a connection.
    Send {
        /// To whom.
        conn: ConnId,
        /// What.
        message: Message,
    },
    /// Close a connection after what is queued before this (a refusal's
    /// `error` message is queued just before it).
    Close {
        /// Which.
        conn: ConnId,
        /// The websocket close code (see [`close`]).
        code: u16,
        /// Why, for the peer.
        reason: String,
    },
    /// Close a connection at once, dropping what is queued for it; the shell
    /// then tells the engine with [`RelayEngine::disconnect`] (a no-op when
    /// the engine made the cut, as for a replaced connection).
    Cut {
        /// Which.
        conn: ConnId,
        /// The websocket close code (see [`close`]).
        code: u16,
        /// Why, for the peer.
        reason: String,
    },
}

/// Counters since the last [`RelayEngine::take_stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Messages refused (malformed, over a limit, not allowed for the token).
    pub refusals: u64,
    /// Panics caught in Automerge on peer-supplied data.
    pub panics: u64,
    /// Document changes stored.
    pub changes_stored: u64,
}

/// The relay's documents, as the relay engine sees them. Writes go into the
/// shell's open transaction; the shell commits before delivering effects.
pub trait RelayStorage {
    /// What storage failures look like.
    type Error: std::error::Error + 'static;

    /// Takes the workspace's document out of storage's cache, or loads it;
    /// `None` if the workspace does not have it. Give it back with
    /// [`RelayStorage::keep`] once it is known good; a document not given back
    /// is loaded again next time (it may hold part of a rejected message).
    fn take(
        &mut self,
        workspace: Uuid,
        document: DocumentId,
    ) -> Result<Option<AutoCommit>, Self::Error>;

    /// Stores a changed document and logs it in the workspace's change feed.
    /// `previous` is its heads before the change (empty if it is new).
    fn save(
        &mut self,
        workspace: Uuid,
        document: DocumentId,
        doc: &mut AutoCommit,
        previous: &[ChangeHash],
    ) -> Result<(), Self::Error>;

    /// Gives a document taken with [`RelayStorage::take`] back to the cache.
    fn keep(&mut self, workspace: Uuid, document: DocumentId, doc: AutoCommit);
}

/// A connection's sync states, least recently used first out, bounded in number
/// and in estimated bytes.
struct SyncStates {
    states: LruCache<DocumentId, (sync::State, usize)>,
    bytes: usize,
}

impl SyncStates {
    fn new() -> Self {
        Self { states: LruCache::unbounded(), bytes: 0 }
    }

    /// Takes a document's state out (a fresh one if there is none); give it back
    /// with [`Self::put`].
    fn take(&mut self, document: DocumentId) -> sync::State {
        match self.states.pop(&document) {
            Some((state, bytes)) => {
                self.bytes -= bytes;
                state
            }
            None => sync::State::new(),
        }
    }

    fn put(&mut self, document: DocumentId, state: sync::State) {
        let bytes = estimated_bytes(&state);
        self.bytes += bytes;
        if let Some((_, replaced)) = self.states.put(document, (state, bytes)) {
            self.bytes -= replaced;
        }
        while self.states.len() > SYNC_STATES || self.bytes > SYNC_STATE_BYTES {
            match self.states.pop_lru() {
                Some((_, (_, bytes))) => self.bytes -= bytes,
                None => break,
            }
        }
    }

    fn remove(&mut self, document: DocumentId) {
        if let Some((_, bytes)) = self.states.pop(&document) {
            self.bytes -= bytes;
        }
    }
}

/// What a sync state holds, roughly: its hashes, the peer's Bloom filters, and a
/// fixed part for the struct and the cache entry.
fn estimated_bytes(state: &sync::State) -> usize {
    const HASH: usize = 32;
    let hashes = state.shared_heads.len()
        + state.last_sent_heads.len()
        + state.their_heads.as_ref().map_or(0, Vec::len)
        + state.their_need.as_ref().map_or(0, Vec::len)
        + state.sent_hashes.len();
    let filters: usize = state.their_have.as_ref().map_or(0, |haves| {
        haves.iter().map(|have| have.last_sync.len() * HASH + have.bloom.to_bytes().len()).sum()
    });
    256 + hashes * HASH + filters
}

struct Connection {
    peer: Peer,
    states: SyncStates,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("peer_id", &self.peer.peer_id)
            .field("documents", &self.states.states.len())
            .field("state_bytes", &self.states.bytes)
            .finish()
    }
}

/// Whether a sync message came as `request` (the sender may not have the
/// document) or `sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyncKind {
    Request,
    Sync,
}

/// The relay's side of sync for every connection of every workspace. It keeps
/// no clock and no randomness; the shell bounds how long anything takes.
#[derive(Debug)]
pub struct RelayEngine {
    relay_peer_id: String,
    connections: HashMap<ConnId, Connection>,
    stats: RelayStats,
}

/// The relay engine fails only when its storage does.
type StorageResult<T, S> = Result<T, <S as RelayStorage>::Error>;

impl RelayEngine {
    /// An engine answering as `relay_peer_id`.
    pub fn new(relay_peer_id: &str) -> Self {
        Self {
            relay_peer_id: relay_peer_id.to_owned(),
            connections: HashMap::new(),
            stats: RelayStats::default(),
        }
    }

    /// A connection finished its handshake. One live connection per device: a
    /// reconnecting device replaces its old (probably half-open) connection.
    pub fn connect(&mut self, conn: ConnId, peer: Peer) -> Vec<RelayEffect> {
        let replaced: Vec<ConnId> = self
            .connections
            .iter()
            .filter(|(_, other)| {
                other.peer.workspace == peer.workspace && other.peer.peer_id == peer.peer_id
            })
            .map(|(id, _)| *id)
            .collect();
        let mut effects = Vec::new();
        for old in replaced {
            self.connections.remove(&old);
            effects.push(RelayEffect::Cut {
                conn: old,
                code: close::REPLACED,
                reason: "replaced by a newer connection of this device".to_owned(),
            });
        }
        tracing::info!(conn, peer = %peer.peer_id, workspace = %peer.workspace, "peer connected");
        self.connections.insert(conn, Connection { peer, states: SyncStates::new() });
        effects
    }

    /// A connection ended (or the shell closed it); its sync states go with it.
    pub fn disconnect(&mut self, conn: ConnId) -> Option<Peer> {
        let gone = self.connections.remove(&conn)?;
        tracing::info!(conn, peer = %gone.peer.peer_id, "peer disconnected");
        Some(gone.peer)
    }

    /// Sync states kept, over all connections.
    pub fn sync_states(&self) -> usize {
        self.connections.values().map(|entry| entry.states.states.len()).sum()
    }

    /// The counters since the last call, reset.
    pub fn take_stats(&mut self) -> RelayStats {
        std::mem::take(&mut self.stats)
    }

    /// Handles one message from a connection; storage writes go into the
    /// shell's transaction, and the effects are for after its commit.
    pub fn receive<S: RelayStorage>(
        &mut self,
        storage: &mut S,
        conn: ConnId,
        message: Message,
    ) -> StorageResult<Vec<RelayEffect>, S> {
        let mut effects = Vec::new();
        let Some(entry) = self.connections.get(&conn) else { return Ok(effects) };
        let peer = entry.peer.clone();
        if let Some(sender) = message.sender_id()
            && sender != peer.peer_id
        {
            self.refuse(
                &mut effects,
                conn,
                close::POLICY,
                "senderId does not match the device of this token",
            );
            return Ok(effects);
        }
        match message {
            Message::Request { document_id, data, .. } => {
                self.receive_sync(
                    storage,
                    conn,
                    &peer,
                    (&document_id, &data, SyncKind::Request),
                    &mut effects,
                )?;
            }
            Message::Sync { document_id, data, .. } => {
                self.receive_sync(
                    storage,
                    conn,
                    &peer,
                    (&document_id, &data, SyncKind::Sync),
                    &mut effects,
                )?;
            }
            Message::Ephemeral { ref document_id, ref data, .. } => {
                // Presence is relayed to the workspace's other peers, never stored.
                if document_id.parse::<DocumentId>().is_err() {
                    self.refuse(&mut effects, conn, close::INVALID_DATA, "malformed documentId");
                } else if data.len() > MAX_EPHEMERAL_BYTES {
                    self.refuse(
                        &mut effects,
                        conn,
                        close::POLICY,
                        "ephemeral message larger than 64 KiB",
                    );
                } else if peer.read_only {
                    // A read-only device may watch but not announce: what it sends
                    // would be copied to every peer of the workspace.
                    tracing::debug!(conn, peer = %peer.peer_id, "dropped an ephemeral message from a read-only token");
                    self.stats.refusals += 1;
                } else {
                    for (other, other_entry) in &self.connections {
                        if *other != conn && other_entry.peer.workspace == peer.workspace {
                            let mut relayed = message.clone();
                            if let Message::Ephemeral { target_id, .. } = &mut relayed {
                                other_entry.peer.peer_id.clone_into(target_id);
                            }
                            effects.push(RelayEffect::Send { conn: *other, message: relayed });
                        }
                    }
                }
            }
            Message::Leave { .. } => {
                effects.push(RelayEffect::Close { conn, code: 1000, reason: "bye".to_owned() })
            }
            Message::Join { .. } | Message::Peer { .. } => {
                self.refuse(&mut effects, conn, close::POLICY, "unexpected handshake message");
            }
            Message::Error { message } => {
                tracing::info!(conn, %message, "peer reported an error");
                effects.push(RelayEffect::Close {
                    conn,
                    code: 1000,
                    reason: "peer error".to_owned(),
                });
            }
            Message::DocUnavailable { .. }
            | Message::RemoteSubscriptionChange { .. }
            | Message::RemoteHeadsChanged { .. }
            | Message::Unknown => {}
        }
        Ok(effects)
    }

    /// Tells the peer why with an `error` message, then closes.
    fn refuse(&mut self, effects: &mut Vec<RelayEffect>, conn: ConnId, code: u16, reason: &str) {
        self.stats.refusals += 1;
        effects.push(RelayEffect::Send {
            conn,
            message: Message::Error { message: reason.to_owned() },
        });
        effects.push(RelayEffect::Close { conn, code, reason: reason.to_owned() });
    }

    fn receive_sync<S: RelayStorage>(
        &mut self,
        storage: &mut S,
        conn: ConnId,
        peer: &Peer,
        (document_id, data, kind): (&str, &[u8], SyncKind),
        effects: &mut Vec<RelayEffect>,
    ) -> StorageResult<(), S> {
        let Ok(document) = document_id.parse::<DocumentId>() else {
            self.refuse(effects, conn, close::INVALID_DATA, "malformed documentId");
            return Ok(());
        };
        let Ok(sync_message) = sync::Message::decode(data) else {
            self.refuse(effects, conn, close::INVALID_DATA, "malformed automerge sync message");
            return Ok(());
        };
        if let Err(error) = sync_protocol::sync_message::check(&sync_message) {
            tracing::info!(conn, peer = %peer.peer_id, %document, %error, "refused a sync message");
            self.refuse(effects, conn, close::INVALID_DATA, &error.to_string());
            return Ok(());
        }
        if peer.read_only && !sync_message.changes.is_empty() {
            tracing::warn!(conn, peer = %peer.peer_id, %document, "refused changes from a read-only token");
            self.refuse(
                effects,
                conn,
                close::POLICY,
                "this device's token is read-only: its changes were refused",
            );
            return Ok(());
        }
        let peer_has_nothing = sync_message.heads.is_empty();
        let mut doc = storage.take(peer.workspace, document)?.unwrap_or_default();
        let heads_before = doc.get_heads();
        let Some(entry) = self.connections.get_mut(&conn) else { return Ok(()) };
        let mut state = entry.states.take(document);
        // Automerge is fuzzed upstream, but this is hostile input reaching a shared
        // process: a panic must cost one connection, not the relay.
        let received = std::panic::catch_unwind(AssertUnwindSafe(|| {
            doc.sync().receive_sync_message(&mut state, sync_message)
        }));
        match received {
            Ok(Ok(())) => entry.states.put(document, state),
            Ok(Err(error)) => {
                tracing::info!(conn, %document, %error, "rejected a sync message");
                self.refuse(effects, conn, close::INVALID_DATA, "invalid automerge sync message");
                // The document may hold part of what was rejected: not given back,
                // so it is loaded again next time.
                return Ok(());
            }
            Err(_) => {
                tracing::error!(conn, %document, "automerge panicked on a sync message");
                self.stats.panics += 1;
                self.refuse(
                    effects,
                    conn,
                    close::INTERNAL,
                    "the relay could not process this document",
                );
                return Ok(());
            }
        }
        let heads_after = doc.get_heads();
        let changed = heads_after != heads_before;
        if changed {
            storage.save(peer.workspace, document, &mut doc, &heads_before)?;
            self.stats.changes_stored += 1;
        }
        if heads_after.is_empty() && kind == SyncKind::Request && peer_has_nothing {
            // Neither side has this document (and nothing says whether it exists
            // anywhere else: other workspaces are never consulted).
            effects.push(RelayEffect::Send {
                conn,
                message: Message::DocUnavailable {
                    sender_id: self.relay_peer_id.clone(),
                    target_id: peer.peer_id.clone(),
                    document_id: document.to_string(),
                },
            });
            if let Some(entry) = self.connections.get_mut(&conn) {
                entry.states.remove(document);
            }
            return Ok(());
        }
        // Answer the sender (for a document the relay does not have yet, with its
        // empty state, so the sender pushes its changes), then tell every other
        // peer of the workspace about the change.
        let mut panicked = Vec::new();
        for (other, other_entry) in &mut self.connections {
            if other_entry.peer.workspace != peer.workspace || (*other != conn && !changed) {
                continue;
            }
            let mut state = other_entry.states.take(document);
            // The state holds what this peer sent (its Bloom filters); should
            // Automerge still panic on it, only this peer's connection pays.
            let generated = std::panic::catch_unwind(AssertUnwindSafe(|| {
                doc.sync().generate_sync_message(&mut state)
            }));
            match generated {
                Ok(reply) => {
                    other_entry.states.put(document, state);
                    if let Some(reply) = reply {
                        let message = Message::sync(
                            &self.relay_peer_id,
                            &other_entry.peer.peer_id,
                            document,
                            reply.encode(),
                        );
                        effects.push(RelayEffect::Send { conn: *other, message });
                    }
                }
                Err(_) => {
                    tracing::error!(conn = *other, %document, "automerge panicked generating a sync message");
                    panicked.push(*other);
                }
            }
        }
        for other in panicked {
            self.stats.panics += 1;
            self.refuse(
                effects,
                other,
                close::INTERNAL,
                "the relay could not process this document",
            );
        }
        // A document nobody has stays out of the cache: the cache is shared by
        // every workspace, and a peer naming random ids must not push their
        // documents out.
        if !heads_after.is_empty() {
            storage.keep(peer.workspace, document, doc);
        }
        Ok(())
    }
}
