//! `kartoteka-relay`: the sync relay. The relay itself arrives with the sync work
//! (issue 3); until then this binary only describes itself.

use clap::Parser;

/// The Kartoteka sync relay: merges changes between replicas over websockets.
///
/// Not implemented yet: replicas work fully offline, and merge by exchanging
/// documents once the relay lands.
#[derive(Debug, Parser)]
#[command(name = "kartoteka-relay", version)]
struct Args {}

fn main() {
    Args::parse();
}
