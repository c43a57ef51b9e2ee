//! The change feed: which documents changed on the relay since a cursor.
//!
//! `GET /v1/changes?since=<cursor>` returns a [`FeedPage`] as JSON. The relay
//! appends one entry per stored change and keeps only the newest entry per
//! document, so a replica that reconnects learns about each changed document
//! once, in O(changed documents). Each entry carries the document's heads after
//! that change: a replica that already has those heads (its own push, or a change
//! announced to it live) skips the document without a round trip.

use serde::{Deserialize, Serialize};

/// One changed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedEntry {
    /// The document, as an automerge-repo document id (bs58check).
    pub document_id: String,
    /// The relay's sequence number of its newest change.
    pub seq: i64,
    /// The document's heads at that change (hex change hashes).
    #[serde(default)]
    pub heads: Vec<String>,
}

/// A page of the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPage {
    /// The workspace the token opens; a replica of another workspace must not
    /// sync with this token.
    pub workspace: String,
    /// Changed documents, by sequence number.
    pub entries: Vec<FeedEntry>,
    /// The cursor to ask with next time (the last entry's `seq`, or the request's).
    pub next: i64,
    /// Whether more entries follow (ask again with `next`).
    pub more: bool,
}
