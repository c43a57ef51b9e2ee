//! `remote …` and `sync`.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use replica_store::{BlobFetch, Replica};
use sync_client::{Progress, Remote, WatchEvent};

use crate::cli::{BlobsArg, RemoteCommand};
use crate::output::Output;

const URL_CONFIG: &str = "remote.url";
const TOKEN_CONFIG: &str = "remote.token";

pub(crate) fn remote(
    replica: &mut Replica,
    command: &RemoteCommand,
    output: &mut Output,
) -> Result<()> {
    if let RemoteCommand::Add { url, token, blobs } = command {
        // Validates the address before storing it.
        Remote::new(url, token)?;
        replica.set_config(URL_CONFIG, url.trim())?;
        replica.set_config(TOKEN_CONFIG, token.trim())?;
        replica.set_blob_fetch(match blobs {
            BlobsArg::Eager => BlobFetch::Eager,
            BlobsArg::Lazy => BlobFetch::Lazy,
        })?;
    }
    let url = replica.config(URL_CONFIG)?;
    let blobs = match replica.blob_fetch()? {
        BlobFetch::Eager => "eager",
        BlobFetch::Lazy => "lazy",
    };
    if output.json {
        return output.json(&serde_json::json!({
            "url": url,
            "peer_id": replica.meta().device_name,
            "blobs": blobs,
        }));
    }
    match url {
        Some(url) => output.line(format!(
            "Relay {url}; this device syncs as '{}'; blobs are fetched {}",
            replica.meta().device_name,
            if blobs == "eager" { "with every sync" } else { "on first use" }
        )),
        None => output
            .line("No relay configured; add one with `kartoteka remote add URL --token TOKEN`."),
    }
}

/// The configured relay.
pub(crate) fn configured_remote(replica: &Replica) -> Result<Remote> {
    let url = replica.config(URL_CONFIG)?.ok_or(sync_client::SyncError::NoRemote)?;
    let token = replica.config(TOKEN_CONFIG)?.ok_or(sync_client::SyncError::NoRemote)?;
    Ok(Remote::new(&url, &token)?)
}

pub(crate) fn sync(replica: &mut Replica, watch: bool, output: &mut Output) -> Result<()> {
    let remote = configured_remote(replica)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    if watch {
        return runtime.block_on(watch_until_interrupted(replica, &remote, output));
    }
    let bar = ProgressBar::hidden();
    let json = output.json;
    let mut progress = |event: Progress| match event {
        // Only a long initial sync is worth a bar; one in --json mode never is.
        Progress::Started { documents } if documents > 200 && !json => {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_length(documents as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} syncing documents {pos}/{len} [{elapsed}] {wide_bar}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
        }
        Progress::Started { .. } => {}
        Progress::Synced { done } => bar.set_position(done as u64),
    };
    let report = runtime
        .block_on(sync_client::sync_once(replica, &remote, &mut progress))
        .with_context(|| {
            format!(
                "sync with {} failed; your changes are kept and go out with the next sync",
                remote.key()
            )
        })?;
    bar.finish_and_clear();
    if output.json {
        return output.json(&report);
    }
    output.line(format!(
        "Synced {} documents with {} ({} received, {} sent; {} blobs up, {} down) in {:.1} s",
        report.documents_synced,
        remote.key(),
        report.documents_received,
        report.documents_sent,
        report.blobs_uploaded,
        report.blobs_downloaded,
        report.seconds
    ))
}

async fn watch_until_interrupted(
    replica: &mut Replica,
    remote: &Remote,
    output: &mut Output,
) -> Result<()> {
    let json = output.json;
    let mut on_event = |event: WatchEvent| {
        let line = match event {
            WatchEvent::Synced(report) => format!(
                "connected: {} documents synced ({} received, {} sent) in {:.1} s",
                report.documents_synced,
                report.documents_received,
                report.documents_sent,
                report.seconds
            ),
            WatchEvent::Activity { received, sent } => {
                format!("live: {received} received, {sent} sent")
            }
            WatchEvent::Disconnected { error, retry_in } => {
                format!("disconnected ({error}); retrying in {:.1} s", retry_in.as_secs_f64())
            }
        };
        if !json {
            // Progress lines go to stderr: stdout stays for the final summary.
            eprintln!("{line}");
        }
    };
    sync_client::watch(replica, remote, &mut on_event, interrupted()).await?;
    if json {
        return output.json(&serde_json::json!({ "stopped": true }));
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        if let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = terminate.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
