//! The per-tenant request cap: a token bucket per tenant, per instance.
//!
//! Per instance on purpose: a global limiter would need a shared counter (a DynamoDB write per
//! request), which costs more than the requests it limits. Under Lambda each instance serves one
//! request at a time, so the deployment-wide ceiling for a tenant is the per-instance rate times
//! the instances serving it; the API Gateway throttle and the function's reserved concurrency
//! bound that product (docs/saas.md, "Request caps").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::tenant::TenantId;

/// Requests per second a tenant gets when its record sets no cap: above the 25 per second
/// Microsoft's gallery requires an endpoint to sustain per tenant.
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 50;
/// Seconds of traffic a bucket holds, so a sync that pauses and resumes is not punished.
const BURST_SECONDS: f64 = 2.0;
/// Most tenants tracked per instance; beyond it, full (idle) buckets are forgotten.
const MAX_BUCKETS: usize = 10_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at_ms: u64,
}

/// Token buckets by tenant.
pub struct Limiter {
    buckets: Mutex<HashMap<TenantId, Bucket>>,
    default_rate: u32,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Limiter(default {}/s)", self.default_rate)
    }
}

impl Limiter {
    /// A limiter giving `default_rate` requests per second to tenants without a cap of their own.
    pub fn new(default_rate: u32, clock: Arc<dyn Clock>) -> Self {
        Limiter {
            buckets: Mutex::new(HashMap::new()),
            default_rate: default_rate.max(1),
            clock,
        }
    }

    /// Takes one request from `tenant`'s bucket (`rate`: its own cap, if any).
    ///
    /// # Errors
    /// The whole seconds to wait before the next request would be admitted.
    pub fn admit(&self, tenant: &TenantId, rate: Option<u32>) -> Result<(), u64> {
        let rate = f64::from(rate.unwrap_or(self.default_rate).max(1));
        let capacity = rate * BURST_SECONDS;
        let now = self.clock.now_ms();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(tenant) {
            buckets.clear();
        }
        let bucket = buckets.entry(tenant.clone()).or_insert(Bucket {
            tokens: capacity,
            at_ms: now,
        });
        #[allow(clippy::cast_precision_loss, reason = "milliseconds fit in f64")]
        let elapsed = now.saturating_sub(bucket.at_ms) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.at_ms = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / rate).ceil();
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "small positive"
            )]
            Err((wait as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn a_tenant_gets_its_burst_then_its_rate_and_others_are_unaffected() {
        let clock = Arc::new(ManualClock::at(0));
        let limiter = Limiter::new(10, clock.clone());
        let a = TenantId::parse("a").unwrap();
        let b = TenantId::parse("b").unwrap();
        let admitted = (0..30).filter(|_| limiter.admit(&a, None).is_ok()).count();
        assert_eq!(admitted, 20, "two seconds of burst");
        assert_eq!(limiter.admit(&a, None), Err(1));
        assert!(
            limiter.admit(&b, None).is_ok(),
            "another tenant has its own bucket"
        );
        clock.advance(Duration::from_millis(500));
        let admitted = (0..30).filter(|_| limiter.admit(&a, None).is_ok()).count();
        assert_eq!(admitted, 5, "refilled at the rate");
    }

    #[test]
    fn a_tenant_cap_overrides_the_default() {
        let limiter = Limiter::new(10, Arc::new(ManualClock::at(0)));
        let a = TenantId::parse("a").unwrap();
        let admitted = (0..100)
            .filter(|_| limiter.admit(&a, Some(2)).is_ok())
            .count();
        assert_eq!(admitted, 4);
    }
}
