//! The "null" SCIM server: the same HTTP stack as `scim-lambda` (axum on hyper, Tokio's
//! multi-threaded runtime, one listener) answering the load generator's requests from hash maps
//! with canned JSON, and doing none of the SCIM work (no schema, filter grammar, PATCH, index
//! keys, versions or logging). Its throughput is the ceiling the load report compares with.
//!
//! `SCIM_LISTEN=127.0.0.1:8081 SCIM_TOKEN=t cargo run --release --example null_server`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

#[derive(Default)]
struct Kind {
    docs: HashMap<String, Bytes>,
    by_key: HashMap<String, String>,
}

struct Db {
    token: String,
    users: RwLock<Kind>,
    groups: RwLock<Kind>,
}

type S = State<Arc<Db>>;

fn scim(status: StatusCode, body: Bytes) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/scim+json")],
        body,
    )
        .into_response()
}

fn authorised(db: &Db, h: &HeaderMap) -> bool {
    h.get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == db.token)
}

/// The quoted value of `attr eq "value"`.
fn eq_value(query: Option<String>) -> Option<String> {
    let q = query?;
    let filter = form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "filter")?
        .1;
    let (_, v) = filter.split_once(" eq ")?;
    Some(v.trim_matches('"').to_ascii_lowercase())
}

fn list(kind: &RwLock<Kind>, query: Option<String>) -> Response {
    let kind = kind.read().unwrap();
    let hit = eq_value(query)
        .and_then(|v| kind.by_key.get(&v))
        .and_then(|id| kind.docs.get(id));
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(
        br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":"#,
    );
    match hit {
        Some(doc) => {
            out.extend_from_slice(br#"1,"itemsPerPage":1,"startIndex":1,"Resources":["#);
            out.extend_from_slice(doc);
            out.extend_from_slice(b"]}");
        }
        None => out.extend_from_slice(br#"0,"itemsPerPage":0,"startIndex":1,"Resources":[]}"#),
    }
    scim(StatusCode::OK, out.into())
}

fn create(kind: &RwLock<Kind>, body: &[u8], keys: &[&str]) -> Response {
    let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(body) else {
        return scim(StatusCode::BAD_REQUEST, Bytes::from_static(b"{}"));
    };
    let id = uuid::Uuid::new_v4().to_string();
    doc.insert("id".into(), id.clone().into());
    let bytes = Bytes::from(serde_json::to_vec(&doc).unwrap());
    let mut kind = kind.write().unwrap();
    for k in keys {
        if let Some(v) = doc.get(*k).and_then(Value::as_str) {
            kind.by_key.insert(v.to_ascii_lowercase(), id.clone());
        }
    }
    kind.docs.insert(id, bytes.clone());
    scim(StatusCode::CREATED, bytes)
}

fn fetch(kind: &RwLock<Kind>, id: &str) -> Response {
    match kind.read().unwrap().docs.get(id) {
        Some(doc) => scim(StatusCode::OK, doc.clone()),
        None => scim(StatusCode::NOT_FOUND, Bytes::from_static(b"{}")),
    }
}

macro_rules! guard {
    ($db:expr, $h:expr) => {
        if !authorised(&$db, &$h) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    };
}

#[tokio::main]
async fn main() {
    let db = Arc::new(Db {
        token: std::env::var("SCIM_TOKEN").unwrap_or_default(),
        users: RwLock::default(),
        groups: RwLock::default(),
    });
    let scim_routes = Router::new()
        .route(
            "/Users",
            get(|State(db): S, h: HeaderMap, RawQuery(q): RawQuery| async move {
                guard!(db, h);
                list(&db.users, q)
            })
            .post(|State(db): S, h: HeaderMap, body: Bytes| async move {
                guard!(db, h);
                create(&db.users, &body, &["userName", "externalId"])
            }),
        )
        .route(
            "/Users/{id}",
            get(|State(db): S, h: HeaderMap, Path(id): Path<String>| async move {
                guard!(db, h);
                fetch(&db.users, &id)
            })
            .patch(
                |State(db): S, h: HeaderMap, Path(id): Path<String>, _b: Bytes| async move {
                    guard!(db, h);
                    fetch(&db.users, &id)
                },
            ),
        )
        .route(
            "/Groups",
            get(|State(db): S, h: HeaderMap, RawQuery(q): RawQuery| async move {
                guard!(db, h);
                list(&db.groups, q)
            })
            .post(|State(db): S, h: HeaderMap, body: Bytes| async move {
                guard!(db, h);
                create(&db.groups, &body, &["displayName"])
            }),
        )
        .route(
            "/Groups/{id}",
            get(|State(db): S, h: HeaderMap, Path(id): Path<String>| async move {
                guard!(db, h);
                fetch(&db.groups, &id)
            })
            .patch(|State(db): S, h: HeaderMap, _b: Bytes| async move {
                guard!(db, h);
                StatusCode::NO_CONTENT.into_response()
            }),
        )
        .route(
            "/ServiceProviderConfig",
            get(|| async { scim(StatusCode::OK, Bytes::from_static(br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]}"#)) }),
        )
        .with_state(db);
    let app = Router::new().nest("/scim/v2", scim_routes);
    let addr = std::env::var("SCIM_LISTEN").unwrap_or_else(|_| "127.0.0.1:8081".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
