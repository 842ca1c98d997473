//! The Secrets Manager token source against the emulator's Secrets Manager
//! (`scripts/with-emulator.sh cargo test --test token`), with an injected clock so TTLs and
//! refresh intervals pass without sleeping.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

#[path = "../support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use scim_lambda::auth::secrets_manager::{MISMATCH_INTERVAL, UNKNOWN_TOKEN_REFRESHES};
use scim_lambda::auth::{AuthError, SecretsManagerToken, TokenSource};
use scim_lambda::clock::ManualClock;

async fn emulator() -> Option<Client> {
    if !support::emulator::enabled("Secrets Manager") {
        return None;
    }
    Some(Client::new(&support::emulator::sdk_config().await))
}

/// Creates a secret holding `value` and returns its name.
async fn secret(client: &Client, value: Option<&str>) -> String {
    let name = format!("scim-token-{}", uuid::Uuid::new_v4());
    client
        .create_secret()
        .name(&name)
        .set_secret_string(value.map(str::to_string))
        .send()
        .await
        .unwrap();
    name
}

async fn rotate(client: &Client, name: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
}

fn source(client: &Client, name: &str, clock: &ManualClock) -> SecretsManagerToken {
    SecretsManagerToken::new(client.clone(), name).with_clock(Arc::new(clock.clone()))
}

fn is_invalid(r: Result<(), AuthError>) -> bool {
    matches!(r, Err(AuthError::Invalid))
}

#[tokio::test]
async fn rotation_accepts_current_and_previous_only() {
    let Some(client) = emulator().await else {
        return;
    };
    let clock = ManualClock::at(0);
    let name = secret(&client, Some("token-one")).await;
    let tokens = source(&client, &name, &clock);
    tokens.verify("token-one").await.unwrap();
    assert!(is_invalid(tokens.verify("token-two").await));

    // WHEN the secret rotates THEN the new token works at once (no TTL wait, even though
    // "token-two" itself was refused a moment ago), the old one still works, and a third is
    // refused.
    rotate(&client, &name, "token-two").await;
    tokens.verify("token-two").await.unwrap();
    tokens.verify("token-one").await.unwrap();
    assert!(is_invalid(tokens.verify("token-three").await));
    assert!(is_invalid(tokens.verify("").await));
}

fn is_unavailable(r: Result<(), AuthError>) -> bool {
    matches!(r, Err(AuthError::Unavailable(_)))
}

#[tokio::test]
async fn a_rotated_token_is_never_refused_after_a_bad_probe() {
    let Some(client) = emulator().await else {
        return;
    };
    // GIVEN a warm cache and a wrong token seen a moment ago (a probe, a stale client)
    let clock = ManualClock::at(0);
    let name = secret(&client, Some("a")).await;
    let tokens = source(&client, &name, &clock);
    tokens.verify("a").await.unwrap();
    assert!(is_invalid(tokens.verify("probe").await));
    // WHEN the secret rotates and the new token arrives at the same instant (no clock move)
    rotate(&client, &name, "b").await;
    // THEN it is accepted: it is a different unknown token, so it gets its own read
    tokens.verify("b").await.unwrap();
    tokens.verify("a").await.unwrap();
    assert!(is_invalid(tokens.verify("probe").await));
}

#[tokio::test]
async fn unknown_tokens_spend_a_bounded_budget_and_then_get_503_never_401() {
    let Some(client) = emulator().await else {
        return;
    };
    let clock = ManualClock::at(0);
    let name = secret(&client, Some("good")).await;
    let tokens = source(&client, &name, &clock);
    tokens.verify("good").await.unwrap();
    // GIVEN a flood of distinct guesses: each of the first ones is read and refused (401) ...
    for i in 0..UNKNOWN_TOKEN_REFRESHES {
        assert!(
            is_invalid(tokens.verify(&format!("guess-{i}")).await),
            "{i}"
        );
    }
    // ... and beyond the budget an unknown token is undecidable without a read: 503, not 401
    assert!(is_unavailable(tokens.verify("guess-next").await));
    // WHEN the secret rotates in the middle of the flood
    rotate(&client, &name, "fresh").await;
    // THEN the new token is never refused as invalid: retryable until a read is allowed ...
    assert!(is_unavailable(tokens.verify("fresh").await));
    // ... a guess that a read refused moments ago is still a 401, from memory ...
    assert!(is_invalid(tokens.verify("guess-0").await));
    // ... the cached tokens keep working, and the next window lets the new token in.
    tokens.verify("good").await.unwrap();
    clock.advance(MISMATCH_INTERVAL);
    tokens.verify("fresh").await.unwrap();
    tokens.verify("good").await.unwrap();
}

#[tokio::test]
async fn a_token_presented_before_it_was_stored_works_once_stored() {
    let Some(client) = emulator().await else {
        return;
    };
    // An admin pasted the new token into Entra before putting it in the secret: Test
    // Connection got 401. Once it is stored, the next try passes at once.
    let clock = ManualClock::at(0);
    let name = secret(&client, Some("old")).await;
    let tokens = source(&client, &name, &clock);
    assert!(is_invalid(tokens.verify("early").await));
    rotate(&client, &name, "early").await;
    clock.advance(Duration::from_secs(1));
    tokens.verify("early").await.unwrap();
}

#[tokio::test]
async fn the_ttl_drops_tokens_rotated_out() {
    let Some(client) = emulator().await else {
        return;
    };
    let clock = ManualClock::at(0);
    let name = secret(&client, Some("first")).await;
    let tokens = source(&client, &name, &clock).with_ttl(Duration::from_secs(60));
    tokens.verify("first").await.unwrap();
    rotate(&client, &name, "second").await;
    rotate(&client, &name, "third").await;
    // "first" is neither current nor previous any more, but the cache is fresh.
    tokens.verify("first").await.unwrap();
    clock.advance(Duration::from_secs(61));
    assert!(is_invalid(tokens.verify("first").await));
    tokens.verify("second").await.unwrap();
    tokens.verify("third").await.unwrap();
}

#[tokio::test]
async fn a_missing_or_valueless_secret_rejects_everything() {
    let Some(client) = emulator().await else {
        return;
    };
    let clock = ManualClock::at(0);
    let missing = source(&client, "scim-token-does-not-exist", &clock);
    assert!(is_invalid(missing.verify("anything").await));
    assert!(is_invalid(missing.verify("").await));

    let name = secret(&client, None).await;
    let valueless = source(&client, &name, &clock);
    assert!(is_invalid(valueless.verify("anything").await));
    assert!(is_invalid(valueless.verify("").await));
}

#[tokio::test]
async fn concurrent_first_requests_share_one_refresh() {
    let Some(client) = emulator().await else {
        return;
    };
    let clock = ManualClock::at(0);
    let name = secret(&client, Some("shared")).await;
    let tokens = Arc::new(source(&client, &name, &clock));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let tokens = tokens.clone();
            tokio::spawn(async move {
                let token = if i % 2 == 0 { "shared" } else { "wrong" };
                (i, tokens.verify(token).await)
            })
        })
        .collect();
    for task in tasks {
        let (i, result) = task.await.unwrap();
        assert_eq!(result.is_ok(), i % 2 == 0, "request {i}");
    }
}

#[tokio::test]
async fn an_unreachable_secrets_manager_is_unavailable_not_invalid() {
    // Nothing listens on port 1: every request fails to connect.
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:1")
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    let tokens = SecretsManagerToken::new(Client::from_conf(config), "any");
    let err = tokens.verify("whatever").await.unwrap_err();
    assert!(matches!(err, AuthError::Unavailable(_)), "{err:?}");
    assert!(!format!("{err:?}").contains("whatever"));
}

#[tokio::test]
async fn debug_output_never_contains_a_token() {
    let Some(client) = emulator().await else {
        return;
    };
    let clock = ManualClock::at(0);
    let name = secret(&client, Some("very-secret-token")).await;
    let tokens = source(&client, &name, &clock);
    tokens.verify("very-secret-token").await.unwrap();
    assert!(!format!("{tokens:?}").contains("very-secret-token"));
}
