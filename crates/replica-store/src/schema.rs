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
pub(crate) const MIRROR_VERSION: i64 = 9;

/// Replica tables besides the documents (see `doc_store::DDL`): the replica's
/// identity and settings, and per-document sync state.
pub(crate) const STORE_DDL: &str = r"
CREATE TABLE IF NOT EXISTS replica_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- What this replica and a remote know they share, per document (automerge's
-- encoded sync state: the shared heads), so a reconnect exchanges only changes.
CREATE TABLE IF NOT EXISTS sync_state (
    remote TEXT NOT NULL,
    doc_id BLOB NOT NULL,
    state  BLOB NOT NULL,
    PRIMARY KEY (remote, doc_id)
) WITHOUT ROWID;

-- Documents whose sync with a remote failed in a round (a message that could not
-- be applied): the next rounds sync them even if the remote's change feed, whose
-- cursor moved on, does not name them again; `failed_rounds` bounds how often.
CREATE TABLE IF NOT EXISTS sync_retry (
    remote        TEXT NOT NULL,
    doc_id        BLOB NOT NULL,
    failed_rounds INTEGER NOT NULL,
    PRIMARY KEY (remote, doc_id)
) WITHOUT ROWID;

-- Blobs added on this device and not yet uploaded to the relay.
CREATE TABLE IF NOT EXISTS pending_uploads (
    hash TEXT PRIMARY KEY
) WITHOUT ROWID;

-- Documents changed on this device and not yet pushed to the relay; `seq` is the
-- document's `local_seq` at its latest local change, so a change made while a
-- sync runs keeps its row when the sync clears what it pushed.
CREATE TABLE IF NOT EXISTS outbox (
    doc_id BLOB PRIMARY KEY,
    seq    INTEGER NOT NULL
) WITHOUT ROWID;
";

pub(crate) const MIRROR_TABLES: [&str; 26] = [
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
    "visits",
    "visit_items",
    "gallery",
    "client_documents",
    "invoices",
    "invoice_lines",
    "payments",
    "notices",
    "notice_sendings",
    "recurring_templates",
    "client_dunning",
    "billing_series",
    "dunning_policies",
    "base_rates",
    "billing_settings",
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
    active_unit_count   INTEGER NOT NULL,
    -- Start (UTC) of the latest visit, for the catalog's last-visit column.
    last_visit          TEXT
);
-- Covers the catalog query, so listing every client reads one index in order
-- instead of jumping to each row of the table.
CREATE INDEX clients_catalog ON clients (
    archived, sort_key, display_name, id, kind, reg_no, personal_code, vat_id, city,
    group_id, primary_phone, primary_email, unit_count, last_visit
);
CREATE INDEX clients_group ON clients (group_id, sort_key);
CREATE INDEX clients_last_visit ON clients (archived, last_visit);

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

-- Visits at client units. `start_utc` orders and filters; `start_local` keeps the
-- wall-clock time and offset the technician recorded; `year`/`month` are of the
-- local start, which is what a monthly summary means to a user.
CREATE TABLE visits (
    id               TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL,
    unit_id          TEXT NOT NULL,
    start_utc        TEXT NOT NULL,
    start_local      TEXT NOT NULL,
    end_local        TEXT NOT NULL,
    minutes          INTEGER NOT NULL,
    year             INTEGER NOT NULL,
    month            INTEGER NOT NULL,
    technician       TEXT NOT NULL,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    notes            TEXT NOT NULL
);
CREATE INDEX visits_client ON visits (client_id, start_utc);
CREATE INDEX visits_unit ON visits (unit_id, year, month);
CREATE INDEX visits_technician ON visits (technician, start_utc);
CREATE INDEX visits_start ON visits (start_utc);

CREATE TABLE visit_items (
    visit_id    TEXT NOT NULL,
    position    INTEGER NOT NULL,
    description TEXT NOT NULL,
    quantity    TEXT NOT NULL,
    unit        TEXT NOT NULL
);
CREATE INDEX visit_items_visit ON visit_items (visit_id, position);

-- Photos and files of a client, each in the gallery of one unit (or of the
-- client, unit_id ''), optionally of a visit.
CREATE TABLE gallery (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    unit_id    TEXT NOT NULL,
    visit_id   TEXT NOT NULL,
    hash       TEXT NOT NULL,
    thumb_hash TEXT NOT NULL,
    name       TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL,
    caption    TEXT NOT NULL,
    taken_at   TEXT NOT NULL,
    added_by   TEXT NOT NULL,
    added_at   INTEGER NOT NULL
);
CREATE INDEX gallery_unit ON gallery (client_id, unit_id, added_at);
CREATE INDEX gallery_visit ON gallery (visit_id);
CREATE INDEX gallery_hash ON gallery (hash);

-- Files of a client: those referenced from its own document, and dunning
-- letters kept with their notices in its invoices documents (`doc_id` says which).
CREATE TABLE client_documents (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    doc_id     TEXT NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    date       TEXT NOT NULL,
    unit_id    TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    visit_id   TEXT NOT NULL,
    hash       TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       INTEGER NOT NULL
);
CREATE INDEX client_documents_client ON client_documents (client_id, date);
CREATE INDEX client_documents_hash ON client_documents (hash);
CREATE INDEX client_documents_doc ON client_documents (doc_id);

-- Invoices and credit notes with what their payments, credit notes and notices
-- make of them (see billing::settlement). Amounts are minor units of `currency`.
-- `open_minor` is the open principal; it is 0 for drafts and credit notes, so the
-- partial index `invoices_open` holds exactly the invoices something is owed on.
CREATE TABLE invoices (
    id                  TEXT PRIMARY KEY,
    doc_id              TEXT NOT NULL,
    client_id           TEXT NOT NULL,
    unit_id             TEXT NOT NULL,
    kind                TEXT NOT NULL,
    credits             TEXT NOT NULL,
    status              TEXT NOT NULL,
    number              TEXT NOT NULL,
    series              TEXT NOT NULL,
    number_year         INTEGER NOT NULL,
    seq                 INTEGER NOT NULL,
    currency            TEXT NOT NULL,
    issue_date          TEXT NOT NULL,
    due_date            TEXT NOT NULL,
    net_minor           INTEGER NOT NULL,
    vat_minor           INTEGER NOT NULL,
    gross_minor         INTEGER NOT NULL,
    credited_minor      INTEGER NOT NULL,
    paid_minor          INTEGER NOT NULL,
    open_minor          INTEGER NOT NULL,
    costs_open_minor    INTEGER NOT NULL,
    interest_open_minor INTEGER NOT NULL,
    credit_minor        INTEGER NOT NULL,
    settled_on          TEXT,
    notices             INTEGER NOT NULL,
    last_notice_date    TEXT,
    interest_until      TEXT,
    lump_sum_charged    INTEGER NOT NULL,
    block_reason        TEXT NOT NULL,
    block_until         TEXT NOT NULL,
    template_id         TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    note                TEXT NOT NULL,
    snapshot            TEXT NOT NULL
);
CREATE INDEX invoices_client ON invoices (client_id, issue_date);
CREATE INDEX invoices_doc ON invoices (doc_id);
CREATE INDEX invoices_series ON invoices (series, number_year, seq);
CREATE INDEX invoices_number ON invoices (number);
CREATE INDEX invoices_credits ON invoices (credits) WHERE credits <> '';
-- Covering for the catalog's overdue column; the dunning run reads the rest from the table.
CREATE INDEX invoices_open ON invoices (due_date, currency, client_id, open_minor, costs_open_minor, interest_open_minor)
    WHERE open_minor > 0;
CREATE INDEX invoices_template ON invoices (template_id) WHERE template_id <> '';
-- Turnover per client for the catalog, read from the index alone, in client order.
CREATE INDEX invoices_turnover ON invoices (currency, status, client_id, issue_date, net_minor);

CREATE TABLE invoice_lines (
    invoice_id       TEXT NOT NULL,
    position         INTEGER NOT NULL,
    description      TEXT NOT NULL,
    quantity_milli   INTEGER NOT NULL,
    unit             TEXT NOT NULL,
    unit_price_minor INTEGER NOT NULL,
    vat_bp           INTEGER NOT NULL,
    net_minor        INTEGER NOT NULL,
    vat_minor        INTEGER NOT NULL,
    PRIMARY KEY (invoice_id, position)
) WITHOUT ROWID;

-- Payments with their §367 split into costs, interest, principal and credit.
CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    doc_id          TEXT NOT NULL,
    invoice_id      TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    date            TEXT NOT NULL,
    amount_minor    INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    method          TEXT NOT NULL,
    reference       TEXT NOT NULL,
    costs_minor     INTEGER NOT NULL,
    interest_minor  INTEGER NOT NULL,
    principal_minor INTEGER NOT NULL,
    credit_minor    INTEGER NOT NULL
);
CREATE INDEX payments_invoice ON payments (invoice_id, date);
CREATE INDEX payments_client ON payments (client_id, date);
CREATE INDEX payments_doc ON payments (doc_id);

CREATE TABLE notices (
    id              TEXT PRIMARY KEY,
    doc_id          TEXT NOT NULL,
    invoice_id      TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    level           INTEGER NOT NULL,
    name            TEXT NOT NULL,
    date            TEXT NOT NULL,
    fee_minor       INTEGER NOT NULL,
    lump_sum_minor  INTEGER NOT NULL,
    interest_minor  INTEGER NOT NULL,
    letter_document TEXT NOT NULL
);
CREATE INDEX notices_invoice ON notices (invoice_id, level);
CREATE INDEX notices_client ON notices (client_id, date);
CREATE INDEX notices_doc ON notices (doc_id);

-- Every letter that carried a notice (two devices may send one level on
-- different days offline); the notice row holds the earliest one's charges.
CREATE TABLE notice_sendings (
    id             TEXT PRIMARY KEY,
    doc_id         TEXT NOT NULL,
    notice_id      TEXT NOT NULL,
    invoice_id     TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    date           TEXT NOT NULL,
    fee_minor      INTEGER NOT NULL,
    lump_sum_minor INTEGER NOT NULL,
    interest_minor INTEGER NOT NULL,
    letter_id      TEXT NOT NULL,
    device_id      TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX notice_sendings_notice ON notice_sendings (notice_id, date);
CREATE INDEX notice_sendings_doc ON notice_sendings (doc_id);

-- Recurring-invoice templates; `lines` is JSON.
CREATE TABLE recurring_templates (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    code       TEXT NOT NULL,
    unit_id    TEXT NOT NULL,
    period     TEXT NOT NULL,
    day        INTEGER NOT NULL,
    start      TEXT NOT NULL,
    end        TEXT,
    terms_days INTEGER NOT NULL,
    currency   TEXT NOT NULL,
    note       TEXT NOT NULL,
    lines      TEXT NOT NULL,
    net_minor  INTEGER NOT NULL,
    gross_minor INTEGER NOT NULL
);
CREATE INDEX recurring_templates_client ON recurring_templates (client_id, code);
CREATE INDEX recurring_templates_code ON recurring_templates (code);

CREATE TABLE client_dunning (
    client_id    TEXT PRIMARY KEY,
    policy       TEXT NOT NULL,
    block_reason TEXT NOT NULL,
    block_until  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE billing_series (
    device_id TEXT PRIMARY KEY,
    code      TEXT NOT NULL,
    pattern   TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE dunning_policies (
    name TEXT PRIMARY KEY,
    json TEXT NOT NULL
) WITHOUT ROWID;

-- Base rates entered by users; the shipped table is added when read.
CREATE TABLE base_rates (
    date    TEXT PRIMARY KEY,
    rate_bp INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE billing_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
";

/// Creates the document store if needed; returns whether the mirror must be rebuilt.
pub(crate) fn prepare(conn: &Connection) -> Result<bool> {
    conn.execute_batch(doc_store::DDL)?;
    conn.execute_batch(STORE_DDL)?;
    let mirror_version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if mirror_version == MIRROR_VERSION {
        return Ok(false);
    }
    recreate_mirror(conn)?;
    Ok(true)
}

/// Marks the mirror as of no layout while it is being rebuilt: opening the
/// replica then rebuilds it again.
pub(crate) fn mark_mirror_incomplete(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "user_version", 0)?;
    Ok(())
}

/// Marks the mirror as complete in the current layout.
pub(crate) fn mark_mirror_complete(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "user_version", MIRROR_VERSION)?;
    Ok(())
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
