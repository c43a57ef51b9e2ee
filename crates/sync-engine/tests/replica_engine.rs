//! The replica engine over an in-memory store and an in-memory relay: no
//! sockets, no SQLite, no clock; every run is the same.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a panic is a failed test")]

use std::collections::{HashMap, HashSet};

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ReadDoc};
use sync_engine::{Outcome, ReplicaEngine, ReplicaStorage, SyncBatch, SyncRecord};
use sync_protocol::feed::FeedEntry;
use sync_protocol::{DocumentId, Message};

const RELAY: &str = "relay";
const DEVICE: &str = "laptop";

/// A storage failure (the in-memory store has none but the injected ones).
#[derive(Debug, thiserror::Error)]
#[error("storage failed")]
struct Failed;

/// A replica's store in memory, counting its write transactions.
#[derive(Default)]
struct MemoryStore {
    docs: HashMap<DocumentId, AutoCommit>,
    states: HashMap<DocumentId, Vec<u8>>,
    outbox: HashMap<DocumentId, i64>,
    retries: HashSet<DocumentId>,
    cursor: i64,
    /// Documents whose next `receive` fails (as a malformed change would).
    fail_once: HashSet<DocumentId>,
    write_transactions: usize,
}

impl MemoryStore {
    fn write(&mut self, record: &SyncRecord) {
        for (document, state) in &record.states {
            self.states.insert(*document, state.clone());
        }
        for (document, seq) in &record.pushed {
            if self.outbox.get(document).is_some_and(|known| known <= seq) {
                self.outbox.remove(document);
            }
        }
        for document in &record.retried {
            self.retries.remove(document);
        }
        self.retries.extend(record.retry.iter().copied());
        if let Some(cursor) = record.cursor {
            self.cursor = cursor;
        }
    }
}

impl ReplicaStorage for MemoryStore {
    type Error = Failed;

    fn cursor(&self) -> Result<i64, Failed> {
        Ok(self.cursor)
    }

    fn retries(&self) -> Result<Vec<DocumentId>, Failed> {
        let mut retries: Vec<_> = self.retries.iter().copied().collect();
        retries.sort();
        Ok(retries)
    }

    fn outbox(&self) -> Result<Vec<(DocumentId, i64)>, Failed> {
        let mut outbox: Vec<_> = self.outbox.iter().map(|(doc, seq)| (*doc, *seq)).collect();
        outbox.sort_by_key(|(_, seq)| *seq);
        Ok(outbox)
    }

    fn stored_heads(&self, document: DocumentId) -> Result<Option<Vec<ChangeHash>>, Failed> {
        Ok(self.docs.get(&document).map(|doc| {
            let mut heads = doc.clone().get_heads();
            heads.sort_unstable();
            heads
        }))
    }

    fn sync_state(&self, document: DocumentId) -> Result<Option<Vec<u8>>, Failed> {
        Ok(self.states.get(&document).cloned())
    }

    fn first_message(
        &mut self,
        document: DocumentId,
        state: &mut sync::State,
    ) -> Result<(bool, Option<sync::Message>), Failed> {
        Ok(match self.docs.get_mut(&document) {
            Some(doc) => (true, doc.sync().generate_sync_message(state)),
            None => (false, AutoCommit::new().sync().generate_sync_message(state)),
        })
    }

    fn receive(
        &mut self,
        documents: &[DocumentId],
        batch: &mut dyn SyncBatch,
    ) -> Result<Vec<Outcome>, Failed> {
        let mut outcomes = Vec::new();
        let mut changed = Vec::new();
        for document in documents {
            let mut doc = self.docs.get(document).cloned().unwrap_or_default();
            let before = doc.get_heads();
            let applied = batch.apply(*document, &mut doc);
            if self.fail_once.remove(document) || applied.is_err() {
                outcomes.push(Err("injected failure".to_owned()));
                continue;
            }
            if doc.get_heads() != before {
                changed.push((*document, doc));
            }
            outcomes.push(Ok(()));
        }
        let record = batch.record(&outcomes);
        if !changed.is_empty() || !record.is_empty() {
            self.write_transactions += 1;
        }
        self.docs.extend(changed);
        self.write(&record);
        Ok(outcomes)
    }

    fn record(&mut self, record: &SyncRecord) -> Result<(), Failed> {
        if !record.is_empty() {
            self.write_transactions += 1;
            self.write(record);
        }
        Ok(())
    }
}

/// A relay holding documents, answering each message at once.
#[derive(Default)]
struct MemoryRelay {
    docs: HashMap<DocumentId, AutoCommit>,
    states: HashMap<DocumentId, sync::State>,
    feed: Vec<FeedEntry>,
}

impl MemoryRelay {
    fn put(&mut self, document: DocumentId, doc: AutoCommit) {
        self.docs.insert(document, doc);
        self.announce(document);
    }

    fn announce(&mut self, document: DocumentId) {
        let heads = self.docs.get_mut(&document).unwrap().get_heads();
        self.feed.retain(|entry| entry.document_id != document.to_string());
        let seq = self.feed.iter().map(|entry| entry.seq).max().unwrap_or(0) + 1;
        self.feed.push(FeedEntry {
            document_id: document.to_string(),
            seq,
            heads: heads.iter().map(ToString::to_string).collect(),
        });
    }

    fn feed_since(&self, cursor: i64) -> (Vec<FeedEntry>, i64) {
        let entries: Vec<_> =
            self.feed.iter().filter(|entry| entry.seq > cursor).cloned().collect();
        let next = entries.iter().map(|entry| entry.seq).max().unwrap_or(cursor);
        (entries, next)
    }

    fn answer(&mut self, message: Message) -> Vec<Message> {
        let (Message::Sync { document_id, data, .. } | Message::Request { document_id, data, .. }) =
            message
        else {
            return Vec::new();
        };
        let document: DocumentId = document_id.parse().unwrap();
        let doc = self.docs.entry(document).or_default();
        let state = self.states.entry(document).or_default();
        let before = doc.get_heads();
        doc.sync().receive_sync_message(state, sync::Message::decode(&data).unwrap()).unwrap();
        let changed = doc.get_heads() != before;
        let reply = doc.sync().generate_sync_message(state);
        if changed {
            self.announce(document);
        }
        reply
            .map(|reply| Message::sync(RELAY, DEVICE, document, reply.encode()))
            .into_iter()
            .collect()
    }
}

/// Runs a round to its end, delivering every message at once.
fn round(store: &mut MemoryStore, relay: &mut MemoryRelay) -> ReplicaEngine {
    let mut engine = ReplicaEngine::new(DEVICE, RELAY);
    let (feed, next) = relay.feed_since(store.cursor);
    let mut outgoing = engine.start_round(store, &feed, next).unwrap();
    for _ in 0..1_000 {
        if engine.is_idle() {
            return engine;
        }
        let replies: Vec<Message> = outgoing.drain(..).flat_map(|m| relay.answer(m)).collect();
        outgoing = engine.receive(store, replies).unwrap();
    }
    panic!("the round did not end");
}

fn document(byte: u8) -> DocumentId {
    DocumentId::from_bytes([byte; 16])
}

fn doc_with(field: &str, value: &str) -> AutoCommit {
    let mut doc = AutoCommit::new();
    doc.put(automerge::ROOT, field, value).unwrap();
    doc
}

fn value(doc: &AutoCommit, field: &str) -> Option<String> {
    doc.get(automerge::ROOT, field).unwrap().map(|(value, _)| value.to_string())
}

#[test]
fn a_document_that_fails_in_a_round_is_retried_after_the_cursor_moved_on() {
    let mut relay = MemoryRelay::default();
    relay.put(document(1), doc_with("name", "Ķiploks SIA"));
    relay.put(document(2), doc_with("name", "Bērziņš"));
    let mut store = MemoryStore::default();
    store.fail_once.insert(document(1));

    round(&mut store, &mut relay);
    assert_eq!(store.cursor, 2, "the round read the feed to its end");
    assert!(store.docs.contains_key(&document(2)));
    assert!(!store.docs.contains_key(&document(1)), "its only message failed");
    assert_eq!(store.retries().unwrap(), [document(1)]);

    // Nothing changed at the relay since: the feed names nothing, and the
    // document arrives anyway.
    assert!(relay.feed_since(store.cursor).0.is_empty());
    round(&mut store, &mut relay);
    assert_eq!(value(&store.docs[&document(1)], "name").as_deref(), Some("\"Ķiploks SIA\""));
    assert!(store.retries.is_empty(), "the retry record is gone once it is in sync");
}

#[test]
fn a_pushed_document_costs_one_write_transaction_with_its_bookkeeping() {
    let mut relay = MemoryRelay::default();
    let mut store = MemoryStore::default();
    store.docs.insert(document(3), doc_with("name", "Ozols"));
    store.outbox.insert(document(3), 1);

    let engine = round(&mut store, &mut relay);
    assert_eq!(store.write_transactions, 1, "state and outbox in one transaction");
    assert!(store.outbox.is_empty());
    assert!(store.states.contains_key(&document(3)));
    assert_eq!(engine.stats().documents_sent, 1);
    assert_eq!(value(&relay.docs[&document(3)], "name").as_deref(), Some("\"Ozols\""));

    // The next round's feed names the pushed document with the heads it has
    // here: it is not synced again, only the cursor moves on.
    let engine = round(&mut store, &mut relay);
    assert_eq!(engine.stats().documents_synced, 0);
    assert_eq!(store.cursor, 1);
    assert_eq!(store.write_transactions, 2);

    // With nothing new anywhere, a round writes nothing.
    round(&mut store, &mut relay);
    assert_eq!(store.write_transactions, 2);
}

#[test]
fn the_last_document_of_a_round_commits_the_cursor_with_it() {
    let mut relay = MemoryRelay::default();
    for byte in 1..=3 {
        relay.put(document(byte), doc_with("name", &format!("client {byte}")));
    }
    let mut store = MemoryStore::default();
    round(&mut store, &mut relay);
    assert_eq!(store.docs.len(), 3);
    assert_eq!(store.cursor, 3);
    // The relay's answers came in one batch: the three documents, their sync
    // states and the cursor are one transaction.
    assert_eq!(store.write_transactions, 1);
}
