//! The relay as seen from a replica: where it is, the token, the change feed,
//! and opening the websocket.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use reqwest::Url;
use sync_protocol::feed::FeedPage;
use sync_protocol::{Message, PROTOCOL_VERSION, PeerMetadata};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::{Result, SyncError};

/// A websocket to the relay.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// How long an idle HTTP connection to the relay is kept for the next request.
const IDLE_CONNECTION: std::time::Duration = std::time::Duration::from_secs(5);

/// How long an HTTP request to the relay may take.
const HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// How a replica reaches its relay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transport {
    /// Certificate authorities to trust for the relay (PEM), besides the
    /// system's: a company's own CA, or a test's.
    pub ca_pem: Option<String>,
    /// Whether plain http to a host other than this machine is allowed.
    pub allow_insecure: bool,
}

/// A configured relay.
#[derive(Clone)]
pub struct Remote {
    base: Url,
    token: String,
    http: reqwest::Client,
    /// For `wss://`: the same trust as the HTTP client's.
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Remote {
    // The token is a secret: never in logs or debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

impl Remote {
    /// A relay at `url` used with `token`: https (verified against the system's
    /// roots and `transport.ca_pem`), or http to this machine, or to another
    /// only if `transport.allow_insecure`.
    pub fn new(url: &str, token: &str, transport: &Transport) -> Result<Self> {
        let base = Url::parse(url.trim()).map_err(|_| SyncError::BadUrl(url.to_owned()))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(SyncError::BadUrl(url.to_owned()));
        }
        if base.scheme() == "http" && !is_loopback(&base) && !transport.allow_insecure {
            return Err(SyncError::Insecure(base.to_string()));
        }
        // Idle connections are given up before the relay's 10 s header deadline
        // closes them, so that a request never races the relay's close.
        let mut http =
            reqwest::Client::builder().timeout(HTTP_TIMEOUT).pool_idle_timeout(IDLE_CONNECTION);
        let tls = if base.scheme() == "https" {
            let config = Arc::new(client_tls(transport.ca_pem.as_deref())?);
            http = http.use_preconfigured_tls((*config).clone());
            Some(config)
        } else {
            None
        };
        Ok(Self { base, token: token.trim().to_owned(), http: http.build()?, tls })
    }

    /// The relay's address, as configured (also the key of per-remote sync state).
    pub fn key(&self) -> &str {
        self.base.as_str()
    }

    pub(crate) fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
    }

    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Every change-feed entry after `since`, following pages; returns the
    /// entries and the new cursor.
    pub(crate) async fn changes_since(
        &self,
        workspace: &str,
        since: i64,
    ) -> Result<(Vec<sync_protocol::feed::FeedEntry>, i64)> {
        let mut documents = Vec::new();
        let mut cursor = since;
        loop {
            let mut url = self.url(sync_protocol::CHANGES_PATH);
            url.query_pairs_mut().append_pair("since", &cursor.to_string());
            let response = self.http.get(url).bearer_auth(&self.token).send().await?;
            let page: FeedPage = check(response).await?.json().await?;
            if page.workspace != workspace {
                return Err(SyncError::WrongWorkspace {
                    token: page.workspace,
                    replica: workspace.to_owned(),
                });
            }
            documents.extend(page.entries);
            cursor = page.next;
            if !page.more {
                return Ok((documents, cursor));
            }
        }
    }

    /// One page of the workspace bundle after `since`; `None` from a relay that
    /// serves no bundle (an older version).
    pub(crate) async fn bundle_page(
        &self,
        workspace: &str,
        since: i64,
    ) -> Result<Option<sync_protocol::bundle::BundlePage>> {
        use sync_protocol::bundle::{BundlePage, MAX_BUNDLE_PAGE_BYTES};
        let mut url = self.url(sync_protocol::BUNDLE_PATH);
        url.query_pairs_mut().append_pair("since", &since.to_string());
        let response = self.http.get(url).bearer_auth(&self.token).send().await?;
        if matches!(
            response.status(),
            reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::METHOD_NOT_ALLOWED
        ) {
            return Ok(None);
        }
        let mut response = check(response).await?;
        // Read in pieces and stop at the bound: a page is held in memory whole.
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if bytes.len() + chunk.len() > MAX_BUNDLE_PAGE_BYTES {
                return Err(SyncError::Relay(format!(
                    "a bundle page over {MAX_BUNDLE_PAGE_BYTES} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        let page = BundlePage::decode(&bytes, since)
            .map_err(|error| SyncError::Relay(error.to_string()))?;
        if page.workspace != workspace {
            return Err(SyncError::WrongWorkspace {
                token: page.workspace,
                replica: workspace.to_owned(),
            });
        }
        Ok(Some(page))
    }

    /// Opens the websocket and performs the `join`/`peer` handshake as `peer_id`;
    /// returns the socket and the relay's peer id.
    pub(crate) async fn connect(&self, peer_id: &str) -> Result<(Socket, String)> {
        let mut url = self.url(sync_protocol::SYNC_PATH);
        let scheme = if self.base.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme).map_err(|()| SyncError::BadUrl(self.base.to_string()))?;
        let mut request = url.as_str().into_client_request()?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", self.token))
            .map_err(|_| SyncError::Unauthorized(401))?;
        request.headers_mut().insert("authorization", bearer);
        let config = WebSocketConfig::default()
            .max_message_size(Some(sync_protocol::limits::MAX_MESSAGE_BYTES))
            .max_frame_size(Some(sync_protocol::limits::MAX_FRAME_BYTES));
        let connector = self.tls.clone().map(tokio_tungstenite::Connector::Rustls);
        let (mut socket, _) = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            connector,
        )
        .await?;
        let join = Message::Join {
            sender_id: peer_id.to_owned(),
            supported_protocol_versions: vec![PROTOCOL_VERSION.to_owned()],
            peer_metadata: Some(PeerMetadata {
                storage_id: Some(peer_id.to_owned()),
                is_ephemeral: false,
            }),
        };
        socket.send(join.encode().into()).await?;
        loop {
            let frame = tokio::time::timeout(HTTP_TIMEOUT, socket.next())
                .await
                .map_err(|_| SyncError::Timeout(HTTP_TIMEOUT.as_secs()))?;
            match frame {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Binary(bytes))) => {
                    return match Message::decode(&bytes) {
                        Ok(Message::Peer { sender_id, .. }) => Ok((socket, sender_id)),
                        Ok(Message::Error { message }) => Err(SyncError::Relay(message)),
                        _ => Err(SyncError::Relay("unexpected answer to join".to_owned())),
                    };
                }
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => {
                    let reason = frame.map(|frame| frame.reason.to_string()).unwrap_or_default();
                    return Err(SyncError::Relay(reason));
                }
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(error.into()),
                None => {
                    return Err(SyncError::Relay(
                        "connection closed during the handshake".to_owned(),
                    ));
                }
            }
        }
    }
}

/// Whether `url` names this machine.
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(address) => address.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// TLS trusting the system's roots and the given authorities.
fn client_tls(ca_pem: Option<&str>) -> Result<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::debug!(%error, "a system certificate could not be read");
    }
    roots.add_parsable_certificates(native.certs);
    if let Some(pem) = ca_pem {
        let extra: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<std::result::Result<_, _>>()
            .map_err(|error| SyncError::BadCertificate(error.to_string()))?;
        if extra.is_empty() {
            return Err(SyncError::BadCertificate("no certificate in it".to_owned()));
        }
        for certificate in extra {
            roots.add(certificate).map_err(|error| SyncError::BadCertificate(error.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| SyncError::BadCertificate(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Turns an error status into an error.
pub(crate) async fn check(response: reqwest::Response) -> Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(SyncError::Unauthorized(status.as_u16()));
    }
    let message = response.text().await.unwrap_or_default().trim().to_owned();
    Err(SyncError::Status { status: status.as_u16(), message })
}
