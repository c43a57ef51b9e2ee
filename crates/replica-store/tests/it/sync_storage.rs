//! The replica as the sync engine's storage: a batch of documents and sync's
//! bookkeeping commit together, and a document that fails is put up for retry.

use std::collections::HashMap;

use doc_model::DocId;
use sync_engine::{Outcome, ReplicaStorage, SyncBatch, SyncRecord};
use sync_protocol::DocumentId;
use uuid::Uuid;

use crate::support::{name, replica};

/// Loads the given bytes into each document, as a sync message would bring them.
struct Loading {
    bytes: HashMap<DocumentId, Vec<u8>>,
    documents: Vec<DocumentId>,
}

impl SyncBatch for Loading {
    fn apply(
        &mut self,
        document: DocumentId,
        doc: &mut automerge::AutoCommit,
    ) -> Result<(), automerge::AutomergeError> {
        doc.load_incremental(&self.bytes[&document]).map(|_| ())
    }

    fn record(&mut self, outcomes: &[Outcome]) -> SyncRecord {
        let mut record = SyncRecord { cursor: Some(7), ..SyncRecord::default() };
        for (document, outcome) in self.documents.iter().zip(outcomes) {
            match outcome {
                Ok(()) => record.states.push((*document, vec![1, 2, 3])),
                Err(_) => record.retry.push(*document),
            }
        }
        record
    }
}

fn document_id(doc_id: DocId) -> DocumentId {
    DocumentId::from_bytes(*doc_id.as_bytes())
}

#[test]
fn a_batch_and_its_bookkeeping_commit_together_and_a_failed_document_is_kept_for_retry() {
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let mut otto = replica(workspace, "laptop-otto");
    let good = DocId::client(anna.create_client(&[name("Ķiploks SIA")]).unwrap());
    let bad = DocId::client(anna.create_client(&[name("Bērziņš")]).unwrap());
    let documents = vec![document_id(good), document_id(bad)];
    let mut batch = Loading {
        bytes: HashMap::from([
            (documents[0], anna.export_document(good).unwrap()),
            (documents[1], b"not automerge".to_vec()),
        ]),
        documents: documents.clone(),
    };

    let outcomes = {
        let mut storage = otto.sync_storage("relay-1");
        storage.receive(&documents, &mut batch).unwrap()
    };
    assert!(outcomes[0].is_ok());
    assert!(outcomes[1].is_err());
    let names: Vec<String> =
        otto.catalog(&Default::default()).unwrap().into_iter().map(|row| row.name).collect();
    assert_eq!(names, ["Ķiploks SIA"]);
    assert_eq!(otto.sync_retries("relay-1").unwrap(), [(bad, 1)]);
    assert_eq!(otto.sync_cursor("relay-1").unwrap(), 7);
    assert_eq!(otto.sync_state("relay-1", good).unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(otto.sync_state("relay-1", bad).unwrap(), None);
    // Bookkeeping is per remote.
    assert!(otto.sync_retries("relay-2").unwrap().is_empty());
    assert_eq!(otto.sync_cursor("relay-2").unwrap(), 0);

    // Once in sync, the retry record goes.
    let mut storage = otto.sync_storage("relay-1");
    let record = SyncRecord { retried: vec![documents[1]], ..SyncRecord::default() };
    storage.record(&record).unwrap();
    assert!(otto.sync_retries("relay-1").unwrap().is_empty());
}

#[test]
fn a_document_refused_when_stored_is_put_up_for_retry() {
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let mut otto = replica(workspace, "laptop-otto");
    let client = DocId::client(anna.create_client(&[name("Ozols")]).unwrap());
    // A document whose content claims another id is refused when stored (after
    // the engine's part ran): the refusal is its outcome, and it is kept for retry.
    let wrong = DocId::client(domain::ClientId::random());
    let documents = vec![document_id(wrong)];
    let mut batch = Loading {
        bytes: HashMap::from([(documents[0], anna.export_document(client).unwrap())]),
        documents: documents.clone(),
    };
    let outcomes = otto.sync_storage("relay-1").receive(&documents, &mut batch).unwrap();
    let error = outcomes[0].as_ref().unwrap_err();
    assert!(error.contains("different document id"), "{error}");
    assert!(otto.catalog(&Default::default()).unwrap().is_empty());
    assert_eq!(otto.sync_retries("relay-1").unwrap(), [(wrong, 1)]);
    // A second failing round counts.
    let outcomes = otto.sync_storage("relay-1").receive(&documents, &mut batch).unwrap();
    assert!(outcomes[0].is_err());
    assert_eq!(otto.sync_retries("relay-1").unwrap(), [(wrong, 2)]);
}

#[test]
fn a_stored_document_that_cannot_be_loaded_fails_alone_and_the_batch_goes_on() {
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let mut otto = replica(workspace, "laptop-otto");
    let damaged = DocId::client(otto.create_client(&[name("Ozols")]).unwrap());
    let arriving = DocId::client(anna.create_client(&[name("Liepa")]).unwrap());
    let update = anna.export_document(arriving).unwrap();
    // The stored copy of one document is damaged behind the replica's back.
    let database = otto.dir.path().join(replica_store::DATABASE_FILE);
    rusqlite::Connection::open(&database)
        .unwrap()
        .execute(
            "UPDATE doc_store SET snapshot = x'00ff00ff' WHERE doc_id = ?1",
            [damaged.as_bytes()],
        )
        .unwrap();
    let mut otto = replica_store::Replica::open(otto.dir.path()).unwrap();

    let documents = vec![document_id(damaged), document_id(arriving)];
    let mut batch = Loading {
        bytes: HashMap::from([(documents[0], Vec::new()), (documents[1], update)]),
        documents: documents.clone(),
    };
    let outcomes = otto.sync_storage("relay-1").receive(&documents, &mut batch).unwrap();
    assert!(outcomes[0].is_err(), "{outcomes:?}");
    assert!(outcomes[1].is_ok(), "{outcomes:?}");
    let names: Vec<String> =
        otto.catalog(&Default::default()).unwrap().into_iter().map(|row| row.name).collect();
    assert!(names.contains(&"Liepa".to_owned()), "{names:?}");
    assert_eq!(otto.sync_retries("relay-1").unwrap(), [(damaged, 1)]);
}

#[test]
fn bundle_documents_without_heads_or_bytes_are_kept_for_retry_and_the_cursor_moves_on() {
    use sync_protocol::bundle::{BundleDocument, BundlePage};
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let mut otto = replica(workspace, "laptop-otto");
    let good = DocId::client(anna.create_client(&[name("Ozols")]).unwrap());
    let headless = DocId::client(anna.create_client(&[name("Liepa")]).unwrap());
    let oversized = DocId::client(anna.create_client(&[name("Egle")]).unwrap());
    let heads = |doc_id: DocId, replica: &mut replica_store::Replica| -> Vec<String> {
        replica.document_heads(doc_id).unwrap().iter().map(ToString::to_string).collect()
    };
    let entry = |doc_id: DocId, seq: i64, heads: Vec<String>, data: Vec<u8>| BundleDocument {
        document_id: document_id(doc_id).to_string(),
        seq,
        heads,
        data,
    };
    let page = BundlePage {
        workspace: workspace.to_string(),
        documents: vec![
            entry(good, 1, heads(good, &mut anna), anna.export_document(good).unwrap()),
            // A relay that gives no heads must not make a document vanish.
            entry(headless, 2, Vec::new(), anna.export_document(headless).unwrap()),
            // Too large for the bundle: listed without its bytes.
            entry(oversized, 3, heads(oversized, &mut anna), Vec::new()),
        ],
        next: 3,
        more: false,
    };
    let (changed, failed) = otto.import_bundle("relay-1", &page).unwrap();
    assert_eq!((changed, failed), (1, 2));
    assert_eq!(otto.sync_cursor("relay-1").unwrap(), 3);
    let mut retries: Vec<DocId> =
        otto.sync_retries("relay-1").unwrap().into_iter().map(|(doc_id, _)| doc_id).collect();
    retries.sort();
    let mut expected = vec![headless, oversized];
    expected.sort();
    assert_eq!(retries, expected, "every document is stored or kept for retry");
}

/// A bundle page as a relay would serve it: each document's saved bytes and heads.
fn bundle_page(
    from: &mut replica_store::Replica,
    workspace: Uuid,
    doc_ids: &[DocId],
) -> sync_protocol::bundle::BundlePage {
    let documents: Vec<_> = doc_ids
        .iter()
        .zip(1..)
        .map(|(doc_id, seq)| sync_protocol::bundle::BundleDocument {
            document_id: document_id(*doc_id).to_string(),
            seq,
            heads: from.document_heads(*doc_id).unwrap().iter().map(ToString::to_string).collect(),
            data: from.export_document(*doc_id).unwrap(),
        })
        .collect();
    sync_protocol::bundle::BundlePage {
        workspace: workspace.to_string(),
        next: documents.len() as i64,
        documents,
        more: false,
    }
}

#[test]
fn a_bundle_page_with_a_document_the_replica_has_merges_it_with_local_edits() {
    use domain::{ClientEdit, ProfileField};
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let mut otto = replica(workspace, "laptop-otto");
    let shared = anna.create_client(&[name("Ozols")]).unwrap();
    let fresh = anna.create_client(&[name("Liepa")]).unwrap();
    let bytes = anna.export_document(DocId::client(shared)).unwrap();
    otto.merge_document(DocId::client(shared), &bytes).unwrap();
    // Both edit the client otto already has; the page brings anna's edit.
    anna.edit_client(shared, &[ClientEdit::Field(ProfileField::Industry, "Forestry".to_owned())])
        .unwrap();
    otto.edit_client(shared, &[ClientEdit::Comments("Call before noon.".to_owned())]).unwrap();
    let page = bundle_page(&mut anna, workspace, &[DocId::client(fresh), DocId::client(shared)]);

    let (changed, failed) = otto.import_bundle("relay-1", &page).unwrap();

    assert_eq!((changed, failed), (2, 0));
    let card = otto.card(shared, chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()).unwrap();
    assert_eq!(card.industry, "Forestry", "the bundle's edit is merged");
    assert_eq!(card.comments, "Call before noon.", "the local edit is kept");
    let names: Vec<String> =
        otto.catalog(&Default::default()).unwrap().into_iter().map(|row| row.name).collect();
    assert!(names.contains(&"Liepa".to_owned()), "{names:?}");
    assert_eq!(otto.sync_cursor("relay-1").unwrap(), 2);
    assert!(otto.outbox().unwrap().iter().any(|(doc_id, _)| *doc_id == DocId::client(shared)));
}

#[test]
fn a_bundle_document_that_names_another_id_is_kept_for_retry_and_the_rest_is_stored() {
    let workspace = Uuid::new_v4();
    let mut anna = replica(workspace, "laptop-anna");
    let mut otto = replica(workspace, "laptop-otto");
    let good = DocId::client(anna.create_client(&[name("Ozols")]).unwrap());
    let other = DocId::client(anna.create_client(&[name("Liepa")]).unwrap());
    let mut page = bundle_page(&mut anna, workspace, &[good, other]);
    // A hostile peer's document passed off under an id of its choosing.
    let impostor = DocId::client(domain::ClientId::random());
    page.documents[1].document_id = document_id(impostor).to_string();

    let (changed, failed) = otto.import_bundle("relay-1", &page).unwrap();

    assert_eq!((changed, failed), (1, 1));
    assert!(otto.has_document(good).unwrap());
    assert!(!otto.has_document(impostor).unwrap() && !otto.has_document(other).unwrap());
    assert_eq!(otto.sync_retries("relay-1").unwrap(), [(impostor, 1)]);
    assert_eq!(otto.sync_cursor("relay-1").unwrap(), 2);
}
