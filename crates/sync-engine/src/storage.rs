//! What the replica engine needs from storage, and what it asks storage to write.

use automerge::sync;
use automerge::{AutoCommit, ChangeHash};
use sync_protocol::DocumentId;

/// One document's outcome in a [`ReplicaStorage::receive`] batch: `Err` says
/// why it could not be applied or stored (the other documents go on).
pub type Outcome = Result<(), String>;

/// Sync's bookkeeping with the relay, written in the transaction of the
/// documents it concerns (or one of its own when no document changed), so a
/// crash leaves either both or neither.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncRecord {
    /// Documents now in sync with the relay, with their encoded sync state.
    pub states: Vec<(DocumentId, Vec<u8>)>,
    /// Outbox entries pushed: each is cleared unless its document changed since
    /// (its outbox position is then higher).
    pub pushed: Vec<(DocumentId, i64)>,
    /// Documents whose sync failed this round: the next round retries them even
    /// if the change feed does not name them again. Storage counts the rounds
    /// each one failed in.
    pub retry: Vec<DocumentId>,
    /// Documents in sync that no longer need a retry.
    pub retried: Vec<DocumentId>,
    /// The relay's change-feed cursor, once a round has synced every document
    /// the feed named up to it (or put it up for retry).
    pub cursor: Option<i64>,
}

impl SyncRecord {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
            && self.pushed.is_empty()
            && self.retry.is_empty()
            && self.retried.is_empty()
            && self.cursor.is_none()
    }
}

/// The engine's side of one [`ReplicaStorage::receive`] transaction.
pub trait SyncBatch {
    /// Applies what the relay sent for `document` to it (called once per listed
    /// document, in order, inside the transaction; a document the replica does
    /// not have is passed empty).
    fn apply(
        &mut self,
        document: DocumentId,
        doc: &mut AutoCommit,
    ) -> Result<(), automerge::AutomergeError>;

    /// Given every listed document's outcome (in order), what to write about
    /// the sync in the same transaction.
    fn record(&mut self, outcomes: &[Outcome]) -> SyncRecord;
}

/// A replica's documents and sync bookkeeping with one relay, as the replica
/// engine sees them.
pub trait ReplicaStorage {
    /// What storage failures look like.
    type Error: std::error::Error + 'static;

    /// The relay's change-feed cursor (0 before the first round).
    fn cursor(&self) -> Result<i64, Self::Error>;

    /// Documents put up for retry in earlier rounds, with how many rounds each
    /// failed in.
    fn retries(&self) -> Result<Vec<(DocumentId, u32)>, Self::Error>;

    /// Documents changed on this device and not pushed yet, with their outbox
    /// positions.
    fn outbox(&self) -> Result<Vec<(DocumentId, i64)>, Self::Error>;

    /// The document's stored heads, sorted; `None` if the replica does not have it.
    fn stored_heads(&self, document: DocumentId) -> Result<Option<Vec<ChangeHash>>, Self::Error>;

    /// The document's encoded sync state with the relay, if one was saved.
    fn sync_state(&self, document: DocumentId) -> Result<Option<Vec<u8>>, Self::Error>;

    /// Whether the replica has the document, and the first sync message from it
    /// (or from an empty document if it does not).
    fn first_message(
        &mut self,
        document: DocumentId,
        state: &mut sync::State,
    ) -> Result<(bool, Option<sync::Message>), Self::Error>;

    /// In one transaction: `batch.apply` for each document (stored, with its
    /// query rows, if it changed), then what `batch.record` says. Returns each
    /// document's outcome.
    fn receive(
        &mut self,
        documents: &[DocumentId],
        batch: &mut dyn SyncBatch,
    ) -> Result<Vec<Outcome>, Self::Error>;

    /// Writes sync bookkeeping in a transaction of its own.
    fn record(&mut self, record: &SyncRecord) -> Result<(), Self::Error>;
}
