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
