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

/// Bytes of one token's messages waiting for or in the hub, all its connections
/// together: one connection's worth, so that one device (read-only ones too)
/// holds at most half of its workspace's budget and its colleagues keep theirs.
pub const TOKEN_BYTES: usize = CONNECTION_BYTES;

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
/// tokens and workspaces that have connections.
#[derive(Debug, Clone)]
pub struct RelayBudget {
    bytes: Arc<Semaphore>,
    tokens: Arc<SharedBudgets<String>>,
    workspaces: Arc<SharedBudgets<Uuid>>,
}

impl Default for RelayBudget {
    fn default() -> Self {
        Self {
            bytes: Arc::new(Semaphore::new(RELAY_BYTES / UNIT)),
            tokens: Arc::new(SharedBudgets::new(TOKEN_BYTES)),
            workspaces: Arc::new(SharedBudgets::new(WORKSPACE_BYTES)),
        }
    }
}

impl RelayBudget {
    /// A fresh budget for one connection of `token_id` in `workspace`.
    pub fn connection(&self, workspace: Uuid, token_id: &str) -> ConnectionBudget {
        ConnectionBudget {
            relay: self.bytes.clone(),
            workspace: self.workspaces.get(workspace),
            token: self.tokens.get(token_id.to_owned()),
            messages: Arc::new(Semaphore::new(CONNECTION_MESSAGES)),
            bytes: Arc::new(Semaphore::new(CONNECTION_BYTES / UNIT)),
        }
    }
}

/// Budgets shared by the connections of one key (a token, a workspace), each
/// alive while a connection holds it.
#[derive(Debug)]
struct SharedBudgets<K> {
    bytes: usize,
    live: Mutex<LiveBudgets<K>>,
}

#[derive(Debug)]
struct LiveBudgets<K> {
    budgets: HashMap<K, Weak<Semaphore>>,
    /// Size at which ended budgets are forgotten next: doubling keeps the
    /// sweeps amortised O(1) per connection.
    sweep_at: usize,
}

impl<K: std::hash::Hash + Eq> SharedBudgets<K> {
    fn new(bytes: usize) -> Self {
        Self { bytes, live: Mutex::new(LiveBudgets { budgets: HashMap::new(), sweep_at: 64 }) }
    }

    fn get(&self, key: K) -> Arc<Semaphore> {
        // A poisoned lock means another connection panicked while looking up; the
        // map is still whole (each step below leaves it consistent), so go on.
        let mut live = self.live.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some(budget) = live.budgets.get(&key).and_then(Weak::upgrade) {
            return budget;
        }
        if live.budgets.len() >= live.sweep_at {
            live.budgets.retain(|_, budget| budget.strong_count() > 0);
            live.sweep_at = (live.budgets.len() * 2).max(64);
        }
        let budget = Arc::new(Semaphore::new(self.bytes / UNIT));
        live.budgets.insert(key, Arc::downgrade(&budget));
        budget
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.live.lock().map(|live| live.budgets.len()).unwrap_or_default()
    }
}

/// One connection's budget.
#[derive(Debug)]
pub struct ConnectionBudget {
    relay: Arc<Semaphore>,
    workspace: Arc<Semaphore>,
    token: Arc<Semaphore>,
    messages: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
}

impl ConnectionBudget {
    /// Waits until a message of `bytes` may be queued for the hub.
    pub async fn admit(&self, bytes: usize) -> Result<Admission> {
        // Capped at the budgets' sizes, so an oversized message cannot wait forever
        // (the websocket layer has refused anything larger already).
        let connection_units = units(bytes).min(units(CONNECTION_BYTES));
        let token_units = units(bytes).min(units(TOKEN_BYTES));
        let workspace_units = units(bytes).min(units(WORKSPACE_BYTES));
        let relay_units = units(bytes).min(units(RELAY_BYTES));
        // Narrowest first: a connection waiting for its own budget holds nothing of
        // its token's, a token waiting for its own nothing of its workspace's, and
        // a workspace waiting for its own nothing of the relay's.
        let message =
            self.messages.clone().acquire_owned().await.map_err(|_| RelayError::Stopped)?;
        let connection = acquire(&self.bytes, connection_units).await?;
        let token = acquire(&self.token, token_units).await?;
        let workspace = acquire(&self.workspace, workspace_units).await?;
        let relay = acquire(&self.relay, relay_units).await?;
        Ok(Admission { _permits: [message, connection, token, workspace, relay] })
    }
}

async fn acquire(budget: &Arc<Semaphore>, units: u32) -> Result<OwnedSemaphorePermit> {
    budget.clone().acquire_many_owned(units).await.map_err(|_| RelayError::Stopped)
}

/// The permits a message holds until the hub has handled it (dropping it
/// returns them).
#[derive(Debug)]
pub struct Admission {
    _permits: [OwnedSemaphorePermit; 5],
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const WORKSPACE: Uuid = Uuid::from_u128(7);

    #[tokio::test]
    async fn a_connection_waits_once_its_budget_is_used_and_others_do_not() {
        let relay = RelayBudget::default();
        let flooding = relay.connection(WORKSPACE, "flooding");
        let honest = relay.connection(WORKSPACE, "honest");
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
        let connection = relay.connection(WORKSPACE, "device");
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
        // Sixteen devices of one workspace, each with its connection's budget full.
        let connections: Vec<_> =
            (0..16).map(|device| relay.connection(crowded, &format!("device-{device}"))).collect();
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
        let another = relay.connection(Uuid::from_u128(2), "elsewhere");
        let admitted =
            tokio::time::timeout(Duration::from_millis(50), another.admit(CONNECTION_BYTES));
        assert!(admitted.await.is_ok(), "another workspace is admitted at once");
        drop(held);
        assert!(connections[0].admit(CONNECTION_BYTES).await.is_ok());
    }

    #[tokio::test]
    async fn one_token_cannot_hold_its_workspaces_whole_budget() {
        let relay = RelayBudget::default();
        // One device floods on four connections (as many as a token may open).
        let flooding: Vec<_> = (0..4).map(|_| relay.connection(WORKSPACE, "flooding")).collect();
        let mut held = Vec::new();
        for connection in &flooding {
            let admitted =
                tokio::time::timeout(Duration::from_millis(20), connection.admit(CONNECTION_BYTES));
            if let Ok(admission) = admitted.await {
                held.push(admission.unwrap());
            }
        }
        assert_eq!(held.len(), TOKEN_BYTES / CONNECTION_BYTES, "one connection's worth");
        let colleague = relay.connection(WORKSPACE, "colleague");
        let admitted =
            tokio::time::timeout(Duration::from_millis(50), colleague.admit(CONNECTION_BYTES));
        assert!(admitted.await.is_ok(), "a colleague of the same workspace is admitted at once");
    }

    #[test]
    fn budgets_without_connections_are_forgotten() {
        let relay = RelayBudget::default();
        for workspace in 0..1_000 {
            drop(relay.connection(Uuid::from_u128(workspace), "device"));
        }
        let _live = relay.connection(Uuid::from_u128(5_000), "device");
        assert!(relay.workspaces.len() <= 128, "{}", relay.workspaces.len());
        assert!(relay.tokens.len() <= 1);
    }
}
