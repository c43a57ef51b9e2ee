//! One websocket connection: the automerge-repo handshake, then frames in and
//! out until either side closes, a heartbeat is missed, or the relay shuts down.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use futures_util::{SinkExt, StreamExt};
use relay_core::hub::{SEND_QUEUE, close};
use relay_core::{
    Admission, ConnectionBudget, ConnectionGrant, Grant, HubCommand, Metrics, Outgoing,
    RELAY_PEER_ID,
};
use sync_protocol::limits::{DEAD_PEER_TIMEOUT, HEARTBEAT_INTERVAL};
use sync_protocol::{Message, PROTOCOL_VERSION, PeerMetadata};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::connection_limits::ConnectionPlace;
use crate::server::AppState;

/// The peer must send `join` this soon after the upgrade. Its connection place is
/// held meanwhile; an honest peer sends `join` in its first round trip.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// A frame that cannot be written within this long means the peer stopped
/// reading; the connection is closed rather than letting the socket buffer grow.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a connection to its end.
pub(crate) async fn run(socket: WebSocket, grant: Grant, state: AppState, _place: ConnectionPlace) {
    Metrics::add(&state.metrics.connections, 1);
    let conn = state.hub.next_conn_id();
    let (mut sink, mut stream) = socket.split();
    let outcome = async {
        let peer_id = handshake(&mut sink, &mut stream, &grant, &state).await?;
        let (outbox, mut queue) = mpsc::channel(SEND_QUEUE);
        let (kick, mut kicked) = oneshot::channel();
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let connection = ConnectionGrant {
            grant: grant.clone(),
            outbox,
            kick,
            queued_bytes: queued_bytes.clone(),
        };
        let budget = state.budget.connection(grant.workspace, &grant.token_id);
        state.hub.send(HubCommand::Connect { conn, connection }).await.ok()?;
        tracing::debug!(conn, %peer_id, "connection open");
        let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
        let mut last_heard = Instant::now();
        // A decoded message waiting for a place in this connection's share of the
        // hub's queue; meanwhile nothing more is read from the peer (TCP
        // backpressure), but replies are still sent.
        let mut waiting: Option<Message> = None;
        // Its admission, kept across the loop's turns: a future made anew each
        // turn would lose its place in the budgets' queues (and the permits it
        // already holds) whenever a reply or a heartbeat comes first.
        let mut admitting: Option<Admitting<'_>> = None;
        loop {
            tokio::select! {
                admission = async {
                    match admitting.as_mut() {
                        Some(admitting) => admitting.await,
                        None => std::future::pending().await,
                    }
                }, if admitting.is_some() => {
                    admitting = None;
                    // Waiting for the hub is not the peer's silence.
                    last_heard = Instant::now();
                    let (Some(admission), Some(message)) = (admission, waiting.take()) else { break };
                    let command = HubCommand::Message { conn, message, admission: Some(admission) };
                    if state.hub.send(command).await.is_err() {
                        close_with(&mut sink, &mut stream, close::GOING_AWAY, "relay shutting down").await;
                        break;
                    }
                }
                frame = stream.next(), if waiting.is_none() => {
                    last_heard = Instant::now();
                    match frame {
                        Some(Ok(WsMessage::Binary(bytes))) => {
                            Metrics::add(&state.metrics.bytes_in, bytes.len() as u64);
                            if let Some(dir) = &state.record_frames {
                                record(dir, &bytes);
                            }
                            Metrics::add(&state.metrics.messages_in, 1);
                            match Message::decode(&bytes) {
                                Ok(message) => {
                                    waiting = Some(message);
                                    admitting = Some(admit(&state, &grant.token_id, &budget, bytes.len()));
                                }
                                Err(error) => {
                                    tracing::info!(conn, %error, "malformed frame");
                                    Metrics::add(&state.metrics.refusals, 1);
                                    refuse(&mut sink, &mut stream, close::INVALID_DATA, &format!("malformed message: {error}")).await;
                                    break;
                                }
                            }
                        }
                        Some(Ok(WsMessage::Text(_))) => {
                            Metrics::add(&state.metrics.refusals, 1);
                            refuse(&mut sink, &mut stream, 1003, "text frames are not part of the protocol").await;
                            break;
                        }
                        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                        Some(Ok(WsMessage::Close(_))) | None => break,
                        Some(Err(error)) => {
                            // Includes messages over the size limit (axum closes with 1009).
                            tracing::info!(conn, %error, "websocket error");
                            break;
                        }
                    }
                }
                outgoing = queue.recv() => match outgoing {
                    Some(Outgoing::Frame(bytes)) => {
                        let size = bytes.len();
                        let sent = tokio::time::timeout(SEND_TIMEOUT, sink.send(WsMessage::Binary(bytes.into()))).await;
                        queued_bytes.fetch_sub(size, Ordering::AcqRel);
                        match sent {
                            Ok(Ok(())) => Metrics::add(&state.metrics.bytes_out, size as u64),
                            _ => break,
                        }
                    }
                    Some(Outgoing::Close { code, reason }) => {
                        close_with(&mut sink, &mut stream, code, &reason).await;
                        break;
                    }
                    // The hub dropped this connection: it kicked it (the reason is
                    // waiting, and the peer must hear it) or it stopped.
                    None => {
                        if let Ok((code, reason)) = kicked.try_recv() {
                            refuse(&mut sink, &mut stream, code, &reason).await;
                        }
                        break;
                    }
                },
                kick = &mut kicked => {
                    // The reason goes in an `error` message too: automerge-repo peers
                    // report that, and a close frame's reason is easily lost.
                    let (code, reason) = kick.unwrap_or((close::GOING_AWAY, "closed".to_owned()));
                    refuse(&mut sink, &mut stream, code, &reason).await;
                    break;
                }
                _ = heartbeat.tick() => {
                    // While a message waits for the hub, the peer's frames (pongs
                    // included) are not read: that is not the peer's silence.
                    if waiting.is_none() && last_heard.elapsed() > DEAD_PEER_TIMEOUT {
                        tracing::info!(conn, "peer stopped answering heartbeats");
                        break;
                    }
                    if sink.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                        break;
                    }
                }
                () = state.shutdown.cancelled() => {
                    close_with(&mut sink, &mut stream, close::GOING_AWAY, "relay shutting down").await;
                    break;
                }
            }
        }
        Some(())
    }
    .await;
    if outcome.is_some() {
        let _ = state.hub.send(HubCommand::Disconnect { conn }).await;
    }
    Metrics::add_signed(&state.metrics.connections, -1);
}

/// A message's wait for its token's rate and its budgets (`None`: the relay stops).
type Admitting<'a> = Pin<Box<dyn Future<Output = Option<Admission>> + Send + 'a>>;

fn admit<'a>(
    state: &'a AppState,
    token_id: &'a str,
    budget: &'a ConnectionBudget,
    bytes: usize,
) -> Admitting<'a> {
    Box::pin(async move {
        if state.token_rate.wait(token_id, bytes).await {
            Metrics::add(&state.metrics.rate_limited, 1);
        }
        budget.admit(bytes).await.ok()
    })
}

/// Waits for `join`, checks it, answers `peer`; returns the peer id.
async fn handshake(
    sink: &mut Sink,
    stream: &mut Stream,
    grant: &Grant,
    state: &AppState,
) -> Option<String> {
    let first = tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.next()).await;
    let Ok(Some(Ok(WsMessage::Binary(bytes)))) = first else {
        refuse(sink, stream, close::POLICY, "expected a join message").await;
        return None;
    };
    Metrics::add(&state.metrics.bytes_in, bytes.len() as u64);
    let Ok(Message::Join { sender_id, supported_protocol_versions, .. }) = Message::decode(&bytes)
    else {
        refuse(sink, stream, close::POLICY, "expected a join message").await;
        return None;
    };
    if sender_id != grant.peer_id {
        // The peer id is bound to the token: no device can speak as another.
        let claimed: String = sender_id.chars().take(64).collect();
        tracing::info!(%claimed, device = %grant.peer_id, "refused a peer id that is not the token's");
        Metrics::add(&state.metrics.refusals, 1);
        // Both names go back to the holder of the token: the device is its own,
        // the claim its own words (cut short, as a close reason is limited).
        let reason = format!(
            "senderId must be the device name of the token ({:?}), not {claimed:?}",
            grant.peer_id
        );
        refuse(sink, stream, close::POLICY, &reason).await;
        return None;
    }
    if !supported_protocol_versions.is_empty()
        && !supported_protocol_versions.iter().any(|v| v == PROTOCOL_VERSION)
    {
        refuse(
            sink,
            stream,
            close::POLICY,
            "unsupported protocol version; this relay speaks \"1\"",
        )
        .await;
        return None;
    }
    let peer = Message::Peer {
        sender_id: RELAY_PEER_ID.to_owned(),
        target_id: sender_id.clone(),
        selected_protocol_version: PROTOCOL_VERSION.to_owned(),
        peer_metadata: Some(PeerMetadata { storage_id: None, is_ephemeral: false }),
    };
    sink.send(WsMessage::Binary(peer.encode().into())).await.ok()?;
    Some(sender_id)
}

/// Writes a received frame under its hash (a fuzzing seed; duplicates collapse).
fn record(dir: &std::path::Path, bytes: &[u8]) {
    let path = dir.join(blake3::hash(bytes).to_hex().as_str());
    if let Err(error) = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, bytes)) {
        tracing::warn!(%error, path = %path.display(), "cannot record a frame");
    }
}

type Sink = futures_util::stream::SplitSink<WebSocket, WsMessage>;
type Stream = futures_util::stream::SplitStream<WebSocket>;

/// How long a closing connection waits for the peer's close frame. Dropping the
/// socket while the peer is still sending would reset the connection, and the
/// peer would lose the `error` message that says why it was closed.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Sends an automerge-repo `error` message, then closes.
async fn refuse(sink: &mut Sink, stream: &mut Stream, code: u16, reason: &str) {
    let error = Message::Error { message: reason.to_owned() };
    let _ = sink.send(WsMessage::Binary(error.encode().into())).await;
    close_with(sink, stream, code, reason).await;
}

/// The longest close reason a websocket close frame carries (RFC 6455 §5.5: a
/// control frame's payload is at most 125 bytes, two of them the code).
const MAX_CLOSE_REASON_BYTES: usize = 123;

/// `reason`, cut at a character boundary to fit a close frame (the whole reason
/// goes in the `error` message before it).
fn close_reason(reason: &str) -> String {
    let mut end = reason.len().min(MAX_CLOSE_REASON_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

/// Sends a close frame and reads (and discards) what the peer still sends until
/// it closes too, or the grace period ends.
async fn close_with(sink: &mut Sink, stream: &mut Stream, code: u16, reason: &str) {
    let frame = CloseFrame { code, reason: close_reason(reason).into() };
    let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(WsMessage::Close(Some(frame)))).await;
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, WsMessage::Close(_)) {
                break;
            }
        }
    })
    .await;
}
