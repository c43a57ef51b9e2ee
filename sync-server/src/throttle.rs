//! Failed token checks, throttled per source address.
//!
//! A token is 32 random bytes, so guessing is hopeless, but every attempt costs a
//! hash and a database lookup on the connection that also checks honest tokens,
//! and each used to write a log line. An address whose failures exceed
//! [`FAILURE_RATE`] (after a burst of [`FAILURE_BURST`]) is answered 429 with
//! `Retry-After` for every request until the rate allows another attempt, without
//! its token being checked; the start of such a burst is logged once. A token
//! that passed a check in the last [`RECENT_GRANT`] is still let through from a
//! throttled address, so that the other devices behind one office address (or
//! one proxy) are not locked out by a device with a wrong token.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use lru::LruCache;
use relay_core::Grant;

/// Failed token checks an address may make at once before it is throttled.
pub(crate) const FAILURE_BURST: u32 = 20;

/// Failed token checks per minute an address may make after its burst: a device
/// with a revoked token that keeps retrying stays well below.
pub(crate) const FAILURE_RATE: u32 = 30;

/// How long a token that passed a check is let through a throttled address
/// without being checked again (revocation reaches such a request this late at
/// most; live connections are swept every few seconds regardless).
pub(crate) const RECENT_GRANT: Duration = Duration::from_secs(30);

/// Tokens remembered as recently checked.
const RECENT_GRANTS: usize = 16_384;

/// Addresses remembered as throttled; the oldest are forgotten beyond this (they
/// are then throttled again after their next burst).
const THROTTLED_ADDRESSES: usize = 16_384;

/// The throttle shared by every request.
#[derive(Debug)]
pub(crate) struct AuthThrottle {
    failures: DefaultKeyedRateLimiter<IpAddr>,
    /// Addresses refused until the given instant.
    throttled: Mutex<LruCache<IpAddr, Instant>>,
    /// blake3 of a presented token that passed → its grant and when.
    recent: Mutex<LruCache<[u8; 32], (Grant, Instant)>>,
}

impl Default for AuthThrottle {
    fn default() -> Self {
        let burst = NonZeroU32::new(FAILURE_BURST).unwrap_or(NonZeroU32::MIN);
        let rate = NonZeroU32::new(FAILURE_RATE).unwrap_or(NonZeroU32::MIN);
        let capacity =
            std::num::NonZeroUsize::new(THROTTLED_ADDRESSES).unwrap_or(std::num::NonZeroUsize::MIN);
        let grants =
            std::num::NonZeroUsize::new(RECENT_GRANTS).unwrap_or(std::num::NonZeroUsize::MIN);
        Self {
            failures: RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst)),
            throttled: Mutex::new(LruCache::new(capacity)),
            recent: Mutex::new(LruCache::new(grants)),
        }
    }
}

impl AuthThrottle {
    /// How long `address` must wait before its token is checked again, if it is
    /// throttled.
    pub(crate) fn retry_after(&self, address: IpAddr) -> Option<Duration> {
        let mut throttled = self.throttled.lock().ok()?;
        let until = *throttled.get(&address)?;
        let now = Instant::now();
        if until > now {
            Some(until - now)
        } else {
            throttled.pop(&address);
            None
        }
    }

    /// Records a failed token check; returns the wait if this failure starts a
    /// throttle for `address`.
    pub(crate) fn failed(&self, address: IpAddr) -> Option<Duration> {
        let Err(not_until) = self.failures.check_key(&address) else { return None };
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        if let Ok(mut throttled) = self.throttled.lock() {
            throttled.put(address, Instant::now() + wait);
        }
        Some(wait)
    }

    /// Remembers that `token` passed a check.
    pub(crate) fn remember(&self, token: &str, grant: &Grant) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.put(*blake3::hash(token.as_bytes()).as_bytes(), (grant.clone(), Instant::now()));
        }
    }

    /// The grant of `token` if it passed a check less than [`RECENT_GRANT`] ago.
    pub(crate) fn recent(&self, token: &str) -> Option<Grant> {
        let mut recent = self.recent.lock().ok()?;
        let key = *blake3::hash(token.as_bytes()).as_bytes();
        let (grant, when) = recent.get(&key)?;
        if when.elapsed() < RECENT_GRANT {
            Some(grant.clone())
        } else {
            recent.pop(&key);
            None
        }
    }

    /// Forgets rate state that has returned to full (called periodically, so the
    /// limiter's memory follows the addresses seen recently).
    pub(crate) fn forget_idle(&self) {
        self.failures.retain_recent();
        self.failures.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_throttled_after_its_burst_and_others_are_not() {
        let throttle = AuthThrottle::default();
        let attacker: IpAddr = "127.0.0.2".parse().unwrap();
        let honest: IpAddr = "127.0.0.3".parse().unwrap();
        for _ in 0..FAILURE_BURST {
            assert_eq!(throttle.failed(attacker), None);
            assert_eq!(throttle.retry_after(attacker), None);
        }
        let wait = throttle.failed(attacker).expect("the failure after the burst throttles");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(2));
        assert!(throttle.retry_after(attacker).is_some());
        assert_eq!(throttle.retry_after(honest), None);
        assert_eq!(throttle.failed(honest), None);
    }
}

/// Messages per second one token's connections may send the hub, after a burst
/// of twice as many. An honest replica's first sync of the seed's data sends
/// about a thousand a second.
pub(crate) const TOKEN_MESSAGES_PER_SECOND: u32 = 10_000;

/// KiB per second one token's connections may send the hub, after a burst of
/// twice as much (above the largest message, so that one always fits).
pub(crate) const TOKEN_KIB_PER_SECOND: u32 = 64 * 1024;

/// How much hub work one token may ask for per second, across its connections:
/// what lanes and admission do not bound (they share the hub fairly, but a token
/// alone on a quiet relay could keep it busy without end).
#[derive(Debug)]
pub(crate) struct TokenRate {
    messages: DefaultKeyedRateLimiter<String>,
    kib: DefaultKeyedRateLimiter<String>,
}

impl Default for TokenRate {
    fn default() -> Self {
        let per_second = |rate: u32| {
            let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
            let burst = rate.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
            Quota::per_second(rate).allow_burst(burst)
        };
        Self {
            messages: RateLimiter::keyed(per_second(TOKEN_MESSAGES_PER_SECOND)),
            kib: RateLimiter::keyed(per_second(TOKEN_KIB_PER_SECOND)),
        }
    }
}

impl TokenRate {
    /// Waits until `token` may send a message of `bytes`; returns whether it had
    /// to wait.
    pub(crate) async fn wait(&self, token: &str, bytes: usize) -> bool {
        let key = token.to_owned();
        let kib = u32::try_from(bytes.div_ceil(1024).max(1)).unwrap_or(u32::MAX);
        let kib = NonZeroU32::new(kib.min(2 * TOKEN_KIB_PER_SECOND)).unwrap_or(NonZeroU32::MIN);
        let mut waited = false;
        // A failed check takes nothing; the wait then takes the cells once.
        if self.messages.check_key(&key).is_err() {
            waited = true;
            self.messages.until_key_ready(&key).await;
        }
        if !matches!(self.kib.check_key_n(&key, kib), Ok(Ok(()))) {
            waited = true;
            let _ = self.kib.until_key_n_ready(&key, kib).await;
        }
        waited
    }

    /// Forgets tokens whose rate state is back to full.
    pub(crate) fn forget_idle(&self) {
        self.messages.retain_recent();
        self.kib.retain_recent();
    }
}
