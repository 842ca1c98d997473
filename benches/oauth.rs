//! OAuth costs: verifying an access token (the signature and claims alone, and a whole SCIM
//! request with an access token against the same request with a static token), and one
//! `client_credentials` request through the token endpoint.
//!
//! ```sh
//! cargo bench --bench oauth                                   # release profile (LTO)
//! cargo bench --profile bench-fast --bench oauth -- --quick   # quicker, for iterating
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use scim_lambda::auth::liveness::AllTenantsActive;
use scim_lambda::auth::signing::SigningKeys;
use scim_lambda::auth::{StaticToken, TokenDigest};
use scim_lambda::clock::{Clock, SystemClock};
use scim_lambda::http::app_with;
use scim_lambda::oauth::access::{AccessClaims, Lifetime};
use scim_lambda::oauth::keys::{KeyRing, SigningKey};
use scim_lambda::oauth_server::settings::{Wiring, wire};
use scim_lambda::service::Service;
use scim_lambda::store::TenantId;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::store::memory_oauth::MemoryOAuthStore;
use scim_lambda::{App, AppState, Tokens};
use secrecy::SecretString;
use serde_json::Value;
use tower::ServiceExt;

const STATIC: &str = "bench-token-0123456789";
const ADMIN: &str = "bench-admin-0123456789";
const PROBE: &str = "/scim/v2/Users?filter=userName%20eq%20%22probe%40contoso.com%22";

fn app() -> App {
    let wired = wire(Wiring {
        store: Arc::new(MemoryOAuthStore::new()),
        keys: Arc::new(SigningKeys::fixed(KeyRing::new(
            SigningKey::from_seed(b"bench").unwrap(),
        ))),
        clock: Arc::new(SystemClock),
        tenants: Arc::new(AllTenantsActive),
        lifetime: Lifetime::default(),
        issuer: None,
        base_path: "/scim/v2".into(),
        allow_loopback_http: true,
    });
    let tokens = Tokens::Static(StaticToken::new(&SecretString::from(STATIC)));
    let admin = TokenDigest::of(ADMIN).unwrap();
    let state = AppState::new(Service::new(MemoryStore::new()), tokens, "/scim/v2")
        .with_access_tokens(wired.access)
        .with_admin(scim_lambda::http::admin::AdminAuth::Token(admin));
    app_with(
        state,
        scim_lambda::http::oauth::oauth_router::<MemoryStore, _>(Arc::clone(&wired.server)),
        scim_lambda::http::oauth_admin::oauth_admin_router().with_state(wired.server),
    )
}

async fn call(app: &App, request: Request<Body>) -> (u16, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn token_request(basic: &str) -> Request<Body> {
    Request::post("/oauth2/token")
        .header("host", "localhost")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", basic)
        .body(Body::from("grant_type=client_credentials"))
        .unwrap()
}

fn probe(bearer: &str) -> Request<Body> {
    Request::get(PROBE)
        .header("host", "localhost")
        .header("authorization", format!("Bearer {bearer}"))
        .body(Body::empty())
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let ring = KeyRing::new(SigningKey::from_seed(b"bench").unwrap());
    let now = SystemClock.now();
    let aud = "http://localhost/scim/v2";
    let claims = AccessClaims::issue(
        "http://localhost",
        aud,
        "c_x",
        &TenantId::default(),
        now,
        Lifetime::default(),
    );
    let token = ring.sign(&claims).unwrap();
    c.bench_function("access_token/verify_signature_and_claims", |b| {
        b.iter(|| {
            let claims = ring.verify(black_box(&token)).unwrap();
            black_box(claims.check(now, Some(aud)).unwrap())
        });
    });
    c.bench_function("access_token/sign", |b| {
        b.iter(|| black_box(ring.sign(&claims).unwrap()))
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = app();
    let (client_id, secret) = rt.block_on(async {
        let request = Request::post("/admin/v1/tenants/default/clients")
            .header("authorization", format!("Bearer {ADMIN}"))
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let (status, body) = call(&app, request).await;
        assert_eq!(status, 201, "{body}");
        (
            body["clientId"].as_str().unwrap().to_string(),
            body["clientSecret"].as_str().unwrap().to_string(),
        )
    });
    let basic = format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")));
    let access = rt.block_on(async {
        let (status, body) = call(&app, token_request(&basic)).await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_string()
    });
    c.bench_function("token_endpoint/client_secret_basic", |b| {
        b.iter(|| {
            let (status, _) = rt.block_on(call(&app, token_request(&basic)));
            assert_eq!(status, 200);
        });
    });
    for (name, bearer) in [("static_token", STATIC), ("access_token", access.as_str())] {
        c.bench_function(&format!("router/user_lookup_miss_with_{name}"), |b| {
            b.iter(|| {
                let (status, _) = rt.block_on(call(&app, probe(bearer)));
                assert_eq!(status, 200);
            });
        });
    }
}

criterion_group!(oauth, benches);
criterion_main!(oauth);
