//! The client aggregate document: applying [`ClientEdit`]s and hydrating a [`Client`].

use std::collections::{BTreeMap, HashMap};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, hydrate};
use domain::{
    Address, AddressPart, BankAccount, Billing, Channel, ChannelKind, Client, ClientEdit, ClientId,
    ClientKind, ContactPerson, EntryId, GroupId, NewContact, NewUnit, Profile, ProfileField, Unit,
    UnitId, normalize_bic, normalize_iban, normalize_setting_key, sort_key,
};

use crate::doc_id::DocKind;
use crate::error::{DocModelError, Result};
use crate::field;
use crate::read;
use crate::skeleton::{check_writable, container};

const CHANNEL_KINDS: [ChannelKind; 3] = [ChannelKind::Phone, ChannelKind::Email, ChannelKind::Web];

/// A client document opened for editing: its kind and schema have been checked.
#[derive(Debug)]
pub struct ClientDocMut<'a> {
    doc: &'a mut AutoCommit,
}

impl<'a> ClientDocMut<'a> {
    /// Opens `doc` for editing; fails if it is not a client document or was written
    /// by a newer schema.
    pub fn open(doc: &'a mut AutoCommit) -> Result<Self> {
        check_writable(doc, DocKind::Client)?;
        Ok(Self { doc })
    }

    /// Applies one edit. `now_ms` stamps new entries so lists keep the order in
    /// which users added them.
    pub fn apply(&mut self, edit: &ClientEdit, now_ms: i64) -> Result<()> {
        match edit {
            ClientEdit::Field(field, value) => self.set_profile_field(*field, value),
            ClientEdit::Group(group_id) => {
                let value = group_id.map(|id| id.to_string()).unwrap_or_default();
                self.put_at(&["profile"], "group_id", value)
            }
            ClientEdit::Archived(archived) => {
                self.put_at(&["profile"], "archived", ScalarValue::Boolean(*archived))
            }
            ClientEdit::Comments(comments) => {
                let text = container(self.doc, &["profile", "comments"])?;
                self.doc.update_text(&text, comments)?;
                Ok(())
            }
            ClientEdit::MainUnit(unit_id) => {
                if let Some(unit_id) = unit_id {
                    self.live_unit(*unit_id)?;
                }
                let value = unit_id.map(|id| id.to_string()).unwrap_or_default();
                self.put_at(&["profile"], "main_unit_id", value)
            }
            ClientEdit::AddContact(contact) => {
                let contacts = container(self.doc, &["contacts"])?;
                self.add_contact(&contacts, contact, now_ms)
            }
            ClientEdit::UpdateContact(id, field, value) => {
                let entry = self.live_entry(&["contacts"], "contact", *id)?;
                let value = field.normalize(value)?;
                self.doc.put(&entry, field.key(), value)?;
                Ok(())
            }
            ClientEdit::RemoveContact(id) => {
                let entry = self.live_entry(&["contacts"], "contact", *id)?;
                self.doc.put(&entry, "removed", true)?;
                Ok(())
            }
            ClientEdit::AddChannel { id, kind, value, label } => {
                let value = kind.normalize(value)?;
                let collection = container(self.doc, &[kind.collection()])?;
                let entry = entry_value([
                    ("value", value.as_str().into()),
                    ("label", label.trim().into()),
                    ("added_at", now_ms.into()),
                ]);
                self.doc.batch_create_object(&collection, id.to_string(), &entry, false)?;
                Ok(())
            }
            ClientEdit::RemoveChannel(id) => {
                for kind in CHANNEL_KINDS {
                    if let Ok(entry) = self.live_entry(&[kind.collection()], "channel", *id) {
                        self.doc.put(&entry, "removed", true)?;
                        return Ok(());
                    }
                }
                Err(DocModelError::UnknownEntry { list: "phone, e-mail or web", id: *id })
            }
            ClientEdit::AddBankAccount { id, iban, bic, bank_name } => {
                let iban = normalize_iban(iban)?;
                let bic = if bic.trim().is_empty() { String::new() } else { normalize_bic(bic)? };
                let accounts = container(self.doc, &["bank_accounts"])?;
                let entry = entry_value([
                    ("iban", iban.as_str().into()),
                    ("bic", bic.as_str().into()),
                    ("bank_name", bank_name.trim().into()),
                    ("added_at", now_ms.into()),
                ]);
                self.doc.batch_create_object(&accounts, id.to_string(), &entry, false)?;
                Ok(())
            }
            ClientEdit::RemoveBankAccount(id) => {
                let entry = self.live_entry(&["bank_accounts"], "bank account", *id)?;
                self.doc.put(&entry, "removed", true)?;
                Ok(())
            }
            ClientEdit::SetSetting(key, value) => {
                let key = normalize_setting_key(key)?;
                self.put_at(&["settings"], &key, value.as_str())
            }
            ClientEdit::RemoveSetting(key) => {
                let settings = container(self.doc, &["settings"])?;
                self.doc.delete(&settings, key.trim())?;
                Ok(())
            }
            ClientEdit::AddUnit(unit) => self.add_unit(unit, now_ms),
            ClientEdit::UnitField(unit_id, field, value) => {
                let unit = self.live_unit(*unit_id)?;
                let value = field.normalize(value)?;
                let path = field.path();
                let (key, parents) = split_last(&path);
                let parent = descend(self.doc, &unit, parents)?;
                self.doc.put(&parent, key, value)?;
                Ok(())
            }
            ClientEdit::UnitActive(unit_id, active) => {
                let unit = self.live_unit(*unit_id)?;
                self.doc.put(&unit, "active", *active)?;
                Ok(())
            }
            ClientEdit::AddUnitContact(unit_id, contact) => {
                let unit = self.live_unit(*unit_id)?;
                let contacts = descend(self.doc, &unit, &["contacts"])?;
                self.add_contact(&contacts, contact, now_ms)
            }
            ClientEdit::AddVisit(visit) => field::add_visit(self.doc, visit, now_ms),
            ClientEdit::VisitStatus(visit_id, status) => {
                field::set_visit_status(self.doc, *visit_id, *status)
            }
            ClientEdit::VisitNotes(visit_id, notes) => {
                field::set_visit_notes(self.doc, *visit_id, notes)
            }
            ClientEdit::AddGalleryItem(item) => field::add_gallery_item(self.doc, item, now_ms),
            ClientEdit::GalleryCaption(item_id, caption) => {
                field::set_caption(self.doc, *item_id, caption)
            }
            ClientEdit::RemoveGalleryItem(item_id) => {
                field::remove(self.doc, "gallery", "gallery item", item_id.to_string())
            }
            ClientEdit::AddDocument(document) => field::add_document(self.doc, document, now_ms),
            ClientEdit::RemoveDocument(document_id) => {
                field::remove(self.doc, "documents", "document", document_id.to_string())
            }
            ClientEdit::RemoveUnitContact(unit_id, id) => {
                let unit = self.live_unit(*unit_id)?;
                let contacts = descend(self.doc, &unit, &["contacts"])?;
                let entry = live_entry_in(self.doc, &contacts, "unit contact", *id)?;
                self.doc.put(&entry, "removed", true)?;
                Ok(())
            }
        }
    }

    /// Records when the client was created; called once, in the client's first change.
    pub fn stamp_created(&mut self, now_ms: i64) -> Result<()> {
        self.put_at(&["profile"], "created_at", ScalarValue::Timestamp(now_ms))
    }

    fn set_profile_field(&mut self, field: ProfileField, value: &str) -> Result<()> {
        let value = field.normalize(value)?;
        let path = field.path();
        let (key, parents) = split_last(&path);
        let mut full_path = vec!["profile"];
        full_path.extend_from_slice(parents);
        if field == ProfileField::PaymentTermsDays {
            let days = value.parse::<i64>().map(ScalarValue::Int).unwrap_or(ScalarValue::Null);
            return self.put_at(&full_path, key, days);
        }
        self.put_at(&full_path, key, value)
    }

    fn put_at(&mut self, path: &[&str], key: &str, value: impl Into<ScalarValue>) -> Result<()> {
        let obj = container(self.doc, path)?;
        self.doc.put(&obj, key, value)?;
        Ok(())
    }

    fn add_contact(&mut self, contacts: &ObjId, contact: &NewContact, now_ms: i64) -> Result<()> {
        let NewContact { id, name, role, phone, email } = contact;
        let name = domain::ContactField::Name.normalize(name)?;
        let role = domain::ContactField::Role.normalize(role)?;
        let phone = domain::ContactField::Phone.normalize(phone)?;
        let email = domain::ContactField::Email.normalize(email)?;
        let entry = entry_value([
            ("name", name.as_str().into()),
            ("role", role.as_str().into()),
            ("phone", phone.as_str().into()),
            ("email", email.as_str().into()),
            ("added_at", now_ms.into()),
        ]);
        self.doc.batch_create_object(contacts, id.to_string(), &entry, false)?;
        Ok(())
    }

    fn add_unit(&mut self, unit: &NewUnit, now_ms: i64) -> Result<()> {
        let NewUnit { id, name, address, phone, email, active } = unit;
        let name = domain::UnitField::Name.normalize(name)?;
        let phone = domain::UnitField::Phone.normalize(phone)?;
        let email = domain::UnitField::Email.normalize(email)?;
        let mut address_map: HashMap<&str, hydrate::Value> = HashMap::new();
        for part in AddressPart::ALL {
            let value = domain::UnitField::Address(part).normalize(address.part(part))?;
            if !value.is_empty() {
                address_map.insert(part.key(), value.as_str().into());
            }
        }
        let units = container(self.doc, &["units"])?;
        let unit_value: hydrate::Value = HashMap::from([
            ("name", name.as_str().into()),
            ("address", hydrate::Value::from(address_map)),
            ("phone", phone.as_str().into()),
            ("email", email.as_str().into()),
            ("active", hydrate::Value::scalar(*active)),
            ("contacts", hydrate::Value::map()),
            ("added_at", now_ms.into()),
        ])
        .into();
        self.doc.batch_create_object(&units, id.to_string(), &unit_value, false)?;
        Ok(())
    }

    fn live_unit(&self, unit_id: UnitId) -> Result<ObjId> {
        let units = container(self.doc, &["units"])?;
        match self.doc.get(&units, unit_id.to_string())? {
            Some((automerge::Value::Object(ObjType::Map), unit)) => Ok(unit),
            _ => Err(DocModelError::UnknownUnit(unit_id)),
        }
    }

    fn live_entry(&self, path: &[&str], list: &'static str, id: EntryId) -> Result<ObjId> {
        let collection = container(self.doc, path)?;
        live_entry_in(self.doc, &collection, list, id)
    }
}

fn live_entry_in(
    doc: &AutoCommit,
    collection: &ObjId,
    list: &'static str,
    id: EntryId,
) -> Result<ObjId> {
    let Some((automerge::Value::Object(ObjType::Map), entry)) =
        doc.get(collection, id.to_string())?
    else {
        return Err(DocModelError::UnknownEntry { list, id });
    };
    let removed = matches!(
        doc.get(&entry, "removed")?,
        Some((automerge::Value::Scalar(value), _)) if value.as_ref() == &ScalarValue::Boolean(true)
    );
    if removed {
        return Err(DocModelError::UnknownEntry { list, id });
    }
    Ok(entry)
}

fn descend(doc: &AutoCommit, from: &ObjId, path: &[&str]) -> Result<ObjId> {
    let mut obj = from.clone();
    for key in path {
        match doc.get(&obj, *key)? {
            Some((automerge::Value::Object(_), id)) => obj = id,
            _ => return Err(DocModelError::MissingContainer { path: path.join(".") }),
        }
    }
    Ok(obj)
}

fn split_last<'p>(path: &'p [&'static str]) -> (&'static str, &'p [&'static str]) {
    match path.split_last() {
        Some((last, parents)) => (last, parents),
        // Field paths are non-empty literals (see `ProfileField::path`).
        None => ("", &[]),
    }
}

fn entry_value<const N: usize>(fields: [(&str, hydrate::Value); N]) -> hydrate::Value {
    HashMap::from(fields).into()
}

/// Reads a whole client aggregate from its document.
pub fn hydrate_client(doc: &AutoCommit) -> Result<Client> {
    client_from_root(&crate::hydrate_root(doc)?)
}

/// A client document's profile, without reading the rest of the document (an
/// edit checks the client's name this way).
pub fn hydrate_client_profile(doc: &AutoCommit) -> Result<Profile> {
    let profile = match doc.get(automerge::ROOT, "profile")? {
        Some((automerge::Value::Object(automerge::ObjType::Map), profile)) => {
            doc.hydrate(&profile, None)?
        }
        _ => return Ok(hydrate_profile(read::empty_map())),
    };
    match profile {
        hydrate::Value::Map(profile) => Ok(hydrate_profile(&profile)),
        _ => Ok(hydrate_profile(read::empty_map())),
    }
}

/// The id a client document names, without reading the rest of it.
pub(crate) fn client_id_from_root(root: &hydrate::Map) -> Result<ClientId> {
    let kind = read::text(root, "kind");
    if kind != DocKind::Client.as_str() {
        return Err(DocModelError::WrongKind { expected: "client", found: kind });
    }
    read::text(root, "id")
        .parse::<ClientId>()
        .map_err(|_| DocModelError::MissingContainer { path: "id".to_owned() })
}

/// Reads a client aggregate from an already hydrated document root.
pub(crate) fn client_from_root(root: &hydrate::Map) -> Result<Client> {
    let id = client_id_from_root(root)?;
    let profile_map = read::map(root, "profile").unwrap_or(read::empty_map());

    let mut channels = Vec::new();
    for kind in CHANNEL_KINDS {
        for (entry_id, entry) in live_entries(root, kind.collection()) {
            channels.push((
                read::integer(entry, "added_at").unwrap_or(0),
                Channel {
                    id: entry_id,
                    kind,
                    value: read::text(entry, "value"),
                    label: read::text(entry, "label"),
                },
            ));
        }
    }
    channels.sort_by(|(a_time, a), (b_time, b)| {
        (a.kind, a_time, a.id.as_uuid()).cmp(&(b.kind, b_time, b.id.as_uuid()))
    });

    let mut bank_accounts: Vec<(i64, BankAccount)> = live_entries(root, "bank_accounts")
        .into_iter()
        .map(|(entry_id, entry)| {
            (
                read::integer(entry, "added_at").unwrap_or(0),
                BankAccount {
                    id: entry_id,
                    iban: read::text(entry, "iban"),
                    bic: read::text(entry, "bic"),
                    bank_name: read::text(entry, "bank_name"),
                },
            )
        })
        .collect();
    bank_accounts.sort_by(|(a_time, a), (b_time, b)| {
        (a_time, a.id.as_uuid()).cmp(&(b_time, b.id.as_uuid()))
    });

    let settings: BTreeMap<String, String> = read::map(root, "settings")
        .map(|settings| {
            settings.iter().map(|(key, _)| (key.clone(), read::text(settings, key))).collect()
        })
        .unwrap_or_default();

    let mut units: Vec<Unit> = read::entries(root, "units")
        .into_iter()
        .filter_map(|(key, unit)| {
            let id = key.parse::<UnitId>().ok()?;
            Some(Unit {
                id,
                name: read::text(unit, "name"),
                address: hydrate_address(read::map(unit, "address")),
                phone: read::text(unit, "phone"),
                email: read::text(unit, "email"),
                active: read::boolean(unit, "active", true),
                contacts: hydrate_contacts(unit, "contacts"),
            })
        })
        .collect();
    units.sort_by_cached_key(|unit| {
        (!unit.active, sort_key(&unit.name), unit.name.clone(), *unit.id.as_uuid())
    });

    Ok(Client {
        id,
        profile: hydrate_profile(profile_map),
        contacts: hydrate_contacts(root, "contacts"),
        channels: channels.into_iter().map(|(_, channel)| channel).collect(),
        bank_accounts: bank_accounts.into_iter().map(|(_, account)| account).collect(),
        settings,
        units,
        visits: field::visits(root),
        gallery: field::gallery(root),
        documents: field::documents(root),
    })
}

fn hydrate_profile(profile: &hydrate::Map) -> Profile {
    let billing = read::map(profile, "billing").unwrap_or(read::empty_map());
    Profile {
        kind: ClientKind::from_stored(&read::text(profile, "kind")),
        name: read::text(profile, "name"),
        first_name: read::text(profile, "first_name"),
        last_name: read::text(profile, "last_name"),
        reg_no: read::text(profile, "reg_no"),
        personal_code: read::text(profile, "personal_code"),
        vat_id: read::text(profile, "vat_id"),
        industry: read::text(profile, "industry"),
        address: hydrate_address(read::map(profile, "address")),
        billing: Billing {
            recipient: read::text(billing, "recipient"),
            address: hydrate_address(read::map(billing, "address")),
            email: read::text(billing, "email"),
            payment_terms_days: read::integer(billing, "payment_terms_days")
                .and_then(|days| u32::try_from(days).ok()),
            currency: read::text(billing, "currency"),
        },
        group_id: read::text(profile, "group_id").parse::<GroupId>().ok(),
        archived: read::boolean(profile, "archived", false),
        comments: read::text(profile, "comments"),
        main_unit_id: read::text(profile, "main_unit_id").parse::<UnitId>().ok(),
    }
}

fn hydrate_address(address: Option<&hydrate::Map>) -> Address {
    let address = address.unwrap_or(read::empty_map());
    Address {
        street: read::text(address, "street"),
        city: read::text(address, "city"),
        postal_code: read::text(address, "postal_code"),
        region: read::text(address, "region"),
        country: read::text(address, "country"),
    }
}

fn hydrate_contacts(parent: &hydrate::Map, key: &str) -> Vec<ContactPerson> {
    let mut contacts: Vec<(i64, ContactPerson)> = live_entries(parent, key)
        .into_iter()
        .map(|(id, entry)| {
            (
                read::integer(entry, "added_at").unwrap_or(0),
                ContactPerson {
                    id,
                    name: read::text(entry, "name"),
                    role: read::text(entry, "role"),
                    phone: read::text(entry, "phone"),
                    email: read::text(entry, "email"),
                },
            )
        })
        .collect();
    contacts.sort_by(|(a_time, a), (b_time, b)| {
        (a_time, a.id.as_uuid()).cmp(&(b_time, b.id.as_uuid()))
    });
    contacts.into_iter().map(|(_, contact)| contact).collect()
}

fn live_entries<'a>(parent: &'a hydrate::Map, key: &str) -> Vec<(EntryId, &'a hydrate::Map)> {
    read::entries(parent, key)
        .into_iter()
        .filter(|(_, entry)| !read::boolean(entry, "removed", false))
        .filter_map(|(entry_key, entry)| Some((entry_key.parse::<EntryId>().ok()?, entry)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc_id::DocId;
    use crate::skeleton::new_document;
    use automerge::{ActorId, ROOT};
    use domain::UnitField;

    fn new_client(actor: u8) -> (ClientId, AutoCommit) {
        let client_id = ClientId::from_bytes([9; 16]);
        let mut doc = new_document(
            DocId::client(client_id),
            DocKind::Client,
            &ActorId::from([actor; 16].as_slice()),
        )
        .unwrap();
        ClientDocMut::open(&mut doc).unwrap().stamp_created(1).unwrap();
        doc.commit();
        (client_id, doc)
    }

    fn apply(doc: &mut AutoCommit, edits: &[ClientEdit]) {
        let mut client = ClientDocMut::open(doc).unwrap();
        for edit in edits {
            client.apply(edit, 1_000).unwrap();
        }
        doc.commit();
    }

    #[test]
    fn profile_fields_round_trip_through_the_document() {
        let (client_id, mut doc) = new_client(1);
        let unit_id = UnitId::from_bytes([2; 16]);
        apply(
            &mut doc,
            &[
                ClientEdit::Field(ProfileField::Name, "Ēdnīca Ķiploks SIA".to_owned()),
                ClientEdit::Field(ProfileField::VatId, "lv 40003000001".to_owned()),
                ClientEdit::Field(ProfileField::Address(AddressPart::City), "Rīga".to_owned()),
                ClientEdit::Field(ProfileField::PaymentTermsDays, "14".to_owned()),
                ClientEdit::Comments("Pays late in summer.".to_owned()),
                ClientEdit::AddChannel {
                    id: EntryId::from_bytes([3; 16]),
                    kind: ChannelKind::Email,
                    value: "birojs@kiploks.lv".to_owned(),
                    label: "office".to_owned(),
                },
                ClientEdit::AddUnit(NewUnit {
                    id: unit_id,
                    name: "Vecrīga".to_owned(),
                    address: Address::default(),
                    phone: String::new(),
                    email: String::new(),
                    active: true,
                }),
                ClientEdit::MainUnit(Some(unit_id)),
                ClientEdit::SetSetting("invoice.language".to_owned(), "lv".to_owned()),
            ],
        );
        let client = hydrate_client(&doc).unwrap();
        assert_eq!(client.id, client_id);
        assert_eq!(client.profile.name, "Ēdnīca Ķiploks SIA");
        assert_eq!(client.profile.vat_id, "LV40003000001");
        assert_eq!(client.profile.address.city, "Rīga");
        assert_eq!(client.profile.billing.payment_terms_days, Some(14));
        assert_eq!(client.profile.comments, "Pays late in summer.");
        assert_eq!(
            client.channel_values(ChannelKind::Email).collect::<Vec<_>>(),
            ["birojs@kiploks.lv"]
        );
        assert_eq!(client.main_unit().map(|unit| unit.name.as_str()), Some("Vecrīga"));
        assert_eq!(client.settings.get("invoice.language").map(String::as_str), Some("lv"));
    }

    #[test]
    fn invalid_input_is_rejected_before_anything_is_written() {
        let (_, mut doc) = new_client(1);
        let heads = doc.get_heads();
        let mut client = ClientDocMut::open(&mut doc).unwrap();
        let error = client
            .apply(&ClientEdit::Field(ProfileField::BillingEmail, "no-at-sign".to_owned()), 0)
            .unwrap_err();
        assert!(error.to_string().contains("not an e-mail address"), "{error}");
        let error = client
            .apply(
                &ClientEdit::UnitField(
                    UnitId::from_bytes([5; 16]),
                    UnitField::Name,
                    "x".to_owned(),
                ),
                0,
            )
            .unwrap_err();
        assert!(matches!(error, DocModelError::UnknownUnit(_)), "{error}");
        assert_eq!(doc.commit(), None);
        assert_eq!(doc.get_heads(), heads);
    }

    #[test]
    fn units_list_active_first_then_by_folded_name() {
        let (_, mut doc) = new_client(1);
        let unit = |byte: u8, name: &str, active: bool| {
            ClientEdit::AddUnit(NewUnit {
                id: UnitId::from_bytes([byte; 16]),
                name: name.to_owned(),
                address: Address::default(),
                phone: String::new(),
                email: String::new(),
                active,
            })
        };
        apply(
            &mut doc,
            &[
                unit(1, "Zunda", true),
                unit(2, "Ābele", false),
                unit(3, "Ērgļi", true),
                unit(4, "Bauska", true),
            ],
        );
        let names: Vec<String> =
            hydrate_client(&doc).unwrap().units.into_iter().map(|u| u.name).collect();
        assert_eq!(names, ["Bauska", "Ērgļi", "Zunda", "Ābele"]);
    }

    #[test]
    fn fields_this_version_does_not_know_survive_edits() {
        let (_, mut doc) = new_client(1);
        let profile = container(&doc, &["profile"]).unwrap();
        doc.put(&profile, "loyalty_tier", "gold").unwrap();
        doc.put(ROOT, "future_section", 42_i64).unwrap();
        doc.commit();
        apply(&mut doc, &[ClientEdit::Field(ProfileField::Name, "Renamed".to_owned())]);
        assert_eq!(doc.get(&profile, "loyalty_tier").unwrap().unwrap().0.as_str(), Some("gold"));
        assert!(doc.get(ROOT, "future_section").unwrap().is_some());
    }

    #[test]
    fn a_document_of_a_newer_schema_is_read_but_not_edited() {
        let (_, mut doc) = new_client(1);
        doc.put(ROOT, "schema", ScalarValue::Uint(crate::SCHEMA_VERSION + 1)).unwrap();
        doc.commit();
        assert!(hydrate_client(&doc).is_ok());
        let error = ClientDocMut::open(&mut doc).unwrap_err();
        assert!(matches!(error, DocModelError::NewerSchema { .. }), "{error}");
    }
}
