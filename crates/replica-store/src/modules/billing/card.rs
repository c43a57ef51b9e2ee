//! The billing part of the client card: turnover, balances, payment behaviour,
//! recent invoices, recurring templates and the dunning history, with the
//! commands that open the full lists.

use std::collections::BTreeMap;

use billing::behaviour::{InvoiceHistory, PaymentBehaviour, payment_behaviour};
use chrono::NaiveDate;
use domain::ClientId;
use rusqlite::OptionalExtension;
use serde::Serialize;

use crate::error::Result;
use crate::modules::billing::invoice_queries::{InvoiceQuery, InvoiceRow, InvoiceSort, NoticeView};
use crate::modules::billing::recurring::TemplateView;
use crate::replica::Replica;

/// Invoices shown on the card; the rest are one command away.
const RECENT_INVOICES: usize = 10;
/// Notices shown on the card.
const RECENT_NOTICES: usize = 10;

/// A client's account in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrencyAccount {
    /// ISO code.
    pub currency: String,
    /// Net turnover (issued invoices less credit notes) per issue year, newest first.
    pub turnover_by_year: Vec<YearTurnover>,
    /// Net turnover in all years.
    pub turnover_total_minor: i64,
    /// Everything open: principal, dunning costs and interest.
    pub open_minor: i64,
    /// Of that, on invoices past their due date.
    pub overdue_minor: i64,
    /// Overpayments held as the client's credit.
    pub credit_minor: i64,
}

/// Turnover in one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct YearTurnover {
    /// The year.
    pub year: i32,
    /// Net turnover.
    pub net_minor: i64,
    /// Invoices and credit notes issued.
    pub documents: i64,
}

/// The billing sections of the client card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountSummary {
    /// Per currency the client was invoiced in.
    pub currencies: Vec<CurrencyAccount>,
    /// How the client pays.
    pub behaviour: PaymentBehaviour,
    /// Issued invoices and credit notes, and drafts.
    pub invoices: i64,
    /// The latest invoices.
    pub recent_invoices: Vec<InvoiceRow>,
    /// The full list.
    pub invoice_list_command: String,
    /// This year's statement of account.
    pub statement_command: String,
    /// Recurring templates with their next date.
    pub templates: Vec<TemplateView>,
    /// The client's dunning policy ('' for the workspace default).
    pub dunning_policy: String,
    /// A dunning block on the client: reason and last day.
    pub dunning_block: Option<(String, String)>,
    /// The latest notices, newest first.
    pub notices: Vec<NoticeView>,
    /// All notices.
    pub notice_count: i64,
}

impl Replica {
    /// The billing sections of a client's card as of `today`.
    pub fn account_summary(&self, client_id: ClientId, today: NaiveDate) -> Result<AccountSummary> {
        let id = client_id.to_string();
        let short = crate::modules::clients::catalog::short_id(&id);
        let today_text = today.to_string();

        let mut by_currency: BTreeMap<String, CurrencyAccount> = BTreeMap::new();
        let turnover = self
            .conn
            .prepare_cached(
                "SELECT currency, CAST(substr(issue_date, 1, 4) AS INTEGER), SUM(net_minor), COUNT(*)
                 FROM invoices WHERE client_id = ?1 AND status = 'issued'
                 GROUP BY 1, 2 ORDER BY 1, 2 DESC",
            )?
            .query_map([&id], |row| {
                Ok((row.get::<_, String>(0)?, YearTurnover {
                    year: row.get(1)?,
                    net_minor: row.get(2)?,
                    documents: row.get(3)?,
                }))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (currency, year) in turnover {
            let account =
                by_currency.entry(currency.clone()).or_insert_with(|| empty_account(currency));
            account.turnover_total_minor += year.net_minor;
            account.turnover_by_year.push(year);
        }
        let balances = self
            .conn
            .prepare_cached(
                "SELECT currency,
                        SUM(open_minor + costs_open_minor + interest_open_minor),
                        SUM(CASE WHEN due_date < ?2 THEN open_minor + costs_open_minor + interest_open_minor ELSE 0 END),
                        SUM(credit_minor)
                 FROM invoices WHERE client_id = ?1 AND status = 'issued' GROUP BY currency",
            )?
            .query_map([&id, &today_text], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?, row.get::<_, i64>(3)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (currency, open, overdue, credit) in balances {
            let account =
                by_currency.entry(currency.clone()).or_insert_with(|| empty_account(currency));
            account.open_minor = open;
            account.overdue_minor = overdue;
            account.credit_minor = credit;
        }

        let history = self
            .conn
            .prepare_cached(
                "SELECT gross_minor - credited_minor, due_date, settled_on FROM invoices
                 WHERE client_id = ?1 AND status = 'issued' AND kind = 'invoice'",
            )?
            .query_map([&id], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter_map(|(gross_minor, due, settled)| {
                Some(InvoiceHistory {
                    gross_minor,
                    due: due.parse().ok()?,
                    paid_on: settled.and_then(|day| day.parse().ok()),
                })
            })
            .collect::<Vec<_>>();
        let behaviour = payment_behaviour(&history, today);

        let invoices: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM invoices WHERE client_id = ?1",
            [&id],
            |row| row.get(0),
        )?;
        let recent_invoices = self.invoices(&InvoiceQuery {
            client: Some(client_id),
            unit: None,
            state: None,
            from: None,
            to: None,
            sort: InvoiceSort::Date,
            reverse: false,
            as_of: today,
            limit: Some(RECENT_INVOICES),
        })?;
        let (dunning_policy, dunning_block) = self
            .conn
            .query_row(
                "SELECT policy, block_reason, block_until FROM client_dunning WHERE client_id = ?1",
                [&id],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?
            .map(|(policy, reason, until)| (policy, (!until.is_empty()).then_some((reason, until))))
            .unwrap_or_default();
        let mut notices = self.notices_where("n.client_id = ?1", &id)?;
        let notice_count = i64::try_from(notices.len()).unwrap_or(i64::MAX);
        notices.reverse();
        notices.truncate(RECENT_NOTICES);

        Ok(AccountSummary {
            currencies: by_currency.into_values().collect(),
            behaviour,
            invoices,
            recent_invoices,
            invoice_list_command: format!("kartoteka invoice list --client {short}"),
            statement_command: format!(
                "kartoteka statement {short} --from {}-01-01 --to {today}",
                today.format("%Y")
            ),
            templates: self.templates(Some(client_id), today)?,
            dunning_policy,
            dunning_block,
            notices,
            notice_count,
        })
    }
}

fn empty_account(currency: String) -> CurrencyAccount {
    CurrencyAccount {
        currency,
        turnover_by_year: Vec::new(),
        turnover_total_minor: 0,
        open_minor: 0,
        overdue_minor: 0,
        credit_minor: 0,
    }
}

/// A per-client amount another module's list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientBalance {
    /// Net of issued invoices in the twelve months up to the day.
    Turnover,
    /// What is overdue on the day: open principal, costs and interest.
    Overdue,
}

impl ClientBalance {
    /// A `LEFT JOIN` that gives each row of the joining query its client's
    /// amount as `m.amount` (NULL for none), in one pass over the invoices,
    /// with the values for its `?` placeholders in order. `client_column` is
    /// the joining query's client id column.
    pub(crate) fn join_on_client(
        self,
        client_column: &str,
        currency: &str,
        as_of: NaiveDate,
    ) -> (String, Vec<Box<dyn rusqlite::ToSql>>) {
        match self {
            Self::Turnover => (
                format!(
                    "LEFT JOIN (SELECT client_id, SUM(net_minor) AS amount FROM invoices
                                WHERE currency = ? AND status = 'issued' AND issue_date > ? AND issue_date <= ?
                                GROUP BY client_id) m ON m.client_id = {client_column}"
                ),
                vec![
                    Box::new(currency.to_owned()),
                    Box::new((as_of - chrono::Months::new(12)).to_string()),
                    Box::new(as_of.to_string()),
                ],
            ),
            Self::Overdue => (
                format!(
                    "LEFT JOIN (SELECT client_id, SUM(open_minor + costs_open_minor + interest_open_minor) AS amount
                                FROM invoices INDEXED BY invoices_open
                                WHERE open_minor > 0 AND due_date < ? AND currency = ?
                                GROUP BY client_id) m ON m.client_id = {client_column}"
                ),
                vec![Box::new(as_of.to_string()), Box::new(currency.to_owned())],
            ),
        }
    }
}
