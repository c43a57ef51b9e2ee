//! The relay under attack (issue 10): for each attack, the relay's resident
//! memory before, at its peak and after, and how long an honest device of
//! another workspace takes for a sync round (connect, join, ask for a document
//! it has, get the relay's answer) while the attack runs.
//!
//! Run: `cargo bench -p kartoteka-e2e --bench relay_attacks` (about 2 minutes).
//! The relay is the release binary on 127.0.0.1 with its default limits.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark binary: it prints its table and fails loudly"
)]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use futures_util::SinkExt;
use kartoteka_e2e::Relay;
use kartoteka_e2e::raw::{
    OTHER_WORKSPACE, WORKSPACE, ZERO_BIT_FILTER, empty_doc_sync_message, join, next_message,
    probe_flood, push, tiny_item_frame, ws_url,
};
use sync_protocol::{DocumentId, Message};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The document the honest device syncs.
const HONEST_DOCUMENT: DocumentId = DocumentId::from_bytes([3; 16]);

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(run());
}

async fn run() {
    let relay = Relay::start();
    let pid = relay.pid().unwrap();
    // The attacker's process needs more sockets than a default limit allows; the
    // relay keeps the limit it was started with.
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    nix::sys::resource::setrlimit(
        nix::sys::resource::Resource::RLIMIT_NOFILE,
        hard.min(65_536),
        hard,
    )
    .unwrap();
    let honest = relay.token(OTHER_WORKSPACE, "office", false);
    let writer = relay.token(WORKSPACE, "attacker", false);
    let reader = relay.token(WORKSPACE, "auditor", true);
    {
        let mut socket = join(&relay, &honest, "office").await;
        let mut doc = automerge::AutoCommit::new();
        doc.put(automerge::ROOT, "kind", "client").unwrap();
        doc.put(automerge::ROOT, "name", "Kafejnīca Rīts SIA").unwrap();
        push(&mut socket, "office", HONEST_DOCUMENT, &mut doc).await;
        let mut attacked = automerge::AutoCommit::new();
        attacked.put(automerge::ROOT, "kind", "client").unwrap();
        attacked.put(automerge::ROOT, "name", "Target SIA").unwrap();
        let mut socket = join(&relay, &writer, "attacker").await;
        push(&mut socket, "attacker", DocumentId::from_bytes([7; 16]), &mut attacked).await;
    }
    let relay = Arc::new(relay);
    let mut rows = Vec::new();
    rows.push(
        measure(&relay, pid, &honest, "no attack (baseline, 5 s)", async {
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await,
    );
    rows.push(
        measure(&relay, pid, &honest, "200 zero-bit Bloom filters (read-only token)", {
            let relay = relay.clone();
            let reader = reader.clone();
            async move {
                for _ in 0..200 {
                    let mut socket = join(&relay, &reader, "auditor").await;
                    send_sync(&mut socket, "auditor", ZERO_BIT_FILTER.to_vec()).await;
                    while next_message(&mut socket).await.is_some() {}
                }
            }
        })
        .await,
    );
    rows.push(
        measure(&relay, pid, &honest, "20 messages of 2,000 filters × 100,000 probes", {
            let relay = relay.clone();
            let reader = reader.clone();
            async move {
                let flood = probe_flood(2_000, 100_000);
                for _ in 0..20 {
                    let mut socket = join(&relay, &reader, "auditor").await;
                    send_sync(&mut socket, "auditor", flood.clone()).await;
                    while next_message(&mut socket).await.is_some() {}
                }
            }
        })
        .await,
    );
    rows.push(
        measure(&relay, pid, &honest, "1,100 upgrades that never join (one read-only token)", {
            let relay = relay.clone();
            let reader = reader.clone();
            async move {
                let mut held = Vec::new();
                for _ in 0..1_100 {
                    let url = format!("{}?token={reader}", ws_url(&relay));
                    if let Ok((socket, _)) = tokio_tungstenite::connect_async(url).await {
                        held.push(socket);
                    }
                }
                tokio::time::sleep(Duration::from_secs(6)).await;
            }
        })
        .await,
    );
    rows.push(
        measure(&relay, pid, &honest, "2,000 slowloris connections from one address", {
            let address: SocketAddr = relay.url.trim_start_matches("http://").parse().unwrap();
            async move {
                let attacker: IpAddr = "127.0.0.2".parse().unwrap();
                let mut held = Vec::new();
                for _ in 0..2_000 {
                    let socket = tokio::net::TcpSocket::new_v4().unwrap();
                    socket.bind(SocketAddr::new(attacker, 0)).unwrap();
                    if let Ok(mut stream) = socket.connect(address).await {
                        let _ = stream.write_all(b"GET /health HTTP/1.1\r\nHost: relay\r\n").await;
                        held.push(stream);
                    }
                }
                tokio::time::sleep(Duration::from_secs(12)).await;
            }
        })
        .await,
    );
    rows.push(
        measure(
            &relay,
            pid,
            &honest,
            "2,000 ephemeral messages of 60 KiB to 2 peers that never read",
            {
                let relay = relay.clone();
                let writer = writer.clone();
                async move {
                    let mut deaf = Vec::new();
                    for device in ["deaf-1", "deaf-2"] {
                        let token = relay.token(WORKSPACE, device, false);
                        deaf.push(join(&relay, &token, device).await);
                    }
                    let mut socket = join(&relay, &writer, "attacker").await;
                    for count in 0..2_000 {
                        let message = kartoteka_e2e::raw::ephemeral(
                            "attacker",
                            HONEST_DOCUMENT,
                            count,
                            60 * 1024,
                        );
                        if socket.send(WsMessage::Binary(message.encode().into())).await.is_err() {
                            break;
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            },
        )
        .await,
    );
    rows.push(
        measure(&relay, pid, &honest, "4 × 4 MB frames of one-byte CBOR items, 5 times", {
            let relay = relay.clone();
            async move {
                let frame = tiny_item_frame(4_000_000);
                let mut tokens = Vec::new();
                for n in 0..4 {
                    let device = format!("tiny-{n}");
                    tokens.push((relay.token(WORKSPACE, &device, true), device));
                }
                for _ in 0..5 {
                    let mut sockets = Vec::new();
                    for (token, device) in &tokens {
                        let mut socket = join(&relay, token, device).await;
                        socket.send(WsMessage::Binary(frame.clone().into())).await.unwrap();
                        sockets.push(socket);
                    }
                    for socket in &mut sockets {
                        while next_message(socket).await.is_some() {}
                    }
                }
            }
        })
        .await,
    );
    rows.push(
        measure(
            &relay,
            pid,
            &honest,
            "100,000 sync messages for random documents, one connection",
            {
                let relay = relay.clone();
                let reader = reader.clone();
                async move {
                    let mut socket = join(&relay, &reader, "auditor").await;
                    let empty = empty_doc_sync_message();
                    let mut seed = 0_u128;
                    for _ in 0..500 {
                        for _ in 0..200 {
                            seed += 1;
                            let document = DocumentId::from_bytes(
                                seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes(),
                            );
                            let sync = Message::sync(
                                "auditor",
                                "kartoteka-relay",
                                document,
                                empty.clone(),
                            );
                            socket.send(WsMessage::Binary(sync.encode().into())).await.unwrap();
                        }
                        for _ in 0..200 {
                            next_message(&mut socket).await;
                        }
                    }
                }
            },
        )
        .await,
    );
    rows.push(
        measure(&relay, pid, &honest, "20,000 bad tokens from one address, 50 at a time", {
            let feed = format!("{}{}", relay.url, sync_protocol::CHANGES_PATH);
            async move {
                let client = reqwest::Client::builder()
                    .local_address("127.0.0.2".parse::<IpAddr>().unwrap())
                    .build()
                    .unwrap();
                let mut tasks = Vec::new();
                for worker in 0..50 {
                    let client = client.clone();
                    let feed = feed.clone();
                    tasks.push(tokio::spawn(async move {
                        for attempt in 0..400 {
                            let _ = client
                                .get(&feed)
                                .bearer_auth(format!("kt1_{worker}_{attempt}"))
                                .send()
                                .await;
                        }
                    }));
                }
                for task in tasks {
                    let _ = task.await;
                }
            }
        })
        .await,
    );

    println!();
    println!(
        "| attack | relay RSS before → peak → after | honest rounds | median | max | failed |"
    );
    println!("|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}

async fn send_sync(socket: &mut kartoteka_e2e::raw::Socket, peer: &str, data: Vec<u8>) {
    let sync = Message::sync(peer, "kartoteka-relay", DocumentId::from_bytes([7; 16]), data);
    let _ = socket.send(WsMessage::Binary(sync.encode().into())).await;
}

/// Runs `attack` while sampling the relay's memory and timing honest rounds.
async fn measure(
    relay: &Arc<Relay>,
    pid: u32,
    honest: &str,
    name: &str,
    attack: impl std::future::Future<Output = ()>,
) -> String {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kb(pid);
    let running = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn({
        let running = running.clone();
        async move {
            let mut peak = 0;
            while running.load(Ordering::Relaxed) {
                peak = peak.max(rss_kb(pid));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            peak
        }
    });
    let prober = tokio::spawn({
        let running = running.clone();
        let relay = relay.clone();
        let honest = honest.to_owned();
        async move {
            let mut times = Vec::new();
            let mut failed = 0;
            while running.load(Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_secs(5), honest_round(&relay, &honest))
                    .await
                {
                    Ok(Some(elapsed)) => times.push(elapsed),
                    _ => failed += 1,
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (times, failed)
        }
    });
    attack.await;
    running.store(false, Ordering::Relaxed);
    let peak = sampler.await.unwrap();
    let (mut times, failed) = prober.await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kb(pid);
    times.sort();
    let ms = |duration: Option<&Duration>| {
        duration
            .map_or("–".to_owned(), |duration| format!("{:.1} ms", duration.as_secs_f64() * 1e3))
    };
    format!(
        "| {name} | {} → {} → {} MB | {} | {} | {} | {failed} |",
        before / 1024,
        peak / 1024,
        after / 1024,
        times.len(),
        ms(times.get(times.len() / 2)),
        ms(times.last()),
    )
}

/// One honest round on a fresh connection: join, ask for a document this
/// device has, get the relay's answer.
async fn honest_round(relay: &Relay, token: &str) -> Option<Duration> {
    let started = Instant::now();
    let url = format!("{}?token={token}", ws_url(relay));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.ok()?;
    let hello = Message::Join {
        sender_id: "office".to_owned(),
        supported_protocol_versions: vec!["1".to_owned()],
        peer_metadata: None,
    };
    socket.send(WsMessage::Binary(hello.encode().into())).await.ok()?;
    let Some(Message::Peer { .. }) = next_message(&mut socket).await else { return None };
    let request =
        Message::request("office", "kartoteka-relay", HONEST_DOCUMENT, empty_doc_sync_message());
    socket.send(WsMessage::Binary(request.encode().into())).await.ok()?;
    match next_message(&mut socket).await? {
        Message::Sync { .. } => Some(started.elapsed()),
        _ => None,
    }
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
