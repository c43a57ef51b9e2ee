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

-- Published to the other modules, which join this view and never the tables
-- above.
CREATE VIEW document_directory AS SELECT id, client_id, doc_id, name FROM client_documents;
