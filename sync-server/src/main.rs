//! `kartoteka-relay`: the sync relay.
//!
//! `serve` runs it; `token` issues, lists and revokes device tokens in the same
//! data directory (the running relay sees new and revoked tokens at once).
//! The relay logic lives in `relay-core`; this binary is the web server around it
//! (`server`, `connection`, `blobs`).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "prints tokens and the listening address"
)]

mod blobs;
mod connection;
mod connection_limits;
mod listener;
mod server;
mod throttle;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use relay_core::RelayStore;

/// The Kartoteka sync relay: merges changes between replicas over websockets.
#[derive(Debug, Parser)]
#[command(
    name = "kartoteka-relay",
    version,
    after_help = "Examples:
  kartoteka-relay --data /var/lib/kartoteka serve --listen 0.0.0.0:8080
  kartoteka-relay --data /var/lib/kartoteka token issue --workspace <UUID> --device laptop-anna
  kartoteka-relay --data /var/lib/kartoteka token list
  kartoteka-relay --data /var/lib/kartoteka token revoke <TOKEN-ID>"
)]
struct Cli {
    /// Where the relay keeps its database and blobs
    #[arg(
        long,
        env = "KARTOTEKA_RELAY_DATA",
        default_value = "kartoteka-relay-data",
        global = true
    )]
    data: PathBuf,

    /// Log more (-v: info, -vv: debug); logs go to stderr. RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the relay
    Serve(ServeArgs),
    /// Device tokens
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed)
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Largest blob (photo, document) accepted, in bytes
    #[arg(long, default_value_t = server::DEFAULT_MAX_BLOB_BYTES)]
    max_blob_bytes: u64,
    /// Websocket connections served at once
    #[arg(long, default_value_t = server::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Websocket connections one workspace may have at once
    #[arg(long, default_value_t = connection_limits::DEFAULT_PER_WORKSPACE)]
    max_connections_per_workspace: usize,
    /// Bytes of unfinished blob uploads one workspace may keep
    #[arg(long, default_value_t = server::DEFAULT_MAX_STAGED_BYTES)]
    max_staged_bytes: u64,
    /// Seconds an unfinished blob upload is kept after its last byte arrived
    /// (expired uploads are removed at start and every minute)
    #[arg(long, default_value_t = 24 * 3_600)]
    staged_upload_seconds: u64,
    /// Serve HTTPS with this certificate chain (PEM); read again when it changes
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM)
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// The largest the relay's database may grow, in bytes; beyond it the relay
    /// refuses to store more and tells the devices so (default: no limit)
    #[arg(long)]
    max_database_bytes: Option<u64>,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a token for a device of a workspace (printed once; store it on the device)
    #[command(after_help = "The workspace id is what `kartoteka status` shows on a replica.
Example:
  kartoteka-relay token issue --workspace 0192e4c8-7b1a-4c3e-9f00-3d2a1b4c5d6e --device laptop-anna")]
    Issue {
        /// The workspace the token opens
        #[arg(long)]
        workspace: uuid::Uuid,
        /// The device (its peer id)
        #[arg(long)]
        device: String,
        /// Refuse the device's changes (it may only receive)
        #[arg(long)]
        read_only: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never their secrets)
    List {
        /// Only this workspace's
        #[arg(long)]
        workspace: Option<uuid::Uuid>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token; connections using it are closed within seconds
    Revoke {
        /// The token's id (as listed)
        id: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let store = RelayStore::open(&cli.data)
        .with_context(|| format!("cannot open the relay data in {}", cli.data.display()))?;
    match cli.command {
        Command::Serve(args) => {
            // Token checks and change-feed reads run on blocking threads; a small
            // pool bounds memory (each thread gets its own allocator arena) when
            // hundreds of devices connect at once.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .max_blocking_threads(8)
                .enable_all()
                .build()?;
            let config = server::ServerConfig {
                max_blob_bytes: args.max_blob_bytes,
                max_connections: args.max_connections,
                max_connections_per_workspace: args.max_connections_per_workspace,
                max_staged_bytes: args.max_staged_bytes,
                staged_upload_lifetime: std::time::Duration::from_secs(args.staged_upload_seconds),
                max_database_bytes: args.max_database_bytes,
            };
            let tls = match (args.tls_cert, args.tls_key) {
                (Some(cert), Some(key)) => Some(server::TlsFiles { cert, key }),
                _ => None,
            };
            runtime.block_on(server::serve(store, args.listen, config, tls))
        }
        Command::Token(command) => token(&store, command),
    }
}

fn token(store: &RelayStore, command: TokenCommand) -> Result<()> {
    let conn = store.open_connection()?;
    match command {
        TokenCommand::Issue { workspace, device, read_only, json } => {
            anyhow::ensure!(!device.trim().is_empty(), "the device name must not be empty");
            let (record, token) =
                conn.issue_token(workspace, &device, read_only, chrono::Utc::now())?;
            if json {
                println!("{}", serde_json::json!({ "token": token, "record": record }));
            } else {
                println!("{token}");
                eprintln!(
                    "Token {} for device {} of workspace {}{}.",
                    record.id,
                    record.device,
                    record.workspace,
                    if read_only { " (read-only)" } else { "" }
                );
                eprintln!("On the device: kartoteka remote add <RELAY-URL> --token <TOKEN>");
            }
        }
        TokenCommand::List { workspace, json } => {
            let tokens = conn.list_tokens(workspace)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                for token in tokens {
                    let state = match (&token.revoked_at, token.read_only) {
                        (Some(at), _) => format!("revoked {at}"),
                        (None, true) => "read-only".to_owned(),
                        (None, false) => "read-write".to_owned(),
                    };
                    println!(
                        "{}  {}  {}  issued {}  {}",
                        token.id, token.workspace, token.device, token.issued_at, state
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            conn.revoke_token(&id, chrono::Utc::now())?;
            println!("Revoked {id}.");
        }
    }
    Ok(())
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn,kartoteka_relay=info,relay_core=info",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
