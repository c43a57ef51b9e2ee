//! Turning what a user types into ids, and small listings: groups and the
//! replica's status.
//!
//! Clients, units and entries can be named by a prefix of their id (at least four
//! hex digits, as tables show eight) or by their exact name; an ambiguous reference
//! is an error that lists the candidates, never a guess.

use domain::{ClientId, EntryId, GroupId, UnitId, sort_key};
use rusqlite::params;
use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::replica::Replica;

/// Which list of a client an entry reference points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryList {
    /// Contact persons of the client (not of its units).
    Contacts,
    /// Phones, e-mails and web addresses.
    Channels,
    /// Bank accounts.
    BankAccounts,
}

/// A client group with its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupRow {
    /// Group id.
    pub id: String,
    /// Short id.
    pub short_id: String,
    /// Name.
    pub name: String,
    /// Clients in the group (archived included).
    pub clients: i64,
}

/// What the replica holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicaStatus {
    /// Workspace id.
    pub workspace_id: String,
    /// Company name.
    pub workspace_name: String,
    /// This device's id.
    pub device_id: String,
    /// This device's name.
    pub device_name: String,
    /// Stored documents.
    pub documents: i64,
    /// Clients, archived included.
    pub clients: i64,
    /// Archived clients.
    pub archived_clients: i64,
    /// Units.
    pub units: i64,
    /// Conflicted fields.
    pub conflicts: i64,
}

impl Replica {
    /// Finds a client by id prefix, exact (folded) name, or, failing both, a
    /// catalog search that finds exactly one client ("kiploks" for "Ķiploks SIA").
    pub fn resolve_client(&self, reference: &str) -> Result<ClientId> {
        let mut matches = self.match_reference(
            "SELECT id, display_name FROM clients WHERE id GLOB ?1 LIMIT 6",
            "SELECT id, display_name FROM clients WHERE sort_key = ?1 LIMIT 6",
            None,
            reference,
        )?;
        if matches.is_empty() {
            let query = crate::CatalogQuery {
                text: reference.to_owned(),
                archive: crate::ArchiveFilter::All,
                limit: Some(6),
                ..crate::CatalogQuery::default()
            };
            self.catalog_each(&query, |row| matches.push((row.id, row.name)))?;
        }
        let id = pick("client", reference, matches, "")?;
        id.parse().map_err(|_| not_found("client", reference, ""))
    }

    /// Finds a unit of a client by id prefix or exact name.
    pub fn resolve_unit(&self, client_id: ClientId, reference: &str) -> Result<UnitId> {
        let matches = self.match_reference(
            "SELECT id, name FROM units WHERE client_id = ?2 AND id GLOB ?1 LIMIT 6",
            "SELECT id, name FROM units WHERE client_id = ?2 AND lower(name) = lower(?3) LIMIT 6",
            Some(&client_id.to_string()),
            reference,
        )?;
        let matches =
            if matches.is_empty() { self.units_by_words(client_id, reference)? } else { matches };
        let id = pick("unit", reference, matches, "; the client card lists its units")?;
        id.parse().map_err(|_| not_found("unit", reference, ""))
    }

    /// A client's units whose name has words starting with every word typed, as
    /// the catalog matches clients ("vecr" finds "Restorāns Vecrīga").
    fn units_by_words(
        &self,
        client_id: ClientId,
        reference: &str,
    ) -> Result<Vec<(String, String)>> {
        let typed = domain::fold_for_search(reference);
        let typed: Vec<&str> = typed.split_whitespace().collect();
        if typed.is_empty() {
            return Ok(Vec::new());
        }
        let units: Vec<(String, String)> = self
            .conn
            .prepare_cached("SELECT id, name FROM units WHERE client_id = ?1")?
            .query_map([client_id.to_string()], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(units
            .into_iter()
            .filter(|(_, name)| {
                let folded = domain::fold_for_search(name);
                let words: Vec<&str> = folded.split(|c: char| !c.is_alphanumeric()).collect();
                typed.iter().all(|word| words.iter().any(|candidate| candidate.starts_with(word)))
            })
            .collect())
    }

    /// Finds an entry of a client's list by id prefix or by its value (a phone
    /// number, an e-mail, an IBAN, a contact's name).
    pub fn resolve_entry(
        &self,
        client_id: ClientId,
        list: EntryList,
        reference: &str,
    ) -> Result<EntryId> {
        let (by_id, by_value, what) = match list {
            EntryList::Contacts => (
                "SELECT id, name FROM contacts WHERE client_id = ?2 AND unit_id IS NULL AND id GLOB ?1 LIMIT 6",
                "SELECT id, name FROM contacts WHERE client_id = ?2 AND unit_id IS NULL AND lower(name) = lower(?3) LIMIT 6",
                "contact",
            ),
            EntryList::Channels => (
                "SELECT id, value FROM channels WHERE client_id = ?2 AND id GLOB ?1 LIMIT 6",
                "SELECT id, value FROM channels WHERE client_id = ?2 AND lower(value) = lower(?3) LIMIT 6",
                "phone, e-mail or web entry",
            ),
            EntryList::BankAccounts => (
                "SELECT id, iban FROM bank_accounts WHERE client_id = ?2 AND id GLOB ?1 LIMIT 6",
                "SELECT id, iban FROM bank_accounts WHERE client_id = ?2 AND iban = upper(replace(?3, ' ', '')) LIMIT 6",
                "bank account",
            ),
        };
        let matches =
            self.match_reference(by_id, by_value, Some(&client_id.to_string()), reference)?;
        let id = pick(what, reference, matches, "; the client card lists them")?;
        id.parse().map_err(|_| not_found(what, reference, ""))
    }

    /// Finds a group by id prefix or exact (folded) name.
    pub fn resolve_group(&self, reference: &str) -> Result<GroupId> {
        let matches = self.match_reference(
            "SELECT id, name FROM groups WHERE id GLOB ?1 LIMIT 6",
            "SELECT id, name FROM groups WHERE sort_key = ?1 LIMIT 6",
            None,
            reference,
        )?;
        let id = pick("group", reference, matches, "")?;
        id.parse().map_err(|_| not_found("group", reference, ""))
    }

    /// Every client group with the number of its clients, by name.
    pub fn groups(&self) -> Result<Vec<GroupRow>> {
        let mut statement = self.conn.prepare_cached(
            "SELECT g.id, g.name, (SELECT count(*) FROM clients c WHERE c.group_id = g.id)
             FROM groups g ORDER BY g.sort_key, g.id",
        )?;
        let rows = statement.query_map([], |row| {
            let id: String = row.get(0)?;
            Ok(GroupRow {
                short_id: crate::modules::clients::catalog::short_id(&id),
                id,
                name: row.get(1)?,
                clients: row.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The company details of the workspace, by key.
    pub fn company_details(&self) -> Result<std::collections::BTreeMap<String, String>> {
        let mut statement =
            self.conn.prepare_cached("SELECT key, value FROM company ORDER BY key")?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Counts of what the replica holds.
    pub fn status(&self) -> Result<ReplicaStatus> {
        let count =
            |sql: &str| -> Result<i64> { Ok(self.conn.query_row(sql, [], |row| row.get(0))?) };
        let meta = self.meta();
        Ok(ReplicaStatus {
            workspace_id: meta.workspace_id.to_string(),
            workspace_name: self
                .conn
                .query_row("SELECT value FROM company WHERE key = 'name'", [], |row| row.get(0))
                .unwrap_or_default(),
            device_id: meta.device_id.to_string(),
            device_name: meta.device_name.clone(),
            documents: count("SELECT count(*) FROM doc_store")?,
            clients: count("SELECT count(*) FROM clients")?,
            archived_clients: count("SELECT count(*) FROM clients WHERE archived = 1")?,
            units: count("SELECT count(*) FROM units")?,
            conflicts: count("SELECT count(*) FROM conflicts")?,
        })
    }

    /// Runs the by-id query (with a GLOB pattern of the id prefix as ?1) and, when it finds nothing,
    /// the by-name query (?1 folded name, ?3 the reference as typed); ?2 is `scope`.
    fn match_reference(
        &self,
        by_id: &str,
        by_name: &str,
        scope: Option<&str>,
        reference: &str,
    ) -> Result<Vec<(String, String)>> {
        let reference = reference.trim();
        let run = |sql: &str, first: &str| -> Result<Vec<(String, String)>> {
            let mut statement = self.conn.prepare_cached(sql)?;
            let parameter_count = statement.parameter_count();
            let rows = match parameter_count {
                1 => statement
                    .query_map([first], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?,
                2 => statement
                    .query_map(params![first, scope], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?,
                _ => statement
                    .query_map(params![first, scope, reference], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?,
            };
            Ok(rows)
        };
        if let Some(pattern) = id_glob(reference) {
            let found = run(by_id, &pattern)?;
            if !found.is_empty() {
                return Ok(found);
            }
        }
        run(by_name, &sort_key(reference))
    }
}

/// A GLOB pattern for an id typed as a hex prefix (`0192e4c87b1a` →
/// `0192e4c8-7b1a*`), or `None` if the text cannot be one (under 4 or over 32
/// hex digits). Ids are stored hyphenated (8-4-4-4-12); laying the typed hex out
/// the same way, bound as a parameter with a literal prefix, lets SQLite scan the
/// id index (`?1 || '*'` would scan every row).
pub(crate) fn id_glob(reference: &str) -> Option<String> {
    let hex: String =
        reference.trim().chars().filter(|c| *c != '-').collect::<String>().to_lowercase();
    if hex.len() < 4 || hex.len() > 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut pattern = String::with_capacity(hex.len() + 5);
    for (index, c) in hex.chars().enumerate() {
        if matches!(index, 8 | 12 | 16 | 20) {
            pattern.push('-');
        }
        pattern.push(c);
    }
    pattern.push('*');
    Some(pattern)
}

fn pick(
    what: &'static str,
    reference: &str,
    matches: Vec<(String, String)>,
    hint: &str,
) -> Result<String> {
    match matches.len() {
        0 => Err(not_found(what, reference, hint)),
        1 => Ok(matches.into_iter().next().map(|(id, _)| id).unwrap_or_default()),
        count => Err(StoreError::Ambiguous {
            what,
            reference: reference.to_owned(),
            count,
            candidates: matches
                .iter()
                .map(|(id, name)| {
                    format!("{} {name}", crate::modules::clients::catalog::short_id(id))
                })
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

fn not_found(what: &'static str, reference: &str, hint: &str) -> StoreError {
    StoreError::NotFound { what, reference: reference.to_owned(), hint: hint.to_owned() }
}
