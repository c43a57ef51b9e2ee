//! The command line, as clap types: what users can type, with help and examples.
//! Nothing here touches a replica; `commands` turns these values into actions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(crate) mod billing;

/// Kartoteka: client management that works offline.
///
/// Every device keeps a full replica of the company's clients. Commands work
/// without a network; changes merge with other replicas when they sync.
#[derive(Debug, Parser)]
#[command(name = "kartoteka", version, propagate_version = true, after_help = EXAMPLES)]
pub(crate) struct Cli {
    /// The replica directory [default: the platform's data directory]
    #[arg(long, global = true, env = "KARTOTEKA_HOME", value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,

    /// Print exactly one JSON document instead of a table
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Log more (-v: info, -vv: debug); logs go to stderr. RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    #[command(subcommand)]
    pub(crate) command: Command,
}

const EXAMPLES: &str = "Examples:
  kartoteka init --workspace \"Serviss SIA\" --device laptop-anna
  kartoteka client add --name \"Ķiploks SIA\" --city Rīga --email birojs@kiploks.lv
  kartoteka catalog ber
  kartoteka client show kiploks
  kartoteka demo generate --clients 29000";

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per process; boxing buys nothing")]
pub(crate) enum Command {
    /// Create a replica: name the workspace (the company) and this device
    #[command(after_help = "Examples:
  kartoteka init --workspace \"Serviss SIA\" --device office-riga
  kartoteka --home ~/kartoteka-test init --workspace Test --device laptop
  kartoteka init --workspace-id 0192e4c8-7b1a-4c3e-9f00-3d2a1b4c5d6e --device laptop-otto")]
    Init(InitArgs),
    /// Show what the replica holds
    #[command(after_help = "Example:\n  kartoteka status --json")]
    Status,
    /// List and search clients (`*` or nothing lists everyone)
    #[command(after_help = "Examples:
  kartoteka catalog                 every active client, by name
  kartoteka catalog ber             clients with a word starting with \"ber\" (Bērziņš, Berlin, …)
  kartoteka catalog 'müller münch'  every word must match
  kartoteka catalog '*' --sort city --group \"Key accounts\"
  kartoteka catalog --sort overdue --limit 20     who owes the most past due
  kartoteka catalog --sort turnover --limit 20    the biggest clients of the last 12 months
  kartoteka catalog --archived")]
    Catalog(CatalogArgs),
    /// Clients: add, show the card, edit the profile and its lists
    #[command(subcommand)]
    Client(ClientCommand),
    /// Units (sites, branches) of a client
    #[command(subcommand)]
    Unit(UnitCommand),
    /// Client groups
    #[command(subcommand)]
    Group(GroupCommand),
    /// Visits at client units: record (offline), list, show
    #[command(subcommand)]
    Visit(VisitCommand),
    /// Photos and files of a client, grouped by unit
    #[command(subcommand)]
    Gallery(GalleryCommand),
    /// Documents of a client (contracts, offers, letters)
    #[command(subcommand)]
    Document(DocumentCommand),
    /// Invoices: drafts, issuing, payments, credit notes, number series
    #[command(subcommand)]
    Invoice(billing::InvoiceCommand),
    /// A client's statement of account: invoices, payments, credit notes, running balance
    #[command(after_help = "Examples:
  kartoteka statement kiploks --from 2026-01-01 --to 2026-12-31
  kartoteka statement kiploks --json")]
    Statement(billing::StatementArgs),
    /// Recurring invoices: templates per client or unit
    #[command(subcommand)]
    Recurring(billing::RecurringCommand),
    /// Issue every recurring invoice due up to a day that is not issued yet
    #[command(
        after_help = "Two replicas generating the same period offline end up with one invoice after
sync: its id and number come from the template and the period.

Examples:
  kartoteka generate --until 2027-01-31 --dry-run
  kartoteka generate --until 2027-01-31
  kartoteka generate --until 2027-12-31 --client kiploks"
    )]
    Generate(billing::GenerateArgs),
    /// Dunning: reminders and notices for overdue invoices, policies, base rates, blocks
    #[command(subcommand)]
    Dunning(billing::DunningCommand),
    /// Check the database file, the query tables against the documents, and every stored photo and file against its hash
    #[command(
        after_help = "Example:\n  kartoteka verify       (says what is damaged and which command mends it: `reindex`, `sync`, or a restore from the relay)"
    )]
    Verify,
    /// Replica settings: the largest file accepted
    #[command(after_help = "Examples:
  kartoteka config                          show the settings
  kartoteka config --max-file-bytes 20000000")]
    Config {
        /// The largest photo or file this replica accepts, in bytes
        #[arg(long)]
        max_file_bytes: Option<u64>,
    },
    /// Fields edited concurrently on two devices, and their resolution
    Conflicts(ConflictsArgs),
    /// Company details printed on invoices and letters
    #[command(subcommand)]
    Company(CompanyCommand),
    /// Rebuild the query tables from the documents
    #[command(
        after_help = "Example:\n  kartoteka reindex      (after a crash or an upgrade; the documents are not touched)"
    )]
    Reindex,
    /// The relay this replica syncs with
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Sync with the relay: send what changed here, receive what changed elsewhere
    #[command(after_help = "Examples:
  kartoteka sync                 one round, then exit
  kartoteka sync --json          one round, and a JSON summary
  kartoteka sync --watch         stay connected: push edits as they happen, apply others' live")]
    Sync {
        /// Stay connected until interrupted (Ctrl-C)
        #[arg(long)]
        watch: bool,
    },
    /// Demo data
    #[command(subcommand)]
    Demo(DemoCommand),
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The company whose data this is (required for a new workspace)
    #[arg(long, value_name = "NAME", required_unless_present = "workspace_id")]
    pub(crate) workspace: Option<String>,
    /// This device's name, e.g. laptop-anna
    #[arg(long, value_name = "NAME")]
    pub(crate) device: String,
    /// Join an existing workspace instead of starting a new one
    #[arg(long, value_name = "UUID")]
    pub(crate) workspace_id: Option<uuid::Uuid>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum SortColumn {
    /// Name (ā sorts with a, ß with ss)
    Name,
    /// City, then name
    City,
    /// Registration number or personal code
    Code,
    /// Latest visit, most recent first
    LastVisit,
    /// Net turnover of the last 12 months (workspace currency), largest first
    Turnover,
    /// Overdue balance (workspace currency), largest first
    Overdue,
}

#[derive(Debug, Args)]
pub(crate) struct CatalogArgs {
    /// Words to search for, as prefixes; `*` lists every client
    #[arg(value_name = "TEXT", default_value = "*")]
    pub(crate) text: Vec<String>,
    /// Only clients of this group (name or id)
    #[arg(long, value_name = "GROUP")]
    pub(crate) group: Option<String>,
    /// Only archived clients
    #[arg(long, conflicts_with = "all")]
    pub(crate) archived: bool,
    /// Active and archived clients
    #[arg(long)]
    pub(crate) all: bool,
    /// Sort column
    #[arg(long, value_enum, default_value = "name")]
    pub(crate) sort: SortColumn,
    /// Reverse the order
    #[arg(long)]
    pub(crate) desc: bool,
    /// Show at most this many clients
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<usize>,
    /// The day turnover and overdue balances are computed for [default: today]
    #[arg(long, value_name = "DATE")]
    pub(crate) as_of: Option<chrono::NaiveDate>,
}

/// Profile fields, shared by `client add` and `client edit`. An empty value
/// clears a field: `--vat-id ''`.
#[derive(Debug, Args, Default)]
pub(crate) struct ProfileArgs {
    /// Company name (or a display name for a person)
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// First name of a person
    #[arg(long)]
    pub(crate) first_name: Option<String>,
    /// Last name of a person
    #[arg(long)]
    pub(crate) last_name: Option<String>,
    /// Registration number
    #[arg(long)]
    pub(crate) reg_no: Option<String>,
    /// Personal code of a person
    #[arg(long)]
    pub(crate) personal_code: Option<String>,
    /// VAT identification number
    #[arg(long)]
    pub(crate) vat_id: Option<String>,
    /// Industry
    #[arg(long)]
    pub(crate) industry: Option<String>,
    /// Street and number of the postal address
    #[arg(long)]
    pub(crate) street: Option<String>,
    /// City of the postal address
    #[arg(long)]
    pub(crate) city: Option<String>,
    /// Postal code
    #[arg(long)]
    pub(crate) postal_code: Option<String>,
    /// Region, county or state
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// Country, two-letter ISO code (LV, DE, EE)
    #[arg(long)]
    pub(crate) country: Option<String>,
    /// Who invoices are addressed to, when not the client's name
    #[arg(long)]
    pub(crate) billing_recipient: Option<String>,
    /// Billing address: street
    #[arg(long)]
    pub(crate) billing_street: Option<String>,
    /// Billing address: city
    #[arg(long)]
    pub(crate) billing_city: Option<String>,
    /// Billing address: postal code
    #[arg(long)]
    pub(crate) billing_postal_code: Option<String>,
    /// Billing address: region
    #[arg(long)]
    pub(crate) billing_region: Option<String>,
    /// Billing address: country code
    #[arg(long)]
    pub(crate) billing_country: Option<String>,
    /// Where invoices are e-mailed
    #[arg(long)]
    pub(crate) billing_email: Option<String>,
    /// Days from issue to due date
    #[arg(long, value_name = "DAYS")]
    pub(crate) payment_terms: Option<String>,
    /// Invoice currency (ISO code, e.g. EUR)
    #[arg(long)]
    pub(crate) currency: Option<String>,
    /// Comments (replaces them; concurrent edits merge character by character)
    #[arg(long)]
    pub(crate) comments: Option<String>,
    /// Put the client in this group (name or id)
    #[arg(long, value_name = "GROUP", conflicts_with = "no_group")]
    pub(crate) group: Option<String>,
    /// Take the client out of its group
    #[arg(long)]
    pub(crate) no_group: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Add a client
    #[command(after_help = "Examples:
  kartoteka client add --name \"Ķiploks SIA\" --reg-no 40003000001 --vat-id LV40003000001 --city Rīga
  kartoteka client add --person --first-name Jānis --last-name Bērziņš --phone '+371 2912 3456'
  kartoteka client add --name \"Müller GmbH\" --country DE --email info@mueller.de --iban 'DE44 5001 0517 5407 3249 31'")]
    Add(ClientAddArgs),
    /// Show the client card
    #[command(after_help = "CLIENT is an id prefix (as the catalog shows it) or the exact name.
Examples:
  kartoteka client show 3f2a9c1e
  kartoteka client show \"Ķiploks SIA\" --json")]
    Show {
        /// The client: id prefix or exact name
        client: String,
        /// Read the card as of this date (YYYY-MM-DD): which 12 months the visit summary covers
        #[arg(long, value_name = "DATE")]
        as_of: Option<chrono::NaiveDate>,
    },
    /// Print the automerge-repo URLs of the client's documents
    #[command(
        after_help = "An automerge-repo peer with a device token opens these with repo.find(url);
the client document holds the profile, units, visits and templates, each
invoices document one year of invoices, payments and dunning.
Example:
  kartoteka client urls kiploks"
    )]
    Urls {
        /// The client: id prefix or exact name
        client: String,
    },
    /// Edit profile fields
    #[command(after_help = "Examples:
  kartoteka client edit kiploks --vat-id LV40003000001 --city Jūrmala
  kartoteka client edit 3f2a9c1e --comments 'Keys at the reception.'
  kartoteka client edit 3f2a9c1e --group \"Key accounts\"
  kartoteka client edit 3f2a9c1e --industry ''      clears the industry")]
    Edit {
        /// The client: id prefix or exact name
        client: String,
        #[command(flatten)]
        profile: ProfileArgs,
        /// Change the kind
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
    },
    /// Archive a client: it leaves the default catalog but keeps its history
    #[command(after_help = "Example:\n  kartoteka client archive 3f2a9c1e")]
    Archive {
        /// The client
        client: String,
    },
    /// Bring an archived client back
    #[command(
        after_help = "Example:\n  kartoteka client unarchive 3f2a9c1e      (archived clients: kartoteka catalog --archived)"
    )]
    Unarchive {
        /// The client
        client: String,
    },
    /// Add a phone number
    #[command(
        after_help = "Example:\n  kartoteka client add-phone kiploks '+371 2912 3456' --label mobile"
    )]
    AddPhone(ChannelArgs),
    /// Add an e-mail address
    #[command(
        after_help = "Example:\n  kartoteka client add-email kiploks rekini@kiploks.lv --label invoices"
    )]
    AddEmail(ChannelArgs),
    /// Add a web address
    #[command(after_help = "Example:\n  kartoteka client add-web kiploks https://kiploks.lv")]
    AddWeb(ChannelArgs),
    /// Remove a phone, e-mail or web address (by its value or entry id)
    #[command(after_help = "Example:\n  kartoteka client remove-channel kiploks '+371 2912 3456'")]
    RemoveChannel {
        /// The client
        client: String,
        /// The number, address, or entry id
        entry: String,
    },
    /// Add a contact person
    #[command(
        after_help = "Example:\n  kartoteka client add-contact kiploks --name 'Inga Liepa' --role chef --phone '+371 2000 0000'"
    )]
    AddContact {
        /// The client
        client: String,
        #[command(flatten)]
        contact: ContactArgs,
    },
    /// Change a contact person
    #[command(
        after_help = "Example:\n  kartoteka client edit-contact kiploks 'Inga Liepa' --phone '+371 2000 0001'"
    )]
    EditContact {
        /// The client
        client: String,
        /// The contact: name or entry id
        contact: String,
        #[command(flatten)]
        fields: ContactEditArgs,
    },
    /// Remove a contact person
    #[command(after_help = "Example:\n  kartoteka client remove-contact kiploks 'Inga Liepa'")]
    RemoveContact {
        /// The client
        client: String,
        /// The contact: name or entry id
        contact: String,
    },
    /// Add a bank account (the IBAN's check digits are verified)
    #[command(
        after_help = "Example:\n  kartoteka client add-bank kiploks 'LV80 BANK 0000 4351 9500 1' --bic HABALV22 --bank Swedbank"
    )]
    AddBank {
        /// The client
        client: String,
        /// IBAN (spaces allowed)
        iban: String,
        /// BIC (SWIFT code)
        #[arg(long)]
        bic: Option<String>,
        /// Bank name
        #[arg(long = "bank", value_name = "NAME")]
        bank_name: Option<String>,
    },
    /// Remove a bank account (by IBAN or entry id)
    #[command(
        after_help = "Example:\n  kartoteka client remove-bank kiploks 'LV80 BANK 0000 4351 9500 1'"
    )]
    RemoveBank {
        /// The client
        client: String,
        /// IBAN or entry id
        account: String,
    },
    /// Set a special setting (free key and value)
    #[command(after_help = "Example:\n  kartoteka client set kiploks visit.window '08:00-12:00'")]
    Set {
        /// The client
        client: String,
        /// Setting key
        key: String,
        /// Setting value
        value: String,
    },
    /// Remove a special setting
    #[command(after_help = "Example:\n  kartoteka client unset kiploks visit.window")]
    Unset {
        /// The client
        client: String,
        /// Setting key
        key: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum KindArg {
    /// A company
    Company,
    /// A natural person
    Person,
}

#[derive(Debug, Args)]
pub(crate) struct ClientAddArgs {
    /// The client is a natural person (first and last name, personal code)
    #[arg(long)]
    pub(crate) person: bool,
    #[command(flatten)]
    pub(crate) profile: ProfileArgs,
    /// Phone number (repeat for several)
    #[arg(long = "phone", value_name = "NUMBER")]
    pub(crate) phones: Vec<String>,
    /// E-mail address (repeat for several)
    #[arg(long = "email", value_name = "ADDRESS")]
    pub(crate) emails: Vec<String>,
    /// Web address (repeat for several)
    #[arg(long = "web", value_name = "URL")]
    pub(crate) webs: Vec<String>,
    /// Bank account IBAN
    #[arg(long)]
    pub(crate) iban: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ChannelArgs {
    /// The client
    pub(crate) client: String,
    /// The number or address
    pub(crate) value: String,
    /// A label such as office or mobile
    #[arg(long, default_value = "")]
    pub(crate) label: String,
}

#[derive(Debug, Args)]
pub(crate) struct ContactArgs {
    /// Full name
    #[arg(long)]
    pub(crate) name: String,
    /// Role or position
    #[arg(long, default_value = "")]
    pub(crate) role: String,
    /// Phone
    #[arg(long, default_value = "")]
    pub(crate) phone: String,
    /// E-mail
    #[arg(long, default_value = "")]
    pub(crate) email: String,
}

#[derive(Debug, Args)]
pub(crate) struct ContactEditArgs {
    /// Full name
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Role or position
    #[arg(long)]
    pub(crate) role: Option<String>,
    /// Phone
    #[arg(long)]
    pub(crate) phone: Option<String>,
    /// E-mail
    #[arg(long)]
    pub(crate) email: Option<String>,
}

/// Unit fields, shared by `unit add` and `unit edit`.
#[derive(Debug, Args, Default)]
pub(crate) struct UnitFieldArgs {
    /// Street and number
    #[arg(long)]
    pub(crate) street: Option<String>,
    /// City
    #[arg(long)]
    pub(crate) city: Option<String>,
    /// Postal code
    #[arg(long)]
    pub(crate) postal_code: Option<String>,
    /// Region
    #[arg(long)]
    pub(crate) region: Option<String>,
    /// Country code
    #[arg(long)]
    pub(crate) country: Option<String>,
    /// Phone of the unit
    #[arg(long)]
    pub(crate) phone: Option<String>,
    /// E-mail of the unit
    #[arg(long)]
    pub(crate) email: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UnitCommand {
    /// Add a unit to a client
    #[command(after_help = "Examples:
  kartoteka unit add kiploks --name 'Restorāns Vecrīga' --street 'Kaļķu iela 10' --city Rīga --main
  kartoteka unit add kiploks --name Noliktava --inactive")]
    Add {
        /// The client
        client: String,
        /// Unit name
        #[arg(long)]
        name: String,
        #[command(flatten)]
        fields: UnitFieldArgs,
        /// Add it as inactive
        #[arg(long)]
        inactive: bool,
        /// Make it the main unit (the card opens on it)
        #[arg(long)]
        main: bool,
    },
    /// List a client's units: active first, inactive last
    #[command(after_help = "Example:\n  kartoteka unit list kiploks")]
    List {
        /// The client
        client: String,
    },
    /// Edit a unit
    #[command(
        after_help = "Example:\n  kartoteka unit edit kiploks Vecrīga --phone '+371 6700 0000'"
    )]
    Edit {
        /// The client
        client: String,
        /// The unit: name or id prefix
        unit: String,
        /// New name
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: UnitFieldArgs,
    },
    /// Mark a unit active
    #[command(after_help = "Example:\n  kartoteka unit activate kiploks Noliktava")]
    Activate {
        /// The client
        client: String,
        /// The unit
        unit: String,
    },
    /// Mark a unit inactive (it is listed last)
    #[command(after_help = "Example:\n  kartoteka unit deactivate kiploks Noliktava")]
    Deactivate {
        /// The client
        client: String,
        /// The unit
        unit: String,
    },
    /// Make a unit the main unit (the card opens on it)
    #[command(after_help = "Example:\n  kartoteka unit main kiploks 'Restorāns Vecrīga'")]
    Main {
        /// The client
        client: String,
        /// The unit
        unit: String,
    },
    /// Add a contact person to a unit
    #[command(
        after_help = "Example:\n  kartoteka unit add-contact kiploks Vecrīga --name 'Pēteris Ozols' --role manager"
    )]
    AddContact {
        /// The client
        client: String,
        /// The unit
        unit: String,
        #[command(flatten)]
        contact: ContactArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum VisitCommand {
    /// Record a visit (works offline; touches only that client's data)
    #[command(after_help = "Times without an offset are this device's local time.
Examples:
  kartoteka visit add kiploks --unit Vecrīga --start 2026-11-22T09:00 --end 2026-11-22T10:30 \\
      --technician Anna --kind breakdown --status done \\
      --item 'Replaced compressor relay=1 pcs' --item 'Diagnostics=1.5 h' \\
      --notes 'Relay burnt; ordered a spare.' --photo relay.jpg --photo panel.jpg")]
    Add(VisitAddArgs),
    /// List visits by client, unit, technician and date range, sorted by date
    #[command(after_help = "Examples:
  kartoteka visit list --client kiploks
  kartoteka visit list --client kiploks --unit Vecrīga --month 2026-11
  kartoteka visit list --technician Anna --from 2026-11-01 --to 2026-11-30")]
    List(VisitListArgs),
    /// Show one visit with its work items and files
    #[command(after_help = "Example:\n  kartoteka visit show 0736947d")]
    Show {
        /// The visit: id prefix
        visit: String,
    },
    /// Change a visit's status
    #[command(after_help = "Example:\n  kartoteka visit status 0736947d partly_done")]
    Status {
        /// The visit: id prefix
        visit: String,
        /// planned, done or partly_done
        status: String,
    },
    /// Replace a visit's notes (concurrent edits merge character by character)
    #[command(
        after_help = "Example:\n  kartoteka visit notes 0736947d 'Relay burnt; spare ordered.'"
    )]
    Notes {
        /// The visit: id prefix
        visit: String,
        /// The notes
        notes: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct VisitAddArgs {
    /// The client
    pub(crate) client: String,
    /// The unit visited (name or id prefix); may be left out for a client without units
    #[arg(long)]
    pub(crate) unit: Option<String>,
    /// Start, e.g. 2026-11-22T09:00 (local time) or 2026-11-22T09:00+02:00
    #[arg(long)]
    pub(crate) start: String,
    /// End, e.g. 2026-11-22T10:30
    #[arg(long)]
    pub(crate) end: String,
    /// Who went [default: this device's name]
    #[arg(long)]
    pub(crate) technician: Option<String>,
    /// scheduled, unscheduled or breakdown
    #[arg(long, default_value = "scheduled")]
    pub(crate) kind: String,
    /// planned, done or partly_done
    #[arg(long, default_value = "done")]
    pub(crate) status: String,
    /// Work done: 'description=quantity unit' (repeat for several)
    #[arg(long = "item", value_name = "WORK")]
    pub(crate) items: Vec<String>,
    /// Notes
    #[arg(long, default_value = "")]
    pub(crate) notes: String,
    /// A photo or file to attach (repeat for several)
    #[arg(long = "photo", value_name = "FILE")]
    pub(crate) photos: Vec<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct VisitListArgs {
    /// Only this client's visits
    #[arg(long)]
    pub(crate) client: Option<String>,
    /// Only this unit's visits (needs --client)
    #[arg(long, requires = "client")]
    pub(crate) unit: Option<String>,
    /// Only this technician's visits
    #[arg(long)]
    pub(crate) technician: Option<String>,
    /// From this date (YYYY-MM-DD)
    #[arg(long)]
    pub(crate) from: Option<chrono::NaiveDate>,
    /// Up to this date (YYYY-MM-DD)
    #[arg(long)]
    pub(crate) to: Option<chrono::NaiveDate>,
    /// Only this month (YYYY-MM)
    #[arg(long)]
    pub(crate) month: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum GalleryCommand {
    /// Add photos or files to a unit's gallery (or the client's own)
    #[command(after_help = "Examples:
  kartoteka gallery add kiploks --unit Vecrīga kitchen.jpg hall.jpg --caption 'Before renovation'
  kartoteka gallery add kiploks contract-scan.pdf")]
    Add {
        /// The client
        client: String,
        /// Files to add
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// The unit's gallery (name or id prefix) [default: the client's own]
        #[arg(long)]
        unit: Option<String>,
        /// The visit they belong to (id prefix)
        #[arg(long)]
        visit: Option<String>,
        /// Caption for all of them
        #[arg(long, default_value = "")]
        caption: String,
    },
    /// List a client's galleries, one unit's (`--unit -` for the client's own), or a visit's
    #[command(
        after_help = "Examples:\n  kartoteka gallery list kiploks\n  kartoteka gallery list kiploks --unit Vecrīga\n  kartoteka gallery list kiploks --visit 0736947d"
    )]
    List {
        /// The client
        client: String,
        /// The unit (name or id prefix; `-` for the client's own gallery)
        #[arg(long)]
        unit: Option<String>,
        /// The visit (id prefix)
        #[arg(long)]
        visit: Option<String>,
    },
    /// Copy files out of a gallery (verified against their hashes)
    #[command(after_help = "Examples:
  kartoteka gallery export kiploks --to ./photos                whole galleries
  kartoteka gallery export kiploks --unit Vecrīga --to ./photos
  kartoteka gallery export kiploks --item 1a2b3c4d --to .")]
    Export {
        /// The client
        client: String,
        /// Where to put the files
        #[arg(long)]
        to: std::path::PathBuf,
        /// Only this unit's gallery (`-` for the client's own)
        #[arg(long)]
        unit: Option<String>,
        /// Only this item (id prefix or file name)
        #[arg(long)]
        item: Option<String>,
    },
    /// Remove an item from its gallery (the bytes stay while anything references them)
    #[command(after_help = "Example:\n  kartoteka gallery remove kiploks kitchen.jpg")]
    Remove {
        /// The client
        client: String,
        /// The item (id prefix or file name)
        item: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DocumentCommand {
    /// Add a document from a file
    #[command(after_help = "Example:
  kartoteka document add kiploks contract-2027.pdf --kind contract --date 2026-11-20 --name 'Service contract 2027'")]
    Add {
        /// The client
        client: String,
        /// The file
        file: std::path::PathBuf,
        /// Its name [default: the file name]
        #[arg(long)]
        name: Option<String>,
        /// contract, offer, dunning_letter, invoice, report, other
        #[arg(long, default_value = "other")]
        kind: String,
        /// Its date (YYYY-MM-DD) [default: today]
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// The unit it concerns
        #[arg(long)]
        unit: Option<String>,
        /// The invoice it belongs to
        #[arg(long)]
        invoice: Option<String>,
        /// The visit it belongs to (id prefix)
        #[arg(long)]
        visit: Option<String>,
    },
    /// List a client's documents
    #[command(after_help = "Example:\n  kartoteka document list kiploks")]
    List {
        /// The client
        client: String,
    },
    /// Copy a document out (verified against its hash)
    #[command(
        after_help = "Example:\n  kartoteka document export kiploks 'Service contract 2027' --to ."
    )]
    Export {
        /// The client
        client: String,
        /// The document (id prefix or name)
        document: String,
        /// Where to put it
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Remove a document
    #[command(after_help = "Example:\n  kartoteka document remove kiploks 'Service contract 2027'")]
    Remove {
        /// The client
        client: String,
        /// The document (id prefix or name)
        document: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum GroupCommand {
    /// Create a client group
    #[command(after_help = "Example:\n  kartoteka group add 'Restaurant chains'")]
    Add {
        /// Group name
        name: String,
    },
    /// Rename a group
    #[command(
        after_help = "Example:\n  kartoteka group rename 'Restaurant chains' 'Restorānu ķēdes'"
    )]
    Rename {
        /// The group: name or id prefix
        group: String,
        /// New name
        name: String,
    },
    /// List groups with their number of clients
    #[command(after_help = "Example:\n  kartoteka group list --json")]
    List,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  kartoteka conflicts                       every conflicted field
  kartoteka conflicts kiploks               one client's
  kartoteka conflicts kiploks --resolve /profile/industry --pick 2
  kartoteka conflicts kiploks --resolve /profile/industry --value 'Restaurant & catering'")]
pub(crate) struct ConflictsArgs {
    /// Only this client's conflicts (`groups` or `workspace` for those documents)
    pub(crate) client: Option<String>,
    /// Resolve the conflict of this field (as listed, e.g. /profile/name)
    #[arg(long, value_name = "FIELD", requires = "client")]
    pub(crate) resolve: Option<String>,
    /// Keep the value at this position (1 = first listed)
    #[arg(long, value_name = "N", requires = "resolve", conflicts_with = "value")]
    pub(crate) pick: Option<usize>,
    /// Write this value instead
    #[arg(long, requires = "resolve")]
    pub(crate) value: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RemoteCommand {
    /// Set the relay and this device's token (issued with `kartoteka-relay token issue --device <this device>`)
    #[command(after_help = "Examples:
  kartoteka remote add https://relay.example.com --token kt1_…
  kartoteka remote add https://relay.office.lan --token kt1_… --ca-file company-ca.pem
  kartoteka remote add http://127.0.0.1:8080 --token kt1_…       (plain http only to this machine, unless --insecure)")]
    Add {
        /// The relay's address (http://host:port or https://host)
        url: String,
        /// This device's token
        #[arg(long, env = "KARTOTEKA_TOKEN")]
        token: String,
        /// When to download photos and files: with every sync, or on first use
        #[arg(long, value_enum, default_value = "eager")]
        blobs: BlobsArg,
        /// Also trust the certificate authorities in this PEM file for the relay
        /// (a company's own CA); the system's are always trusted
        #[arg(long, value_name = "FILE")]
        ca_file: Option<std::path::PathBuf>,
        /// Allow plain http to a relay on another machine (the token then travels
        /// unencrypted)
        #[arg(long)]
        insecure: bool,
    },
    /// Show the relay (never the token)
    #[command(after_help = "Example:\n  kartoteka remote show")]
    Show,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum BlobsArg {
    /// Download with every sync
    Eager,
    /// Download on first use
    Lazy,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CompanyCommand {
    /// Set a company detail: name, reg_no, vat_id, street, city, postal_code, country, iban, bic, email, phone
    #[command(after_help = "Example:\n  kartoteka company set vat_id LV40003999999")]
    Set {
        /// Detail key
        key: String,
        /// Value
        value: String,
    },
    /// Show the company details
    #[command(after_help = "Example:\n  kartoteka company show")]
    Show,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DemoCommand {
    /// Show the product in one run: two devices edit offline, merge, and agree
    #[command(
        after_help = "Example:\n  kartoteka demo tour      (uses a temporary directory; --home is ignored)"
    )]
    Tour,
    /// Fill the replica with deterministic demo clients and units
    #[command(after_help = "Examples:
  kartoteka demo generate --clients 500
  kartoteka demo generate --clients 29000 --visits 200000 --invoices 300000 --seed 7     the seed's scale (~87,000 units)")]
    Generate {
        /// Number of clients
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// Number of visits, spread over the clients' units (the seed's scale: 200000)
        #[arg(long, default_value_t = 0)]
        visits: usize,
        /// Number of invoices with payments over the last three years (the seed's scale: 300000)
        #[arg(long, default_value_t = 0)]
        invoices: usize,
        /// The date the visits and invoices lead up to (YYYY-MM-DD) [default: today]
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
        /// Seed; the same seed gives the same clients
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every command a user can run shows examples in its `--help`.
    #[test]
    fn every_command_has_examples() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", command.get_name());
            let leaf = command.get_subcommands().next().is_none();
            let has_examples =
                command.get_after_help().is_some_and(|help| help.to_string().contains("Example"));
            if leaf && !has_examples {
                missing.push(path.clone());
            }
            for subcommand in command.get_subcommands() {
                walk(subcommand, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "commands without examples:\n{}", missing.join("\n"));
    }
}
