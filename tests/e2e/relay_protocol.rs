//! Hostile and malformed input at the relay, spoken over a raw websocket and raw
//! HTTP: each gets a clear refusal, the relay keeps serving others, and nothing
//! is stored.

use automerge::sync::SyncDoc;
use automerge::transaction::Transactable;
use futures_util::{SinkExt, StreamExt};
use kartoteka_e2e::{Kartoteka, Relay};
use sync_protocol::{DocumentId, Message};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use kartoteka_e2e::raw::{
    OTHER_WORKSPACE, WORKSPACE, empty_doc_sync_message, join, next_message, refusal, ws_url,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_valid_token_get_401_and_no_upgrade() {
    let relay = Relay::start();
    let token = relay.token(WORKSPACE, "laptop", false);
    let revoked = relay.token(WORKSPACE, "old-laptop", false);
    relay.admin(&["token", "revoke", revoked.split('_').nth(1).unwrap()]);
    // The same token with its last secret digit changed.
    let last = if token.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    for presented in [None, Some("garbage"), Some(forged.as_str()), Some(revoked.as_str())] {
        let mut request = ws_url(&relay).into_client_request().unwrap();
        if let Some(presented) = presented {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {presented}").parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 401, "{presented:?}");
            }
            other => panic!("{presented:?} was not refused: {:?}", other.map(|_| ())),
        }
    }
    let http = reqwest::Client::new();
    let feed =
        http.get(format!("{}{}", relay.url, sync_protocol::CHANGES_PATH)).send().await.unwrap();
    assert_eq!(feed.status(), 401);
    let feed = http
        .get(format!("{}{}?token={forged}", relay.url, sync_protocol::CHANGES_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 401);
    assert!(
        !relay.log().contains(token.rsplit('_').next().unwrap()),
        "a token secret reached the log"
    );
    // The valid token still works.
    join(&relay, &token, "laptop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_cannot_claim_another_devices_id() {
    let relay = Relay::start();
    let token = relay.token(WORKSPACE, "laptop", false);
    let url = format!("{}?token={token}", ws_url(&relay));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let impostor = Message::Join {
        sender_id: "office".to_owned(),
        supported_protocol_versions: vec![],
        peer_metadata: None,
    };
    socket.send(WsMessage::Binary(impostor.encode().into())).await.unwrap();
    let reason = refusal(&mut socket).await.unwrap();
    assert!(reason.contains("device name of the token"), "{reason}");
    assert!(reason.contains("\"laptop\"") && reason.contains("\"office\""), "{reason}");

    // A long claim in a script of two-byte letters makes a reason longer than a
    // close frame holds: the error message says it whole, the close frame still
    // comes (cut short), with the policy code.
    let url = format!("{}?token={token}", ws_url(&relay));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let impostor = Message::Join {
        sender_id: "ā".repeat(200),
        supported_protocol_versions: vec![],
        peer_metadata: None,
    };
    socket.send(WsMessage::Binary(impostor.encode().into())).await.unwrap();
    let mut close = None;
    let mut error = None;
    while let Ok(Some(Ok(frame))) =
        tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await
    {
        match frame {
            WsMessage::Binary(bytes) => error = Some(Message::decode(&bytes).unwrap()),
            WsMessage::Close(frame) => close = frame,
            _ => {}
        }
    }
    let Some(Message::Error { message }) = error else { panic!("no error message: {error:?}") };
    assert!(message.contains(&"ā".repeat(64)), "{message}");
    let close = close.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
    assert!(close.reason.len() <= 123 && close.reason.starts_with("senderId must be"));

    // After the handshake, every message must carry the token's peer id too.
    let mut socket = join(&relay, &token, "laptop").await;
    let request = Message::request(
        "office",
        "kartoteka-relay",
        DocumentId::from_bytes([1; 16]),
        empty_doc_sync_message(),
    );
    socket.send(WsMessage::Binary(request.encode().into())).await.unwrap();
    let reason = refusal(&mut socket).await.unwrap();
    assert!(reason.contains("senderId"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_input_closes_only_that_connection() {
    let relay = Relay::start();
    let token = relay.token(WORKSPACE, "laptop", false);
    let other_token = relay.token(WORKSPACE, "office", false);
    let mut bystander = join(&relay, &other_token, "office").await;

    let mut socket = join(&relay, &token, "laptop").await;
    socket.send(WsMessage::Binary(b"\xff\x00not cbor".to_vec().into())).await.unwrap();
    assert!(refusal(&mut socket).await.unwrap().starts_with("malformed message"));

    let mut socket = join(&relay, &token, "laptop").await;
    let bad_sync = Message::sync(
        "laptop",
        "kartoteka-relay",
        DocumentId::from_bytes([2; 16]),
        b"not automerge".to_vec(),
    );
    socket.send(WsMessage::Binary(bad_sync.encode().into())).await.unwrap();
    assert!(refusal(&mut socket).await.unwrap().contains("malformed automerge"));

    let mut socket = join(&relay, &token, "laptop").await;
    socket.send(WsMessage::Text("hello".into())).await.unwrap();
    assert!(refusal(&mut socket).await.unwrap().contains("text frames"));

    let mut socket = join(&relay, &token, "laptop").await;
    let oversized = vec![0_u8; sync_protocol::limits::MAX_MESSAGE_BYTES + 1024];
    let _ = socket.send(WsMessage::Binary(oversized.into())).await;
    assert_eq!(next_message(&mut socket).await, None, "the relay closes the connection");

    // The bystander was never disturbed, and the relay stored nothing.
    let request = Message::request(
        "office",
        "kartoteka-relay",
        DocumentId::from_bytes([3; 16]),
        empty_doc_sync_message(),
    );
    bystander.send(WsMessage::Binary(request.encode().into())).await.unwrap();
    assert!(matches!(next_message(&mut bystander).await, Some(Message::DocUnavailable { .. })));
    let page: sync_protocol::feed::FeedPage = reqwest::Client::new()
        .get(format!("{}{}", relay.url, sync_protocol::CHANGES_PATH))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page.entries.is_empty(), "{page:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_document_is_unavailable_and_says_nothing_about_other_workspaces() {
    let relay = Relay::start();
    // Workspace A stores a document through a real replica.
    let office = Kartoteka::init("Serviss SIA", "office");
    office.ok(&["client", "add", "--name", "Secret Client SIA"]);
    office.connect(&relay);
    office.ok(&["sync"]);
    let client_id = office.json(&["catalog"])["clients"][0]["id"].as_str().unwrap().to_owned();
    let document = DocumentId::from_bytes(*uuid_bytes(&client_id));

    // A device of workspace B asks for it by id: unavailable, as if it did not exist.
    let intruder_token = relay.token(OTHER_WORKSPACE, "intruder", false);
    let mut intruder = join(&relay, &intruder_token, "intruder").await;
    let request =
        Message::request("intruder", "kartoteka-relay", document, empty_doc_sync_message());
    intruder.send(WsMessage::Binary(request.encode().into())).await.unwrap();
    assert!(matches!(next_message(&mut intruder).await, Some(Message::DocUnavailable { .. })));

    // It pushes a document of its own under the same id: that lands in B only.
    let mut forged = automerge::AutoCommit::new();
    forged.put(automerge::ROOT, "kind", "client").unwrap();
    forged.put(automerge::ROOT, "pwned", true).unwrap();
    let mut state = automerge::sync::State::new();
    loop {
        let Some(message) = forged.sync().generate_sync_message(&mut state) else { break };
        let sync = Message::sync("intruder", "kartoteka-relay", document, message.encode());
        intruder.send(WsMessage::Binary(sync.encode().into())).await.unwrap();
        match next_message(&mut intruder).await {
            Some(Message::Sync { data, .. }) => {
                forged
                    .sync()
                    .receive_sync_message(
                        &mut state,
                        automerge::sync::Message::decode(&data).unwrap(),
                    )
                    .unwrap();
            }
            _ => break,
        }
        if state.their_heads.as_ref() == Some(&forged.get_heads()) {
            break;
        }
    }
    // Workspace A's replica sees nothing of it.
    let report = office.json(&["sync"]);
    assert_eq!(report["documents_received"], 0, "{report}");
    let card = office.json(&["client", "show", &client_id]);
    assert_eq!(card["display_name"], "Secret Client SIA");
    // And B's feed lists only B's document.
    let page: sync_protocol::feed::FeedPage = reqwest::Client::new()
        .get(format!("{}{}", relay.url, sync_protocol::CHANGES_PATH))
        .bearer_auth(&intruder_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page.workspace, OTHER_WORKSPACE);
    assert_eq!(page.entries.len(), 1);
}

fn uuid_bytes(uuid: &str) -> Box<[u8; 16]> {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    let mut bytes = [0_u8; 16];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[index * 2..index * 2 + 2], 16).unwrap();
    }
    Box::new(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_uploads_are_verified_capped_and_resumable() {
    let relay = Relay::start_with(&["--max-blob-bytes", "1000"]);
    let token = relay.token(WORKSPACE, "laptop", false);
    let reader = relay.token(WORKSPACE, "auditor", true);
    let stranger = relay.token(OTHER_WORKSPACE, "stranger", false);
    let http = reqwest::Client::new();
    let blob = |hash: &str| format!("{}{}/{hash}", relay.url, sync_protocol::BLOBS_PATH);
    let content = b"photo of the boiler room".to_vec();
    let hash = blake3::hash(&content).to_hex().to_string();
    let patch = |hash: &str, token: &str, offset: usize, length: usize, body: Vec<u8>| {
        http.patch(blob(hash))
            .bearer_auth(token)
            .header("upload-offset", offset.to_string())
            .header("upload-length", length.to_string())
            .body(body)
            .send()
    };

    // Bytes that do not hash to the name are refused and not stored.
    let lie = blake3::hash(b"something else").to_hex().to_string();
    let response = patch(&lie, &token, 0, content.len(), content.clone()).await.unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(http.head(blob(&lie)).bearer_auth(&token).send().await.unwrap().status(), 404);

    // Over the cap: refused before the body is read.
    let response = patch(&hash, &token, 0, 5000, vec![0; 10]).await.unwrap();
    assert_eq!(response.status(), 413);

    // A truncated upload resumes from the offset the relay reports.
    let response = patch(&hash, &token, 0, content.len(), content[..10].to_vec()).await.unwrap();
    assert_eq!(response.status(), 204);
    let head = http.head(blob(&hash)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(head.status(), 404);
    assert_eq!(head.headers()["upload-offset"], "10");
    let wrong_offset = patch(&hash, &token, 4, content.len(), content[4..].to_vec()).await.unwrap();
    assert_eq!(wrong_offset.status(), 409);
    let response = patch(&hash, &token, 10, content.len(), content[10..].to_vec()).await.unwrap();
    assert_eq!(response.status(), 201);
    let downloaded =
        http.get(blob(&hash)).bearer_auth(&token).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(downloaded.as_ref(), content.as_slice());

    // A download resumes: the rest from an offset; a start past the end is
    // refused with the size; other shapes get the whole blob (RFC 9110).
    let ranged = |range: &str| http.get(blob(&hash)).bearer_auth(&token).header("range", range);
    for resume in ["bytes=10-", "Bytes=10-"] {
        let rest = ranged(resume).send().await.unwrap();
        assert_eq!(rest.status(), 206, "{resume}");
        assert_eq!(rest.headers()["content-range"], format!("bytes 10-23/{}", content.len()));
        assert_eq!(rest.bytes().await.unwrap().as_ref(), &content[10..]);
    }
    let refused = ranged("bytes=24-").send().await.unwrap();
    assert_eq!(refused.status(), 416);
    assert_eq!(refused.headers()["content-range"], format!("bytes */{}", content.len()));
    for unserved in ["bytes=0-5", "lines=1-", "bytes=-5"] {
        let whole = ranged(unserved).send().await.unwrap();
        assert_eq!(whole.status(), 200, "{unserved}");
        assert_eq!(whole.bytes().await.unwrap().as_ref(), content.as_slice());
    }

    // Read-only tokens cannot upload; other workspaces cannot see it.
    let refused =
        patch(blake3::hash(b"x").to_hex().as_str(), &reader, 0, 1, b"x".to_vec()).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(http.get(blob(&hash)).bearer_auth(&stranger).send().await.unwrap().status(), 404);
    assert_eq!(
        http.get(blob("not-a-hash")).bearer_auth(&token).send().await.unwrap().status(),
        400
    );
    assert_eq!(http.get(blob(&hash)).send().await.unwrap().status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_answer() {
    let relay = Relay::start();
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{}/health", relay.url)).send().await.unwrap().text().await.unwrap(),
        "ok\n"
    );
    let token = relay.token(WORKSPACE, "laptop", false);
    let _socket = join(&relay, &token, "laptop").await;
    let metrics =
        http.get(format!("{}/metrics", relay.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("kartoteka_relay_connections 1"), "{metrics}");
    assert!(metrics.contains("kartoteka_relay_bytes_in_total"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundle_serves_only_the_tokens_workspace_and_refuses_without_one() {
    let relay = Relay::start();
    let office = Kartoteka::init("Serviss SIA", "office");
    office.ok(&["client", "add", "--name", "Secret Client SIA"]);
    office.connect(&relay);
    office.ok(&["sync"]);
    let url = format!("{}{}?since=0", relay.url, sync_protocol::BUNDLE_PATH);
    let http = reqwest::Client::new();

    let anonymous = http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    // A device of another workspace sees its own (empty) workspace, nothing of A.
    let intruder_token = relay.token(OTHER_WORKSPACE, "intruder", true);
    let bytes = http.get(&url).bearer_auth(&intruder_token).send().await.unwrap().bytes().await;
    let page = sync_protocol::bundle::BundlePage::decode(&bytes.unwrap(), 0).unwrap();
    assert_eq!(page.workspace, OTHER_WORKSPACE);
    assert!(page.documents.is_empty(), "{} documents", page.documents.len());

    // The office's own token gets its documents, each loading to its heads.
    let token = relay.token(&office.workspace_id(), "office-2", true);
    let bytes = http.get(&url).bearer_auth(&token).send().await.unwrap().bytes().await.unwrap();
    let page = sync_protocol::bundle::BundlePage::decode(&bytes, 0).unwrap();
    assert!(page.documents.len() >= 2, "{}", page.documents.len());
    assert!(!page.more);
    for document in &page.documents {
        let mut doc = automerge::AutoCommit::load(&document.data).unwrap();
        let heads: Vec<String> = doc.get_heads().iter().map(ToString::to_string).collect();
        let mut listed = document.heads.clone();
        listed.sort();
        let mut loaded = heads;
        loaded.sort();
        assert_eq!(listed, loaded);
    }
}
