//! The tenant registry of the embedded store: one mutex over tenants, names and tokens, so
//! every registry operation is atomic, as the DynamoDB transactions make them there.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::MemoryStore;
use crate::scim::schema::fold_case;
use crate::store::registry::{
    MAX_TOKENS_PER_TENANT, Registry, TenantPatch, TenantRecord, TenantStatus, TokenRecord, Touch,
};
use crate::store::{Call, StoreError, StoreResult, TenantId};

#[derive(Debug, Default)]
struct State {
    /// Every tenant not yet purged, by id.
    tenants: BTreeMap<TenantId, TenantRecord>,
    /// Folded names of live tenants → id.
    names: HashMap<String, TenantId>,
    /// Tokens by id.
    tokens: BTreeMap<String, TokenRecord>,
}

/// The registry's state inside [`MemoryStore`].
#[derive(Debug, Default)]
pub(super) struct RegistryState(Mutex<State>);

impl MemoryStore {
    fn registry(&self) -> MutexGuard<'_, State> {
        // Every operation validates before it mutates: a panic elsewhere leaves it consistent.
        self.registry.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn live(state: &State, id: &TenantId) -> StoreResult<TenantRecord> {
    state
        .tenants
        .get(id)
        .filter(|t| t.status != TenantStatus::Deleting)
        .cloned()
        .ok_or(StoreError::NotFound)
}

/// Copies the tenant's status and cap onto each of its tokens.
fn sync_tokens(state: &mut State, tenant: &TenantRecord) {
    for token in state.tokens.values_mut() {
        if token.tenant == tenant.id {
            token.tenant_status = tenant.status;
            token.requests_per_second = tenant.requests_per_second;
        }
    }
}

const NAME_TAKEN: StoreError = StoreError::Uniqueness { attribute: "name" };

impl Registry for MemoryStore {
    async fn create_tenant(&self, tenant: &TenantRecord) -> StoreResult<()> {
        self.count(Call::TransactWriteItems);
        let mut state = self.registry();
        let folded = fold_case(&tenant.name);
        if state.names.contains_key(&folded) {
            return Err(NAME_TAKEN);
        }
        if state.tenants.contains_key(&tenant.id) {
            return Err(StoreError::Internal("tenant id collision".into()));
        }
        state.names.insert(folded, tenant.id.clone());
        state.tenants.insert(tenant.id.clone(), tenant.clone());
        Ok(())
    }

    async fn tenant(&self, id: &TenantId) -> StoreResult<Option<TenantRecord>> {
        self.count(Call::GetItem);
        Ok(self.registry().tenants.get(id).cloned())
    }

    async fn tenants(
        &self,
        after: Option<&TenantId>,
        limit: usize,
    ) -> StoreResult<Vec<TenantRecord>> {
        self.count(Call::Query);
        let state = self.registry();
        let range = match after {
            Some(a) => state.tenants.range((
                std::ops::Bound::Excluded(a.clone()),
                std::ops::Bound::Unbounded,
            )),
            None => state.tenants.range(..),
        };
        Ok(range
            .map(|(_, t)| t)
            .filter(|t| t.status != TenantStatus::Deleting)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn update_tenant(&self, id: &TenantId, patch: &TenantPatch) -> StoreResult<TenantRecord> {
        self.count(Call::TransactWriteItems);
        let mut state = self.registry();
        let mut tenant = live(&state, id)?;
        if let Some(name) = &patch.name {
            let (old, new) = (fold_case(&tenant.name), fold_case(name));
            if old != new {
                if state.names.contains_key(&new) {
                    return Err(NAME_TAKEN);
                }
                state.names.remove(&old);
                state.names.insert(new, id.clone());
            }
            tenant.name.clone_from(name);
        }
        if let Some(status) = patch.status {
            tenant.status = status;
        }
        if let Some(rps) = patch.requests_per_second {
            tenant.requests_per_second = rps;
        }
        sync_tokens(&mut state, &tenant);
        state.tenants.insert(id.clone(), tenant.clone());
        Ok(tenant)
    }

    async fn delete_tenant(&self, id: &TenantId, at: i64) -> StoreResult<()> {
        self.count(Call::TransactWriteItems);
        let mut state = self.registry();
        let mut tenant = live(&state, id)?;
        state.names.remove(&fold_case(&tenant.name));
        tenant.status = TenantStatus::Deleting;
        tenant.deleted_at = Some(at);
        sync_tokens(&mut state, &tenant);
        state.tenants.insert(id.clone(), tenant);
        Ok(())
    }

    async fn create_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.count(Call::TransactWriteItems);
        let mut state = self.registry();
        let tenant = live(&state, &token.tenant)?;
        let held = state
            .tokens
            .values()
            .filter(|t| t.tenant == token.tenant)
            .count();
        if held >= MAX_TOKENS_PER_TENANT {
            return Err(StoreError::TooLarge(crate::store::Limit::TenantTokens {
                count: held,
            }));
        }
        let mut token = token.clone();
        token.tenant_status = tenant.status;
        token.requests_per_second = tenant.requests_per_second;
        state.tokens.insert(token.id.clone(), token);
        Ok(())
    }

    async fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        self.count(Call::GetItem);
        Ok(self.registry().tokens.get(id).cloned())
    }

    async fn tokens(&self, tenant: &TenantId) -> StoreResult<Vec<TokenRecord>> {
        self.count(Call::Query);
        Ok(self
            .registry()
            .tokens
            .values()
            .filter(|t| t.tenant == *tenant)
            .cloned()
            .collect())
    }

    async fn revoke_token(&self, tenant: &TenantId, id: &str) -> StoreResult<()> {
        self.count(Call::TransactWriteItems);
        let mut state = self.registry();
        match state.tokens.get(id) {
            Some(t) if t.tenant == *tenant => {
                state.tokens.remove(id);
                Ok(())
            }
            _ => Err(StoreError::NotFound),
        }
    }

    async fn touch(&self, what: &Touch, at: i64) -> StoreResult<()> {
        self.count(Call::UpdateItem);
        let mut state = self.registry();
        match what {
            Touch::Token(id) => {
                if let Some(t) = state.tokens.get_mut(id) {
                    t.last_used_at = Some(at);
                }
            }
            Touch::Tenant(id) => {
                if let Some(t) = state.tenants.get_mut(id) {
                    t.last_request_at = Some(at);
                }
            }
        }
        Ok(())
    }

    async fn purging(&self) -> StoreResult<Vec<TenantRecord>> {
        self.count(Call::Query);
        Ok(self
            .registry()
            .tenants
            .values()
            .filter(|t| t.status == TenantStatus::Deleting)
            .cloned()
            .collect())
    }

    async fn finish_purge(&self, id: &TenantId) -> StoreResult<()> {
        self.count(Call::BatchWriteItem);
        // The tenant's (now empty) maps, then its registry entries, the tenant record last.
        self.write().remove(id);
        let mut state = self.registry();
        state.tokens.retain(|_, t| t.tenant != *id);
        state.tenants.remove(id);
        Ok(())
    }
}
