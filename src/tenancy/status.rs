//! The tenant registry as the OAuth layer's [`TenantStatus`]: an access token or a client of a
//! disabled or deleted tenant is refused (within the liveness cache's 60 s bound elsewhere).

use std::sync::Arc;

use crate::auth::liveness::{BoxFuture, TenantStatus};
use crate::service::Service;
use crate::store::registry::{Registry, TenantStatus as RegistryStatus};
use crate::store::{BoxError, Store, TenantId};

/// Asks the registry of the service's store. The single-tenant `default` tenant is not in the
/// registry and is always active.
pub struct RegistryTenantStatus<S: Store> {
    service: Arc<Service<S>>,
}

impl<S: Store> RegistryTenantStatus<S> {
    /// Over the store `service` serves.
    pub fn new(service: Arc<Service<S>>) -> Self {
        RegistryTenantStatus { service }
    }
}

impl<S: Store> TenantStatus for RegistryTenantStatus<S> {
    fn is_active<'a>(&'a self, tenant: &'a TenantId) -> BoxFuture<'a, Result<bool, BoxError>> {
        Box::pin(async move {
            if *tenant == TenantId::default() {
                return Ok(true);
            }
            let record = Registry::tenant(self.service.store(), tenant)
                .await
                .map_err(|e| Box::new(e) as BoxError)?;
            Ok(record.is_some_and(|r| r.status == RegistryStatus::Active))
        })
    }
}
