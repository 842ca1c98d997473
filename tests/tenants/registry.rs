//! The registry over the store trait, on both stores: the copies of a tenant's state on its
//! tokens never miss a token, however token creates, revokes and tenant changes interleave.

use std::sync::Arc;

use scim_lambda::auth::TokenDigest;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::store::registry::{
    Registry, TenantPatch, TenantRecord, TenantStatus, TokenRecord,
};
use scim_lambda::store::{StoreError, TenantId};

fn tenant(name: &str) -> TenantRecord {
    TenantRecord {
        id: TenantId::generate().unwrap(),
        name: name.into(),
        status: TenantStatus::Active,
        created_at: 1,
        deleted_at: None,
        requests_per_second: None,
        last_request_at: None,
    }
}

fn token(t: &TenantId, i: usize) -> TokenRecord {
    TokenRecord {
        id: format!("{:a>20}", i),
        tenant: t.clone(),
        description: String::new(),
        digest: TokenDigest::of("s").unwrap(),
        created_at: 1,
        expires_at: None,
        last_used_at: None,
        tenant_status: TenantStatus::Active,
        requests_per_second: None,
    }
}

async fn a_disable_racing_token_creates_reaches_every_token<R: Registry>(r: Arc<R>) {
    let t = tenant("Racing");
    r.create_tenant(&t).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let (r, id) = (Arc::clone(&r), t.id.clone());
        tasks.push(tokio::spawn(async move {
            // A create after the disable is refused (the tenant is not active any more is
            // fine: the token then carries the disabled copy) or succeeds; never an error.
            r.create_token(&token(&id, i)).await
        }));
    }
    let (r2, id) = (Arc::clone(&r), t.id.clone());
    let disable = tokio::spawn(async move {
        let patch = TenantPatch {
            status: Some(TenantStatus::Disabled),
            requests_per_second: Some(Some(7)),
            ..TenantPatch::default()
        };
        r2.update_tenant(&id, &patch).await
    });
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    disable.await.unwrap().unwrap();
    let tokens = r.tokens(&t.id).await.unwrap();
    assert_eq!(tokens.len(), 6);
    for k in tokens {
        let read = r.token(&k.id).await.unwrap().unwrap();
        assert_eq!(
            (read.tenant_status, read.requests_per_second),
            (TenantStatus::Disabled, Some(7)),
            "token {} missed the tenant's change",
            k.id
        );
    }
}

async fn names_are_unique_among_live_tenants_and_free_after_delete<R: Registry>(r: Arc<R>) {
    let a = tenant("Same");
    r.create_tenant(&a).await.unwrap();
    let clash = r.create_tenant(&tenant("SAME")).await;
    assert!(
        matches!(clash, Err(StoreError::Uniqueness { .. })),
        "{clash:?}"
    );
    r.delete_tenant(&a.id, 5).await.unwrap();
    r.create_tenant(&tenant("same")).await.unwrap();
    assert!(matches!(
        r.delete_tenant(&a.id, 6).await,
        Err(StoreError::NotFound)
    ));
    let purging = r.purging().await.unwrap();
    assert_eq!(purging.len(), 1);
    assert_eq!(purging[0].deleted_at, Some(5));
    assert!(
        r.tenants(None, 10)
            .await
            .unwrap()
            .iter()
            .all(|t| t.id != a.id)
    );
    r.finish_purge(&a.id).await.unwrap();
    assert!(r.tenant(&a.id).await.unwrap().is_none());
    assert!(r.purging().await.unwrap().is_empty());
}

macro_rules! registry_suite {
    ($($name:ident),*) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(Arc::new(MemoryStore::new())).await;
                }
            )*
            use super::*;
        }
        mod dynamo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if !crate::support::emulator::enabled("DynamoDB registry") {
                        return;
                    }
                    let store = crate::support::emulator::dynamo_store("scim-registry").await;
                    super::$name(Arc::new(store)).await;
                }
            )*
            use super::*;
        }
    };
}

registry_suite!(
    a_disable_racing_token_creates_reaches_every_token,
    names_are_unique_among_live_tenants_and_free_after_delete
);
