//! `remote …` and `sync`.

use anyhow::{Context, Result};
use replica_store::{BlobFetch, Replica};
use sync_client::{Direction, Progress, Remote, SyncError, Transport, WatchEvent};

use crate::cli::{BlobsArg, RemoteCommand};
use crate::output::Output;
use crate::progress::StepProgress;

const URL_CONFIG: &str = "remote.url";
const TOKEN_CONFIG: &str = "remote.token";
/// Extra certificate authorities for the relay (PEM text, from `--ca-file`).
const CA_CONFIG: &str = "remote.ca";
/// "true" when plain http to another machine was allowed with `--insecure`.
const INSECURE_CONFIG: &str = "remote.insecure";

pub(crate) fn remote(
    replica: &mut Replica,
    command: &RemoteCommand,
    output: &mut Output,
) -> Result<()> {
    if let RemoteCommand::Add { url, token, blobs, ca_file, insecure } = command {
        let ca_pem = match ca_file {
            Some(path) => Some(std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the certificate authority {}", path.display())
            })?),
            None => None,
        };
        let transport = Transport { ca_pem, allow_insecure: *insecure };
        // Validates the address and the certificates before storing them.
        Remote::new(url, token, &transport).map_err(|error| match error {
            SyncError::Insecure(_) => anyhow::Error::new(error).context(
                "use the relay's https:// address, or pass --insecure if this network is trusted",
            ),
            error => error.into(),
        })?;
        replica.set_config(URL_CONFIG, url.trim())?;
        replica.set_config(TOKEN_CONFIG, token.trim())?;
        replica.set_config(CA_CONFIG, transport.ca_pem.as_deref().unwrap_or_default())?;
        replica.set_config(INSECURE_CONFIG, if *insecure { "true" } else { "" })?;
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
    let transport = Transport {
        ca_pem: replica.config(CA_CONFIG)?.filter(|pem| !pem.is_empty()),
        allow_insecure: replica.config(INSECURE_CONFIG)?.as_deref() == Some("true"),
    };
    Ok(Remote::new(&url, &token, &transport)?)
}

pub(crate) fn sync(replica: &mut Replica, watch: bool, output: &mut Output) -> Result<()> {
    let remote = configured_remote(replica)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    if watch {
        return runtime.block_on(watch_until_interrupted(replica, &remote, output));
    }
    let json = output.json;
    let mut bar: Option<StepProgress> = None;
    let mut download: Option<StepProgress> = None;
    let mut files: Option<StepProgress> = None;
    let mut progress = |event: Progress| match event {
        Progress::Downloaded { documents } => {
            download
                .get_or_insert_with(|| {
                    StepProgress::start("downloading the workspace: documents", 0, json)
                })
                .set(documents);
        }
        // Only a long initial sync is worth a bar; one in --json mode never is.
        Progress::Started { documents } => {
            bar =
                Some(StepProgress::start("syncing documents", documents, documents <= 200 || json));
        }
        Progress::Synced { done } => {
            if let Some(bar) = bar.as_mut() {
                bar.set(done);
            }
        }
        Progress::BlobsStarted { direction, blobs } => {
            let what = match direction {
                Direction::Up => "uploading photos and files",
                Direction::Down => "downloading photos and files",
            };
            if let Some(done) = files.take() {
                done.finish();
            }
            files = Some(StepProgress::start(what, blobs, blobs <= 20 || json));
        }
        Progress::BlobsMoved { done, .. } => {
            if let Some(files) = files.as_mut() {
                files.set(done);
            }
        }
    };
    let report = runtime
        .block_on(sync_client::sync_once(replica, &remote, &mut progress))
        .with_context(|| {
            format!(
                "sync with {} failed; your changes are kept and go out with the next sync",
                remote.key()
            )
        })?;
    for bar in [bar, files].into_iter().flatten() {
        bar.finish();
    }
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
    ))?;
    if report.documents_failed > 0 {
        output.line(format!(
            "{} documents from the relay could not be applied (the warnings above say why); the next syncs try them again",
            report.documents_failed
        ))?;
    }
    if report.documents_given_up > 0 {
        output.line(format!(
            "{} documents failed in {} syncs in a row and wait until they change at the relay; `kartoteka verify` checks this replica",
            report.documents_given_up,
            sync_client::MAX_RETRY_ROUNDS
        ))?;
    }
    Ok(())
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
