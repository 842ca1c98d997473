//! Writes whose answer was lost: the proxy lets every other DynamoDB write commit and then
//! answers 500, the SDK (standard retries, as in production) sends it again, and the retry
//! meets the write it already made. Every request must still answer what its first attempt
//! would have: 201 with the resource for a create, 200/204 for an update, never a 5xx or a 409.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use scim_lambda::scim::urn::{GROUP, PATCH_OP, USER};
use scim_lambda::store::TenantId;
use scim_lambda::store::dynamo::DynamoStore;
use serde_json::json;

use crate::helpers::TestApp;
use crate::proxy::{Fault, Proxy, Settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_was_lost_answers_as_its_first_attempt_would_have() {
    let Some(endpoint) = crate::emulator() else {
        return;
    };
    let proxy = Proxy::start(
        &endpoint,
        Settings {
            per_mille: AtomicU32::new(0),
            delays_left: AtomicU32::new(0),
            delay: Duration::ZERO,
            secrets_down: false.into(),
            after_write_every: AtomicU32::new(0),
        },
        1,
    )
    .await;
    let table = format!("scim-lost-{}", uuid::Uuid::new_v4());
    let direct = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&crate::sdk_config(&endpoint).await),
        &table,
    );
    direct.create_table_if_missing().await.unwrap();
    // The SDK's standard retries, as deployed, with short backoffs for the test.
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&proxy.url)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .load()
        .await;
    let app = TestApp::over(
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), &table),
        TenantId::default(),
    );
    proxy
        .settings()
        .after_write_every
        .store(2, Ordering::Relaxed);

    // Sequential, so each faulted write's retry is the next write the proxy sees.
    let mut users = Vec::new();
    for i in 0..12 {
        let body = json!({"schemas": [USER], "userName": format!("lost{i}@x"),
                          "emails": [{"type": "work", "value": format!("lost{i}@x")}]});
        let r = app.post("/Users", &body).await.expect(201);
        assert_eq!(r.body["userName"], format!("lost{i}@x"));
        users.push(r.id());
    }
    for id in &users[..6] {
        let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "t"}]});
        app.patch(&format!("/Users/{id}"), &body).await.expect(200);
    }
    let members: Vec<_> = users[..4].iter().map(|u| json!({"value": u})).collect();
    let g = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "Lost", "members": members}),
        )
        .await
        .expect(201)
        .id();
    for u in &users[4..8] {
        let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": u}]}]});
        app.patch(&format!("/Groups/{g}"), &body).await.expect(204);
    }
    let put = json!({"schemas": [GROUP], "displayName": "Lost renamed",
                     "members": users[..2].iter().map(|u| json!({"value": u})).collect::<Vec<_>>()});
    app.put(&format!("/Groups/{g}"), &put).await.expect(200);
    proxy
        .settings()
        .after_write_every
        .store(0, Ordering::Relaxed);

    // THEN the state is what the requests asked for: one user per create, the group renamed
    // with exactly the PUT's members.
    let check = TestApp::over(direct, TenantId::default());
    let r = check.get("/Users?count=0").await.expect(200);
    assert_eq!(r.body["totalResults"], 12);
    let mut want = users[..2].to_vec();
    want.sort();
    assert_eq!(check.member_ids(&g).await, want);
    let lost = proxy
        .counts_by_kind()
        .get(&Fault::AfterWrite)
        .copied()
        .unwrap_or(0);
    assert!(lost >= 10, "only {lost} writes lost their answer");
    let _ = writeln!(
        std::io::stderr(),
        "lost answers: {lost} writes committed and answered 500, by operation {:?}; every request answered as its first attempt would have",
        proxy.counts()
    );
}
