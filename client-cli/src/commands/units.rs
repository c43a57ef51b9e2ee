//! `unit …`: a client's structural units.

use anyhow::Result;
use domain::{Address, AddressPart, ClientEdit, ClientId, NewUnit, UnitField, UnitId};
use replica_store::Replica;

use crate::cli::{UnitCommand, UnitFieldArgs};
use crate::output::Output;

pub(crate) fn run(replica: &mut Replica, command: UnitCommand, output: &mut Output) -> Result<()> {
    match command {
        UnitCommand::Add { client, name, fields, inactive, main } => {
            let client_id = replica.resolve_client(&client)?;
            let unit_id = UnitId::random();
            let address = Address {
                street: fields.street.clone().unwrap_or_default(),
                city: fields.city.clone().unwrap_or_default(),
                postal_code: fields.postal_code.clone().unwrap_or_default(),
                region: fields.region.clone().unwrap_or_default(),
                country: fields.country.clone().unwrap_or_default(),
            };
            let mut edits = vec![ClientEdit::AddUnit(NewUnit {
                id: unit_id,
                name,
                address,
                phone: fields.phone.unwrap_or_default(),
                email: fields.email.unwrap_or_default(),
                active: !inactive,
            })];
            if main {
                edits.push(ClientEdit::MainUnit(Some(unit_id)));
            }
            save(replica, client_id, &edits, output)
        }
        UnitCommand::List { client } => {
            let client_id = replica.resolve_client(&client)?;
            let card = replica.card(client_id, super::today())?;
            if output.json {
                return output
                    .json(&serde_json::json!({ "client_id": card.id, "units": card.units }));
            }
            let mut table =
                output.table(&["ID", "UNIT", "ADDRESS", "PHONE", "E-MAIL", "STATUS"])?;
            for unit in &card.units {
                let status = match (unit.active, unit.main) {
                    (true, true) => "active, main",
                    (true, false) => "active",
                    (false, true) => "inactive, main",
                    (false, false) => "inactive",
                };
                table.row([
                    &unit.short_id,
                    &unit.name,
                    &unit.address.one_line(),
                    &unit.phone,
                    &unit.email,
                    status,
                ])?;
            }
            table.finish()
        }
        UnitCommand::Edit { client, unit, name, fields } => {
            let client_id = replica.resolve_client(&client)?;
            let unit_id = replica.resolve_unit(client_id, &unit)?;
            let mut edits: Vec<ClientEdit> = field_edits(&fields)
                .into_iter()
                .map(|(field, value)| ClientEdit::UnitField(unit_id, field, value))
                .collect();
            if let Some(name) = name {
                edits.insert(0, ClientEdit::UnitField(unit_id, UnitField::Name, name));
            }
            if edits.is_empty() {
                anyhow::bail!(
                    "nothing to change; pass the fields to edit, e.g. --phone '+371 6700 0000'"
                );
            }
            save(replica, client_id, &edits, output)
        }
        UnitCommand::Activate { client, unit } => set_active(replica, &client, &unit, true, output),
        UnitCommand::Deactivate { client, unit } => {
            set_active(replica, &client, &unit, false, output)
        }
        UnitCommand::Main { client, unit } => {
            let client_id = replica.resolve_client(&client)?;
            let unit_id = replica.resolve_unit(client_id, &unit)?;
            save(replica, client_id, &[ClientEdit::MainUnit(Some(unit_id))], output)
        }
        UnitCommand::AddContact { client, unit, contact } => {
            let client_id = replica.resolve_client(&client)?;
            let unit_id = replica.resolve_unit(client_id, &unit)?;
            let contact = super::clients::new_contact(&contact);
            save(replica, client_id, &[ClientEdit::AddUnitContact(unit_id, contact)], output)
        }
    }
}

fn set_active(
    replica: &mut Replica,
    client: &str,
    unit: &str,
    active: bool,
    output: &mut Output,
) -> Result<()> {
    let client_id = replica.resolve_client(client)?;
    let unit_id = replica.resolve_unit(client_id, unit)?;
    save(replica, client_id, &[ClientEdit::UnitActive(unit_id, active)], output)
}

fn field_edits(fields: &UnitFieldArgs) -> Vec<(UnitField, String)> {
    use AddressPart::{City, Country, PostalCode, Region, Street};
    [
        (UnitField::Address(Street), &fields.street),
        (UnitField::Address(City), &fields.city),
        (UnitField::Address(PostalCode), &fields.postal_code),
        (UnitField::Address(Region), &fields.region),
        (UnitField::Address(Country), &fields.country),
        (UnitField::Phone, &fields.phone),
        (UnitField::Email, &fields.email),
    ]
    .into_iter()
    .filter_map(|(field, value)| Some((field, value.clone()?)))
    .collect()
}

fn save(
    replica: &mut Replica,
    client_id: ClientId,
    edits: &[ClientEdit],
    output: &mut Output,
) -> Result<()> {
    replica.edit_client(client_id, edits)?;
    let card = replica.card(client_id, super::today())?;
    if output.json {
        return output.json(&serde_json::json!({ "client_id": card.id, "units": card.units }));
    }
    output.line(format!("Saved the units of {} ({})", card.display_name, card.short_id))
}
