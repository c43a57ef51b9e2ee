//! Identifiers of billing records. Each is a UUID newtype (made by
//! [`domain::uuid_id!`], as the client aggregate's are), so that a template id
//! can never be passed where an invoice id is expected. Invoices, templates and
//! payments get random ids where they are made; a notice's id is derived from
//! its invoice and level ([`crate::dunning::notice_id`]) and a recurring
//! invoice's from its template and period ([`crate::recurring::invoice_id`]),
//! so two replicas that make one offline make the same record.

domain::uuid_id!(
    /// An invoice or credit note. Also the key of its entry in the client's
    /// invoices document of the year.
    InvoiceId,
    "invoice"
);
domain::uuid_id!(
    /// A recurring-invoice template of a client.
    TemplateId,
    "recurring template"
);
domain::uuid_id!(
    /// A payment recorded against an invoice.
    PaymentId,
    "payment"
);
domain::uuid_id!(
    /// A dunning notice: one level reached by one invoice.
    NoticeId,
    "dunning notice"
);
domain::uuid_id!(
    /// A dunning letter: one run's letter to one client, carrying its notices.
    LetterId,
    "dunning letter"
);
