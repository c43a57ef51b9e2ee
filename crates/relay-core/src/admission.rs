//! How much one connection may have waiting for the hub, in messages and bytes.
//!
//! The hub handles messages in the order they arrive, one thread for every
//! workspace. Without a per-connection bound, a peer that sends as fast as it can
//! fills the hub's queue and every other peer's message waits behind its backlog.
//! Each message therefore holds permits from its connection's budget and from the
//! relay's while it waits for and is handled by the hub; a connection that has
//! used its budget is not read from until the hub catches up (TCP backpressure
//! falls on that peer alone), so the queue holds a bounded number of each
//! connection's messages, and the hub takes them from the connections in turn
//! (`hub::Lanes`).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{RelayError, Result};

/// Messages of one connection waiting for or in the hub: as many as a replica
/// keeps in flight, so that one replica's bulk sync still fills whole batches
/// (one fsync each) when it is the only one syncing.
pub const CONNECTION_MESSAGES: usize = sync_protocol::limits::MAX_DOCUMENTS_IN_FLIGHT;

/// Bytes of one connection's messages waiting for or in the hub. Above the largest
/// message ([`sync_protocol::limits::MAX_MESSAGE_BYTES`]), so any one message is
/// admitted once the connection's earlier ones are handled.
pub const CONNECTION_BYTES: usize = 2 * sync_protocol::limits::MAX_MESSAGE_BYTES;

/// Bytes of all connections' messages waiting for or in the hub: what the relay's
/// memory holds of received, not yet handled messages.
pub const RELAY_BYTES: usize = 256 * 1024 * 1024;

/// Permits are counted in KiB so that the relay's budget fits a semaphore.
const UNIT: usize = 1024;

fn units(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX)
}

/// The relay-wide budget, shared by every connection.
#[derive(Debug, Clone)]
pub struct RelayBudget {
    bytes: Arc<Semaphore>,
}

impl Default for RelayBudget {
    fn default() -> Self {
        Self { bytes: Arc::new(Semaphore::new(RELAY_BYTES / UNIT)) }
    }
}

impl RelayBudget {
    /// A fresh budget for one connection.
    pub fn connection(&self) -> ConnectionBudget {
        ConnectionBudget {
            relay: self.bytes.clone(),
            messages: Arc::new(Semaphore::new(CONNECTION_MESSAGES)),
            bytes: Arc::new(Semaphore::new(CONNECTION_BYTES / UNIT)),
        }
    }
}

/// One connection's budget.
#[derive(Debug)]
pub struct ConnectionBudget {
    relay: Arc<Semaphore>,
    messages: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
}

impl ConnectionBudget {
    /// Waits until a message of `bytes` may be queued for the hub.
    pub async fn admit(&self, bytes: usize) -> Result<Admission> {
        // Capped at the budgets' sizes, so an oversized message cannot wait forever
        // (the websocket layer has refused anything larger already).
        let connection_units = units(bytes).min(units(CONNECTION_BYTES));
        let relay_units = units(bytes).min(units(RELAY_BYTES));
        let message =
            self.messages.clone().acquire_owned().await.map_err(|_| RelayError::Stopped)?;
        let connection = self
            .bytes
            .clone()
            .acquire_many_owned(connection_units)
            .await
            .map_err(|_| RelayError::Stopped)?;
        let relay = self
            .relay
            .clone()
            .acquire_many_owned(relay_units)
            .await
            .map_err(|_| RelayError::Stopped)?;
        Ok(Admission { _permits: [message, connection, relay] })
    }
}

/// The permits a message holds until the hub has handled it (dropping it
/// returns them).
#[derive(Debug)]
pub struct Admission {
    _permits: [OwnedSemaphorePermit; 3],
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_connection_waits_once_its_budget_is_used_and_others_do_not() {
        let relay = RelayBudget::default();
        let flooding = relay.connection();
        let honest = relay.connection();
        let mut held = Vec::new();
        for _ in 0..CONNECTION_MESSAGES {
            held.push(flooding.admit(10).await.unwrap());
        }
        let blocked = tokio::time::timeout(Duration::from_millis(50), flooding.admit(10)).await;
        assert!(blocked.is_err(), "the flooding connection must wait");
        assert!(honest.admit(10).await.is_ok(), "another connection is admitted at once");
        held.pop();
        assert!(flooding.admit(10).await.is_ok(), "a handled message frees a place");
    }

    #[tokio::test]
    async fn bytes_count_as_well_as_messages() {
        let relay = RelayBudget::default();
        let connection = relay.connection();
        let big = connection.admit(CONNECTION_BYTES - UNIT).await.unwrap();
        let blocked = tokio::time::timeout(Duration::from_millis(50), connection.admit(2 * UNIT));
        assert!(blocked.await.is_err());
        drop(big);
        assert!(connection.admit(2 * UNIT).await.is_ok());
    }
}
