//! automerge-repo websocket messages, protocol version "1".
//!
//! Field names and values follow automerge-repo's `network-websocket` CDDL and
//! its `messages.ts` (and samod's `wire_protocol.rs`): one CBOR map per frame,
//! `type` says which message it is, byte payloads are CBOR byte strings.

use serde::{Deserialize, Serialize};

use crate::document_id::{BadDocumentId, DocumentId};

/// The only protocol version there is.
pub const PROTOCOL_VERSION: &str = "1";

/// Why a frame could not be read as a message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not CBOR, not a map, a missing field, or a field of the wrong type.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A frame larger or deeper than any message of the protocol.
    #[error("refused message: {0}")]
    Shape(#[from] crate::cbor_shape::ShapeError),
    /// A document id that is not bs58check of 16 bytes.
    #[error(transparent)]
    BadDocumentId(#[from] BadDocumentId),
}

/// What a peer says about itself in `join` and `peer`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerMetadata {
    /// The peer's storage id, if it persists documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_id: Option<String>,
    /// Whether the peer keeps nothing between sessions.
    #[serde(default)]
    pub is_ephemeral: bool,
}

/// One message of the automerge-repo websocket protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Message {
    /// Client → server: the first message of a connection.
    #[serde(rename_all = "camelCase")]
    Join {
        /// The client's peer id.
        sender_id: String,
        /// Versions the client speaks; a missing list means "1".
        #[serde(default)]
        supported_protocol_versions: Vec<String>,
        /// About the client.
        #[serde(default, alias = "metadata", skip_serializing_if = "Option::is_none")]
        peer_metadata: Option<PeerMetadata>,
    },
    /// Server → client: the handshake answer.
    #[serde(rename_all = "camelCase")]
    Peer {
        /// The server's peer id.
        sender_id: String,
        /// The client's peer id.
        target_id: String,
        /// Always "1".
        selected_protocol_version: String,
        /// About the server.
        #[serde(default, alias = "metadata", skip_serializing_if = "Option::is_none")]
        peer_metadata: Option<PeerMetadata>,
    },
    /// The sender is going away (advisory).
    #[serde(rename_all = "camelCase")]
    Leave {
        /// Who is leaving.
        sender_id: String,
    },
    /// The first sync message for a document the sender may not have; answered
    /// with `sync` or `doc-unavailable`.
    #[serde(rename_all = "camelCase")]
    Request {
        /// Sender's peer id.
        sender_id: String,
        /// Receiver's peer id.
        target_id: String,
        /// The document (bs58check).
        document_id: String,
        /// An Automerge sync message.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// An Automerge sync message for a document.
    #[serde(rename_all = "camelCase")]
    Sync {
        /// Sender's peer id.
        sender_id: String,
        /// Receiver's peer id.
        target_id: String,
        /// The document (bs58check).
        document_id: String,
        /// An Automerge sync message.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// Neither the sender nor its peers have the requested document.
    #[serde(rename_all = "camelCase")]
    DocUnavailable {
        /// Sender's peer id.
        sender_id: String,
        /// Receiver's peer id.
        target_id: String,
        /// The document (bs58check).
        document_id: String,
    },
    /// Presence and other data that is not stored.
    #[serde(rename_all = "camelCase")]
    Ephemeral {
        /// Sender's peer id.
        sender_id: String,
        /// Receiver's peer id.
        target_id: String,
        /// Per-session counter, for deduplication.
        count: u64,
        /// The sender's session.
        session_id: String,
        /// The document (bs58check).
        document_id: String,
        /// Opaque payload.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// The sender gives up on the connection and says why.
    #[serde(rename_all = "camelCase")]
    Error {
        /// Why.
        message: String,
    },
    /// Storage ids whose heads the sender wants to hear about.
    #[serde(rename_all = "camelCase")]
    RemoteSubscriptionChange {
        /// Sender's peer id.
        sender_id: String,
        /// Receiver's peer id.
        target_id: String,
        /// Storage ids to add.
        #[serde(default)]
        add: Option<Vec<String>>,
        /// Storage ids to remove.
        #[serde(default)]
        remove: Vec<String>,
    },
    /// Heads of a document at other storage peers.
    #[serde(rename_all = "camelCase")]
    RemoteHeadsChanged {
        /// Sender's peer id.
        sender_id: String,
        /// Receiver's peer id.
        target_id: String,
        /// The document (bs58check).
        document_id: String,
        /// Storage id → heads and timestamp; passed through, not interpreted.
        new_heads: ciborium::Value,
    },
    /// A message type this version does not know; ignored, as automerge-repo does.
    #[serde(other)]
    Unknown,
}

impl Message {
    /// Reads one frame. Its shape is checked first ([`crate::cbor_shape`]), so
    /// decoding never costs much more memory than the frame itself.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        crate::cbor_shape::check(bytes)?;
        ciborium::from_reader(bytes).map_err(|error| DecodeError::Malformed(error.to_string()))
    }

    /// Writes one frame.
    #[allow(clippy::expect_used, reason = "see the comment on the call")]
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        // Cannot fail: a Vec writer has no IO errors, and every field is a string,
        // an integer, a byte string or a CBOR value that was itself decoded.
        ciborium::into_writer(self, &mut bytes).expect("a message always encodes to CBOR");
        bytes
    }

    /// A `sync` message.
    pub fn sync(sender_id: &str, target_id: &str, document_id: DocumentId, data: Vec<u8>) -> Self {
        Self::Sync {
            sender_id: sender_id.to_owned(),
            target_id: target_id.to_owned(),
            document_id: document_id.to_string(),
            data,
        }
    }

    /// A `request` message.
    pub fn request(
        sender_id: &str,
        target_id: &str,
        document_id: DocumentId,
        data: Vec<u8>,
    ) -> Self {
        Self::Request {
            sender_id: sender_id.to_owned(),
            target_id: target_id.to_owned(),
            document_id: document_id.to_string(),
            data,
        }
    }

    /// The document a message is about, parsed; `None` for messages about no document.
    pub fn document_id(&self) -> Option<Result<DocumentId, DecodeError>> {
        match self {
            Self::Request { document_id, .. }
            | Self::Sync { document_id, .. }
            | Self::DocUnavailable { document_id, .. }
            | Self::Ephemeral { document_id, .. }
            | Self::RemoteHeadsChanged { document_id, .. } => {
                Some(document_id.parse().map_err(DecodeError::from))
            }
            _ => None,
        }
    }

    /// The sender's peer id, for messages that carry one.
    pub fn sender_id(&self) -> Option<&str> {
        match self {
            Self::Join { sender_id, .. }
            | Self::Peer { sender_id, .. }
            | Self::Leave { sender_id }
            | Self::Request { sender_id, .. }
            | Self::Sync { sender_id, .. }
            | Self::DocUnavailable { sender_id, .. }
            | Self::Ephemeral { sender_id, .. }
            | Self::RemoteSubscriptionChange { sender_id, .. }
            | Self::RemoteHeadsChanged { sender_id, .. } => Some(sender_id),
            Self::Error { .. } | Self::Unknown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_messages_round_trip_with_byte_strings() {
        let message =
            Message::sync("relay", "laptop", DocumentId::from_bytes([1; 16]), vec![0x42, 0, 255]);
        let bytes = message.encode();
        assert_eq!(Message::decode(&bytes).unwrap(), message);
        // `data` is a CBOR byte string (major type 2, length 3): 0x43.
        assert!(bytes.windows(4).any(|window| window == [0x43, 0x42, 0, 255]));
    }

    #[test]
    fn a_join_without_versions_or_metadata_is_accepted() {
        let mut bytes = Vec::new();
        let value = ciborium::Value::Map(vec![
            (ciborium::Value::Text("type".into()), ciborium::Value::Text("join".into())),
            (ciborium::Value::Text("senderId".into()), ciborium::Value::Text("js-peer".into())),
            (
                ciborium::Value::Text("metadata".into()),
                ciborium::Value::Map(vec![(
                    ciborium::Value::Text("isEphemeral".into()),
                    ciborium::Value::Bool(true),
                )]),
            ),
        ]);
        ciborium::into_writer(&value, &mut bytes).unwrap();
        match Message::decode(&bytes).unwrap() {
            Message::Join { sender_id, supported_protocol_versions, peer_metadata } => {
                assert_eq!(sender_id, "js-peer");
                assert!(supported_protocol_versions.is_empty());
                assert!(peer_metadata.unwrap().is_ephemeral);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_types_are_recognised_and_garbage_is_an_error() {
        let mut bytes = Vec::new();
        let value = ciborium::Value::Map(vec![(
            ciborium::Value::Text("type".into()),
            ciborium::Value::Text("from-the-future".into()),
        )]);
        ciborium::into_writer(&value, &mut bytes).unwrap();
        assert_eq!(Message::decode(&bytes).unwrap(), Message::Unknown);
        assert!(Message::decode(b"\xff\x00garbage").is_err());
        assert!(Message::decode(&[]).is_err());
        let mut null = Vec::new();
        ciborium::into_writer(&ciborium::Value::Null, &mut null).unwrap();
        assert!(Message::decode(&null).is_err());
    }
}
