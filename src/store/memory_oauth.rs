//! The embedded [`OAuthStore`]: OAuth records in process memory, for local runs and tests.
//! One `std` lock (never held across an `.await`) makes each operation atomic, as the
//! conditional writes of the DynamoDB store are.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::oauth::{ClientRecord, FederatedRecord, OAuthStore};
use super::{StoreError, StoreResult, TenantId};

/// In-memory [`OAuthStore`].
#[derive(Debug, Default)]
pub struct MemoryOAuthStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Client id → client.
    clients: BTreeMap<String, ClientRecord>,
    /// Credential id → credential.
    federated: BTreeMap<String, FederatedRecord>,
    /// (issuer, jti) → when it may be forgotten.
    jtis: HashMap<(String, String), i64>,
}

impl MemoryOAuthStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Internal("the OAuth store lock is poisoned".into()))
    }
}

impl OAuthStore for MemoryOAuthStore {
    async fn create_client(&self, client: &ClientRecord) -> StoreResult<()> {
        let mut inner = self.lock()?;
        if inner.clients.contains_key(&client.id) {
            return Err(StoreError::VersionMismatch { current: 0 });
        }
        inner.clients.insert(client.id.clone(), client.clone());
        Ok(())
    }

    async fn client(&self, id: &str) -> StoreResult<Option<ClientRecord>> {
        Ok(self.lock()?.clients.get(id).cloned())
    }

    async fn replace_client(&self, client: &ClientRecord) -> StoreResult<()> {
        let mut inner = self.lock()?;
        let stored = inner
            .clients
            .get_mut(&client.id)
            .ok_or(StoreError::NotFound)?;
        if stored.version + 1 != client.version {
            return Err(StoreError::VersionMismatch {
                current: stored.version,
            });
        }
        *stored = client.clone();
        Ok(())
    }

    async fn clients(&self, tenant: &TenantId) -> StoreResult<Vec<ClientRecord>> {
        Ok(self
            .lock()?
            .clients
            .values()
            .filter(|c| &c.tenant == tenant)
            .cloned()
            .collect())
    }

    async fn create_federated(&self, credential: &FederatedRecord) -> StoreResult<()> {
        let mut inner = self.lock()?;
        let taken = inner.federated.values().any(|f| {
            f.issuer == credential.issuer
                && f.subject == credential.subject
                && f.audience == credential.audience
        });
        if taken || inner.federated.contains_key(&credential.id) {
            return Err(StoreError::Uniqueness {
                attribute: "issuer, subject and audience",
            });
        }
        inner
            .federated
            .insert(credential.id.clone(), credential.clone());
        Ok(())
    }

    async fn federated_by_claims(
        &self,
        issuer: &str,
        subject: &str,
        audience: &str,
    ) -> StoreResult<Option<FederatedRecord>> {
        Ok(self
            .lock()?
            .federated
            .values()
            .find(|f| f.issuer == issuer && f.subject == subject && f.audience == audience)
            .cloned())
    }

    async fn federated(&self, tenant: &TenantId) -> StoreResult<Vec<FederatedRecord>> {
        Ok(self
            .lock()?
            .federated
            .values()
            .filter(|f| &f.tenant == tenant)
            .cloned()
            .collect())
    }

    async fn delete_federated(&self, tenant: &TenantId, id: &str) -> StoreResult<()> {
        let mut inner = self.lock()?;
        match inner.federated.get(id) {
            Some(f) if &f.tenant == tenant => {
                inner.federated.remove(id);
                Ok(())
            }
            _ => Err(StoreError::NotFound),
        }
    }

    async fn claim_jti(
        &self,
        issuer: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let mut inner = self.lock()?;
        // Forget what has expired, so the map stays bounded by the assertions still valid.
        inner.jtis.retain(|_, until| *until > now);
        let key = (issuer.to_string(), jti.to_string());
        if inner.jtis.contains_key(&key) {
            return Ok(false);
        }
        inner.jtis.insert(key, expires_at);
        Ok(true)
    }
}
