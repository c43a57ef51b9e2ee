//! Deterministic demo data: a seeded generator that fills a replica with clients
//! and units at any scale, up to the seed's 29,000 clients and 87,000 units.
//!
//! Names, streets and cities come from Latvian, German, Estonian and Lithuanian
//! pools (ā, ņ, ä, ü, ß, õ, š …) so that search and sort are exercised the way
//! real users will. The same seed and scale always produce the same clients.
//!
//! Documents are built in memory in batches and stored with one transaction per
//! batch, so memory stays bounded at any scale.

#![warn(missing_docs)]

mod invoices;
mod pools;

use doc_model::{AutoCommit, ClientDocMut, DocId, DocKind};
use domain::{
    AddressPart, ChannelKind, ClientEdit, ClientId, EntryId, GroupId, NewContact, NewUnit,
    ProfileField, UnitId,
};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use replica_store::Replica;

use crate::pools::{LANGUAGES, pick};

/// Clients built in memory before they are written in one transaction.
const BATCH_CLIENTS: usize = 500;

/// The seed's scale: 29,000 clients (with about 87,000 units).
pub const SEED_SCALE_CLIENTS: usize = 29_000;

/// What went wrong generating demo data.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The replica rejected a write.
    #[error(transparent)]
    Store(#[from] replica_store::StoreError),
    /// A generated document could not be built.
    #[error(transparent)]
    Document(#[from] doc_model::DocModelError),
    /// Invoice arithmetic failed.
    #[error(transparent)]
    Billing(#[from] billing::BillingError),
}

/// How much to generate.
#[derive(Debug, Clone, Copy)]
pub struct DemoConfig {
    /// Number of clients.
    pub clients: usize,
    /// Number of visits, spread over the clients' units and the two years
    /// before `today` (the seed's scale: 200,000).
    pub visits: usize,
    /// Number of invoices with their payments, over the three years before
    /// `today` (the seed's scale: 300,000).
    pub invoices: usize,
    /// The date the visits and invoices lead up to; with the seed, it fixes the data.
    pub today: chrono::NaiveDate,
    /// The seed; the same seed gives the same data.
    pub seed: u64,
    /// Milliseconds since the epoch to stamp entries with (metadata only).
    pub now_ms: i64,
}

/// What was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoReport {
    /// Clients created.
    pub clients: usize,
    /// Units created.
    pub units: usize,
    /// Visits recorded.
    pub visits: usize,
    /// Invoices issued.
    pub invoices: usize,
    /// Groups created.
    pub groups: usize,
}

/// Fills `replica` with demo clients; `progress` is called with the number of
/// clients written so far after each batch.
pub fn generate(
    replica: &mut Replica,
    config: &DemoConfig,
    mut progress: impl FnMut(usize),
) -> Result<DemoReport, DemoError> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let groups: Vec<GroupId> = pools::GROUPS
        .iter()
        .map(|name| {
            let id = GroupId::from_bytes(rng.random());
            replica.create_group_with_id(id, name).map(|()| id)
        })
        .collect::<Result<_, _>>()?;
    let actor = replica.meta().actor.clone();
    let mut report =
        DemoReport { clients: 0, units: 0, visits: 0, invoices: 0, groups: groups.len() };
    // Invoices draw from their own generator, so adding them leaves the clients
    // of a seed unchanged.
    let mut invoice_rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x1A_F0_1C_E5);
    let year = chrono::Datelike::year(&config.today);
    let series = replica.series(year)?;
    if config.invoices > 0 && !series.configured {
        // Registers the series, so other devices see its code as taken.
        replica.set_series(&series.code, Some(&series.pattern), year)?;
    }
    let mut next_seq = std::collections::HashMap::new();
    for past in year - 3..=year {
        next_seq.insert(past, replica.series(past)?.next_seq);
    }
    let seller = replica.company_details()?;
    let device_id = replica.meta().device_id.to_string();
    let mut batch = Vec::with_capacity(BATCH_CLIENTS);
    let mut clients_in_batch = 0;
    for index in 0..config.clients {
        let client_id = ClientId::from_bytes(rng.random());
        let mut edits = client_edits(&mut rng, &groups);
        // Visits are spread evenly: the first `visits % clients` clients get one more.
        let n_visits = config.visits / config.clients.max(1)
            + usize::from(index < config.visits % config.clients.max(1));
        visit_edits(&mut rng, &mut edits, n_visits, config.today);
        report.units += edits.iter().filter(|edit| matches!(edit, ClientEdit::AddUnit(_))).count();
        report.visits += n_visits;
        let mut doc = doc_model::new_document(DocId::client(client_id), DocKind::Client, &actor)?;
        apply(&mut doc, &edits, config.now_ms)?;
        let client_name = name_of(&edits);
        batch.push((DocId::client(client_id), doc));
        clients_in_batch += 1;
        let n_invoices = config.invoices / config.clients.max(1)
            + usize::from(index < config.invoices % config.clients.max(1));
        if n_invoices > 0 {
            let mut maker = invoices::InvoiceMaker {
                series: &series.code,
                series_key: &series.key,
                device_tag: &series.device_tag,
                device_id: &device_id,
                actor: &actor,
                today: config.today,
                now_ms: config.now_ms,
                next_seq: &mut next_seq,
                seller: &seller,
            };
            batch.extend(maker.documents(&mut invoice_rng, client_id, &client_name, n_invoices)?);
            report.invoices += n_invoices;
        }
        if (index + 1) % BATCH_CLIENTS == 0 {
            report.clients += clients_in_batch;
            clients_in_batch = 0;
            replica.insert_new_documents(std::mem::take(&mut batch))?;
            progress(report.clients);
        }
    }
    if !batch.is_empty() {
        report.clients += clients_in_batch;
        replica.insert_new_documents(batch)?;
        progress(report.clients);
    }
    Ok(report)
}

fn apply(doc: &mut AutoCommit, edits: &[ClientEdit], now_ms: i64) -> Result<(), DemoError> {
    let mut client = ClientDocMut::open(doc)?;
    client.stamp_created(now_ms)?;
    for edit in edits {
        client.apply(edit, now_ms)?;
    }
    doc.commit();
    Ok(())
}

/// The edits that create one random client.
fn client_edits(rng: &mut ChaCha8Rng, groups: &[GroupId]) -> Vec<ClientEdit> {
    let language = pick(rng, &LANGUAGES);
    let is_person = rng.random_bool(0.25);
    let city = pick(rng, language.cities);
    let mut edits = Vec::new();
    let first_name = pick(rng, language.first_names);
    let last_name = pick(rng, language.last_names);
    let mut domain_name = pools::ascii_slug(last_name);
    if is_person {
        edits.push(field(ProfileField::Kind, "person"));
        edits.push(field(ProfileField::FirstName, first_name));
        edits.push(field(ProfileField::LastName, last_name));
        edits.push(field(ProfileField::PersonalCode, &language.personal_code(rng)));
    } else {
        let (company, slug) = language.company_name(rng);
        domain_name = slug;
        edits.push(field(ProfileField::Name, &company));
        let reg_no = language.reg_no(rng);
        edits.push(field(ProfileField::VatId, &format!("{}{}", language.country, reg_no)));
        edits.push(field(ProfileField::RegNo, &reg_no));
        edits.push(field(ProfileField::Industry, pick::<&str>(rng, pools::INDUSTRIES)));
    }
    let address = language.address(rng, city);
    for part in AddressPart::ALL {
        let value = address.part(part);
        if !value.is_empty() {
            edits.push(field(ProfileField::Address(part), value));
        }
    }
    edits.push(ClientEdit::AddChannel {
        id: EntryId::from_bytes(rng.random()),
        kind: ChannelKind::Phone,
        value: language.phone(rng),
        label: "office".to_owned(),
    });
    edits.push(ClientEdit::AddChannel {
        id: EntryId::from_bytes(rng.random()),
        kind: ChannelKind::Email,
        value: format!("{}@{}.{}", pools::ascii_slug(first_name), domain_name, language.tld),
        label: String::new(),
    });
    if !is_person && rng.random_bool(0.6) {
        edits.push(ClientEdit::AddChannel {
            id: EntryId::from_bytes(rng.random()),
            kind: ChannelKind::Web,
            value: format!("https://www.{domain_name}.{}", language.tld),
            label: String::new(),
        });
        edits.push(ClientEdit::AddContact(NewContact {
            id: EntryId::from_bytes(rng.random()),
            name: format!("{} {}", pick(rng, language.first_names), pick(rng, language.last_names)),
            role: (*pick(rng, pools::ROLES)).to_owned(),
            phone: language.phone(rng),
            email: String::new(),
        }));
    }
    if rng.random_bool(0.7) {
        edits.push(ClientEdit::AddBankAccount {
            id: EntryId::from_bytes(rng.random()),
            iban: language.iban(rng),
            bic: String::new(),
            bank_name: (*pick(rng, language.banks)).to_owned(),
        });
    }
    if rng.random_bool(0.4) {
        edits.push(ClientEdit::Group(Some(*pick(rng, groups))));
    }
    if rng.random_bool(0.2) {
        edits.push(ClientEdit::Comments((*pick(rng, language.comments)).to_owned()));
    }
    if rng.random_bool(0.1) {
        edits.push(ClientEdit::SetSetting("visit.window".to_owned(), "08:00–12:00".to_owned()));
    }
    if rng.random_bool(0.03) {
        edits.push(ClientEdit::Archived(true));
    }
    let n_units = unit_count(rng, is_person);
    let mut first_unit = None;
    for index in 0..n_units {
        let unit_id = UnitId::from_bytes(rng.random());
        first_unit.get_or_insert(unit_id);
        let unit_city = if rng.random_bool(0.6) { city } else { pick(rng, language.cities) };
        edits.push(ClientEdit::AddUnit(NewUnit {
            id: unit_id,
            name: language.unit_name(rng, index, unit_city),
            address: language.address(rng, unit_city),
            phone: if rng.random_bool(0.5) { language.phone(rng) } else { String::new() },
            email: String::new(),
            active: !rng.random_bool(0.12),
        }));
        if rng.random_bool(0.2) {
            edits.push(ClientEdit::AddUnitContact(
                unit_id,
                NewContact {
                    id: EntryId::from_bytes(rng.random()),
                    name: format!(
                        "{} {}",
                        pick(rng, language.first_names),
                        pick(rng, language.last_names)
                    ),
                    role: (*pick(rng, pools::ROLES)).to_owned(),
                    phone: language.phone(rng),
                    email: String::new(),
                },
            ));
        }
    }
    if n_units > 1 && rng.random_bool(0.5) {
        edits.push(ClientEdit::MainUnit(first_unit));
    }
    edits
}

const TECHNICIANS: [&str; 8] =
    ["Anna", "Jānis", "Jürgen", "Kädi", "Mantas", "Otto", "Līga", "Sören"];

const WORK: [(&str, &str, &str); 8] = [
    ("Cleaned the condenser", "1", "h"),
    ("Replaced the door seal", "1", "pcs"),
    ("Refilled refrigerant", "0.5", "kg"),
    ("Diagnostics", "1.5", "h"),
    ("Replaced the compressor relay", "1", "pcs"),
    ("Calibrated the thermostat", "0.5", "h"),
    ("Descaled the dishwasher", "2", "h"),
    ("Safety inspection", "1", "h"),
];

/// Adds `count` visits at the client's units (or the client itself), on working
/// days in the two years before `today`, local time in Riga's winter offset.
fn visit_edits(
    rng: &mut ChaCha8Rng,
    edits: &mut Vec<ClientEdit>,
    count: usize,
    today: chrono::NaiveDate,
) {
    use chrono::TimeZone;
    let units: Vec<UnitId> = edits
        .iter()
        .filter_map(|edit| match edit {
            ClientEdit::AddUnit(unit) => Some(unit.id),
            _ => None,
        })
        .collect();
    // A fixed offset keeps the data the same on every machine, whatever its zone.
    // +02:00 is a valid offset, so `east_opt` always returns it.
    let Some(offset) = chrono::FixedOffset::east_opt(2 * 3600) else { return };
    for _ in 0..count {
        let day = today - chrono::Days::new(rng.random_range(0..730));
        let start_minute = rng.random_range(8 * 60..16 * 60) / 15 * 15;
        let Some(start) = day.and_hms_opt(start_minute / 60, start_minute % 60, 0) else {
            continue;
        };
        let Some(start) = offset.from_local_datetime(&start).single() else { continue };
        let end = start + chrono::Duration::minutes(rng.random_range(2..16) * 15);
        let items = (0..rng.random_range(1..=3))
            .map(|_| {
                let (description, quantity, unit) = *pick(rng, &WORK);
                domain::WorkItem {
                    description: description.to_owned(),
                    quantity: quantity.to_owned(),
                    unit: unit.to_owned(),
                }
            })
            .collect();
        edits.push(ClientEdit::AddVisit(domain::NewVisit {
            id: domain::VisitId::from_bytes(rng.random()),
            unit_id: pick_unit(rng, &units),
            start,
            end,
            technician: (*pick(rng, &TECHNICIANS)).to_owned(),
            kind: *pick(
                rng,
                &[
                    domain::VisitKind::Scheduled,
                    domain::VisitKind::Scheduled,
                    domain::VisitKind::Unscheduled,
                    domain::VisitKind::Breakdown,
                ],
            ),
            status: *pick(
                rng,
                &[
                    domain::VisitStatus::Done,
                    domain::VisitStatus::Done,
                    domain::VisitStatus::Done,
                    domain::VisitStatus::PartlyDone,
                ],
            ),
            items,
            notes: String::new(),
        }));
    }
}

fn pick_unit(rng: &mut ChaCha8Rng, units: &[UnitId]) -> Option<UnitId> {
    if units.is_empty() { None } else { Some(*pick(rng, units)) }
}

/// Units per client: most have one to three, chains have dozens; the mean is
/// about three, the seed's ratio of 87,000 units to 29,000 clients.
fn unit_count(rng: &mut ChaCha8Rng, is_person: bool) -> usize {
    if is_person {
        return rng.random_range(1..=2);
    }
    match rng.random_range(0..100) {
        0..35 => 1,
        35..58 => 2,
        58..75 => 3,
        75..88 => rng.random_range(4..=6),
        88..98 => rng.random_range(7..=12),
        _ => rng.random_range(13..=40),
    }
}

/// The display name the edits give a client.
fn name_of(edits: &[ClientEdit]) -> String {
    let value = |wanted: ProfileField| {
        edits.iter().rev().find_map(|edit| match edit {
            ClientEdit::Field(field, value) if *field == wanted => Some(value.as_str()),
            _ => None,
        })
    };
    let kind = if value(ProfileField::Kind) == Some("person") {
        domain::ClientKind::Person
    } else {
        domain::ClientKind::Company
    };
    domain::display_name(
        kind,
        value(ProfileField::Name).unwrap_or_default(),
        value(ProfileField::FirstName).unwrap_or_default(),
        value(ProfileField::LastName).unwrap_or_default(),
    )
}

fn field(field: ProfileField, value: &str) -> ClientEdit {
    ClientEdit::Field(field, value.to_owned())
}
