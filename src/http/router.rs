//! Composing the routers under the base path, with auth, logging and SCIM fallbacks.

use axum::Router;
use axum::middleware::from_fn_with_state;

use super::error::{ApiError, RequestError};
use super::normalize::NormalizePath;
use super::state::AppState;
use super::{admin, auth, discovery, log, resources};
use crate::scim::error::Error as ScimError;
use crate::scim::schema::ResourceKind;
use crate::store::Store;

/// The complete application: the router behind the path normaliser. `axum::serve` and
/// `lambda_http::run` both serve it; tests call it with `oneshot`.
pub type App = NormalizePath<Router>;

/// Builds the application over `state`.
pub fn app<S: Store>(state: AppState<S>) -> App {
    app_with(state, Router::new(), Router::new())
}

/// Builds the application with `public_extra` routes outside the base path (the OAuth token
/// endpoint and its metadata) and `admin_extra` routes under `/admin/v1`, behind the admin
/// credential (OAuth clients and federated credentials).
pub fn app_with<S: Store>(
    state: AppState<S>,
    public_extra: Router<AppState<S>>,
    admin_extra: Router,
) -> App {
    let base = state.base_path.to_string();
    let log_state = state.clone();
    let admin_state = state.clone();
    let scim = Router::new()
        .merge(resources::router::<S>(ResourceKind::User))
        .merge(resources::router::<S>(ResourceKind::Group))
        .merge(discovery::router::<S>())
        .method_not_allowed_fallback(|| async { ApiError::from(RequestError::MethodNotAllowed) })
        // Unknown paths under the base are still authenticated first: an anonymous caller
        // learns nothing about which endpoints exist.
        .fallback(|| async { ApiError::from(ScimError::not_found("no such endpoint")) })
        .layer(from_fn_with_state(state.clone(), auth::require_bearer::<S>))
        .with_state(state.clone());
    let router = Router::new()
        .nest(&base, scim)
        // Outside the SCIM base path, with its own credential and error format.
        .nest(admin::ADMIN_BASE, admin::router(admin_state, admin_extra))
        .merge(public_extra.with_state(log_state.clone()))
        .fallback(|| async { ApiError::from(ScimError::not_found("no such endpoint")) })
        .layer(from_fn_with_state(log_state, log::log_request::<S>));
    NormalizePath::new(router, &base)
}
