//! A peer that speaks the relay's protocol by hand over a raw websocket, for
//! tests and benchmarks that send what no honest replica would.

use std::time::Duration;

use crate::Relay;
use automerge::sync::SyncDoc;
use futures_util::{SinkExt, StreamExt};
use sync_protocol::{DocumentId, Message};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub const WORKSPACE: &str = "0192e4c8-7b1a-4c3e-9f00-3d2a1b4c5d6e";
pub const OTHER_WORKSPACE: &str = "0192e4c8-7b1a-4c3e-9f00-000000000002";

pub fn ws_url(relay: &Relay) -> String {
    format!("{}{}", relay.url.replace("http://", "ws://"), sync_protocol::SYNC_PATH)
}

/// Opens a websocket with the token in the query (as browsers must) and joins.
pub async fn join(relay: &Relay, token: &str, peer: &str) -> Socket {
    let url = format!("{}?token={token}", ws_url(relay));
    let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    handshake(socket, peer).await
}

/// Like [`join`], over a socket whose receive buffer the kernel keeps small: a
/// peer that does not read then holds back the relay after a few kilobytes, as
/// a slow mobile link would, instead of after the tens of megabytes a loopback
/// socket buffers.
pub async fn join_with_small_buffer(relay: &Relay, token: &str, peer: &str) -> Socket {
    let address: std::net::SocketAddr = relay.url.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(16 * 1024).unwrap();
    let stream = socket.connect(address).await.unwrap();
    let url = format!("{}?token={token}", ws_url(relay));
    let (socket, _) =
        tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)).await.unwrap();
    handshake(socket, peer).await
}

async fn handshake(mut socket: Socket, peer: &str) -> Socket {
    let join = Message::Join {
        sender_id: peer.to_owned(),
        supported_protocol_versions: vec!["1".to_owned()],
        peer_metadata: None,
    };
    socket.send(WsMessage::Binary(join.encode().into())).await.unwrap();
    match next_message(&mut socket).await {
        Some(Message::Peer { selected_protocol_version, .. }) => {
            assert_eq!(selected_protocol_version, "1")
        }
        other => panic!("expected peer, got {other:?}"),
    }
    socket
}

/// The next protocol message, or `None` once the relay closed (or 10 s passed).
pub async fn next_message(socket: &mut Socket) -> Option<Message> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await.ok()?? {
            Ok(WsMessage::Binary(bytes)) => return Some(Message::decode(&bytes).unwrap()),
            Ok(WsMessage::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Reads until the relay closes; returns the `error` message it sent, if any.
pub async fn refusal(socket: &mut Socket) -> Option<String> {
    let mut reason = None;
    while let Some(message) = next_message(socket).await {
        if let Message::Error { message } = message {
            reason = Some(message);
        }
    }
    reason
}

pub fn empty_doc_sync_message() -> Vec<u8> {
    let mut state = automerge::sync::State::new();
    automerge::AutoCommit::new().sync().generate_sync_message(&mut state).unwrap().encode()
}

/// Syncs `doc` to the relay until the relay has its heads.
pub async fn push(
    socket: &mut Socket,
    peer: &str,
    document: DocumentId,
    doc: &mut automerge::AutoCommit,
) {
    let mut state = automerge::sync::State::new();
    for _ in 0..20 {
        let Some(message) = doc.sync().generate_sync_message(&mut state) else { break };
        let sync = Message::sync(peer, "kartoteka-relay", document, message.encode());
        socket.send(WsMessage::Binary(sync.encode().into())).await.unwrap();
        match next_message(socket).await {
            Some(Message::Sync { data, .. }) => {
                let reply = automerge::sync::Message::decode(&data).unwrap();
                doc.sync().receive_sync_message(&mut state, reply).unwrap();
            }
            other => panic!("expected the relay's sync reply, got {other:?}"),
        }
        if state.their_heads.as_ref() == Some(&doc.get_heads()) {
            return;
        }
    }
    assert_eq!(state.their_heads.as_ref(), Some(&doc.get_heads()), "the relay did not take it");
}

/// One honest round: a device asks for a document it does not have and gets
/// the relay's answer. Returns what the relay answered.
pub async fn honest_round(socket: &mut Socket, peer: &str, document: DocumentId) -> Message {
    let request = Message::request(peer, "kartoteka-relay", document, empty_doc_sync_message());
    socket.send(WsMessage::Binary(request.encode().into())).await.unwrap();
    next_message(socket).await.expect("the relay answers an honest request")
}

/// Fetches `/metrics` and returns the value of one metric.
pub async fn metric(relay: &Relay, name: &str) -> Option<u64> {
    let text = reqwest::get(format!("{}/metrics", relay.url)).await.ok()?.text().await.ok()?;
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The 10-byte Automerge sync message of the hardening review: one Bloom filter
/// with one entry, zero bits per entry (so no bits) and one probe.
pub const ZERO_BIT_FILTER: [u8; 10] = [0x42, 0x00, 0x00, 0x01, 0x00, 0x03, 0x01, 0x00, 0x01, 0x00];

/// An Automerge sync message carrying `filters` Bloom filters of one entry with
/// `probes` probes each (Automerge sends one filter of 7 probes).
pub fn probe_flood(filters: u64, probes: u64) -> Vec<u8> {
    let mut filter = vec![0x01, 0x0a];
    leb128(&mut filter, probes);
    filter.extend([0xff, 0xff]);
    let mut bytes = vec![0x42, 0x00, 0x00];
    leb128(&mut bytes, filters);
    for _ in 0..filters {
        bytes.push(0x00); // no lastSync hashes
        leb128(&mut bytes, filter.len() as u64);
        bytes.extend(&filter);
    }
    bytes.push(0x00); // no changes
    bytes
}

fn leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A CBOR map whose unknown first field holds `items` one-byte items, then
/// `type: sync`: a decoder that buffers unknown fields item by item pays tens of
/// bytes for each byte of it.
pub fn tiny_item_frame(items: u32) -> Vec<u8> {
    let mut frame = vec![0xa2, 0x64];
    frame.extend(b"junk");
    frame.push(0x9a);
    frame.extend(items.to_be_bytes());
    frame.resize(frame.len() + items as usize, 0x01);
    frame.push(0x64);
    frame.extend(b"type");
    frame.push(0x64);
    frame.extend(b"sync");
    frame
}

/// An `ephemeral` message (presence) of `size` bytes from `sender` about
/// `document`, the `count`th of its session.
pub fn ephemeral(sender: &str, document: DocumentId, count: u64, size: usize) -> Message {
    Message::Ephemeral {
        sender_id: sender.to_owned(),
        target_id: String::new(),
        count,
        session_id: "s".to_owned(),
        document_id: document.to_string(),
        data: vec![0x5a; size],
    }
}
