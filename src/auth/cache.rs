//! The per-instance cache of verified tenant tokens, on an injectable clock.
//!
//! A verified token is reused for at most [`CACHE_TTL`] (and never past its own expiry), so a
//! revoke or a tenant disable done on another instance takes effect within that bound; the
//! instance that did it forgets the entries at once. Only verified tokens are kept: an unknown
//! or refused token is never cached, so it can never be mistaken for a valid one. The cache is
//! bounded, so a flood of distinct valid-looking tokens cannot grow it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{Principal, TokenDigest};
use crate::tenant::TenantId;

/// The longest a verified token is trusted without reading its record again.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// Most tokens kept per instance (a few hundred bytes each).
pub const CACHE_CAPACITY: usize = 10_000;

use crate::clock::Clock;

/// What a verified token grants: the caller and its tenant's request cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The caller.
    pub principal: Principal,
    /// The tenant's own requests-per-second cap, when it has one.
    pub requests_per_second: Option<u32>,
    /// Whether the credential is a tenant token of the registry (request-capped, and its
    /// tenant's last request time recorded), rather than the single-tenant token.
    pub registered: bool,
}

/// A cache lookup's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cached {
    /// The token was verified less than [`CACHE_TTL`] ago and the secret matches.
    Valid(Verified),
    /// The id is cached but the secret is wrong: refuse without a read.
    Wrong,
    /// Not cached (or expired): read the record.
    Miss,
}

struct Entry {
    digest: TokenDigest,
    verified: Verified,
    until_ms: u64,
}

/// Verified tokens by token id.
pub struct TokenCache {
    entries: Mutex<HashMap<String, Entry>>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenCache({} entries)", self.lock().len())
    }
}

impl TokenCache {
    /// An empty cache of at most `capacity` tokens on `clock`.
    pub fn new(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        TokenCache {
            entries: Mutex::new(HashMap::new()),
            capacity,
            clock,
        }
    }

    /// The clock the cache runs on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // The map is consistent after every statement; a panic elsewhere cannot corrupt it.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Looks `id` up and checks `digest` against it in constant time.
    pub fn lookup(&self, id: &str, digest: &TokenDigest) -> Cached {
        let now = self.clock.now_ms();
        let mut entries = self.lock();
        match entries.get(id) {
            Some(e) if e.until_ms > now => {
                if e.digest.same_as(digest) {
                    Cached::Valid(e.verified.clone())
                } else {
                    Cached::Wrong
                }
            }
            Some(_) => {
                entries.remove(id);
                Cached::Miss
            }
            None => Cached::Miss,
        }
    }

    /// Remembers a token just verified against its record; `expires_ms` is the token's own
    /// expiry, which the entry never outlives.
    pub fn insert(
        &self,
        id: &str,
        digest: TokenDigest,
        verified: Verified,
        expires_ms: Option<u64>,
    ) {
        let now = self.clock.now_ms();
        let ttl = u64::try_from(CACHE_TTL.as_millis()).unwrap_or(u64::MAX);
        let until_ms = expires_ms.map_or(now + ttl, |e| e.min(now + ttl));
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(id) {
            entries.retain(|_, e| e.until_ms > now);
            if entries.len() >= self.capacity {
                // Still full of live entries: drop one; it is only re-read on its next use.
                if let Some(k) = entries.keys().next().cloned() {
                    entries.remove(&k);
                }
            }
        }
        entries.insert(
            id.to_string(),
            Entry {
                digest,
                verified,
                until_ms,
            },
        );
    }

    /// Forgets one token (revoked on this instance).
    pub fn forget_token(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Forgets every token of a tenant (disabled, deleted or changed on this instance).
    pub fn forget_tenant(&self, tenant: &TenantId) {
        self.lock()
            .retain(|_, e| e.verified.principal.tenant != *tenant);
    }

    /// Number of entries (live or not yet swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn verified(t: &str) -> Verified {
        Verified {
            principal: Principal {
                tenant: TenantId::parse(t).unwrap(),
            },
            requests_per_second: None,
            registered: true,
        }
    }

    fn digest(s: &str) -> TokenDigest {
        TokenDigest::of(s).unwrap()
    }

    #[test]
    fn entries_expire_after_the_ttl_on_the_clock() {
        let clock = Arc::new(ManualClock::at(1_000_000));
        let cache = TokenCache::new(10, clock.clone());
        cache.insert("k1", digest("s"), verified("acme"), None);
        let rows = [
            (Duration::ZERO, true),
            (Duration::from_secs(59), true),
            (Duration::from_secs(1), false),
        ];
        for (step, valid) in rows {
            clock.advance(step);
            let got = cache.lookup("k1", &digest("s"));
            assert_eq!(
                matches!(got, Cached::Valid(_)),
                valid,
                "at +{step:?}: {got:?}"
            );
        }
        assert!(cache.is_empty(), "an expired entry is dropped when seen");
    }

    #[test]
    fn a_token_expiring_sooner_than_the_ttl_is_not_trusted_past_its_expiry() {
        let clock = Arc::new(ManualClock::at(1_000_000));
        let cache = TokenCache::new(10, clock.clone());
        cache.insert("k1", digest("s"), verified("acme"), Some(1_010_000));
        clock.advance(Duration::from_secs(9));
        assert!(matches!(cache.lookup("k1", &digest("s")), Cached::Valid(_)));
        clock.advance(Duration::from_secs(1));
        assert_eq!(cache.lookup("k1", &digest("s")), Cached::Miss);
    }

    #[test]
    fn a_wrong_secret_for_a_cached_id_is_refused_and_unknown_ids_miss() {
        let cache = TokenCache::new(10, Arc::new(ManualClock::at(5)));
        cache.insert("k1", digest("s"), verified("acme"), None);
        assert_eq!(cache.lookup("k1", &digest("other")), Cached::Wrong);
        assert_eq!(cache.lookup("k2", &digest("s")), Cached::Miss);
    }

    #[test]
    fn forgetting_a_token_or_a_tenant_takes_effect_at_once() {
        let cache = TokenCache::new(10, Arc::new(ManualClock::at(5)));
        cache.insert("a1", digest("s"), verified("a"), None);
        cache.insert("a2", digest("s"), verified("a"), None);
        cache.insert("b1", digest("s"), verified("b"), None);
        cache.forget_token("a1");
        assert_eq!(cache.lookup("a1", &digest("s")), Cached::Miss);
        cache.forget_tenant(&TenantId::parse("a").unwrap());
        assert_eq!(cache.lookup("a2", &digest("s")), Cached::Miss);
        assert!(matches!(cache.lookup("b1", &digest("s")), Cached::Valid(_)));
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let clock = Arc::new(ManualClock::at(0));
        let cache = TokenCache::new(3, clock.clone());
        for i in 0..10 {
            cache.insert(&format!("k{i}"), digest("s"), verified("a"), None);
            assert!(cache.len() <= 3);
        }
        // Expired entries are swept first, so a live one that was just added stays.
        clock.advance(CACHE_TTL);
        cache.insert("fresh", digest("s"), verified("a"), None);
        assert_eq!(cache.len(), 1);
        assert!(matches!(
            cache.lookup("fresh", &digest("s")),
            Cached::Valid(_)
        ));
    }
}
