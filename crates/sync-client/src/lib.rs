//! A replica's side of sync: the IO around `sync_engine::ReplicaEngine`.
//!
//! # One sync round
//!
//! 1. Ask the relay's change feed which documents changed since this replica's
//!    cursor (O(changed documents), never all of them).
//! 2. Open the relay's websocket (automerge-repo protocol) and hand the feed to
//!    the engine, which adds the retries and the outbox and says what to send;
//!    many documents are in flight at once
//!    ([`MAX_DOCUMENTS_IN_FLIGHT`](sync_protocol::limits::MAX_DOCUMENTS_IN_FLIGHT)).
//! 3. Pass what arrives to the engine in batches; it applies each batch and its
//!    bookkeeping in one SQLite transaction through `replica_store::RemoteSync`
//!    (documents, mirror rows, sync states, outbox, retries, the cursor).
//! 4. Transfer the blobs the documents reference (see [`blobs`]).
//!
//! [`watch`] keeps the connection open, pushes local edits as they happen,
//! applies what the relay announces, and reconnects with exponential backoff and
//! jitter after a failure.

#![warn(missing_docs)]

pub mod blobs;
mod error;
mod remote;
mod session;
mod watch;

pub use error::{Result, SyncError};
pub use remote::{Remote, Transport};
pub use session::{Direction, Progress, SyncReport, sync_once};
pub use sync_engine::MAX_RETRY_ROUNDS;
pub use watch::{WatchEvent, watch};
