//! The bearer-token layer over every SCIM route.
//!
//! It logs the outcome, never the header: the token is a credential for a whole directory.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use axum::response::IntoResponse;

use super::error::{ApiError, RequestError};
use super::normalize::MountPrefix;
use super::state::AppState;
use crate::auth::access::looks_like_jwt;
use crate::auth::cache::Verified;
use crate::auth::{AuthError, Principal};
use crate::store::Store;

/// Longest `Authorization` value considered; longer ones are rejected before any hashing.
const MAX_AUTHORIZATION_LEN: usize = 4096;

/// Rejects requests without a valid `Authorization: Bearer <token>`, and hands the verified
/// [`Principal`](crate::auth::Principal) to the handlers as a request extension (and to the
/// request log as a response extension).
///
/// A per-tenant URL (`/tenants/<id>/scim/v2`) serves only that tenant's tokens; the shared base
/// URL serves any. Then the tenant's request cap applies.
pub async fn require_bearer<S: Store>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let token = match bearer(&request) {
        Ok(t) => t,
        Err(e) => return refused(e),
    };
    let store = state.service.store();
    // An OAuth access token (a JWT) is verified in memory, without a store read; anything else
    // is a tenant token of the registry or the single-tenant token.
    let verified = match &state.access {
        Some(access) if looks_like_jwt(token) => {
            access.authenticate(token).await.map(|principal| Verified {
                principal,
                requests_per_second: None,
                registered: true,
            })
        }
        _ => {
            state
                .tenancy
                .authenticate(store, &state.tokens, token)
                .await
        }
    };
    let verified = match verified {
        Ok(v) => v,
        Err(e) => return refused(e),
    };
    let principal = verified.principal.clone();
    if url_tenant(&request).is_some_and(|t| t != principal.tenant.as_str()) {
        tracing::warn!(tenant = %principal.tenant, "a token used on another tenant's URL");
        return tagged(
            ApiError::from(AuthError::Invalid).into_response(),
            &principal,
        );
    }
    if let Err(secs) = state.tenancy.admit(&verified) {
        tracing::warn!(tenant = %principal.tenant, "tenant over its request cap");
        return tagged(
            ApiError::from(RequestError::RateLimited(secs)).into_response(),
            &principal,
        );
    }
    state.tenancy.seen(store, &verified).await;
    let mut request = request;
    request.extensions_mut().insert(principal.clone());
    tagged(next.run(request).await, &principal)
}

fn refused(e: AuthError) -> Response {
    match &e {
        AuthError::Unavailable(source) => {
            tracing::error!(error = %source, "token source unavailable");
        }
        _ => tracing::warn!(reason = %e, "authentication failed"),
    }
    ApiError::from(e).into_response()
}

fn tagged(mut response: Response, principal: &Principal) -> Response {
    response.extensions_mut().insert(principal.clone());
    response
}

/// The tenant a per-tenant URL names: the mount prefix ends in `/tenants/<id>`.
fn url_tenant(request: &Request) -> Option<&str> {
    let prefix = &request.extensions().get::<MountPrefix>()?.0;
    let mut segments = prefix.rsplit('/');
    let id = segments.next()?;
    (segments.next() == Some("tenants")).then_some(id)
}

fn bearer(request: &Request) -> Result<&str, AuthError> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?;
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(AuthError::Invalid);
    }
    let value = value.to_str().map_err(|_| AuthError::Invalid)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    let token = token.trim();
    if token.is_empty() {
        Err(AuthError::Invalid)
    } else {
        Ok(token)
    }
}
