//! A deterministic simulation of Kartoteka's sync.
//!
//! Real replicas (SQLite files, mirror, outbox, sync bookkeeping: the very
//! `replica-store` code the CLI runs) and the real relay engine talk through an
//! in-memory network driven by one seeded scheduler. Each [`Sim::step`] picks
//! one thing to happen: a message is delivered, delayed behind others,
//! delivered twice, or lost; a replica connects, disconnects or starts a new
//! round; a replica's process dies before one of its storage writes (and starts
//! again from what its SQLite file holds); the relay's process dies. Local
//! operations are the caller's, between steps ([`Sim::local`]).
//!
//! [`Sim::run_until_quiescent`] then heals the network and runs rounds until
//! nothing moves, and [`Sim::check`] verifies the invariants:
//!
//! - every replica and the relay hold the same documents with equal heads and
//!   equal hydrated contents;
//! - every replica's queries answer the same, and its mirror equals its own
//!   rebuild (`reindex`);
//! - no outbox entry or retry is left anywhere;
//! - every document version a local operation saved is part of every replica's
//!   document (nothing a user saved was lost, crashes included).
//!
//! Nothing here reads a clock or an unseeded random generator: replicas get a
//! fixed clock and seeded ids ([`replica_store::Seeded`]), so a failing seed
//! replays exactly.

#![warn(missing_docs)]

mod queries;
mod relay;
mod replica;

use std::collections::BTreeMap;

use automerge::{AutoCommit, ReadDoc};
use chrono::{DateTime, Utc};
use doc_model::DocId;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use replica_store::{InitOptions, Replica, Seeded};
use sync_engine::{EngineError, Peer, RelayEffect, ReplicaEngine};
use sync_protocol::{DocumentId, Message};
use uuid::Uuid;

pub use queries::{AS_OF, Visible, visible as queries_of};
pub use relay::{RELAY_PEER_ID, RelayDisk, SimRelay};
pub use replica::{Armed, FaultyStorage, Link, REMOTE, Session, SimReplica};

/// Why a simulation step failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The replica's process died before a storage write (the simulation restarts it).
    #[error("the replica crashed before a storage write")]
    Crashed,
    /// The replica's store failed.
    #[error(transparent)]
    Store(#[from] replica_store::StoreError),
    /// A document would not load or save.
    #[error(transparent)]
    Automerge(#[from] automerge::AutomergeError),
    /// The relay ended an honest replica's session.
    #[error("the relay closed device {device}'s connection: {reason}")]
    Closed {
        /// The replica's index.
        device: usize,
        /// The relay's reason.
        reason: String,
    },
    /// The relay refused a replica (its `error` message).
    #[error("device {device} was refused: {reason}")]
    Refused {
        /// The replica's index.
        device: usize,
        /// The relay's reason.
        reason: String,
    },
    /// A directory could not be made.
    #[error("simulation directory: {0}")]
    Io(#[from] std::io::Error),
    /// The network did not settle.
    #[error("the replicas did not settle within {passes} passes: {states:#?}")]
    NotQuiescent {
        /// Passes run.
        passes: usize,
        /// Each replica's state at the end.
        states: Vec<String>,
    },
    /// An invariant does not hold at the end.
    #[error("invariant broken: {0}")]
    Invariant(String),
}

/// How often each kind of trouble happens, per step (0.0 to 1.0 each; what is
/// left over delivers messages in order).
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// A message is lost because its connection broke (the session ends, and
    /// everything else in flight on it is lost too).
    pub drop: f64,
    /// A message is lost on a connection that stays up. A websocket never
    /// does that, but it is what a replica sees when changes it received are
    /// lost before they are stored (kept only in a copy of the document that
    /// was dropped), and Automerge sends a change only once per connection.
    pub lose: f64,
    /// A message is delivered and stays queued, to be delivered again.
    pub duplicate: f64,
    /// A message other than the oldest is delivered first.
    pub reorder: f64,
    /// A replica disconnects.
    pub disconnect: f64,
    /// A replica's process is set to die before one of its next few storage writes.
    pub crash: f64,
    /// The relay's process dies.
    pub relay_crash: f64,
}

impl Faults {
    /// No trouble at all.
    pub const NONE: Self = Self {
        drop: 0.0,
        lose: 0.0,
        duplicate: 0.0,
        reorder: 0.0,
        disconnect: 0.0,
        crash: 0.0,
        relay_crash: 0.0,
    };

    /// Some of every kind.
    pub const SOME: Self = Self {
        drop: 0.01,
        lose: 0.005,
        duplicate: 0.02,
        reorder: 0.05,
        disconnect: 0.02,
        crash: 0.01,
        relay_crash: 0.002,
    };
}

/// What happened in a run, for tests that want to know the faults were exercised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Messages delivered.
    pub delivered: u64,
    /// Messages lost with their connection.
    pub dropped: u64,
    /// Messages lost on a connection that stayed up.
    pub lost: u64,
    /// Sessions ended because a replica waited for an answer that never came
    /// (the shell's idle timeout).
    pub timeouts: u64,
    /// Messages delivered twice.
    pub duplicated: u64,
    /// Messages delivered out of order.
    pub reordered: u64,
    /// Replica sessions ended by a disconnect or a timeout.
    pub disconnects: u64,
    /// Replica processes that died before a storage write.
    pub crashes: u64,
    /// Relay processes that died.
    pub relay_crashes: u64,
    /// Sync rounds started.
    pub rounds: u64,
}

/// Frames a replica takes from its link in one engine call, at most.
const MAX_FRAMES_AT_ONCE: usize = 16;

/// The time every replica stamps on its changes.
fn sim_now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_796_000_000, 0).unwrap_or_default()
}

/// A relay and N replicas of one workspace, driven by one seed.
#[derive(Debug)]
pub struct Sim {
    seed: u64,
    rng: ChaCha8Rng,
    workspace: Uuid,
    /// The relay.
    pub relay: SimRelay,
    /// The devices.
    pub replicas: Vec<SimReplica>,
    faults: Faults,
    next_conn: u64,
    stats: SimStats,
    /// Every connection and delivery, when `KARTOTEKA_SIM_TRACE=1`, to follow
    /// a failing seed.
    trace: Option<Vec<String>>,
    // Dropped last: the replicas' files live in it.
    _dir: tempfile::TempDir,
}

impl Sim {
    /// A workspace started on replica 0 and joined by the others (each with an
    /// empty replica, as a new device starts), all offline.
    pub fn new(seed: u64, replicas: usize, faults: Faults) -> Result<Self, SimError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let workspace = Uuid::from_bytes(rng.random());
        let dir = sim_dir()?;
        let mut devices = Vec::with_capacity(replicas);
        for index in 0..replicas {
            let home = dir.path().join(format!("device-{index}"));
            let options = InitOptions {
                workspace_name: (index == 0).then(|| "Serviss SIA".to_owned()),
                device_name: format!("device-{index}"),
                workspace_id: Some(workspace),
                seeded: Some(Seeded { seed: rng.random(), now: sim_now() }),
            };
            let replica = Replica::create(&home, &options)?;
            devices.push(SimReplica {
                index,
                home,
                replica,
                session: None,
                armed: Armed::default(),
                restarts: 0,
                saved: Vec::new(),
            });
        }
        let mut sim = Self {
            seed,
            rng,
            workspace,
            relay: SimRelay::default(),
            replicas: devices,
            faults,
            next_conn: 1,
            stats: SimStats::default(),
            trace: std::env::var_os("KARTOTEKA_SIM_TRACE")
                .is_some_and(|value| value == "1")
                .then(Vec::new),
            _dir: dir,
        };
        for index in 0..replicas {
            sim.replicas[index].note_saved()?;
        }
        Ok(sim)
    }

    /// The trace so far (empty unless `KARTOTEKA_SIM_TRACE=1`).
    pub fn trace(&self) -> &[String] {
        self.trace.as_deref().unwrap_or_default()
    }

    fn note(&mut self, line: impl FnOnce() -> String) {
        if let Some(trace) = &mut self.trace {
            trace.push(line());
        }
    }

    /// The seed this simulation runs from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// What happened so far.
    pub fn stats(&self) -> SimStats {
        self.stats
    }

    /// The scheduler's random generator, for the caller's choice of operations
    /// (one generator, so one seed decides everything).
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// Runs a local operation on a replica (whether connected or not), notes
    /// what it saved, and, if the replica is connected, queues its changes as
    /// a watching device would.
    pub fn local<T>(
        &mut self,
        index: usize,
        operation: impl FnOnce(&mut Replica, &mut ChaCha8Rng) -> T,
    ) -> Result<T, SimError> {
        let result = operation(&mut self.replicas[index].replica, &mut self.rng);
        self.replicas[index].note_saved()?;
        if let Some((engine, mut storage)) = self.replicas[index].engine_and_storage() {
            let polled = engine.poll_outbox(&mut storage).map(|(_, messages)| messages);
            self.after_engine_call(index, polled)?;
        }
        Ok(result)
    }

    /// One scheduled event (see the crate documentation).
    pub fn step(&mut self) -> Result<(), SimError> {
        let faults = self.faults;
        let roll: f64 = self.rng.random();
        let index = self.rng.random_range(0..self.replicas.len());
        let mut threshold = faults.relay_crash;
        if roll < threshold {
            return self.crash_relay();
        }
        threshold += faults.crash;
        if roll < threshold {
            let writes = self.rng.random_range(0..4);
            self.replicas[index].armed.crash_after_writes = Some(writes);
            return Ok(());
        }
        threshold += faults.disconnect;
        if roll < threshold {
            self.disconnect(index);
            return Ok(());
        }
        match self.replicas[index].session.is_some() {
            false => self.connect(index),
            true => {
                let pick = roll - threshold;
                let (drop, duplicate, reorder) = (faults.drop, faults.duplicate, faults.reorder);
                let lose = faults.lose;
                let delivery = if pick < drop {
                    Delivery::Drop
                } else if pick < drop + lose {
                    Delivery::Lose
                } else if pick < drop + lose + duplicate {
                    Delivery::Duplicate
                } else if pick < drop + lose + duplicate + reorder {
                    Delivery::Reorder
                } else {
                    Delivery::InOrder
                };
                self.deliver_some(index, delivery)
            }
        }
    }

    /// Heals the network (no more faults) and runs until every replica is
    /// connected, no message is in flight, no engine has work, and no replica
    /// is behind the relay's change feed or has an outbox or retry left.
    pub fn run_until_quiescent(&mut self) -> Result<(), SimError> {
        let everyone: Vec<usize> = (0..self.replicas.len()).collect();
        self.settle(&everyone)
    }

    /// [`Self::run_until_quiescent`] for some devices only; the others stay
    /// offline (disconnected) throughout. The network stops misbehaving, but
    /// faults already armed in a replica's storage ([`Armed`]) still happen.
    pub fn settle(&mut self, devices: &[usize]) -> Result<(), SimError> {
        self.faults = Faults::NONE;
        for index in 0..self.replicas.len() {
            if !devices.contains(&index) {
                self.disconnect(index);
            }
        }
        const MAX_PASSES: usize = 10_000;
        for _ in 0..MAX_PASSES {
            let mut moved = false;
            for &index in devices {
                if self.replicas[index].session.is_none() {
                    self.connect(index)?;
                    moved = true;
                    continue;
                }
                let link = &self.replicas[index].session.as_ref().map(|session| &session.link);
                let pending = link
                    .is_some_and(|link| !link.to_relay.is_empty() || !link.to_replica.is_empty());
                if pending {
                    self.deliver_some(index, Delivery::InOrder)?;
                    moved = true;
                } else if self.replicas[index].session.is_some() && self.needs_round(index)? {
                    self.start_round(index)?;
                    moved = true;
                }
            }
            if !moved {
                return Ok(());
            }
        }
        let mut states = Vec::new();
        for replica in &mut self.replicas {
            let cursor = replica.replica.sync_cursor(REMOTE)?;
            let (_, next) = self.relay.disk.feed(self.workspace, cursor);
            states.push(format!(
                "device {}: idle {:?}, pending {:?}, cursor {cursor} of {next}, outbox {:?}, retries {:?}",
                replica.index,
                replica.session.as_ref().map(|session| session.engine.is_idle()),
                replica.session.as_ref().map(|session| session.engine.pending()),
                replica.replica.outbox()?,
                replica.replica.sync_retries(REMOTE)?,
            ));
        }
        Err(SimError::NotQuiescent { passes: MAX_PASSES, states })
    }

    /// Whether a connected replica with nothing in flight has a reason for
    /// another round (or is stuck and must reconnect).
    fn needs_round(&mut self, index: usize) -> Result<bool, SimError> {
        let replica = &mut self.replicas[index];
        let idle = replica.session.as_ref().is_some_and(|session| session.engine.is_idle());
        if !idle {
            // Waiting for an answer that will never come: the shell's idle
            // timeout ends the connection, and the next pass reconnects.
            self.stats.timeouts += 1;
            self.disconnect(index);
            return Ok(true);
        }
        let cursor = replica.replica.sync_cursor(REMOTE)?;
        let (_, next) = self.relay.disk.feed(self.workspace, cursor);
        let behind = next != cursor;
        let outbox = !replica.replica.outbox()?.is_empty();
        let retries = !replica.replica.sync_retries(REMOTE)?.is_empty();
        Ok(behind || outbox || retries)
    }

    /// Connects a device and starts its first round.
    fn connect(&mut self, index: usize) -> Result<(), SimError> {
        let conn = self.next_conn;
        self.next_conn += 1;
        let peer = Peer {
            workspace: self.workspace,
            peer_id: self.replicas[index].peer_id(),
            read_only: false,
        };
        for effect in self.relay.connect(conn, peer) {
            // A device never has two connections here: nothing is replaced.
            if let RelayEffect::Cut { reason, .. } = effect {
                return Err(SimError::Closed { device: index, reason });
            }
        }
        self.note(|| format!("device {index} connects as {conn}"));
        let engine = ReplicaEngine::new(&self.replicas[index].peer_id(), RELAY_PEER_ID);
        self.replicas[index].session =
            Some(Session { engine, link: Link { conn, ..Link::default() } });
        self.start_round(index)
    }

    /// Reads the relay's change feed since the replica's cursor and starts a round.
    fn start_round(&mut self, index: usize) -> Result<(), SimError> {
        self.stats.rounds += 1;
        let cursor = self.replicas[index].replica.sync_cursor(REMOTE)?;
        let (feed, next) = self.relay.disk.feed(self.workspace, cursor);
        let Some((engine, mut storage)) = self.replicas[index].engine_and_storage() else {
            return Ok(());
        };
        let started = engine.start_round(&mut storage, &feed, next);
        self.after_engine_call(index, started)
    }

    /// Ends a replica's session (the relay forgets the connection).
    fn disconnect(&mut self, index: usize) {
        if let Some(session) = self.replicas[index].session.take() {
            self.note(|| format!("device {index} disconnects"));
            self.stats.disconnects += 1;
            self.relay.disconnect(session.link.conn);
        }
    }

    fn crash_relay(&mut self) -> Result<(), SimError> {
        self.stats.relay_crashes += 1;
        self.relay.crash();
        for replica in &mut self.replicas {
            replica.session = None;
        }
        Ok(())
    }

    /// The replica's process dies and starts again from its file.
    fn crash_replica(&mut self, index: usize) -> Result<(), SimError> {
        self.stats.crashes += 1;
        self.disconnect(index);
        let seeded = Seeded { seed: self.rng.random(), now: sim_now() };
        self.replicas[index].restart(seeded)
    }

    /// Queues what an engine call produced, or handles its failure.
    fn after_engine_call(
        &mut self,
        index: usize,
        produced: Result<Vec<Message>, EngineError<SimError>>,
    ) -> Result<(), SimError> {
        match produced {
            Ok(messages) => {
                if let Some(session) = &mut self.replicas[index].session {
                    session.link.to_relay.extend(messages);
                }
                Ok(())
            }
            Err(EngineError::Storage(SimError::Crashed)) => self.crash_replica(index),
            Err(EngineError::Storage(error)) => Err(error),
            Err(EngineError::Refused(reason)) => Err(SimError::Refused { device: index, reason }),
        }
    }

    /// Delivers one message on the replica's link, in the direction that has
    /// messages (chosen by the scheduler when both do).
    fn deliver_some(&mut self, index: usize, delivery: Delivery) -> Result<(), SimError> {
        let Some(session) = &mut self.replicas[index].session else { return Ok(()) };
        let link = &mut session.link;
        let towards_relay = match (link.to_relay.is_empty(), link.to_replica.is_empty()) {
            (true, true) => return Ok(()),
            (false, true) => true,
            (true, false) => false,
            (false, false) => self.rng.random_bool(0.5),
        };
        let queue = if towards_relay { &mut link.to_relay } else { &mut link.to_replica };
        let position = match delivery {
            Delivery::Reorder if queue.len() > 1 => {
                self.stats.reordered += 1;
                self.rng.random_range(1..queue.len())
            }
            _ => 0,
        };
        let message = match delivery {
            Delivery::Duplicate => {
                self.stats.duplicated += 1;
                queue.get(position).cloned()
            }
            _ => queue.remove(position),
        };
        let Some(message) = message else { return Ok(()) };
        match delivery {
            Delivery::Drop => {
                self.stats.dropped += 1;
                self.disconnect(index);
                return Ok(());
            }
            Delivery::Lose => {
                self.stats.lost += 1;
                return Ok(());
            }
            _ => {}
        }
        self.stats.delivered += 1;
        if let Some(trace) = &mut self.trace {
            let direction = if towards_relay { "->" } else { "<-" };
            trace.push(format!("device {index} {direction} relay: {}", describe(&message)));
        }
        let conn = link.conn;
        if towards_relay {
            let effects = self.relay.receive(conn, message)?;
            self.apply_relay_effects(effects)
        } else {
            // The shell hands the engine every frame that has arrived at once,
            // as `sync-client` does: take a few more that are waiting.
            let mut frames = vec![message];
            if matches!(delivery, Delivery::InOrder) {
                let more = self.rng.random_range(0..MAX_FRAMES_AT_ONCE);
                let waiting = &mut session.link.to_replica;
                frames.extend(waiting.drain(..more.min(waiting.len())));
            }
            let Some((engine, mut storage)) = self.replicas[index].engine_and_storage() else {
                return Ok(());
            };
            let received = engine.receive(&mut storage, frames);
            self.after_engine_call(index, received)
        }
    }

    fn apply_relay_effects(&mut self, effects: Vec<RelayEffect>) -> Result<(), SimError> {
        for effect in effects {
            match effect {
                RelayEffect::Send { conn, message } => {
                    let receiver = self.replicas.iter_mut().find(|replica| {
                        replica.session.as_ref().is_some_and(|session| session.link.conn == conn)
                    });
                    if let Some(session) = receiver.and_then(|replica| replica.session.as_mut()) {
                        session.link.to_replica.push_back(message);
                    }
                }
                RelayEffect::Close { conn, reason, .. } | RelayEffect::Cut { conn, reason, .. } => {
                    let device = self
                        .replicas
                        .iter()
                        .position(|replica| {
                            replica
                                .session
                                .as_ref()
                                .is_some_and(|session| session.link.conn == conn)
                        })
                        .unwrap_or(usize::MAX);
                    return Err(SimError::Closed { device, reason });
                }
            }
        }
        Ok(())
    }

    /// Every document the relay holds for the workspace, with its sorted heads
    /// (as text): where a run ended, to compare two runs of one seed.
    pub fn relay_heads(&self) -> Result<Vec<(String, Vec<String>)>, SimError> {
        let mut documents = self.relay.disk.documents(self.workspace)?;
        Ok(documents
            .iter_mut()
            .map(|(document, doc)| {
                let heads = sorted(doc.get_heads()).iter().map(ToString::to_string).collect();
                (document.to_string(), heads)
            })
            .collect())
    }

    /// Checks the invariants of the crate documentation; `Err` names the first
    /// that does not hold.
    pub fn check(&mut self) -> Result<(), SimError> {
        let broken = |what: String| Err(SimError::Invariant(what));
        let mut relay_documents = self.relay.disk.documents(self.workspace)?;
        let mut relay_contents = BTreeMap::new();
        for (document, doc) in &mut relay_documents {
            relay_contents.insert(*document, contents_of(doc)?);
        }
        let mut reference = None;
        for replica in &mut self.replicas {
            let index = replica.index;
            let store = &mut replica.replica;
            if !store.outbox()?.is_empty() {
                return broken(format!("device {index} has an outbox left"));
            }
            if !store.sync_retries(REMOTE)?.is_empty() {
                return broken(format!("device {index} has retries left"));
            }
            let mut contents = BTreeMap::new();
            for (doc_id, _) in store.documents()? {
                let mut doc = AutoCommit::load(&store.export_document(doc_id)?)?;
                contents.insert(document_id(doc_id), contents_of(&mut doc)?);
            }
            if contents != relay_contents {
                let differing: Vec<String> = contents
                    .keys()
                    .chain(relay_contents.keys())
                    .filter(|document| contents.get(document) != relay_contents.get(document))
                    .map(ToString::to_string)
                    .collect();
                return broken(format!(
                    "device {index}'s documents differ from the relay's: {differing:?}"
                ));
            }
            let visible = queries::visible(store)?;
            store.reindex()?;
            if queries::visible(store)? != visible {
                return broken(format!("device {index}'s mirror differs from its rebuild"));
            }
            match &reference {
                None => reference = Some(visible),
                Some(first) if *first != visible => {
                    return broken(format!("device {index}'s queries answer unlike device 0's"));
                }
                Some(_) => {}
            }
        }
        for replica in &self.replicas {
            for (doc_id, heads) in &replica.saved {
                let Some(doc) = relay_documents.get_mut(&document_id(*doc_id)) else {
                    return broken(format!(
                        "document {doc_id} saved on device {} never reached the relay",
                        replica.index
                    ));
                };
                for hash in heads {
                    if doc.get_change_by_hash(hash).is_none() {
                        return broken(format!(
                            "a change to {doc_id} saved on device {} was lost",
                            replica.index
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Delivery {
    InOrder,
    Drop,
    Lose,
    Duplicate,
    Reorder,
}

/// A document's sorted heads and hydrated contents.
fn contents_of(
    doc: &mut AutoCommit,
) -> Result<(Vec<automerge::ChangeHash>, automerge::hydrate::Value), SimError> {
    Ok((sorted(doc.get_heads()), doc.hydrate(automerge::ROOT, None)?))
}

/// One line about a message, for traces.
fn describe(message: &Message) -> String {
    match message {
        Message::Sync { document_id, data, .. } | Message::Request { document_id, data, .. } => {
            let kind = if matches!(message, Message::Request { .. }) { "request" } else { "sync" };
            match automerge::sync::Message::decode(data) {
                Ok(decoded) => format!(
                    "{kind} {document_id}: heads {:?}, need {}, have {}, changes {}",
                    decoded
                        .heads
                        .iter()
                        .map(|hash| hash.to_string()[..8].to_owned())
                        .collect::<Vec<_>>(),
                    decoded.need.len(),
                    decoded.have.len(),
                    decoded.changes.len()
                ),
                Err(error) => format!("{kind} {document_id}: undecodable ({error})"),
            }
        }
        other => format!("{other:?}"),
    }
}

fn sorted(mut heads: Vec<automerge::ChangeHash>) -> Vec<automerge::ChangeHash> {
    heads.sort_unstable();
    heads
}

fn document_id(doc_id: DocId) -> DocumentId {
    DocumentId::from_bytes(*doc_id.as_bytes())
}

/// The simulation's directory: in memory where the system has one (`/dev/shm`),
/// as durability across power loss is not what the simulation tests and every
/// fsync would cost a disk write.
fn sim_dir() -> Result<tempfile::TempDir, std::io::Error> {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::Builder::new().prefix("kartoteka-sim-").tempdir_in(shm)
    } else {
        tempfile::Builder::new().prefix("kartoteka-sim-").tempdir()
    }
}
