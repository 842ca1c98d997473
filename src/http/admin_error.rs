//! The admin API's errors: `{"error": "<code>", "message": "<text>"}` with the right status,
//! never a SCIM error, mapped in one table.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::tenancy::admin::AdminError;

/// Everything an admin request can end in.
#[derive(Debug, thiserror::Error)]
pub enum AdminApiError {
    /// No admin credential, or not the right one (401).
    #[error("admin credentials are required")]
    Unauthorized,
    /// The admin API is off (no `SCIM_ADMIN_TOKEN` on a local server), or no such route (404).
    #[error("no such endpoint")]
    NoEndpoint,
    /// The method is not allowed on the route (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is not JSON (415).
    #[error("request bodies must be application/json")]
    UnsupportedMediaType,
    /// The body is too large (413).
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// The body or a parameter is malformed (400).
    #[error("{0}")]
    Invalid(String),
    /// A use case failed.
    #[error(transparent)]
    Admin(#[from] AdminError),
}

impl AdminApiError {
    /// Status, `error` code and `message`.
    fn map(&self) -> (StatusCode, &'static str, String) {
        use AdminError as A;
        let msg = self.to_string();
        match self {
            AdminApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", msg),
            AdminApiError::NoEndpoint => (StatusCode::NOT_FOUND, "not_found", msg),
            AdminApiError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", msg)
            }
            AdminApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                msg,
            ),
            AdminApiError::PayloadTooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", msg)
            }
            AdminApiError::Invalid(_) | AdminApiError::Admin(A::Invalid(_)) => {
                (StatusCode::BAD_REQUEST, "invalid_request", msg)
            }
            AdminApiError::Admin(A::NotFound(_)) => (StatusCode::NOT_FOUND, "not_found", msg),
            AdminApiError::Admin(A::NameTaken) => (StatusCode::CONFLICT, "name_taken", msg),
            AdminApiError::Admin(A::Limit(_)) => (StatusCode::CONFLICT, "limit_exceeded", msg),
            AdminApiError::Admin(A::Unavailable(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the registry is unavailable; retry".into(),
            ),
            AdminApiError::Admin(A::Internal(_)) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; it has been logged".into(),
            ),
        }
    }
}

impl IntoResponse for AdminApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.map();
        if status.is_server_error() {
            let mut chain = self.to_string();
            let mut source = std::error::Error::source(&self);
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            tracing::error!(status = status.as_u16(), error = %chain, "admin request failed");
        }
        let mut response = json_response(status, &json!({"error": code, "message": message}));
        let headers = response.headers_mut();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(1u32));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"admin\""),
            );
        }
        response
    }
}

/// An `application/json` response.
pub fn json_response<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body)
        .unwrap_or_else(|_| br#"{"error":"internal","message":"internal error"}"#.to_vec());
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_admin_error_has_its_status_and_code() {
        let rows: Vec<(AdminApiError, u16, &str)> = vec![
            (AdminApiError::Unauthorized, 401, "unauthorized"),
            (AdminApiError::NoEndpoint, 404, "not_found"),
            (AdminApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (
                AdminApiError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (AdminApiError::PayloadTooLarge(1), 413, "payload_too_large"),
            (AdminApiError::Invalid("x".into()), 400, "invalid_request"),
            (
                AdminError::Invalid("x".into()).into(),
                400,
                "invalid_request",
            ),
            (AdminError::NotFound("tenant").into(), 404, "not_found"),
            (AdminError::NameTaken.into(), 409, "name_taken"),
            (
                AdminError::Limit(crate::store::Limit::TenantTokens { count: 20 }).into(),
                409,
                "limit_exceeded",
            ),
            (
                AdminError::Unavailable("down".into()).into(),
                503,
                "unavailable",
            ),
            (
                AdminError::Internal("secret detail".into()).into(),
                500,
                "internal",
            ),
        ];
        for (e, status, code) in rows {
            let (s, c, m) = e.map();
            assert_eq!((s.as_u16(), c), (status, code), "{e:?}");
            assert!(!m.contains("secret"), "{m}");
        }
    }
}
