//! The Kartoteka relay, without its web server.
//!
//! `sync-server` owns HTTP and websockets (axum); this crate owns what the relay
//! *is*:
//!
//! - [`tokens`]: device tokens per workspace, stored hashed, checked before a
//!   connection is accepted;
//! - [`RelayStore`]: the relay's SQLite database: every workspace's documents
//!   (keyed by workspace and document, so one workspace can never reach another's),
//!   the change log behind the change feed, and the tokens;
//! - [`Hub`]: one thread that owns the documents and every connection's sync
//!   state, applies incoming sync messages in group-committed transactions, and
//!   only then answers and relays them;
//! - [`admission`]: how much of the hub one connection may occupy;
//! - [`Metrics`]: counters for `/metrics`.
//!
//! # The hub's loop
//!
//! Connection tasks send [`HubCommand`]s over a bounded channel. The hub takes
//! one, drains up to [`hub::MAX_BATCH`] more that are already waiting, and
//! handles them all in one SQLite transaction: each sync message is received into
//! its document, and every document that changed is written (with its change-log
//! entry) before the commit. After the commit (fsync, `synchronous=FULL`) the
//! replies and the announcements to the workspace's other connections are queued
//! to each connection's bounded send queue. Nothing is acknowledged or relayed
//! before it is durable; a connection whose queue is full is closed (its peer
//! resyncs on reconnect) rather than having messages dropped.

#![warn(missing_docs)]

pub mod admission;
mod error;
pub mod hub;
mod metrics;
mod store;
pub mod tokens;

pub use admission::{Admission, ConnectionBudget, RelayBudget};
pub use error::{RelayError, Result};
pub use hub::{ConnectionGrant, Hub, HubCommand, HubHandle, Outgoing};
pub use metrics::Metrics;
pub use store::{DATABASE_FILE, RelayConnection, RelayStore, document_key};
pub use tokens::{AuthError, Grant, TokenRecord};

/// The relay's peer id in the automerge-repo handshake.
pub const RELAY_PEER_ID: &str = "kartoteka-relay";
