//! Interoperability with a peer none of us wrote: `samod`, the Rust
//! automerge-repo implementation, syncs a workspace document through the relay
//! with a valid token, and is refused without one.

use std::sync::Arc;
use std::time::Duration;

use automerge::ReadDoc;
use automerge::transaction::Transactable;
use futures_util::{SinkExt, StreamExt, TryStreamExt};
use kartoteka_e2e::{Kartoteka, Relay};
use samod::{BackoffConfig, DialError, Dialer, PeerId, Repo, Transport, Url};

/// Dials the relay's websocket with the token in the query string, as the
/// JavaScript automerge-repo adapter must (browsers cannot set headers).
struct TokenDialer {
    url: Url,
}

impl Dialer for TokenDialer {
    type Error = std::io::Error;

    fn url(&self) -> Url {
        self.url.clone()
    }

    fn connect(
        &self,
    ) -> futures_util::future::BoxFuture<'static, Result<Transport, DialError<Self::Error>>> {
        let url = self.url.clone();
        Box::pin(async move {
            let (socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.map_err(
                |error| match error {
                    // A refused token will not become valid by retrying.
                    tokio_tungstenite::tungstenite::Error::Http(response) => {
                        DialError::PermanentFailure(std::io::Error::other(format!(
                            "HTTP {}",
                            response.status()
                        )))
                    }
                    other => DialError::transient(other),
                },
            )?;
            let (sink, stream) = socket.split();
            let stream = stream.try_filter_map(|message| async move {
                Ok(match message {
                    tokio_tungstenite::tungstenite::Message::Binary(bytes) => Some(bytes.to_vec()),
                    _ => None,
                })
            });
            let sink = sink.with(|bytes: Vec<u8>| async move {
                Ok::<_, tokio_tungstenite::tungstenite::Error>(
                    tokio_tungstenite::tungstenite::Message::Binary(bytes.into()),
                )
            });
            Ok(Transport::new(Box::pin(stream), Box::pin(sink)))
        })
    }
}

fn backoff() -> BackoffConfig {
    BackoffConfig {
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        max_retries: Some(3),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samod_syncs_a_client_document_through_the_relay() {
    let relay = Relay::start();
    let office = Kartoteka::init("Serviss SIA", "office");
    office.ok(&["client", "add", "--name", "Ķiploks SIA", "--city", "Rīga"]);
    office.connect(&relay);
    office.ok(&["sync"]);
    let client_id = office.json(&["catalog"])["clients"][0]["id"].as_str().unwrap().to_owned();
    let token = relay.token(&office.workspace_id(), "samod-peer", false);

    let repo =
        Repo::build_tokio().with_peer_id(PeerId::from_string("samod-peer".to_owned())).load().await;
    let url = Url::parse(&format!(
        "{}{}?token={token}",
        relay.url.replace("http://", "ws://"),
        sync_protocol::SYNC_PATH
    ))
    .unwrap();
    let dialer = repo.dial(backoff(), Arc::new(TokenDialer { url })).unwrap();
    tokio::time::timeout(Duration::from_secs(10), dialer.established()).await.unwrap().unwrap();

    // automerge-repo names documents by bs58check ids; Kartoteka's are the same 16 bytes.
    let uuid: String = client_id.chars().filter(|c| *c != '-').collect();
    let bytes: Vec<u8> =
        (0..16).map(|i| u8::from_str_radix(&uuid[i * 2..i * 2 + 2], 16).unwrap()).collect();
    let document_id: samod::DocumentId = bytes.try_into().unwrap();
    let handle = tokio::time::timeout(Duration::from_secs(10), repo.find(document_id))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let name = handle.with_document(|doc| {
        let (_, profile) = doc.get(automerge::ROOT, "profile").unwrap().unwrap();
        doc.get(&profile, "name").unwrap().unwrap().0.to_string()
    });
    assert!(name.contains("Ķiploks SIA"), "{name}");

    // samod edits the profile; the office receives the edit through the relay.
    handle.with_document(|doc| {
        let (_, profile) = doc.get(automerge::ROOT, "profile").unwrap().unwrap();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(&profile, "industry", "Edited by samod")?;
            Ok(())
        })
        .unwrap();
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        office.ok(&["sync"]);
        if office.json(&["client", "show", &client_id])["industry"] == "Edited by samod" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "samod's edit never reached the office");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    repo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samod_without_a_token_is_refused() {
    let relay = Relay::start();
    let repo =
        Repo::build_tokio().with_peer_id(PeerId::from_string("samod-peer".to_owned())).load().await;
    let url = Url::parse(&format!(
        "{}{}",
        relay.url.replace("http://", "ws://"),
        sync_protocol::SYNC_PATH
    ))
    .unwrap();
    let dialer = repo.dial(backoff(), Arc::new(TokenDialer { url })).unwrap();
    let outcome =
        tokio::time::timeout(Duration::from_secs(10), dialer.established()).await.unwrap();
    assert!(outcome.is_err(), "samod connected without a token");
    repo.stop().await;
}
