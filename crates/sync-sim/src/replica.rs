//! A simulated device: a real replica on disk (SQLite, mirror and all) and,
//! while it is connected, a [`ReplicaEngine`] and its link to the relay.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;

use automerge::sync;
use automerge::{AutoCommit, ChangeHash};
use doc_model::DocId;
use replica_store::{Replica, Seeded};
use sync_engine::{Outcome, ReplicaEngine, ReplicaStorage, SyncBatch, SyncRecord};
use sync_protocol::{DocumentId, Message};

use crate::SimError;

/// The name the replicas know the relay by (their sync bookkeeping is per remote).
pub const REMOTE: &str = "sim";

/// One websocket between a replica and the relay: a queue each way.
#[derive(Debug, Default)]
pub struct Link {
    /// The connection's id at the relay.
    pub conn: u64,
    /// Frames on their way to the relay.
    pub to_relay: VecDeque<Message>,
    /// Frames on their way to the replica.
    pub to_replica: VecDeque<Message>,
}

/// A connected replica's side of a session.
#[derive(Debug)]
pub struct Session {
    /// The protocol state, lost when the connection or the process goes.
    pub engine: ReplicaEngine,
    /// The connection.
    pub link: Link,
}

/// What was armed to go wrong in a replica's storage.
#[derive(Debug, Default)]
pub struct Armed {
    /// Storage writes still allowed before the process dies (`Some(0)`: the next
    /// write does not happen, and the replica crashes).
    pub crash_after_writes: Option<u32>,
    /// Documents whose next incoming sync message cannot be applied (as a
    /// change this version cannot read would fail).
    pub fail_apply: HashSet<DocumentId>,
}

/// A simulated device.
#[derive(Debug)]
pub struct SimReplica {
    /// Its index in the simulation.
    pub index: usize,
    /// Its directory (the replica's SQLite file).
    pub home: PathBuf,
    /// The replica, open.
    pub replica: Replica,
    /// Its session with the relay, while connected.
    pub session: Option<Session>,
    /// Faults armed in its storage.
    pub armed: Armed,
    /// Times it crashed and started again.
    pub restarts: u32,
    /// Every document version a local operation saved: each must reach every
    /// replica.
    pub saved: Vec<(DocId, Vec<ChangeHash>)>,
}

impl SimReplica {
    /// The device's peer id.
    pub fn peer_id(&self) -> String {
        format!("device-{}", self.index)
    }

    /// The process dies: the session and everything in memory is gone. It starts
    /// again from what its SQLite file holds, with a fresh seed for new ids.
    pub fn restart(&mut self, seeded: Seeded) -> Result<(), SimError> {
        self.session = None;
        self.armed = Armed::default();
        self.restarts += 1;
        self.replica = Replica::open_seeded(&self.home, seeded)?;
        Ok(())
    }

    /// Splits the replica into its engine and its storage (while connected).
    pub fn engine_and_storage(&mut self) -> Option<(&mut ReplicaEngine, FaultyStorage<'_>)> {
        let session = self.session.as_mut()?;
        let storage =
            FaultyStorage { inner: self.replica.sync_storage(REMOTE), armed: &mut self.armed };
        Some((&mut session.engine, storage))
    }

    /// Notes what a local operation saved: the current heads of every document
    /// waiting in the outbox.
    pub fn note_saved(&mut self) -> Result<(), SimError> {
        for (doc_id, _) in self.replica.outbox()? {
            if let Some(heads) = self.replica.stored_heads(doc_id)? {
                self.saved.push((doc_id, heads));
            }
        }
        Ok(())
    }
}

/// The replica's real storage ([`replica_store::RemoteSync`]) with faults: a
/// crash before a chosen write, and messages that cannot be applied.
#[derive(Debug)]
pub struct FaultyStorage<'a> {
    inner: replica_store::RemoteSync<'a>,
    armed: &'a mut Armed,
}

impl FaultyStorage<'_> {
    /// Counts one write; `Err` if the process dies before it.
    fn write(&mut self) -> Result<(), SimError> {
        match &mut self.armed.crash_after_writes {
            Some(0) => Err(SimError::Crashed),
            Some(left) => {
                *left -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl ReplicaStorage for FaultyStorage<'_> {
    type Error = SimError;

    fn cursor(&self) -> Result<i64, SimError> {
        Ok(self.inner.cursor()?)
    }

    fn retries(&self) -> Result<Vec<(DocumentId, u32)>, SimError> {
        Ok(self.inner.retries()?)
    }

    fn outbox(&self) -> Result<Vec<(DocumentId, i64)>, SimError> {
        Ok(self.inner.outbox()?)
    }

    fn stored_heads(&self, document: DocumentId) -> Result<Option<Vec<ChangeHash>>, SimError> {
        Ok(self.inner.stored_heads(document)?)
    }

    fn sync_state(&self, document: DocumentId) -> Result<Option<Vec<u8>>, SimError> {
        Ok(self.inner.sync_state(document)?)
    }

    fn first_message(
        &mut self,
        document: DocumentId,
        state: &mut sync::State,
    ) -> Result<(bool, Option<sync::Message>), SimError> {
        Ok(self.inner.first_message(document, state)?)
    }

    fn receive(
        &mut self,
        documents: &[DocumentId],
        batch: &mut dyn SyncBatch,
    ) -> Result<Vec<Outcome>, SimError> {
        self.write()?;
        let mut failing = FailingBatch { inner: batch, fail_apply: &mut self.armed.fail_apply };
        Ok(self.inner.receive(documents, &mut failing)?)
    }

    fn record(&mut self, record: &SyncRecord) -> Result<(), SimError> {
        if record.is_empty() {
            return Ok(());
        }
        self.write()?;
        Ok(self.inner.record(record)?)
    }
}

/// A batch whose `apply` fails, once, for the armed documents.
struct FailingBatch<'a> {
    inner: &'a mut dyn SyncBatch,
    fail_apply: &'a mut HashSet<DocumentId>,
}

impl SyncBatch for FailingBatch<'_> {
    fn apply(
        &mut self,
        document: DocumentId,
        doc: &mut AutoCommit,
    ) -> Result<(), automerge::AutomergeError> {
        if self.fail_apply.remove(&document) {
            return Err(automerge::AutomergeError::Fail);
        }
        self.inner.apply(document, doc)
    }

    fn record(&mut self, outcomes: &[Outcome]) -> SyncRecord {
        self.inner.record(outcomes)
    }
}
