//! Billing commands: invoices, payments, credit notes, number series, statements.

use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};

/// `kartoteka invoice …`
#[derive(Debug, Subcommand)]
pub(crate) enum InvoiceCommand {
    /// Start a draft invoice (or issue it at once with --issue)
    #[command(after_help = "A line is DESCRIPTION=QUANTITY [UNIT] x NET_UNIT_PRICE @ VAT_PERCENT.
Each line is rounded to the cent (half away from zero); VAT is summed per rate.

Examples:
  kartoteka invoice new kiploks --line 'Diagnostics=1.5 h x 45.00 @ 21' --line 'Filter=2 pcs x 12.40 @ 21'
  kartoteka invoice new kiploks --unit Vecrīga --due-in 30 --line 'Service=1 x 120 @ 21' --issue
  kartoteka invoice new 3f2a9c1e --currency EUR --due 2027-01-31 --line 'Repair=1 x 80 @ 19' --note 'PO 4711'")]
    New(InvoiceNewArgs),
    /// Change a draft (issued invoices are corrected with a credit note)
    #[command(after_help = "Examples:
  kartoteka invoice edit 1a2b3c4d --add-line 'Travel=1 x 25 @ 21'
  kartoteka invoice edit 1a2b3c4d --remove-line 2 --note 'Order 88'")]
    Edit(InvoiceEditArgs),
    /// Issue a draft: it gets the next number of this device's series and is frozen
    #[command(after_help = "Example:\n  kartoteka invoice issue 1a2b3c4d --date 2026-11-22")]
    Issue {
        /// Invoice number or id prefix
        invoice: String,
        /// Issue date [default: the draft's]
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// Throw a draft away (issued invoices cannot be discarded; cancel them)
    #[command(after_help = "Example:\n  kartoteka invoice discard 1a2b3c4d")]
    Discard {
        /// Draft id prefix
        invoice: String,
    },
    /// One invoice: lines, totals per VAT rate, payments, credit notes, notices
    #[command(
        after_help = "Examples:\n  kartoteka invoice show 2026-T03-0042-7F3A2B\n  kartoteka invoice show 1a2b3c4d --as-of 2027-02-01"
    )]
    Show {
        /// Invoice number or id prefix
        invoice: String,
        /// The day the state is computed for [default: today]
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// List invoices, filtered and sorted
    #[command(after_help = "Examples:
  kartoteka invoice list --client kiploks
  kartoteka invoice list --state overdue --sort overdue
  kartoteka invoice list --from 2026-01-01 --to 2026-12-31 --sort amount
  kartoteka invoice list --client kiploks --unit Vecrīga --state open --json")]
    List(InvoiceListArgs),
    /// Record a payment (partial payments add up; an overpayment becomes client credit)
    #[command(
        after_help = "With dunning charges open, a payment clears costs first, then interest,
then the invoice (§367 BGB).

Examples:
  kartoteka invoice pay 2026-T03-0042-7F3A2B 60.00 --date 2026-12-01 --method transfer --reference 'RF18 5390 0754 7034'
  kartoteka invoice pay 2026-T03-0042-7F3A2B 148.50"
    )]
    Pay(InvoicePayArgs),
    /// Correct an issued invoice with a credit note for some lines
    #[command(after_help = "Lines are what is taken back, with positive quantities.

Example:
  kartoteka invoice credit 2026-T03-0042-7F3A2B --line 'Diagnostics=0.5 h x 45.00 @ 21' --note 'Half an hour too much'")]
    Credit(InvoiceCreditArgs),
    /// Cancel an issued invoice: a credit note for the whole invoice
    #[command(
        after_help = "Example:\n  kartoteka invoice cancel 2026-T03-0042-7F3A2B --note 'Ordered twice'"
    )]
    Cancel {
        /// Invoice number or id prefix
        invoice: String,
        /// Date of the credit note [default: today]
        #[arg(long)]
        date: Option<NaiveDate>,
        /// Why
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Write an issued invoice or credit note as an e-invoice (XRechnung UBL) or a printable page
    #[command(
        after_help = "The e-invoice is EN 16931 UBL 2.1 with the XRechnung 3.0 rules; what is missing
(the company's phone, the client's country, …) is listed with the command that adds it.
A client's Leitweg-ID goes in as its setting buyer_reference before the invoice is issued:
  kartoteka client set kiploks buyer_reference 04011000-12345-34

Examples:
  kartoteka invoice export 2026-T03-0042-7F3A2B --format ubl --to .
  kartoteka invoice export 2026-T03-0042-7F3A2B --format html --language de --to rechnung.html"
    )]
    Export {
        /// Invoice number or id prefix
        invoice: String,
        /// ubl (XRechnung e-invoice) or html (printable)
        #[arg(long, value_enum, default_value = "ubl")]
        format: ExportFormat,
        /// Language of the printable page (de, en, lv) [default: by the client's country]
        #[arg(long)]
        language: Option<String>,
        /// A file, or a directory to write NUMBER.xml / NUMBER.html into
        #[arg(long, value_name = "PATH")]
        to: std::path::PathBuf,
    },
    /// This device's invoice number series: show it, or set its code and pattern
    #[command(
        after_help = "Every device issues from its own series: the code is a label, and every number
ends in this device's tag (six hex digits of its id), so replicas that issue
offline at the same time never produce the same number, even with one code.
The pattern may use {year}, {series} and {seq} or {seq:N} (zero-padded to N
digits); the tag follows it: 2026-T03-0001-7F3A2B.

Examples:
  kartoteka invoice series
  kartoteka invoice series T03
  kartoteka invoice series T03 --pattern '{series}/{year}/{seq:5}'"
    )]
    Series {
        /// The series code (letters and digits; a label for this device's series)
        code: Option<String>,
        /// The number pattern [default: {year}-{series}-{seq:4}]
        #[arg(long)]
        pattern: Option<String>,
    },
    /// Numbers that two invoices carry, and how to get out of it
    #[command(
        after_help = "Replicas written before numbers carried the device tag could issue one number
on two devices when both chose the same series code offline. Such numbers are
listed here after sync; neither device issues another number in that code.

The way out, on one of the two devices:
  kartoteka invoice series T04                       # a fresh code for this device
  kartoteka invoice cancel <ID> --note 'Number issued twice'   # a credit note for one of them
  kartoteka invoice new <CLIENT> --line … --issue    # re-issue it under a new number
A number is settled once all but one of its invoices are credited in full.

Example:
  kartoteka invoice duplicates"
    )]
    Duplicates,
}

/// What `invoice export` writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ExportFormat {
    /// EN 16931 e-invoice, UBL 2.1, XRechnung 3.0
    Ubl,
    /// A printable HTML page
    Html,
}

/// Who is billed for what: shared by `invoice new` and `recurring add`.
#[derive(Debug, Args)]
pub(crate) struct BilledArgs {
    /// Client id prefix or exact name
    pub(crate) client: String,
    /// Invoice line (repeatable)
    #[arg(long = "line", value_name = "LINE", required = true)]
    pub(crate) lines: Vec<String>,
    /// The client's unit billed
    #[arg(long)]
    pub(crate) unit: Option<String>,
    /// Currency [default: the client's, else the company's, else EUR]
    #[arg(long)]
    pub(crate) currency: Option<String>,
}

/// `kartoteka invoice new`
#[derive(Debug, Args)]
pub(crate) struct InvoiceNewArgs {
    #[command(flatten)]
    pub(crate) billed: BilledArgs,
    /// Issue date [default: today]
    #[arg(long)]
    pub(crate) date: Option<NaiveDate>,
    #[command(flatten)]
    pub(crate) terms: TermsArgs,
    /// Note printed on the invoice
    #[arg(long, default_value = "")]
    pub(crate) note: String,
    /// Issue it right away
    #[arg(long)]
    pub(crate) issue: bool,
}

/// Payment terms: days after issue, or a fixed due date.
#[derive(Debug, Args)]
pub(crate) struct TermsArgs {
    /// Due this many days after the issue date [default: the client's terms, else 14]
    #[arg(long, value_name = "DAYS", conflicts_with = "due")]
    pub(crate) due_in: Option<u32>,
    /// Due on this date
    #[arg(long, value_name = "DATE")]
    pub(crate) due: Option<NaiveDate>,
}

/// `kartoteka invoice edit`
#[derive(Debug, Args)]
pub(crate) struct InvoiceEditArgs {
    /// Draft id prefix
    pub(crate) invoice: String,
    /// Add a line (repeatable)
    #[arg(long = "add-line", value_name = "LINE")]
    pub(crate) add_lines: Vec<String>,
    /// Remove the line at this position, 1-based (repeatable)
    #[arg(long = "remove-line", value_name = "N")]
    pub(crate) remove_lines: Vec<usize>,
    /// New note
    #[arg(long)]
    pub(crate) note: Option<String>,
    /// New issue date
    #[arg(long)]
    pub(crate) date: Option<NaiveDate>,
    #[command(flatten)]
    pub(crate) terms: TermsArgs,
    /// Move the invoice to this unit ('' for the client itself)
    #[arg(long)]
    pub(crate) unit: Option<String>,
}

/// Invoice list sort order.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum InvoiceSortArg {
    /// Issue date, newest first
    Date,
    /// Gross amount, largest first
    Amount,
    /// Days overdue, most overdue first
    Overdue,
}

/// `kartoteka invoice list`
#[derive(Debug, Args)]
pub(crate) struct InvoiceListArgs {
    /// Only this client's invoices
    #[arg(long)]
    pub(crate) client: Option<String>,
    /// Only invoices for this unit (needs --client)
    #[arg(long, requires = "client")]
    pub(crate) unit: Option<String>,
    /// draft, issued, partly-paid, paid, overdue, open or credit-note
    #[arg(long)]
    pub(crate) state: Option<String>,
    /// Only overdue invoices (same as --state overdue)
    #[arg(long, conflicts_with = "state")]
    pub(crate) overdue: bool,
    /// Issued on or after
    #[arg(long)]
    pub(crate) from: Option<NaiveDate>,
    /// Issued on or before
    #[arg(long)]
    pub(crate) to: Option<NaiveDate>,
    /// Sort order
    #[arg(long, value_enum, default_value = "date")]
    pub(crate) sort: InvoiceSortArg,
    /// Reverse the sort order
    #[arg(long)]
    pub(crate) reverse: bool,
    /// The day states and days overdue are computed for [default: today]
    #[arg(long)]
    pub(crate) as_of: Option<NaiveDate>,
    /// Show at most this many
    #[arg(long)]
    pub(crate) limit: Option<usize>,
}

/// `kartoteka invoice pay`
#[derive(Debug, Args)]
pub(crate) struct InvoicePayArgs {
    /// Invoice number or id prefix
    pub(crate) invoice: String,
    /// Amount in the invoice's currency, e.g. 148.50
    #[arg(allow_hyphen_values = true)]
    pub(crate) amount: String,
    /// The currency of the amount [default: the invoice's]; another currency is refused
    #[arg(long)]
    pub(crate) currency: Option<String>,
    /// Day the money arrived [default: today]
    #[arg(long)]
    pub(crate) date: Option<NaiveDate>,
    /// transfer, cash, card, …
    #[arg(long, default_value = "transfer")]
    pub(crate) method: String,
    /// Bank reference or receipt number
    #[arg(long, default_value = "")]
    pub(crate) reference: String,
}

/// `kartoteka invoice credit`
#[derive(Debug, Args)]
pub(crate) struct InvoiceCreditArgs {
    /// Invoice number or id prefix
    pub(crate) invoice: String,
    /// What is taken back (repeatable)
    #[arg(long = "line", value_name = "LINE", required = true)]
    pub(crate) lines: Vec<String>,
    /// Date of the credit note [default: today]
    #[arg(long)]
    pub(crate) date: Option<NaiveDate>,
    /// Why
    #[arg(long, default_value = "")]
    pub(crate) note: String,
}

/// `kartoteka statement`
#[derive(Debug, Args)]
pub(crate) struct StatementArgs {
    /// Client id prefix or exact name
    pub(crate) client: String,
    /// First day [default: 1 January of the year of --to]
    #[arg(long)]
    pub(crate) from: Option<NaiveDate>,
    /// Last day [default: today]
    #[arg(long)]
    pub(crate) to: Option<NaiveDate>,
    /// Currency [default: the client's]
    #[arg(long)]
    pub(crate) currency: Option<String>,
}

/// `kartoteka dunning …`
#[derive(Debug, Subcommand)]
pub(crate) enum DunningCommand {
    /// Create the notices due on a day, one letter per client and currency
    #[command(
        after_help = "Every overdue invoice gets the next level of its client's policy; no level is
skipped, blocked invoices and clients are passed over. Running again for the same
day, or on another replica offline, creates the same notices, not new ones.
Letters are client documents (kind dunning_letter): `kartoteka document list CLIENT`.

Examples:
  kartoteka dunning run --as-of 2026-11-22 --dry-run
  kartoteka dunning run --as-of 2026-11-22
  kartoteka dunning run --language de --pay-within 7"
    )]
    Run(DunningRunArgs),
    /// Dunning policies: levels, their days and fees
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The §247 BGB base rate table behind default interest
    #[command(subcommand)]
    BaseRate(BaseRateCommand),
    /// A client's dunning: its own policy, or a block with a reason and an end date
    #[command(after_help = "Examples:
  kartoteka dunning client kiploks --policy Gentle
  kartoteka dunning client kiploks --block 'Disputed invoice, call on 5 Dec' --until 2026-12-05
  kartoteka dunning client kiploks --unblock --default-policy")]
    Client(DunningClientArgs),
    /// Block or unblock dunning of one invoice
    #[command(after_help = "Examples:
  kartoteka dunning invoice 2026-T03-0042-7F3A2B --block 'Goods returned, credit pending' --until 2026-12-31
  kartoteka dunning invoice 2026-T03-0042-7F3A2B --unblock")]
    Invoice(DunningInvoiceArgs),
}

/// `kartoteka dunning run`
#[derive(Debug, Args)]
pub(crate) struct DunningRunArgs {
    /// The day of the run [default: today]
    #[arg(long)]
    pub(crate) as_of: Option<NaiveDate>,
    /// Show what is due without storing anything
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Write every letter in this language (de, en, lv) [default: the client's
    /// `language` setting, else by country]
    #[arg(long)]
    pub(crate) language: Option<String>,
    /// Days the letter gives to pay
    #[arg(long, value_name = "DAYS", default_value_t = 10)]
    pub(crate) pay_within: u32,
}

/// `kartoteka dunning policy …`
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// List the policies
    #[command(after_help = "Example:\n  kartoteka dunning policy list")]
    List,
    /// Create or replace a policy
    #[command(after_help = "A level is NAME:DAYS_AFTER_DUE:MIN_DAYS_AFTER_PREVIOUS:FEE[:interest].

Examples:
  kartoteka dunning policy set Gentle --level 'Reminder:14:0:0' --level '1st notice:35:21:0:interest'
  kartoteka dunning policy set Standard --level 'Zahlungserinnerung:7:0:0' --level '1. Mahnung:21:14:2.50:interest' \\
      --level '2. Mahnung:35:14:5.00:interest' --level '3. Mahnung:49:14:7.50:interest' --lump-sum --default")]
    Set {
        /// The policy's name
        name: String,
        /// A level, in order (repeatable)
        #[arg(long = "level", value_name = "LEVEL", required = true)]
        levels: Vec<String>,
        /// Charge business clients the €40 lump sum of §288 (5) BGB once
        #[arg(long)]
        lump_sum: bool,
        /// Use it for clients without their own policy
        #[arg(long)]
        default: bool,
    },
}

/// `kartoteka dunning base-rate …`
#[derive(Debug, Subcommand)]
pub(crate) enum BaseRateCommand {
    /// The table: shipped rates and those entered here
    #[command(after_help = "Example:\n  kartoteka dunning base-rate list")]
    List,
    /// Enter a newly published rate (1 January or 1 July)
    #[command(after_help = "Example:\n  kartoteka dunning base-rate set 2027-01-01 1.27")]
    Set {
        /// First day the rate applies
        from: NaiveDate,
        /// The rate in percent (may be negative)
        #[arg(allow_hyphen_values = true)]
        percent: String,
    },
}

/// `kartoteka dunning client`
#[derive(Debug, Args)]
pub(crate) struct DunningClientArgs {
    /// Client id prefix or exact name
    pub(crate) client: String,
    /// Use this policy for the client
    #[arg(long, conflicts_with = "default_policy")]
    pub(crate) policy: Option<String>,
    /// Use the workspace's default policy
    #[arg(long)]
    pub(crate) default_policy: bool,
    #[command(flatten)]
    pub(crate) block: BlockArgs,
}

/// `kartoteka dunning invoice`
#[derive(Debug, Args)]
pub(crate) struct DunningInvoiceArgs {
    /// Invoice number or id prefix
    pub(crate) invoice: String,
    #[command(flatten)]
    pub(crate) block: BlockArgs,
}

/// A dunning block: why, and until when.
#[derive(Debug, Args)]
pub(crate) struct BlockArgs {
    /// Block dunning, for this reason
    #[arg(long, value_name = "REASON", requires = "until", conflicts_with = "unblock")]
    pub(crate) block: Option<String>,
    /// Last blocked day
    #[arg(long, value_name = "DATE", requires = "block")]
    pub(crate) until: Option<NaiveDate>,
    /// Lift the block
    #[arg(long)]
    pub(crate) unblock: bool,
}

/// `kartoteka recurring …`
#[derive(Debug, Subcommand)]
pub(crate) enum RecurringCommand {
    /// Add a template: the same invoice every month, quarter or year
    #[command(
        after_help = "The invoice is issued on DAY of the period's first month (31 = the month's
last day). Quarterly periods follow the calendar quarters; yearly ones the start month.
`kartoteka generate --until DATE` issues what is due.

Examples:
  kartoteka recurring add kiploks --period monthly --day 1 --start 2027-01-01 --line 'Maintenance plan=1 x 89.00 @ 21'
  kartoteka recurring add kiploks --unit Vecrīga --period quarterly --day 15 --start 2027-01-01 --end 2027-12-31 \\
      --due-in 30 --line 'Filter service=4 h x 45 @ 21' --note 'Contract 2027/17'"
    )]
    Add(RecurringAddArgs),
    /// End a template: nothing is issued after the day
    #[command(after_help = "Example:\n  kartoteka recurring end DD81FC2R1 --on 2027-06-30")]
    End {
        /// The template's code
        code: String,
        /// Last day an invoice may be issued
        #[arg(long)]
        on: NaiveDate,
    },
    /// List templates with their next date
    #[command(
        after_help = "Examples:\n  kartoteka recurring list\n  kartoteka recurring list --client kiploks --as-of 2027-03-01"
    )]
    List {
        /// Only this client's templates
        #[arg(long)]
        client: Option<String>,
        /// The day "next" is counted from [default: today]
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
}

/// `kartoteka recurring add`
#[derive(Debug, Args)]
pub(crate) struct RecurringAddArgs {
    #[command(flatten)]
    pub(crate) billed: BilledArgs,
    /// monthly, quarterly or yearly
    #[arg(long)]
    pub(crate) period: String,
    /// Day of the period's first month the invoice is issued on
    #[arg(long, default_value_t = 1)]
    pub(crate) day: u32,
    /// First day an invoice may be issued
    #[arg(long)]
    pub(crate) start: NaiveDate,
    /// Last day an invoice may be issued
    #[arg(long)]
    pub(crate) end: Option<NaiveDate>,
    /// Due this many days after issue [default: the client's terms]
    #[arg(long, value_name = "DAYS")]
    pub(crate) due_in: Option<u32>,
    /// Note on every invoice
    #[arg(long, default_value = "")]
    pub(crate) note: String,
}

/// `kartoteka generate`
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Issue every recurring invoice due up to and including this day
    #[arg(long)]
    pub(crate) until: NaiveDate,
    /// Only this client's templates
    #[arg(long)]
    pub(crate) client: Option<String>,
    /// Show what would be issued without storing anything
    #[arg(long)]
    pub(crate) dry_run: bool,
}
