//! Replays of Microsoft Entra ID's user traffic (cases A1, A6 and B1–B26 in `docs/clients.md`),
//! both PATCH dialects. Test names carry the case ids.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

use crate::helpers::{BASE, TOKEN, TestApp, enc};
use scim_lambda::scim::urn::ENTERPRISE_USER;

fn patch_body(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// B6: the user Entra creates with its default mappings.
fn entra_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
        "roles": [],
        ENTERPRISE_USER: {"employeeNumber": "E1", "department": "Sales"}
    })
}

async fn find(app: &TestApp, filter: &str) -> Value {
    app.get(&format!("/Users?filter={}", enc(filter)))
        .await
        .expect(200)
        .body
}

pub async fn a1_test_connection_probe_without_accept_or_user_agent(app: &TestApp) {
    let request = Request::get(format!(
        "{BASE}/Users?filter={}",
        enc(r#"userName eq "6d9f3f9e-0b3a-4d55-9b5e-2b5f6a1c2d3e""#)
    ))
    .header("authorization", format!("Bearer {TOKEN}"))
    .body(Body::empty())
    .unwrap();
    let r = app.raw(request).await.expect(200);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    assert_eq!(
        r.body,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []})
    );
}

pub async fn a6_missing_or_wrong_token_is_401_with_scim_body(app: &TestApp) {
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer "),
        Some(&*format!("bearer {TOKEN}x")),
    ] {
        let mut b = Request::get(format!("{BASE}/Users"));
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        let r = app
            .raw(b.body(Body::empty()).unwrap())
            .await
            .expect_error(401, None);
        assert!(
            r.header("www-authenticate")
                .is_some_and(|v| v.starts_with("Bearer")),
            "{auth:?}"
        );
    }
    let lower =
        Request::get(format!("{BASE}/Users")).header("authorization", format!("bearer {TOKEN}"));
    app.raw(lower.body(Body::empty()).unwrap())
        .await
        .expect(200);
}

pub async fn b1_to_b5_lookups_find_the_user_case_insensitively(app: &TestApp) {
    let id = app
        .post("/Users", &entra_user("alice@contoso.com"))
        .await
        .expect(201)
        .id();
    let filters = [
        r#"userName eq "alice@contoso.com""#,
        r#"userName eq "ALICE@CONTOSO.COM""#,
        r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
        "externalId eq 0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        r#"emails[type eq "work"].value eq "Alice@Contoso.com""#,
    ];
    for f in filters {
        let body = find(app, f).await;
        assert_eq!(body["totalResults"], 1, "{f}");
        assert_eq!(body["Resources"][0]["id"], id.as_str(), "{f}");
        assert_eq!(body["Resources"][0]["active"], true, "{f}");
    }
    assert_eq!(
        find(app, r#"userName eq "nobody@x""#).await["totalResults"],
        0,
        "B2"
    );
    assert_eq!(
        find(
            app,
            r#"externalId eq "0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF""#
        )
        .await["totalResults"],
        0,
        "externalId is caseExact"
    );
}

pub async fn b6_create_echoes_attributes_and_ignores_client_meta(app: &TestApp) {
    let r = app
        .post("/Users", &entra_user("bob@contoso.com"))
        .await
        .expect(201);
    let id = r.id();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!(r.body["userName"], "bob@contoso.com");
    assert_eq!(r.body["externalId"], "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    assert_eq!(r.body["name"]["givenName"], "Alice");
    assert_eq!(r.body["emails"][0]["value"], "bob@contoso.com");
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body[ENTERPRISE_USER]["department"], "Sales", "B6e");
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert!(r.body["meta"]["created"].is_string());
    let location = format!("https://scim.example.com{BASE}/Users/{id}");
    assert_eq!(r.header("location"), Some(location.as_str()));
    assert_eq!(r.body["meta"]["location"], location);
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    app.get(&format!("/Users/{id}")).await.expect(200);
}

pub async fn b6n_nulls_and_a_mistyped_schema_urn_are_accepted(app: &TestApp) {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "userName": "nulls@contoso.com", "addresses": null, "title": null, "active": "True",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": null}
    });
    let r = app.post("/Users", &body).await.expect(201);
    assert!(
        r.body.get("title").is_none() && r.body.get("addresses").is_none(),
        "{}",
        r.body
    );
    assert_eq!(
        r.body["active"], true,
        "string booleans become JSON booleans"
    );
}

pub async fn b6v_several_email_types_and_an_unrelated_user_name_round_trip(app: &TestApp) {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "Validator_User_42",
        "emails": [
            {"type": "other", "value": "o@x.com", "display": "O"},
            {"type": "work", "value": "w@x.com", "display": "W", "primary": true},
            {"type": "home", "value": "h@x.com", "display": "H"}
        ]
    });
    app.post("/Users", &body).await.expect(201);
    let found = find(app, r#"userName eq "validator_user_42""#).await;
    assert_eq!(
        found["Resources"][0]["userName"], "Validator_User_42",
        "stored exactly as sent"
    );
    assert_eq!(found["Resources"][0]["emails"].as_array().unwrap().len(), 3);
}

pub async fn b7_duplicate_user_name_in_any_case_is_409_uniqueness(app: &TestApp) {
    app.post("/Users", &entra_user("dup@contoso.com"))
        .await
        .expect(201);
    app.post("/Users", &entra_user("DUP@Contoso.com"))
        .await
        .expect_error(409, Some("uniqueness"));
}

pub async fn b8_b9_get_by_id_and_unknown_id(app: &TestApp) {
    let id = app.user("get@contoso.com").await;
    let r = app.get(&format!("/Users/{id}")).await.expect(200);
    assert_eq!(r.body["userName"], "get@contoso.com");
    app.get("/Users/00000000-0000-4000-8000-000000000000")
        .await
        .expect_error(404, None);
    app.get("/Users/not-a-uuid").await.expect_error(404, None);
}

pub async fn b10_legacy_replace_of_work_email_and_family_name(app: &TestApp) {
    let id = app
        .post("/Users", &entra_user("b10@contoso.com"))
        .await
        .expect(201)
        .id();
    let body = patch_body(json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@contoso.com"},
        {"op": "Replace", "path": "name.familyName", "value": "Jones"}
    ]));
    let r = app.patch(&format!("/Users/{id}"), &body).await.expect(200);
    assert_eq!(r.body["emails"][0]["value"], "new@contoso.com");
    assert_eq!(r.body["emails"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["name"]["familyName"], "Jones");
    assert_eq!(r.body["name"]["givenName"], "Alice");
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    let found = find(app, r#"emails[type eq "work"].value eq "new@contoso.com""#).await;
    assert_eq!(
        found["totalResults"], 1,
        "the work-email index follows the change"
    );
}

pub async fn b10_replace_of_a_missing_typed_email_creates_it(app: &TestApp) {
    let id = app.user("noemail@contoso.com").await;
    let body = patch_body(
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@contoso.com"}]),
    );
    let r = app.patch(&format!("/Users/{id}"), &body).await.expect(200);
    assert_eq!(
        r.body["emails"],
        json!([{"type": "work", "value": "w@contoso.com"}])
    );
}

pub async fn b11_rename_and_rename_onto_a_taken_name(app: &TestApp) {
    let id = app.user("old@contoso.com").await;
    app.user("taken@contoso.com").await;
    let rename = |v: &str| patch_body(json!([{"op": "Replace", "path": "userName", "value": v}]));
    app.patch(&format!("/Users/{id}"), &rename("TAKEN@contoso.com"))
        .await
        .expect_error(409, Some("uniqueness"));
    app.patch(&format!("/Users/{id}"), &rename("new@contoso.com"))
        .await
        .expect(200);
    assert_eq!(
        find(app, r#"userName eq "old@contoso.com""#).await["totalResults"],
        0
    );
    assert_eq!(
        find(app, r#"userName eq "new@contoso.com""#).await["totalResults"],
        1
    );
    app.user("old@contoso.com").await;
}

pub async fn b12_disable_and_restore_in_both_dialects(app: &TestApp) {
    let id = app.user("b12@contoso.com").await;
    let path = format!("/Users/{id}");
    for (value, expected) in [
        (json!("False"), false),
        (json!("True"), true),
        (json!(false), false),
        (json!(true), true),
    ] {
        let body = patch_body(json!([{"op": "Replace", "path": "active", "value": value}]));
        app.patch(&path, &body).await.expect(200);
        assert_eq!(app.get(&path).await.body["active"], expected, "{value}");
        let found = find(app, r#"userName eq "b12@contoso.com""#).await;
        assert_eq!(
            found["Resources"][0]["active"], expected,
            "filter shows {value}"
        );
    }
    // Okta: path-less replace.
    app.patch(
        &path,
        &patch_body(json!([{"op": "replace", "value": {"active": false}}])),
    )
    .await
    .expect(200);
    assert_eq!(app.get(&path).await.body["active"], false);
}

pub async fn b13_add_of_a_single_valued_string(app: &TestApp) {
    let id = app.user("b13@contoso.com").await;
    for op in ["Add", "add"] {
        let body =
            patch_body(json!([{"op": op, "path": "nickName", "value": format!("Babs-{op}")}]));
        let r = app.patch(&format!("/Users/{id}"), &body).await.expect(200);
        assert_eq!(r.body["nickName"], format!("Babs-{op}"));
    }
}

pub async fn b14_replace_several_attributes_in_both_dialects(app: &TestApp) {
    let id = app
        .post("/Users", &entra_user("b14@contoso.com"))
        .await
        .expect(201)
        .id();
    let path = format!("/Users/{id}");
    let legacy = patch_body(json!([
        {"op": "Replace", "path": "displayName", "value": "Legacy Name"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "l@contoso.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Lg"},
        {"op": "Replace", "path": "name.familyName", "value": "Lf"},
        {"op": "Replace", "path": "externalId", "value": "ext-legacy"},
        {"op": "Replace", "path": format!("{ENTERPRISE_USER}:employeeNumber"), "value": "L1"}
    ]));
    let r = app.patch(&path, &legacy).await.expect(200).body;
    assert_eq!(
        (
            r["displayName"].as_str(),
            r["name"]["givenName"].as_str(),
            r["externalId"].as_str()
        ),
        (Some("Legacy Name"), Some("Lg"), Some("ext-legacy"))
    );
    assert_eq!(r[ENTERPRISE_USER]["employeeNumber"], "L1");
    assert_eq!(
        r[ENTERPRISE_USER]["department"], "Sales",
        "other extension attributes stay"
    );
    let compliant = patch_body(json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "c@contoso.com"},
        {"op": "replace", "value": {
            "displayName": "Compliant Name", "name.givenName": "Cg", "name.familyName": "Cf",
            format!("{ENTERPRISE_USER}:employeeNumber"): "C1"
        }}
    ]));
    let r = app.patch(&path, &compliant).await.expect(200).body;
    assert_eq!(r["displayName"], "Compliant Name");
    assert_eq!(r["name"]["givenName"], "Cg");
    assert_eq!(r["name"]["familyName"], "Cf");
    assert_eq!(r[ENTERPRISE_USER]["employeeNumber"], "C1");
    assert_eq!(r["emails"][0]["value"], "c@contoso.com");
    assert!(
        r.get("name.givenName").is_none(),
        "dotted keys are paths, not literal attributes"
    );
    assert_eq!(
        find(app, r#"externalId eq "ext-legacy""#).await["totalResults"],
        1
    );
}

pub async fn b15_pathless_replace_of_user_name(app: &TestApp) {
    let id = app.user("b15@contoso.com").await;
    let body =
        patch_body(json!([{"op": "replace", "value": {"userName": "b15-renamed@contoso.com"}}]));
    app.patch(&format!("/Users/{id}"), &body).await.expect(200);
    assert_eq!(
        find(app, r#"userName eq "b15-renamed@contoso.com""#).await["totalResults"],
        1
    );
}

pub async fn b16_validator_replaces_typed_values_in_place(app: &TestApp) {
    let id = app.user("b16@contoso.com").await;
    let body = patch_body(json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@x.com"},
        {"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555"},
        {"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
        {"op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "Springfield"}
    ]));
    let r = app
        .patch(&format!("/Users/{id}"), &body)
        .await
        .expect(200)
        .body;
    assert_eq!(
        r["phoneNumbers"],
        json!([{"type": "work", "value": "+1 555"}])
    );
    assert_eq!(
        r["addresses"],
        json!([{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield"}])
    );
    assert!(r.get("emails[type eq \"work\"].value").is_none());
}

pub async fn b18_to_b20_manager_set_change_and_remove_in_every_form(app: &TestApp) {
    let id = app.user("report@contoso.com").await;
    let (m1, m2) = (
        app.user("m1@contoso.com").await,
        app.user("m2@contoso.com").await,
    );
    let path = format!("/Users/{id}");
    let manager_path = format!("{ENTERPRISE_USER}:manager");
    let sets = [
        json!([{"op": "Add", "path": manager_path, "value": m1}]),
        json!([{"op": "replace", "path": manager_path, "value": {"value": m2}}]),
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": format!("https://x/Users/{m1}"), "value": m1}]}]),
    ];
    for (i, ops) in sets.into_iter().enumerate() {
        let r = app.patch(&path, &patch_body(ops)).await.expect(200).body;
        let expected = if i == 1 { &m2 } else { &m1 };
        assert_eq!(
            r[ENTERPRISE_USER]["manager"]["value"],
            expected.as_str(),
            "form {i}"
        );
    }
    let removals = [
        json!([{"op": "replace", "path": manager_path, "value": ""}]),
        json!([{"op": "remove", "path": manager_path}]),
        json!([{"op": "remove", "path": format!("manager[value eq \"{m1}\"]")}]),
        json!([{"op": "replace", "path": manager_path, "value": null}]),
    ];
    for (i, ops) in removals.into_iter().enumerate() {
        app.patch(
            &path,
            &patch_body(json!([{"op": "Add", "path": manager_path, "value": m1}])),
        )
        .await
        .expect(200);
        app.patch(&path, &patch_body(ops)).await.expect(200);
        let r = app.get(&path).await.body;
        let manager = r.get(ENTERPRISE_USER).and_then(|e| e.get("manager"));
        assert!(
            manager.is_none() || manager == Some(&Value::Null),
            "removal {i}: {r}"
        );
    }
}

pub async fn b21_clearing_attributes_with_empty_and_null(app: &TestApp) {
    let id = app
        .post("/Users", &entra_user("b21@contoso.com"))
        .await
        .expect(201)
        .id();
    let path = format!("/Users/{id}");
    app.patch(
        &path,
        &patch_body(json!([{"op": "replace", "path": "displayName", "value": "X"}])),
    )
    .await
    .expect(200);
    app.patch(
        &path,
        &patch_body(json!([{"op": "replace", "path": "displayName", "value": ""}])),
    )
    .await
    .expect(200);
    assert!(app.get(&path).await.body.get("displayName").is_none());
    app.patch(
        &path,
        &patch_body(json!([{"op": "replace", "value": {"name.givenName": null}}])),
    )
    .await
    .expect(200);
    assert!(app.get(&path).await.body["name"].get("givenName").is_none());
}

pub async fn b22_empty_operations_is_a_no_op(app: &TestApp) {
    let id = app.user("b22@contoso.com").await;
    let r = app
        .patch(&format!("/Users/{id}"), &patch_body(json!([])))
        .await
        .expect(200);
    assert_eq!(
        r.header("etag"),
        Some("W/\"1\""),
        "nothing changed, no new version"
    );
}

pub async fn b24_delete_then_gone_then_recreatable(app: &TestApp) {
    let id = app
        .post("/Users", &entra_user("b24@contoso.com"))
        .await
        .expect(201)
        .id();
    let r = app.delete(&format!("/Users/{id}")).await.expect(204);
    assert_eq!(r.body, Value::Null);
    app.get(&format!("/Users/{id}"))
        .await
        .expect_error(404, None);
    app.delete(&format!("/Users/{id}"))
        .await
        .expect_error(404, None);
    assert_eq!(
        find(app, r#"userName eq "b24@contoso.com""#).await["totalResults"],
        0
    );
    app.post("/Users", &entra_user("B24@contoso.com"))
        .await
        .expect(201);
}

pub async fn b25_legacy_reference_check(app: &TestApp) {
    let id = app.user("b25@contoso.com").await;
    let m = app.user("b25m@contoso.com").await;
    let body = patch_body(
        json!([{"op": "Add", "path": format!("{ENTERPRISE_USER}:manager"), "value": m}]),
    );
    app.patch(&format!("/Users/{id}"), &body).await.expect(200);
    let q = |mgr: &str| {
        format!(
            "/Users?filter={}&attributes=id",
            enc(&format!(r#"id eq "{id}" and manager eq "{mgr}""#))
        )
    };
    let hit = app.get(&q(&m)).await.expect(200).body;
    assert_eq!(hit["totalResults"], 1);
    let only_id = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER], "id": id});
    assert_eq!(hit["Resources"][0], only_id);
    assert_eq!(app.get(&q("other")).await.body["totalResults"], 0);
}

pub async fn b26_pagination_pages_are_stable_and_complete(app: &TestApp) {
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(app.user(&format!("page{i:02}@contoso.com")).await);
    }
    ids.sort();
    let mut seen = Vec::new();
    for page in 0..3 {
        let start = page * 5 + 1;
        let r = app
            .get(&format!("/Users?startIndex={start}&count=5"))
            .await
            .expect(200)
            .body;
        assert_eq!(r["totalResults"], 12);
        assert_eq!(r["startIndex"], start);
        let items = r["Resources"].as_array().unwrap();
        assert_eq!(r["itemsPerPage"], items.len());
        seen.extend(items.iter().map(|u| u["id"].as_str().unwrap().to_string()));
    }
    assert_eq!(seen, ids, "every user once, in a stable order");
    let totals = app.get("/Users?count=0").await.body;
    assert_eq!(
        (
            totals["totalResults"].as_u64(),
            totals["itemsPerPage"].as_u64()
        ),
        (Some(12), Some(0))
    );
}

crate::on_every_store!(
    a1_test_connection_probe_without_accept_or_user_agent,
    a6_missing_or_wrong_token_is_401_with_scim_body,
    b1_to_b5_lookups_find_the_user_case_insensitively,
    b6_create_echoes_attributes_and_ignores_client_meta,
    b6n_nulls_and_a_mistyped_schema_urn_are_accepted,
    b6v_several_email_types_and_an_unrelated_user_name_round_trip,
    b7_duplicate_user_name_in_any_case_is_409_uniqueness,
    b8_b9_get_by_id_and_unknown_id,
    b10_legacy_replace_of_work_email_and_family_name,
    b10_replace_of_a_missing_typed_email_creates_it,
    b11_rename_and_rename_onto_a_taken_name,
    b12_disable_and_restore_in_both_dialects,
    b13_add_of_a_single_valued_string,
    b14_replace_several_attributes_in_both_dialects,
    b15_pathless_replace_of_user_name,
    b16_validator_replaces_typed_values_in_place,
    b18_to_b20_manager_set_change_and_remove_in_every_form,
    b21_clearing_attributes_with_empty_and_null,
    b22_empty_operations_is_a_no_op,
    b24_delete_then_gone_then_recreatable,
    b25_legacy_reference_check,
    b26_pagination_pages_are_stable_and_complete,
);
