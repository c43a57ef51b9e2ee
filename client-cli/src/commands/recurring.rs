//! `recurring …` and `generate`: recurring invoices.

use ::billing::money::format_minor;
use ::billing::recurring::Period;
use anyhow::{Context, Result};
use replica_store::{NewTemplate, Replica};
use serde_json::json;

use crate::cli::billing::{GenerateArgs, RecurringCommand};
use crate::commands::billing::billed;
use crate::commands::today;
use crate::output::Output;

pub(crate) fn recurring(
    replica: &mut Replica,
    command: RecurringCommand,
    output: &mut Output,
) -> Result<()> {
    match command {
        RecurringCommand::Add(args) => {
            let billed = billed(replica, &args.billed)?;
            let client_id = billed.client_id;
            let template = NewTemplate {
                client_id,
                unit_id: billed.unit_id,
                period: Period::parse(&args.period).with_context(|| {
                    format!("unknown period {:?}; use monthly, quarterly or yearly", args.period)
                })?,
                day: args.day,
                start: args.start,
                end: args.end,
                terms_days: args.due_in,
                currency: billed.currency,
                note: args.note,
                lines: billed.lines,
            };
            let code = replica.add_template(&template)?;
            let views = replica.templates(Some(client_id), today())?;
            let view = views
                .iter()
                .find(|view| view.code == code)
                .context("the new template is not listed")?;
            if output.json {
                return output.json(view);
            }
            output.line(format!(
                "Template {code}: {} {} {} {}, next on {}",
                view.period,
                view.client_name,
                format_minor(view.gross_minor),
                view.currency,
                view.next_date.as_deref().unwrap_or("(never)")
            ))
        }
        RecurringCommand::End { code, on } => {
            replica.end_template(&code, on)?;
            if output.json {
                return output.json(&json!({ "code": code, "end": on }));
            }
            output.line(format!("Template {code} ends on {on}"))
        }
        RecurringCommand::List { client, as_of } => {
            let client =
                client.as_deref().map(|client| replica.resolve_client(client)).transpose()?;
            let views = replica.templates(client, as_of.unwrap_or_else(today))?;
            if output.json {
                return output.json(&views);
            }
            let mut table = output.table(&[
                "CODE",
                "CLIENT",
                "UNIT",
                "PERIOD",
                "DAY",
                "FROM",
                "UNTIL",
                "GROSS",
                "NEXT",
                "NOT YET ISSUED",
                "ISSUED",
            ])?;
            for view in &views {
                table.row([
                    view.code.clone(),
                    view.client_name.clone(),
                    view.unit_name.clone(),
                    view.period.clone(),
                    view.day.to_string(),
                    view.start.clone(),
                    view.end.clone().unwrap_or_default(),
                    format!("{} {}", format_minor(view.gross_minor), view.currency),
                    view.next_date.clone().unwrap_or_default(),
                    view.overdue_date.clone().unwrap_or_default(),
                    view.generated.to_string(),
                ])?;
            }
            table.finish()?;
            output.line(format!("{} templates", views.len()))
        }
    }
}

pub(crate) fn generate(
    replica: &mut Replica,
    args: &GenerateArgs,
    output: &mut Output,
) -> Result<()> {
    let client = args.client.as_deref().map(|client| replica.resolve_client(client)).transpose()?;
    let issued = replica.generate_recurring(args.until, client, args.dry_run)?;
    if output.json {
        return output.json(&issued);
    }
    let mut table = output.table(&["NUMBER", "TEMPLATE", "CLIENT", "ISSUED", "GROSS"])?;
    for invoice in &issued {
        table.row([
            invoice.number.clone(),
            invoice.template.clone(),
            invoice.client_name.clone(),
            invoice.issue_date.clone(),
            format!("{} {}", format_minor(invoice.gross_minor), invoice.currency),
        ])?;
    }
    table.finish()?;
    output.line(format!(
        "{}{} recurring invoices up to {}",
        if args.dry_run { "Would issue " } else { "Issued " },
        issued.len(),
        args.until
    ))
}
