//! Deterministic document skeletons.
//!
//! The skeleton is the first change of every document. It creates every container
//! the document kind has at a fixed key, with an actor derived from the document id
//! and time 0, so two replicas that create the same document independently build
//! the same change (same hash) and Automerge merges them as one.
//!
//! A skeleton of a released schema version must never change: a test pins the
//! change hash of each kind's skeleton.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue};

use crate::doc_id::{DocId, DocKind};
use crate::error::{DocModelError, Result};

/// The newest document schema this build reads and writes.
pub const SCHEMA_VERSION: u64 = 1;

/// The containers of a client document, at the root.
pub(crate) const CLIENT_ROOT_MAPS: [&str; 13] = [
    "profile",
    "contacts",
    "phones",
    "emails",
    "webs",
    "bank_accounts",
    "settings",
    "units",
    "visits",
    "gallery",
    "documents",
    "recurring",
    "dunning",
];

/// A new document of `kind` holding only its skeleton; the caller sets its own
/// actor (`set_actor`) before editing.
pub fn new_document(doc_id: DocId, kind: DocKind) -> Result<AutoCommit> {
    let skeleton_actor = ActorId::from(doc_id.as_bytes().as_slice());
    let mut doc = AutoCommit::new().with_actor(skeleton_actor);
    doc.put(ROOT, "schema", ScalarValue::Uint(SCHEMA_VERSION))?;
    doc.put(ROOT, "kind", kind.as_str())?;
    doc.put(ROOT, "id", doc_id.to_string())?;
    match kind {
        DocKind::Workspace => {
            doc.put_object(ROOT, "company", ObjType::Map)?;
            doc.put_object(ROOT, "devices", ObjType::Map)?;
        }
        DocKind::Groups => {
            doc.put_object(ROOT, "groups", ObjType::Map)?;
        }
        DocKind::Client => {
            for key in CLIENT_ROOT_MAPS {
                doc.put_object(ROOT, key, ObjType::Map)?;
            }
            let profile = container(&doc, &["profile"])?;
            doc.put_object(&profile, "address", ObjType::Map)?;
            let billing = doc.put_object(&profile, "billing", ObjType::Map)?;
            doc.put_object(&billing, "address", ObjType::Map)?;
            doc.put_object(&profile, "comments", ObjType::Text)?;
        }
    }
    doc.commit_with(CommitOptions::default().with_time(0));
    Ok(doc)
}

/// The schema version a document records, if it records one.
pub fn schema_of(doc: &AutoCommit) -> Option<u64> {
    match doc.get(ROOT, "schema").ok()??.0 {
        automerge::Value::Scalar(scalar) => match scalar.as_ref() {
            ScalarValue::Uint(version) => Some(*version),
            ScalarValue::Int(version) => u64::try_from(*version).ok(),
            _ => None,
        },
        automerge::Value::Object(_) => None,
    }
}

/// The kind a document records, as stored.
pub fn document_kind(doc: &AutoCommit) -> Option<String> {
    match doc.get(ROOT, "kind").ok()??.0 {
        automerge::Value::Scalar(scalar) => scalar.as_str().map(str::to_owned),
        automerge::Value::Object(_) => None,
    }
}

/// The document id a document records at its root.
pub fn document_id(doc: &AutoCommit) -> Option<DocId> {
    match doc.get(ROOT, "id").ok()??.0 {
        automerge::Value::Scalar(scalar) => scalar.as_str()?.parse().ok(),
        automerge::Value::Object(_) => None,
    }
}

/// Checks that `doc` is a `kind` document this build may edit.
pub(crate) fn check_writable(doc: &AutoCommit, kind: DocKind) -> Result<()> {
    let found = document_kind(doc).unwrap_or_default();
    if found != kind.as_str() {
        return Err(DocModelError::WrongKind { expected: kind.as_str(), found });
    }
    let schema = schema_of(doc).unwrap_or(0);
    if schema > SCHEMA_VERSION {
        return Err(DocModelError::NewerSchema { found: schema, supported: SCHEMA_VERSION });
    }
    Ok(())
}

/// The object at a path of map keys from the root.
pub(crate) fn container(doc: &AutoCommit, path: &[&str]) -> Result<automerge::ObjId> {
    let mut obj = ROOT;
    for (depth, key) in path.iter().enumerate() {
        match doc.get(&obj, *key)? {
            Some((automerge::Value::Object(_), id)) => obj = id,
            _ => {
                return Err(DocModelError::MissingContainer { path: path[..=depth].join(".") });
            }
        }
    }
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn two_replicas_build_the_same_skeleton_change() {
        let doc_id = DocId::from_bytes(*Uuid::from_u128(7).as_bytes());
        for kind in [DocKind::Workspace, DocKind::Groups, DocKind::Client] {
            let mut first = new_document(doc_id, kind).unwrap();
            let mut second = new_document(doc_id, kind).unwrap();
            assert_eq!(first.get_heads(), second.get_heads(), "{kind:?}");
            assert_eq!(schema_of(&first), Some(SCHEMA_VERSION));
            assert_eq!(document_kind(&first).as_deref(), Some(kind.as_str()));
        }
    }

    /// The skeleton of schema 1 is frozen: a changed hash means documents created by
    /// this build would no longer merge with documents created by released builds.
    #[test]
    fn schema_1_skeleton_hashes_are_frozen() {
        let doc_id = DocId::from_bytes(*Uuid::from_u128(7).as_bytes());
        let hashes: Vec<String> = [DocKind::Workspace, DocKind::Groups, DocKind::Client]
            .into_iter()
            .map(|kind| new_document(doc_id, kind).unwrap().get_heads()[0].to_string())
            .collect();
        assert_eq!(hashes, FROZEN_SKELETON_HASHES, "a skeleton changed; see the test's comment");
    }

    const FROZEN_SKELETON_HASHES: [&str; 3] = [
        "7c6da5c51c20b6a478b75d82691a19115ef65797e4ce59fbe23893ad476dc30e",
        "e2c3dedabedf2eb3d9fc1303750814dad1ad74d4577fe67561d96c5c03304ca3",
        "165c701b9b3dc626cef004da342b9cd5f7bffb236245428b14211b6826efb67d",
    ];
}
