//! Secrets Manager down, seen at the router: the cached token keeps serving within the grace
//! period; a token the cache does not know, and any token once the cache is past the grace
//! period, get a 503 SCIM error with `Retry-After` (never 401, which would make Entra give up
//! on a token that may be right). `tests/token` covers the token source itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::http::Method;
use scim_lambda::auth::SecretsManagerToken;
use scim_lambda::clock::ManualClock;
use scim_lambda::scim::urn;
use scim_lambda::service::Service;
use scim_lambda::store::TenantId;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::{App, AppState, Tokens, app};

use crate::proxy::{Proxy, Settings};
use crate::support::{Reply, request, send};
use crate::{emulator, sdk_config};

async fn get(app: &App, token: &str) -> Reply {
    send(
        app,
        request(Method::GET, "/scim/v2/Users?count=0", Some(token), None),
    )
    .await
}

#[track_caller]
fn assert_unavailable(r: Reply, what: &str) {
    assert_eq!(r.status, 503, "{what}: {}", r.body);
    assert_eq!(r.header("retry-after"), Some("1"), "{what}: Retry-After");
    let r = r.scim_error(503);
    assert_eq!(r.body["schemas"][0], urn::ERROR, "{what}");
}

#[tokio::test]
async fn secrets_manager_down_serves_the_cached_token_and_answers_503_otherwise() {
    let Some(endpoint) = emulator() else { return };
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
    let direct = aws_sdk_secretsmanager::Client::new(&sdk_config(&endpoint).await);
    let name = format!("scim-faults-token-{}", uuid::Uuid::new_v4());
    direct
        .create_secret()
        .name(&name)
        .secret_string("the-good-token")
        .send()
        .await
        .unwrap();
    let clock = ManualClock::at(0);
    let tokens = SecretsManagerToken::new(
        aws_sdk_secretsmanager::Client::new(&sdk_config(&proxy.url).await),
        &name,
    )
    .with_clock(Arc::new(clock.clone()))
    .with_ttl(Duration::from_secs(60))
    .with_grace(Duration::from_secs(600));
    let service = Arc::new(Service::new(MemoryStore::new()));
    let app = app(AppState::new_shared(
        service,
        Tokens::SecretsManager {
            source: tokens,
            tenant: TenantId::default(),
        },
        "/scim/v2",
    ));

    // GIVEN a cache filled while Secrets Manager was up
    assert_eq!(get(&app, "the-good-token").await.status, 200);
    assert_eq!(
        get(&app, "a-wrong-token").await.status,
        401,
        "up: wrong is 401"
    );
    // WHEN it goes down and the cache passes its TTL, within the grace period
    proxy.settings().secrets_down.store(true, Ordering::Relaxed);
    clock.advance(Duration::from_secs(120));
    // THEN the cached token is still served, an unknown one is 503
    assert_eq!(
        get(&app, "the-good-token").await.status,
        200,
        "within grace"
    );
    assert_unavailable(get(&app, "a-rotated-in-token").await, "unknown token");
    // AND past the grace period every token is 503
    clock.advance(Duration::from_secs(600));
    assert_unavailable(get(&app, "the-good-token").await, "past grace");
    // AND when it is back, the next refresh decides again.
    proxy
        .settings()
        .secrets_down
        .store(false, Ordering::Relaxed);
    clock.advance(Duration::from_secs(11));
    assert_eq!(get(&app, "the-good-token").await.status, 200, "recovered");
    assert_eq!(
        get(&app, "a-wrong-token").await.status,
        401,
        "recovered: wrong"
    );
}
