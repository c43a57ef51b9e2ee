//! Kartoteka's domain model: identifiers, the value types of a client aggregate
//! (profile, contacts, units, bank accounts), and the validation of what users type.
//!
//! This crate does no IO and knows nothing of Automerge, SQLite or the network:
//! `doc-model` maps these types to and from Automerge documents and
//! `replica-store` mirrors them into SQLite.

#![warn(missing_docs)]

mod client;
mod edit;
mod error;
mod field;
mod fold;
mod ids;
mod validate;

pub use client::{
    Address, AddressPart, BankAccount, Billing, Channel, ChannelKind, Client, ClientKind,
    ContactPerson, Profile, ProfileField, Unit, UnitField, display_name,
};
pub use edit::{ClientEdit, ContactField, NewContact, NewUnit, normalize_setting_key};
pub use error::{DomainError, Result};
pub use field::{
    ClientDocument, DocumentKind, GalleryItem, NewClientDocument, NewGalleryItem, NewVisit, Visit,
    VisitKind, VisitStatus, WorkItem,
};
pub use fold::{fold_for_search, sort_key};
pub use ids::{
    BadId, ClientDocumentId, ClientId, EntryId, GalleryItemId, GroupId, UnitId, VisitId,
};
pub use validate::{
    normalize_bic, normalize_country, normalize_currency, normalize_email, normalize_iban,
    normalize_payment_terms, normalize_phone,
};
