//! Secrets Manager down, seen at the router: the cached token keeps serving within the grace
//! period; a token the cache does not know, and any token once the cache is past the grace
//! period, get a 503 SCIM error with `Retry-After` (never 401, which would make Entra give up
//! on a token that may be right). `tests/token` covers the token source itself.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use scim_lambda::auth::SecretsManagerToken;
use scim_lambda::auth::secrets_manager::Clock;
use scim_lambda::service::Service;
use scim_lambda::store::TenantId;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::{App, AppState, Tokens, app};
use serde_json::Value;
use tower::ServiceExt;

use crate::proxy::{Proxy, Settings};
use crate::{emulator, sdk_config};

struct ManualClock {
    start: Instant,
    offset: Mutex<Duration>,
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + *self.offset.lock().unwrap()
    }
}

impl ManualClock {
    fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap() += by;
    }
}

async fn get(app: &App, token: &str) -> (u16, Option<String>, Value) {
    let r = Request::get("/scim/v2/Users?count=0")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let r = app.clone().oneshot(r).await.unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    (status, retry, serde_json::from_slice(&bytes).unwrap())
}

#[track_caller]
fn assert_unavailable((status, retry, body): (u16, Option<String>, Value), what: &str) {
    assert_eq!(status, 503, "{what}: {body}");
    assert_eq!(retry.as_deref(), Some("1"), "{what}: Retry-After");
    assert_eq!(
        body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{what}"
    );
    assert_eq!(body["status"], "503", "{what}");
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
    let clock = Arc::new(ManualClock {
        start: Instant::now(),
        offset: Mutex::new(Duration::ZERO),
    });
    let tokens = SecretsManagerToken::new(
        aws_sdk_secretsmanager::Client::new(&sdk_config(&proxy.url).await),
        &name,
    )
    .with_clock(clock.clone())
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
    assert_eq!(get(&app, "the-good-token").await.0, 200);
    assert_eq!(get(&app, "a-wrong-token").await.0, 401, "up: wrong is 401");
    // WHEN it goes down and the cache passes its TTL, within the grace period
    proxy.settings().secrets_down.store(true, Ordering::Relaxed);
    clock.advance(Duration::from_secs(120));
    // THEN the cached token is still served, an unknown one is 503
    assert_eq!(get(&app, "the-good-token").await.0, 200, "within grace");
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
    assert_eq!(get(&app, "the-good-token").await.0, 200, "recovered");
    assert_eq!(get(&app, "a-wrong-token").await.0, 401, "recovered: wrong");
}
