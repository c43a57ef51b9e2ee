//! Field-work queries: the visits module, galleries and client documents, and
//! the card sections they fill.

use chrono::{Datelike, NaiveDate};
use domain::{ClientDocumentId, ClientId, GalleryItemId, UnitId, VisitId};
use rusqlite::{ToSql, params, params_from_iter};
use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::modules::clients::catalog::short_id;
use crate::replica::Replica;

/// Filters of the visit list. Visits are listed by start time.
#[derive(Debug, Clone, Default)]
pub struct VisitQuery {
    /// Only this client's visits.
    pub client: Option<ClientId>,
    /// Only visits at this unit.
    pub unit: Option<UnitId>,
    /// Only this technician's visits.
    pub technician: Option<String>,
    /// From this local date on.
    pub from: Option<NaiveDate>,
    /// Up to and including this local date.
    pub to: Option<NaiveDate>,
    /// Only this (year, month) of the local start.
    pub month: Option<(i32, u32)>,
}

/// A visit in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitRow {
    /// Visit id.
    pub id: String,
    /// Short id.
    pub short_id: String,
    /// Client id.
    pub client_id: String,
    /// Client name.
    pub client_name: String,
    /// Unit id ('' for the client itself).
    pub unit_id: String,
    /// Unit name.
    pub unit_name: String,
    /// Start with the recorded offset (RFC 3339).
    pub start: String,
    /// End with the recorded offset (RFC 3339).
    pub end: String,
    /// Duration in minutes.
    pub minutes: i64,
    /// Technician.
    pub technician: String,
    /// scheduled, unscheduled or breakdown.
    pub kind: String,
    /// planned, done or partly_done.
    pub status: String,
    /// Notes.
    pub notes: String,
    /// Photos and files attached (`file_count`, so that `VisitDetail`, which
    /// flattens the row, can list them as `files`).
    pub file_count: i64,
}

/// A line of work of a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkItemView {
    /// What was done.
    pub description: String,
    /// How much.
    pub quantity: String,
    /// Of what.
    pub unit: String,
}

/// A visit with its work items and files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitDetail {
    /// The visit.
    #[serde(flatten)]
    pub visit: VisitRow,
    /// Work done.
    pub items: Vec<WorkItemView>,
    /// Photos and files.
    pub files: Vec<GalleryRow>,
}

/// A gallery item in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GalleryRow {
    /// Item id.
    pub id: String,
    /// Short id.
    pub short_id: String,
    /// Unit id ('' for the client's own gallery).
    pub unit_id: String,
    /// Unit name.
    pub unit_name: String,
    /// Visit id, if the item belongs to one.
    pub visit_id: String,
    /// File name.
    pub name: String,
    /// Media type.
    pub media_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Caption.
    pub caption: String,
    /// When taken (EXIF).
    pub taken_at: String,
    /// Who added it.
    pub added_by: String,
    /// blake3 of the file.
    pub hash: String,
    /// blake3 of the thumbnail ('' if none).
    pub thumb_hash: String,
}

/// A client document in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentRow {
    /// Document id.
    pub id: String,
    /// Short id.
    pub short_id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Date.
    pub date: String,
    /// Unit name, if it concerns a unit.
    pub unit_name: String,
    /// Invoice it belongs to.
    pub invoice_id: String,
    /// Visit it belongs to.
    pub visit_id: String,
    /// Media type.
    pub media_type: String,
    /// Size in bytes.
    pub size: i64,
    /// blake3 of the file.
    pub hash: String,
    /// How to get the file out.
    pub export_command: String,
}

/// Visits at one unit in one month, on the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthSummary {
    /// Year.
    pub year: i32,
    /// Month (1–12).
    pub month: u32,
    /// Number of visits.
    pub visits: i64,
    /// Time on site in minutes.
    pub minutes: i64,
    /// The command that lists these visits.
    pub list_command: String,
}

/// A unit's visits by month, on the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitVisits {
    /// Unit id ('' for visits at the client itself).
    pub unit_id: String,
    /// Unit name.
    pub unit_name: String,
    /// The last 12 months that had visits, newest first.
    pub months: Vec<MonthSummary>,
}

/// A unit's gallery, on the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GallerySummary {
    /// Unit id ('' for the client's own gallery).
    pub unit_id: String,
    /// Unit name.
    pub unit_name: String,
    /// Number of items.
    pub items: i64,
    /// The command that lists them.
    pub list_command: String,
}

/// The card's field-work sections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldSections {
    /// Start of the latest visit.
    pub last_visit: Option<String>,
    /// Per unit, visits by month over the 12 months up to the card's date.
    pub visits_by_unit: Vec<UnitVisits>,
    /// All visits, newest first.
    pub visits: Vec<VisitRow>,
    /// Galleries, one per unit that has items.
    pub galleries: Vec<GallerySummary>,
    /// All documents, newest first.
    pub documents: Vec<DocumentRow>,
}

const VISIT_COLUMNS: &str =
    "v.id, v.client_id, c.display_name, v.unit_id, COALESCE(u.name, ''), v.start_local,
    v.end_local, v.minutes, v.technician, v.kind, v.status, v.notes,
    (SELECT count(*) FROM gallery g WHERE g.visit_id = v.id)";

const GALLERY_COLUMNS: &str =
    "g.id, g.unit_id, COALESCE(u.name, ''), g.visit_id, g.name, g.media_type, g.size, g.caption,
    g.taken_at, g.added_by, g.hash, g.thumb_hash";

impl Replica {
    /// The visit list.
    pub fn visits(&self, query: &VisitQuery) -> Result<Vec<VisitRow>> {
        let mut sql = format!(
            "SELECT {VISIT_COLUMNS} FROM visits v JOIN client_directory c ON c.id = v.client_id
             LEFT JOIN unit_directory u ON u.id = v.unit_id WHERE 1 = 1"
        );
        let mut values: Vec<Box<dyn ToSql>> = Vec::new();
        if let Some(client) = query.client {
            sql.push_str(" AND v.client_id = ?");
            values.push(Box::new(client.to_string()));
        }
        if let Some(unit) = query.unit {
            sql.push_str(" AND v.unit_id = ?");
            values.push(Box::new(unit.to_string()));
        }
        if let Some(technician) = &query.technician {
            sql.push_str(" AND lower(v.technician) = lower(?)");
            values.push(Box::new(technician.clone()));
        }
        if let Some(from) = query.from {
            sql.push_str(" AND substr(v.start_local, 1, 10) >= ?");
            values.push(Box::new(from.to_string()));
        }
        if let Some(to) = query.to {
            sql.push_str(" AND substr(v.start_local, 1, 10) <= ?");
            values.push(Box::new(to.to_string()));
        }
        if let Some((year, month)) = query.month {
            sql.push_str(" AND v.year = ? AND v.month = ?");
            values.push(Box::new(year));
            values.push(Box::new(month));
        }
        sql.push_str(" ORDER BY v.start_utc, v.id");
        let mut statement = self.conn.prepare_cached(&sql)?;
        let rows = statement.query_map(params_from_iter(values.iter()), visit_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One visit with its items and files.
    pub fn visit(&self, visit_id: VisitId) -> Result<VisitDetail> {
        let id = visit_id.to_string();
        let visit = self
            .conn
            .prepare_cached(&format!(
                "SELECT {VISIT_COLUMNS} FROM visits v JOIN client_directory c ON c.id = v.client_id
                 LEFT JOIN unit_directory u ON u.id = v.unit_id WHERE v.id = ?1"
            ))?
            .query_row([&id], visit_row)
            .map_err(|_| StoreError::NotFound {
                what: "visit",
                reference: id.clone(),
                hint: String::new(),
            })?;
        let items = self
            .conn
            .prepare_cached("SELECT description, quantity, unit FROM visit_items WHERE visit_id = ?1 ORDER BY position")?
            .query_map([&id], |row| {
                Ok(WorkItemView { description: row.get(0)?, quantity: row.get(1)?, unit: row.get(2)? })
            })?
            .collect::<Result<_, _>>()?;
        let files = self.gallery_where("g.visit_id = ?1", &[&id])?;
        Ok(VisitDetail { visit, items, files })
    }

    /// A client's gallery items: of one unit (`Some("")` for the client's own
    /// gallery), of one visit, or all.
    pub fn gallery(
        &self,
        client_id: ClientId,
        unit: Option<Option<UnitId>>,
        visit: Option<VisitId>,
    ) -> Result<Vec<GalleryRow>> {
        let client = client_id.to_string();
        let unit = unit.map(|unit| unit.map(|id| id.to_string()).unwrap_or_default());
        let visit = visit.map(|id| id.to_string());
        self.gallery_where(
            "g.client_id = ?1 AND (?2 IS NULL OR g.unit_id = ?2) AND (?3 IS NULL OR g.visit_id = ?3)",
            &[&client, &unit, &visit],
        )
    }

    fn gallery_where(&self, condition: &str, values: &[&dyn ToSql]) -> Result<Vec<GalleryRow>> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {GALLERY_COLUMNS} FROM gallery g LEFT JOIN unit_directory u ON u.id = g.unit_id
             WHERE {condition} ORDER BY g.unit_id, g.added_at"
        ))?;
        let rows = statement.query_map(values, |row| {
            let id: String = row.get(0)?;
            Ok(GalleryRow {
                short_id: short_id(&id),
                id,
                unit_id: row.get(1)?,
                unit_name: row.get(2)?,
                visit_id: row.get(3)?,
                name: row.get(4)?,
                media_type: row.get(5)?,
                size: row.get(6)?,
                caption: row.get(7)?,
                taken_at: row.get(8)?,
                added_by: row.get(9)?,
                hash: row.get(10)?,
                thumb_hash: row.get(11)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A client's documents, newest first.
    pub fn client_documents(&self, client_id: ClientId) -> Result<Vec<DocumentRow>> {
        let client = client_id.to_string();
        let mut statement = self.conn.prepare_cached(
            "SELECT d.id, d.name, d.kind, d.date, COALESCE(u.name, ''), d.invoice_id, d.visit_id, d.media_type,
                    d.size, d.hash
             FROM client_documents d LEFT JOIN unit_directory u ON u.id = d.unit_id
             WHERE d.client_id = ?1 ORDER BY d.date DESC, d.name, d.id",
        )?;
        let rows = statement.query_map([&client], |row| {
            let id: String = row.get(0)?;
            Ok(DocumentRow {
                short_id: short_id(&id),
                export_command: format!(
                    "kartoteka document export {} {} --to .",
                    short_id(&client),
                    short_id(&id)
                ),
                id,
                name: row.get(1)?,
                kind: row.get(2)?,
                date: row.get(3)?,
                unit_name: row.get(4)?,
                invoice_id: row.get(5)?,
                visit_id: row.get(6)?,
                media_type: row.get(7)?,
                size: row.get(8)?,
                hash: row.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The card's field-work sections, as of `today` (the monthly summary covers
    /// the 12 months up to and including `today`'s month).
    pub(crate) fn field_sections(
        &self,
        client_id: ClientId,
        today: NaiveDate,
    ) -> Result<FieldSections> {
        let client = client_id.to_string();
        let short = short_id(&client);
        let first_month = (today.year() * 12 + today.month0() as i32) - 11;
        let mut statement = self.conn.prepare_cached(
            "SELECT v.unit_id, COALESCE(u.name, ''), v.year, v.month, count(*), sum(v.minutes)
             FROM visits v LEFT JOIN unit_directory u ON u.id = v.unit_id
             WHERE v.client_id = ?1 AND (v.year * 12 + v.month - 1) BETWEEN ?2 AND ?3
             GROUP BY v.unit_id, v.year, v.month
             ORDER BY COALESCE(u.name, ''), v.unit_id, v.year DESC, v.month DESC",
        )?;
        let rows = statement.query_map(params![client, first_month, first_month + 11], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i32>(2)?,
                row.get::<_, u32>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, i64>(5)?,
            ))
        })?;
        let mut visits_by_unit: Vec<UnitVisits> = Vec::new();
        for row in rows {
            let (unit_id, unit_name, year, month, visits, minutes) = row?;
            let unit_filter = if unit_id.is_empty() {
                String::new()
            } else {
                format!(" --unit {}", short_id(&unit_id))
            };
            let summary = MonthSummary {
                year,
                month,
                visits,
                minutes,
                list_command: format!(
                    "kartoteka visit list --client {short}{unit_filter} --month {year}-{month:02}"
                ),
            };
            match visits_by_unit.last_mut() {
                Some(last) if last.unit_id == unit_id => last.months.push(summary),
                _ => visits_by_unit.push(UnitVisits { unit_id, unit_name, months: vec![summary] }),
            }
        }
        let mut visits =
            self.visits(&VisitQuery { client: Some(client_id), ..VisitQuery::default() })?;
        visits.reverse();
        let last_visit = visits.first().map(|visit| visit.start.clone());
        let galleries = self
            .conn
            .prepare_cached(
                "SELECT g.unit_id, COALESCE(u.name, ''), count(*) FROM gallery g LEFT JOIN unit_directory u ON u.id = g.unit_id
                 WHERE g.client_id = ?1 GROUP BY g.unit_id ORDER BY COALESCE(u.name, '')",
            )?
            .query_map([&client], |row| {
                let unit_id: String = row.get(0)?;
                let unit_filter = if unit_id.is_empty() { " --unit -".to_owned() } else { format!(" --unit {}", short_id(&unit_id)) };
                Ok(GallerySummary {
                    list_command: format!("kartoteka gallery list {short}{unit_filter}"),
                    unit_id,
                    unit_name: row.get(1)?,
                    items: row.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(FieldSections {
            last_visit,
            visits_by_unit,
            visits,
            galleries,
            documents: self.client_documents(client_id)?,
        })
    }

    /// Finds a visit by id prefix; returns its client and id.
    pub fn resolve_visit(&self, reference: &str) -> Result<(ClientId, VisitId)> {
        let pattern = crate::modules::clients::lookup::id_glob(reference)
            .ok_or_else(|| not_found("visit", reference))?;
        let mut statement = self
            .conn
            .prepare_cached("SELECT client_id, id FROM visits WHERE id GLOB ?1 LIMIT 6")?;
        let matches: Vec<(String, String)> = statement
            .query_map([pattern], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        match matches.as_slice() {
            [(client, visit)] => Ok((
                client.parse().map_err(|_| not_found("visit", reference))?,
                visit.parse().map_err(|_| not_found("visit", reference))?,
            )),
            [] => Err(not_found("visit", reference)),
            _ => Err(ambiguous("visit", reference, &matches)),
        }
    }

    /// Finds a gallery item of a client by id prefix or file name.
    pub fn resolve_gallery_item(
        &self,
        client_id: ClientId,
        reference: &str,
    ) -> Result<GalleryItemId> {
        let id = self.resolve_in(
            "SELECT id, name FROM gallery WHERE client_id = ?1 AND (id GLOB ?2 OR name = ?3) LIMIT 6",
            client_id,
            "gallery item",
            reference,
        )?;
        id.parse().map_err(|_| not_found("gallery item", reference))
    }

    /// Finds a document of a client by id prefix or name.
    pub fn resolve_document(
        &self,
        client_id: ClientId,
        reference: &str,
    ) -> Result<ClientDocumentId> {
        let id = self.resolve_in(
            "SELECT id, name FROM client_documents WHERE client_id = ?1 AND (id GLOB ?2 OR name = ?3) LIMIT 6",
            client_id,
            "document",
            reference,
        )?;
        id.parse().map_err(|_| not_found("document", reference))
    }

    fn resolve_in(
        &self,
        sql: &str,
        client_id: ClientId,
        what: &'static str,
        reference: &str,
    ) -> Result<String> {
        let pattern =
            crate::modules::clients::lookup::id_glob(reference).unwrap_or_else(|| "-".to_owned());
        let mut statement = self.conn.prepare_cached(sql)?;
        let matches: Vec<(String, String)> = statement
            .query_map(params![client_id.to_string(), pattern, reference.trim()], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        match matches.as_slice() {
            [(id, _)] => Ok(id.clone()),
            [] => Err(not_found(what, reference)),
            _ => Err(ambiguous(what, reference, &matches)),
        }
    }
}

fn visit_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<VisitRow> {
    let id: String = row.get(0)?;
    Ok(VisitRow {
        short_id: short_id(&id),
        id,
        client_id: row.get(1)?,
        client_name: row.get(2)?,
        unit_id: row.get(3)?,
        unit_name: row.get(4)?,
        start: row.get(5)?,
        end: row.get(6)?,
        minutes: row.get(7)?,
        technician: row.get(8)?,
        kind: row.get(9)?,
        status: row.get(10)?,
        notes: row.get(11)?,
        file_count: row.get(12)?,
    })
}

fn not_found(what: &'static str, reference: &str) -> StoreError {
    StoreError::NotFound {
        what,
        reference: reference.to_owned(),
        hint: "; the client card lists them".to_owned(),
    }
}

fn ambiguous(what: &'static str, reference: &str, matches: &[(String, String)]) -> StoreError {
    StoreError::Ambiguous {
        what,
        reference: reference.to_owned(),
        count: matches.len(),
        candidates: matches
            .iter()
            .map(|(id, name)| format!("{} {name}", short_id(id)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
