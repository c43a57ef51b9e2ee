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

CREATE TABLE company (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE devices (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
) WITHOUT ROWID;

-- Published to the other modules, which join these views and never the tables
-- above (SQLite inlines a view into the query that joins it).
CREATE VIEW client_directory AS
SELECT id, kind, display_name, sort_key, country,
       (SELECT value FROM client_settings s WHERE s.client_id = c.id AND s.key = 'language')
           AS language
FROM clients c;

CREATE VIEW unit_directory AS SELECT id, client_id, name FROM units;

CREATE VIEW device_directory AS SELECT id, name FROM devices;
