//! Integration tests of the replica store: real SQLite files in temp directories.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "test code: a panic is a failed test, and stderr is where a failing seed is reported"
)]

mod billing;
mod merge;
mod numbering;
mod queries;
mod reindex;
mod support;
mod sync_storage;
