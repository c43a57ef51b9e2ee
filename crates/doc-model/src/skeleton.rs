//! Deterministic document skeletons.
//!
//! The skeleton is the first change of every document. It creates every container
//! the document kind has at a fixed key, written by a fixed actor at time 0, so it
//! is one and the same change (same hash) in every document of that kind: two
//! replicas that create the same document independently share it, and Automerge
//! merges their documents instead of keeping two competing containers of which
//! one would hide the other's contents.
//!
//! Because the skeleton does not depend on the document, it is built once per kind
//! and cloned for each new document. A skeleton of a released schema version must
//! never change: a test pins the change hash of each kind's skeleton.

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

/// The actor of every skeleton change.
const SKELETON_ACTOR: &[u8; 16] = b"kartoteka/schema";

/// A new document of `kind`: its skeleton, plus a pending (uncommitted) write of
/// the document's id by `actor`, which becomes part of the caller's first change.
pub fn new_document(doc_id: DocId, kind: DocKind, actor: &ActorId) -> Result<AutoCommit> {
    let mut doc = skeleton(kind)?;
    doc.set_actor(actor.clone());
    doc.put(ROOT, "id", doc_id.to_string())?;
    Ok(doc)
}

/// A clone of the kind's skeleton, built on first use.
fn skeleton(kind: DocKind) -> Result<AutoCommit> {
    thread_local! {
        static SKELETONS: std::cell::RefCell<Vec<(DocKind, AutoCommit)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SKELETONS.with_borrow_mut(|skeletons| {
        if let Some((_, doc)) = skeletons.iter().find(|(built, _)| *built == kind) {
            return Ok(doc.clone());
        }
        let doc = build_skeleton(kind)?;
        skeletons.push((kind, doc.clone()));
        Ok(doc)
    })
}

fn build_skeleton(kind: DocKind) -> Result<AutoCommit> {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(SKELETON_ACTOR.as_slice()));
    doc.put(ROOT, "schema", ScalarValue::Uint(SCHEMA_VERSION))?;
    doc.put(ROOT, "kind", kind.as_str())?;
    match kind {
        DocKind::Workspace => {
            doc.put_object(ROOT, "company", ObjType::Map)?;
            doc.put_object(ROOT, "devices", ObjType::Map)?;
        }
        DocKind::Groups => {
            doc.put_object(ROOT, "groups", ObjType::Map)?;
        }
        DocKind::Invoices => {
            for key in ["invoices", "payments", "notices", "letters"] {
                doc.put_object(ROOT, key, ObjType::Map)?;
            }
        }
        DocKind::Billing => {
            for key in ["series", "policies", "base_rates", "settings"] {
                doc.put_object(ROOT, key, ObjType::Map)?;
            }
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
    fn two_replicas_creating_one_document_share_its_skeleton() {
        let doc_id = DocId::from_bytes(*Uuid::from_u128(7).as_bytes());
        for kind in [DocKind::Workspace, DocKind::Groups, DocKind::Client] {
            let mut first = new_document(doc_id, kind, &ActorId::from([1; 16].as_slice())).unwrap();
            let mut second =
                new_document(doc_id, kind, &ActorId::from([2; 16].as_slice())).unwrap();
            first.commit();
            second.commit();
            first.merge(&mut second).unwrap();
            assert_eq!(schema_of(&first), Some(SCHEMA_VERSION));
            assert_eq!(document_kind(&first).as_deref(), Some(kind.as_str()));
            assert_eq!(document_id(&first), Some(doc_id));
            // Both wrote the same id: agreement, not a conflict to resolve.
            assert!(crate::conflicts(&first).unwrap().is_empty(), "{kind:?}");
            let skeleton_hash = build_skeleton(kind).unwrap().get_heads();
            assert_eq!(
                first.get_changes(&[]).iter().filter(|c| c.hash() == skeleton_hash[0]).count(),
                1
            );
        }
    }

    /// The skeleton of schema 1 is frozen: a changed hash means documents created by
    /// this build would no longer merge with documents created by released builds.
    #[test]
    fn schema_1_skeleton_hashes_are_frozen() {
        let hashes: Vec<String> = [
            DocKind::Workspace,
            DocKind::Groups,
            DocKind::Client,
            DocKind::Invoices,
            DocKind::Billing,
        ]
        .into_iter()
        .map(|kind| build_skeleton(kind).unwrap().get_heads()[0].to_string())
        .collect();
        assert_eq!(hashes, FROZEN_SKELETON_HASHES, "a skeleton changed; see the test's comment");
    }

    const FROZEN_SKELETON_HASHES: [&str; 5] = [
        "027daf951b866b6c449c58d033de97e21b982049eca6dcf5692d8762679b5e6a",
        "50bcd7b0bb039bdde95833caa03ab7e9fd832d8606b8354b3ecb255ec8f2d217",
        "8a975587c61d6ce95d59bb66781235adff3dabba6ba0ceba55d040b0a3dd22e8",
        "939c58265109125870ff12a4e85038fce52bc6c73e19e05db79035093726542f",
        "be2509447a41bbe80f6824ec63bf5b2e7ec72ea4bc21dcceab1ef431ddf91684",
    ];
}
