//! Counters for `/metrics`, shared by the hub and the connection tasks.

use std::sync::atomic::{AtomicU64, Ordering};

/// Relay counters; all monotonic except the three gauges.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open websocket connections (gauge).
    pub connections: AtomicU64,
    /// Documents loaded in the hub's cache (gauge).
    pub documents_loaded: AtomicU64,
    /// Sync states the hub keeps for all connections (gauge).
    pub sync_states: AtomicU64,
    /// Bytes received on websockets and blob uploads.
    pub bytes_in: AtomicU64,
    /// Bytes sent on websockets and blob downloads.
    pub bytes_out: AtomicU64,
    /// Websocket messages received.
    pub messages_in: AtomicU64,
    /// Websocket messages sent.
    pub messages_out: AtomicU64,
    /// Document changes stored.
    pub changes_stored: AtomicU64,
    /// Connections refused or closed for a reason (bad token, malformed input,
    /// slow peer, limits).
    pub refusals: AtomicU64,
    /// Panics caught while handling a message (each closed only its connection).
    pub panics: AtomicU64,
    /// Failed token checks.
    pub auth_failures: AtomicU64,
    /// Requests refused because their source address failed too many token checks.
    pub auth_throttled: AtomicU64,
    /// Messages that waited because their token sent more per second than allowed.
    pub rate_limited: AtomicU64,
    /// Blobs found damaged on disk and moved to quarantine.
    pub blobs_quarantined: AtomicU64,
}

impl Metrics {
    /// Adds to a counter.
    pub fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
    }

    /// Adds a possibly negative amount to a gauge.
    pub fn add_signed(gauge: &AtomicU64, value: i64) {
        if value >= 0 {
            gauge.fetch_add(value.unsigned_abs(), Ordering::Relaxed);
        } else {
            gauge.fetch_sub(value.unsigned_abs(), Ordering::Relaxed);
        }
    }

    /// The counters in Prometheus' text format.
    pub fn render(&self) -> String {
        let gauges = [
            ("kartoteka_relay_connections", &self.connections),
            ("kartoteka_relay_documents_loaded", &self.documents_loaded),
            ("kartoteka_relay_sync_states", &self.sync_states),
        ];
        let counters = [
            ("kartoteka_relay_bytes_in_total", &self.bytes_in),
            ("kartoteka_relay_bytes_out_total", &self.bytes_out),
            ("kartoteka_relay_messages_in_total", &self.messages_in),
            ("kartoteka_relay_messages_out_total", &self.messages_out),
            ("kartoteka_relay_changes_stored_total", &self.changes_stored),
            ("kartoteka_relay_refusals_total", &self.refusals),
            ("kartoteka_relay_panics_total", &self.panics),
            ("kartoteka_relay_auth_failures_total", &self.auth_failures),
            ("kartoteka_relay_auth_throttled_total", &self.auth_throttled),
            ("kartoteka_relay_blobs_quarantined_total", &self.blobs_quarantined),
            ("kartoteka_relay_rate_limited_total", &self.rate_limited),
        ];
        let mut text = String::new();
        for (name, value) in gauges {
            text.push_str(&format!(
                "# TYPE {name} gauge\n{name} {}\n",
                value.load(Ordering::Relaxed)
            ));
        }
        for (name, value) in counters {
            text.push_str(&format!(
                "# TYPE {name} counter\n{name} {}\n",
                value.load(Ordering::Relaxed)
            ));
        }
        text
    }
}
