//! Replays of Microsoft Entra ID's group traffic (cases A2 and C1–C11 in `docs/clients.md`).

use serde_json::{Value, json};

use crate::helpers::{TestApp, enc};

fn patch_body(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

fn members(ids: &[&String]) -> Value {
    ids.iter()
        .map(|id| json!({"$ref": null, "value": id}))
        .collect()
}

pub async fn a2_group_probe_excluding_members(app: &TestApp) {
    let f = enc(r#"displayName eq "5f3c7a8e-3b1d-4c2a-9e8f-1a2b3c4d5e6f""#);
    let r = app
        .get(&format!("/Groups?excludedAttributes=members&filter={f}"))
        .await
        .expect(200);
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["Resources"], json!([]));
}

pub async fn c1_c2_create_with_microsoft_schema_then_find_without_members(app: &TestApp) {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Sales",
        "meta": {"resourceType": "Group"}
    });
    let r = app.post("/Groups", &body).await.expect(201);
    let id = r.id();
    assert_eq!(r.body["displayName"], "Sales");
    assert_eq!(r.body["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert_eq!(r.body["members"], json!([]));
    let u = app.user("c1@contoso.com").await;
    app.patch(
        &format!("/Groups/{id}"),
        &patch_body(json!([{"op": "Add", "path": "members", "value": members(&[&u])}])),
    )
    .await
    .expect(204);
    let before = app.calls();
    let f = enc(r#"displayName eq "SALES""#);
    let found = app
        .get(&format!("/Groups?excludedAttributes=members&filter={f}"))
        .await
        .expect(200)
        .body;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    assert!(
        found["Resources"][0].get("members").is_none(),
        "C1: no members key"
    );
    assert_eq!(
        app.calls()
            .since(&before)
            .get(scim_lambda::store::Call::Scan),
        0
    );
    let by_ext = app
        .get(&format!(
            "/Groups?filter={}",
            enc(r#"externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159""#)
        ))
        .await
        .body;
    assert_eq!(by_ext["totalResults"], 1);
}

pub async fn c3_duplicate_display_name_is_409(app: &TestApp) {
    app.group("Engineering").await;
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "engineering"});
    app.post("/Groups", &body)
        .await
        .expect_error(409, Some("uniqueness"));
}

pub async fn c4_c5_get_by_id_excluding_members_and_unknown(app: &TestApp) {
    let id = app.group("C4").await;
    let r = app
        .get(&format!("/Groups/{id}?excludedAttributes=members"))
        .await
        .expect(200);
    assert!(r.body.get("members").is_none());
    assert_eq!(r.body["displayName"], "C4");
    app.get("/Groups/6f1c2b3a-0000-4000-8000-000000000000")
        .await
        .expect_error(404, None);
}

pub async fn c6_rename_legacy_and_pathless(app: &TestApp) {
    let id = app.group("C6").await;
    let path = format!("/Groups/{id}");
    let r = app
        .patch(
            &path,
            &patch_body(json!([{"op": "Replace", "path": "displayName", "value": "C6 EU"}])),
        )
        .await
        .expect(204);
    assert_eq!(r.body, Value::Null);
    app.patch(
        &path,
        &patch_body(json!([{"op": "replace", "value": {"displayName": "C6 US"}}])),
    )
    .await
    .expect(204);
    app.patch(
        &path,
        &patch_body(json!([{"op": "replace", "value": {"externalId": "e-c6"}}])),
    )
    .await
    .expect(204);
    let g = app.get(&path).await.body;
    assert_eq!(
        (g["displayName"].as_str(), g["externalId"].as_str()),
        (Some("C6 US"), Some("e-c6"))
    );
    let with_body = app
        .patch(
            &format!("{path}?excludedAttributes=members"),
            &patch_body(json!([{"op": "replace", "path": "displayName", "value": "C6"}])),
        )
        .await
        .expect(200);
    assert_eq!(with_body.body["displayName"], "C6");
    app.group("C6 EU").await;
}

pub async fn c7_add_members_several_per_op_idempotent_and_checked(app: &TestApp) {
    let g = app.group("C7").await;
    let (a, b, c) = (
        app.user("c7a@x").await,
        app.user("c7b@x").await,
        app.user("c7c@x").await,
    );
    let path = format!("/Groups/{g}");
    app.patch(
        &path,
        &patch_body(json!([{"op": "Add", "path": "members", "value": members(&[&a, &b])}])),
    )
    .await
    .expect(204);
    app.patch(
        &path,
        &patch_body(json!([{"op": "add", "path": "members", "value": members(&[&b, &c])}])),
    )
    .await
    .expect(204);
    let mut expected = vec![a.clone(), b.clone(), c.clone()];
    expected.sort();
    assert_eq!(app.member_ids(&g).await, expected);
    let missing = "0e0e0e0e-0000-4000-8000-000000000000".to_string();
    let r = app
        .patch(
            &path,
            &patch_body(json!([{"op": "Add", "path": "members", "value": members(&[&missing])}])),
        )
        .await
        .expect_error(400, Some("invalidValue"));
    assert!(r.body["detail"].as_str().unwrap().contains(&missing));
    assert_eq!(
        app.member_ids(&g).await,
        expected,
        "a rejected add changes nothing"
    );
    // Microsoft's Postman "garbage" test sends the member id as a bare string.
    let d = app.user("c7d@x").await;
    app.patch(
        &path,
        &patch_body(json!([{"op": "Add", "path": "members", "value": d}])),
    )
    .await
    .expect(204);
    assert_eq!(app.member_ids(&g).await.len(), 4);
}

pub async fn c8_remove_members_in_both_dialects_never_empties_the_group(app: &TestApp) {
    let g = app.group("C8").await;
    let ids = [
        app.user("c8a@x").await,
        app.user("c8b@x").await,
        app.user("c8c@x").await,
        app.user("c8d@x").await,
    ];
    let path = format!("/Groups/{g}");
    let all: Vec<&String> = ids.iter().collect();
    app.patch(
        &path,
        &patch_body(json!([{"op": "Add", "path": "members", "value": members(&all)}])),
    )
    .await
    .expect(204);
    // Legacy: remove only the listed ids.
    app.patch(
        &path,
        &patch_body(json!([{"op": "Remove", "path": "members", "value": members(&[&ids[0]])}])),
    )
    .await
    .expect(204);
    assert_eq!(
        app.member_ids(&g).await.len(),
        3,
        "legacy remove takes only the listed member"
    );
    // Compliant: a value filter.
    app.patch(
        &path,
        &patch_body(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])}])),
    )
    .await
    .expect(204);
    let left = app.member_ids(&g).await;
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&ids[1]));
    // Removing a non-member is not an error.
    app.patch(
        &path,
        &patch_body(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[1])}])),
    )
    .await
    .expect(204);
    // Only a remove of `members` with no value empties the group.
    app.patch(
        &path,
        &patch_body(json!([{"op": "remove", "path": "members"}])),
    )
    .await
    .expect(204);
    assert!(app.member_ids(&g).await.is_empty());
}

pub async fn c9_delete_group_and_user_delete_cascades(app: &TestApp) {
    let (g1, g2) = (app.group("C9a").await, app.group("C9b").await);
    let (u, v) = (app.user("c9u@x").await, app.user("c9v@x").await);
    for g in [&g1, &g2] {
        app.patch(
            &format!("/Groups/{g}"),
            &patch_body(json!([{"op": "add", "path": "members", "value": members(&[&u, &v])}])),
        )
        .await
        .expect(204);
    }
    app.delete(&format!("/Users/{u}")).await.expect(204);
    assert_eq!(app.member_ids(&g1).await, vec![v.clone()]);
    assert_eq!(app.member_ids(&g2).await, vec![v.clone()]);
    app.delete(&format!("/Groups/{g1}")).await.expect(204);
    app.get(&format!("/Groups/{g1}"))
        .await
        .expect_error(404, None);
    let groups_of_v = app.get(&format!("/Users/{v}?attributes=groups")).await.body;
    assert_eq!(groups_of_v["groups"].as_array().map(Vec::len), Some(1));
    app.group("C9a").await;
}

pub async fn c10_legacy_membership_check(app: &TestApp) {
    let g = app.group("C10").await;
    let (u, other) = (app.user("c10@x").await, app.user("c10o@x").await);
    app.patch(
        &format!("/Groups/{g}"),
        &patch_body(json!([{"op": "Add", "path": "members", "value": members(&[&u])}])),
    )
    .await
    .expect(204);
    let q = |m: &str| {
        format!(
            "/Groups?filter={}&attributes=id",
            enc(&format!(r#"id eq "{g}" and members eq "{m}""#))
        )
    };
    let hit = app.get(&q(&u)).await.expect(200).body;
    assert_eq!(hit["totalResults"], 1);
    assert!(hit["Resources"][0].get("members").is_none());
    assert_eq!(app.get(&q(&other)).await.body["totalResults"], 0);
    let by_member = app
        .get(&format!(
            "/Groups?filter={}",
            enc(&format!(r#"members.value eq "{u}""#))
        ))
        .await
        .body;
    assert_eq!(by_member["totalResults"], 1);
}

pub async fn c11_group_pagination(app: &TestApp) {
    for i in 0..7 {
        app.group(&format!("Page {i}")).await;
    }
    let first = app
        .get("/Groups?startIndex=1&count=5&excludedAttributes=members")
        .await
        .body;
    let second = app
        .get("/Groups?startIndex=6&count=5&excludedAttributes=members")
        .await
        .body;
    assert_eq!(
        (
            first["totalResults"].as_u64(),
            first["itemsPerPage"].as_u64()
        ),
        (Some(7), Some(5))
    );
    assert_eq!(
        (
            second["startIndex"].as_u64(),
            second["itemsPerPage"].as_u64()
        ),
        (Some(6), Some(2))
    );
}

crate::on_every_store!(
    a2_group_probe_excluding_members,
    c1_c2_create_with_microsoft_schema_then_find_without_members,
    c3_duplicate_display_name_is_409,
    c4_c5_get_by_id_excluding_members_and_unknown,
    c6_rename_legacy_and_pathless,
    c7_add_members_several_per_op_idempotent_and_checked,
    c8_remove_members_in_both_dialects_never_empties_the_group,
    c9_delete_group_and_user_delete_cascades,
    c10_legacy_membership_check,
    c11_group_pagination,
);
