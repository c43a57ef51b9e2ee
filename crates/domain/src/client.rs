//! The client aggregate as plain values: what `doc-model` hydrates from a client's
//! Automerge document and what `replica-store` projects into SQLite.
//!
//! Scalar text fields use the empty string for "not set": a form field that was
//! cleared and one that was never filled mean the same to a user.

use std::collections::BTreeMap;

use crate::error::{DomainError, Result};
use crate::ids::{ClientId, EntryId, GroupId, UnitId};
use crate::validate;

/// Whether a client is a company or a natural person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientKind {
    /// A company, association or authority: it has a name and a registration number.
    #[default]
    Company,
    /// A natural person: first and last name and a personal code.
    Person,
}

impl ClientKind {
    /// The stored and displayed name: `company` or `person`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Company => "company",
            Self::Person => "person",
        }
    }

    /// Parses `company` or `person`; anything else (a newer kind) reads as a company
    /// so that an older replica still shows the client.
    pub fn from_stored(value: &str) -> Self {
        if value == "person" { Self::Person } else { Self::Company }
    }
}

/// A postal address. Every part is optional.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// Street, house number and apartment.
    pub street: String,
    /// City, town or village.
    pub city: String,
    /// Postal code as written locally (LV-1010, 10115).
    pub postal_code: String,
    /// Region, county or state.
    pub region: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

impl Address {
    /// The address on one line, skipping empty parts.
    pub fn one_line(&self) -> String {
        let city = [self.postal_code.as_str(), self.city.as_str()]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        [self.street.as_str(), city.as_str(), self.region.as_str(), self.country.as_str()]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One part of the address.
    pub fn part(&self, part: AddressPart) -> &str {
        match part {
            AddressPart::Street => &self.street,
            AddressPart::City => &self.city,
            AddressPart::PostalCode => &self.postal_code,
            AddressPart::Region => &self.region,
            AddressPart::Country => &self.country,
        }
    }

    /// Whether no part is set.
    pub fn is_empty(&self) -> bool {
        self.one_line().is_empty()
    }
}

/// One part of an [`Address`], used to name editable fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPart {
    /// [`Address::street`].
    Street,
    /// [`Address::city`].
    City,
    /// [`Address::postal_code`].
    PostalCode,
    /// [`Address::region`].
    Region,
    /// [`Address::country`].
    Country,
}

impl AddressPart {
    /// Every part, in display order.
    pub const ALL: [Self; 5] =
        [Self::Street, Self::City, Self::PostalCode, Self::Region, Self::Country];

    /// The stored key of this part.
    pub const fn key(self) -> &'static str {
        match self {
            Self::Street => "street",
            Self::City => "city",
            Self::PostalCode => "postal_code",
            Self::Region => "region",
            Self::Country => "country",
        }
    }

    fn normalize(self, value: &str) -> Result<String> {
        match self {
            Self::Country => validate::normalize_country(value),
            _ => Ok(value.trim().to_owned()),
        }
    }
}

/// How and where a client is invoiced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Billing {
    /// Who the invoice is addressed to when it is not the client's own name.
    pub recipient: String,
    /// Billing address when it differs from the postal address.
    pub address: Address,
    /// Where invoices are e-mailed.
    pub email: String,
    /// Days from issue to due date; `None` uses the workspace default.
    pub payment_terms_days: Option<u32>,
    /// ISO 4217 currency of the client's invoices; empty uses the workspace default.
    pub currency: String,
}

/// The client's identity and settings, without its lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    /// Company or person.
    pub kind: ClientKind,
    /// Company name; for a person, an optional name that overrides first + last.
    pub name: String,
    /// A person's first name.
    pub first_name: String,
    /// A person's last name.
    pub last_name: String,
    /// Company registration number.
    pub reg_no: String,
    /// A person's personal code.
    pub personal_code: String,
    /// VAT identification number.
    pub vat_id: String,
    /// Industry, free text.
    pub industry: String,
    /// Postal address.
    pub address: Address,
    /// Billing details.
    pub billing: Billing,
    /// The client group, if any.
    pub group_id: Option<GroupId>,
    /// Archived clients leave the default catalog but keep their history.
    pub archived: bool,
    /// Free comments; merged character by character.
    pub comments: String,
    /// The unit the card opens on.
    pub main_unit_id: Option<UnitId>,
}

impl Profile {
    /// The name shown in lists: the company name, or first and last name of a person.
    pub fn display_name(&self) -> String {
        display_name(self.kind, &self.name, &self.first_name, &self.last_name)
    }
}

/// The name shown in lists for these profile values.
pub fn display_name(kind: ClientKind, name: &str, first_name: &str, last_name: &str) -> String {
    let person_name = || {
        [first_name, last_name]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    match kind {
        ClientKind::Person if name.is_empty() => person_name(),
        _ if name.is_empty() => person_name(),
        _ => name.to_owned(),
    }
}

/// A contact person of a client or unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPerson {
    /// Stable id of the entry.
    pub id: EntryId,
    /// Full name.
    pub name: String,
    /// Role or position ("chef", "accountant").
    pub role: String,
    /// Phone number.
    pub phone: String,
    /// E-mail address.
    pub email: String,
}

/// The kind of a communication channel entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChannelKind {
    /// A phone number.
    Phone,
    /// An e-mail address.
    Email,
    /// A web address.
    Web,
}

impl ChannelKind {
    /// The stored and displayed name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Email => "email",
            Self::Web => "web",
        }
    }

    /// The key of the map that holds this kind in a client document.
    pub const fn collection(self) -> &'static str {
        match self {
            Self::Phone => "phones",
            Self::Email => "emails",
            Self::Web => "webs",
        }
    }

    /// Checks and normalizes a value of this kind.
    pub fn normalize(self, value: &str) -> Result<String> {
        match self {
            Self::Phone => validate::normalize_phone(value),
            Self::Email => validate::normalize_email(value),
            Self::Web => {
                let value = value.trim();
                if value.is_empty() {
                    return Err(DomainError::Empty { field: "web address" });
                }
                Ok(value.to_owned())
            }
        }
    }
}

/// A phone number, e-mail address or web address of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Stable id of the entry.
    pub id: EntryId,
    /// What kind of channel.
    pub kind: ChannelKind,
    /// The number or address.
    pub value: String,
    /// A label ("office", "mobile", "invoices").
    pub label: String,
}

/// A bank account of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    /// Stable id of the entry.
    pub id: EntryId,
    /// IBAN in electronic format (no spaces).
    pub iban: String,
    /// BIC (SWIFT code).
    pub bic: String,
    /// Name of the bank.
    pub bank_name: String,
}

/// A structural unit of a client: a site, branch or object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Stable id.
    pub id: UnitId,
    /// Name ("Restaurant Old Town").
    pub name: String,
    /// Where the unit is.
    pub address: Address,
    /// Phone of the unit.
    pub phone: String,
    /// E-mail of the unit.
    pub email: String,
    /// Inactive units are listed last.
    pub active: bool,
    /// Contact persons at the unit.
    pub contacts: Vec<ContactPerson>,
}

/// A whole client aggregate, as hydrated from its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The client's id, which is also its document's id.
    pub id: ClientId,
    /// Identity and settings.
    pub profile: Profile,
    /// Contact persons, in the order they were added.
    pub contacts: Vec<ContactPerson>,
    /// Phones, e-mails and web addresses, by kind and then in the order they were added.
    pub channels: Vec<Channel>,
    /// Bank accounts, in the order they were added.
    pub bank_accounts: Vec<BankAccount>,
    /// Special settings: free key/value pairs.
    pub settings: BTreeMap<String, String>,
    /// Units: active first, then inactive, each by name.
    pub units: Vec<Unit>,
    /// Visits, by start time.
    pub visits: Vec<crate::field::Visit>,
    /// Gallery items, in the order they were added.
    pub gallery: Vec<crate::field::GalleryItem>,
    /// Client documents, by date.
    pub documents: Vec<crate::field::ClientDocument>,
}

impl Client {
    /// The main unit if it is set and still exists.
    pub fn main_unit(&self) -> Option<&Unit> {
        let main_unit_id = self.profile.main_unit_id?;
        self.units.iter().find(|unit| unit.id == main_unit_id)
    }

    /// Values of one channel kind.
    pub fn channel_values(&self, kind: ChannelKind) -> impl Iterator<Item = &str> {
        self.channels.iter().filter(move |channel| channel.kind == kind).map(|c| c.value.as_str())
    }
}

/// A scalar field of the client profile that a user edits as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileField {
    /// [`Profile::kind`], `company` or `person`.
    Kind,
    /// [`Profile::name`].
    Name,
    /// [`Profile::first_name`].
    FirstName,
    /// [`Profile::last_name`].
    LastName,
    /// [`Profile::reg_no`].
    RegNo,
    /// [`Profile::personal_code`].
    PersonalCode,
    /// [`Profile::vat_id`].
    VatId,
    /// [`Profile::industry`].
    Industry,
    /// A part of [`Profile::address`].
    Address(AddressPart),
    /// [`Billing::recipient`].
    BillingRecipient,
    /// A part of [`Billing::address`].
    BillingAddress(AddressPart),
    /// [`Billing::email`].
    BillingEmail,
    /// [`Billing::payment_terms_days`].
    PaymentTermsDays,
    /// [`Billing::currency`].
    Currency,
}

impl ProfileField {
    /// Every profile field, in the order a profile form shows them.
    pub const ALL: [Self; 22] = {
        use AddressPart::{City, Country, PostalCode, Region, Street};
        [
            Self::Kind,
            Self::Name,
            Self::FirstName,
            Self::LastName,
            Self::RegNo,
            Self::PersonalCode,
            Self::VatId,
            Self::Industry,
            Self::Address(Street),
            Self::Address(City),
            Self::Address(PostalCode),
            Self::Address(Region),
            Self::Address(Country),
            Self::BillingRecipient,
            Self::BillingAddress(Street),
            Self::BillingAddress(City),
            Self::BillingAddress(PostalCode),
            Self::BillingAddress(Region),
            Self::BillingAddress(Country),
            Self::BillingEmail,
            Self::PaymentTermsDays,
            Self::Currency,
        ]
    };

    /// The field's path inside the document's `profile` map, e.g. `["address", "city"]`.
    pub fn path(self) -> Vec<&'static str> {
        match self {
            Self::Kind => vec!["kind"],
            Self::Name => vec!["name"],
            Self::FirstName => vec!["first_name"],
            Self::LastName => vec!["last_name"],
            Self::RegNo => vec!["reg_no"],
            Self::PersonalCode => vec!["personal_code"],
            Self::VatId => vec!["vat_id"],
            Self::Industry => vec!["industry"],
            Self::Address(part) => vec!["address", part.key()],
            Self::BillingRecipient => vec!["billing", "recipient"],
            Self::BillingAddress(part) => vec!["billing", "address", part.key()],
            Self::BillingEmail => vec!["billing", "email"],
            Self::PaymentTermsDays => vec!["billing", "payment_terms_days"],
            Self::Currency => vec!["billing", "currency"],
        }
    }

    /// Checks and normalizes a typed value. The empty string clears the field
    /// (except the kind, which always has a value).
    pub fn normalize(self, value: &str) -> Result<String> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return match self {
                Self::Kind => Err(DomainError::Empty { field: "kind" }),
                _ => Ok(String::new()),
            };
        }
        match self {
            Self::Kind => match trimmed {
                "company" | "person" => Ok(trimmed.to_owned()),
                _ => Err(DomainError::Empty { field: "kind (company or person)" }),
            },
            Self::VatId => Ok(trimmed.split_whitespace().collect::<String>().to_uppercase()),
            Self::Address(part) | Self::BillingAddress(part) => part.normalize(trimmed),
            Self::BillingEmail => validate::normalize_email(trimmed),
            Self::PaymentTermsDays => validate::normalize_payment_terms(trimmed),
            Self::Currency => validate::normalize_currency(trimmed),
            _ => Ok(trimmed.to_owned()),
        }
    }
}

/// A scalar field of a unit that a user edits as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitField {
    /// [`Unit::name`].
    Name,
    /// A part of [`Unit::address`].
    Address(AddressPart),
    /// [`Unit::phone`].
    Phone,
    /// [`Unit::email`].
    Email,
}

impl UnitField {
    /// Every unit field, in display order.
    pub const ALL: [Self; 8] = {
        use AddressPart::{City, Country, PostalCode, Region, Street};
        [
            Self::Name,
            Self::Address(Street),
            Self::Address(City),
            Self::Address(PostalCode),
            Self::Address(Region),
            Self::Address(Country),
            Self::Phone,
            Self::Email,
        ]
    };

    /// The field's path inside the unit's map.
    pub fn path(self) -> Vec<&'static str> {
        match self {
            Self::Name => vec!["name"],
            Self::Address(part) => vec!["address", part.key()],
            Self::Phone => vec!["phone"],
            Self::Email => vec!["email"],
        }
    }

    /// Checks and normalizes a typed value; the empty string clears the field
    /// (except the name).
    pub fn normalize(self, value: &str) -> Result<String> {
        let trimmed = value.trim();
        match self {
            Self::Name if trimmed.is_empty() => Err(DomainError::Empty { field: "unit name" }),
            _ if trimmed.is_empty() => Ok(String::new()),
            Self::Address(part) => part.normalize(trimmed),
            Self::Phone => validate::normalize_phone(trimmed),
            Self::Email => validate::normalize_email(trimmed),
            Self::Name => Ok(trimmed.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_prefers_the_company_name_and_falls_back_to_the_person() {
        assert_eq!(display_name(ClientKind::Company, "Acme SIA", "", ""), "Acme SIA");
        assert_eq!(display_name(ClientKind::Person, "", "Jānis", "Bērziņš"), "Jānis Bērziņš");
        assert_eq!(
            display_name(ClientKind::Person, "Dr. J. Bērziņš", "Jānis", "Bērziņš"),
            "Dr. J. Bērziņš"
        );
        assert_eq!(display_name(ClientKind::Company, "", "Anna", ""), "Anna");
    }

    #[test]
    fn profile_fields_normalize_what_can_be_checked_and_keep_the_rest() {
        assert_eq!(
            ProfileField::VatId.normalize(" lv 4000 3000 001 "),
            Ok("LV40003000001".to_owned())
        );
        assert_eq!(
            ProfileField::Address(AddressPart::Country).normalize("lv"),
            Ok("LV".to_owned())
        );
        assert_eq!(ProfileField::Name.normalize("  "), Ok(String::new()));
        assert_eq!(
            ProfileField::Industry.normalize("Gastronomie / Großküchen"),
            Ok("Gastronomie / Großküchen".to_owned())
        );
        assert!(ProfileField::BillingEmail.normalize("not-an-email").is_err());
        assert!(ProfileField::Kind.normalize("").is_err());
        assert!(UnitField::Name.normalize("").is_err());
    }

    #[test]
    fn address_one_line_skips_empty_parts() {
        let address = Address {
            street: "Brīvības iela 1".to_owned(),
            city: "Rīga".to_owned(),
            postal_code: "LV-1010".to_owned(),
            region: String::new(),
            country: "LV".to_owned(),
        };
        assert_eq!(address.one_line(), "Brīvības iela 1, LV-1010 Rīga, LV");
        assert!(Address::default().is_empty());
    }
}
