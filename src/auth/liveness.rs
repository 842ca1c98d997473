//! Whether the tenant and the client behind a verified access token are still live.
//!
//! An access token is verified without a store read, yet disabling its tenant or revoking its
//! client must refuse it within 60 s. So each instance keeps a small cache of the answer per
//! (tenant, client), asked of a [`Liveness`] source at most every [`MAX_AGE_SECS`]; the
//! instance that revokes forgets its entry at once ([`LivenessCache::forget`]).
//!
//! The seam for the tenant registry is [`TenantStatus`]: until tenants have a status of their
//! own, [`AllTenantsActive`] answers; the registry implements it over its tenant records and
//! [`StoreLiveness::new`] takes it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use super::AuthError;
use crate::clock::Clock;
use crate::oauth::secret::IdKind;
use crate::store::oauth::OAuthStore;
use crate::store::{BoxError, TenantId};

/// Longest time a cached answer is used.
pub const MAX_AGE_SECS: i64 = 60;
/// Most entries kept; past it the cache starts over (entries exist only for tokens whose
/// signature verified, so only real clients fill it).
pub const MAX_ENTRIES: usize = 10_000;

/// A boxed future: these sources are asked at most once a minute per client, so dynamic
/// dispatch costs nothing that matters and keeps the auth layer free of store generics.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Is this tenant active? (The tenant registry's status check plugs in here.)
pub trait TenantStatus: Send + Sync + 'static {
    /// `Ok(false)` for a disabled or deleted tenant.
    fn is_active<'a>(&'a self, tenant: &'a TenantId) -> BoxFuture<'a, Result<bool, BoxError>>;
}

/// Every tenant is active: deployments without a tenant registry.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllTenantsActive;

impl TenantStatus for AllTenantsActive {
    fn is_active<'a>(&'a self, _tenant: &'a TenantId) -> BoxFuture<'a, Result<bool, BoxError>> {
        Box::pin(async { Ok(true) })
    }
}

/// Tenants disabled by hand, in memory (tests, and local runs until the registry exists).
#[derive(Debug, Default)]
pub struct MemoryTenantStatus {
    disabled: RwLock<std::collections::HashSet<TenantId>>,
}

impl MemoryTenantStatus {
    /// Disables or enables `tenant`.
    pub fn set_active(&self, tenant: &TenantId, active: bool) {
        let mut d = self.disabled.write().unwrap_or_else(|e| e.into_inner());
        if active {
            d.remove(tenant);
        } else {
            d.insert(tenant.clone());
        }
    }
}

impl TenantStatus for MemoryTenantStatus {
    fn is_active<'a>(&'a self, tenant: &'a TenantId) -> BoxFuture<'a, Result<bool, BoxError>> {
        let active = !self
            .disabled
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(tenant);
        Box::pin(async move { Ok(active) })
    }
}

/// Is this (tenant, client) pair still allowed?
pub trait Liveness: Send + Sync + 'static {
    /// `Ok(false)` when the tenant is not active or the client is revoked or gone.
    fn is_live<'a>(
        &'a self,
        tenant: &'a TenantId,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, BoxError>>;
}

/// Liveness from the OAuth store (clients `c_...`, federated credentials `f_...`) and a
/// [`TenantStatus`]; works over either store implementation.
pub struct StoreLiveness<O> {
    store: Arc<O>,
    tenants: Arc<dyn TenantStatus>,
}

impl<O: OAuthStore> StoreLiveness<O> {
    /// Over `store`, with `tenants` deciding tenant status.
    pub fn new(store: Arc<O>, tenants: Arc<dyn TenantStatus>) -> Self {
        StoreLiveness { store, tenants }
    }
}

impl<O: OAuthStore> Liveness for StoreLiveness<O> {
    fn is_live<'a>(
        &'a self,
        tenant: &'a TenantId,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, BoxError>> {
        Box::pin(async move {
            if !self.tenants.is_active(tenant).await? {
                return Ok(false);
            }
            if IdKind::Client.matches(client_id) {
                let client = self.store.client(client_id).await.map_err(Box::new)?;
                Ok(client.is_some_and(|c| &c.tenant == tenant && c.revoked_at.is_none()))
            } else if IdKind::Federated.matches(client_id) {
                let all = self.store.federated(tenant).await.map_err(Box::new)?;
                Ok(all.iter().any(|f| f.id == client_id))
            } else {
                Ok(false)
            }
        })
    }
}

/// The per-instance cache of [`Liveness`] answers.
pub struct LivenessCache {
    source: Arc<dyn Liveness>,
    clock: Arc<dyn Clock>,
    entries: RwLock<HashMap<(TenantId, String), (bool, i64)>>,
}

impl LivenessCache {
    /// A cache over `source`, timed by `clock`.
    pub fn new(source: Arc<dyn Liveness>, clock: Arc<dyn Clock>) -> Self {
        LivenessCache {
            source,
            clock,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// Whether the pair is live, from an answer at most [`MAX_AGE_SECS`] old.
    ///
    /// # Errors
    /// `Unavailable` when no fresh answer is cached and the source fails (503: the token may
    /// well be good).
    pub async fn check(&self, tenant: &TenantId, client_id: &str) -> Result<bool, AuthError> {
        let now = self.clock.now();
        let key = (tenant.clone(), client_id.to_string());
        if let Some((live, at)) = self.read().get(&key).copied()
            && now - at < MAX_AGE_SECS
        {
            return Ok(live);
        }
        let live = self
            .source
            .is_live(tenant, client_id)
            .await
            .map_err(AuthError::Unavailable)?;
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (live, now));
        Ok(live)
    }

    /// Forgets the answer for a pair, so this instance sees a revoke at once.
    pub fn forget(&self, tenant: &TenantId, client_id: &str) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(tenant.clone(), client_id.to_string()));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<(TenantId, String), (bool, i64)>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use std::time::Duration;

    use crate::clock::ManualClock;

    struct Counting {
        asked: AtomicUsize,
        tenants: Arc<MemoryTenantStatus>,
    }

    impl Liveness for Counting {
        fn is_live<'a>(
            &'a self,
            tenant: &'a TenantId,
            _client: &'a str,
        ) -> BoxFuture<'a, Result<bool, BoxError>> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            self.tenants.is_active(tenant)
        }
    }

    #[tokio::test]
    async fn answers_are_reused_for_at_most_a_minute() {
        let tenants = Arc::new(MemoryTenantStatus::default());
        let source = Arc::new(Counting {
            asked: AtomicUsize::new(0),
            tenants: Arc::clone(&tenants),
        });
        let clock = ManualClock::at(0);
        let cache = LivenessCache::new(source.clone(), Arc::new(clock.clone()));
        let t = TenantId::default();
        assert!(cache.check(&t, "c_x").await.unwrap());
        tenants.set_active(&t, false);
        clock.advance(Duration::from_secs(MAX_AGE_SECS.unsigned_abs() - 1));
        assert!(cache.check(&t, "c_x").await.unwrap(), "cached");
        clock.advance(Duration::from_secs(1));
        assert!(
            !cache.check(&t, "c_x").await.unwrap(),
            "refreshed within the bound"
        );
        assert_eq!(source.asked.load(Ordering::SeqCst), 2);
        tenants.set_active(&t, true);
        cache.forget(&t, "c_x");
        assert!(cache.check(&t, "c_x").await.unwrap(), "forgotten at once");
    }
}
