//! The OAuth routes outside the SCIM base path: `POST /oauth2/token`, `GET
//! /.well-known/jwks.json` and `GET /.well-known/oauth-authorization-server`.
//!
//! The token route parses the form and the client authentication, calls the use case, and
//! answers RFC 6749 §5.1 or §5.2 with `Cache-Control: no-store`. Neither the body nor the
//! `Authorization` header is ever logged: they hold secrets and assertions.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, FromRequestParts, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::extract::BaseUrl;
use super::state::AppState;
use crate::oauth::assertion::JWT_BEARER;
use crate::oauth::{JWKS_PATH, METADATA_PATH, OAuthError, TOKEN_PATH, metadata};
use crate::oauth_server::AuthServer;
use crate::oauth_server::token::{ClientAuth, TokenRequest};
use crate::store::Store;
use crate::store::oauth::OAuthStore;

/// Largest token request body read.
pub const MAX_FORM_BYTES: usize = 32 * 1024;

/// The OAuth routes, for merging into the application router next to the SCIM base path.
pub fn oauth_router<S: Store, O: OAuthStore>(server: Arc<AuthServer<O>>) -> Router<AppState<S>> {
    Router::new()
        .route(TOKEN_PATH, post(token::<S, O>))
        .route(JWKS_PATH, get(jwks::<O>))
        .route(METADATA_PATH, get(authorization_server::<S, O>))
        .layer(Extension(server))
}

/// An RFC 6749 §5.2 error response.
struct OAuthResponse(OAuthError);

impl IntoResponse for OAuthResponse {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let body = json!({"error": e.code(), "error_description": e.to_string()});
        let mut response = json_response(status, &body);
        let headers = response.headers_mut();
        no_store(headers);
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"oauth\""),
            );
        }
        response
    }
}

/// A JSON response (`application/json`).
pub(super) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The request's origin (plus any stage prefix), from the same rules as SCIM URLs.
async fn origin<S: Store>(parts: &mut axum::http::request::Parts, state: &AppState<S>) -> String {
    let base = match BaseUrl::from_request_parts(parts, state).await {
        Ok(BaseUrl(b)) => b,
        Err(_) => String::new(),
    };
    base.strip_suffix(state.base_path.as_ref())
        .unwrap_or(&base)
        .trim_end_matches('/')
        .to_string()
}

async fn token<S: Store, O: OAuthStore>(
    axum::extract::State(state): axum::extract::State<AppState<S>>,
    Extension(server): Extension<Arc<AuthServer<O>>>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let origin = origin(&mut parts, &state).await;
    let parsed = match parse(&parts.headers, body).await {
        Ok(r) => r,
        Err(e) => return OAuthResponse(e).into_response(),
    };
    match server.token(parsed, &origin).await {
        Ok(issued) => {
            let body = json!({
                "access_token": issued.access_token.expose_secret(),
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
            });
            let mut response = json_response(StatusCode::OK, &body);
            no_store(response.headers_mut());
            response
        }
        Err(e) => {
            tracing::info!(error = e.code(), reason = %e, "token request refused");
            OAuthResponse(e).into_response()
        }
    }
}

/// Parses the form and the client authentication (RFC 6749 §2.3.1, §3.2, §4.4.2; RFC 7521
/// §4.2).
async fn parse(headers: &HeaderMap, body: Body) -> Result<TokenRequest, OAuthError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let bytes: Bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| OAuthError::InvalidRequest("the body is too large or unreadable"))?;
    let mut form: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(&bytes) {
        // §3.2: parameters must not be included more than once.
        if form.iter().any(|(seen, _)| *seen == k) {
            return Err(OAuthError::InvalidRequest("a parameter is repeated"));
        }
        form.push((k.into_owned(), v.into_owned()));
    }
    let mut take = |name: &str| {
        form.iter()
            .position(|(k, _)| k == name)
            .map(|i| form.swap_remove(i).1)
            .filter(|v| !v.is_empty())
    };
    let grant_type =
        take("grant_type").ok_or(OAuthError::InvalidRequest("grant_type is required"))?;
    let body_id = take("client_id");
    let body_secret = take("client_secret");
    let assertion_type = take("client_assertion_type");
    let assertion = take("client_assertion");
    let basic = basic_credentials(headers)?;
    let methods = usize::from(basic.is_some())
        + usize::from(body_secret.is_some())
        + usize::from(assertion.is_some());
    if methods > 1 {
        return Err(OAuthError::InvalidRequest(
            "use exactly one client authentication method",
        ));
    }
    let auth = match (basic, body_secret, assertion) {
        (Some((client_id, secret)), None, None) => {
            if body_id.as_ref().is_some_and(|b| *b != client_id) {
                return Err(OAuthError::InvalidRequest(
                    "client_id differs from the Basic credentials",
                ));
            }
            ClientAuth::Secret { client_id, secret }
        }
        (None, Some(secret), None) => ClientAuth::Secret {
            client_id: body_id.ok_or(OAuthError::InvalidRequest("client_id is required"))?,
            secret: SecretString::from(secret),
        },
        (None, None, Some(assertion)) => {
            if assertion_type.as_deref() != Some(JWT_BEARER) {
                return Err(OAuthError::InvalidRequest(
                    "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ));
            }
            ClientAuth::Assertion {
                client_id: body_id,
                assertion: SecretString::from(assertion),
            }
        }
        _ => {
            return Err(OAuthError::InvalidClient(
                "client authentication is required",
            ));
        }
    };
    Ok(TokenRequest { grant_type, auth })
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))`, when present.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, SecretString)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = OAuthError::InvalidClient("malformed Basic credentials");
    let value = value.to_str().map_err(|_| malformed.clone())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or(malformed.clone())?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::InvalidRequest(
            "only Basic authentication is accepted here",
        ));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(malformed.clone())?;
    let (id, secret) = decoded.split_once(':').ok_or(malformed)?;
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), SecretString::from(unescape(secret)))))
}

async fn jwks<O: OAuthStore>(Extension(server): Extension<Arc<AuthServer<O>>>) -> Response {
    let ring = server.keys.fresh(server.clock.now(), false).await;
    let mut response = json_response(StatusCode::OK, &ring.jwks());
    // Short enough that relying parties see a rotation soon; long enough to spare us.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

async fn authorization_server<S: Store, O: OAuthStore>(
    axum::extract::State(state): axum::extract::State<AppState<S>>,
    Extension(server): Extension<Arc<AuthServer<O>>>,
    request: Request,
) -> Response {
    let (mut parts, _) = request.into_parts();
    let origin = origin(&mut parts, &state).await;
    json_response(StatusCode::OK, &metadata(server.issuer_or(&origin)))
}
