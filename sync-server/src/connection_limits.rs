//! Websocket connections counted per relay, per workspace and per token.
//!
//! With only a relay-wide cap, one token could take every place (a read-only
//! token's 1,100 upgrades that never joined made another workspace's replica fail
//! 86 of 102 sync rounds). A device needs one connection (a reconnect replaces
//! the old one), so a token may hold a few; a workspace may hold a share of the
//! relay; and a place is held from the upgrade on, including the handshake,
//! which must finish within a few seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use relay_core::Grant;
use uuid::Uuid;

/// Connections one token may have open or in its handshake: its live one, one
/// replacing it, and room for a reconnect racing a half-open socket.
pub(crate) const PER_TOKEN: usize = 4;

/// Default connections one workspace may have: its devices, each with one.
pub(crate) const DEFAULT_PER_WORKSPACE: usize = 256;

/// Which limit a refused connection hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitHit {
    /// The whole relay is full.
    Relay,
    /// The token's workspace has its share.
    Workspace,
    /// The token has its connections.
    Token,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    workspaces: HashMap<Uuid, usize>,
    tokens: HashMap<String, usize>,
}

/// The counts and their caps.
#[derive(Debug)]
pub(crate) struct ConnectionLimits {
    max_total: usize,
    max_per_workspace: usize,
    counts: Mutex<Counts>,
}

/// A connection's place; given back when dropped.
#[derive(Debug)]
pub(crate) struct ConnectionPlace {
    limits: Arc<ConnectionLimits>,
    workspace: Uuid,
    token_id: String,
}

impl ConnectionLimits {
    pub(crate) fn new(max_total: usize, max_per_workspace: usize) -> Arc<Self> {
        Arc::new(Self { max_total, max_per_workspace, counts: Mutex::default() })
    }

    /// Takes a place for a connection of `grant`, or says which limit is reached.
    pub(crate) fn enter(self: &Arc<Self>, grant: &Grant) -> Result<ConnectionPlace, LimitHit> {
        let mut counts = self.counts.lock().map_err(|_| LimitHit::Relay)?;
        if counts.total >= self.max_total {
            return Err(LimitHit::Relay);
        }
        if counts.workspaces.get(&grant.workspace).copied().unwrap_or(0) >= self.max_per_workspace {
            return Err(LimitHit::Workspace);
        }
        if counts.tokens.get(&grant.token_id).copied().unwrap_or(0) >= PER_TOKEN {
            return Err(LimitHit::Token);
        }
        counts.total += 1;
        *counts.workspaces.entry(grant.workspace).or_default() += 1;
        *counts.tokens.entry(grant.token_id.clone()).or_default() += 1;
        Ok(ConnectionPlace {
            limits: self.clone(),
            workspace: grant.workspace,
            token_id: grant.token_id.clone(),
        })
    }
}

impl Drop for ConnectionPlace {
    fn drop(&mut self) {
        let Ok(mut counts) = self.limits.counts.lock() else { return };
        counts.total -= 1;
        if let Some(count) = counts.workspaces.get_mut(&self.workspace) {
            *count -= 1;
            if *count == 0 {
                counts.workspaces.remove(&self.workspace);
            }
        }
        if let Some(count) = counts.tokens.get_mut(&self.token_id) {
            *count -= 1;
            if *count == 0 {
                counts.tokens.remove(&self.token_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(workspace: u128, token: &str) -> Grant {
        Grant {
            token_id: token.to_owned(),
            workspace: Uuid::from_u128(workspace),
            peer_id: token.to_owned(),
            read_only: false,
        }
    }

    #[test]
    fn each_limit_holds_and_places_are_given_back() {
        let limits = ConnectionLimits::new(10, 6);
        let flooding = grant(1, "a");
        let places: Vec<_> = (0..PER_TOKEN).map(|_| limits.enter(&flooding).unwrap()).collect();
        assert_eq!(limits.enter(&flooding).unwrap_err(), LimitHit::Token);
        let _second = limits.enter(&grant(1, "b")).unwrap();
        let _third = limits.enter(&grant(1, "c")).unwrap();
        assert_eq!(limits.enter(&grant(1, "d")).unwrap_err(), LimitHit::Workspace);
        let others: Vec<_> =
            (0..4).map(|n| limits.enter(&grant(2, &format!("e{n}"))).unwrap()).collect();
        assert_eq!(limits.enter(&grant(3, "f")).unwrap_err(), LimitHit::Relay);
        drop(places);
        drop(others);
        let _again = limits.enter(&flooding).unwrap();
        assert_eq!(limits.counts.lock().unwrap().total, 2 + 1);
    }
}
