//! Extractors whose rejections are SCIM errors: the JSON body, the query string, the
//! preconditions and the request's base URL.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde_json::Value;

use super::error::{ApiError, RequestError};
use super::limits::MAX_BODY_BYTES;
use super::normalize::MountPrefix;
use super::state::AppState;
use crate::auth::{AuthError, Principal};
use crate::scim::compat::http::is_json_body;
use crate::scim::error::Error as ScimError;
use crate::scim::list::ListParams;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::service::ETagCondition;
use crate::store::Store;
use crate::tenant::TenantId;

/// A JSON request body, parsed with serde whatever the JSON media type (`lambda_http`'s own
/// `payload()` ignores `application/scim+json`).
///
/// A missing `Content-Type` is accepted: Entra's and others' traffic is not always labelled
/// (`compat::http::is_json_body`).
pub struct ScimJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(RequestError::UnsupportedMediaType.into());
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
            return Err(RequestError::PayloadTooLarge(MAX_BODY_BYTES).into());
        }
        let bytes = read_limited(req.into_body()).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ScimError::invalid_syntax("the request body is empty").into());
        }
        serde_json::from_slice(&bytes).map(ScimJson).map_err(|e| {
            ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")).into()
        })
    }
}

async fn read_limited(body: Body) -> Result<axum::body::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            if too_large {
                RequestError::PayloadTooLarge(MAX_BODY_BYTES).into()
            } else {
                ScimError::invalid_syntax("the request body could not be read").into()
            }
        })
}

/// The domain name API Gateway received the request on, from the Lambda request context.
fn gateway_domain(parts: &Parts) -> Option<&str> {
    use lambda_http::request::RequestContext;
    match parts.extensions.get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.domain_name.as_deref(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
    .filter(|d| is_host(d))
}

/// Whether a `Host` value is a plain host and optional port (no path, user info or spaces
/// that would change the URL built from it).
fn is_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// Whether the body is read as JSON (`compat::http::is_json_body`); a header that is not
/// text names no media type and is refused.
fn json_content_type(headers: &HeaderMap) -> bool {
    match headers.get(header::CONTENT_TYPE) {
        None => is_json_body(None),
        Some(value) => value.to_str().is_ok_and(|v| is_json_body(Some(v))),
    }
}

/// The raw query pairs, decoded.
fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    let query = parts.uri.query().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// `filter`, `attributes`, `sortBy`, `startIndex`, `count`, ... of a list request.
pub struct ListQuery(pub ListParams);

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pairs = query_pairs(parts);
        let params = ListParams::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        Ok(ListQuery(params))
    }
}

/// `attributes` / `excludedAttributes` of a single-resource request.
pub struct ProjectionQuery(pub Projection);

impl<S: Send + Sync> FromRequestParts<S> for ProjectionQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pairs = query_pairs(parts);
        let find = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        Ok(ProjectionQuery(Projection::parse(
            find("attributes"),
            find("excludedAttributes"),
        )?))
    }
}

/// The `If-Match`, `If-None-Match` and `Prefer` headers.
pub struct Preconditions {
    /// `If-Match`, for writes.
    pub if_match: Option<ETagCondition>,
    /// `If-None-Match`, for reads.
    pub if_none_match: Option<ETagCondition>,
    /// `Prefer: return=minimal` (RFC 7240): answer a write with 204.
    pub minimal: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Preconditions {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let get = |name: header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(ETagCondition::parse)
        };
        let minimal = parts
            .headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|p| p.trim().eq_ignore_ascii_case("return=minimal"))
            });
        Ok(Preconditions {
            if_match: get(header::IF_MATCH),
            if_none_match: get(header::IF_NONE_MATCH),
            minimal,
        })
    }
}

/// The caller, as the auth layer verified it ([`super::auth::require_bearer`] inserts it).
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Absent only on a route mounted without the auth layer: refuse rather than guess.
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or(ApiError::Auth(AuthError::Missing))
    }
}

/// What a resource handler acts on: the resource type its route was mounted for and the
/// caller's tenant.
pub struct Scope {
    /// The resource type (a request extension set by `resources::router`).
    pub kind: ResourceKind,
    /// The tenant of the verified caller.
    pub tenant: TenantId,
}

impl<S: Send + Sync> FromRequestParts<S> for Scope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Caller(caller) = Caller::from_request_parts(parts, state).await?;
        let kind = parts
            .extensions
            .get::<ResourceKind>()
            .copied()
            .ok_or_else(|| ScimError::not_found("no such endpoint"))?;
        Ok(Scope {
            kind,
            tenant: caller.tenant,
        })
    }
}

/// The base URL resources are addressed under, e.g. `https://host/stage/scim/v2`.
///
/// Never taken from headers a client controls unless configured to: `SCIM_PUBLIC_URL` first;
/// in Lambda, the API Gateway request context's domain name (API Gateway routed the request
/// by it); locally the `Host` header; `X-Forwarded-Host`/`-Proto` only behind a proxy the
/// operator trusts (`SCIM_TRUST_FORWARDED_HEADERS`). A forged forwarding header would
/// otherwise put an attacker's host into `Location` and `meta.location`.
pub struct BaseUrl(pub String);

impl<S: Store> FromRequestParts<AppState<S>> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState<S>,
    ) -> Result<Self, Self::Rejection> {
        if let Some(url) = &state.public_url {
            return Ok(BaseUrl(url.to_string()));
        }
        let prefix = parts
            .extensions
            .get::<MountPrefix>()
            .map_or("", |p| p.0.as_str());
        if let Some(domain) = gateway_domain(parts) {
            return Ok(BaseUrl(format!(
                "https://{domain}{prefix}{}",
                state.base_path
            )));
        }
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let forwarded = |name: &str| state.trust_forwarded.then(|| header(name)).flatten();
        let host = forwarded("x-forwarded-host")
            .or_else(|| header("host"))
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .filter(|h| is_host(h))
            .unwrap_or("localhost");
        let scheme = forwarded("x-forwarded-proto")
            .filter(|p| matches!(*p, "http" | "https"))
            .unwrap_or(
                if host.starts_with("127.0.0.1") || host.starts_with("localhost") {
                    "http"
                } else {
                    "https"
                },
            );
        Ok(BaseUrl(format!(
            "{scheme}://{host}{prefix}{}",
            state.base_path
        )))
    }
}
