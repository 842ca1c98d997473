//! Discovery endpoints and the server-root `/.search`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use super::error::ApiError;
use super::extract::{BaseUrl, Caller, ScimJson};
use super::resources::list_response;
use super::response;
use super::state::AppState;
use crate::scim::discovery;
use crate::scim::error::Error as ScimError;
use crate::scim::list::ListParams;
use crate::store::Store;

/// `/ServiceProviderConfig`, `/ResourceTypes[/{name}]`, `/Schemas[/{urn}]`, `/.search`.
pub fn router<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(|BaseUrl(b): BaseUrl| async move {
                response::json(StatusCode::OK, &discovery::service_provider_config(&b))
            }),
        )
        .route(
            "/ResourceTypes",
            get(|BaseUrl(b): BaseUrl| async move {
                response::json(StatusCode::OK, &discovery::resource_types(&b))
            }),
        )
        .route(
            "/ResourceTypes/{name}",
            get(|BaseUrl(b): BaseUrl, Path(name): Path<String>| async move {
                found(
                    discovery::find_resource_type(&name, &b),
                    "resource type",
                    &name,
                )
            }),
        )
        .route(
            "/Schemas",
            get(|BaseUrl(b): BaseUrl| async move {
                response::json(StatusCode::OK, &discovery::schemas(&b))
            }),
        )
        .route(
            "/Schemas/{urn}",
            get(|BaseUrl(b): BaseUrl, Path(urn): Path<String>| async move {
                found(discovery::find_schema(&urn, &b), "schema", &urn)
            }),
        )
        .route("/.search", post(search_all::<S>))
}

fn found(doc: Option<serde_json::Value>, what: &str, name: &str) -> Result<Response, ApiError> {
    match doc {
        Some(d) => Ok(response::json(StatusCode::OK, &d)),
        None => Err(ScimError::not_found(format!("no {what} named {name}")).into()),
    }
}

/// `POST /.search` (RFC 7644 §3.4.3) across every resource type.
async fn search_all<S: Store>(
    State(state): State<AppState<S>>,
    Caller(caller): Caller,
    BaseUrl(base): BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let params = ListParams::from_search_request(&body)?;
    let page = state.service.search(&caller.tenant, &params).await?;
    list_response(page, &params, &base)
}
