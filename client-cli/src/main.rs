//! `kartoteka`: the command-line client of Kartoteka.
//!
//! This binary is glue: it parses the command line (`cli`), opens the replica,
//! calls the library crates (`commands`), and prints tables or JSON (`output`).
//! It is the only crate of the workspace that prints to stdout.

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a CLI's job is to print")]

mod cli;
mod commands;
mod hints;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing(cli.verbose);
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // A closed pipe (`kartoteka catalog | head`) is how the reader says
            // "enough", not an error (the Unix convention ripgrep follows too).
            // Only a failed write of our own output counts: a broken pipe deeper
            // in the chain (a relay connection that broke) is a real failure.
            let stdout_closed = error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe);
            if stdout_closed {
                return ExitCode::SUCCESS;
            }
            match hints::fix(&error) {
                Some(fix) => eprintln!("error: {}; {fix}", describe(&error)),
                None => eprintln!("error: {}", describe(&error)),
            }
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each said once: a library error that quotes its
/// cause in its own message (`replica database error: file is not a database`)
/// is not followed by the cause again.
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let said = cause.to_string();
        // Said already, or only a code in front of what was just said
        // ("Error code 11: database disk image is malformed").
        let last_clause = said.rsplit(": ").next().unwrap_or(&said);
        if text.contains(&said) || text.ends_with(last_clause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    text
}

/// Logs go to stderr so that stdout stays one table or one JSON document.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that quotes its cause, as the libraries' `{0}` messages do.
    #[derive(Debug)]
    struct Quoting(std::io::Error);

    impl std::fmt::Display for Quoting {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "replica database error: {}", self.0)
        }
    }

    impl std::error::Error for Quoting {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_quoted_by_its_error_is_said_once() {
        let error = anyhow::Error::new(Quoting(std::io::Error::other("file is not a database")))
            .context("cannot open the replica");
        assert_eq!(
            describe(&error),
            "cannot open the replica: replica database error: file is not a database"
        );
    }

    #[test]
    fn a_broken_relay_connection_is_not_mistaken_for_a_closed_stdout() {
        let deep = anyhow::Error::new(Quoting(std::io::ErrorKind::BrokenPipe.into()));
        assert!(deep.downcast_ref::<std::io::Error>().is_none());
        let direct = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(direct.downcast_ref::<std::io::Error>().is_some());
    }
}
