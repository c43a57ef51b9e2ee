//! The feature modules: each owns its documents' layout in the mirror, its
//! tables, its projection and its queries (see [`crate::module`]).
//!
//! - `clients`: the catalog, the card's basic part, profiles, units, contacts,
//!   groups, company details;
//! - `field_work`: visits, galleries, the client's documents;
//! - `billing`: invoices, payments, number series, recurring invoices, dunning,
//!   the card's account section.
//!
//! A module learns another module's data through that module's functions or
//! the views it publishes in its `mirror.sql`, never by naming its tables in
//! SQL (the tidy test checks the SQL of every module's files; ARCHITECTURE.md
//! says which module asks which).

pub(crate) mod billing;
pub(crate) mod clients;
pub(crate) mod field_work;

use crate::module::Module;

/// Every module, in the order they project a document.
pub(crate) static ALL: [&dyn Module; 3] =
    [&clients::ClientsModule, &field_work::FieldWorkModule, &billing::BillingModule];
