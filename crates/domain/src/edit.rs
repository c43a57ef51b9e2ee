//! What a user can change in a client aggregate, as data.
//!
//! The CLI turns flags into a list of [`ClientEdit`]s; `doc-model` applies the list
//! to the client's Automerge document in one change. Values are raw user input:
//! applying an edit normalizes and validates it, so nothing unchecked is stored.
//! Ids of new entries are chosen by the caller so that tests (and the demo
//! generator) stay deterministic.

use crate::client::{Address, ChannelKind, ProfileField, UnitField};
use crate::error::{DomainError, Result};
use crate::field::{NewClientDocument, NewGalleryItem, NewVisit, VisitStatus};
use crate::ids::{ClientDocumentId, GalleryItemId, VisitId};
use crate::ids::{EntryId, GroupId, UnitId};
use crate::validate;

/// A field of a contact person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactField {
    /// Full name.
    Name,
    /// Role or position.
    Role,
    /// Phone number.
    Phone,
    /// E-mail address.
    Email,
}

impl ContactField {
    /// Every field, in display order.
    pub const ALL: [Self; 4] = [Self::Name, Self::Role, Self::Phone, Self::Email];

    /// The stored key.
    pub const fn key(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Role => "role",
            Self::Phone => "phone",
            Self::Email => "email",
        }
    }

    /// Checks and normalizes a typed value; the name must not be empty.
    pub fn normalize(self, value: &str) -> Result<String> {
        let trimmed = value.trim();
        match self {
            Self::Name if trimmed.is_empty() => Err(DomainError::Empty { field: "contact name" }),
            _ if trimmed.is_empty() => Ok(String::new()),
            Self::Phone => validate::normalize_phone(trimmed),
            Self::Email => validate::normalize_email(trimmed),
            Self::Name | Self::Role => Ok(trimmed.to_owned()),
        }
    }
}

/// A new contact person, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    /// Id of the new entry.
    pub id: EntryId,
    /// Full name (required).
    pub name: String,
    /// Role or position.
    pub role: String,
    /// Phone number.
    pub phone: String,
    /// E-mail address.
    pub email: String,
}

/// A new unit, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUnit {
    /// Id of the new unit.
    pub id: UnitId,
    /// Name (required).
    pub name: String,
    /// Address; each part is validated like a profile address.
    pub address: Address,
    /// Phone of the unit.
    pub phone: String,
    /// E-mail of the unit.
    pub email: String,
    /// Whether the unit starts active.
    pub active: bool,
}

/// One change a user makes to a client aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEdit {
    /// Set a scalar profile field; the empty string clears it.
    Field(ProfileField, String),
    /// Put the client in a group, or take it out.
    Group(Option<GroupId>),
    /// Archive or unarchive the client.
    Archived(bool),
    /// Replace the comments; the difference is applied character by character.
    Comments(String),
    /// Choose the unit the card opens on, or none.
    MainUnit(Option<UnitId>),
    /// Add a contact person.
    AddContact(NewContact),
    /// Change one field of a contact person.
    UpdateContact(EntryId, ContactField, String),
    /// Remove a contact person.
    RemoveContact(EntryId),
    /// Add a phone, e-mail or web address.
    AddChannel {
        /// Id of the new entry.
        id: EntryId,
        /// Which kind.
        kind: ChannelKind,
        /// The number or address.
        value: String,
        /// A label such as "office".
        label: String,
    },
    /// Remove a phone, e-mail or web address.
    RemoveChannel(EntryId),
    /// Add a bank account.
    AddBankAccount {
        /// Id of the new entry.
        id: EntryId,
        /// IBAN as typed.
        iban: String,
        /// BIC as typed; may be empty.
        bic: String,
        /// Name of the bank; may be empty.
        bank_name: String,
    },
    /// Remove a bank account.
    RemoveBankAccount(EntryId),
    /// Set a special setting.
    SetSetting(String, String),
    /// Remove a special setting.
    RemoveSetting(String),
    /// Add a unit.
    AddUnit(NewUnit),
    /// Change a scalar field of a unit.
    UnitField(UnitId, UnitField, String),
    /// Activate or deactivate a unit.
    UnitActive(UnitId, bool),
    /// Add a contact person to a unit.
    AddUnitContact(UnitId, NewContact),
    /// Remove a contact person from a unit.
    RemoveUnitContact(UnitId, EntryId),
    /// Record a visit.
    AddVisit(NewVisit),
    /// Change a visit's status.
    VisitStatus(VisitId, VisitStatus),
    /// Replace a visit's notes; merged character by character.
    VisitNotes(VisitId, String),
    /// Add a photo or file to a gallery.
    AddGalleryItem(NewGalleryItem),
    /// Change a gallery item's caption.
    GalleryCaption(GalleryItemId, String),
    /// Remove an item from its gallery (its bytes stay while anything references them).
    RemoveGalleryItem(GalleryItemId),
    /// Add a client document.
    AddDocument(NewClientDocument),
    /// Remove a client document.
    RemoveDocument(ClientDocumentId),
}

/// Checks a setting key: not empty, no control characters.
pub fn normalize_setting_key(key: &str) -> Result<String> {
    let key = key.trim();
    if key.is_empty() || key.chars().any(char::is_control) {
        return Err(DomainError::Empty { field: "setting key" });
    }
    Ok(key.to_owned())
}
