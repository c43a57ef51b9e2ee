//! The workspace bundle: a fresh replica (or one far behind) downloads the
//! relay's saved documents in pages instead of running a sync handshake per
//! document.
//!
//! `GET /v1/bundle?since=<cursor>` returns a [`BundlePage`] as CBOR: the
//! documents the change feed lists after `since`, in feed order, each with its
//! heads and its saved bytes (an Automerge snapshot followed by change chunks,
//! what `load_incremental` takes). Pages end at [`BUNDLE_PAGE_DOCUMENTS`]
//! documents or [`BUNDLE_PAGE_BYTES`] bytes (a larger document comes alone),
//! so the relay never holds more than one page. `next` is the cursor to ask
//! with next, and the replica's change-feed cursor once it has stored the page:
//! an interrupted download resumes there, and the ordinary sync afterwards
//! fetches only what changed during the download.

use serde::{Deserialize, Serialize};

/// Documents per bundle page at most.
pub const BUNDLE_PAGE_DOCUMENTS: usize = 2_000;

/// Bytes of documents per bundle page at most (unless one document is larger).
pub const BUNDLE_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// The largest bundle page a replica accepts: a page of its usual size plus
/// the largest document the relay accepts in one message.
pub const MAX_BUNDLE_PAGE_BYTES: usize = BUNDLE_PAGE_BYTES + 4 * crate::limits::MAX_MESSAGE_BYTES;

/// One document of a bundle page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleDocument {
    /// The document, as an automerge-repo document id (bs58check).
    pub document_id: String,
    /// Its change-feed sequence number.
    pub seq: i64,
    /// Its heads (hex change hashes): the saved bytes must load to exactly these.
    pub heads: Vec<String>,
    /// Its saved bytes.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// A page of the workspace bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundlePage {
    /// The workspace the token opens.
    pub workspace: String,
    /// Documents, in change-feed order.
    pub documents: Vec<BundleDocument>,
    /// The cursor to ask with next (the last document's `seq`, or the request's).
    pub next: i64,
    /// Whether more documents follow.
    pub more: bool,
}

/// A bundle page that is not one.
#[derive(Debug, thiserror::Error)]
#[error("not a bundle page: {0}")]
pub struct BadBundlePage(String);

impl BundlePage {
    /// CBOR bytes of the page.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        // Writing CBOR into a Vec cannot fail: the only errors are the writer's.
        let _ = ciborium::into_writer(self, &mut bytes);
        bytes
    }

    /// Reads a page (bounded by [`MAX_BUNDLE_PAGE_BYTES`] before decoding).
    pub fn decode(bytes: &[u8]) -> Result<Self, BadBundlePage> {
        if bytes.len() > MAX_BUNDLE_PAGE_BYTES {
            return Err(BadBundlePage(format!("{} bytes", bytes.len())));
        }
        ciborium::from_reader(bytes).map_err(|error| BadBundlePage(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_round_trips_and_an_oversized_one_is_refused() {
        let page = BundlePage {
            workspace: "w".to_owned(),
            documents: vec![BundleDocument {
                document_id: "d".to_owned(),
                seq: 3,
                heads: vec!["ab".to_owned()],
                data: vec![1, 2, 3],
            }],
            next: 3,
            more: false,
        };
        assert_eq!(BundlePage::decode(&page.encode()).unwrap(), page);
        assert!(BundlePage::decode(&vec![0; MAX_BUNDLE_PAGE_BYTES + 1]).is_err());
        assert!(BundlePage::decode(b"\xff").is_err());
    }
}
