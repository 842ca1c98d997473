//! OAuth through the real router: the token endpoint's three client authentication methods and
//! every RFC 6749 error it answers, access tokens on SCIM routes (tenant, expiry, tampering,
//! key rotation, revocation within the bound), the admin routes, and workload identity
//! federation against an issuer served on 127.0.0.1. Each suite runs over the memory OAuth
//! store and, under `scripts/with-emulator.sh`, the DynamoDB one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod harness;

use std::time::Duration;

use axum::http::Method;
use harness::{Deployment, Issuer, SCIM_TOKEN};
use scim_lambda::clock::Clock;
use scim_lambda::oauth::clock::rfc3339;
use scim_lambda::oauth::keys::{KeyRing, SigningKey};
use scim_lambda::store::TenantId;
use scim_lambda::store::dynamo::DynamoStore;
use scim_lambda::store::dynamo::oauth::DynamoOAuthStore;
use scim_lambda::store::memory_oauth::MemoryOAuthStore;
use scim_lambda::store::oauth::OAuthStore;
use serde_json::{Value, json};

fn ring(seed: &str) -> KeyRing {
    KeyRing::new(SigningKey::from_seed(seed.as_bytes()).unwrap())
}

async fn dynamo() -> Option<DynamoOAuthStore> {
    if !support::emulator::enabled("DynamoDB OAuth") {
        return None;
    }
    let config = support::emulator::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = format!("scim-oauth-{}", uuid::Uuid::new_v4());
    DynamoStore::new(client.clone(), table.clone())
        .create_table_if_missing()
        .await
        .unwrap();
    Some(DynamoOAuthStore::new(client, table))
}

/// Runs a suite over both OAuth stores.
macro_rules! over_both_stores {
    ($($suite:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test]
            async fn $suite() {
                super::$suite(super::Deployment::new(super::MemoryOAuthStore::new())).await;
            })*
        }
        mod dynamodb {
            $(#[tokio::test]
            async fn $suite() {
                if let Some(store) = super::dynamo().await {
                    super::$suite(super::Deployment::new(store)).await;
                }
            })*
        }
    };
}

over_both_stores!(
    client_authentication_methods,
    token_endpoint_errors,
    access_tokens_open_only_their_tenant,
    expired_and_tampered_tokens,
    key_rotation_overlap,
    secret_expiry_and_rotation,
    revocation_within_the_bound,
    disabled_tenant,
    admin_routes,
    federation,
);

async fn client_authentication_methods<O: OAuthStore>(d: Deployment<O>) {
    let app = d.instance(ring("k"));
    let (id, secret) = app.client("acme", json!({"description": "Entra"})).await;
    assert!(secret.starts_with("scimcs_"));
    // client_secret_basic
    let basic = app
        .token(
            &[("grant_type", "client_credentials")],
            Some((&id, &secret)),
        )
        .await
        .expect(200);
    assert_eq!(basic.body["token_type"], "Bearer");
    assert_eq!(basic.body["expires_in"], 3600);
    assert_eq!(basic.header("cache-control"), Some("no-store"));
    // client_secret_post, with a scope Entra may send (accepted and not echoed)
    let post = app
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", "scim"),
            ],
            None,
        )
        .await
        .expect(200);
    for r in [basic, post] {
        let token = r.body["access_token"].as_str().unwrap();
        app.scim(Method::GET, "/Users", token, None)
            .await
            .expect(200);
    }
    // lastUsedAt is recorded (coarsely) and listed
    let list = app
        .admin(Method::GET, "/tenants/acme/clients", None)
        .await
        .expect(200);
    assert!(
        list.body["clients"][0]["lastUsedAt"].is_string(),
        "{}",
        list.body
    );
    assert!(list.body["clients"][0].get("clientSecret").is_none());
    assert!(!list.body.to_string().contains(&secret));
}

async fn token_endpoint_errors<O: OAuthStore>(d: Deployment<O>) {
    let app = d.instance(ring("k"));
    let (id, secret) = app.client("acme", json!({})).await;
    let cc = ("grant_type", "client_credentials");
    let ok = Some((id.as_str(), secret.as_str()));
    let rows: Vec<(&str, Vec<(&str, &str)>, Option<(&str, &str)>, u16, &str)> = vec![
        ("no grant_type", vec![], ok, 400, "invalid_request"),
        (
            "password grant",
            vec![("grant_type", "password")],
            ok,
            400,
            "unsupported_grant_type",
        ),
        (
            "no client authentication",
            vec![cc],
            None,
            401,
            "invalid_client",
        ),
        (
            "wrong secret",
            vec![cc],
            Some((id.as_str(), "scimcs_wrong")),
            401,
            "invalid_client",
        ),
        (
            "unknown client",
            vec![cc],
            Some(("c_aaaaaaaaaaaaaaaaaaaa", secret.as_str())),
            401,
            "invalid_client",
        ),
        (
            "malformed client id",
            vec![cc],
            Some(("../etc", secret.as_str())),
            401,
            "invalid_client",
        ),
        (
            "two methods",
            vec![cc, ("client_id", &id), ("client_secret", &secret)],
            ok,
            400,
            "invalid_request",
        ),
        (
            "repeated parameter",
            vec![cc, cc],
            ok,
            400,
            "invalid_request",
        ),
        (
            "client_id differs from Basic",
            vec![cc, ("client_id", "c_bbbbbbbbbbbbbbbbbbbb")],
            ok,
            400,
            "invalid_request",
        ),
        (
            "secret without client_id",
            vec![cc, ("client_secret", &secret)],
            None,
            400,
            "invalid_request",
        ),
        (
            "assertion of another type",
            vec![
                cc,
                ("client_assertion_type", "saml"),
                ("client_assertion", "x"),
            ],
            None,
            400,
            "invalid_request",
        ),
        (
            "assertion that is no JWT",
            vec![
                cc,
                (
                    "client_assertion_type",
                    scim_lambda::oauth::assertion::JWT_BEARER,
                ),
                ("client_assertion", "x"),
            ],
            None,
            401,
            "invalid_client",
        ),
    ];
    for (name, form, basic, status, code) in rows {
        let r = app.token(&form, basic).await;
        assert_eq!(
            (r.status.as_u16(), r.body["error"].as_str()),
            (status, Some(code)),
            "{name}: {}",
            r.body
        );
        assert_eq!(r.header("cache-control"), Some("no-store"), "{name}");
        if status == 401 {
            assert!(r.header("www-authenticate").is_some(), "{name}");
        }
        assert!(!r.body.to_string().contains(&secret), "{name}");
    }
    // Not a form at all.
    let request = axum::http::Request::post("/oauth2/token")
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    app.send(request).await.oauth_error(400, "invalid_request");
}

async fn access_tokens_open_only_their_tenant<O: OAuthStore>(d: Deployment<O>) {
    let app = d.instance(ring("k"));
    let (acme, acme_secret) = app.client("acme", json!({})).await;
    let (globex, globex_secret) = app.client("globex", json!({})).await;
    let acme_token = app.access_token(&acme, &acme_secret).await;
    let globex_token = app.access_token(&globex, &globex_secret).await;
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "alice@acme.example"});
    let created = app
        .scim(Method::POST, "/Users", &acme_token, Some(user))
        .await
        .expect(201);
    let path = format!("/Users/{}", created.body["id"].as_str().unwrap());
    app.scim(Method::GET, &path, &acme_token, None)
        .await
        .expect(200);
    // Another tenant's token, and the static token of `default`, see nothing of acme's.
    app.scim(Method::GET, &path, &globex_token, None)
        .await
        .expect(404);
    app.scim(Method::GET, &path, SCIM_TOKEN, None)
        .await
        .expect(404);
    // The token's claims are RFC 9068's plus the tenant.
    let payload = acme_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    for claim in ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"] {
        assert!(claims.get(claim).is_some(), "{claim}: {claims}");
    }
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["aud"], "http://localhost/scim/v2");
    // An access token never opens the admin API, nor the admin token SCIM.
    app.admin_as(Method::GET, "/tenants/acme/clients", None, &acme_token)
        .await
        .admin_error(401, "unauthorized");
    app.scim(Method::GET, "/Users", harness::ADMIN_TOKEN, None)
        .await
        .expect(401);
}

async fn expired_and_tampered_tokens<O: OAuthStore>(d: Deployment<O>) {
    let app = d.instance(ring("k"));
    let (id, secret) = app.client("acme", json!({})).await;
    let token = app.access_token(&id, &secret).await;
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged_payload = {
        let mut claims: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[1])
                .unwrap(),
        )
        .unwrap();
        claims["tenant"] = json!("globex");
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            claims.to_string(),
        )
    };
    parts[1] = &forged_payload;
    let tampered = parts.join(".");
    let foreign = d.instance(ring("other deployment"));
    let (fid, fsecret) = foreign.client("acme", json!({})).await;
    let foreign_token = foreign.access_token(&fid, &fsecret).await;
    for (name, t) in [
        ("tampered", tampered.as_str()),
        ("signed by another key", foreign_token.as_str()),
    ] {
        let r = app.scim(Method::GET, "/Users", t, None).await.expect(401);
        assert_eq!(
            r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{name}"
        );
    }
    app.scim(Method::GET, "/Users", &token, None)
        .await
        .expect(200);
    // One hour plus the allowed skew later, the token is refused.
    d.clock.advance(Duration::from_secs(3600 + 59));
    app.scim(Method::GET, "/Users", &token, None)
        .await
        .expect(200);
    d.clock.advance(Duration::from_secs(1));
    app.scim(Method::GET, "/Users", &token, None)
        .await
        .expect(401);
}

async fn key_rotation_overlap<O: OAuthStore>(d: Deployment<O>) {
    let before = d.instance(ring("key-1"));
    let (id, secret) = before.client("acme", json!({})).await;
    let old_token = before.access_token(&id, &secret).await;
    let rotated =
        d.instance(ring("key-2").with_previous(Some(SigningKey::from_seed(b"key-1").unwrap())));
    let new_token = rotated.access_token(&id, &secret).await;
    assert_ne!(kid(&old_token), kid(&new_token));
    // Both verify on the rotated instance; the JWKS lists both keys, current first.
    rotated
        .scim(Method::GET, "/Users", &old_token, None)
        .await
        .expect(200);
    rotated
        .scim(Method::GET, "/Users", &new_token, None)
        .await
        .expect(200);
    let jwks = rotated
        .send(get("/.well-known/jwks.json"))
        .await
        .expect(200);
    let kids: Vec<&str> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec![kid(&new_token), kid(&old_token)]);
    // After the next rotation the oldest key is gone.
    let next =
        d.instance(ring("key-3").with_previous(Some(SigningKey::from_seed(b"key-2").unwrap())));
    next.scim(Method::GET, "/Users", &old_token, None)
        .await
        .expect(401);
    next.scim(Method::GET, "/Users", &new_token, None)
        .await
        .expect(200);
    let meta = next
        .send(get("/.well-known/oauth-authorization-server"))
        .await
        .expect(200);
    assert_eq!(meta.body["token_endpoint"], "http://localhost/oauth2/token");
    assert_eq!(
        meta.body["grant_types_supported"],
        json!(["client_credentials"])
    );
}

fn get(path: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::get(path)
        .header("host", harness::HOST)
        .body(axum::body::Body::empty())
        .unwrap()
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn secret_expiry_and_rotation<O: OAuthStore>(d: Deployment<O>) {
    let app = d.instance(ring("k"));
    let now = d.clock.now();
    let (id, first) = app
        .client("acme", json!({"secretExpiresAt": rfc3339(now + 100)}))
        .await;
    let added = app
        .admin(
            Method::POST,
            &format!("/tenants/acme/clients/{id}/secrets"),
            Some(json!({})),
        )
        .await
        .expect(201);
    let second = added.body["clientSecret"].as_str().unwrap().to_string();
    app.access_token(&id, &first).await;
    app.access_token(&id, &second).await;
    d.clock.advance(Duration::from_secs(100));
    let r = app
        .token(&[("grant_type", "client_credentials")], Some((&id, &first)))
        .await
        .oauth_error(401, "invalid_client");
    assert!(
        r.body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    app.access_token(&id, &second).await;
    // Revoking one secret leaves the others working.
    let second_id = added.body["id"].as_str().unwrap();
    app.admin(
        Method::DELETE,
        &format!("/tenants/acme/clients/{id}/secrets/{second_id}"),
        None,
    )
    .await
    .expect(204);
    app.token(
        &[("grant_type", "client_credentials")],
        Some((&id, &second)),
    )
    .await
    .oauth_error(401, "invalid_client");
    // At most five secrets at once.
    for _ in 0..4 {
        app.admin(
            Method::POST,
            &format!("/tenants/acme/clients/{id}/secrets"),
            None,
        )
        .await
        .expect(201);
    }
    app.admin(
        Method::POST,
        &format!("/tenants/acme/clients/{id}/secrets"),
        None,
    )
    .await
    .admin_error(409, "conflict");
    // An expiry in the past is refused.
    app.admin(
        Method::POST,
        "/tenants/acme/clients",
        Some(json!({"secretExpiresAt": rfc3339(d.clock.now() - 1)})),
    )
    .await
    .admin_error(400, "invalid_request");
}

async fn revocation_within_the_bound<O: OAuthStore>(d: Deployment<O>) {
    let here = d.instance(ring("k"));
    let elsewhere = d.instance(ring("k"));
    let (id, secret) = here.client("acme", json!({})).await;
    let token = here.access_token(&id, &secret).await;
    here.scim(Method::GET, "/Users", &token, None)
        .await
        .expect(200);
    elsewhere
        .scim(Method::GET, "/Users", &token, None)
        .await
        .expect(200);
    here.admin(Method::DELETE, &format!("/tenants/acme/clients/{id}"), None)
        .await
        .expect(204);
    // At once on the instance that revoked, and for new tokens everywhere.
    here.scim(Method::GET, "/Users", &token, None)
        .await
        .expect(401);
    here.token(
        &[("grant_type", "client_credentials")],
        Some((&id, &secret)),
    )
    .await
    .oauth_error(401, "invalid_client");
    // Within 60 s on every other instance.
    d.clock.advance(Duration::from_secs(59));
    elsewhere
        .scim(Method::GET, "/Users", &token, None)
        .await
        .expect(200);
    d.clock.advance(Duration::from_secs(1));
    elsewhere
        .scim(Method::GET, "/Users", &token, None)
        .await
        .expect(401);
    let list = here
        .admin(Method::GET, "/tenants/acme/clients", None)
        .await
        .expect(200);
    assert_eq!(list.body["clients"][0]["status"], "revoked");
}

async fn disabled_tenant<O: OAuthStore>(d: Deployment<O>) {
    let app = d.instance(ring("k"));
    let (id, secret) = app.client("acme", json!({})).await;
    let token = app.access_token(&id, &secret).await;
    app.scim(Method::GET, "/Users", &token, None)
        .await
        .expect(200);
    let acme = TenantId::parse("acme").unwrap();
    d.tenants.set_active(&acme, false);
    app.token(
        &[("grant_type", "client_credentials")],
        Some((&id, &secret)),
    )
    .await
    .oauth_error(400, "invalid_grant");
    d.clock.advance(Duration::from_secs(60));
    app.scim(Method::GET, "/Users", &token, None)
        .await
        .expect(401);
    d.tenants.set_active(&acme, true);
    d.clock.advance(Duration::from_secs(60));
    app.scim(Method::GET, "/Users", &token, None)
        .await
        .expect(200);
}

async fn admin_routes<O: OAuthStore>(d: Deployment<O>) {
    let app = d.instance(ring("k"));
    let (id, _) = app
        .client("acme", json!({"description": "Entra gallery"}))
        .await;
    let rows: Vec<(&str, Method, String, Option<Value>, &str, u16, &str)> = vec![
        (
            "no admin token",
            Method::GET,
            "/tenants/acme/clients".into(),
            None,
            "nope",
            401,
            "unauthorized",
        ),
        (
            "SCIM token",
            Method::GET,
            "/tenants/acme/clients".into(),
            None,
            SCIM_TOKEN,
            401,
            "unauthorized",
        ),
        (
            "unknown field",
            Method::POST,
            "/tenants/acme/clients".into(),
            Some(json!({"descr": 1})),
            harness::ADMIN_TOKEN,
            400,
            "invalid_request",
        ),
        (
            "bad expiry",
            Method::POST,
            "/tenants/acme/clients".into(),
            Some(json!({"secretExpiresAt": "soon"})),
            harness::ADMIN_TOKEN,
            400,
            "invalid_request",
        ),
        (
            "bad tenant id",
            Method::GET,
            "/tenants/a%23b/clients".into(),
            None,
            harness::ADMIN_TOKEN,
            404,
            "not_found",
        ),
        (
            "client of another tenant",
            Method::DELETE,
            format!("/tenants/globex/clients/{id}"),
            None,
            harness::ADMIN_TOKEN,
            404,
            "not_found",
        ),
        (
            "unknown client",
            Method::POST,
            "/tenants/acme/clients/c_aaaaaaaaaaaaaaaaaaaa/secrets".into(),
            None,
            harness::ADMIN_TOKEN,
            404,
            "not_found",
        ),
        (
            "unknown secret",
            Method::DELETE,
            format!("/tenants/acme/clients/{id}/secrets/s_aaaaaaaaaaaaaaaaaaaa"),
            None,
            harness::ADMIN_TOKEN,
            404,
            "not_found",
        ),
        (
            "unknown route",
            Method::GET,
            "/nothing".into(),
            None,
            harness::ADMIN_TOKEN,
            404,
            "not_found",
        ),
        (
            "credential without subject",
            Method::POST,
            "/tenants/acme/federated-credentials".into(),
            Some(json!({"issuer": "https://i.example", "subject": "", "audience": "a"})),
            harness::ADMIN_TOKEN,
            400,
            "invalid_request",
        ),
        (
            "credential over http",
            Method::POST,
            "/tenants/acme/federated-credentials".into(),
            Some(json!({"issuer": "http://i.example", "subject": "s", "audience": "a"})),
            harness::ADMIN_TOKEN,
            400,
            "invalid_request",
        ),
        (
            "unknown credential",
            Method::DELETE,
            "/tenants/acme/federated-credentials/f_aaaaaaaaaaaaaaaaaaaa".into(),
            None,
            harness::ADMIN_TOKEN,
            404,
            "not_found",
        ),
    ];
    for (name, method, path, body, bearer, status, code) in rows {
        let r = app.admin_as(method, &path, body, bearer).await;
        assert_eq!(
            (r.status.as_u16(), r.body["error"].as_str()),
            (status, Some(code)),
            "{name}: {}",
            r.body
        );
        assert!(r.body["message"].is_string(), "{name}");
    }
    let not_json = axum::http::Request::post("/admin/v1/tenants/acme/clients")
        .header("authorization", format!("Bearer {}", harness::ADMIN_TOKEN))
        .header("content-type", "text/plain")
        .body(axum::body::Body::from("description=x"))
        .unwrap();
    app.send(not_json).await.admin_error(400, "invalid_request");
    let list = app
        .admin(Method::GET, "/tenants/acme/clients", None)
        .await
        .expect(200);
    assert_eq!(list.body["clients"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["clients"][0]["description"], "Entra gallery");
    let other = app
        .admin(Method::GET, "/tenants/globex/clients", None)
        .await
        .expect(200);
    assert_eq!(other.body["clients"], json!([]));
}

async fn federation<O: OAuthStore>(d: Deployment<O>) {
    let issuer = Issuer::start().await;
    let app = d.instance(ring("k"));
    let subject = format!("workload-{}", uuid::Uuid::new_v4());
    let created = app
        .admin(
            Method::POST,
            "/tenants/acme/federated-credentials",
            Some(
                json!({"issuer": issuer.url, "subject": subject, "audience": "api://scim-lambda"}),
            ),
        )
        .await
        .expect(201);
    let fid = created.body["id"].as_str().unwrap().to_string();
    // The same triple cannot be registered twice, by any tenant.
    app.admin(
        Method::POST,
        "/tenants/globex/federated-credentials",
        Some(json!({"issuer": issuer.url, "subject": subject, "audience": "api://scim-lambda"})),
    )
    .await
    .admin_error(409, "conflict");
    let now = d.clock.now();
    let claims = |aud: &str, exp: i64, jti: &str| json!({"iss": issuer.url, "sub": subject, "aud": aud, "exp": exp, "iat": now, "nbf": now, "jti": jti});
    let assert_with = |assertion: &str| {
        vec![
            ("grant_type", "client_credentials".to_string()),
            (
                "client_assertion_type",
                scim_lambda::oauth::assertion::JWT_BEARER.to_string(),
            ),
            ("client_assertion", assertion.to_string()),
        ]
    };
    let send = |assertion: String| {
        let app = app.clone();
        async move {
            let form = assert_with(&assertion);
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.token(&pairs, None).await
        }
    };
    let good = issuer.sign(
        &claims("api://scim-lambda", now + 300, "jti-1"),
        &issuer.kid,
    );
    let r = send(good.clone()).await.expect(200);
    let token = r.body["access_token"].as_str().unwrap().to_string();
    app.scim(Method::GET, "/Users", &token, None)
        .await
        .expect(200);
    let rows = [
        ("replayed jti", good.clone()),
        ("wrong aud", issuer.sign(&claims("api://other", now + 300, "jti-2"), &issuer.kid)),
        ("unknown key", issuer.sign(&claims("api://scim-lambda", now + 300, "jti-3"), "kid-unknown")),
        ("expired", issuer.sign(&claims("api://scim-lambda", now - 120, "jti-4"), &issuer.kid)),
        ("no jti", issuer.sign(&json!({"iss": issuer.url, "sub": subject, "aud": "api://scim-lambda", "exp": now + 300}), &issuer.kid)),
    ];
    for (name, assertion) in rows {
        let r = send(assertion).await;
        assert_eq!(
            (r.status.as_u16(), r.body["error"].as_str()),
            (401, Some("invalid_client")),
            "{name}: {}",
            r.body
        );
        assert_eq!(r.header("cache-control"), Some("no-store"), "{name}");
    }
    // The credential's own jwksUri works too, and an assertion with the JWKS's kid after an
    // unknown one is still accepted (the unknown kid did not poison the cache).
    let listed = app
        .admin(Method::GET, "/tenants/acme/federated-credentials", None)
        .await
        .expect(200);
    assert_eq!(listed.body["federatedCredentials"][0]["id"], fid.as_str());
    let again = issuer.sign(
        &claims("api://scim-lambda", now + 300, "jti-5"),
        &issuer.kid,
    );
    send(again).await.expect(200);
    // Deleting the credential stops new tokens at once and outstanding ones within 60 s.
    app.admin(
        Method::DELETE,
        &format!("/tenants/acme/federated-credentials/{fid}"),
        None,
    )
    .await
    .expect(204);
    let after = issuer.sign(
        &claims("api://scim-lambda", now + 300, "jti-6"),
        &issuer.kid,
    );
    send(after).await.oauth_error(401, "invalid_client");
    app.scim(Method::GET, "/Users", &token, None)
        .await
        .expect(401);
}
