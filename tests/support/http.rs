//! Requests built the way clients send them, answers read back with their body parsed, and
//! the assertions every route family's error format gets.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, request};
use http_body_util::BodyExt;
use scim_lambda::App;
use scim_lambda::scim::urn;
use serde_json::Value;
use tower::ServiceExt;

/// An answer, its body parsed as JSON (`Null` when empty, a string when it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A string field of the body (empty when absent).
    pub fn str(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_default().to_string()
    }

    /// The `id` of a returned resource.
    #[track_caller]
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
            .to_string()
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts a SCIM error (RFC 7644 §3.12) with this status and `scimType`.
    #[track_caller]
    pub fn expect_error(self, status: u16, scim_type: Option<&str>) -> Self {
        let r = self.scim_error(status);
        assert_eq!(r.body["scimType"].as_str(), scim_type, "{}", r.body);
        assert!(
            r.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{}",
            r.body
        );
        assert_eq!(r.header("content-type"), Some(urn::MEDIA_TYPE));
        r
    }

    /// Asserts a SCIM error with this status, whatever its `scimType`.
    #[track_caller]
    pub fn scim_error(self, status: u16) -> Self {
        let r = self.expect(status);
        assert_eq!(r.body["schemas"][0], urn::ERROR, "{}", r.body);
        assert_eq!(
            r.body["status"],
            status.to_string(),
            "status is a string: {}",
            r.body
        );
        r
    }

    /// Asserts an admin API error: `{"error", "message"}` as `application/json`, never SCIM.
    #[track_caller]
    pub fn admin_error(self, status: u16, code: &str) -> Self {
        let r = self.expect(status);
        assert_eq!(r.body["error"], code, "{}", r.body);
        assert!(
            r.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            r.body
        );
        assert!(
            r.body.get("schemas").is_none(),
            "never a SCIM error: {}",
            r.body
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        r
    }

    /// Asserts an RFC 6749 error, never cached.
    #[track_caller]
    pub fn oauth_error(self, status: u16, code: &str) -> Self {
        let r = self.expect(status);
        assert_eq!(r.body["error"], code, "{}", r.body);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        r
    }
}

/// A request builder with the bearer `token`, if any.
pub fn builder(method: Method, uri: &str, token: Option<&str>) -> request::Builder {
    let b = Request::builder().method(method).uri(uri);
    match token {
        Some(t) => b.header("authorization", format!("Bearer {t}")),
        None => b,
    }
}

/// Finishes `b` with a JSON body as SCIM clients send it (`application/scim+json`), or none.
#[track_caller]
pub fn with_body(b: request::Builder, body: Option<&Value>) -> Request<Body> {
    finish(b, body, urn::MEDIA_TYPE)
}

/// Finishes `b` with a JSON body as the admin API takes it (`application/json`), or none.
#[track_caller]
pub fn with_json(b: request::Builder, body: Option<&Value>) -> Request<Body> {
    finish(b, body, "application/json")
}

#[track_caller]
fn finish(b: request::Builder, body: Option<&Value>, content_type: &str) -> Request<Body> {
    match body {
        Some(v) => b
            .header("content-type", content_type)
            .body(Body::from(v.to_string())),
        None => b.body(Body::empty()),
    }
    .unwrap_or_else(|e| panic!("request: {e}"))
}

/// A request with the bearer `token`, if any, and a JSON body, if any.
#[track_caller]
pub fn request(
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Request<Body> {
    with_body(builder(method, uri, token), body)
}

/// Sends `request` through the router in process and reads the whole answer.
pub async fn send(app: &App, request: Request<Body>) -> Reply {
    let response = match app.clone().oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("body: {e}"))
        .to_bytes();
    Reply {
        status,
        headers,
        body: parse(&bytes),
    }
}

/// A body as JSON: `Null` when empty, a string when it is not JSON.
pub fn parse(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into()))
    }
}

/// URL-encodes a query value (a filter, a cursor).
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
