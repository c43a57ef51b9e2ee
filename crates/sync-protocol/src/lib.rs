//! Kartoteka's sync wire formats, shared by the relay and the replicas.
//!
//! - [`Message`]: the automerge-repo websocket protocol, version "1": one CBOR
//!   map per binary frame (`join`/`peer` handshake, `request`, `sync`,
//!   `doc-unavailable`, `ephemeral`, `error`, `leave`, …), so that unmodified
//!   automerge-repo peers (JavaScript `@automerge/automerge-repo`, Rust `samod`)
//!   can sync through the relay.
//! - [`DocumentId`]: 16 bytes written as bs58check, as automerge-repo does.
//! - [`feed`]: the change feed that tells a replica which documents changed since
//!   its cursor; [`bundle`]: the same documents with their saved bytes, in pages,
//!   for a replica that joins; and [`blobs`]: the names of the blob endpoints'
//!   headers.
//! - [`limits`]: the sizes and intervals both sides agree on.
//! - [`cbor_shape`] and [`sync_message`]: bounds checked on what a peer sends
//!   before it is decoded or handed to Automerge.
//!
//! Nothing here does IO.

#![warn(missing_docs)]

pub mod blobs;
pub mod bundle;
pub mod cbor_shape;
mod document_id;
pub mod feed;
pub mod limits;
mod message;
pub mod sync_message;

pub use document_id::{BadDocumentId, DocumentId};
pub use message::{DecodeError, Message, PROTOCOL_VERSION, PeerMetadata};

/// The websocket path of the automerge-repo protocol endpoint.
pub const SYNC_PATH: &str = "/v1/sync";
/// The path of the change feed.
pub const CHANGES_PATH: &str = "/v1/changes";
/// The path of the workspace bundle (see [`bundle`]).
pub const BUNDLE_PATH: &str = "/v1/bundle";
/// The path prefix of the blob endpoints (`/v1/blobs/<blake3 hex>`).
pub const BLOBS_PATH: &str = "/v1/blobs";
/// The query parameter that carries the token for clients that cannot set
/// headers (browsers, the JavaScript websocket adapter).
pub const TOKEN_QUERY_PARAMETER: &str = "token";
