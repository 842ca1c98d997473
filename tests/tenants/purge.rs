//! Deleting a tenant purges every item it owns, resumably and idempotently.

use axum::http::Method;
use scim_lambda::tenancy::purge::Progress;

use crate::helpers::{Deployment, group, user};
use crate::on_both_stores;

on_both_stores!(a_purge_stopped_half_way_finishes_when_run_again);

async fn a_purge_stopped_half_way_finishes_when_run_again(d: &Deployment) {
    let (t, k) = d.tenant_with_token("Doomed").await;
    let (keep, keep_token) = d.tenant_with_token("Kept").await;
    d.admin(
        Method::POST,
        &format!("/tenants/{t}/tokens"),
        Some(serde_json::json!({})),
    )
    .await
    .expect(201);
    for (tenant, token) in [(&t, &k), (&keep, &keep_token)] {
        let mut ids = Vec::new();
        for i in 0..5 {
            let r = d
                .scim(
                    &d.one,
                    token,
                    Method::POST,
                    "/scim/v2/Users",
                    Some(user(&format!("p{i}"))),
                )
                .await
                .expect(201);
            ids.push(r.str("id"));
        }
        for name in ["G1", "G2"] {
            d.scim(
                &d.one,
                token,
                Method::POST,
                "/scim/v2/Groups",
                Some(group(name, &ids)),
            )
            .await
            .expect(201);
        }
        assert!(d.leftovers(tenant).await > 0);
    }
    let kept_before = d.leftovers(&keep).await;
    d.admin(Method::DELETE, &format!("/tenants/{t}"), None)
        .await
        .expect(202);
    // Stopped half-way: some of it is gone, not all.
    let before = d.leftovers(&t).await;
    assert_eq!(d.purge(&t, 3).await, Progress::More);
    let half = d.leftovers(&t).await;
    assert!(half > 0 && half < before, "{half} of {before}");
    // Run again: finishes; and again: nothing to do.
    assert_eq!(d.purge(&t, usize::MAX).await, Progress::Done);
    assert_eq!(d.leftovers(&t).await, 0, "every item of the tenant is gone");
    assert_eq!(d.purge(&t, usize::MAX).await, Progress::Done);
    assert_eq!(
        d.leftovers(&keep).await,
        kept_before,
        "the other tenant is untouched"
    );
    let r = d
        .scim(&d.one, &keep_token, Method::GET, "/scim/v2/Users", None)
        .await
        .expect(200);
    assert_eq!(r.body["totalResults"], 5);
    d.admin(
        Method::POST,
        "/tenants",
        Some(serde_json::json!({"name": "Doomed"})),
    )
    .await
    .expect(201);
}

/// The scheduled purge waits for the token cache bound after a delete, then finishes; a
/// budget bounds each run.
#[tokio::test]
async fn the_scheduled_purge_waits_for_the_cache_bound_and_resumes_within_its_budget() {
    use scim_lambda::scim::schema::ResourceKind;
    use scim_lambda::store::Store;
    use scim_lambda::store::memory::MemoryStore;
    use scim_lambda::store::registry::{Registry, TenantRecord, TenantStatus};
    use scim_lambda::store::{IndexKeys, Record, TenantId};
    use scim_lambda::tenancy::purge::{GRACE, purge_pending};

    let store = MemoryStore::new();
    let id = TenantId::generate().unwrap();
    let t = TenantRecord {
        id: id.clone(),
        name: "Scheduled".into(),
        status: TenantStatus::Active,
        created_at: 0,
        deleted_at: None,
        requests_per_second: None,
        last_request_at: None,
    };
    store.create_tenant(&t).await.unwrap();
    for i in 0..5 {
        let uid = uuid::Uuid::new_v4().to_string();
        let record = Record {
            doc: serde_json::json!({"id": uid, "userName": format!("s{i}")}).into(),
            id: uid,
            version: 1,
            keys: IndexKeys {
                unique: Some(format!("s{i}")),
                ..IndexKeys::default()
            },
        };
        store
            .create(&id, ResourceKind::User, &record, &[])
            .await
            .unwrap();
    }
    store.delete_tenant(&id, 1_000).await.unwrap();
    let grace = i64::try_from(GRACE.as_secs()).unwrap();
    assert_eq!(
        purge_pending(&store, 1_000 + grace - 1, GRACE, 100)
            .await
            .unwrap(),
        (0, 1)
    );
    assert_eq!(
        purge_pending(&store, 1_000 + grace, GRACE, 2)
            .await
            .unwrap(),
        (0, 1)
    );
    assert_eq!(
        purge_pending(&store, 1_000 + grace, GRACE, 2)
            .await
            .unwrap(),
        (0, 1)
    );
    assert_eq!(
        purge_pending(&store, 1_000 + grace, GRACE, 2)
            .await
            .unwrap(),
        (1, 0)
    );
    assert!(store.tenant(&id).await.unwrap().is_none());
    assert_eq!(
        purge_pending(&store, 1_000 + grace, GRACE, 2)
            .await
            .unwrap(),
        (0, 0)
    );
}
