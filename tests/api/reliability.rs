//! Reliability at the router, on every store: member PATCHes under contention, the member
//! limit, DynamoDB's size and key limits, every filterable value found, bounded filters, and
//! every rejection in the SCIM error format.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::helpers::{BASE, TOKEN, TestApp, enc};
use scim_lambda::scim::urn::{GROUP, PATCH_OP, USER};

fn members_op(op: &str, ids: &[String]) -> Value {
    let value: Vec<Value> = ids.iter().map(|u| json!({"value": u})).collect();
    json!({"schemas": [PATCH_OP], "Operations": [{"op": op, "path": "members", "value": value}]})
}

async fn total(app: &TestApp, endpoint: &str, filter: &str) -> u64 {
    let r = app
        .get(&format!("/{endpoint}?filter={}", enc(filter)))
        .await
        .expect(200);
    r.body["totalResults"].as_u64().unwrap()
}

pub async fn thirty_concurrent_member_patches_on_one_group_all_succeed(app: &TestApp) {
    let g = app.group("Contended").await;
    let mut users = Vec::new();
    for i in 0..30 {
        users.push(app.user(&format!("contended{i}@x")).await);
    }
    app.patch(&format!("/Groups/{g}"), &members_op("add", &users[..10]))
        .await
        .expect(204);
    // WHEN 30 PATCHes at once remove 0..10 and add 10..30 THEN every one succeeds.
    let mut tasks = JoinSet::new();
    for (i, u) in users.iter().enumerate() {
        let (app, g, u) = (app.clone(), g.clone(), u.clone());
        tasks.spawn(async move {
            let op = if i < 10 { "remove" } else { "add" };
            let r = app
                .patch(&format!("/Groups/{g}"), &members_op(op, &[u]))
                .await;
            (r.status.as_u16(), r.body)
        });
    }
    for (status, body) in tasks.join_all().await {
        assert_eq!(status, 204, "{body}");
    }
    let mut expected = users[10..].to_vec();
    expected.sort();
    assert_eq!(app.member_ids(&g).await, expected);
    // THEN the version moved once per member change (1 create, 1 initial add, 30 changes).
    let r = app.get(&format!("/Groups/{g}")).await.expect(200);
    assert_eq!(r.body["meta"]["version"], "W/\"32\"");
    assert_eq!(r.header("etag"), Some("W/\"32\""));
}

pub async fn a_member_change_past_the_limit_is_refused_up_front(app: &TestApp) {
    let limit = scim_lambda::scim::discovery::MAX_MEMBERS_PER_REQUEST;
    let schema = app
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group")
        .await
        .expect(200);
    let members = schema.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "members")
        .unwrap();
    assert!(
        members["description"]
            .as_str()
            .unwrap()
            .contains(&limit.to_string()),
        "/Schemas states the member limit"
    );
    let g = app.group("Limited").await;
    let ids: Vec<String> = (0..=limit)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    app.patch(&format!("/Groups/{g}"), &members_op("add", &ids))
        .await
        .expect_error(400, Some("invalidValue"));
    let body = json!({"schemas": [GROUP], "displayName": "Too many",
                      "members": ids.iter().map(|u| json!({"value": u})).collect::<Vec<_>>()});
    app.post("/Groups", &body)
        .await
        .expect_error(400, Some("invalidValue"));
    assert_eq!(total(app, "Groups", "displayName eq \"Too many\"").await, 0);
    let r = app.get(&format!("/Groups/{g}")).await.expect(200);
    assert_eq!(r.body["meta"]["version"], "W/\"1\"");
}

pub async fn values_past_dynamodb_limits_are_4xx_before_any_write(app: &TestApp) {
    let long = "x".repeat(2100);
    let bodies = [
        ("userName", json!({"schemas": [USER], "userName": long})),
        (
            "externalId",
            json!({"schemas": [USER], "userName": "ext@x", "externalId": long}),
        ),
        (
            "work email",
            json!({"schemas": [USER], "userName": "mail@x",
                              "emails": [{"type": "work", "value": format!("{long}@x")}]}),
        ),
        (
            "450 KB attribute",
            json!({"schemas": [USER], "userName": "big@x",
                                    "title": "y".repeat(450 * 1024)}),
        ),
    ];
    for (name, body) in bodies {
        let r = app.post("/Users", &body).await;
        assert_eq!(r.status.as_u16(), 400, "{name}: {}", r.body);
        r.expect_error(400, Some("invalidValue"));
    }
    app.post("/Groups", &json!({"schemas": [GROUP], "displayName": long}))
        .await
        .expect_error(400, Some("invalidValue"));
    assert_eq!(
        total(app, "Users", "userName pr").await,
        0,
        "nothing was written"
    );
    // Lookups of such values answer an empty list, never a 5xx.
    for filter in [
        format!("userName eq \"{long}\""),
        format!("externalId eq \"{long}\""),
        format!("emails[type eq \"work\"].value eq \"{long}\""),
    ] {
        assert_eq!(total(app, "Users", &filter).await, 0, "{filter}");
    }
    assert_eq!(
        total(app, "Groups", &format!("displayName eq \"{long}\"")).await,
        0
    );
    // An update that grows past the limit is refused and changes nothing.
    let id = app.user("grows@x").await;
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title",
                                                            "value": "y".repeat(450 * 1024)}]});
    app.patch(&format!("/Users/{id}"), &body)
        .await
        .expect_error(400, Some("invalidValue"));
    let r = app.get(&format!("/Users/{id}")).await.expect(200);
    assert_eq!(r.body["meta"]["version"], "W/\"1\"");
}

pub async fn every_value_a_filter_can_name_is_found(app: &TestApp) {
    // Two work emails: found by either.
    let body = json!({"schemas": [USER], "userName": "twomails@x", "emails": [
        {"type": "work", "value": "one@contoso.com", "primary": true},
        {"type": "work", "value": "Two@Contoso.com"}]});
    let id = app.post("/Users", &body).await.expect(201).id();
    for mail in ["one@contoso.com", "two@contoso.com", "TWO@contoso.com"] {
        let f = format!("emails[type eq \"work\"].value eq \"{mail}\"");
        assert_eq!(total(app, "Users", &f).await, 1, "{mail}");
    }
    // members.value, short and URN-qualified, plan and evaluate alike; `not` of it cannot be
    // answered from an index and is refused for both forms.
    let g = app.group("Named").await;
    app.patch(
        &format!("/Groups/{g}"),
        &members_op("add", std::slice::from_ref(&id)),
    )
    .await
    .expect(204);
    for f in [
        format!("members.value eq \"{id}\""),
        format!("{GROUP}:members.value eq \"{id}\""),
    ] {
        assert_eq!(total(app, "Groups", &f).await, 1, "{f}");
        app.get(&format!("/Groups?filter={}", enc(&format!("not ({f})"))))
            .await
            .expect_error(400, Some("invalidFilter"));
    }
    // Greek capital sigma folds alike wherever it stands in a word.
    app.user("ΟΔΟΣΑ").await;
    for f in [
        "userName sw \"ΟΔΟΣ\"",
        "userName co \"ΟΣ\"",
        "userName eq \"οδοσα\"",
        "userName ew \"ΣΑ\"",
    ] {
        assert_eq!(total(app, "Users", f).await, 1, "{f}");
    }
    // The unique name folds the same way: a final-sigma spelling is the same name.
    let dup = json!({"schemas": [USER], "userName": "ΟΔΟςΑ"});
    app.post("/Users", &dup)
        .await
        .expect_error(409, Some("uniqueness"));
}

pub async fn a_costly_filter_is_refused_with_too_many(app: &TestApp) {
    for i in 0..6 {
        let body = json!({"schemas": [USER], "userName": format!("costly{i}@x"),
                          "title": "a".repeat(200 * 1024)});
        app.post("/Users", &body).await.expect(201);
    }
    let terms: Vec<String> = (0..60).map(|i| format!("title co \"b{i}\"")).collect();
    app.get(&format!("/Users?filter={}", enc(&terms.join(" or "))))
        .await
        .expect_error(400, Some("tooMany"));
}

pub async fn every_rejection_uses_the_scim_error_format(app: &TestApp) {
    // A path segment that is not UTF-8 names no resource.
    for (method, path) in [
        ("GET", "/Users/%FF%FE"),
        ("DELETE", "/Groups/%C3%28"),
        ("GET", "/Schemas/%FF"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(format!("{BASE}{path}"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        app.raw(request).await.expect_error(404, None);
    }
    // RFC 7644 §3.3: the body's schemas must name the resource's schema.
    for body in [
        json!({"userName": "noschemas@x"}),
        json!({"schemas": [GROUP], "userName": "wrong@x"}),
        json!({"schemas": ["urn:example:unknown"], "userName": "unknown@x"}),
    ] {
        app.post("/Users", &body)
            .await
            .expect_error(400, Some("invalidValue"));
    }
    app.post("/Users", &json!({"schemas": USER, "userName": "string@x"}))
        .await
        .expect_error(400, Some("invalidSyntax"));
    assert_eq!(total(app, "Users", "userName pr").await, 0);
}

crate::on_every_store!(
    thirty_concurrent_member_patches_on_one_group_all_succeed,
    a_member_change_past_the_limit_is_refused_up_front,
    values_past_dynamodb_limits_are_4xx_before_any_write,
    every_value_a_filter_can_name_is_found,
    a_costly_filter_is_refused_with_too_many,
    every_rejection_uses_the_scim_error_format,
);
