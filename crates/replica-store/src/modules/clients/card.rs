//! The client card: everything about one client, read from the mirror.
//!
//! The card is assembled from sections. Basic information, units and conflicts
//! come from the client module; the billing and field-work modules add their own
//! sections (turnover and payment behaviour, recurring rows, visits by unit and
//! month, documents, galleries) as fields filled by their own queries, so a card
//! never needs the client's documents in memory.

use std::collections::BTreeMap;

use doc_model::DocId;
use domain::ClientId;
use rusqlite::{OptionalExtension, Row};
use serde::Serialize;
use sync_protocol::DocumentId;

use crate::error::{Result, mirror_json};
use crate::modules::clients::catalog::short_id;
use crate::modules::clients::edit::unknown_client;
use crate::replica::Replica;

/// A postal address on the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressView {
    /// Street.
    pub street: String,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// Region.
    pub region: String,
    /// Country code.
    pub country: String,
}

impl AddressView {
    fn to_domain(&self) -> domain::Address {
        domain::Address {
            street: self.street.clone(),
            city: self.city.clone(),
            postal_code: self.postal_code.clone(),
            region: self.region.clone(),
            country: self.country.clone(),
        }
    }

    /// The address on one line.
    pub fn one_line(&self) -> String {
        self.to_domain().one_line()
    }
}

/// A contact person on the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactView {
    /// Entry id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Phone.
    pub phone: String,
    /// E-mail.
    pub email: String,
}

/// A phone, e-mail or web address on the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelView {
    /// Entry id.
    pub id: String,
    /// `phone`, `email` or `web`.
    pub kind: String,
    /// The number or address.
    pub value: String,
    /// Its label.
    pub label: String,
}

/// A bank account on the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankAccountView {
    /// Entry id.
    pub id: String,
    /// IBAN.
    pub iban: String,
    /// BIC.
    pub bic: String,
    /// Bank name.
    pub bank_name: String,
}

/// Billing details on the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillingView {
    /// Invoice recipient when not the client's name.
    pub recipient: String,
    /// Billing address.
    pub address: AddressView,
    /// Invoice e-mail.
    pub email: String,
    /// Payment terms in days.
    pub payment_terms_days: Option<i64>,
    /// Invoice currency.
    pub currency: String,
}

/// A unit on the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitView {
    /// Unit id.
    pub id: String,
    /// Short id.
    pub short_id: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: AddressView,
    /// Phone.
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// Active or not.
    pub active: bool,
    /// Whether this is the main unit.
    pub main: bool,
    /// Contact persons at the unit.
    pub contacts: Vec<ContactView>,
}

/// A conflicted field, as shown on the card and by `conflicts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictView {
    /// The document the field is in.
    pub doc_id: String,
    /// The client the document belongs to, if any.
    pub client_id: Option<String>,
    /// The client's name, if any.
    pub client_name: Option<String>,
    /// The field, as a JSON pointer.
    pub field: String,
    /// The concurrent values.
    pub values: Vec<ConflictValueView>,
}

/// One value of a conflicted field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ConflictValueView {
    /// The value.
    pub value: String,
    /// Whether it is the one shown everywhere now.
    pub winner: bool,
}

/// The client card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientCard {
    /// Client id.
    pub id: String,
    /// Short id.
    pub short_id: String,
    /// `company` or `person`.
    pub kind: String,
    /// Display name.
    pub display_name: String,
    /// Company name (or a person's name override).
    pub name: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Registration number.
    pub reg_no: String,
    /// Personal code.
    pub personal_code: String,
    /// VAT id.
    pub vat_id: String,
    /// Industry.
    pub industry: String,
    /// Postal address.
    pub address: AddressView,
    /// Billing details.
    pub billing: BillingView,
    /// Group name.
    pub group: Option<String>,
    /// Group id.
    pub group_id: Option<String>,
    /// Archived or not.
    pub archived: bool,
    /// Comments.
    pub comments: String,
    /// Contact persons.
    pub contacts: Vec<ContactView>,
    /// Phones, e-mails and web addresses.
    pub channels: Vec<ChannelView>,
    /// Bank accounts.
    pub bank_accounts: Vec<BankAccountView>,
    /// Special settings.
    pub settings: BTreeMap<String, String>,
    /// Units, active first, inactive last.
    pub units: Vec<UnitView>,
    /// The unit the card opens on: the main unit when set, else the first active one.
    pub opened_unit: Option<String>,
    /// Fields with concurrent values waiting for a decision.
    pub conflicts: Vec<ConflictView>,
    /// Visits by unit and month, all visits, galleries and documents.
    pub field: crate::modules::field_work::visits::FieldSections,
    /// Turnover, balances, payment behaviour, invoices, templates, dunning.
    pub account: crate::modules::billing::card::AccountSummary,
    /// The client's Automerge documents and their automerge-repo URLs, for
    /// peers and integrations that open them directly.
    pub automerge_documents: Vec<AutomergeDocument>,
}

/// One of a client's Automerge documents, as an automerge-repo peer names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutomergeDocument {
    /// `client` (the profile, units, field work, templates) or `invoices` (one
    /// year's invoices, credit notes, payments and dunning).
    pub document: String,
    /// The year of an invoices document.
    pub year: Option<i32>,
    /// The document id as Kartoteka writes it (a UUID).
    pub document_id: String,
    /// `automerge:` and the id in bs58check, as automerge-repo's `repo.find` takes it.
    pub url: String,
}

/// `automerge:` and the document's id in bs58check.
fn automerge_url(doc_id: DocId) -> String {
    DocumentId::from_bytes(*doc_id.as_bytes()).automerge_url()
}

const ADDRESS_COLUMNS: &str = "street, city, postal_code, region, country";

impl Replica {
    /// The client's documents (its own, then one per year of invoices) with
    /// their automerge-repo URLs.
    pub fn automerge_documents(&self, client_id: ClientId) -> Result<Vec<AutomergeDocument>> {
        let client = DocId::client(client_id);
        let mut documents = vec![AutomergeDocument {
            document: "client".to_owned(),
            year: None,
            document_id: client.to_string(),
            url: automerge_url(client),
        }];
        for (doc_id, year) in self.invoice_documents_of(client_id)? {
            let Ok(parsed) = doc_id.parse::<DocId>() else { continue };
            documents.push(AutomergeDocument {
                document: "invoices".to_owned(),
                year,
                document_id: doc_id,
                url: automerge_url(parsed),
            });
        }
        Ok(documents)
    }

    /// The card of one client, as of `today` (which months the visit summary
    /// covers, and later which invoices are overdue).
    pub fn card(&self, client_id: ClientId, today: chrono::NaiveDate) -> Result<ClientCard> {
        let id = client_id.to_string();
        let account = self.account_summary(client_id, today)?;
        let mut card = self
            .conn
            .prepare_cached(&format!(
                "SELECT c.kind, c.display_name, c.name, c.first_name, c.last_name, c.reg_no,
                        c.personal_code, c.vat_id, c.industry, c.{}, c.billing_recipient,
                        c.billing_street, c.billing_city, c.billing_postal_code, c.billing_region,
                        c.billing_country, c.billing_email, c.payment_terms_days, c.currency,
                        g.name, c.group_id, c.archived, c.comments
                 FROM clients c LEFT JOIN groups g ON g.id = c.group_id WHERE c.id = ?1",
                ADDRESS_COLUMNS.replace(", ", ", c.")
            ))?
            .query_row([&id], |row| {
                Ok(ClientCard {
                    id: id.clone(),
                    short_id: short_id(&id),
                    kind: row.get(0)?,
                    display_name: row.get(1)?,
                    name: row.get(2)?,
                    first_name: row.get(3)?,
                    last_name: row.get(4)?,
                    reg_no: row.get(5)?,
                    personal_code: row.get(6)?,
                    vat_id: row.get(7)?,
                    industry: row.get(8)?,
                    address: address_at(row, 9)?,
                    billing: BillingView {
                        recipient: row.get(14)?,
                        address: address_at(row, 15)?,
                        email: row.get(20)?,
                        payment_terms_days: row.get(21)?,
                        currency: row.get(22)?,
                    },
                    group: row.get(23)?,
                    group_id: row.get(24)?,
                    archived: row.get(25)?,
                    comments: row.get(26)?,
                    contacts: Vec::new(),
                    channels: Vec::new(),
                    bank_accounts: Vec::new(),
                    settings: BTreeMap::new(),
                    units: Vec::new(),
                    opened_unit: None,
                    conflicts: Vec::new(),
                    field: crate::modules::field_work::visits::FieldSections {
                        last_visit: None,
                        visits_by_unit: Vec::new(),
                        visits: Vec::new(),
                        galleries: Vec::new(),
                        documents: Vec::new(),
                    },
                    account,
                    automerge_documents: Vec::new(),
                })
            })
            .optional()?
            .ok_or_else(|| unknown_client(client_id))?;

        card.contacts = self.contacts_of(&id, None)?;
        card.channels = self
            .conn
            .prepare_cached("SELECT id, kind, value, label FROM channels WHERE client_id = ?1 ORDER BY position")?
            .query_map([&id], |row| {
                Ok(ChannelView { id: row.get(0)?, kind: row.get(1)?, value: row.get(2)?, label: row.get(3)? })
            })?
            .collect::<Result<_, _>>()?;
        card.bank_accounts = self
            .conn
            .prepare_cached(
                "SELECT id, iban, bic, bank_name FROM bank_accounts WHERE client_id = ?1 ORDER BY position",
            )?
            .query_map([&id], |row| {
                Ok(BankAccountView { id: row.get(0)?, iban: row.get(1)?, bic: row.get(2)?, bank_name: row.get(3)? })
            })?
            .collect::<Result<_, _>>()?;
        card.settings = self
            .conn
            .prepare_cached(
                "SELECT key, value FROM client_settings WHERE client_id = ?1 ORDER BY key",
            )?
            .query_map([&id], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        card.units = self.units_of(&id)?;
        card.automerge_documents = self.automerge_documents(client_id)?;
        card.opened_unit = card
            .units
            .iter()
            .find(|unit| unit.main)
            .or_else(|| card.units.iter().find(|unit| unit.active))
            .map(|unit| unit.id.clone());
        card.conflicts = self.conflicts(Some(client_id))?;
        card.field = self.field_sections(client_id, today)?;
        Ok(card)
    }

    fn contacts_of(&self, client_id: &str, unit_id: Option<&str>) -> Result<Vec<ContactView>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, name, role, phone, email FROM contacts
             WHERE client_id = ?1 AND unit_id IS ?2 ORDER BY position",
        )?;
        let contacts = statement
            .query_map(rusqlite::params![client_id, unit_id], |row| {
                Ok(ContactView {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    role: row.get(2)?,
                    phone: row.get(3)?,
                    email: row.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(contacts)
    }

    fn units_of(&self, client_id: &str) -> Result<Vec<UnitView>> {
        let mut units: Vec<UnitView> = self
            .conn
            .prepare_cached(&format!(
                "SELECT id, name, {ADDRESS_COLUMNS}, phone, email, active, is_main
                 FROM units WHERE client_id = ?1 ORDER BY position"
            ))?
            .query_map([client_id], |row| {
                let id: String = row.get(0)?;
                Ok(UnitView {
                    short_id: short_id(&id),
                    id,
                    name: row.get(1)?,
                    address: address_at(row, 2)?,
                    phone: row.get(7)?,
                    email: row.get(8)?,
                    active: row.get(9)?,
                    main: row.get(10)?,
                    contacts: Vec::new(),
                })
            })?
            .collect::<Result<_, _>>()?;
        for unit in &mut units {
            unit.contacts = self.contacts_of(client_id, Some(&unit.id))?;
        }
        Ok(units)
    }

    /// Conflicted fields, of one client or of the whole replica.
    pub fn conflicts(&self, client_id: Option<ClientId>) -> Result<Vec<ConflictView>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT f.doc_id, f.owner, c.display_name, f.pointer, f.vals
             FROM conflicts f LEFT JOIN clients c ON c.id = f.owner
             WHERE ?1 IS NULL OR f.owner = ?1
             ORDER BY c.sort_key, f.doc_id, f.pointer",
        )?;
        let rows = statement.query_map([client_id.map(|id| id.to_string())], |row| {
            Ok(ConflictView {
                doc_id: row.get(0)?,
                client_id: row.get(1)?,
                client_name: row.get(2)?,
                field: row.get(3)?,
                values: mirror_json(row, 4, "conflict's values")?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn address_at(row: &Row<'_>, first: usize) -> rusqlite::Result<AddressView> {
    Ok(AddressView {
        street: row.get(first)?,
        city: row.get(first + 1)?,
        postal_code: row.get(first + 2)?,
        region: row.get(first + 3)?,
        country: row.get(first + 4)?,
    })
}
