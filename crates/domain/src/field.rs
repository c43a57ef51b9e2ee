//! Field work: visits at client units, gallery items, and client documents.
//!
//! Times keep the offset the technician's device had when the visit was
//! recorded (`DateTime<FixedOffset>`): 09:00 in Riga stays 09:00, and monthly
//! summaries count a visit in the month it happened locally.

use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::error::{DomainError, Result};
use crate::ids::{ClientDocumentId, GalleryItemId, UnitId, VisitId};

/// Why a technician went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitKind {
    /// Planned maintenance.
    Scheduled,
    /// Not planned, at the client's request.
    Unscheduled,
    /// Something broke.
    Breakdown,
}

/// How far the work got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitStatus {
    /// Not done yet.
    Planned,
    /// Done.
    Done,
    /// Partly done; another visit follows.
    PartlyDone,
}

macro_rules! word_enum {
    ($name:ident, $what:literal, $allowed:literal, $($variant:ident => $word:literal),+) => {
        impl $name {
            /// The stored and displayed word.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }

            /// Parses the word (as typed or stored).
            pub fn parse(value: &str) -> Result<Self> {
                match value.trim().to_lowercase().replace('-', "_").as_str() {
                    $($word => Ok(Self::$variant),)+
                    _ => Err(DomainError::NotOneOf { what: $what, value: value.to_owned(), allowed: $allowed }),
                }
            }
        }
    };
}

word_enum!(VisitKind, "visit type", "scheduled, unscheduled, breakdown",
    Scheduled => "scheduled", Unscheduled => "unscheduled", Breakdown => "breakdown");
word_enum!(VisitStatus, "visit status", "planned, done, partly_done",
    Planned => "planned", Done => "done", PartlyDone => "partly_done");

/// One line of work done during a visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    /// What was done.
    pub description: String,
    /// How much, as a decimal number ("1.5").
    pub quantity: String,
    /// Of what ("h", "pcs", "m").
    pub unit: String,
}

impl WorkItem {
    /// Parses `description=quantity unit` (`"Replaced filter=2 pcs"`) or a bare
    /// description (quantity 1).
    pub fn parse(text: &str) -> Result<Self> {
        let (description, amount) = match text.rsplit_once('=') {
            Some((description, amount)) => (description.trim(), amount.trim()),
            None => (text.trim(), "1"),
        };
        if description.is_empty() {
            return Err(DomainError::Empty { field: "work item description" });
        }
        let (quantity, unit) = match amount.split_once(char::is_whitespace) {
            Some((quantity, unit)) => (quantity.trim(), unit.trim()),
            None => (amount, ""),
        };
        let quantity = quantity.replace(',', ".");
        match quantity.parse::<f64>() {
            // The quantity stays text: it is shown, not computed with.
            Ok(number) if number > 0.0 && number.is_finite() => {}
            _ => return Err(DomainError::InvalidQuantity { value: amount.to_owned() }),
        }
        Ok(Self { description: description.to_owned(), quantity, unit: unit.to_owned() })
    }
}

/// A visit as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVisit {
    /// Its id.
    pub id: VisitId,
    /// The unit visited (`None` for a client without units).
    pub unit_id: Option<UnitId>,
    /// Start, with the device's offset.
    pub start: DateTime<FixedOffset>,
    /// End, with the device's offset.
    pub end: DateTime<FixedOffset>,
    /// Who went.
    pub technician: String,
    /// Why.
    pub kind: VisitKind,
    /// How far the work got.
    pub status: VisitStatus,
    /// What was done.
    pub items: Vec<WorkItem>,
    /// Notes; merged character by character.
    pub notes: String,
}

impl NewVisit {
    /// Checks what a visit must satisfy: it ends after it starts, someone went.
    pub fn validate(&self) -> Result<()> {
        if self.end <= self.start {
            return Err(DomainError::EndBeforeStart {
                start: self.start.to_rfc3339(),
                end: self.end.to_rfc3339(),
            });
        }
        if self.technician.trim().is_empty() {
            return Err(DomainError::Empty { field: "technician" });
        }
        Ok(())
    }
}

/// A visit as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    /// Its id.
    pub id: VisitId,
    /// The unit visited.
    pub unit_id: Option<UnitId>,
    /// Start, with the recorded offset.
    pub start: DateTime<FixedOffset>,
    /// End, with the recorded offset.
    pub end: DateTime<FixedOffset>,
    /// Who went.
    pub technician: String,
    /// Why.
    pub kind: VisitKind,
    /// How far the work got.
    pub status: VisitStatus,
    /// What was done.
    pub items: Vec<WorkItem>,
    /// Notes.
    pub notes: String,
}

impl Visit {
    /// Duration in whole minutes.
    pub fn minutes(&self) -> i64 {
        (self.end - self.start).num_minutes()
    }
}

/// A file to add to a gallery; its bytes are already in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGalleryItem {
    /// Its id.
    pub id: GalleryItemId,
    /// The unit whose gallery it joins (`None`: the client's own gallery).
    pub unit_id: Option<UnitId>,
    /// The visit it was taken at, if any.
    pub visit_id: Option<VisitId>,
    /// blake3 of the bytes, hex.
    pub hash: String,
    /// blake3 of the thumbnail, hex, for images.
    pub thumb_hash: Option<String>,
    /// File name as added.
    pub name: String,
    /// Media type ("image/jpeg").
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Caption.
    pub caption: String,
    /// When the photo was taken (from EXIF), as written there.
    pub taken_at: Option<String>,
    /// Who added it (the device).
    pub added_by: String,
}

/// A gallery item as read back.
pub type GalleryItem = NewGalleryItem;

/// The kind of a client document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// A contract.
    Contract,
    /// An offer (quote).
    Offer,
    /// A dunning letter.
    DunningLetter,
    /// An invoice printout.
    Invoice,
    /// A report (of a visit, an inspection).
    Report,
    /// Anything else.
    Other,
}

word_enum!(DocumentKind, "document kind", "contract, offer, dunning_letter, invoice, report, other",
    Contract => "contract", Offer => "offer", DunningLetter => "dunning_letter", Invoice => "invoice",
    Report => "report", Other => "other");

/// A document to add to a client; its bytes are already in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClientDocument {
    /// Its id.
    pub id: ClientDocumentId,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: DocumentKind,
    /// Its date.
    pub date: NaiveDate,
    /// The unit it concerns, if any.
    pub unit_id: Option<UnitId>,
    /// The invoice it belongs to, if any.
    pub invoice_id: Option<String>,
    /// The visit it belongs to, if any.
    pub visit_id: Option<VisitId>,
    /// blake3 of the file, hex.
    pub hash: String,
    /// Media type.
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
}

/// A client document as read back.
pub type ClientDocument = NewClientDocument;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_items_parse_quantity_and_unit() {
        assert_eq!(
            WorkItem::parse("Replaced filter=2 pcs").unwrap(),
            WorkItem {
                description: "Replaced filter".to_owned(),
                quantity: "2".to_owned(),
                unit: "pcs".to_owned()
            }
        );
        assert_eq!(WorkItem::parse("Cleaning=1,5 h").unwrap().quantity, "1.5");
        assert_eq!(WorkItem::parse("Inspection").unwrap().quantity, "1");
        assert!(WorkItem::parse("Cleaning=-1 h").is_err());
        assert!(WorkItem::parse("=2 h").is_err());
    }

    #[test]
    fn a_visit_must_end_after_it_starts() {
        let start = DateTime::parse_from_rfc3339("2026-11-22T09:00:00+02:00").unwrap();
        let visit = NewVisit {
            id: VisitId::random(),
            unit_id: None,
            start,
            end: start - chrono::Duration::minutes(5),
            technician: "Anna".to_owned(),
            kind: VisitKind::Scheduled,
            status: VisitStatus::Done,
            items: Vec::new(),
            notes: String::new(),
        };
        assert!(matches!(visit.validate(), Err(DomainError::EndBeforeStart { .. })));
        assert_eq!(VisitStatus::parse("partly-done").unwrap(), VisitStatus::PartlyDone);
        assert!(
            VisitKind::parse("holiday")
                .unwrap_err()
                .to_string()
                .contains("scheduled, unscheduled, breakdown")
        );
    }
}
