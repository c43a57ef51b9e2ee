//! Document ids and kinds.
//!
//! A document id is 16 bytes, a UUID: for a client's document it is the client's
//! id, for a workspace-wide document it is derived from the workspace id (UUID v5),
//! so that every replica of the workspace agrees on it without talking. Sixteen
//! bytes is also what an automerge-repo document id encodes (bs58check), which is
//! how the sync layer names documents on the wire.

use std::fmt;
use std::str::FromStr;

use domain::ClientId;
use uuid::Uuid;

/// A string that is not a document id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a document id (expected a UUID)")]
pub struct BadDocId(pub String);

/// The id of one Automerge document of a replica.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocId(Uuid);

impl DocId {
    /// Wraps 16 bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }

    /// The 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// The document of a client aggregate.
    pub const fn client(client_id: ClientId) -> Self {
        Self(*client_id.as_uuid())
    }

    /// The workspace document (company settings, devices) of a workspace.
    pub fn workspace(workspace_id: Uuid) -> Self {
        Self(Uuid::new_v5(&workspace_id, b"kartoteka/workspace"))
    }

    /// The client-groups document of a workspace.
    pub fn groups(workspace_id: Uuid) -> Self {
        Self(Uuid::new_v5(&workspace_id, b"kartoteka/groups"))
    }

    /// The document of a client's invoices of one year: old years stop growing.
    pub fn invoices(client_id: ClientId, year: i32) -> Self {
        Self(Uuid::new_v5(client_id.as_uuid(), format!("kartoteka/invoices/{year}").as_bytes()))
    }

    /// The billing document of a workspace.
    pub fn billing(workspace_id: Uuid) -> Self {
        Self(Uuid::new_v5(&workspace_id, b"kartoteka/billing"))
    }

    /// The client this document belongs to, read as a client id.
    pub const fn as_client_id(&self) -> ClientId {
        ClientId::from_uuid(self.0)
    }

    /// The id as a UUID.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocId({})", self.0.hyphenated())
    }
}

impl FromStr for DocId {
    type Err = BadDocId;

    fn from_str(value: &str) -> Result<Self, BadDocId> {
        Uuid::parse_str(value).map(Self).map_err(|_| BadDocId(value.to_owned()))
    }
}

/// What a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// Company settings and the devices of the workspace.
    Workspace,
    /// The client groups.
    Groups,
    /// One client aggregate.
    Client,
    /// One client's invoices (with their payments and dunning notices) of one year.
    Invoices,
    /// Workspace-wide billing settings: number series, dunning policy, base rates.
    Billing,
}

impl DocKind {
    /// The stored name of the kind.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Workspace => "workspace",
            Self::Groups => "groups",
            Self::Client => "client",
            Self::Invoices => "invoices",
            Self::Billing => "billing",
        }
    }

    /// Parses a stored kind; `None` for a kind a newer version introduced.
    pub fn from_stored(value: &str) -> Option<Self> {
        match value {
            "workspace" => Some(Self::Workspace),
            "groups" => Some(Self::Groups),
            "client" => Some(Self::Client),
            "invoices" => Some(Self::Invoices),
            "billing" => Some(Self::Billing),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_documents_have_ids_every_replica_derives_alike() {
        let workspace_id = Uuid::from_u128(42);
        assert_eq!(DocId::groups(workspace_id), DocId::groups(workspace_id));
        assert_ne!(DocId::groups(workspace_id), DocId::workspace(workspace_id));
        assert_ne!(DocId::groups(workspace_id), DocId::groups(Uuid::from_u128(43)));
    }

    #[test]
    fn a_client_document_is_named_by_the_client_id() {
        let client_id = ClientId::random();
        let doc_id = DocId::client(client_id);
        assert_eq!(doc_id.as_client_id(), client_id);
        assert_eq!(doc_id.to_string().parse::<DocId>(), Ok(doc_id));
    }
}
