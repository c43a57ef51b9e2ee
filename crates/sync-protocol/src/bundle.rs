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

/// The largest document a bundle carries. A larger one is listed without its
/// bytes (`data` empty): the replica syncs it on its own afterwards.
pub const MAX_BUNDLE_DOCUMENT_BYTES: usize = crate::limits::MAX_MESSAGE_BYTES;

/// The largest bundle page a replica accepts: a full page plus one document
/// of the largest size, with room for the CBOR around them.
pub const MAX_BUNDLE_PAGE_BYTES: usize =
    BUNDLE_PAGE_BYTES + MAX_BUNDLE_DOCUMENT_BYTES + 1024 * 1024;

/// Heads per document a replica accepts in a page (as in a sync message).
pub const MAX_BUNDLE_HEADS: usize = 1_024;

/// One document of a bundle page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleDocument {
    /// The document, as an automerge-repo document id (bs58check).
    pub document_id: String,
    /// Its change-feed sequence number.
    pub seq: i64,
    /// Its heads (hex change hashes): the saved bytes must load to exactly these.
    pub heads: Vec<String>,
    /// Its saved bytes; empty when the document is larger than
    /// [`MAX_BUNDLE_DOCUMENT_BYTES`] (it is synced on its own instead).
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

    /// Reads a page answering a request with `since`: bounded before decoding
    /// ([`MAX_BUNDLE_PAGE_BYTES`], and the CBOR shape), then checked to be one
    /// an honest relay sends: at most [`BUNDLE_PAGE_DOCUMENTS`] documents with
    /// valid ids and at most [`MAX_BUNDLE_HEADS`] heads each, their seqs rising
    /// within `(since, next]`, and a page that says more follows moving on.
    pub fn decode(bytes: &[u8], since: i64) -> Result<Self, BadBundlePage> {
        if bytes.len() > MAX_BUNDLE_PAGE_BYTES {
            return Err(BadBundlePage(format!("{} bytes", bytes.len())));
        }
        let page: Self =
            ciborium::from_reader(bytes).map_err(|error| BadBundlePage(error.to_string()))?;
        if page.documents.len() > BUNDLE_PAGE_DOCUMENTS {
            return Err(BadBundlePage(format!("{} documents", page.documents.len())));
        }
        let mut last = since;
        for document in &page.documents {
            if document.document_id.parse::<crate::DocumentId>().is_err() {
                return Err(BadBundlePage(format!("document id {:?}", document.document_id)));
            }
            if document.heads.len() > MAX_BUNDLE_HEADS {
                return Err(BadBundlePage(format!("{} heads", document.heads.len())));
            }
            if document.seq <= last || document.seq > page.next {
                return Err(BadBundlePage(format!("seq {} out of order", document.seq)));
            }
            last = document.seq;
        }
        if page.next < since || (page.more && page.next <= since) {
            return Err(BadBundlePage(format!("next {} after {since}", page.next)));
        }
        Ok(page)
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
                document_id: crate::DocumentId::from_bytes([2; 16]).to_string(),
                seq: 3,
                heads: vec!["ab".to_owned()],
                data: vec![1, 2, 3],
            }],
            next: 3,
            more: false,
        };
        assert_eq!(BundlePage::decode(&page.encode(), 0).unwrap(), page);
        assert!(BundlePage::decode(&vec![0; MAX_BUNDLE_PAGE_BYTES + 1], 0).is_err());
        assert!(BundlePage::decode(b"\xff", 0).is_err());
    }

    #[test]
    fn pages_an_honest_relay_would_not_send_are_refused() {
        let document = |seq: i64| BundleDocument {
            document_id: crate::DocumentId::from_bytes([1; 16]).to_string(),
            seq,
            heads: Vec::new(),
            data: Vec::new(),
        };
        let page = |documents: Vec<BundleDocument>, next: i64, more: bool| BundlePage {
            workspace: "w".to_owned(),
            documents,
            next,
            more,
        };
        assert!(
            BundlePage::decode(&page(vec![document(4), document(6)], 6, true).encode(), 3).is_ok()
        );
        // More, but not moving on: a download that would never end.
        assert!(BundlePage::decode(&page(Vec::new(), 3, true).encode(), 3).is_err());
        // Seqs at or before the request's cursor, falling, or past `next`.
        assert!(BundlePage::decode(&page(vec![document(3)], 3, false).encode(), 3).is_err());
        assert!(
            BundlePage::decode(&page(vec![document(6), document(5)], 6, false).encode(), 3)
                .is_err()
        );
        assert!(BundlePage::decode(&page(vec![document(7)], 6, false).encode(), 3).is_err());
        let mut bad_id = document(4);
        bad_id.document_id = "not an id".to_owned();
        assert!(BundlePage::decode(&page(vec![bad_id], 4, false).encode(), 3).is_err());
        let mut many_heads = document(4);
        many_heads.heads = vec!["00".to_owned(); MAX_BUNDLE_HEADS + 1];
        assert!(BundlePage::decode(&page(vec![many_heads], 4, false).encode(), 3).is_err());
    }
}
