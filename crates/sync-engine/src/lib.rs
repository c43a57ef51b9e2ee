//! Kartoteka's sync protocol logic, without IO: the replica's side and the
//! relay's side.
//!
//! The engines here decide what to send and what to store; they never touch a
//! socket, a database, a clock or a random number generator. A shell does the
//! IO: `sync-client` runs the [`ReplicaEngine`] over the relay's websocket and
//! the replica's SQLite store, and tests run it over an in-memory store and a
//! relay of their own, deterministically.
//!
//! # The replica's side of a sync round
//!
//! 1. The shell reads the relay's change feed since the stored cursor and hands
//!    it to [`ReplicaEngine::start_round`]. The engine queues the documents the
//!    feed names whose stored heads differ, the documents whose sync failed in
//!    an earlier round (their retry record), and the outbox of documents changed
//!    on this device.
//! 2. It starts Automerge's sync protocol for up to
//!    [`MAX_DOCUMENTS_IN_FLIGHT`](sync_protocol::limits::MAX_DOCUMENTS_IN_FLIGHT)
//!    documents at once, from each one's persisted sync state, and returns the
//!    messages to send.
//! 3. The shell passes what the relay sent to [`ReplicaEngine::receive`]: one
//!    storage transaction applies the batch and writes the bookkeeping of the
//!    documents it finished ([`SyncRecord`]: their sync states, the outbox
//!    entries they pushed, retries) and, when it is the round's last, the feed
//!    cursor.
//! 4. A document whose message cannot be applied is put up for retry in that
//!    same transaction, so the cursor can move on without losing it.
//!
//! **Invariant:** the feed cursor is written only in the transaction that
//! finishes (or puts up for retry) the round's last document, so every document
//! the feed named before the cursor is in sync, queued in the outbox, or in the
//! retry record.
//!
//! # The relay's side
//!
//! The [`RelayEngine`] keeps every connection's sync states. The shell (the
//! relay's hub) opens a transaction, hands it each message with
//! [`RelayEngine::receive`] over a [`RelayStorage`] that writes into that
//! transaction, commits, and only then delivers the [`RelayEffect`]s: the
//! reply to the sender, the announcement of a change to the workspace's other
//! connections, or a refusal and close. Nothing is acknowledged or relayed
//! before it is durable.

#![warn(missing_docs)]

mod error;
pub mod relay;
mod replica;
mod storage;

pub use error::EngineError;
pub use relay::{Peer, RelayEffect, RelayEngine, RelayStats, RelayStorage};
pub use replica::{EngineStats, MAX_EXCHANGES, MAX_RETRY_ROUNDS, ReplicaEngine, STALLED_REPLIES};
pub use storage::{Outcome, ReplicaStorage, SyncBatch, SyncRecord};
