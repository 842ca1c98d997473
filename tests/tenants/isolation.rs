//! Two tenants with the same names, through the SCIM routes with their own tokens: nothing of
//! one is visible to the other, on either URL.

use axum::http::Method;
use serde_json::{Value, json};

use crate::helpers::{DEFAULT_TOKEN, Deployment, enc, group, user};
use crate::on_both_stores;

on_both_stores!(
    each_tenant_sees_only_its_own_data,
    a_token_works_on_its_own_and_the_shared_url_only,
);

fn ids(v: &Value) -> Vec<String> {
    v["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

async fn each_tenant_sees_only_its_own_data(d: &Deployment) {
    let (a, ka) = d.tenant_with_token("Alpha").await;
    let (b, kb) = d.tenant_with_token("Beta").await;
    let base = |t: &str| format!("/tenants/{t}/scim/v2");
    let mut made = Vec::new();
    for (t, k, extra) in [(&a, &ka, 2), (&b, &kb, 0)] {
        let mut users = Vec::new();
        for i in 0..(1 + extra) {
            let name = if i == 0 {
                "alice".to_string()
            } else {
                format!("u{i}")
            };
            let r = d
                .scim(
                    &d.one,
                    k,
                    Method::POST,
                    &format!("{}/Users", base(t)),
                    Some(user(&name)),
                )
                .await
                .expect(201);
            users.push(r.str("id"));
        }
        let g = d
            .scim(
                &d.one,
                k,
                Method::POST,
                &format!("{}/Groups", base(t)),
                Some(group("Engineering", &users[..1])),
            )
            .await
            .expect(201);
        made.push((users, g.str("id")));
    }
    let (a_users, a_group) = &made[0];
    let (b_users, b_group) = &made[1];
    // Every query kind, in each tenant, finds only its own resources.
    let queries = [
        "/Users".to_string(),
        format!("/Users?filter={}", enc("userName eq \"alice\"")),
        format!("/Users?filter={}", enc("externalId eq \"ext-alice\"")),
        format!(
            "/Users?filter={}",
            enc("emails[type eq \"work\"].value eq \"alice@example.com\"")
        ),
        format!("/Users?filter={}", enc("userName sw \"a\"")),
        "/Users?sortBy=userName&sortOrder=descending".to_string(),
        "/Users?startIndex=1&count=1".to_string(),
        "/Users?cursor&count=1".to_string(),
        format!("/Groups?filter={}", enc("displayName eq \"Engineering\"")),
        format!(
            "/Groups?filter={}",
            enc(&format!("members.value eq \"{}\"", a_users[0]))
        ),
        "/Groups".to_string(),
    ];
    for (t, k, own) in [(&a, &ka, &made[0]), (&b, &kb, &made[1])] {
        let own_ids: Vec<&String> = own.0.iter().chain(std::iter::once(&own.1)).collect();
        for q in &queries {
            let r = d
                .scim(&d.one, k, Method::GET, &format!("{}{q}", base(t)), None)
                .await
                .expect(200);
            for id in ids(&r.body) {
                assert!(own_ids.contains(&&id), "{t} {q}: {id} is not its own");
            }
        }
        let all = d
            .scim(&d.one, k, Method::GET, &format!("{}/Users", base(t)), None)
            .await;
        assert_eq!(all.body["totalResults"].as_u64(), Some(own.0.len() as u64));
    }
    // An id of another tenant is a 404, for every verb.
    let other_user = format!("{}/Users/{}", base(&b), a_users[0]);
    for method in [Method::GET, Method::DELETE] {
        d.scim(&d.one, &kb, method, &other_user, None)
            .await
            .scim_error(404);
    }
    d.scim(&d.one, &kb, Method::PUT, &other_user, Some(user("alice")))
        .await
        .scim_error(404);
    // A member reference to another tenant's user is invalidValue.
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": a_users[1]}]}],
    });
    let r = d
        .scim(
            &d.one,
            &kb,
            Method::PATCH,
            &format!("{}/Groups/{b_group}", base(&b)),
            Some(patch),
        )
        .await
        .scim_error(400);
    assert_eq!(r.body["scimType"], "invalidValue");
    let members = d
        .scim(
            &d.one,
            &ka,
            Method::GET,
            &format!("{}/Groups/{a_group}", base(&a)),
            None,
        )
        .await
        .expect(200);
    assert_eq!(members.body["members"].as_array().unwrap().len(), 1);
    assert_eq!(members.body["members"][0]["value"], a_users[0].as_str());
    assert_ne!(a_users[0], b_users[0]);
    // The default tenant sees neither.
    let r = d
        .scim(&d.one, DEFAULT_TOKEN, Method::GET, "/scim/v2/Users", None)
        .await
        .expect(200);
    assert_eq!(r.body["totalResults"], 0);
    // The admin counts come from each tenant's own counters.
    for (t, users) in [(&a, 3), (&b, 1)] {
        let s = d
            .admin(Method::GET, &format!("/tenants/{t}"), None)
            .await
            .expect(200);
        assert_eq!(
            (s.body["users"].as_u64(), s.body["groups"].as_u64()),
            (Some(users), Some(1))
        );
        assert!(s.body["lastRequestAt"].is_string(), "{}", s.body);
    }
}

async fn a_token_works_on_its_own_and_the_shared_url_only(d: &Deployment) {
    let (a, ka) = d.tenant_with_token("Gamma").await;
    let (b, _) = d.tenant_with_token("Delta").await;
    let created = d
        .scim(
            &d.one,
            &ka,
            Method::POST,
            &format!("/tenants/{a}/scim/v2/Users"),
            Some(user("carol")),
        )
        .await
        .expect(201);
    let location = created.body["meta"]["location"].as_str().unwrap();
    assert!(
        location.starts_with(&format!(
            "https://scim.example.com/tenants/{a}/scim/v2/Users/"
        )),
        "responses keep the per-tenant URL: {location}"
    );
    let shared = d
        .scim(&d.one, &ka, Method::GET, "/scim/v2/Users", None)
        .await
        .expect(200);
    assert_eq!(
        shared.body["totalResults"], 1,
        "the shared URL serves the token's tenant"
    );
    for path in [
        format!("/tenants/{b}/scim/v2/Users"),
        "/tenants/default/scim/v2/Users".to_string(),
    ] {
        d.scim(&d.one, &ka, Method::GET, &path, None)
            .await
            .scim_error(401);
    }
    d.scim(
        &d.one,
        DEFAULT_TOKEN,
        Method::GET,
        &format!("/tenants/{a}/scim/v2/Users"),
        None,
    )
    .await
    .scim_error(401);
}
