//! The operator commands against real peers: `token check` against the server on a loopback
//! socket, `token rotate` against the emulator's Secrets Manager.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use aws_config::BehaviorVersion;
use scim_lambda::admin::{CheckOutcome, check_endpoint, rotate_token};
use scim_lambda::auth::{SecretsManagerToken, StaticToken, TokenSource};
use scim_lambda::service::Service;
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
    if std::env::var_os("SCIM_TEST_DYNAMODB").is_none() {
        eprintln!("skipped: token rotation needs the emulator (scripts/with-emulator.sh)");
        return;
    }
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
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
