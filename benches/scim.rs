//! Micro-benchmarks of the pure protocol and of one request through the router.
//!
//! ```sh
//! CARGO_TARGET_DIR=... cargo bench --bench scim                    # release profile (LTO)
//! cargo bench --profile bench-fast --bench scim -- --quick          # quicker, for iterating
//! ```
//!
//! Each benchmark's name says what one operation is; criterion prints time per operation.
//! `docs/performance.md` keeps the table of figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use scim_lambda::auth::{StaticToken, TokenDigest};
use scim_lambda::clock::SystemClock;
use scim_lambda::http::admin::AdminAuth;
use scim_lambda::scim::filter::{Filter, matches};
use scim_lambda::scim::patch::PatchRequest;
use scim_lambda::scim::path::{AttrPath, PatchPath};
use scim_lambda::scim::projection::Projection;
use scim_lambda::scim::schema::ResourceKind;
use scim_lambda::service::{Resource, Service};
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::store::{Document, Members};
use scim_lambda::tenancy::Tenancy;
use scim_lambda::{App, AppState, Tokens, app};
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "bench-token-0123456789";

/// The four lookups Entra makes on every object, and one filter exercising every construct.
const FILTERS: &[(&str, &str)] = &[
    ("userName", r#"userName eq "alice@contoso.com""#),
    (
        "externalId",
        r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7e1e3e2c9a11""#,
    ),
    (
        "workEmail",
        r#"emails[type eq "work"].value eq "alice@contoso.com""#,
    ),
    ("displayName", r#"displayName eq "Sales""#),
    (
        "complex",
        r#"(userName sw "ali" or name.familyName co "mit") and active eq true and not (title pr) and emails[type eq "work" and value ew "@contoso.com"] and meta.lastModified gt "2020-01-01T00:00:00Z""#,
    ),
];

fn user_doc() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7e1e3e2c9a11",
        "userName": "alice@contoso.com",
        "active": true,
        "displayName": "Alice Smith",
        "emails": [{"primary": true, "type": "work", "value": "alice@contoso.com"}],
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "E1", "department": "Sales"
        },
        "meta": {
            "resourceType": "User",
            "created": "2024-01-01T00:00:00Z",
            "lastModified": "2024-01-01T00:00:00Z",
            "version": "W/\"1\""
        }
    })
}

fn group_doc() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Sales",
        "externalId": "g-1",
        "meta": {
            "resourceType": "Group",
            "created": "2024-01-01T00:00:00Z",
            "lastModified": "2024-01-01T00:00:00Z",
            "version": "W/\"1\""
        }
    })
}

fn uuid(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn filters(c: &mut Criterion) {
    let user = user_doc();
    let group = group_doc();
    for (name, text) in FILTERS {
        c.bench_function(&format!("filter/parse/{name}"), |b| {
            b.iter(|| Filter::parse(black_box(text)).unwrap())
        });
        let parsed = Filter::parse(text).unwrap();
        let (kind, doc) = if *name == "displayName" {
            (ResourceKind::Group, &group)
        } else {
            (ResourceKind::User, &user)
        };
        c.bench_function(&format!("filter/eval/{name}"), |b| {
            b.iter(|| matches(black_box(&parsed), kind, black_box(doc)))
        });
    }
}

fn paths(c: &mut Criterion) {
    c.bench_function("path/attr/name.givenName", |b| {
        b.iter(|| AttrPath::parse(black_box("name.givenName")).unwrap())
    });
    c.bench_function("path/attr/enterprise-urn", |b| {
        b.iter(|| {
            AttrPath::parse(black_box(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            ))
            .unwrap()
        })
    });
    c.bench_function("path/patch/value-filter", |b| {
        b.iter(|| PatchPath::parse(black_box(r#"emails[type eq "work"].value"#)).unwrap())
    });
}

fn legacy_user_patch() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@contoso.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Jones"},
            {"op": "Replace", "path": "active", "value": "False"}
        ]
    })
}

fn compliant_user_patch() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "alice.jones@contoso.com"},
            {"op": "replace", "value": {
                "displayName": "Alice Jones",
                "name.givenName": "Alice",
                "name.familyName": "Jones",
                "active": false,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "E2"
            }}
        ]
    })
}

fn member_add(n: usize) -> Value {
    let members: Vec<Value> = (0..n).map(|i| json!({"value": uuid(i)})).collect();
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Add", "path": "members", "value": members}]
    })
}

fn patches(c: &mut Criterion) {
    let user = user_doc();
    let group = group_doc();
    let cases = [
        (
            "legacy-user",
            legacy_user_patch(),
            ResourceKind::User,
            &user,
        ),
        (
            "compliant-user",
            compliant_user_patch(),
            ResourceKind::User,
            &user,
        ),
        (
            "add-50-members",
            member_add(50),
            ResourceKind::Group,
            &group,
        ),
    ];
    for (name, body, kind, doc) in cases {
        c.bench_function(&format!("patch/parse/{name}"), |b| {
            b.iter(|| PatchRequest::parse(black_box(&body)).unwrap())
        });
        let request = PatchRequest::parse(&body).unwrap();
        c.bench_function(&format!("patch/apply/{name}"), |b| {
            b.iter_batched(
                || doc.clone(),
                |d| request.apply(kind, d).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
}

fn serialise(c: &mut Criterion) {
    let base = "https://scim.example.com/scim/v2";
    let user = Resource {
        kind: ResourceKind::User,
        id: "2819c223-7f76-453a-919d-413861904646".into(),
        version: 1,
        doc: user_doc().into(),
        members: None,
        groups: None,
    };
    let group = Resource {
        kind: ResourceKind::Group,
        id: "e9e30dba-f08f-4109-8486-d5c6a331660a".into(),
        version: 1,
        doc: group_doc().into(),
        members: Some(Members {
            ids: (0..100).map(uuid).collect(),
            truncated: false,
        }),
        groups: None,
    };
    let all = Projection::default();
    let attrs = Projection::parse(Some("userName,emails,name.familyName"), None).unwrap();
    let no_members = Projection::parse(None, Some("members")).unwrap();
    c.bench_function("to_json/user/default", |b| {
        b.iter_batched(
            || user.clone(),
            |r| r.render(base, &all).unwrap(),
            BatchSize::SmallInput,
        )
    });
    c.bench_function(
        "to_json/user/attributes=userName,emails,name.familyName",
        |b| {
            b.iter_batched(
                || user.clone(),
                |r| r.render(base, &attrs).unwrap(),
                BatchSize::SmallInput,
            )
        },
    );
    // The embedded store's reads: the document as its stored text, rendered without a tree.
    let stored = Resource {
        doc: Document::Text(user_doc().to_string().into()),
        ..user.clone()
    };
    c.bench_function("to_json/user/default/stored-text", |b| {
        b.iter_batched(
            || stored.clone(),
            |r| r.render(base, &all).unwrap(),
            BatchSize::SmallInput,
        )
    });
    c.bench_function(
        "to_json/user/attributes=userName,emails,name.familyName/stored-text",
        |b| {
            b.iter_batched(
                || stored.clone(),
                |r| r.render(base, &attrs).unwrap(),
                BatchSize::SmallInput,
            )
        },
    );
    c.bench_function("to_json/group-100-members/default", |b| {
        b.iter_batched(
            || group.clone(),
            |r| r.render(base, &all).unwrap(),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("to_json/group/excludedAttributes=members", |b| {
        let mut g = group.clone();
        g.members = None;
        b.iter_batched(
            || g.clone(),
            |r| r.render(base, &no_members).unwrap(),
            BatchSize::SmallInput,
        )
    });
}

fn test_app() -> App {
    let service = Arc::new(Service::new(MemoryStore::new()));
    let tokens = Tokens::Static(StaticToken::new(&SecretString::from(TOKEN)));
    app(AppState::new_shared(service, tokens, "/scim/v2"))
}

fn request(method: &str, uri: &str, body: Option<&Value>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("host", "scim.example.com");
    if body.is_some() {
        b = b.header("content-type", "application/scim+json");
    }
    b.body(body.map_or_else(Body::empty, |v| Body::from(v.to_string())))
        .unwrap()
}

async fn send(app: &App, req: Request<Body>) -> (u16, bytes::Bytes) {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

fn router(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = test_app();
    // A tenant with 1,000 users, so lookups hit a populated index.
    let mut ids = Vec::new();
    rt.block_on(async {
        for i in 0..1000 {
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("user{i}@contoso.com"),
                "externalId": format!("ext-{i}"),
                "active": true,
                "name": {"givenName": "U", "familyName": format!("F{i}")},
                "emails": [{"type": "work", "value": format!("user{i}@contoso.com"), "primary": true}]
            });
            let (s, b) = send(&app, request("POST", "/scim/v2/Users", Some(&body))).await;
            assert_eq!(s, 201);
            let v: Value = serde_json::from_slice(&b).unwrap();
            ids.push(v["id"].as_str().unwrap().to_string());
        }
    });
    let lookup = format!(
        "/scim/v2/Users?filter={}",
        form_urlencoded::byte_serialize(br#"userName eq "user500@contoso.com""#)
            .collect::<String>()
    );
    c.bench_function("router/GET userName eq (hit, 1k users)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (s, body) = send(&app, request("GET", &lookup, None)).await;
                assert_eq!(s, 200);
                body
            })
        })
    });
    let miss = format!(
        "/scim/v2/Users?filter={}",
        form_urlencoded::byte_serialize(br#"userName eq "nobody@contoso.com""#).collect::<String>()
    );
    c.bench_function("router/GET userName eq (miss)", |b| {
        b.iter(|| rt.block_on(async { send(&app, request("GET", &miss, None)).await }))
    });
    let by_id = format!("/scim/v2/Users/{}", ids[7]);
    c.bench_function("router/GET /Users/{id}", |b| {
        b.iter(|| rt.block_on(async { send(&app, request("GET", &by_id, None)).await }))
    });
    // Alternating family names so every PATCH writes a new version.
    let patch_uri = format!("/scim/v2/Users/{}", ids[9]);
    let bodies = [
        legacy_user_patch(),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "Replace", "path": "name.familyName", "value": "Smith"},
                              {"op": "Replace", "path": "active", "value": "True"}]}),
    ];
    let mut n = 0usize;
    c.bench_function("router/PATCH user legacy (writes)", |b| {
        b.iter(|| {
            n += 1;
            let body = &bodies[n % 2];
            rt.block_on(async {
                let (s, _) = send(&app, request("PATCH", &patch_uri, Some(body))).await;
                assert_eq!(s, 200);
            })
        })
    });
    let mut i = 0usize;
    c.bench_function("router/POST /Users (create)", |b| {
        b.iter(|| {
            i += 1;
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("bench{i}@contoso.com"),
                "externalId": format!("bext-{i}"),
                "active": true,
                "name": {"givenName": "B", "familyName": "F"},
                "emails": [{"type": "work", "value": format!("bench{i}@contoso.com"), "primary": true}]
            });
            rt.block_on(async {
                let (s, _) = send(&app, request("POST", "/scim/v2/Users", Some(&body))).await;
                assert_eq!(s, 201);
            })
        })
    });
}

/// What authenticating costs per request: the single-tenant token, a tenant token found in the
/// per-instance cache (no store read), one read from the store (the cache forgotten before each
/// request: in DynamoDB this is the one consistent `GetItem`), and an unknown tenant token
/// (one read, refused, never cached).
fn tenant_tokens(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let service = Arc::new(Service::new(MemoryStore::new()));
    let tokens = Tokens::Static(StaticToken::new(&SecretString::from(TOKEN)));
    // A cap far above what one thread can send: the figures measure authentication, not 429s.
    let tenancy = Tenancy::new(Arc::new(SystemClock), u32::MAX);
    let state = AppState::new_shared(service, tokens, "/scim/v2")
        .with_tenancy(tenancy)
        .with_admin(AdminAuth::Token(TokenDigest::of("bench-admin").unwrap()));
    let tenancy = Arc::clone(&state.tenancy);
    let app = app(state);
    let admin = |method: &str, uri: &str, body: Value| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", "Bearer bench-admin")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let (tenant, token) = rt.block_on(async {
        let (_, b) = send(
            &app,
            admin("POST", "/admin/v1/tenants", json!({"name": "Bench"})),
        )
        .await;
        let t: Value = serde_json::from_slice(&b).unwrap();
        let id = t["id"].as_str().unwrap().to_string();
        let (_, b) = send(
            &app,
            admin("POST", &format!("/admin/v1/tenants/{id}/tokens"), json!({})),
        )
        .await;
        let k: Value = serde_json::from_slice(&b).unwrap();
        (id, k["token"].as_str().unwrap().to_string())
    });
    let token_id = token[5..25].to_string();
    let probe = |token: &str| {
        Request::builder()
            .uri("/scim/v2/ServiceProviderConfig")
            .header("authorization", format!("Bearer {token}"))
            .header("host", "scim.example.com")
            .body(Body::empty())
            .unwrap()
    };
    let _ = tenant;
    c.bench_function("auth/single-tenant token", |b| {
        b.iter(|| rt.block_on(async { assert_eq!(send(&app, probe(TOKEN)).await.0, 200) }))
    });
    c.bench_function("auth/tenant token, cached (no store read)", |b| {
        b.iter(|| rt.block_on(async { assert_eq!(send(&app, probe(&token)).await.0, 200) }))
    });
    c.bench_function("auth/tenant token, uncached (one read)", |b| {
        b.iter_batched(
            || tenancy.forget_token(&token_id),
            |()| rt.block_on(async { assert_eq!(send(&app, probe(&token)).await.0, 200) }),
            BatchSize::SmallInput,
        )
    });
    let unknown = format!("scim_{}_{}", "a".repeat(20), "b".repeat(52));
    c.bench_function("auth/unknown tenant token (one read, 401)", |b| {
        b.iter(|| rt.block_on(async { assert_eq!(send(&app, probe(&unknown)).await.0, 401) }))
    });
}

criterion_group!(
    benches,
    filters,
    paths,
    patches,
    serialise,
    router,
    tenant_tokens
);
criterion_main!(benches);
