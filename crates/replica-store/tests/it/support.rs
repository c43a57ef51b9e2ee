//! Helpers shared by the replica-store tests.

use domain::{Address, ClientEdit, ClientId, NewUnit, ProfileField, UnitId};
use replica_store::{
    ArchiveFilter, CatalogQuery, CatalogRow, ClientCard, ConflictView, GroupRow, InitOptions,
    Replica,
};
use tempfile::TempDir;
use uuid::Uuid;

/// The date the tests' cards are read at.
pub(crate) fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

/// A replica in its own temporary directory (removed on drop).
pub(crate) struct TestReplica {
    pub(crate) replica: Replica,
    pub(crate) dir: TempDir,
}

impl std::ops::Deref for TestReplica {
    type Target = Replica;
    fn deref(&self) -> &Replica {
        &self.replica
    }
}

impl std::ops::DerefMut for TestReplica {
    fn deref_mut(&mut self) -> &mut Replica {
        &mut self.replica
    }
}

/// A new replica of `workspace_id`.
pub(crate) fn replica(workspace_id: Uuid, device: &str) -> TestReplica {
    let dir = tempfile::tempdir().unwrap();
    let replica = Replica::create(
        dir.path(),
        &InitOptions {
            workspace_name: Some("Serviss SIA".to_owned()),
            device_name: device.to_owned(),
            workspace_id: Some(workspace_id),
            seeded: None,
        },
    )
    .unwrap();
    TestReplica { replica, dir }
}

pub(crate) fn name(value: &str) -> ClientEdit {
    ClientEdit::Field(ProfileField::Name, value.to_owned())
}

pub(crate) fn field(field: ProfileField, value: &str) -> ClientEdit {
    ClientEdit::Field(field, value.to_owned())
}

pub(crate) fn unit(id: UnitId, name: &str, city: &str) -> ClientEdit {
    ClientEdit::AddUnit(NewUnit {
        id,
        name: name.to_owned(),
        address: Address { city: city.to_owned(), ..Address::default() },
        phone: String::new(),
        email: String::new(),
        active: true,
    })
}

/// Sends every document of `from` to `to` (whole saved documents; merging is
/// idempotent, so resending is harmless).
pub(crate) fn send_all(from: &mut Replica, to: &mut Replica) {
    for (doc_id, _) in from.documents().unwrap() {
        let bytes = from.export_document(doc_id).unwrap();
        to.merge_document(doc_id, &bytes).unwrap();
    }
}

/// Everything a user can see through queries, for comparing replicas.
#[derive(Debug, PartialEq)]
pub(crate) struct Visible {
    pub(crate) catalog: Vec<CatalogRow>,
    pub(crate) cards: Vec<ClientCard>,
    pub(crate) conflicts: Vec<ConflictView>,
    pub(crate) groups: Vec<GroupRow>,
}

pub(crate) fn visible(replica: &Replica) -> Visible {
    let catalog = replica
        .catalog(&CatalogQuery { archive: ArchiveFilter::All, ..CatalogQuery::default() })
        .unwrap();
    let cards = catalog
        .iter()
        .map(|row| {
            replica.card(row.id.parse::<ClientId>().unwrap(), crate::support::today()).unwrap()
        })
        .collect();
    Visible {
        catalog,
        cards,
        conflicts: replica.conflicts(None).unwrap(),
        groups: replica.groups().unwrap(),
    }
}

pub(crate) fn catalog_names(replica: &Replica, text: &str) -> Vec<String> {
    replica
        .catalog(&CatalogQuery { text: text.to_owned(), ..CatalogQuery::default() })
        .unwrap()
        .into_iter()
        .map(|row| row.name)
        .collect()
}
