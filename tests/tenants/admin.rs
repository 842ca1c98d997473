//! Every admin route and every admin error.

use axum::body::Body;
use axum::http::{Method, Request};
use scim_lambda::auth::StaticToken;
use scim_lambda::http::admin::AdminAuth;
use scim_lambda::service::Service;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::store::registry::MAX_TOKENS_PER_TENANT;
use scim_lambda::{AppState, Tokens, app};
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{ADMIN, DEFAULT_TOKEN, Deployment, send};
use crate::on_both_stores;

on_both_stores!(
    tenants_are_created_listed_shown_renamed_disabled_and_deleted,
    tokens_are_created_listed_and_revoked,
    bad_requests_get_admin_errors,
);

async fn tenants_are_created_listed_shown_renamed_disabled_and_deleted(d: &Deployment) {
    let a = d
        .admin(Method::POST, "/tenants", Some(json!({"name": "Contoso"})))
        .await
        .expect(201);
    let id = a.str("id");
    assert!(id.starts_with("t_") && id.len() == 22, "{id}");
    assert_eq!(a.body["status"], "active");
    assert_eq!(
        a.str("tenantUrl"),
        format!("https://scim.example.com/tenants/{id}/scim/v2")
    );
    assert!(a.str("createdAt").ends_with('Z'));
    d.admin(Method::POST, "/tenants", Some(json!({"name": "CONTOSO"})))
        .await
        .admin_error(409, "name_taken");
    let mut ids = vec![id.clone()];
    for name in ["Fabrikam", "Northwind"] {
        let r = d
            .admin(Method::POST, "/tenants", Some(json!({"name": name})))
            .await;
        ids.push(r.expect(201).str("id"));
    }
    ids.sort();

    // Paging: in id order, `next` while a full page came back.
    let first = d
        .admin(Method::GET, "/tenants?limit=2", None)
        .await
        .expect(200);
    let page: Vec<String> = first.body["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(page, ids[..2]);
    let next = first.str("next");
    let second = d
        .admin(Method::GET, &format!("/tenants?limit=2&after={next}"), None)
        .await
        .expect(200);
    assert_eq!(second.body["tenants"][0]["id"], ids[2].as_str());
    assert_eq!(second.body["tenants"].as_array().unwrap().len(), 1);
    assert!(second.body.get("next").is_none());

    let shown = d
        .admin(Method::GET, &format!("/tenants/{id}"), None)
        .await
        .expect(200);
    assert_eq!(
        (shown.body["users"].as_u64(), shown.body["groups"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(shown.body["lastRequestAt"].is_null());

    let renamed = d
        .admin(
            Method::PATCH,
            &format!("/tenants/{id}"),
            Some(json!({"name": "Contoso Ltd"})),
        )
        .await
        .expect(200);
    assert_eq!(renamed.body["name"], "Contoso Ltd");
    d.admin(
        Method::PATCH,
        &format!("/tenants/{id}"),
        Some(json!({"name": "fabrikam"})),
    )
    .await
    .admin_error(409, "name_taken");
    // The old name is free at once after a rename.
    d.admin(Method::POST, "/tenants", Some(json!({"name": "Contoso"})))
        .await
        .expect(201);
    let disabled = d
        .admin(
            Method::PATCH,
            &format!("/tenants/{id}"),
            Some(json!({"status": "disabled", "requestsPerSecond": 30})),
        )
        .await
        .expect(200);
    assert_eq!(disabled.body["status"], "disabled");
    assert_eq!(disabled.body["requestsPerSecond"], 30);

    d.admin(Method::DELETE, &format!("/tenants/{id}"), None)
        .await
        .expect(202);
    d.admin(Method::GET, &format!("/tenants/{id}"), None)
        .await
        .admin_error(404, "not_found");
    d.admin(Method::DELETE, &format!("/tenants/{id}"), None)
        .await
        .admin_error(404, "not_found");
    d.admin(
        Method::PATCH,
        &format!("/tenants/{id}"),
        Some(json!({"status": "active"})),
    )
    .await
    .admin_error(404, "not_found");
    let listed = d.admin(Method::GET, "/tenants", None).await.expect(200);
    assert!(
        !listed.body.to_string().contains(&id),
        "a deleted tenant is not listed"
    );
    // Its name is free at once.
    d.admin(
        Method::POST,
        "/tenants",
        Some(json!({"name": "Contoso Ltd"})),
    )
    .await
    .expect(201);
}

async fn tokens_are_created_listed_and_revoked(d: &Deployment) {
    let (id, first) = d.tenant_with_token("Tailspin").await;
    assert!(first.starts_with("scim_"));
    let expires = "2999-01-01T00:00:00Z";
    let second = d
        .admin(
            Method::POST,
            &format!("/tenants/{id}/tokens"),
            Some(json!({"description": "rotation", "expiresAt": expires})),
        )
        .await
        .expect(201);
    assert_eq!(
        second.headers.get("cache-control").unwrap(),
        "no-store",
        "a secret is never cached"
    );
    assert_eq!(second.body["expiresAt"], expires);
    for field in ["id", "token", "description", "createdAt", "expiresAt"] {
        assert!(second.body.get(field).is_some(), "{field}");
    }
    let listed = d
        .admin(Method::GET, &format!("/tenants/{id}/tokens"), None)
        .await
        .expect(200);
    let tokens = listed.body["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(tokens.iter().all(|t| t.get("token").is_none()));
    assert!(!listed.body.to_string().contains(&first[25..]), "no secret");
    assert!(tokens.iter().all(|t| t.get("lastUsedAt").is_some()));

    let token_id = second.str("id");
    d.admin(
        Method::DELETE,
        &format!("/tenants/{id}/tokens/{token_id}"),
        None,
    )
    .await
    .expect(204);
    d.admin(
        Method::DELETE,
        &format!("/tenants/{id}/tokens/{token_id}"),
        None,
    )
    .await
    .admin_error(404, "not_found");
    // Another tenant's token id is not found under this tenant.
    let (other, other_token) = d.tenant_with_token("Wingtip").await;
    let other_id = &other_token[5..25];
    d.admin(
        Method::DELETE,
        &format!("/tenants/{id}/tokens/{other_id}"),
        None,
    )
    .await
    .admin_error(404, "not_found");
    d.admin(Method::GET, &format!("/tenants/{other}/tokens"), None)
        .await
        .expect(200);

    // The cap on tokens per tenant.
    for _ in 1..MAX_TOKENS_PER_TENANT {
        d.admin(
            Method::POST,
            &format!("/tenants/{id}/tokens"),
            Some(json!({"description": "x"})),
        )
        .await
        .expect(201);
    }
    d.admin(
        Method::POST,
        &format!("/tenants/{id}/tokens"),
        Some(json!({"description": "one too many"})),
    )
    .await
    .admin_error(409, "limit_exceeded");
    d.admin(
        Method::POST,
        "/tenants/t_aaaaaaaaaaaaaaaaaaaa/tokens",
        Some(json!({"description": "x"})),
    )
    .await
    .admin_error(404, "not_found");
}

async fn bad_requests_get_admin_errors(d: &Deployment) {
    let (id, scim_token) = d.tenant_with_token("Litware").await;
    let rows: Vec<(Method, String, Option<serde_json::Value>, u16, &str)> = vec![
        (
            Method::POST,
            "/tenants".into(),
            Some(json!({})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/tenants".into(),
            Some(json!({"name": "  "})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/tenants".into(),
            Some(json!({"name": 5})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/tenants".into(),
            Some(json!(["x"])),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/tenants".into(),
            Some(json!({"name": "x", "nmae": "y"})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/tenants".into(),
            Some(json!({"name": "x", "requestsPerSecond": 0})),
            400,
            "invalid_request",
        ),
        (
            Method::GET,
            "/tenants?limit=0".into(),
            None,
            400,
            "invalid_request",
        ),
        (
            Method::GET,
            "/tenants?limit=x".into(),
            None,
            400,
            "invalid_request",
        ),
        (
            Method::GET,
            "/tenants?after=a%23b".into(),
            None,
            400,
            "invalid_request",
        ),
        (Method::GET, "/tenants/nope".into(), None, 404, "not_found"),
        (Method::GET, "/tenants/a%23b".into(), None, 404, "not_found"),
        (
            Method::PATCH,
            format!("/tenants/{id}"),
            Some(json!({"status": "deleting"})),
            400,
            "invalid_request",
        ),
        (
            Method::PATCH,
            format!("/tenants/{id}"),
            Some(json!({"status": "paused"})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("/tenants/{id}/tokens"),
            Some(json!({"expiresAt": "tomorrow"})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("/tenants/{id}/tokens"),
            Some(json!({"expiresAt": "2001-01-01T00:00:00Z"})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            format!("/tenants/{id}/tokens"),
            Some(json!({"description": "x".repeat(201)})),
            400,
            "invalid_request",
        ),
        (
            Method::PUT,
            "/tenants".into(),
            Some(json!({})),
            405,
            "method_not_allowed",
        ),
        (Method::GET, "/nothing".into(), None, 404, "not_found"),
    ];
    for (method, path, body, status, code) in rows {
        let r = d.admin(method.clone(), &path, body).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.body);
        r.admin_error(status, code);
    }
    let raw = |auth: Option<String>, content_type: &str, body: &str| {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri("/admin/v1/tenants")
            .header("content-type", content_type);
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.body(Body::from(body.to_string())).unwrap()
    };
    let admin = Some(format!("Bearer {ADMIN}"));
    send(&d.one, raw(admin.clone(), "text/plain", "{}"))
        .await
        .admin_error(415, "unsupported_media_type");
    send(&d.one, raw(admin.clone(), "application/json", "{nope"))
        .await
        .admin_error(400, "invalid_request");
    send(
        &d.one,
        raw(admin.clone(), "application/json", &"x".repeat(20_000)),
    )
    .await
    .admin_error(413, "payload_too_large");
    // No credential, a SCIM credential, or the default token: never an admin route.
    for auth in [
        None,
        Some(format!("Bearer {scim_token}")),
        Some(format!("Bearer {DEFAULT_TOKEN}")),
        Some(format!("Basic {ADMIN}")),
    ] {
        send(&d.one, raw(auth, "application/json", r#"{"name":"x"}"#))
            .await
            .admin_error(401, "unauthorized");
    }
    // And the admin credential never opens a SCIM route.
    d.scim(&d.one, ADMIN, Method::GET, "/scim/v2/Users", None)
        .await
        .scim_error(401);
}

#[tokio::test]
async fn without_an_admin_token_the_admin_api_is_off() {
    let tokens = Tokens::Static(StaticToken::new(&SecretString::from(DEFAULT_TOKEN)));
    let state = AppState::new(Service::new(MemoryStore::new()), tokens, "/scim/v2");
    let app = app(state.with_admin(AdminAuth::Off));
    for auth in ["", "Bearer anything"] {
        let r = Request::builder()
            .uri("/admin/v1/tenants")
            .header("authorization", auth)
            .body(Body::empty())
            .unwrap();
        send(&app, r).await.admin_error(404, "not_found");
    }
}

#[tokio::test]
async fn in_lambda_only_a_request_context_with_an_iam_caller_opens_the_admin_api() {
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::request::RequestContext;
    let tokens = Tokens::Static(StaticToken::new(&SecretString::from(DEFAULT_TOKEN)));
    let state = AppState::new(Service::new(MemoryStore::new()), tokens, "/scim/v2");
    let app = app(state.with_admin(AdminAuth::Iam));
    let context = |iam: serde_json::Value| {
        let mut ctx = json!({
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api", "requestId": "r", "routeKey": "ANY /admin/v1/{proxy+}",
            "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "GET", "path": "/admin/v1/tenants", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "test"},
        });
        if !iam.is_null() {
            ctx["authorizer"] = json!({"iam": iam});
        }
        let ctx: ApiGatewayV2httpRequestContext = serde_json::from_value(ctx).unwrap();
        RequestContext::ApiGatewayV2(ctx)
    };
    let rows = [
        (serde_json::Value::Null, 401),
        (json!({"accountId": "123456789012"}), 401),
        (
            json!({"accountId": "123456789012", "callerId": "AROAEXAMPLE:console",
                   "userArn": "arn:aws:sts::123456789012:assumed-role/console/session"}),
            200,
        ),
    ];
    for (iam, status) in rows {
        let mut r = Request::builder()
            .uri("/admin/v1/tenants")
            .body(Body::empty())
            .unwrap();
        r.extensions_mut().insert(context(iam.clone()));
        let reply = send(&app, r).await;
        assert_eq!(reply.status.as_u16(), status, "{iam}: {}", reply.body);
    }
    // A bearer token, even a correct-looking one, is not an IAM principal.
    let r = Request::builder()
        .uri("/admin/v1/tenants")
        .header("authorization", format!("Bearer {ADMIN}"))
        .body(Body::empty())
        .unwrap();
    send(&app, r).await.admin_error(401, "unauthorized");
}
