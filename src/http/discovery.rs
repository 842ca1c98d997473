//! Discovery endpoints and the server-root `/.search`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use super::error::ApiError;
use super::extract::{BaseUrl, ScimJson};
use super::response;
use super::state::AppState;
use crate::scim::discovery;
use crate::scim::error::Error as ScimError;
use crate::scim::list::{ListParams, ListResponse};
use crate::scim::schema::ResourceKind;
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

/// `POST /.search` (RFC 7644 §3.4.3) over Users then Groups: the page is taken from the
/// concatenation of both result lists, so totals and indexes stay consistent.
async fn search_all<S: Store>(
    State(state): State<AppState<S>>,
    BaseUrl(base): BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    let params = ListParams::from_search_request(&body)?;
    if params.cursor.is_some() {
        // A cursor names a position in one resource type's id order; the root search
        // concatenates two listings and pages them by index only.
        return Err(ScimError::invalid_value(
            "cursor paging is supported on /Users/.search and /Groups/.search, not /.search",
        )
        .into());
    }
    let mut total = 0;
    let mut rendered = Vec::new();
    let mut skip = params.start_index.get() - 1;
    for kind in ResourceKind::ALL {
        let want = params.count.saturating_sub(rendered.len());
        let start = std::num::NonZeroU64::new(skip + 1).unwrap_or(std::num::NonZeroU64::MIN);
        let page = ListParams {
            start_index: start,
            count: want,
            ..params.clone()
        };
        let listed = state.service.list(kind, &page).await?;
        total += listed.total;
        skip = skip.saturating_sub(listed.total);
        rendered.extend(
            listed
                .resources
                .iter()
                .map(|r| r.to_json(&base, &params.projection)),
        );
    }
    Ok(response::json(
        StatusCode::OK,
        &ListResponse::new(total, params.start_index, rendered),
    ))
}
