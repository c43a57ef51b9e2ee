//! The simulated relay: the real [`RelayEngine`] over documents kept in memory
//! as saved bytes, with the change feed the real relay serves.

use std::collections::{BTreeMap, HashMap};

use automerge::{AutoCommit, ChangeHash};
use sync_engine::{Peer, RelayEffect, RelayEngine, RelayStorage};
use sync_protocol::feed::FeedEntry;
use sync_protocol::{DocumentId, Message};
use uuid::Uuid;

use crate::SimError;

/// The relay's peer id in the simulation.
pub const RELAY_PEER_ID: &str = "sim-relay";

/// What the relay has durably written: every document as saved bytes (a
/// snapshot followed by incremental chunks, as the real relay stores them), and
/// the change log (each document's newest entry only, as the real relay keeps
/// it), besides the loaded documents the relay process keeps (lost in a crash).
#[derive(Debug, Default)]
pub struct RelayDisk {
    documents: HashMap<(Uuid, DocumentId), Vec<u8>>,
    /// Loaded documents, in the relay process's memory.
    loaded: HashMap<(Uuid, DocumentId), AutoCommit>,
    log: BTreeMap<i64, (Uuid, DocumentId, Vec<ChangeHash>)>,
    latest: HashMap<(Uuid, DocumentId), i64>,
    last_seq: i64,
}

impl RelayDisk {
    /// The workspace's change feed after `since`, and its end.
    pub fn feed(&self, workspace: Uuid, since: i64) -> (Vec<FeedEntry>, i64) {
        let entries: Vec<FeedEntry> = self
            .log
            .range(since + 1..)
            .filter(|(_, (logged, _, _))| *logged == workspace)
            .map(|(seq, (_, document, heads))| FeedEntry {
                document_id: document.to_string(),
                seq: *seq,
                heads: heads.iter().map(ToString::to_string).collect(),
            })
            .collect();
        let next = entries.last().map_or(since, |entry| entry.seq);
        (entries, next)
    }

    /// The workspace's documents, loaded.
    pub fn documents(&self, workspace: Uuid) -> Result<BTreeMap<DocumentId, AutoCommit>, SimError> {
        let mut documents = BTreeMap::new();
        for ((stored_in, document), bytes) in &self.documents {
            if *stored_in == workspace {
                documents.insert(*document, AutoCommit::load(bytes)?);
            }
        }
        Ok(documents)
    }
}

impl RelayStorage for RelayDisk {
    type Error = SimError;

    fn take(
        &mut self,
        workspace: Uuid,
        document: DocumentId,
    ) -> Result<Option<AutoCommit>, SimError> {
        if let Some(doc) = self.loaded.remove(&(workspace, document)) {
            return Ok(Some(doc));
        }
        match self.documents.get(&(workspace, document)) {
            Some(bytes) => Ok(Some(AutoCommit::load(bytes)?)),
            None => Ok(None),
        }
    }

    fn save(
        &mut self,
        workspace: Uuid,
        document: DocumentId,
        doc: &mut AutoCommit,
        previous: &[ChangeHash],
    ) -> Result<(), SimError> {
        let key = (workspace, document);
        let chunk = doc.save_after(previous);
        self.documents.entry(key).or_default().extend_from_slice(&chunk);
        if let Some(seq) = self.latest.remove(&key) {
            self.log.remove(&seq);
        }
        self.last_seq += 1;
        self.log.insert(self.last_seq, (workspace, document, doc.get_heads()));
        self.latest.insert(key, self.last_seq);
        Ok(())
    }

    fn keep(&mut self, workspace: Uuid, document: DocumentId, doc: AutoCommit) {
        self.loaded.insert((workspace, document), doc);
    }
}

/// The relay: its engine (in memory, lost in a crash) and its disk.
#[derive(Debug)]
pub struct SimRelay {
    engine: RelayEngine,
    /// What survives a crash.
    pub disk: RelayDisk,
}

impl Default for SimRelay {
    fn default() -> Self {
        Self { engine: RelayEngine::new(RELAY_PEER_ID), disk: RelayDisk::default() }
    }
}

impl SimRelay {
    /// A peer connects.
    pub fn connect(&mut self, conn: u64, peer: Peer) -> Vec<RelayEffect> {
        self.engine.connect(conn, peer)
    }

    /// A connection ends.
    pub fn disconnect(&mut self, conn: u64) {
        self.engine.disconnect(conn);
    }

    /// Handles one message; the disk is written before the effects are returned,
    /// as the real hub commits before it delivers.
    pub fn receive(&mut self, conn: u64, message: Message) -> Result<Vec<RelayEffect>, SimError> {
        self.engine.receive(&mut self.disk, conn, message)
    }

    /// The relay process dies and starts again: every connection and sync state
    /// is gone, the disk stays.
    pub fn crash(&mut self) {
        self.engine = RelayEngine::new(RELAY_PEER_ID);
        self.disk.loaded.clear();
    }
}
