//! Running a parsed command against the replica.

mod admin;
mod billing;
mod card;
mod clients;
mod dunning;
mod field;
mod recurring;
mod sync;
mod tour;
mod units;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use replica_store::Replica;

use crate::cli::{Cli, Command};
use crate::output::Output;

/// Runs one command.
pub(crate) fn run(cli: Cli) -> Result<()> {
    let home = match cli.home {
        Some(home) => home,
        None => default_home()?,
    };
    let mut output = Output::new(cli.json);
    match cli.command {
        Command::Init(args) => admin::init(&home, &args, &mut output)?,
        Command::Demo(crate::cli::DemoCommand::Tour) => tour::run(&mut output)?,
        command => {
            let mut replica = Replica::open(&home)
                .map_err(|error| explain_damage(error.into(), &home))
                .with_context(|| format!("cannot open the replica in {}", home.display()))?;
            dispatch(&mut replica, command, &mut output)
                .map_err(with_hint)
                .map_err(|error| explain_damage(error, &home))?;
        }
    }
    output.finish()
}

/// A damaged database file cannot be mended by any command of this replica:
/// say how to get the workspace back from the relay.
fn explain_damage(error: anyhow::Error, home: &std::path::Path) -> anyhow::Error {
    let damaged = error.chain().any(|cause| {
        cause
            .downcast_ref::<replica_store::StoreError>()
            .is_some_and(|store| store.is_damaged_database())
    });
    if !damaged {
        return error;
    }
    error.context(format!(
        "the replica's database file is damaged; restore it from the relay: move {} aside, then run `kartoteka init --workspace-id ID --device NAME` with this workspace's id (`kartoteka status` on another device) and this device's name, `kartoteka remote add URL --token TOKEN` and `kartoteka sync` (changes this device had not synced cannot be recovered)",
        home.display()
    ))
}

/// Adds the command that gets the user out of a library error, where one does.
fn with_hint(error: anyhow::Error) -> anyhow::Error {
    use replica_store::StoreError;
    let hint = match error.downcast_ref::<StoreError>() {
        Some(StoreError::SeriesHasDuplicates { .. }) => {
            "list them with `kartoteka invoice duplicates` and choose a fresh code with \
             `kartoteka invoice series CODE` (see `kartoteka invoice duplicates --help`)"
        }
        Some(StoreError::AmbiguousNumber { .. }) => {
            "the numbers are listed with `kartoteka invoice duplicates`"
        }
        Some(StoreError::DeviceTagShared { .. }) => {
            "set this device up again with `kartoteka init --workspace-id …` in a new directory"
        }
        _ => return error,
    };
    anyhow::anyhow!("{error:#}; {hint}")
}

fn dispatch(replica: &mut Replica, command: Command, output: &mut Output) -> Result<()> {
    match command {
        Command::Init(_) => bail!("a replica is already open"),
        Command::Status => admin::status(replica, output),
        Command::Catalog(args) => clients::catalog(replica, &args, output),
        Command::Client(command) => clients::run(replica, command, output),
        Command::Unit(command) => units::run(replica, command, output),
        Command::Group(command) => admin::group(replica, command, output),
        Command::Visit(command) => field::visit(replica, command, output),
        Command::Gallery(command) => field::gallery(replica, command, output),
        Command::Document(command) => field::document(replica, command, output),
        Command::Invoice(command) => billing::invoice(replica, command, output),
        Command::Statement(args) => billing::statement(replica, &args, output),
        Command::Recurring(command) => recurring::recurring(replica, command, output),
        Command::Generate(args) => recurring::generate(replica, &args, output),
        Command::Dunning(command) => dunning::run(replica, command, output),
        Command::Verify => field::verify(replica, output),
        Command::Config { max_file_bytes } => {
            if let Some(bytes) = max_file_bytes {
                replica.set_max_file_bytes(bytes)?;
            }
            let max_file_bytes = replica.max_file_bytes()?;
            if output.json {
                return output.json(&serde_json::json!({ "max_file_bytes": max_file_bytes }));
            }
            output.line(format!("max-file-bytes  {max_file_bytes}"))
        }
        Command::Conflicts(args) => admin::conflicts(replica, &args, output),
        Command::Company(command) => admin::company(replica, &command, output),
        Command::Reindex => admin::reindex(replica, output),
        Command::Remote(command) => sync::remote(replica, &command, output),
        Command::Sync { watch } => sync::sync(replica, watch, output),
        Command::Demo(command) => admin::demo(replica, &command, output),
    }
}

/// Today's date on this device: what cards and lists that depend on the date use
/// unless a command is given `--as-of`.
pub(crate) fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// The replica directory when neither `--home` nor `KARTOTEKA_HOME` is given.
fn default_home() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "kartoteka")
        .context("cannot find a data directory for this user; pass --home DIR")?;
    Ok(dirs.data_dir().to_owned())
}
