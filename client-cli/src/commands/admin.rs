//! `init`, `status`, `group`, `conflicts`, `company`, `reindex`, `demo`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};
use doc_model::{DocId, Resolution};
use replica_store::{ConflictView, InitOptions, Replica};
use serde_json::json;

use crate::cli::{CompanyCommand, ConflictsArgs, DemoCommand, GroupCommand, InitArgs};
use crate::output::Output;
use crate::progress::StepProgress;

pub(crate) fn init(home: &Path, args: &InitArgs, output: &mut Output) -> Result<()> {
    let options = InitOptions {
        workspace_name: args.workspace.clone(),
        device_name: args.device.clone(),
        workspace_id: args.workspace_id,
        seeded: None,
    };
    let replica = Replica::create(home, &options)?;
    let status = replica.status()?;
    if output.json {
        return output.json(&json!({ "home": home, "status": status }));
    }
    output.line(format!(
        "Created a replica of workspace {} in {}",
        status.workspace_id,
        home.display()
    ))?;
    output.line(format!("  device: {} ({})", status.device_name, status.device_id))?;
    output.line(format!(
        "Other devices join this workspace with: kartoteka init --workspace-id {} --device NAME",
        status.workspace_id
    ))
}

pub(crate) fn status(replica: &Replica, output: &mut Output) -> Result<()> {
    let status = replica.status()?;
    if output.json {
        return output.json(&status);
    }
    output.line(format!("Workspace  {} ({})", status.workspace_name, status.workspace_id))?;
    output.line(format!("Device     {} ({})", status.device_name, status.device_id))?;
    output.line(format!("Replica    {}", replica.home().display()))?;
    output.line(format!(
        "Holds      {} clients ({} archived), {} units, {} documents",
        status.clients, status.archived_clients, status.units, status.documents
    ))?;
    output.line(format!("Conflicts  {}", status.conflicts))
}

pub(crate) fn group(
    replica: &mut Replica,
    command: GroupCommand,
    output: &mut Output,
) -> Result<()> {
    match command {
        GroupCommand::Add { name } => {
            let group_id = replica.create_group(&name)?;
            if output.json {
                return output.json(&json!({ "id": group_id, "name": name.trim() }));
            }
            output.line(format!("Added group {} ({})", name.trim(), group_id.short()))
        }
        GroupCommand::Rename { group, name } => {
            let group_id = replica.resolve_group(&group)?;
            replica.rename_group(group_id, &name)?;
            if output.json {
                return output.json(&json!({ "id": group_id, "name": name.trim() }));
            }
            output.line(format!("Renamed group {} to {}", group_id.short(), name.trim()))
        }
        GroupCommand::List => {
            let groups = replica.groups()?;
            if output.json {
                return output.json(&json!({ "groups": groups }));
            }
            let mut table = output.table(&["ID", "GROUP", "CLIENTS"])?;
            for group in groups {
                table.row([group.short_id, group.name, group.clients.to_string()])?;
            }
            table.finish()
        }
    }
}

pub(crate) fn conflicts(
    replica: &mut Replica,
    args: &ConflictsArgs,
    output: &mut Output,
) -> Result<()> {
    let (doc_id, client_id) = match args.client.as_deref() {
        None => (None, None),
        Some("groups") => (Some(replica.groups_doc_id()), None),
        Some("workspace") => (Some(replica.workspace_doc_id()), None),
        Some(reference) => {
            let client_id = replica.resolve_client(reference)?;
            (Some(DocId::client(client_id)), Some(client_id))
        }
    };
    if let Some(field) = &args.resolve {
        let resolution = match (args.pick, &args.value) {
            (Some(position), None) => Resolution::Pick(position),
            (None, Some(value)) => Resolution::Value(value.clone()),
            _ => bail!("say how to resolve it: --pick N (a listed value) or --value TEXT"),
        };
        let Some(doc_id) = doc_id else { bail!("name the client whose conflict to resolve") };
        replica.resolve_conflict(doc_id, field, &resolution)?;
    }
    let mut listed = replica.conflicts(client_id)?;
    if let Some(doc_id) = doc_id {
        let doc_id = doc_id.to_string();
        listed.retain(|conflict| conflict.doc_id == doc_id);
    }
    // Numbers two devices issued (before numbers carried the device tag) are
    // a conflict of the workspace, not of a client's fields.
    let duplicates = replica.duplicate_numbers()?;
    if output.json {
        return output.json(&json!({
            "count": listed.len(),
            "conflicts": listed,
            "duplicate_numbers": duplicates,
        }));
    }
    if args.resolve.is_some() {
        output.line("Resolved.")?;
    }
    let open_duplicates = duplicates.iter().filter(|duplicate| !duplicate.settled).count();
    if open_duplicates > 0 {
        output.line(format!(
            "{open_duplicates} invoice number(s) are carried by two invoices (issued on two devices); \
             list them with `kartoteka invoice duplicates`"
        ))?;
    }
    if listed.is_empty() {
        return output.line("No conflicts.");
    }
    let mut table = output.table(&["CLIENT", "FIELD", "VALUES (* = shown now)"])?;
    for conflict in &listed {
        let client = match (&conflict.client_name, &conflict.client_id) {
            (Some(name), Some(id)) => {
                format!("{} {name}", id.replace('-', "").get(..8).unwrap_or(id))
            }
            _ => conflict.doc_id.clone(),
        };
        table.row([client, conflict.field.clone(), numbered_values(conflict)])?;
    }
    table.finish()?;
    output.line(
        "Resolve with: kartoteka conflicts CLIENT --resolve FIELD --pick N  (or --value TEXT)",
    )
}

/// `1) "a"*  2) "b"`: the numbers are what `--pick` takes.
fn numbered_values(conflict: &ConflictView) -> String {
    conflict
        .values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let mark = if value.winner { "*" } else { "" };
            format!("{}) \"{}\"{mark}", index + 1, value.value)
        })
        .collect::<Vec<_>>()
        .join("  ")
}

/// A conflict on one line, for the card.
pub(crate) fn conflict_values(conflict: &ConflictView) -> String {
    format!("{}: {}", conflict.field, numbered_values(conflict))
}

pub(crate) fn company(
    replica: &mut Replica,
    command: &CompanyCommand,
    output: &mut Output,
) -> Result<()> {
    if let CompanyCommand::Set { key, value } = command {
        replica.set_company_detail(key, value)?;
    }
    let details = replica.company_details()?;
    if output.json {
        return output.json(&details);
    }
    for (key, value) in details {
        output.line(format!("{key:<14}{value}"))?;
    }
    Ok(())
}

pub(crate) fn reindex(replica: &mut Replica, output: &mut Output) -> Result<()> {
    let started = Instant::now();
    let mut bar: Option<StepProgress> = None;
    let documents = replica.reindex_with_progress(&mut |done, total| {
        bar.get_or_insert_with(|| {
            StepProgress::start("rebuilding the query tables: documents", total, output.json)
        })
        .set(done);
    })?;
    if let Some(bar) = bar {
        bar.finish();
    }
    let seconds = started.elapsed().as_secs_f64();
    if output.json {
        return output.json(&json!({ "documents": documents, "seconds": seconds }));
    }
    output.line(format!("Rebuilt the query tables from {documents} documents in {seconds:.2} s"))
}

pub(crate) fn demo(
    replica: &mut Replica,
    command: &DemoCommand,
    output: &mut Output,
) -> Result<()> {
    let DemoCommand::Generate { clients, visits, invoices, seed, today } = *command else {
        bail!("`demo tour` runs without a replica");
    };
    let started = Instant::now();
    let mut progress = StepProgress::start("generating clients", clients, output.json);
    let config = demo_data::DemoConfig {
        clients,
        visits,
        invoices,
        today: today.unwrap_or_else(super::today),
        seed,
        now_ms: chrono::Utc::now().timestamp_millis(),
    };
    let report = demo_data::generate(replica, &config, |done| progress.set(done))?;
    progress.finish();
    let seconds = started.elapsed().as_secs_f64();
    if output.json {
        return output.json(&json!({
            "clients": report.clients,
            "units": report.units,
            "visits": report.visits,
            "invoices": report.invoices,
            "groups": report.groups,
            "seed": seed,
            "seconds": seconds,
        }));
    }
    output.line(format!(
        "Generated {} clients with {} units, {} visits and {} invoices in {} groups (seed {seed}) in {seconds:.1} s",
        report.clients, report.units, report.visits, report.invoices, report.groups
    ))
}
