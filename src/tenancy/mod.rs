//! Many customer directories in one deployment: who a tenant token names (one point read, then
//! a bounded per-instance cache), the per-tenant request cap, the coarse "last seen" writes,
//! the admin use cases and the purge of deleted tenants.
//!
//! Token format, digest and cache are pure (`crate::auth`); this module adds the store read.

pub mod admin;
pub(crate) mod limit;
pub mod purge;
pub(crate) mod status;
pub(crate) mod views;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::auth::cache::{CACHE_CAPACITY, Cached, TokenCache, Verified};
use crate::auth::{AuthError, Principal, Tokens, tenant_token};
use crate::clock::{Clock, SystemClock};
use crate::store::registry::{Registry, TenantStatus, Touch};
use crate::tenant::TenantId;
use limit::{DEFAULT_REQUESTS_PER_SECOND, Limiter};

/// How often, at most, one instance writes a token's `lastUsedAt` or a tenant's
/// `lastRequestAt`: coarse on purpose, never a write per request.
pub const TOUCH_INTERVAL: Duration = Duration::from_secs(300);
/// Most "last written" marks kept per instance.
const MAX_TOUCHES: usize = 20_000;

/// Per-instance tenancy state: the token cache, the request cap and the touch marks.
pub struct Tenancy {
    cache: TokenCache,
    limiter: Limiter,
    touches: Mutex<HashMap<Touch, u64>>,
    clock: Arc<dyn Clock>,
    background_purge: bool,
}

impl std::fmt::Debug for Tenancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenancy")
            .field("cache", &self.cache)
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl Default for Tenancy {
    fn default() -> Self {
        Tenancy::new(Arc::new(SystemClock), DEFAULT_REQUESTS_PER_SECOND)
    }
}

impl Tenancy {
    /// Tenancy on `clock`, capping tenants without a cap of their own at `default_rate`.
    pub fn new(clock: Arc<dyn Clock>, default_rate: u32) -> Self {
        Tenancy {
            cache: TokenCache::new(CACHE_CAPACITY, Arc::clone(&clock)),
            limiter: Limiter::new(default_rate, Arc::clone(&clock)),
            touches: Mutex::new(HashMap::new()),
            clock,
            background_purge: true,
        }
    }

    /// Whether a delete starts the purge in a task of this process (a local server) or leaves
    /// it to the scheduled purge (Lambda, which freezes the process after the response).
    pub fn with_background_purge(mut self, on: bool) -> Self {
        self.background_purge = on;
        self
    }

    /// Whether deletes purge in a task of this process.
    pub fn background_purge(&self) -> bool {
        self.background_purge
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Now, in Unix seconds.
    pub fn now_secs(&self) -> i64 {
        i64::try_from(self.clock.now_ms() / 1000).unwrap_or(i64::MAX)
    }

    /// Names the caller of `presented`: a tenant token (`scim_<id>_<secret>`) through the
    /// cache or one point read of its record; anything else through `single`, the
    /// single-tenant source. A malformed tenant token never reaches the store, and an unknown
    /// one is never cached.
    ///
    /// # Errors
    /// `Invalid` when the token is not valid, `Unavailable` when the store cannot decide.
    pub async fn authenticate<R: Registry>(
        &self,
        registry: &R,
        single: &Tokens,
        presented: &str,
    ) -> Result<Verified, AuthError> {
        let Some(parsed) = tenant_token::parse(presented) else {
            let principal = single.authenticate(presented).await?;
            return Ok(Verified {
                principal,
                requests_per_second: None,
                registered: false,
            });
        };
        let digest = parsed.digest().ok_or(AuthError::Invalid)?;
        match self.cache.lookup(parsed.id, &digest) {
            Cached::Valid(v) => return Ok(v),
            Cached::Wrong => return Err(AuthError::Invalid),
            Cached::Miss => {}
        }
        let record = registry
            .token(parsed.id)
            .await
            .map_err(|e| AuthError::Unavailable(Box::new(e)))?
            .ok_or(AuthError::Invalid)?;
        let now = self.now_secs();
        let valid = record.digest.same_as(&digest)
            && record.tenant_status == TenantStatus::Active
            && record.expires_at.is_none_or(|e| e > now);
        if !valid {
            return Err(AuthError::Invalid);
        }
        let verified = Verified {
            principal: Principal {
                tenant: record.tenant.clone(),
            },
            requests_per_second: record.requests_per_second,
            registered: true,
        };
        let expires_ms = record
            .expires_at
            .map(|e| u64::try_from(e).unwrap_or(0).saturating_mul(1000));
        self.cache
            .insert(parsed.id, digest, verified.clone(), expires_ms);
        let stale = record
            .last_used_at
            .is_none_or(|t| now - t >= interval_secs());
        if stale {
            self.touch(registry, Touch::Token(record.id)).await;
        }
        Ok(verified)
    }

    /// Writes the tenant's coarse `lastRequestAt` when this instance has not for
    /// [`TOUCH_INTERVAL`]. Only tenants of the registry have a record to touch.
    pub async fn seen<R: Registry>(&self, registry: &R, verified: &Verified) {
        if verified.registered {
            self.touch(registry, Touch::Tenant(verified.principal.tenant.clone()))
                .await;
        }
    }

    async fn touch<R: Registry>(&self, registry: &R, what: Touch) {
        let now = self.clock.now_ms();
        let interval = u64::try_from(TOUCH_INTERVAL.as_millis()).unwrap_or(u64::MAX);
        {
            let mut marks = self.touches.lock().unwrap_or_else(|e| e.into_inner());
            if marks
                .get(&what)
                .is_some_and(|&at| now.saturating_sub(at) < interval)
            {
                return;
            }
            if marks.len() >= MAX_TOUCHES {
                marks.clear();
            }
            marks.insert(what.clone(), now);
        }
        // A lost "last seen" write costs accuracy, not correctness: logged, never an error.
        if let Err(e) = registry.touch(&what, self.now_secs()).await {
            tracing::warn!(error = %e, "could not record the last request time");
        }
    }

    /// Takes one request from the tenant's bucket. The single-tenant credential is not
    /// capped here: it is the deployment's own directory, which the API Gateway throttle
    /// bounds, and a single-token deployment keeps behaving as before.
    ///
    /// # Errors
    /// Seconds until the tenant may send again.
    pub fn admit(&self, verified: &Verified) -> Result<(), u64> {
        if !verified.registered {
            return Ok(());
        }
        self.limiter
            .admit(&verified.principal.tenant, verified.requests_per_second)
    }

    /// Forgets a tenant's cached tokens (this instance changed the tenant).
    pub fn forget_tenant(&self, tenant: &TenantId) {
        self.cache.forget_tenant(tenant);
    }

    /// Forgets one cached token (this instance revoked it).
    pub fn forget_token(&self, id: &str) {
        self.cache.forget_token(id);
    }
}

fn interval_secs() -> i64 {
    i64::try_from(TOUCH_INTERVAL.as_secs()).unwrap_or(i64::MAX)
}
