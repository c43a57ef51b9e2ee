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
    retries: HashMap<DocumentId, u32>,
    cursor: i64,
    /// Documents whose next `receive` fails (as a malformed change would).
    fail_once: HashSet<DocumentId>,
    /// Documents whose every `receive` fails (as one the replica refuses).
    fail_always: HashSet<DocumentId>,
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
        for document in &record.retry {
            *self.retries.entry(*document).or_default() += 1;
        }
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

    fn retries(&self) -> Result<Vec<(DocumentId, u32)>, Failed> {
        let mut retries: Vec<_> =
            self.retries.iter().map(|(doc, rounds)| (*doc, *rounds)).collect();
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
            let refused = self.fail_always.contains(document);
            if self.fail_once.remove(document) || refused || applied.is_err() {
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
    last_seq: i64,
}

impl MemoryRelay {
    fn put(&mut self, document: DocumentId, doc: AutoCommit) {
        self.docs.insert(document, doc);
        self.announce(document);
    }

    fn announce(&mut self, document: DocumentId) {
        let heads = self.docs.get_mut(&document).unwrap().get_heads();
        self.feed.retain(|entry| entry.document_id != document.to_string());
        self.last_seq += 1;
        self.feed.push(FeedEntry {
            document_id: document.to_string(),
            seq: self.last_seq,
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

/// Runs a round to its end on a new connection (the relay keeps sync states
/// per connection), delivering every message at once.
fn round(store: &mut MemoryStore, relay: &mut MemoryRelay) -> ReplicaEngine {
    relay.states.clear();
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
    assert_eq!(store.retries().unwrap(), [(document(1), 1)]);

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

#[test]
fn a_document_that_always_fails_is_given_up_after_five_rounds_until_it_changes() {
    let mut relay = MemoryRelay::default();
    relay.put(document(4), doc_with("name", "Refused"));
    let mut store = MemoryStore::default();
    store.fail_always.insert(document(4));
    let mut downloads = Vec::new();
    for _ in 0..8 {
        let engine = round(&mut store, &mut relay);
        downloads.push(engine.stats().documents_failed);
    }
    // Tried in the round the feed named it and in four retries, then no more.
    assert_eq!(downloads, [1, 1, 1, 1, 1, 0, 0, 0]);
    assert_eq!(store.retries().unwrap(), [(document(4), sync_engine::MAX_RETRY_ROUNDS)]);
    assert_eq!(round(&mut store, &mut relay).stats().documents_given_up, 1);

    // Once it changes at the relay, the feed names it and it is tried again.
    store.fail_always.clear();
    let mut changed = relay.docs[&document(4)].clone();
    changed.put(automerge::ROOT, "name", "Accepted").unwrap();
    relay.put(document(4), changed);
    round(&mut store, &mut relay);
    assert_eq!(value(&store.docs[&document(4)], "name").as_deref(), Some("\"Accepted\""));
    assert!(store.retries.is_empty());
}

#[test]
fn doc_unavailable_for_a_document_the_replica_sent_acknowledges_nothing() {
    let mut store = MemoryStore::default();
    store.docs.insert(document(5), doc_with("name", "Ozols"));
    store.outbox.insert(document(5), 1);
    let mut engine = ReplicaEngine::new(DEVICE, RELAY);
    let sent = engine.start_round(&mut store, &[], 0).unwrap();
    assert!(matches!(sent[..], [Message::Sync { .. }]), "{sent:?}");
    let unavailable = Message::DocUnavailable {
        sender_id: RELAY.to_owned(),
        target_id: DEVICE.to_owned(),
        document_id: document(5).to_string(),
    };
    engine.receive(&mut store, vec![unavailable]).unwrap();
    assert!(engine.is_idle());
    assert_eq!(store.outbox.get(&document(5)), Some(&1), "the edit is still to be pushed");
    assert_eq!(store.retries().unwrap(), [(document(5), 1)]);
}

#[test]
fn an_undecodable_message_puts_its_document_up_for_retry_at_once() {
    let mut relay = MemoryRelay::default();
    relay.put(document(6), doc_with("name", "Liepa"));
    let mut store = MemoryStore::default();
    let mut engine = ReplicaEngine::new(DEVICE, RELAY);
    let (feed, next) = relay.feed_since(0);
    engine.start_round(&mut store, &feed, next).unwrap();
    let garbage = Message::sync(RELAY, DEVICE, document(6), vec![0x42, 0xff, 0xff]);
    engine.receive(&mut store, vec![garbage]).unwrap();
    assert!(engine.is_idle(), "nothing waits for a reply that will not come");
    assert_eq!(store.retries().unwrap(), [(document(6), 1)]);
    assert_eq!(store.cursor, 1);
}

#[test]
fn documents_the_relay_announces_do_not_keep_a_round_open() {
    let mut relay = MemoryRelay::default();
    relay.put(document(7), doc_with("name", "Egle"));
    let mut store = MemoryStore::default();
    let mut engine = ReplicaEngine::new(DEVICE, RELAY);
    let (feed, next) = relay.feed_since(0);
    let mut outgoing = engine.start_round(&mut store, &feed, next).unwrap();
    // Another device keeps creating documents; the relay announces each one.
    for byte in 100..110 {
        let mut other = MemoryRelay::default();
        other.put(document(byte), doc_with("name", "new"));
        let mut state = sync::State::new();
        let first =
            other.docs.get_mut(&document(byte)).unwrap().sync().generate_sync_message(&mut state);
        let announce = Message::sync(RELAY, DEVICE, document(byte), first.unwrap().encode());
        let replies: Vec<Message> = outgoing.drain(..).flat_map(|m| relay.answer(m)).collect();
        outgoing =
            engine.receive(&mut store, replies.into_iter().chain([announce]).collect()).unwrap();
    }
    assert!(engine.is_idle(), "the round's own document is done");
    assert!(store.docs.contains_key(&document(7)));
    assert_eq!(store.cursor, 1);
}
