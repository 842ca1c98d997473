//! Okta's provisioning sequence (cases O1–O10 in `docs/clients.md`): import pages, lookups,
//! create, deactivate by path-less PATCH or PUT, and group membership by add, filtered remove
//! and replace-all.

use serde_json::{Value, json};

use crate::helpers::{TestApp, enc};

fn patch_body(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "John", "familyName": "Doe"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "John Doe",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

pub async fn okta_user_lifecycle(app: &TestApp) {
    let import = app
        .get("/Users?startIndex=1&count=100")
        .await
        .expect(200)
        .body;
    assert!(
        import["totalResults"].is_u64() && import["startIndex"].is_u64(),
        "integers, not strings"
    );
    let miss = app
        .get(&format!(
            "/Users?filter={}&startIndex=1&count=100",
            enc(r#"userName eq "john.doe@example.com""#)
        ))
        .await
        .body;
    assert_eq!(miss["totalResults"], 0);
    let created = app
        .post("/Users", &okta_user("john.doe@example.com"))
        .await
        .expect(201);
    let id = created.id();
    assert!(
        created.body.get("password").is_none(),
        "passwords are never returned"
    );
    app.post("/Users", &okta_user("John.Doe@example.com"))
        .await
        .expect_error(409, Some("uniqueness"));
    let hit = app
        .get(&format!(
            "/Users?filter={}",
            enc(r#"userName eq "JOHN.DOE@example.com""#)
        ))
        .await
        .body;
    assert_eq!(hit["Resources"][0]["id"], id.as_str());
    // Deactivate: path-less replace, then reactivate by PUT of the whole user.
    let r = app
        .patch(
            &format!("/Users/{id}"),
            &patch_body(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await
        .expect(200);
    assert_eq!(r.body["active"], false);
    let mut full = okta_user("john.doe@example.com");
    full["id"] = json!(id);
    full["name"]["familyName"] = json!("Doe-Smith");
    let r = app.put(&format!("/Users/{id}"), &full).await.expect(200);
    assert_eq!(
        (
            r.body["active"].as_bool(),
            r.body["name"]["familyName"].as_str()
        ),
        (Some(true), Some("Doe-Smith"))
    );
    assert_eq!(
        r.body["meta"]["created"], created.body["meta"]["created"],
        "PUT keeps meta.created"
    );
    app.get("/Users/9f0f0f0f-0000-4000-8000-000000000000")
        .await
        .expect_error(404, None);
}

pub async fn okta_group_lifecycle(app: &TestApp) {
    let (a, b, c) = (
        app.user("oa@x").await,
        app.user("ob@x").await,
        app.user("oc@x").await,
    );
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Okta Group", "members": []});
    let g = app.post("/Groups", &body).await.expect(201).id();
    let path = format!("/Groups/{g}");
    app.patch(&path, &patch_body(json!([{"op": "add", "path": "members", "value": [{"value": a, "display": "a"}, {"value": b, "display": "b"}]}]))).await.expect(204);
    app.patch(
        &path,
        &patch_body(json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}])),
    )
    .await
    .expect(204);
    assert_eq!(app.member_ids(&g).await, vec![b.clone()]);
    // Replace-all.
    app.patch(
        &path,
        &patch_body(json!([{"op": "replace", "path": "members", "value": [{"value": c}]}])),
    )
    .await
    .expect(204);
    assert_eq!(app.member_ids(&g).await, vec![c.clone()]);
    // Rename with the id carried inside the value (read-only, ignored).
    app.patch(
        &path,
        &patch_body(json!([{"op": "replace", "value": {"id": g, "displayName": "Okta Group 2"}}])),
    )
    .await
    .expect(204);
    let got = app.get(&path).await.body;
    assert_eq!(
        (got["displayName"].as_str(), got["id"].as_str()),
        (Some("Okta Group 2"), Some(g.as_str()))
    );
    // PUT with members replaces them; PUT without members keeps them.
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Okta Group 3", "members": [{"value": a}, {"value": b}]});
    app.put(&path, &put).await.expect(200);
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(app.member_ids(&g).await, expected);
    app.put(
        &path,
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Okta Group 4"}),
    )
        .await
        .expect(200);
    assert_eq!(
        app.member_ids(&g).await,
        expected,
        "a rename by PUT never empties a group"
    );
    app.put(
        &path,
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Okta Group 4", "members": []}),
    )
    .await
    .expect(200);
    assert!(app.member_ids(&g).await.is_empty());
}

crate::on_every_store!(okta_user_lifecycle, okta_group_lifecycle);
