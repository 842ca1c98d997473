//! The resource endpoints (`/Users`, `/Groups`): one set of handlers, mounted once per resource
//! type with the type as a request extension.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};

use super::error::ApiError;
use super::extract::{BaseUrl, ListQuery, Preconditions, ProjectionQuery, ScimJson, Scope};
use super::response;
use super::state::AppState;
use crate::scim::list::{ListParams, ListResponse};
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::service::{Error as ServiceError, ListPage, Resource, Written};
use crate::store::Store;

type Result<T> = std::result::Result<T, ApiError>;

/// The routes of one resource type, relative to the base path.
pub fn router<S: Store>(kind: ResourceKind) -> Router<AppState<S>> {
    let endpoint = kind.endpoint();
    Router::new()
        .route(&format!("/{endpoint}"), get(list::<S>).post(create::<S>))
        .route(&format!("/{endpoint}/.search"), post(search::<S>))
        .route(
            &format!("/{endpoint}/{{id}}"),
            get(read::<S>)
                .put(replace::<S>)
                .patch(patch::<S>)
                .delete(delete::<S>),
        )
        .layer(Extension(kind))
}

/// Renders a page of resources as a ListResponse: with `startIndex` in index paging, with
/// `nextCursor` (absent on the last page) in cursor paging.
pub fn list_response(page: ListPage, params: &ListParams, base: &str) -> Result<Response> {
    let rendered = page
        .resources
        .into_iter()
        .map(|r| r.render(base, &params.projection))
        .collect::<std::result::Result<Vec<_>, ServiceError>>()?;
    let body = match params.cursor {
        None => ListResponse::new(page.total, params.start_index, rendered),
        Some(_) => ListResponse::cursor_page(page.total, rendered, page.next_cursor),
    };
    let bytes = body
        .to_json()
        .map_err(|e| ServiceError::Internal(Box::new(e)))?;
    Ok(response::json_text(StatusCode::OK, bytes))
}

async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Scope { kind, tenant }: Scope,
    BaseUrl(base): BaseUrl,
    ListQuery(params): ListQuery,
) -> Result<Response> {
    let page = state.service.list(&tenant, kind, &params).await?;
    list_response(page, &params, &base)
}

async fn search<S: Store>(
    State(state): State<AppState<S>>,
    Scope { kind, tenant }: Scope,
    BaseUrl(base): BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<Response> {
    let params = ListParams::from_search_request(&body)?;
    let page = state.service.list(&tenant, kind, &params).await?;
    list_response(page, &params, &base)
}

/// How a write is answered: `Location` only for a create; `Prefer: return=minimal` (or a
/// write the service answers without a body) gives 204 with the `ETag`.
#[derive(Clone, Copy)]
enum Answer {
    Created,
    Updated,
}

fn written(
    answer: Answer,
    written: Written,
    base: &str,
    projection: &Projection,
    minimal: bool,
) -> Result<Response> {
    let r = match written {
        Written::Resource(r) if !minimal => r,
        Written::Resource(r) => {
            return Ok(response::empty(StatusCode::NO_CONTENT, Some(&r.etag())));
        }
        Written::Version(v) => {
            return Ok(response::empty(
                StatusCode::NO_CONTENT,
                Some(&Resource::etag_of(v)),
            ));
        }
    };
    let etag = r.etag();
    let (status, location) = match answer {
        Answer::Created => (StatusCode::CREATED, Some(r.location(base))),
        Answer::Updated => (StatusCode::OK, None),
    };
    let body = r.render(base, projection)?;
    Ok(response::resource(status, body, &etag, location.as_deref()))
}

async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Scope { kind, tenant }: Scope,
    BaseUrl(base): BaseUrl,
    ProjectionQuery(projection): ProjectionQuery,
    pre: Preconditions,
    ScimJson(body): ScimJson,
) -> Result<Response> {
    let created = state.service.create(&tenant, kind, &body).await?;
    written(
        Answer::Created,
        Written::Resource(created),
        &base,
        &projection,
        pre.minimal,
    )
}

async fn read<S: Store>(
    State(state): State<AppState<S>>,
    Scope { kind, tenant }: Scope,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    ProjectionQuery(projection): ProjectionQuery,
    pre: Preconditions,
) -> Result<Response> {
    let r = state.service.get(&tenant, kind, &id, &projection).await?;
    let etag = r.etag();
    if pre.if_none_match.is_some_and(|m| m.matches(r.version)) {
        return Ok(response::empty(StatusCode::NOT_MODIFIED, Some(&etag)));
    }
    let body = r.render(&base, &projection)?;
    Ok(response::resource(StatusCode::OK, body, &etag, None))
}

async fn replace<S: Store>(
    State(state): State<AppState<S>>,
    Scope { kind, tenant }: Scope,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    ProjectionQuery(projection): ProjectionQuery,
    pre: Preconditions,
    ScimJson(body): ScimJson,
) -> Result<Response> {
    let r = state
        .service
        .replace(
            &tenant,
            kind,
            &id,
            &body,
            pre.if_match.as_ref(),
            &projection,
        )
        .await?;
    written(
        Answer::Updated,
        Written::Resource(r),
        &base,
        &projection,
        pre.minimal,
    )
}

async fn patch<S: Store>(
    State(state): State<AppState<S>>,
    Scope { kind, tenant }: Scope,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    ProjectionQuery(projection): ProjectionQuery,
    pre: Preconditions,
    ScimJson(body): ScimJson,
) -> Result<Response> {
    let w = state
        .service
        .patch(
            &tenant,
            kind,
            &id,
            &body,
            pre.if_match.as_ref(),
            &projection,
        )
        .await?;
    written(Answer::Updated, w, &base, &projection, pre.minimal)
}

async fn delete<S: Store>(
    State(state): State<AppState<S>>,
    Scope { kind, tenant }: Scope,
    Path(id): Path<String>,
    pre: Preconditions,
) -> Result<Response> {
    state
        .service
        .delete(&tenant, kind, &id, pre.if_match.as_ref())
        .await?;
    Ok(response::empty(StatusCode::NO_CONTENT, None))
}
