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
use crate::service::{Budget, Limit};

/// Seconds a client is told to wait after a 503.
const RETRY_AFTER_SECS: u64 = 1;

/// An error response: authentication, a use case, or the request itself. Nothing else
/// reaches HTTP; in particular no store type (the service translated those).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Authentication failed (401, or 503 when the token store is down).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A use case failed.
    #[error(transparent)]
    Service(#[from] service::Error),
    /// The request itself is malformed or misdirected.
    #[error(transparent)]
    Request(#[from] RequestError),
}

/// What is wrong with a request before any use case runs.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// A query parameter or the body breaks the protocol (400s), or no endpoint has the path
    /// (404).
    #[error(transparent)]
    Protocol(#[from] scim::error::Error),
    /// The method is not allowed on this endpoint (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is larger than accepted (413).
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// The body is not JSON (415).
    #[error("unsupported content type")]
    UnsupportedMediaType,
    /// The tenant used up its request cap on this instance (429); retry after this many seconds.
    #[error("too many requests")]
    RateLimited(u64),
}

impl From<scim::error::Error> for ApiError {
    fn from(e: scim::error::Error) -> Self {
        ApiError::Request(RequestError::Protocol(e))
    }
}

/// The class of a failed request, put on the response as an extension so the request log
/// and the metrics count each class (a lost write race apart from an outage) without
/// parsing bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 401.
    Unauthenticated,
    /// A 4xx the client must fix.
    Client,
    /// 503: concurrent writers kept winning.
    Contention,
    /// 503: a dependency is throttling or down.
    Unavailable,
    /// 500: a bug.
    Internal,
}

impl ErrorClass {
    /// The metric and log name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Unauthenticated => "unauthenticated",
            ErrorClass::Client => "client",
            ErrorClass::Contention => "contention",
            ErrorClass::Unavailable => "unavailable",
            ErrorClass::Internal => "internal",
        }
    }
}

/// Status, `scimType`, `detail`, class, and whether to add `Retry-After` / `WWW-Authenticate`.
struct Mapped {
    status: u16,
    scim_type: Option<ScimType>,
    detail: String,
    class: ErrorClass,
    retry_after: Option<u64>,
    authenticate: bool,
}

impl Mapped {
    fn client(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Mapped {
            status,
            scim_type,
            detail: detail.into(),
            class: ErrorClass::Client,
            retry_after: None,
            authenticate: false,
        }
    }
    fn protocol(e: &scim::error::Error) -> Self {
        Mapped::client(e.status, e.scim_type, e.detail.clone())
    }
    fn retry(class: ErrorClass, detail: &str) -> Self {
        Mapped {
            class,
            retry_after: Some(RETRY_AFTER_SECS),
            ..Mapped::client(503, None, detail)
        }
    }
    fn internal() -> Self {
        Mapped {
            class: ErrorClass::Internal,
            ..Mapped::client(500, None, "internal error; it has been logged")
        }
    }
}

impl ApiError {
    /// The one table from errors to responses.
    fn map(&self) -> Mapped {
        use service::Error as S;
        match self {
            ApiError::Auth(AuthError::Missing | AuthError::Invalid) => Mapped {
                class: ErrorClass::Unauthenticated,
                authenticate: true,
                ..Mapped::client(401, None, "a valid bearer token is required")
            },
            ApiError::Auth(AuthError::Unavailable(_)) => Mapped::retry(
                ErrorClass::Unavailable,
                "the token store is unavailable; retry",
            ),
            ApiError::Request(RequestError::Protocol(e)) | ApiError::Service(S::Scim(e)) => {
                Mapped::protocol(e)
            }
            ApiError::Request(RequestError::MethodNotAllowed) => {
                Mapped::client(405, None, "method not allowed on this endpoint")
            }
            ApiError::Request(RequestError::PayloadTooLarge(n)) => Mapped::client(
                413,
                None,
                format!("the request body is larger than {n} bytes"),
            ),
            ApiError::Request(RequestError::UnsupportedMediaType) => Mapped::client(
                415,
                None,
                "request bodies must be application/scim+json or application/json",
            ),
            ApiError::Request(RequestError::RateLimited(secs)) => Mapped {
                retry_after: Some(*secs),
                ..Mapped::client(
                    429,
                    None,
                    "this tenant is sending more requests per second than it may; retry later",
                )
            },
            ApiError::Service(S::NotFound { kind, id }) => {
                Mapped::client(404, None, format!("{} {id} not found", kind.name()))
            }
            ApiError::Service(S::PreconditionFailed { current }) => Mapped::client(
                412,
                None,
                format!("the resource has changed; its current version is W/\"{current}\""),
            ),
            ApiError::Service(S::Conflict { attribute }) => Mapped::client(
                409,
                Some(ScimType::Uniqueness),
                format!("{attribute} is already in use (compared case-insensitively)"),
            ),
            ApiError::Service(S::MissingMember { id }) => Mapped::client(
                400,
                Some(ScimType::InvalidValue),
                format!("member {id} is not an existing User"),
            ),
            ApiError::Service(S::TooMany(budget)) => {
                Mapped::client(400, Some(ScimType::TooMany), too_many(budget))
            }
            ApiError::Service(S::TooLarge(limit)) => {
                Mapped::client(400, Some(ScimType::InvalidValue), too_large(limit))
            }
            ApiError::Service(S::Contention) => Mapped::retry(
                ErrorClass::Contention,
                "the resource is being modified concurrently; retry",
            ),
            ApiError::Service(S::Unavailable(_)) => Mapped::retry(
                ErrorClass::Unavailable,
                "the directory store is unavailable; retry",
            ),
            ApiError::Service(S::Internal(_)) => Mapped::internal(),
        }
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
        Limit::TenantTokens { count } => {
            format!("the tenant holds {count} tokens; at most {max} are allowed")
        }
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
        response.extensions_mut().insert(m.class);
        let headers = response.headers_mut();
        if m.authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        if let Some(secs) = m.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
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
            m.retry_after.is_some(),
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
                RequestError::MethodNotAllowed.into(),
                (405, None, false, false),
            ),
            (
                "too_large",
                RequestError::PayloadTooLarge(1).into(),
                (413, None, false, false),
            ),
            (
                "media_type",
                RequestError::UnsupportedMediaType.into(),
                (415, None, false, false),
            ),
            (
                "rate_limited",
                RequestError::RateLimited(2).into(),
                (429, None, true, false),
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
                "conflict",
                service::Error::Conflict {
                    attribute: "userName",
                }
                .into(),
                (409, Some("uniqueness"), false, false),
            ),
            (
                "missing_member",
                service::Error::MissingMember { id: "u".into() }.into(),
                (400, Some("invalidValue"), false, false),
            ),
            (
                "too_many",
                service::Error::TooMany(Budget::Scan { items: 10 }).into(),
                (400, Some("tooMany"), false, false),
            ),
            (
                "too_large",
                service::Error::TooLarge(Limit::Members { count: 1001 }).into(),
                (400, Some("invalidValue"), false, false),
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
                "unavailable",
                service::Error::Unavailable(io()).into(),
                (503, None, true, false),
            ),
            (
                "internal",
                service::Error::Internal(io()).into(),
                (500, None, false, false),
            ),
        ];
        for (name, e, expected) in rows {
            assert_eq!(mapped(e), expected, "{name}");
        }
    }

    #[test]
    fn contention_is_its_own_class() {
        let contention: ApiError = service::Error::Contention.into();
        let outage: ApiError = service::Error::Unavailable("down".into()).into();
        assert_eq!(contention.map().class, ErrorClass::Contention);
        assert_eq!(outage.map().class, ErrorClass::Unavailable);
    }

    #[test]
    fn internal_errors_do_not_leak_details() {
        let e: ApiError = service::Error::Internal("secret table name".into()).into();
        assert!(!e.map().detail.contains("secret"));
    }
}
