//! A replica's side of sync.
//!
//! # One sync round
//!
//! 1. Ask the relay's change feed which documents changed since this replica's
//!    cursor (O(changed documents), never all of them), and read the outbox of
//!    documents changed on this device.
//! 2. Open the relay's websocket (automerge-repo protocol) and run Automerge's
//!    sync protocol for each of those documents, many in flight at once
//!    ([`MAX_DOCUMENTS_IN_FLIGHT`](sync_protocol::limits::MAX_DOCUMENTS_IN_FLIGHT)),
//!    starting from the per-document sync state persisted last time.
//! 3. Apply incoming messages in batches, one SQLite transaction per batch: the
//!    documents and their mirror rows change together.
//! 4. A document is done when the relay has told us heads equal to ours. Its sync
//!    state is saved and its outbox entry cleared; when all are done the feed
//!    cursor advances.
//! 5. Transfer the blobs the documents reference (see [`blobs`]).
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
pub use session::{Progress, SyncReport, sync_once};
pub use watch::{WatchEvent, watch};
