//! `/Users` and `/Groups`: the same handlers, parameterised by the resource kind.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use super::error::ApiError;
use super::extract::{BaseUrl, ListQuery, Preconditions, ProjectionQuery, ScimJson};
use super::response;
use super::state::AppState;
use crate::scim::list::{ListParams, ListResponse};
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceKind;
use crate::service::{ListPage, Resource};
use crate::store::Store;

type Result<T> = std::result::Result<T, ApiError>;

/// The routes of one resource kind, relative to the base path.
pub fn router<S: Store>(kind: ResourceKind) -> Router<AppState<S>> {
    let collection = format!("/{}", kind.endpoint());
    let search_path = format!("/{}/.search", kind.endpoint());
    let item = format!("/{}/{{id}}", kind.endpoint());
    Router::new()
        .route(
            &collection,
            get(move |s, b, q| list::<S>(kind, s, b, q))
                .post(move |s, b, q, p, body| create::<S>(kind, s, b, q, p, body)),
        )
        .route(
            &search_path,
            post(move |s, b, body| search::<S>(kind, s, b, body)),
        )
        .route(
            &item,
            get(move |s, id, b, q, p| read::<S>(kind, s, id, b, q, p))
                .put(move |s, id, b, q, p, body| replace::<S>(kind, s, id, b, q, p, body))
                .patch(move |s, id, b, q, p, body| patch::<S>(kind, s, id, b, q, p, body))
                .delete(move |s, id, p| delete::<S>(kind, s, id, p)),
        )
}

/// Renders a page of resources as a ListResponse: with `startIndex` in index paging, with
/// `nextCursor` (absent on the last page) in cursor paging.
pub fn list_response(page: &ListPage, params: &ListParams, base: &str) -> Response {
    let rendered = page
        .resources
        .iter()
        .map(|r| r.to_json(base, &params.projection))
        .collect();
    let body = match params.cursor {
        None => ListResponse::new(page.total, params.start_index, rendered),
        Some(_) => ListResponse::cursor_page(page.total, rendered, page.next_cursor.clone()),
    };
    response::json(StatusCode::OK, &body)
}

async fn list<S: Store>(
    kind: ResourceKind,
    State(state): State<AppState<S>>,
    BaseUrl(base): BaseUrl,
    ListQuery(params): ListQuery,
) -> Result<Response> {
    let page = state.service.list(kind, &params).await?;
    Ok(list_response(&page, &params, &base))
}

async fn search<S: Store>(
    kind: ResourceKind,
    State(state): State<AppState<S>>,
    BaseUrl(base): BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<Response> {
    let params = ListParams::from_search_request(&body)?;
    let page = state.service.list(kind, &params).await?;
    Ok(list_response(&page, &params, &base))
}

fn written(
    status: StatusCode,
    r: &Resource,
    base: &str,
    projection: &Projection,
    location: bool,
    minimal: bool,
) -> Response {
    let loc = r.location(base);
    if minimal {
        return response::empty(StatusCode::NO_CONTENT, Some(&r.etag()));
    }
    let body = r.to_json(base, projection);
    response::resource(status, &body, &r.etag(), location.then_some(loc.as_str()))
}

async fn create<S: Store>(
    kind: ResourceKind,
    State(state): State<AppState<S>>,
    BaseUrl(base): BaseUrl,
    ProjectionQuery(projection): ProjectionQuery,
    pre: Preconditions,
    ScimJson(body): ScimJson,
) -> Result<Response> {
    let created = state.service.create(kind, &body).await?;
    Ok(written(
        StatusCode::CREATED,
        &created,
        &base,
        &projection,
        true,
        pre.minimal,
    ))
}

async fn read<S: Store>(
    kind: ResourceKind,
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    ProjectionQuery(projection): ProjectionQuery,
    pre: Preconditions,
) -> Result<Response> {
    let r = state.service.get(kind, &id, &projection).await?;
    if pre.if_none_match.is_some_and(|m| m.matches(r.version)) {
        return Ok(response::empty(StatusCode::NOT_MODIFIED, Some(&r.etag())));
    }
    Ok(response::resource(
        StatusCode::OK,
        &r.to_json(&base, &projection),
        &r.etag(),
        None,
    ))
}

async fn replace<S: Store>(
    kind: ResourceKind,
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    ProjectionQuery(projection): ProjectionQuery,
    pre: Preconditions,
    ScimJson(body): ScimJson,
) -> Result<Response> {
    let r = state
        .service
        .replace(kind, &id, &body, pre.if_match.as_ref(), &projection)
        .await?;
    Ok(written(
        StatusCode::OK,
        &r,
        &base,
        &projection,
        false,
        pre.minimal,
    ))
}

/// A user PATCH answers with the user (Entra's validator reads it); a group PATCH answers 204
/// unless the client asks for a body with `attributes`/`excludedAttributes`, because its
/// member list can be large and Entra never reads it back.
async fn patch<S: Store>(
    kind: ResourceKind,
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    BaseUrl(base): BaseUrl,
    ProjectionQuery(projection): ProjectionQuery,
    pre: Preconditions,
    ScimJson(body): ScimJson,
) -> Result<Response> {
    let wants_body = kind == ResourceKind::User || projection.is_requested();
    // Without a body to render, the group's members are not loaded at all.
    let effective = if wants_body {
        projection.clone()
    } else {
        Projection::parse(None, Some("members"))?
    };
    let r = state
        .service
        .patch(kind, &id, &body, pre.if_match.as_ref(), &effective)
        .await?;
    Ok(written(
        StatusCode::OK,
        &r,
        &base,
        &projection,
        false,
        pre.minimal || !wants_body,
    ))
}

async fn delete<S: Store>(
    kind: ResourceKind,
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    pre: Preconditions,
) -> Result<Response> {
    state
        .service
        .delete(kind, &id, pre.if_match.as_ref())
        .await?;
    Ok(response::empty(StatusCode::NO_CONTENT, None))
}
