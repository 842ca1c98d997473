//! Concurrent syncs: uniqueness holds, no PATCH is lost, membership ends exact.

use serde_json::json;
use tokio::task::JoinSet;

use crate::helpers::TestApp;

pub async fn twenty_creates_of_one_name_in_different_cases_make_one_user(app: &TestApp) {
    let mut tasks = JoinSet::new();
    for i in 0..20 {
        let app = app.clone();
        let name: String = "race@contoso.com"
            .chars()
            .enumerate()
            .map(|(j, c)| {
                if (i >> (j % 5)) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        tasks.spawn(async move {
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
            app.post("/Users", &body).await.status.as_u16()
        });
    }
    let statuses = tasks.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
}

pub async fn concurrent_patches_of_different_attributes_all_survive(app: &TestApp) {
    let id = app.user("many-writers@x").await;
    let attrs = [
        "displayName",
        "nickName",
        "title",
        "userType",
        "locale",
        "timezone",
        "preferredLanguage",
        "profileUrl",
    ];
    let mut tasks = JoinSet::new();
    for attr in attrs {
        let (app, id) = (app.clone(), id.clone());
        tasks.spawn(async move {
            let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Replace", "path": attr, "value": format!("v-{attr}")}]});
            app.patch(&format!("/Users/{id}"), &body).await.status.as_u16()
        });
    }
    assert!(tasks.join_all().await.iter().all(|s| *s == 200));
    let u = app.get(&format!("/Users/{id}")).await.body;
    for attr in attrs {
        assert_eq!(u[attr], format!("v-{attr}"), "{attr} was lost");
    }
    assert_eq!(u["meta"]["version"], format!("W/\"{}\"", attrs.len() + 1));
}

pub async fn concurrent_member_adds_and_removes_end_in_the_expected_set(app: &TestApp) {
    let g = app.group("Concurrent").await;
    let mut users = Vec::new();
    for i in 0..16 {
        users.push(app.user(&format!("cm{i}@x")).await);
    }
    // Members 0..8 start in the group; concurrently 0..4 are removed and 8..16 added.
    let initial: Vec<_> = users[..8].iter().map(|u| json!({"value": u})).collect();
    let body = json!({"Operations": [{"op": "add", "path": "members", "value": initial}]});
    app.patch(&format!("/Groups/{g}"), &body).await.expect(204);
    let mut tasks = JoinSet::new();
    for (i, u) in users.iter().enumerate().filter(|(i, _)| *i < 4 || *i >= 8) {
        let (app, g, u) = (app.clone(), g.clone(), u.clone());
        tasks.spawn(async move {
            let op = if i < 4 {
                json!({"op": "Remove", "path": "members", "value": [{"value": u}]})
            } else {
                json!({"op": "Add", "path": "members", "value": [{"value": u}]})
            };
            let r = app
                .patch(&format!("/Groups/{g}"), &json!({"Operations": [op]}))
                .await;
            if r.status != 204 {
                eprintln!("member change {i}: {} {}", r.status, r.body);
            }
            r.status.as_u16()
        });
    }
    let statuses = tasks.join_all().await;
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    let mut expected: Vec<String> = users[4..].to_vec();
    expected.sort();
    assert_eq!(app.member_ids(&g).await, expected);
}

crate::on_every_store!(
    twenty_creates_of_one_name_in_different_cases_make_one_user,
    concurrent_patches_of_different_attributes_all_survive,
    concurrent_member_adds_and_removes_end_in_the_expected_set,
);
