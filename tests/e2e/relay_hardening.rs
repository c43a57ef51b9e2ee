//! The relay against a hostile peer with a valid token (read-only included):
//! nothing one connection sends may stop, stall or starve the relay for other
//! connections and workspaces, and nothing it sends may grow the relay's memory
//! without bound. Each test reproduces one finding of the hardening review
//! through the real relay binary.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use automerge::transaction::Transactable;
use futures_util::{SinkExt, StreamExt};
use kartoteka_e2e::Relay;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use sync_protocol::{DocumentId, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use kartoteka_e2e::raw::{
    OTHER_WORKSPACE, WORKSPACE, ZERO_BIT_FILTER, honest_round, join, metric, next_message,
    probe_flood, push, refusal, tiny_item_frame, ws_url,
};

/// A document the relay holds, pushed by an honest writer; returns its id.
async fn stored_document(relay: &Relay, token: &str, peer: &str) -> DocumentId {
    let mut socket = join(relay, token, peer).await;
    let document = DocumentId::from_bytes([7; 16]);
    let mut doc = automerge::AutoCommit::new();
    doc.put(automerge::ROOT, "kind", "client").unwrap();
    doc.put(automerge::ROOT, "name", "Kafejnīca Rīts SIA").unwrap();
    push(&mut socket, peer, document, &mut doc).await;
    document
}

/// Whether the hub still answers: a device of another workspace asks for a
/// document it does not have and is told it is unavailable.
async fn hub_serves_other_workspaces(relay: &Relay, other_token: &str, peer: &str) -> bool {
    let mut socket = join(relay, other_token, peer).await;
    let answer = honest_round(&mut socket, peer, DocumentId::from_bytes([9; 16]));
    matches!(answer.await, Message::DocUnavailable { .. })
}

async fn health(relay: &Relay) -> u16 {
    reqwest::get(format!("{}/health", relay.url)).await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bloom_filter_without_bits_closes_only_its_connection() {
    let relay = Relay::start();
    let writer = relay.token(WORKSPACE, "office", false);
    let reader = relay.token(WORKSPACE, "auditor", true);
    let bystander = relay.token(OTHER_WORKSPACE, "bystander", false);
    let document = stored_document(&relay, &writer, "office").await;

    let mut attacker = join(&relay, &reader, "auditor").await;
    let poison = Message::sync("auditor", "kartoteka-relay", document, ZERO_BIT_FILTER.to_vec());
    attacker.send(WsMessage::Binary(poison.encode().into())).await.unwrap();
    let reason = refusal(&mut attacker).await.expect("the relay says why it closes");
    assert!(reason.contains("Bloom filter"), "{reason}");

    assert!(hub_serves_other_workspaces(&relay, &bystander, "bystander").await, "the hub stopped");
    assert_eq!(health(&relay).await, 200);
    // The writer of the document keeps syncing it.
    let mut office = join(&relay, &writer, "office").await;
    assert!(matches!(honest_round(&mut office, "office", document).await, Message::Sync { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn randomly_mutated_sync_messages_never_stop_the_hub() {
    let relay = Relay::start();
    let writer = relay.token(WORKSPACE, "office", false);
    // The mutated messages carry a change, so they come from a device that may write.
    let attacker_token = relay.token(WORKSPACE, "laptop", false);
    let bystander = relay.token(OTHER_WORKSPACE, "bystander", false);
    let document = stored_document(&relay, &writer, "office").await;
    // A real message with a real filter: what a replica that synced the document
    // and then edited it sends.
    let honest = {
        use automerge::sync::SyncDoc;
        let mut doc = automerge::AutoCommit::new();
        let mut socket = join(&relay, &writer, "office").await;
        push(&mut socket, "office", document, &mut doc).await;
        let mut peer = doc.fork();
        let mut ours = automerge::sync::State::new();
        let mut theirs = automerge::sync::State::new();
        loop {
            let Some(message) = doc.sync().generate_sync_message(&mut ours) else { break };
            peer.sync().receive_sync_message(&mut theirs, message).unwrap();
            let Some(reply) = peer.sync().generate_sync_message(&mut theirs) else { break };
            doc.sync().receive_sync_message(&mut ours, reply).unwrap();
        }
        peer.put(automerge::ROOT, "phone", "+371 2000 0000").unwrap();
        // Meanwhile the office changes the document on the relay, so the relay
        // checks its new change against the peer's filter.
        doc.put(automerge::ROOT, "email", "birojs@rits.lv").unwrap();
        push(&mut socket, "office", document, &mut doc).await;
        peer.sync().generate_sync_message(&mut theirs).unwrap()
    };
    let filter = honest.have.first().map(|have| have.bloom.to_bytes()).unwrap_or_default();
    assert!(!filter.is_empty(), "the message carries a Bloom filter");
    let honest = honest.encode();
    let filter_at = honest.windows(filter.len()).position(|window| window == filter).unwrap();
    let seed = 0x6b61_7274_6f74_656b;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut attacker = join(&relay, &attacker_token, "laptop").await;
    for attempt in 0..400 {
        let mut mutated = honest.clone();
        for _ in 0..rng.random_range(1..3) {
            // Mostly in the filter, where Automerge trusts what it reads.
            let at = if rng.random_bool(0.8) {
                filter_at + rng.random_range(0..filter.len())
            } else {
                rng.random_range(0..mutated.len())
            };
            mutated[at] = if rng.random_bool(0.5) { rng.random_range(0..4) } else { rng.random() };
        }
        let sync = Message::sync("laptop", "kartoteka-relay", document, mutated);
        let answered = attacker.send(WsMessage::Binary(sync.encode().into())).await.is_ok()
            && tokio::time::timeout(Duration::from_millis(500), attacker.next())
                .await
                .is_ok_and(|frame| matches!(frame, Some(Ok(WsMessage::Binary(_)))));
        if !answered {
            // Refused (closed) or ignored: come back, as an attacker would.
            attacker = join(&relay, &attacker_token, "laptop").await;
        }
        if attempt % 50 == 49 {
            assert!(
                hub_serves_other_workspaces(&relay, &bystander, "bystander").await,
                "the hub stopped after {attempt} mutations (seed {seed:#x})"
            );
        }
    }
    assert_eq!(health(&relay).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_with_billions_of_probes_or_thousands_of_filters_are_refused() {
    let relay = Relay::start();
    let writer = relay.token(WORKSPACE, "office", false);
    let reader = relay.token(WORKSPACE, "auditor", true);
    let document = stored_document(&relay, &writer, "office").await;

    // One filter of 2^32 - 1 probes; 2,000 filters of 100,000 probes each.
    for bytes in [probe_flood(1, u64::from(u32::MAX)), probe_flood(2_000, 100_000)] {
        let mut attacker = join(&relay, &reader, "auditor").await;
        let sync = Message::sync("auditor", "kartoteka-relay", document, bytes);
        attacker.send(WsMessage::Binary(sync.encode().into())).await.unwrap();
        let reason = refusal(&mut attacker).await.expect("refused, not computed");
        assert!(reason.contains("Bloom filter"), "{reason}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_cannot_take_the_connections_of_other_tenants() {
    let relay = Relay::start_with(&["--max-connections", "40"]);
    let flooder = relay.token(WORKSPACE, "auditor", true);
    let honest = relay.token(OTHER_WORKSPACE, "office", false);
    // Upgrades that never join, as many as the attacker can get.
    let mut held = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..50 {
        let url = format!("{}?token={flooder}", ws_url(&relay));
        match tokio_tungstenite::connect_async(url).await {
            Ok((socket, _)) => held.push(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                refused.push(response.status().as_u16());
                assert!(response.headers().contains_key("retry-after"));
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(held.len(), 4, "one token holds at most four connections");
    assert!(refused.iter().all(|status| *status == 429), "{refused:?}");
    // Another workspace syncs as if nothing happened.
    for _ in 0..20 {
        assert!(hub_serves_other_workspaces(&relay, &honest, "office").await);
    }
    // A connection that never joins loses its place after the handshake timeout.
    for socket in &mut held {
        let closed = tokio::time::timeout(Duration::from_secs(15), socket.next()).await;
        assert!(closed.is_ok(), "a connection that never joined was kept");
    }
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    join(&relay, &flooder, "auditor").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_and_one_address_cannot_hold_many_pending_connections() {
    let relay = Relay::start();
    let token = relay.token(WORKSPACE, "office", false);
    let address: SocketAddr = relay.url.trim_start_matches("http://").parse().unwrap();
    let attacker_ip: IpAddr = "127.0.0.2".parse().unwrap();
    let mut slow = Vec::new();
    for _ in 0..100 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(attacker_ip, 0)).unwrap();
        let mut stream = socket.connect(address).await.unwrap();
        // Headers that never end.
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: relay\r\n").await.unwrap();
        slow.push(stream);
    }
    // Beyond 64, the relay closes them at once.
    let mut closed_at_once = 0;
    for stream in &mut slow {
        let mut byte = [0_u8; 1];
        // Closed (end of stream, or a reset: the relay did not read the headers).
        let read = tokio::time::timeout(Duration::from_millis(20), stream.read(&mut byte)).await;
        if matches!(read, Ok(Ok(0) | Err(_))) {
            closed_at_once += 1;
        }
    }
    assert_eq!(closed_at_once, 100 - 64, "pending connections beyond 64 from one address");
    // Honest clients (another address) are served meanwhile.
    let mut socket = join(&relay, &token, "office").await;
    assert!(matches!(
        honest_round(&mut socket, "office", DocumentId::from_bytes([5; 16])).await,
        Message::DocUnavailable { .. }
    ));
    // The others are cut off once the header deadline passes.
    for stream in &mut slow {
        let mut byte = [0_u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut byte)).await;
        assert!(read.is_ok(), "a connection that never finished its headers was kept");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_the_relays_connections_open() {
    let relay = Relay::start();
    let address: SocketAddr = relay.url.trim_start_matches("http://").parse().unwrap();
    let attacker_ip: IpAddr = "127.0.0.2".parse().unwrap();
    // Kept-alive connections that each send a cheap request: not pending, open.
    let mut open = Vec::new();
    let mut refused = 0;
    for _ in 0..300 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(attacker_ip, 0)).unwrap();
        let mut stream = socket.connect(address).await.unwrap();
        let _ = stream.write_all(b"GET /health HTTP/1.1\r\nHost: relay\r\n\r\n").await;
        let mut answer = [0_u8; 256];
        match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut answer)).await {
            Ok(Ok(read)) if read > 0 => open.push(stream),
            _ => refused += 1,
        }
    }
    assert_eq!(open.len(), 256, "open connections from one address");
    assert_eq!(refused, 300 - 256);
    // Another address is served.
    let health = reqwest::get(format!("{}/health", relay.url)).await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_bad_tokens_are_throttled_with_429_and_logged_once() {
    let relay = Relay::start();
    let token = relay.token(WORKSPACE, "office", false);
    let attacker = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let feed = format!("{}{}", relay.url, sync_protocol::CHANGES_PATH);
    let mut statuses = Vec::new();
    for attempt in 0..100 {
        let response =
            attacker.get(&feed).bearer_auth(format!("kt_guess_{attempt}")).send().await.unwrap();
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|status| **status == 401).count(), 21, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == 429).count(), 79);
    // Even the right token is not checked from that address until it waits.
    let throttled = attacker.get(&feed).bearer_auth(&token).send().await.unwrap();
    assert_eq!(throttled.status(), 429);
    // Other addresses are not affected.
    let honest = reqwest::Client::new().get(&feed).bearer_auth(&token).send().await.unwrap();
    assert_eq!(honest.status(), 200);
    // A device behind the throttled address (one office NAT) whose token passed
    // a check a moment ago is let through.
    let neighbour = attacker.get(&feed).bearer_auth(&token).send().await.unwrap();
    assert_eq!(neighbour.status(), 200);
    let log = relay.log();
    assert_eq!(log.matches("throttling an address").count(), 1, "{log}");
    assert!(!log.contains("refused a token"), "each failure logged at INFO:\n{log}");
    assert_eq!(metric(&relay, "kartoteka_relay_auth_failures_total").await, Some(21));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_queues_are_bounded_in_bytes_and_read_only_tokens_cannot_broadcast() {
    let relay = Relay::start();
    let writer = relay.token(WORKSPACE, "office", false);
    let reader = relay.token(WORKSPACE, "auditor", true);
    let listener_token = relay.token(WORKSPACE, "laptop", false);
    let document = DocumentId::from_bytes([4; 16]);
    let ephemeral = |sender: &str, size: usize, count: u64| {
        kartoteka_e2e::raw::ephemeral(sender, document, count, size)
    };

    // A read-only device's presence is not copied to anyone.
    let mut listener =
        kartoteka_e2e::raw::join_with_small_buffer(&relay, &listener_token, "laptop").await;
    let mut auditor = join(&relay, &reader, "auditor").await;
    let from_reader = ephemeral("auditor", 100, 1);
    auditor.send(WsMessage::Binary(from_reader.encode().into())).await.unwrap();
    let mut office = join(&relay, &writer, "office").await;
    office.send(WsMessage::Binary(ephemeral("office", 100, 2).encode().into())).await.unwrap();
    match next_message(&mut listener).await {
        Some(Message::Ephemeral { sender_id, .. }) => assert_eq!(sender_id, "office"),
        other => panic!("expected the writer's presence, got {other:?}"),
    }

    // Oversized presence is refused.
    let huge = ephemeral("office", 100 * 1024, 3);
    office.send(WsMessage::Binary(huge.encode().into())).await.unwrap();
    assert!(refusal(&mut office).await.unwrap().contains("64 KiB"));

    // A peer that never reads is closed once 32 MiB wait for it, long before
    // 1,024 messages of 60 KiB (60 MiB) would fill its queue.
    let before = relay.peak_rss_kb().unwrap();
    let mut office = join(&relay, &writer, "office").await;
    for count in 0..1_000 {
        let message = ephemeral("office", 60 * 1024, 10 + count);
        if office.send(WsMessage::Binary(message.encode().into())).await.is_err() {
            break;
        }
    }
    let mut received = 0;
    let mut closed_as_slow = false;
    while let Some(frame) =
        tokio::time::timeout(Duration::from_secs(10), listener.next()).await.ok().flatten()
    {
        match frame {
            Ok(WsMessage::Binary(_)) => received += 1,
            Ok(WsMessage::Close(Some(close))) => {
                closed_as_slow = u16::from(close.code) == 4000;
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(closed_as_slow, "the listener was not closed as slow ({received} received)");
    assert!(received < 1_000, "{received}");
    let grown_mb = (relay.peak_rss_kb().unwrap() - before) / 1024;
    assert!(grown_mb < 200, "the relay grew by {grown_mb} MB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_is_held_to_its_messages_per_second_and_others_are_not() {
    let relay = Relay::start();
    let reader = relay.token(WORKSPACE, "auditor", true);
    let honest = relay.token(WORKSPACE, "office", false);
    let mut flooder = join(&relay, &reader, "auditor").await;
    // 30,000 tiny messages as fast as the socket takes them: past the burst of
    // 20,000, the token waits (its read-only presence is dropped, unanswered).
    for count in 0..30_000 {
        let message =
            kartoteka_e2e::raw::ephemeral("auditor", DocumentId::from_bytes([4; 16]), count, 1);
        flooder.send(WsMessage::Binary(message.encode().into())).await.unwrap();
    }
    let mut limited = 0;
    for _ in 0..100 {
        limited = metric(&relay, "kartoteka_relay_rate_limited_total").await.unwrap_or(0);
        if limited > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(limited > 0, "30,000 messages within a burst of 20,000 were not held back");
    // Another device is served while the flood is held back.
    let mut office = join(&relay, &honest, "office").await;
    assert!(matches!(
        honest_round(&mut office, "office", DocumentId::from_bytes([5; 16])).await,
        Message::DocUnavailable { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_of_tiny_cbor_items_is_refused_without_decoding_it() {
    let relay = Relay::start();
    let bystander = relay.token(OTHER_WORKSPACE, "bystander", false);
    // Millions of one-byte items in an unknown field, which serde buffers whole
    // before it reaches `type`; one websocket frame (4 MiB at most).
    let frame = tiny_item_frame(4_000_000);
    let before = relay.peak_rss_kb().unwrap();
    let mut attackers = Vec::new();
    for device in ["auditor-1", "auditor-2", "auditor-3", "auditor-4"] {
        // Four devices: a second connection of one device would replace the first.
        let reader = relay.token(WORKSPACE, device, true);
        let mut socket = join(&relay, &reader, device).await;
        socket.send(WsMessage::Binary(frame.clone().into())).await.unwrap();
        attackers.push(socket);
    }
    for socket in &mut attackers {
        let reason = refusal(socket).await.unwrap_or_else(|| panic!("{}", relay.log()));
        assert!(reason.contains("CBOR items"), "{reason}");
    }
    assert!(hub_serves_other_workspaces(&relay, &bystander, "bystander").await);
    let grown_mb = (relay.peak_rss_kb().unwrap() - before) / 1024;
    // Each frame is 4 MB and is held while it is checked; decoding it would have
    // cost about 31 times that (four at once: about 500 MB).
    assert!(grown_mb < 80, "the relay grew by {grown_mb} MB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_states_per_connection_are_bounded() {
    let relay = Relay::start();
    let reader = relay.token(WORKSPACE, "auditor", true);
    let mut socket = join(&relay, &reader, "auditor").await;
    let empty = kartoteka_e2e::raw::empty_doc_sync_message();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    // 20,000 documents nobody has, 200 in flight at a time (as a replica keeps
    // its window), each answered by the relay.
    for _ in 0..100 {
        for _ in 0..200 {
            let document = DocumentId::from_bytes(rng.random());
            let sync = Message::sync("auditor", "kartoteka-relay", document, empty.clone());
            socket.send(WsMessage::Binary(sync.encode().into())).await.unwrap();
        }
        for _ in 0..200 {
            assert!(matches!(next_message(&mut socket).await, Some(Message::Sync { .. })));
        }
    }
    let states = metric(&relay, "kartoteka_relay_sync_states").await.unwrap();
    assert!(states <= 4_096, "{states} sync states kept for one connection");
    // Documents nobody has do not take the shared document cache.
    let cached = metric(&relay, "kartoteka_relay_documents_loaded").await.unwrap();
    assert!(cached < 10, "{cached} documents cached for ids nobody has");
    // The connection still works.
    assert!(matches!(
        honest_round(&mut socket, "auditor", DocumentId::from_bytes([1; 16])).await,
        Message::DocUnavailable { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_blob_is_quarantined_and_uploaded_again() {
    let relay = Relay::start();
    let token = relay.token(WORKSPACE, "laptop", false);
    let http = reqwest::Client::new();
    let content = b"photo of the boiler room, before".to_vec();
    let hash = blake3::hash(&content).to_hex().to_string();
    let url = format!("{}{}/{hash}", relay.url, sync_protocol::BLOBS_PATH);
    let upload = || {
        http.patch(&url)
            .bearer_auth(&token)
            .header("upload-offset", "0")
            .header("upload-length", content.len().to_string())
            .body(content.clone())
            .send()
    };
    assert_eq!(upload().await.unwrap().status(), 201);
    // A disk error flips bytes of the stored file.
    let stored = relay.data().join("blobs").join(WORKSPACE).join(&hash[..2]).join(&hash);
    std::fs::write(&stored, b"photo of the boiler room, BEFORE").unwrap();

    let head = http.head(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(head.status(), 404, "a damaged blob must not count as stored");
    assert_eq!(http.get(&url).bearer_auth(&token).send().await.unwrap().status(), 404);
    assert_eq!(metric(&relay, "kartoteka_relay_blobs_quarantined_total").await, Some(1));
    assert!(
        relay.data().join("blobs").join(WORKSPACE).join(".quarantine").read_dir().unwrap().count()
            == 1
    );
    // The uploader sends it again, and the right bytes are served.
    assert_eq!(upload().await.unwrap().status(), 201);
    let served = http.get(&url).bearer_auth(&token).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(served.as_ref(), content.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_uploads_count_against_a_quota_and_expire() {
    let mut relay =
        Relay::start_with(&["--max-staged-bytes", "100000", "--staged-upload-seconds", "1"]);
    let token = relay.token(WORKSPACE, "laptop", false);
    let http = reqwest::Client::new();
    let partial = |seed: u8| {
        let content = vec![seed; 80_000];
        let hash = blake3::hash(&content).to_hex().to_string();
        let url = format!("{}{}/{hash}", relay.url, sync_protocol::BLOBS_PATH);
        http.patch(url)
            .bearer_auth(&token)
            .header("upload-offset", "0")
            .header("upload-length", content.len().to_string())
            .body(content[..60_000].to_vec())
            .send()
    };
    assert_eq!(partial(1).await.unwrap().status(), 204);
    // A second upload would take the workspace past its quota.
    let refused = partial(2).await.unwrap();
    assert_eq!(refused.status(), 507);
    assert!(refused.text().await.unwrap().contains("quota"));
    // 40 kB are left. Ten uploads of 30 kB each, started at once and sending
    // slowly, cannot each see the quota as free: one fits.
    let slow_upload = |seed: u8| {
        let content = vec![seed; 30_000];
        let hash = blake3::hash(&content).to_hex().to_string();
        let url = format!("{}{}/{hash}", relay.url, sync_protocol::BLOBS_PATH);
        let first = bytes_chunk(content[..10_000].to_vec());
        let later = futures_util::stream::once(async move {
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            Ok::<_, std::io::Error>(content[10_000..20_000].to_vec())
        });
        let body = reqwest::Body::wrap_stream(futures_util::StreamExt::chain(first, later));
        http.patch(url)
            .bearer_auth(&token)
            .header("upload-offset", "0")
            .header("upload-length", "30000")
            .body(body)
            .send()
    };
    let statuses: Vec<u16> = futures_util::future::join_all((3..13).map(slow_upload))
        .await
        .into_iter()
        .map(|response| response.unwrap().status().as_u16())
        .collect();
    assert_eq!(statuses.iter().filter(|status| **status == 507).count(), 9, "{statuses:?}");
    // Abandoned: removed when they expire (at the latest when the relay starts).
    let staging = relay.data().join("blobs").join(WORKSPACE).join(".staging");
    assert_eq!(staging.read_dir().unwrap().count(), 2);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    relay.restart();
    let mut left = usize::MAX;
    for _ in 0..50 {
        left = staging.read_dir().unwrap().count();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "an expired upload survived a restart");
}

fn bytes_chunk(
    bytes: Vec<u8>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::once(async move { Ok(bytes) })
}
