//! automerge-repo document ids: 16 bytes, written as bs58check.

use std::fmt;
use std::str::FromStr;

/// A string that is not a document id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a document id (expected bs58check of 16 bytes, or a UUID)")]
pub struct BadDocumentId(pub String);

/// A document id as automerge-repo writes it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentId([u8; 16]);

impl DocumentId {
    /// Wraps 16 bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The document's automerge-repo URL: `automerge:` and the bs58check id.
    pub fn automerge_url(&self) -> String {
        format!("automerge:{self}")
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(&self.0).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl FromStr for DocumentId {
    type Err = BadDocumentId;

    /// Parses bs58check, or a UUID string (automerge-repo accepts legacy UUIDs).
    fn from_str(text: &str) -> Result<Self, BadDocumentId> {
        let bad = || BadDocumentId(text.chars().take(64).collect());
        if let Ok(bytes) = bs58::decode(text).with_check(None).into_vec() {
            return <[u8; 16]>::try_from(bytes.as_slice()).map(Self).map_err(|_| bad());
        }
        uuid::Uuid::parse_str(text).map(|uuid| Self(*uuid.as_bytes())).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_bs58check() {
        let id = DocumentId::from_bytes([7; 16]);
        let text = id.to_string();
        assert_eq!(text.parse::<DocumentId>(), Ok(id));
        assert!((20..=30).contains(&text.len()), "{text}");
    }

    #[test]
    fn a_uuid_string_is_accepted_and_a_corrupted_id_is_not() {
        let uuid = "0192e4c8-7b1a-4c3e-9f00-3d2a1b4c5d6e";
        let id: DocumentId = uuid.parse().unwrap();
        assert_eq!(uuid::Uuid::from_bytes(*id.as_bytes()).to_string(), uuid);
        let mut text = DocumentId::from_bytes([7; 16]).to_string();
        text.replace_range(0..1, if text.starts_with('2') { "3" } else { "2" });
        assert!(text.parse::<DocumentId>().is_err(), "the checksum catches a changed character");
    }
}
