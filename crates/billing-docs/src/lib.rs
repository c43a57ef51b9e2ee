//! Kartoteka's billing paperwork, rendered from plain data without IO.
//!
//! - [`letters`]: dunning letters from per-language HTML templates
//!   (`templates/letter.{de,en,lv}.html`).
//! - [`format`]: amounts and dates the way each language writes them.
//!
//! The templates are compiled into the binary, so a letter rendered today and
//! the same letter rendered on another device are byte-identical: that is what
//! lets two replicas that run dunning offline store one letter, not two.

#![warn(missing_docs)]

mod error;
pub mod format;
pub mod letters;

pub use error::{DocsError, Result};
