//! Limits both sides of a sync connection agree on. Each is a named constant with
//! the reason for its size; the relay may lower some of them by configuration.

use std::time::Duration;

/// Largest websocket message the relay accepts. A client document is a few KB and
/// photos travel as blobs, not inside documents, so 16 MiB leaves room for a
/// whole large document in one sync message while bounding what a hostile peer
/// can make the relay buffer.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Largest websocket frame (a message may span frames).
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// How often the relay pings an idle connection. Below the 60 s idle timeout of
/// common proxies and load balancers.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(20);

/// A peer that has sent nothing (not even a pong) for this long is dead: two
/// missed heartbeats plus slack for a slow link.
pub const DEAD_PEER_TIMEOUT: Duration = Duration::from_secs(45);

/// Documents a replica keeps in flight on one connection. Enough to fill a
/// high-latency link (at 50 ms round trips, 256 documents in flight move about
/// 5,000 documents per second) while bounding memory on both sides.
pub const MAX_DOCUMENTS_IN_FLIGHT: usize = 256;

/// Entries the change feed returns per page.
pub const FEED_PAGE_ENTRIES: usize = 5_000;
