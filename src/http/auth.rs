//! The bearer-token layer over every SCIM route.
//!
//! It logs the outcome, never the header: the token is a credential for a whole directory.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use super::error::ApiError;
use super::state::AppState;
use crate::auth::AuthError;
use crate::auth::access::looks_like_jwt;
use crate::store::Store;

/// Longest `Authorization` value considered; longer ones are rejected before any hashing.
const MAX_AUTHORIZATION_LEN: usize = 4096;

/// Rejects requests without a valid `Authorization: Bearer <token>`, and hands the verified
/// [`Principal`](crate::auth::Principal) to the handlers as a request extension.
///
/// # Errors
/// 401 for a missing or wrong token, 503 when the token source is unreachable.
pub async fn require_bearer<S: Store>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = bearer(&request)?;
    let verified = match &state.access {
        Some(access) if looks_like_jwt(token) => access.authenticate(token).await,
        _ => state.tokens.authenticate(token).await,
    };
    match verified {
        Ok(principal) => {
            let mut request = request;
            request.extensions_mut().insert(principal);
            Ok(next.run(request).await)
        }
        Err(e) => {
            match &e {
                AuthError::Unavailable(source) => {
                    tracing::error!(error = %source, "token source unavailable");
                }
                _ => tracing::warn!(reason = %e, "authentication failed"),
            }
            Err(e.into())
        }
    }
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
