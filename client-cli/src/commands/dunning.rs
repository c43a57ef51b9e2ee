//! `dunning …`: runs, policies, base rates and blocks.

use ::billing::dunning::{Block, Level, Policy};
use ::billing::letter::Language;
use ::billing::money::{format_minor, parse_minor};
use anyhow::{Context, Result, bail};
use replica_store::{DunningRun, Replica};
use serde_json::json;

use crate::cli::billing::{BaseRateCommand, BlockArgs, DunningCommand, PolicyCommand};
use crate::commands::today;
use crate::output::Output;

pub(crate) fn run(
    replica: &mut Replica,
    command: DunningCommand,
    output: &mut Output,
) -> Result<()> {
    match command {
        DunningCommand::Run(args) => {
            let run = DunningRun {
                as_of: args.as_of.unwrap_or_else(today),
                dry_run: args.dry_run,
                language: args.language.as_deref().map(str::parse::<Language>).transpose()?,
                pay_within_days: args.pay_within,
            };
            let report = replica.run_dunning(&run, &mut |letter| {
                let html = billing_docs::letters::render(letter)?;
                let client = letter.recipient.get("name").map_or("", String::as_str);
                Ok((billing_docs::letters::file_name(letter, client), html.into_bytes()))
            })?;
            if output.json {
                return output.json(&report);
            }
            let mut table = output.table(&[
                "INVOICE", "CLIENT", "LEVEL", "OPEN", "FEE", "INTEREST", "LUMP SUM", "LANG",
            ])?;
            for notice in &report.notices {
                table.row([
                    notice.number.clone(),
                    notice.client_name.clone(),
                    notice.level_name.clone(),
                    format!("{} {}", format_minor(notice.open_minor), notice.currency),
                    format_minor(notice.fee_minor),
                    format_minor(notice.interest_minor),
                    format_minor(notice.lump_sum_minor),
                    notice.language.to_string(),
                ])?;
            }
            table.finish()?;
            output.line(format!(
                "{}{} notices in {} letters on {}; {} overdue invoices, {} blocked",
                if report.dry_run { "Dry run: would create " } else { "" },
                report.notices.len(),
                report.letters,
                report.as_of,
                report.overdue,
                report.blocked
            ))
        }
        DunningCommand::Policy(PolicyCommand::List) => {
            let policies = replica.dunning_policies()?;
            if output.json {
                return output.json(&policies);
            }
            for view in &policies {
                output.line(format!(
                    "{}{}{}{}",
                    view.policy.name,
                    if view.default { " (default)" } else { "" },
                    if view.built_in { " (built in)" } else { "" },
                    if view.policy.lump_sum { ", €40 lump sum for businesses" } else { "" }
                ))?;
                let mut table = output.table(&[
                    "  LEVEL",
                    "DAYS AFTER DUE",
                    "DAYS AFTER PREVIOUS",
                    "FEE",
                    "INTEREST",
                ])?;
                for level in &view.policy.levels {
                    table.row([
                        format!("  {}", level.name),
                        level.days_after_due.to_string(),
                        level.min_days_after_previous.to_string(),
                        format_minor(level.fee_minor),
                        if level.interest { "yes".to_owned() } else { "no".to_owned() },
                    ])?;
                }
                table.finish()?;
            }
            Ok(())
        }
        DunningCommand::Policy(PolicyCommand::Set { name, levels, lump_sum, default }) => {
            let levels =
                levels.iter().map(|level| level.parse::<Level>()).collect::<Result<Vec<_>, _>>()?;
            let policy = Policy { name, levels, lump_sum };
            replica.set_dunning_policy(&policy, default)?;
            if output.json {
                return output.json(&policy);
            }
            output.line(format!("Saved policy {} with {} levels", policy.name, policy.levels.len()))
        }
        DunningCommand::BaseRate(BaseRateCommand::List) => {
            let rates = replica.base_rates()?;
            if output.json {
                return output.json(&rates);
            }
            let mut table = output.table(&["FROM", "RATE %", "SOURCE"])?;
            for rate in &rates {
                table.row([
                    rate.from.to_string(),
                    format_minor(i64::from(rate.rate_bp)),
                    rate.source.to_owned(),
                ])?;
            }
            table.finish()
        }
        DunningCommand::BaseRate(BaseRateCommand::Set { from, percent }) => {
            let rate_bp = i32::try_from(parse_minor(percent.trim_end_matches('%'))?)
                .with_context(|| format!("{percent} is not a plausible rate"))?;
            replica.set_base_rate(from, rate_bp)?;
            if output.json {
                return output.json(&json!({ "from": from, "rate_bp": rate_bp }));
            }
            output.line(format!("Base rate from {from}: {} %", format_minor(i64::from(rate_bp))))
        }
        DunningCommand::Client(args) => {
            let client_id = replica.resolve_client(&args.client)?;
            if args.policy.is_none()
                && !args.default_policy
                && args.block.block.is_none()
                && !args.block.unblock
            {
                bail!(
                    "say what to change: --policy NAME, --default-policy, --block REASON --until DATE, or --unblock"
                );
            }
            if let Some(policy) = &args.policy {
                replica.set_client_policy(client_id, Some(policy))?;
            } else if args.default_policy {
                replica.set_client_policy(client_id, None)?;
            }
            if let Some(block) = block(&args.block) {
                replica.set_client_dunning_block(client_id, block.as_ref())?;
            }
            confirm(output, "client", &args.client, &args.block)
        }
        DunningCommand::Invoice(args) => {
            let invoice_id = replica.resolve_invoice(&args.invoice)?;
            let Some(block) = block(&args.block) else {
                bail!("say what to change: --block REASON --until DATE, or --unblock");
            };
            replica.set_invoice_dunning_block(invoice_id, block.as_ref())?;
            confirm(output, "invoice", &args.invoice, &args.block)
        }
    }
}

/// `Some(Some(block))` to block, `Some(None)` to unblock, `None` to leave alone.
fn block(args: &BlockArgs) -> Option<Option<Block>> {
    if args.unblock {
        return Some(None);
    }
    match (&args.block, args.until) {
        (Some(reason), Some(until)) => Some(Some(Block { reason: reason.clone(), until })),
        _ => None,
    }
}

fn confirm(output: &mut Output, what: &str, reference: &str, args: &BlockArgs) -> Result<()> {
    if output.json {
        return output
            .json(&json!({ what: reference, "blocked_until": args.until, "reason": args.block }));
    }
    match (&args.block, args.until) {
        (Some(reason), Some(until)) => {
            output.line(format!("Dunning of {what} {reference} blocked until {until}: {reason}"))
        }
        _ if args.unblock => output.line(format!("Dunning of {what} {reference} unblocked")),
        _ => output.line(format!("Dunning settings of {what} {reference} saved")),
    }
}
