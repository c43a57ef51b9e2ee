//! Writing the client module: clients, their units and lists, groups, company
//! details, and conflict resolution. Each call is one Automerge change and one
//! SQLite transaction.

use blob_store::BlobHash;
use doc_model::{ClientDocMut, DocId, DocKind, GroupsDocMut, Resolution, WorkspaceDocMut};
use domain::{Client, ClientEdit, ClientId, DomainError, GroupId, Profile};

use crate::blobs::queue_uploads;
use crate::error::{Result, StoreError};
use crate::replica::{Creation, Replica};

impl Replica {
    /// The id of the workspace document (company details, devices).
    pub fn workspace_doc_id(&self) -> DocId {
        DocId::workspace(self.meta().workspace_id)
    }

    /// The id of the client-groups document.
    pub fn groups_doc_id(&self) -> DocId {
        DocId::groups(self.meta().workspace_id)
    }

    /// Creates a client with a fresh id from a list of edits (at least a name).
    pub fn create_client(&mut self, edits: &[ClientEdit]) -> Result<ClientId> {
        self.create_client_with_id(ClientId::random(), edits)
    }

    /// Creates a client with a chosen id (deterministic tests and demo data).
    pub fn create_client_with_id(
        &mut self,
        client_id: ClientId,
        edits: &[ClientEdit],
    ) -> Result<ClientId> {
        let doc_id = DocId::client(client_id);
        if doc_store::version(&self.conn, doc_id.as_bytes())?.is_some() {
            return Err(StoreError::RejectedDocument {
                doc_id,
                reason: "a client with this id exists".to_owned(),
            });
        }
        let now = self.entropy.now_ms();
        self.transact(doc_id, Creation::Skeleton(DocKind::Client), |doc| {
            let mut client = ClientDocMut::open(doc)?;
            client.stamp_created(now)?;
            for edit in edits {
                client.apply(edit, now)?;
            }
            require_name(&doc_model::hydrate_client_profile(doc)?)
        })?;
        Ok(client_id)
    }

    /// Applies edits to a client in one change; all or nothing.
    pub fn edit_client(&mut self, client_id: ClientId, edits: &[ClientEdit]) -> Result<()> {
        self.edit_client_with_uploads(client_id, edits, &[])
    }

    /// Applies edits that reference new blobs, and queues those blobs for upload
    /// in the same transaction.
    pub(crate) fn edit_client_with_uploads(
        &mut self,
        client_id: ClientId,
        edits: &[ClientEdit],
        uploads: &[BlobHash],
    ) -> Result<()> {
        let now = self.entropy.now_ms();
        let docs = [(DocId::client(client_id), Creation::Existing)];
        let result = self.transact_all(&docs, |tx, _, doc| {
            queue_uploads(tx, uploads)?;
            let mut client = ClientDocMut::open(doc)?;
            for edit in edits {
                client.apply(edit, now)?;
            }
            require_name(&doc_model::hydrate_client_profile(doc)?)
        });
        match result {
            Err(StoreError::UnknownDocument(_)) => Err(unknown_client(client_id)),
            Err(error) => Err(error),
            Ok(_) => Ok(()),
        }
    }

    /// The whole client aggregate, read from its document (not the mirror).
    pub fn client(&mut self, client_id: ClientId) -> Result<Client> {
        match self.read_document(DocId::client(client_id), |doc| doc_model::hydrate_client(doc)) {
            Err(StoreError::UnknownDocument(_)) => Err(unknown_client(client_id)),
            Err(error) => Err(error),
            Ok(client) => Ok(client?),
        }
    }

    /// Creates a client group.
    pub fn create_group(&mut self, name: &str) -> Result<GroupId> {
        let group_id = GroupId::random();
        self.create_group_with_id(group_id, name)?;
        Ok(group_id)
    }

    /// Creates a client group with a chosen id.
    pub fn create_group_with_id(&mut self, group_id: GroupId, name: &str) -> Result<()> {
        let now = self.entropy.now_ms();
        let doc_id = self.groups_doc_id();
        self.transact(doc_id, Creation::Skeleton(DocKind::Groups), |doc| {
            Ok(GroupsDocMut::open(doc)?.create(group_id, name, now)?)
        })
    }

    /// Renames a client group.
    pub fn rename_group(&mut self, group_id: GroupId, name: &str) -> Result<()> {
        let doc_id = self.groups_doc_id();
        self.transact(doc_id, Creation::Skeleton(DocKind::Groups), |doc| {
            Ok(GroupsDocMut::open(doc)?.rename(group_id, name)?)
        })
    }

    /// Sets a company detail (`name`, `vat_id`, `iban`, …) of the workspace.
    pub fn set_company_detail(&mut self, key: &str, value: &str) -> Result<()> {
        let doc_id = self.workspace_doc_id();
        self.transact(doc_id, Creation::Skeleton(DocKind::Workspace), |doc| {
            Ok(WorkspaceDocMut::open(doc)?.set_company(key, value)?)
        })
    }

    /// Resolves a conflict listed by [`Replica::conflicts`].
    pub fn resolve_conflict(
        &mut self,
        doc_id: DocId,
        pointer: &str,
        resolution: &Resolution,
    ) -> Result<()> {
        self.transact(doc_id, Creation::Existing, |doc| {
            Ok(doc_model::resolve_conflict(doc, pointer, resolution)?)
        })
    }
}

fn require_name(profile: &Profile) -> Result<()> {
    if profile.display_name().trim().is_empty() {
        return Err(doc_model::DocModelError::from(DomainError::Empty {
            field: "the client's name (or first and last name)",
        })
        .into());
    }
    Ok(())
}

pub(crate) fn unknown_client(client_id: ClientId) -> StoreError {
    StoreError::NotFound { what: "client", reference: client_id.to_string(), hint: String::new() }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use domain::{
        Address, ChannelKind, ClientEdit, EntryId, NewContact, NewUnit, NewVisit, ProfileField,
        UnitId, VisitId, VisitKind, VisitStatus,
    };

    use crate::replica::{InitOptions, Replica};

    #[test]
    fn editing_a_clients_industry_rewrites_its_clients_row_and_no_other_mirror_row() {
        let dir = tempfile::tempdir().unwrap();
        let options = InitOptions {
            workspace_name: Some("Serviss SIA".to_owned()),
            device_name: "office".to_owned(),
            workspace_id: None,
            seeded: None,
        };
        let mut replica = Replica::create(dir.path(), &options).unwrap();
        let unit = UnitId::random();
        let contact = |name: &str| NewContact {
            id: EntryId::random(),
            name: name.to_owned(),
            role: "manager".to_owned(),
            phone: "+371 2000 0000".to_owned(),
            email: String::new(),
        };
        let start = DateTime::parse_from_rfc3339("2026-11-20T09:00:00+02:00").unwrap();
        let client = replica
            .create_client(&[
                ClientEdit::Field(ProfileField::Name, "Ozols SIA".to_owned()),
                ClientEdit::AddUnit(NewUnit {
                    id: unit,
                    name: "Noliktava".to_owned(),
                    address: Address { city: "Rīga".to_owned(), ..Address::default() },
                    phone: String::new(),
                    email: String::new(),
                    active: true,
                }),
                ClientEdit::AddUnitContact(unit, contact("Anna Ozola")),
                ClientEdit::AddContact(contact("Jānis Ozols")),
                ClientEdit::AddChannel {
                    id: EntryId::random(),
                    kind: ChannelKind::Phone,
                    value: "+371 6700 0000".to_owned(),
                    label: String::new(),
                },
                ClientEdit::AddBankAccount {
                    id: EntryId::random(),
                    iban: "LV80BANK0000435195001".to_owned(),
                    bic: String::new(),
                    bank_name: String::new(),
                },
                ClientEdit::SetSetting("language".to_owned(), "lv".to_owned()),
                ClientEdit::AddVisit(NewVisit {
                    id: VisitId::random(),
                    unit_id: Some(unit),
                    start,
                    end: start + chrono::Duration::hours(2),
                    technician: "Pēteris".to_owned(),
                    kind: VisitKind::Scheduled,
                    status: VisitStatus::Done,
                    items: Vec::new(),
                    notes: "Filtri nomainīti".to_owned(),
                }),
            ])
            .unwrap();
        let mirror_rows = |replica: &Replica| -> i64 {
            let tables: Vec<&str> = crate::schema::mirror_tables()
                .filter(|table| *table != "client_search" && *table != "mirror_parts")
                .collect();
            tables
                .iter()
                .map(|table| {
                    replica
                        .conn
                        .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                            row.get::<_, i64>(0)
                        })
                        .unwrap()
                })
                .sum()
        };
        let rows = mirror_rows(&replica);
        let changes_before = replica.conn.total_changes();
        replica
            .edit_client(client, &[ClientEdit::Field(ProfileField::Industry, "HVAC".to_owned())])
            .unwrap();
        let changes = replica.conn.total_changes() - changes_before;
        // The document's new chunk and stored version, its outbox entry, and the
        // one mirror row that shows the industry; nothing of its units, contacts,
        // channels, accounts, settings or visits is deleted and written again.
        assert!(changes <= 4, "an industry edit changed {changes} rows");
        assert_eq!(mirror_rows(&replica), rows);
        let card =
            replica.card(client, chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()).unwrap();
        assert_eq!(card.industry, "HVAC");
        assert_eq!(card.units.len(), 1);
        assert_eq!(card.contacts.len(), 1);
        assert_eq!(card.field.visits.len(), 1);
    }
}
