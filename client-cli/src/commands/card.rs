//! Printing the client card as text.

use ::billing::money::format_minor;
use anyhow::Result;
use domain::ClientId;
use replica_store::{ClientCard, Replica};

use crate::output::Output;

pub(crate) fn show(
    replica: &Replica,
    client_id: ClientId,
    as_of: chrono::NaiveDate,
    output: &mut Output,
) -> Result<()> {
    let card = replica.card(client_id, as_of)?;
    if output.json {
        return output.json(&card);
    }
    print_basic(&card, output)?;
    print_units(&card, output)?;
    print_field_work(&card, output)?;
    print_account(&card, output)?;
    print_conflicts(&card, output)
}

fn print_account(card: &ClientCard, output: &mut Output) -> Result<()> {
    let account = &card.account;
    output.line("")?;
    if account.invoices == 0 && account.templates.is_empty() {
        return output.line("Invoices: none yet");
    }
    output.line(format!("Invoices: {}   {}", account.invoices, account.invoice_list_command))?;
    for currency in &account.currencies {
        let years: Vec<String> = currency
            .turnover_by_year
            .iter()
            .map(|year| format!("{} {}", year.year, format_minor(year.net_minor)))
            .collect();
        output.line(format!(
            "  Turnover ({}, net)  total {}   {}",
            currency.currency,
            format_minor(currency.turnover_total_minor),
            years.join(" · ")
        ))?;
        let mut balance = format!(
            "  Open {}   overdue {}",
            format_minor(currency.open_minor),
            format_minor(currency.overdue_minor)
        );
        if currency.credit_minor > 0 {
            balance.push_str(&format!("   client credit {}", format_minor(currency.credit_minor)));
        }
        output.line(balance)?;
    }
    let behaviour = &account.behaviour;
    if behaviour.paid_invoices > 0 {
        let trend = match (behaviour.recent_average_days_late, behaviour.earlier_average_days_late)
        {
            (Some(recent), Some(earlier)) => {
                format!(
                    "; last 12 months {recent:.1} days against {earlier:.1} before ({})",
                    behaviour.trend
                )
            }
            _ => String::new(),
        };
        output.line(format!(
            "  Pays {:.1} days late on average (by amount); {:.0} % of {} paid invoices paid late, longest {} days{trend}",
            behaviour.average_days_late,
            behaviour.share_late_percent,
            behaviour.paid_invoices,
            behaviour.longest_delay_days
        ))?;
    }
    if behaviour.overdue_invoices > 0 {
        output.line(format!(
            "  Unpaid and overdue: {} invoice(s), the oldest {} days past due",
            behaviour.overdue_invoices, behaviour.longest_overdue_days
        ))?;
    }
    output.line(format!("  Statement: {}", account.statement_command))?;
    if !account.recent_invoices.is_empty() {
        let mut table = output.table(&["  NUMBER", "ISSUED", "DUE", "GROSS", "OPEN", "STATE"])?;
        for row in &account.recent_invoices {
            table.row([
                format!("  {}", if row.number.is_empty() { "(draft)" } else { &row.number }),
                row.issue_date.clone(),
                row.due_date.clone(),
                format!("{} {}", format_minor(row.gross_minor), row.currency),
                format_minor(row.open_minor),
                if row.days_overdue > 0 {
                    format!("{} ({} d)", row.state, row.days_overdue)
                } else {
                    row.state.clone()
                },
            ])?;
        }
        table.finish()?;
    }
    if !account.templates.is_empty() {
        output.line("Recurring invoices:")?;
        for template in &account.templates {
            output.line(format!(
                "  {:<12} {:<9} day {:<2} {} {}{}   next {}",
                template.code,
                template.period,
                template.day,
                format_minor(template.gross_minor),
                template.currency,
                if template.unit_name.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", template.unit_name)
                },
                template.next_date.as_deref().unwrap_or("—")
            ))?;
        }
    }
    if let Some((reason, until)) = &account.dunning_block {
        output.line(format!("Dunning blocked until {until}: {reason}"))?;
    }
    if !account.notices.is_empty() {
        output.line(format!(
            "Dunning history: {} notices{}",
            account.notice_count,
            if account.dunning_policy.is_empty() {
                String::new()
            } else {
                format!(" (policy {})", account.dunning_policy)
            }
        ))?;
        for notice in &account.notices {
            output.line(format!(
                "  {}  {:<18} level {} {:<20} letter {}   kartoteka document export {} {} --to .",
                notice.date,
                notice.invoice_number,
                notice.level,
                notice.name,
                &notice.letter_document.chars().take(8).collect::<String>(),
                card.short_id,
                &notice.letter_document.chars().take(8).collect::<String>()
            ))?;
            for sending in notice.sendings.iter().filter(|sending| !sending.charged) {
                let letter = sending.letter_document.chars().take(8).collect::<String>();
                output.line(format!(
                    "  {}  {:<18} level {} also sent by {} (interest {} claimed, charged once on {}) letter {letter}   kartoteka document export {} {letter} --to .",
                    sending.date,
                    notice.invoice_number,
                    notice.level,
                    sending.device,
                    format_minor(sending.interest_minor),
                    notice.date,
                    card.short_id,
                ))?;
            }
        }
    }
    Ok(())
}

fn print_field_work(card: &ClientCard, output: &mut Output) -> Result<()> {
    let field = &card.field;
    output.line("")?;
    match &field.last_visit {
        Some(last) => output.line(format!("Visits: {} (last {last})", field.visits.len()))?,
        None => output.line("Visits: none yet")?,
    }
    for unit in &field.visits_by_unit {
        let name = if unit.unit_name.is_empty() { "(client)" } else { unit.unit_name.as_str() };
        for month in &unit.months {
            output.line(format!(
                "  {name:<28} {}-{:02}  {:>3} visits {:>6.1} h   {}",
                month.year,
                month.month,
                month.visits,
                month.minutes as f64 / 60.0,
                month.list_command
            ))?;
        }
    }
    if !field.galleries.is_empty() {
        output.line("")?;
        output.line("Galleries:")?;
        for gallery in &field.galleries {
            let name =
                if gallery.unit_name.is_empty() { "(client)" } else { gallery.unit_name.as_str() };
            output.line(format!(
                "  {name:<28} {:>4} items   {}",
                gallery.items, gallery.list_command
            ))?;
        }
    }
    if !field.documents.is_empty() {
        output.line("")?;
        output.line("Documents:")?;
        for document in &field.documents {
            output.line(format!(
                "  {}  {}  {}  [{}]   {}",
                document.short_id,
                document.date,
                document.name,
                document.kind,
                document.export_command
            ))?;
        }
    }
    Ok(())
}

fn print_basic(card: &ClientCard, output: &mut Output) -> Result<()> {
    let archived = if card.archived { "  ARCHIVED" } else { "" };
    output
        .line(format!("{}  [{}]  id {}{archived}", card.display_name, card.kind, card.short_id))?;
    let mut lines: Vec<(&str, String)> = Vec::new();
    if card.kind == "person" {
        lines.push(("Name", format!("{} {}", card.first_name, card.last_name).trim().to_owned()));
        lines.push(("Personal code", card.personal_code.clone()));
    }
    lines.push(("Reg. no", card.reg_no.clone()));
    lines.push(("VAT id", card.vat_id.clone()));
    lines.push(("Industry", card.industry.clone()));
    lines.push(("Group", card.group.clone().unwrap_or_default()));
    lines.push(("Address", card.address.one_line()));
    for (kind, label) in [("phone", "Phone"), ("email", "E-mail"), ("web", "Web")] {
        for channel in card.channels.iter().filter(|channel| channel.kind == kind) {
            let suffix = if channel.label.is_empty() {
                String::new()
            } else {
                format!(" ({})", channel.label)
            };
            lines.push((label, format!("{}{suffix}", channel.value)));
        }
    }
    let billing = &card.billing;
    let mut billing_parts = Vec::new();
    if !billing.recipient.is_empty() {
        billing_parts.push(billing.recipient.clone());
    }
    if !billing.address.one_line().is_empty() {
        billing_parts.push(billing.address.one_line());
    }
    if !billing.email.is_empty() {
        billing_parts.push(billing.email.clone());
    }
    if let Some(days) = billing.payment_terms_days {
        billing_parts.push(format!("{days} days"));
    }
    if !billing.currency.is_empty() {
        billing_parts.push(billing.currency.clone());
    }
    lines.push(("Billing", billing_parts.join(" · ")));
    for account in &card.bank_accounts {
        let details: Vec<&str> = [account.bic.as_str(), account.bank_name.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        let details =
            if details.is_empty() { String::new() } else { format!(" ({})", details.join(", ")) };
        lines.push(("Bank account", format!("{}{details}", account.iban)));
    }
    for contact in &card.contacts {
        lines.push((
            "Contact",
            contact_line(&contact.name, &contact.role, &contact.phone, &contact.email),
        ));
    }
    for (key, value) in &card.settings {
        lines.push(("Setting", format!("{key} = {value}")));
    }
    lines.push(("Comments", card.comments.clone()));
    for (label, value) in lines.into_iter().filter(|(_, value)| !value.is_empty()) {
        output.line(format!("  {label:<14}{value}"))?;
    }
    Ok(())
}

fn print_units(card: &ClientCard, output: &mut Output) -> Result<()> {
    let active = card.units.iter().filter(|unit| unit.active).count();
    output.line("")?;
    output.line(format!("Units: {} ({active} active)", card.units.len()))?;
    if card.units.is_empty() {
        return Ok(());
    }
    let mut table = output.table(&["", "ID", "UNIT", "ADDRESS", "PHONE", "STATUS"])?;
    for unit in &card.units {
        let opened = if card.opened_unit.as_deref() == Some(unit.id.as_str()) { "▶" } else { "" };
        let mut status = if unit.active { "active".to_owned() } else { "inactive".to_owned() };
        if unit.main {
            status.push_str(", main");
        }
        table.row([
            opened,
            &unit.short_id,
            &unit.name,
            &unit.address.one_line(),
            &unit.phone,
            &status,
        ])?;
    }
    table.finish()?;
    for unit in card.units.iter().filter(|unit| !unit.contacts.is_empty()) {
        for contact in &unit.contacts {
            output.line(format!(
                "  {} contact: {}",
                unit.name,
                contact_line(&contact.name, &contact.role, &contact.phone, &contact.email)
            ))?;
        }
    }
    Ok(())
}

fn print_conflicts(card: &ClientCard, output: &mut Output) -> Result<()> {
    if card.conflicts.is_empty() {
        return Ok(());
    }
    output.line("")?;
    output.line(format!("Conflicts: {} (edited on two devices at once)", card.conflicts.len()))?;
    for conflict in &card.conflicts {
        output.line(format!("  {}", super::admin::conflict_values(conflict)))?;
    }
    output.line(format!(
        "  Resolve with: kartoteka conflicts {} --resolve FIELD --pick N",
        card.short_id
    ))
}

fn contact_line(name: &str, role: &str, phone: &str, email: &str) -> String {
    [name, role, phone, email]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}
