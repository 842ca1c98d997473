//! Every error a request can end in, mapped to a status and a SCIM Error body (RFC 7644
//! §3.12) in one exhaustive `match`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::AuthError;
use crate::scim;
use crate::scim::error::ScimType;
use crate::scim::urn;
use crate::service;
use crate::store::{Budget, Limit, StoreError};

/// Seconds a client is told to wait after a 503.
const RETRY_AFTER_SECS: u64 = 1;

/// An error response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Authentication failed (401, or 503 when the token store is down).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A use case failed.
    #[error(transparent)]
    Service(#[from] service::Error),
    /// The request itself is malformed (400s, 404 for unknown routes, 405, 413, 415).
    #[error(transparent)]
    Scim(#[from] scim::error::Error),
    /// The method is not allowed on this endpoint (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is larger than accepted (413).
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// The body is not JSON (415).
    #[error("unsupported content type")]
    UnsupportedMediaType,
}

/// Status, `scimType`, `detail`, and whether to add `Retry-After` / `WWW-Authenticate`.
struct Mapped {
    status: u16,
    scim_type: Option<ScimType>,
    detail: String,
    retry_after: bool,
    authenticate: bool,
}

impl Mapped {
    fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Mapped {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: false,
            authenticate: false,
        }
    }
    fn unavailable(detail: &str) -> Self {
        Mapped {
            retry_after: true,
            ..Mapped::new(503, None, detail)
        }
    }
    fn internal() -> Self {
        Mapped::new(500, None, "internal error; it has been logged")
    }
}

impl ApiError {
    fn map(&self) -> Mapped {
        match self {
            ApiError::Auth(AuthError::Missing | AuthError::Invalid) => Mapped {
                authenticate: true,
                ..Mapped::new(401, None, "a valid bearer token is required")
            },
            ApiError::Auth(AuthError::Unavailable(_)) => {
                Mapped::unavailable("the token store is unavailable; retry")
            }
            ApiError::Scim(e) => Mapped::new(e.status, e.scim_type, e.detail.clone()),
            ApiError::MethodNotAllowed => {
                Mapped::new(405, None, "method not allowed on this endpoint")
            }
            ApiError::PayloadTooLarge(n) => Mapped::new(
                413,
                None,
                format!("the request body is larger than {n} bytes"),
            ),
            ApiError::UnsupportedMediaType => Mapped::new(
                415,
                None,
                "request bodies must be application/scim+json or application/json",
            ),
            ApiError::Service(e) => map_service(e),
        }
    }
}

fn map_service(e: &service::Error) -> Mapped {
    match e {
        service::Error::Scim(e) => Mapped::new(e.status, e.scim_type, e.detail.clone()),
        service::Error::NotFound { kind, id } => {
            Mapped::new(404, None, format!("{} {id} not found", kind.name()))
        }
        service::Error::PreconditionFailed { current } => Mapped::new(
            412,
            None,
            format!("the resource has changed; its current version is W/\"{current}\""),
        ),
        service::Error::Contention => {
            Mapped::unavailable("the resource is being modified concurrently; retry")
        }
        service::Error::Store(e) => map_store(e),
    }
}

fn map_store(e: &StoreError) -> Mapped {
    match e {
        StoreError::Uniqueness { attribute } => Mapped::new(
            409,
            Some(ScimType::Uniqueness),
            format!("{attribute} is already in use (compared case-insensitively)"),
        ),
        StoreError::NotFound => Mapped::new(404, None, "resource not found"),
        StoreError::VersionMismatch { current } => Mapped::new(
            412,
            None,
            format!("the resource has changed; its current version is W/\"{current}\""),
        ),
        StoreError::MissingMember { id } => Mapped::new(
            400,
            Some(ScimType::InvalidValue),
            format!("member {id} is not an existing User"),
        ),
        StoreError::TooMany { budget } => {
            Mapped::new(400, Some(ScimType::TooMany), too_many(budget))
        }
        StoreError::TooLarge(limit) => {
            Mapped::new(400, Some(ScimType::InvalidValue), too_large(limit))
        }
        StoreError::Contention => {
            Mapped::unavailable("the resource is being modified concurrently; retry")
        }
        StoreError::Throttled { .. } => Mapped::unavailable("the directory store is busy; retry"),
        StoreError::Unavailable(_) => {
            Mapped::unavailable("the directory store is unavailable; retry")
        }
        StoreError::Internal(_) => Mapped::internal(),
    }
}

/// The client's sentence for a work budget the store ran out of.
fn too_many(budget: &Budget) -> String {
    match budget {
        Budget::Scan { items } => format!(
            "the query would examine more than {items} resources; use a more specific filter"
        ),
        Budget::Filter { bytes } => format!(
            "the filter would compare more than {bytes} bytes of values; use a more specific filter"
        ),
    }
}

/// The client's sentence for a documented limit a request went past.
fn too_large(limit: &Limit) -> String {
    let max = limit.max();
    match limit {
        Limit::Document { bytes } => {
            format!("the resource is {bytes} bytes as stored; at most {max} are accepted")
        }
        Limit::KeyValue { attribute, bytes } => {
            format!("{attribute} is {bytes} bytes long; at most {max} are accepted")
        }
        Limit::WorkEmails { count } => {
            format!("the user has {count} work emails; at most {max} are accepted")
        }
        Limit::Members { count } => format!(
            "the request changes {count} members; at most {max} per request are accepted \
             (see the Group schema's members attribute): send them in several requests"
        ),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let m = self.map();
        if m.status >= 500 {
            // The whole chain goes to the log; the client only sees the generic detail.
            tracing::error!(status = m.status, error = %error_chain(&self), "request failed");
        }
        let mut response = scim_error(m.status, m.scim_type, &m.detail);
        let headers = response.headers_mut();
        if m.authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        if m.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        response
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A SCIM Error response: `status` as a string, `scimType` when defined.
pub fn scim_error(status: u16, scim_type: Option<ScimType>, detail: &str) -> Response {
    let mut body = json!({"schemas": [urn::ERROR], "status": status.to_string(), "detail": detail});
    if let Some(t) = scim_type {
        body["scimType"] = t.as_str().into();
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    super::response::json(status, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ResourceKind;

    fn mapped(e: ApiError) -> (u16, Option<&'static str>, bool, bool) {
        let m = e.map();
        (
            m.status,
            m.scim_type.map(ScimType::as_str),
            m.retry_after,
            m.authenticate,
        )
    }

    #[test]
    fn every_error_maps_to_its_status() {
        let io = || -> crate::store::BoxError { "boom".into() };
        let rows: Vec<(&str, ApiError, (u16, Option<&str>, bool, bool))> = vec![
            (
                "missing_token",
                AuthError::Missing.into(),
                (401, None, false, true),
            ),
            (
                "bad_token",
                AuthError::Invalid.into(),
                (401, None, false, true),
            ),
            (
                "token_store_down",
                AuthError::Unavailable(io()).into(),
                (503, None, true, false),
            ),
            (
                "bad_filter",
                scim::error::Error::invalid_filter("x").into(),
                (400, Some("invalidFilter"), false, false),
            ),
            (
                "method",
                ApiError::MethodNotAllowed,
                (405, None, false, false),
            ),
            (
                "too_large",
                ApiError::PayloadTooLarge(1),
                (413, None, false, false),
            ),
            (
                "media_type",
                ApiError::UnsupportedMediaType,
                (415, None, false, false),
            ),
            (
                "not_found",
                service::Error::NotFound {
                    kind: ResourceKind::User,
                    id: "x".into(),
                }
                .into(),
                (404, None, false, false),
            ),
            (
                "precondition",
                service::Error::PreconditionFailed { current: 2 }.into(),
                (412, None, false, false),
            ),
            (
                "contention",
                service::Error::Contention.into(),
                (503, None, true, false),
            ),
            (
                "service_scim",
                service::Error::Scim(scim::error::Error::no_target("x")).into(),
                (400, Some("noTarget"), false, false),
            ),
            (
                "uniqueness",
                service::Error::Store(StoreError::Uniqueness {
                    attribute: "userName",
                })
                .into(),
                (409, Some("uniqueness"), false, false),
            ),
            (
                "store_not_found",
                service::Error::Store(StoreError::NotFound).into(),
                (404, None, false, false),
            ),
            (
                "store_version",
                service::Error::Store(StoreError::VersionMismatch { current: 1 }).into(),
                (412, None, false, false),
            ),
            (
                "missing_member",
                service::Error::Store(StoreError::MissingMember { id: "u".into() }).into(),
                (400, Some("invalidValue"), false, false),
            ),
            (
                "too_many",
                service::Error::Store(StoreError::TooMany {
                    budget: Budget::Scan { items: 1 },
                })
                .into(),
                (400, Some("tooMany"), false, false),
            ),
            (
                "throttled",
                service::Error::Store(StoreError::Throttled {
                    retry_after_secs: 1,
                })
                .into(),
                (503, None, true, false),
            ),
            (
                "unavailable",
                service::Error::Store(StoreError::Unavailable(io())).into(),
                (503, None, true, false),
            ),
            (
                "internal",
                service::Error::Store(StoreError::Internal(io())).into(),
                (500, None, false, false),
            ),
        ];
        for (name, e, expected) in rows {
            assert_eq!(mapped(e), expected, "{name}");
        }
    }

    #[test]
    fn internal_errors_do_not_leak_details() {
        let e: ApiError =
            service::Error::Store(StoreError::Internal("secret table name".into())).into();
        assert!(!e.map().detail.contains("secret"));
    }
}
