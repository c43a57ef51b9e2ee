//! The replica's SQLite schema.
//!
//! Two groups of tables share one file:
//!
//! - the *document store* (`replica_meta`, `doc_store`, `doc_chunks`): the
//!   Automerge documents, the source of truth. Its layout only ever grows by
//!   additive migrations;
//! - the *mirror* (everything else): rows projected from the documents for
//!   queries. It is derived data, so a mirror of an older layout is not migrated
//!   but dropped and rebuilt from the documents (see `reindex`).

use rusqlite::Connection;

use crate::error::Result;

/// Version of the mirror layout; a replica whose mirror has another version
/// rebuilds it on open.
pub(crate) const MIRROR_VERSION: i64 = 2;

pub(crate) const STORE_DDL: &str = r"
CREATE TABLE IF NOT EXISTS replica_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per Automerge document: the last compacted snapshot plus bookkeeping.
-- `heads` is the concatenation of the document's 32-byte head hashes after all
-- chunks are applied; loading checks it (a pair assertion against corruption).
-- `version` increases on every write so a process can tell that its cached copy
-- is stale; `local_seq` orders writes for the sync outbox. (A rowid table: in a
-- WITHOUT ROWID table kilobyte-sized blobs spill into mostly empty overflow
-- pages, which tripled the file size.)
CREATE TABLE IF NOT EXISTS doc_store (
    doc_id         BLOB PRIMARY KEY,
    kind           TEXT NOT NULL,
    snapshot       BLOB NOT NULL,
    snapshot_bytes INTEGER NOT NULL,
    heads          BLOB NOT NULL,
    chunk_count    INTEGER NOT NULL DEFAULT 0,
    chunk_bytes    INTEGER NOT NULL DEFAULT 0,
    version        INTEGER NOT NULL DEFAULT 1,
    local_seq      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS doc_store_local_seq ON doc_store (local_seq);

-- Incremental changes appended since the snapshot, in order.
CREATE TABLE IF NOT EXISTS doc_chunks (
    doc_id BLOB NOT NULL,
    seq    INTEGER NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
);
";

pub(crate) const MIRROR_TABLES: [&str; 11] = [
    "clients",
    "client_search",
    "units",
    "contacts",
    "channels",
    "bank_accounts",
    "client_settings",
    "groups",
    "conflicts",
    "company",
    "devices",
];

pub(crate) const MIRROR_DDL: &str = r"
CREATE TABLE clients (
    rowid               INTEGER PRIMARY KEY,
    id                  TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL,
    display_name        TEXT NOT NULL,
    sort_key            TEXT NOT NULL,
    name                TEXT NOT NULL,
    first_name          TEXT NOT NULL,
    last_name           TEXT NOT NULL,
    reg_no              TEXT NOT NULL,
    personal_code       TEXT NOT NULL,
    vat_id              TEXT NOT NULL,
    industry            TEXT NOT NULL,
    street              TEXT NOT NULL,
    city                TEXT NOT NULL,
    city_key            TEXT NOT NULL,
    postal_code         TEXT NOT NULL,
    region              TEXT NOT NULL,
    country             TEXT NOT NULL,
    billing_recipient   TEXT NOT NULL,
    billing_street      TEXT NOT NULL,
    billing_city        TEXT NOT NULL,
    billing_postal_code TEXT NOT NULL,
    billing_region      TEXT NOT NULL,
    billing_country     TEXT NOT NULL,
    billing_email       TEXT NOT NULL,
    payment_terms_days  INTEGER,
    currency            TEXT NOT NULL,
    group_id            TEXT,
    archived            INTEGER NOT NULL,
    comments            TEXT NOT NULL,
    main_unit_id        TEXT,
    primary_phone       TEXT NOT NULL,
    primary_email       TEXT NOT NULL,
    unit_count          INTEGER NOT NULL,
    active_unit_count   INTEGER NOT NULL
);
-- Covers the catalog query, so listing every client reads one index in order
-- instead of jumping to each row of the table.
CREATE INDEX clients_catalog ON clients (
    archived, sort_key, display_name, id, kind, reg_no, personal_code, vat_id, city,
    group_id, primary_phone, primary_email, unit_count
);
CREATE INDEX clients_group ON clients (group_id, sort_key);

-- Folded (see domain::fold_for_search) text of each client, for prefix search as
-- the user types. The rowid is the client's rowid in `clients`.
CREATE VIRTUAL TABLE client_search USING fts5 (
    names, codes, contacts, places, units,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

CREATE TABLE units (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    street      TEXT NOT NULL,
    city        TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    region      TEXT NOT NULL,
    country     TEXT NOT NULL,
    phone       TEXT NOT NULL,
    email       TEXT NOT NULL,
    active      INTEGER NOT NULL,
    is_main     INTEGER NOT NULL
);
CREATE INDEX units_client ON units (client_id, position);

CREATE TABLE contacts (
    client_id TEXT NOT NULL,
    unit_id   TEXT,
    id        TEXT NOT NULL,
    position  INTEGER NOT NULL,
    name      TEXT NOT NULL,
    role      TEXT NOT NULL,
    phone     TEXT NOT NULL,
    email     TEXT NOT NULL
);
CREATE INDEX contacts_client ON contacts (client_id, unit_id, position);

CREATE TABLE channels (
    client_id TEXT NOT NULL,
    id        TEXT NOT NULL,
    position  INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    value     TEXT NOT NULL,
    label     TEXT NOT NULL
);
CREATE INDEX channels_client ON channels (client_id, position);

CREATE TABLE bank_accounts (
    client_id TEXT NOT NULL,
    id        TEXT NOT NULL,
    position  INTEGER NOT NULL,
    iban      TEXT NOT NULL,
    bic       TEXT NOT NULL,
    bank_name TEXT NOT NULL
);
CREATE INDEX bank_accounts_client ON bank_accounts (client_id, position);

CREATE TABLE client_settings (
    client_id TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (client_id, key)
) WITHOUT ROWID;

CREATE TABLE groups (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    sort_key TEXT NOT NULL
);

-- Fields with concurrent values, per document; `vals` is a JSON array of
-- {value, winner}.
CREATE TABLE conflicts (
    doc_id    TEXT NOT NULL,
    client_id TEXT,
    pointer   TEXT NOT NULL,
    vals      TEXT NOT NULL,
    PRIMARY KEY (doc_id, pointer)
) WITHOUT ROWID;

CREATE TABLE company (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE devices (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
) WITHOUT ROWID;
";

/// Creates the document store if needed; returns whether the mirror must be rebuilt.
pub(crate) fn prepare(conn: &Connection) -> Result<bool> {
    conn.execute_batch(STORE_DDL)?;
    let mirror_version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if mirror_version == MIRROR_VERSION {
        return Ok(false);
    }
    recreate_mirror(conn)?;
    Ok(true)
}

/// Drops every mirror table and creates the current layout, empty.
pub(crate) fn recreate_mirror(conn: &Connection) -> Result<()> {
    let mut ddl = String::new();
    for table in MIRROR_TABLES {
        ddl.push_str(&format!("DROP TABLE IF EXISTS {table};\n"));
    }
    ddl.push_str(MIRROR_DDL);
    ddl.push_str(&format!("PRAGMA user_version = {MIRROR_VERSION};"));
    conn.execute_batch(&ddl)?;
    Ok(())
}
