//! Two tenants syncing at once with the same user and group names end with exactly their own
//! data.

use std::sync::Arc;

use axum::http::Method;
use serde_json::json;

use crate::helpers::{Deployment, group, user};
use crate::on_both_stores;

on_both_stores!(two_tenants_syncing_at_once_with_the_same_names_keep_their_own_data);

const USERS: usize = 8;

async fn sync(d: Arc<Deployment>, token: String, one: bool) -> (Vec<String>, String) {
    let app = if one { d.one.clone() } else { d.two.clone() };
    let mut ids = Vec::new();
    for i in 0..USERS {
        let r = d
            .scim(
                &app,
                &token,
                Method::POST,
                "/scim/v2/Users",
                Some(user(&format!("same{i}"))),
            )
            .await
            .expect(201);
        ids.push(r.str("id"));
    }
    let g = d
        .scim(
            &app,
            &token,
            Method::POST,
            "/scim/v2/Groups",
            Some(group("Same", &[])),
        )
        .await
        .expect(201)
        .str("id");
    for id in &ids {
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}],
        });
        d.scim(
            &app,
            &token,
            Method::PATCH,
            &format!("/scim/v2/Groups/{g}"),
            Some(patch),
        )
        .await
        .expect(204);
    }
    (ids, g)
}

async fn two_tenants_syncing_at_once_with_the_same_names_keep_their_own_data(d: &Deployment) {
    let (_, ka) = d.tenant_with_token("Sync A").await;
    let (_, kb) = d.tenant_with_token("Sync B").await;
    let shared = Arc::new(d.clone());
    let (a, b) = tokio::join!(
        tokio::spawn(sync(Arc::clone(&shared), ka.clone(), true)),
        tokio::spawn(sync(Arc::clone(&shared), kb.clone(), false)),
    );
    let ((a_ids, a_group), (b_ids, b_group)) = (a.unwrap(), b.unwrap());
    for (k, own, g) in [(&ka, &a_ids, &a_group), (&kb, &b_ids, &b_group)] {
        let listed = d
            .scim(&d.one, k, Method::GET, "/scim/v2/Users?count=100", None)
            .await
            .expect(200);
        let mut got: Vec<String> = listed.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        got.sort();
        let mut want = own.clone();
        want.sort();
        assert_eq!(got, want);
        let members = d
            .scim(
                &d.one,
                k,
                Method::GET,
                &format!("/scim/v2/Groups/{g}"),
                None,
            )
            .await
            .expect(200);
        let mut m: Vec<String> = members.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["value"].as_str().unwrap().to_string())
            .collect();
        m.sort();
        assert_eq!(m, want);
    }
}
