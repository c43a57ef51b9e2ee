//! The client catalog: full-text prefix search, filters and sorting over the mirror.

use chrono::NaiveDate;
use domain::{GroupId, fold_for_search};
use rusqlite::{ToSql, params_from_iter};
use serde::Serialize;

use crate::error::{Refusal, Result};
use crate::modules::billing::card::ClientBalance;
use crate::replica::Replica;

/// Which clients the catalog shows by archive state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchiveFilter {
    /// Clients that are not archived (the default catalog).
    #[default]
    Active,
    /// Only archived clients.
    Archived,
    /// Everyone.
    All,
}

/// The column the catalog is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CatalogSort {
    /// Display name, folded so that Ā sorts with A.
    #[default]
    Name,
    /// City, then name.
    City,
    /// Registration number or personal code, then name.
    Code,
    /// Start of the latest visit (most recent first unless descending is set;
    /// clients never visited last).
    LastVisit,
    /// Net turnover of the 12 months up to `as_of` in the workspace currency,
    /// largest first.
    Turnover,
    /// Overdue balance on `as_of` in the workspace currency, largest first.
    Overdue,
}

/// A catalog request.
#[derive(Debug, Clone, Default)]
pub struct CatalogQuery {
    /// What the user typed; empty or `*` lists every client. Each word matches as a
    /// prefix of a word in names, codes, contacts, cities or unit names.
    pub text: String,
    /// Only clients in this group.
    pub group: Option<GroupId>,
    /// Archive state filter.
    pub archive: ArchiveFilter,
    /// Sort column.
    pub sort: CatalogSort,
    /// Reverse the order.
    pub descending: bool,
    /// At most this many rows.
    pub limit: Option<usize>,
    /// The day turnover and overdue balances are computed for; required by those
    /// two sorts (the library never reads the clock).
    pub as_of: Option<NaiveDate>,
}

/// One row of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogRow {
    /// Client id.
    pub id: String,
    /// The first eight hex digits of the id, enough to name the client in commands.
    pub short_id: String,
    /// `company` or `person`.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// Registration number, or personal code for a person.
    pub code: String,
    /// VAT id.
    pub vat_id: String,
    /// City of the postal address.
    pub city: String,
    /// Group name, if the client is in a group.
    pub group: Option<String>,
    /// First phone number.
    pub phone: String,
    /// First e-mail address.
    pub email: String,
    /// Number of units (active and inactive).
    pub units: i64,
    /// Whether the client is archived.
    pub archived: bool,
    /// Start (UTC) of the latest visit.
    pub last_visit: Option<String>,
    /// When sorted by turnover: net turnover of the 12 months up to `as_of`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turnover_minor: Option<i64>,
    /// When sorted by overdue balance: the overdue balance on `as_of`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overdue_minor: Option<i64>,
    /// The currency of those amounts (the workspace's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

impl Replica {
    /// Runs a catalog query against the mirror.
    pub fn catalog(&self, query: &CatalogQuery) -> Result<Vec<CatalogRow>> {
        let mut rows = Vec::new();
        self.catalog_each(query, |row| rows.push(row))?;
        Ok(rows)
    }

    /// Runs a catalog query and hands each row to `each` as it is read, so a caller
    /// printing 29,000 clients never holds them all.
    pub fn catalog_each(
        &self,
        query: &CatalogQuery,
        mut each: impl FnMut(CatalogRow),
    ) -> Result<()> {
        let mut params: Vec<Box<dyn ToSql>> = Vec::new();
        // Money columns only when sorting by them: one currency (the workspace's),
        // aggregated per client in one pass over the invoices.
        let (currency, as_of) = match (query.sort, query.as_of) {
            (CatalogSort::Turnover | CatalogSort::Overdue, Some(day)) => {
                (Some(self.default_currency("")?.to_string()), day)
            }
            (CatalogSort::Turnover | CatalogSort::Overdue, None) => {
                return Err(Refusal::BalanceSortWithoutDay.into());
            }
            // Unused by the other sorts.
            (_, day) => (None, day.unwrap_or_default()),
        };
        let balance = match query.sort {
            CatalogSort::Turnover => Some(ClientBalance::Turnover),
            CatalogSort::Overdue => Some(ClientBalance::Overdue),
            _ => None,
        };
        let (money_column, money_join) = match (balance, &currency) {
            (Some(balance), Some(currency)) => {
                let (join, values) = balance.join_on_client("c.id", currency, as_of);
                params.extend(values);
                ("COALESCE(m.amount, 0)", join)
            }
            _ => ("NULL", String::new()),
        };
        let mut sql = format!(
            "SELECT c.id, c.kind, c.display_name,
                    CASE WHEN c.kind = 'person' AND c.reg_no = '' THEN c.personal_code ELSE c.reg_no END,
                    c.vat_id, c.city, g.name, c.primary_phone, c.primary_email, c.unit_count, c.archived,
                    c.last_visit, {money_column}
             FROM clients c LEFT JOIN groups g ON g.id = c.group_id {money_join} WHERE 1 = 1",
        );
        if let Some(fts_query) = fts_query(&query.text) {
            sql.push_str(
                " AND c.rowid IN (SELECT rowid FROM client_search WHERE client_search MATCH ?)",
            );
            params.push(Box::new(fts_query));
        }
        match query.archive {
            ArchiveFilter::Active => sql.push_str(" AND c.archived = 0"),
            ArchiveFilter::Archived => sql.push_str(" AND c.archived = 1"),
            ArchiveFilter::All => {}
        }
        if let Some(group) = query.group {
            sql.push_str(" AND c.group_id = ?");
            params.push(Box::new(group.to_string()));
        }
        let direction = if query.descending { "DESC" } else { "ASC" };
        let order = match query.sort {
            CatalogSort::Name => {
                format!("c.sort_key {direction}, c.display_name {direction}, c.id")
            }
            // Clients without a city (or code) come last in either direction.
            CatalogSort::City => format!("c.city_key = '', c.city_key {direction}, c.sort_key, c.id"),
            CatalogSort::Code => format!(
                "(c.reg_no = '' AND c.personal_code = ''),
                 CASE WHEN c.reg_no = '' THEN c.personal_code ELSE c.reg_no END {direction}, c.sort_key, c.id"
            ),
            // Most recent first reads naturally; `descending` flips it to oldest first.
            CatalogSort::LastVisit => format!(
                "c.last_visit IS NULL, c.last_visit {}, c.sort_key, c.id",
                if query.descending { "ASC" } else { "DESC" }
            ),
            // Largest first reads naturally; `descending` flips it.
            CatalogSort::Turnover | CatalogSort::Overdue => format!(
                "COALESCE(m.amount, 0) {}, c.sort_key, c.id",
                if query.descending { "ASC" } else { "DESC" }
            ),
        };
        sql.push_str(&format!(" ORDER BY {order}"));
        if let Some(limit) = query.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut statement = self.conn.prepare_cached(&sql)?;
        let mut rows = statement.query(params_from_iter(params.iter()))?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            each(CatalogRow {
                short_id: short_id(&id),
                id,
                kind: row.get(1)?,
                name: row.get(2)?,
                code: row.get(3)?,
                vat_id: row.get(4)?,
                city: row.get(5)?,
                group: row.get(6)?,
                phone: row.get(7)?,
                email: row.get(8)?,
                units: row.get(9)?,
                archived: row.get(10)?,
                last_visit: row.get(11)?,
                turnover_minor: if query.sort == CatalogSort::Turnover {
                    row.get(12)?
                } else {
                    None
                },
                overdue_minor: if query.sort == CatalogSort::Overdue { row.get(12)? } else { None },
                currency: currency.clone(),
            });
        }
        Ok(())
    }
}

/// The first eight hex digits of a hyphenated UUID.
pub(crate) fn short_id(id: &str) -> String {
    id.chars().filter(|c| *c != '-').take(8).collect()
}

/// Turns typed text into an FTS5 query: every word must match as a prefix. Words
/// are folded like the indexed text and quoted, so user input can never be FTS
/// syntax. `None` means "everyone".
fn fts_query(text: &str) -> Option<String> {
    let folded = fold_for_search(text);
    let words: Vec<String> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| format!("\"{word}\"*"))
        .collect();
    if words.is_empty() { None } else { Some(words.join(" AND ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_becomes_a_quoted_prefix_query() {
        assert_eq!(fts_query("*"), None);
        assert_eq!(fts_query("  "), None);
        assert_eq!(fts_query("Bērz"), Some("\"berz\"*".to_owned()));
        assert_eq!(fts_query("müller straße"), Some("\"muller\"* AND \"strasse\"*".to_owned()));
        assert_eq!(
            fts_query("anna@example\" OR x"),
            Some("\"anna\"* AND \"example\"* AND \"or\"* AND \"x\"*".to_owned())
        );
    }
}
