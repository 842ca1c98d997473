//! The operator commands against real peers: `token check` against the server on a loopback
//! socket, `token rotate` and `token drop-previous` against the emulator's Secrets Manager,
//! `recount` against the emulator's DynamoDB.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

use std::sync::Arc;

use scim_lambda::auth::{AuthError, SecretsManagerToken, StaticToken, TokenSource};
use scim_lambda::cli::{
    CheckOutcome, DropOutcome, check_endpoint, drop_previous_token, recount_counts, rotate_token,
};
use scim_lambda::scim::list::ListParams;
use scim_lambda::scim::schema::ResourceKind;
use scim_lambda::service::Service;
use scim_lambda::store::TenantId;
use scim_lambda::store::dynamo::{DynamoStore, items, keys};
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::{AppState, Tokens, app};
use secrecy::{ExposeSecret, SecretString};

async fn serve(token: &str) -> String {
    let tokens = Tokens::Static(StaticToken::new(&SecretString::from(token)));
    let state = AppState::new_shared(
        Arc::new(Service::new(MemoryStore::new())),
        tokens,
        "/scim/v2",
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = axum::ServiceExt::<axum::extract::Request>::into_make_service(app(state));
    tokio::spawn(async move { axum::serve(listener, service).await });
    format!("http://{addr}/scim/v2")
}

#[tokio::test]
async fn check_passes_with_the_right_token_and_explains_the_wrong_one() {
    let url = serve("right-token").await;
    assert_eq!(
        check_endpoint(&url, &SecretString::from("right-token")).await,
        CheckOutcome::Ok
    );
    // The Tenant URL as pasted into Entra with its SCIM-compliance flag.
    assert_eq!(
        check_endpoint(
            &format!("{url}?aadOptscim062020"),
            &SecretString::from("right-token")
        )
        .await,
        CheckOutcome::Ok
    );
    let CheckOutcome::Problem(why) = check_endpoint(&url, &SecretString::from("wrong")).await
    else {
        panic!("a wrong token must be reported");
    };
    assert!(why.contains("refused") && !why.contains("wrong"), "{why}");
    let base = url.trim_end_matches("/scim/v2");
    let CheckOutcome::Problem(why) = check_endpoint(base, &SecretString::from("right-token")).await
    else {
        panic!("a Tenant URL without the base path must be reported");
    };
    assert!(why.contains("/scim/v2"), "{why}");
    let CheckOutcome::Problem(why) =
        check_endpoint("http://127.0.0.1:9", &SecretString::from("x")).await
    else {
        panic!("an unreachable endpoint must be reported");
    };
    assert!(why.contains("could not reach"), "{why}");
}

#[tokio::test]
async fn rotate_keeps_the_previous_token_valid_until_the_next_rotation() {
    let Some(config) = emulator("token rotation").await else {
        return;
    };
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let name = format!("scim-admin-{}", uuid::Uuid::new_v4());
    client
        .create_secret()
        .name(&name)
        .secret_string("first-token")
        .send()
        .await
        .unwrap();

    let second = rotate_token(&client, &name).await.unwrap();
    assert_eq!(second.expose_secret().len(), 64);
    let source = SecretsManagerToken::new(client.clone(), &name);
    assert!(
        source.verify(second.expose_secret()).await.is_ok(),
        "the new token works at once"
    );
    assert!(
        source.verify("first-token").await.is_ok(),
        "the previous token still works"
    );

    let third = rotate_token(&client, &name).await.unwrap();
    let fresh = SecretsManagerToken::new(client.clone(), &name);
    assert!(fresh.verify(third.expose_secret()).await.is_ok());
    assert!(fresh.verify(second.expose_secret()).await.is_ok());
    assert!(
        fresh.verify("first-token").await.is_err(),
        "two rotations retire the first token"
    );
}

/// The emulator's SDK configuration, or `None` (after saying so) without one.
async fn emulator(what: &str) -> Option<aws_config::SdkConfig> {
    if !support::emulator::enabled(what) {
        return None;
    }
    Some(support::emulator::sdk_config().await)
}

#[tokio::test]
async fn drop_previous_retires_the_previous_token_and_keeps_the_current_one() {
    let Some(config) = emulator("drop-previous").await else {
        return;
    };
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let name = format!("scim-admin-{}", uuid::Uuid::new_v4());
    client
        .create_secret()
        .name(&name)
        .secret_string("leaked-token")
        .send()
        .await
        .unwrap();
    // Never rotated: there is no previous version to drop.
    assert_eq!(
        drop_previous_token(&client, &name).await.unwrap(),
        DropOutcome::NothingToDrop
    );
    // GIVEN the leak procedure: rotate (the leaked token becomes AWSPREVIOUS) ...
    let current = rotate_token(&client, &name).await.unwrap();
    let before = SecretsManagerToken::new(client.clone(), &name);
    assert!(
        before.verify("leaked-token").await.is_ok(),
        "still previous"
    );
    // WHEN the previous stage is dropped
    let DropOutcome::Dropped { version_id } = drop_previous_token(&client, &name).await.unwrap()
    else {
        panic!("a rotated secret has a previous version");
    };
    assert!(!version_id.is_empty());
    // THEN a fresh cache refuses the leaked token and accepts the current one, and a second
    // drop finds nothing.
    let after = SecretsManagerToken::new(client.clone(), &name);
    assert!(after.verify(current.expose_secret()).await.is_ok());
    assert!(matches!(
        after.verify("leaked-token").await,
        Err(AuthError::Invalid)
    ));
    assert_eq!(
        drop_previous_token(&client, &name).await.unwrap(),
        DropOutcome::NothingToDrop
    );
    // A later rotation stages a previous version again, as usual.
    let next = rotate_token(&client, &name).await.unwrap();
    let rotated = SecretsManagerToken::new(client.clone(), &name);
    assert!(rotated.verify(next.expose_secret()).await.is_ok());
    assert!(rotated.verify(current.expose_secret()).await.is_ok());
    // A secret that does not exist is an error, not "nothing to drop".
    assert!(
        drop_previous_token(&client, "scim-admin-missing")
            .await
            .is_err()
    );
}

async fn total(service: &Service<DynamoStore>, kind: ResourceKind) -> u64 {
    let params = ListParams {
        count: 0,
        ..ListParams::default()
    };
    service
        .list(&TenantId::default(), kind, &params)
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn recount_rebuilds_wrong_counters_from_the_listing() {
    let Some(config) = emulator("recount").await else {
        return;
    };
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = format!("scim-admin-{}", uuid::Uuid::new_v4());
    let tenant = TenantId::default();
    let store = DynamoStore::new(client.clone(), table.clone());
    store.create_table_if_missing().await.unwrap();
    let service = Service::new(store);
    for name in ["ann", "ben", "cy"] {
        service
            .create(
                &tenant,
                ResourceKind::User,
                &serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}),
            )
            .await
            .unwrap();
    }
    service
        .create(
            &tenant,
            ResourceKind::Group,
            &serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops"}),
        )
        .await
        .unwrap();
    assert_eq!(total(&service, ResourceKind::User).await, 3);
    // GIVEN counters that disagree with the items (as after an item-by-item copy)
    for (kind, n) in [(ResourceKind::User, 40), (ResourceKind::Group, 7)] {
        let mut item = items::counter_key(&tenant, kind, 0);
        item.insert(keys::COUNT.into(), items::n(n));
        client
            .put_item()
            .table_name(&table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    assert_ne!(total(&service, ResourceKind::User).await, 3);
    // WHEN recounting THEN the counts found are reported and totalResults is right again
    let counts = recount_counts(service.store(), &tenant).await.unwrap();
    assert_eq!(
        counts,
        vec![(ResourceKind::User, 3), (ResourceKind::Group, 1)]
    );
    assert_eq!(total(&service, ResourceKind::User).await, 3);
    assert_eq!(total(&service, ResourceKind::Group).await, 1);
    // A missing table is an error, not a count of zero.
    let missing = DynamoStore::new(client.clone(), "scim-admin-no-such-table");
    assert!(recount_counts(&missing, &tenant).await.is_err());
}
