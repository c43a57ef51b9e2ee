//! One peer's message sequence against the real hub over a small stored
//! workspace: the harness of the `hub_sequence` fuzz target and of the test that
//! replays its corpus (the fuzz target includes this file by path).
//!
//! Input: a first byte (bit 0: the token is read-only), then frames of
//! `[kind][document][length: u16 LE][payload]`: kind 0 is `request`, 1 `sync`
//! (the payload an Automerge sync message), 2 `ephemeral`; document 0 and 1 are
//! stored documents of the workspace, any other value one the relay does not
//! have. The frames reach the hub as decoded messages from one connection, then
//! the connection ends. The hub must stay healthy and must not have caught a
//! panic: a caught panic costs only the connection, but it is still a bug.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use automerge::sync::SyncDoc;
use automerge::transaction::Transactable;
use relay_core::hub::SEND_QUEUE;
use relay_core::{ConnectionGrant, Grant, Hub, HubCommand, HubHandle, Metrics, RelayStore};
use sync_protocol::{DocumentId, Message};
use tokio::sync::{mpsc, oneshot};

const WORKSPACE: uuid::Uuid = uuid::Uuid::from_u128(0x0192_e4c8_7b1a_4c3e_9f00_3d2a_1b4c_5d6e);

/// A hub over a store in a temporary directory, shared by every input.
pub(crate) struct HubUnderTest {
    runtime: tokio::runtime::Runtime,
    handle: HubHandle,
    metrics: Arc<Metrics>,
    _dir: tempfile::TempDir,
}

fn document(index: u8) -> DocumentId {
    DocumentId::from_bytes([index.wrapping_add(1); 16])
}

fn grant(read_only: bool) -> Grant {
    Grant {
        token_id: if read_only { "reader" } else { "writer" }.to_owned(),
        workspace: WORKSPACE,
        peer_id: if read_only { "auditor" } else { "laptop" }.to_owned(),
        read_only,
    }
}

impl HubUnderTest {
    fn start() -> Self {
        // Under /dev/shm where there is one: the hub syncs every batch to disk.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() };
        let dir = dir.expect("a temporary directory");
        let store = RelayStore::open(dir.path()).expect("a relay store");
        let metrics = Arc::new(Metrics::default());
        let (handle, _thread) = Hub::spawn(&store, metrics.clone(), None).expect("the hub starts");
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let hub = Self { runtime, handle, metrics, _dir: dir };
        // Two stored documents with a few changes each, pushed by an honest peer.
        for index in 0..2 {
            let mut doc = automerge::AutoCommit::new();
            doc.put(automerge::ROOT, "kind", "client").expect("a put");
            for n in 0..3 {
                doc.put(automerge::ROOT, format!("field{n}"), n).expect("a put");
                doc.commit();
            }
            hub.push(index, &mut doc);
        }
        hub
    }

    /// Syncs `doc` into the hub as an honest writer until it has it.
    fn push(&self, index: u8, doc: &mut automerge::AutoCommit) {
        let mut state = automerge::sync::State::new();
        let (outbox, mut inbox) = mpsc::channel(SEND_QUEUE);
        let (kick, _kicked) = oneshot::channel();
        let conn = self.handle.next_conn_id();
        let connection =
            ConnectionGrant { grant: grant(false), outbox, kick, queued_bytes: Arc::default() };
        self.runtime.block_on(async {
            self.handle.send(HubCommand::Connect { conn, connection }).await.expect("hub runs");
            loop {
                let Some(message) = doc.sync().generate_sync_message(&mut state) else { break };
                let message = Message::sync("laptop", "relay", document(index), message.encode());
                let command = HubCommand::Message { conn, message, admission: None };
                self.handle.send(command).await.expect("hub runs");
                match inbox.recv().await {
                    Some(relay_core::Outgoing::Frame(bytes)) => {
                        let Ok(Message::Sync { data, .. }) = Message::decode(&bytes) else { break };
                        let reply = automerge::sync::Message::decode(&data).expect("a sync reply");
                        doc.sync().receive_sync_message(&mut state, reply).expect("applies");
                    }
                    _ => break,
                }
            }
            self.handle.send(HubCommand::Disconnect { conn }).await.expect("hub runs");
        });
    }

    fn get() -> &'static Self {
        static HUB: OnceLock<HubUnderTest> = OnceLock::new();
        HUB.get_or_init(Self::start)
    }
}

/// Frames read from an input: (kind, document, payload).
fn frames(data: &[u8]) -> Vec<(u8, u8, &[u8])> {
    let mut frames = Vec::new();
    let mut rest = data;
    while rest.len() >= 4 && frames.len() < 64 {
        let length = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        let end = (4 + length).min(rest.len());
        frames.push((rest[0], rest[1], &rest[4..end]));
        rest = &rest[end..];
    }
    frames
}

/// Encodes frames in the input format (for seeds).
pub(crate) fn encode(read_only: bool, frames: &[(u8, u8, Vec<u8>)]) -> Vec<u8> {
    let mut data = vec![u8::from(read_only)];
    for (kind, document, payload) in frames {
        let length = u16::try_from(payload.len()).unwrap_or(u16::MAX);
        data.extend([*kind, *document]);
        data.extend(length.to_le_bytes());
        data.extend(&payload[..usize::from(length)]);
    }
    data
}

/// Runs one input; panics if the hub stopped or caught a panic.
pub(crate) fn run(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let hub = HubUnderTest::get();
    let read_only = flags & 1 == 1;
    let peer = grant(read_only).peer_id;
    let (outbox, mut inbox) = mpsc::channel(SEND_QUEUE);
    let (kick, _kicked) = oneshot::channel();
    let conn = hub.handle.next_conn_id();
    let connection =
        ConnectionGrant { grant: grant(read_only), outbox, kick, queued_bytes: Arc::default() };
    hub.runtime.block_on(async {
        hub.handle.send(HubCommand::Connect { conn, connection }).await.expect("hub runs");
        for (kind, index, payload) in frames(rest) {
            let document = document(index);
            let message = match kind % 3 {
                0 => Message::request(&peer, "relay", document, payload.to_vec()),
                1 => Message::sync(&peer, "relay", document, payload.to_vec()),
                _ => Message::Ephemeral {
                    sender_id: peer.clone(),
                    target_id: String::new(),
                    count: 0,
                    session_id: "s".to_owned(),
                    document_id: document.to_string(),
                    data: payload.to_vec(),
                },
            };
            let command = HubCommand::Message { conn, message, admission: None };
            hub.handle.send(command).await.expect("hub runs");
        }
        hub.handle.send(HubCommand::Disconnect { conn }).await.expect("hub runs");
        // The hub drops the connection's queue once it handled the disconnect (or
        // closed it earlier): the input is done.
        while inbox.recv().await.is_some() {}
    });
    assert_eq!(hub.handle.health(), Ok(()), "the hub is not processing");
    assert_eq!(
        hub.metrics.panics.load(Ordering::Relaxed),
        0,
        "the hub caught a panic handling this input"
    );
}
