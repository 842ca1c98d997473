//! Webhook endpoints the vendor registered: where events are pushed, with which signing
//! secret, filtered by tenant and type. The [`WebhookStore`] trait both stores implement.
//!
//! The signing secret is kept as its text (the table is encrypted at rest with KMS): it must
//! be recoverable to sign every delivery, so it cannot be a hash like a bearer token. It is
//! shown to the vendor once, at registration, and never in a listing.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};

use crate::store::{StoreResult, TenantId};

/// A registered endpoint.
#[derive(Clone)]
pub struct Endpoint {
    /// Server-issued id (`wh_` + 20 random characters).
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The Standard Webhooks signing secret (`whsec_...`).
    pub secret: SecretString,
    /// Only events of these tenants; `None` for every tenant.
    pub tenants: Option<Vec<TenantId>>,
    /// Only events of these `type`s; `None` for every type.
    pub types: Option<Vec<String>>,
    /// When it was registered (RFC 3339).
    pub created_at: String,
}

impl Endpoint {
    /// Whether an event of `tenant` and `event_type` goes to this endpoint.
    pub fn wants(&self, tenant: &TenantId, event_type: &str) -> bool {
        self.tenants.as_ref().is_none_or(|t| t.contains(tenant))
            && self
                .types
                .as_ref()
                .is_none_or(|t| t.iter().any(|x| x == event_type))
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("tenants", &self.tenants)
            .field("types", &self.types)
            .finish_non_exhaustive()
    }
}

/// The registered endpoints.
pub trait WebhookStore: Send + Sync + 'static {
    /// Registers an endpoint.
    ///
    /// # Errors
    /// Backend failures.
    fn put_endpoint(&self, endpoint: &Endpoint) -> impl Future<Output = StoreResult<()>> + Send;

    /// Every endpoint, in id order (one read: a deployment registers a handful).
    ///
    /// # Errors
    /// Backend failures.
    fn endpoints(&self) -> impl Future<Output = StoreResult<Vec<Endpoint>>> + Send;

    /// Removes an endpoint; `false` when there was none. Deliveries already queued for it are
    /// dropped when they come due.
    ///
    /// # Errors
    /// Backend failures.
    fn delete_endpoint(&self, id: &str) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// The embedded registry.
#[derive(Debug, Default)]
pub struct MemoryWebhooks {
    endpoints: Mutex<BTreeMap<String, Endpoint>>,
}

impl MemoryWebhooks {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Endpoint>> {
        self.endpoints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl WebhookStore for MemoryWebhooks {
    async fn put_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()> {
        self.lock().insert(endpoint.id.clone(), endpoint.clone());
        Ok(())
    }

    async fn endpoints(&self) -> StoreResult<Vec<Endpoint>> {
        Ok(self.lock().values().cloned().collect())
    }

    async fn delete_endpoint(&self, id: &str) -> StoreResult<bool> {
        Ok(self.lock().remove(id).is_some())
    }
}

/// The secret's text, for the store that keeps it.
pub(crate) fn secret_text(endpoint: &Endpoint) -> &str {
    endpoint.secret.expose_secret()
}
