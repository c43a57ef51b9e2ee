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
//!
//! A workspace's connections share a budget of their own as well, so that one
//! tenant with many devices (or one token's several connections) cannot hold
//! the whole relay budget and make every other workspace wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::error::{RelayError, Result};

/// Messages of one connection waiting for or in the hub: as many as a replica
/// keeps in flight, so that one replica's bulk sync still fills whole batches
/// (one fsync each) when it is the only one syncing.
pub const CONNECTION_MESSAGES: usize = sync_protocol::limits::MAX_DOCUMENTS_IN_FLIGHT;

/// Bytes of one connection's messages waiting for or in the hub. Above the largest
/// message ([`sync_protocol::limits::MAX_MESSAGE_BYTES`]), so any one message is
/// admitted once the connection's earlier ones are handled.
pub const CONNECTION_BYTES: usize = 2 * sync_protocol::limits::MAX_MESSAGE_BYTES;

/// Bytes of one workspace's messages waiting for or in the hub, all its
/// connections together: a quarter of the relay's, so at least four workspaces
/// must be flooding before a fifth waits for the relay's budget.
pub const WORKSPACE_BYTES: usize = RELAY_BYTES / 4;

/// Bytes of all connections' messages waiting for or in the hub: what the relay's
/// memory holds of received, not yet handled messages.
pub const RELAY_BYTES: usize = 256 * 1024 * 1024;

/// Permits are counted in KiB so that the relay's budget fits a semaphore.
const UNIT: usize = 1024;

fn units(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX)
}

/// The relay-wide budget, shared by every connection, and the budgets of the
/// workspaces that have connections.
#[derive(Debug, Clone)]
pub struct RelayBudget {
    bytes: Arc<Semaphore>,
    /// Each workspace's budget while any of its connections holds it; a
    /// workspace whose last connection ended is dropped on the next lookup.
    workspaces: Arc<Mutex<HashMap<Uuid, Weak<Semaphore>>>>,
}

impl Default for RelayBudget {
    fn default() -> Self {
        Self { bytes: Arc::new(Semaphore::new(RELAY_BYTES / UNIT)), workspaces: Arc::default() }
    }
}

impl RelayBudget {
    /// A fresh budget for one connection of `workspace`.
    pub fn connection(&self, workspace: Uuid) -> ConnectionBudget {
        ConnectionBudget {
            relay: self.bytes.clone(),
            workspace: self.workspace(workspace),
            messages: Arc::new(Semaphore::new(CONNECTION_MESSAGES)),
            bytes: Arc::new(Semaphore::new(CONNECTION_BYTES / UNIT)),
        }
    }

    fn workspace(&self, workspace: Uuid) -> Arc<Semaphore> {
        // A poisoned lock means another connection panicked while looking up; the
        // map is still whole (each step below leaves it consistent), so go on.
        let mut workspaces = self.workspaces.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some(budget) = workspaces.get(&workspace).and_then(Weak::upgrade) {
            return budget;
        }
        // Bounded by the connections open: forget workspaces nobody holds.
        workspaces.retain(|_, budget| budget.strong_count() > 0);
        let budget = Arc::new(Semaphore::new(WORKSPACE_BYTES / UNIT));
        workspaces.insert(workspace, Arc::downgrade(&budget));
        budget
    }
}

/// One connection's budget.
#[derive(Debug)]
pub struct ConnectionBudget {
    relay: Arc<Semaphore>,
    workspace: Arc<Semaphore>,
    messages: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
}

impl ConnectionBudget {
    /// Waits until a message of `bytes` may be queued for the hub.
    pub async fn admit(&self, bytes: usize) -> Result<Admission> {
        // Capped at the budgets' sizes, so an oversized message cannot wait forever
        // (the websocket layer has refused anything larger already).
        let connection_units = units(bytes).min(units(CONNECTION_BYTES));
        let workspace_units = units(bytes).min(units(WORKSPACE_BYTES));
        let relay_units = units(bytes).min(units(RELAY_BYTES));
        // Narrowest first: a connection waiting for its own budget holds nothing of
        // its workspace's, and a workspace waiting for its own holds nothing of the
        // relay's.
        let message =
            self.messages.clone().acquire_owned().await.map_err(|_| RelayError::Stopped)?;
        let connection = acquire(&self.bytes, connection_units).await?;
        let workspace = acquire(&self.workspace, workspace_units).await?;
        let relay = acquire(&self.relay, relay_units).await?;
        Ok(Admission { _permits: [message, connection, workspace, relay] })
    }
}

async fn acquire(budget: &Arc<Semaphore>, units: u32) -> Result<OwnedSemaphorePermit> {
    budget.clone().acquire_many_owned(units).await.map_err(|_| RelayError::Stopped)
}

/// The permits a message holds until the hub has handled it (dropping it
/// returns them).
#[derive(Debug)]
pub struct Admission {
    _permits: [OwnedSemaphorePermit; 4],
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const WORKSPACE: Uuid = Uuid::from_u128(7);

    #[tokio::test]
    async fn a_connection_waits_once_its_budget_is_used_and_others_do_not() {
        let relay = RelayBudget::default();
        let flooding = relay.connection(WORKSPACE);
        let honest = relay.connection(WORKSPACE);
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
        let connection = relay.connection(WORKSPACE);
        let big = connection.admit(CONNECTION_BYTES - UNIT).await.unwrap();
        let blocked = tokio::time::timeout(Duration::from_millis(50), connection.admit(2 * UNIT));
        assert!(blocked.await.is_err());
        drop(big);
        assert!(connection.admit(2 * UNIT).await.is_ok());
    }

    #[tokio::test]
    async fn one_workspace_cannot_hold_the_relays_whole_budget() {
        let relay = RelayBudget::default();
        let crowded = Uuid::from_u128(1);
        // Sixteen connections of one workspace, each with its own budget full.
        let connections: Vec<_> = (0..16).map(|_| relay.connection(crowded)).collect();
        let mut held = Vec::new();
        let mut waiting = 0;
        for connection in &connections {
            match tokio::time::timeout(
                Duration::from_millis(20),
                connection.admit(CONNECTION_BYTES),
            )
            .await
            {
                Ok(admission) => held.push(admission.unwrap()),
                Err(_) => waiting += 1,
            }
        }
        assert_eq!(held.len(), WORKSPACE_BYTES / CONNECTION_BYTES);
        assert_eq!(waiting, 16 - held.len());
        let another = relay.connection(Uuid::from_u128(2));
        let admitted =
            tokio::time::timeout(Duration::from_millis(50), another.admit(CONNECTION_BYTES));
        assert!(admitted.await.is_ok(), "another workspace is admitted at once");
        drop(held);
        assert!(connections[0].admit(CONNECTION_BYTES).await.is_ok());
    }

    #[test]
    fn a_workspace_without_connections_is_forgotten() {
        let relay = RelayBudget::default();
        let first = relay.connection(Uuid::from_u128(1));
        drop(first);
        let _second = relay.connection(Uuid::from_u128(2));
        let workspaces = relay.workspaces.lock().unwrap();
        assert_eq!(workspaces.len(), 1);
        assert!(workspaces.contains_key(&Uuid::from_u128(2)));
    }
}
