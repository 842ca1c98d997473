//! Building SCIM responses: `application/scim+json`, `ETag`, `Location`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;

use crate::scim::urn;

/// A JSON response with the SCIM media type.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = match serde_json::to_vec(body) {
        Ok(b) => b,
        // The bodies given here are `Value`s and derived `Serialize` types without maps keyed
        // by non-strings, which serde_json always serialises; should one ever fail, answer a
        // valid SCIM error rather than an empty body.
        Err(_) => br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"internal error"}"#.to_vec(),
    };
    json_text(status, bytes)
}

/// A response with the SCIM media type whose JSON is already written.
pub fn json_text(status: StatusCode, bytes: impl Into<Body>) -> Response {
    let mut response = Response::new(bytes.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(urn::MEDIA_TYPE),
    );
    response
}

/// A resource response, its JSON rendered ([`crate::service::Resource::render`]), with its
/// `ETag` (and `Location` for a create).
pub fn resource(status: StatusCode, body: String, etag: &str, location: Option<&str>) -> Response {
    let mut response = json_text(status, body);
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, v);
    }
    if let Some(v) = location.and_then(|l| HeaderValue::from_str(l).ok()) {
        headers.insert(header::LOCATION, v);
    }
    response
}

/// A bodiless response (204, 304), optionally with an `ETag`.
pub fn empty(status: StatusCode, etag: Option<&str>) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    if let Some(v) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}
