//! The admin API under `/admin/v1`: tenants and their tokens, for a vendor's console.
//!
//! Authentication: in Lambda the API Gateway routes use IAM authorization, and the function
//! also refuses a request whose context names no IAM principal (a route misconfigured without
//! `AWS_IAM` stays closed); locally `Authorization: Bearer $SCIM_ADMIN_TOKEN`, and without that
//! variable the API is off (404). SCIM tokens never open these routes, nor this credential the
//! SCIM routes: each layer checks only its own kind of credential.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde_json::Value;

use super::admin_error::{AdminApiError, json_response};
use super::extract::BaseUrl;
use super::state::AppState;
use crate::auth::TokenDigest;
use crate::store::Store;
use crate::store::registry::{TenantPatch, TenantStatus};
use crate::tenancy::admin::{Admin, tenant_id};
use crate::tenancy::purge::{Progress, purge_tenant};

/// The admin API's path prefix.
pub const ADMIN_BASE: &str = "/admin/v1";
/// Largest admin request body.
const MAX_ADMIN_BODY: usize = 16 * 1024;

/// Who may call the admin API.
pub enum AdminAuth {
    /// Nobody: every admin route answers 404.
    Off,
    /// A local server: `Authorization: Bearer <token>` with this digest.
    Token(TokenDigest),
    /// Lambda: API Gateway verified a SigV4 signature; the context must name the IAM caller.
    Iam,
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AdminAuth::Off => "AdminAuth::Off",
            AdminAuth::Token(_) => "AdminAuth::Token([redacted])",
            AdminAuth::Iam => "AdminAuth::Iam",
        })
    }
}

/// Whether API Gateway's request context names an IAM caller.
fn iam_caller(request: &Request) -> bool {
    use lambda_http::request::RequestContext;
    match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .is_some_and(|iam| {
                iam.user_arn.as_deref().is_some_and(|a| !a.is_empty())
                    || iam.caller_id.as_deref().is_some_and(|c| !c.is_empty())
            }),
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

fn admin_bearer_ok(request: &Request, digest: &TokenDigest) -> bool {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .filter(|v| v.len() <= 4096)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, token)| digest.matches(token.trim()))
}

async fn require_admin<S: Store>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let allowed = match state.admin.as_ref() {
        AdminAuth::Off => return AdminApiError::NoEndpoint.into_response(),
        AdminAuth::Token(digest) => admin_bearer_ok(&request, digest),
        AdminAuth::Iam => iam_caller(&request),
    };
    if !allowed {
        tracing::warn!("admin request refused");
        return AdminApiError::Unauthorized.into_response();
    }
    next.run(request).await
}

/// The admin routes, to be nested at [`ADMIN_BASE`], with `extra` admin routes of other
/// concerns (OAuth clients, the change feed) behind the same credential check and fallbacks.
pub fn router<S: Store>(state: AppState<S>, extra: Router) -> Router {
    Router::new()
        .route("/tenants", get(list_tenants::<S>).post(create_tenant::<S>))
        .route(
            "/tenants/{id}",
            get(show_tenant::<S>)
                .patch(update_tenant::<S>)
                .delete(delete_tenant::<S>),
        )
        .route(
            "/tenants/{id}/tokens",
            get(list_tokens::<S>).post(create_token::<S>),
        )
        .route("/tenants/{id}/tokens/{token}", delete(revoke_token::<S>))
        .route("/tenants/{id}/events", get(tenant_events::<S>))
        .route(
            "/webhooks",
            get(list_webhooks::<S>).post(create_webhook::<S>),
        )
        .route("/webhooks/{id}", delete(delete_webhook::<S>))
        .with_state(state.clone())
        .merge(extra)
        .method_not_allowed_fallback(|| async { AdminApiError::MethodNotAllowed })
        .fallback(|| async { AdminApiError::NoEndpoint })
        .layer(from_fn_with_state(state, require_admin::<S>))
}

/// A JSON object body; admin errors for everything else.
struct AdminJson(serde_json::Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for AdminJson {
    type Rejection = AdminApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case("application/json"))
            });
        if !json {
            return Err(AdminApiError::UnsupportedMediaType);
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_ADMIN_BODY)
            .await
            .map_err(|_| AdminApiError::PayloadTooLarge(MAX_ADMIN_BODY))?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(AdminJson(map)),
            Ok(_) => Err(AdminApiError::Invalid(
                "the body must be a JSON object".into(),
            )),
            Err(e) => Err(AdminApiError::Invalid(format!(
                "the body is not valid JSON: {e}"
            ))),
        }
    }
}

impl AdminJson {
    /// Refuses fields the route does not know, so a typo is an error and not a no-op.
    fn only(&self, known: &[&str]) -> Result<(), AdminApiError> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(AdminApiError::Invalid(format!("unknown field {k:?}"))),
            None => Ok(()),
        }
    }

    fn string(&self, field: &str) -> Result<Option<&str>, AdminApiError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(AdminApiError::Invalid(format!("{field} must be a string"))),
        }
    }

    /// `requestsPerSecond`: absent (`None`), null (`Some(None)`: back to the default) or a number.
    fn rps(&self) -> Result<Option<Option<u32>>, AdminApiError> {
        match self.0.get("requestsPerSecond") {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(|n| Some(Some(n)))
                .ok_or_else(|| {
                    AdminApiError::Invalid("requestsPerSecond must be a positive integer".into())
                }),
        }
    }
}

fn admin<'a, S: Store>(state: &'a AppState<S>, base: &'a BaseUrl) -> Admin<'a, S> {
    Admin {
        store: state.service.store(),
        tenancy: &state.tenancy,
        base_url: &base.0,
        base_path: &state.base_path,
    }
}

type Ids = Result<Path<HashMap<String, String>>, PathRejection>;

fn path_id(ids: &Ids, name: &str) -> Result<String, AdminApiError> {
    ids.as_ref()
        .ok()
        .and_then(|Path(m)| m.get(name).cloned())
        .ok_or(AdminApiError::NoEndpoint)
}

async fn create_tenant<S: Store>(
    State(state): State<AppState<S>>,
    base: BaseUrl,
    body: AdminJson,
) -> Result<Response, AdminApiError> {
    body.only(&["name", "requestsPerSecond"])?;
    let name = body
        .string("name")?
        .ok_or_else(|| AdminApiError::Invalid("name is required".into()))?;
    let rps = body.rps()?.flatten();
    let tenant = admin(&state, &base).create_tenant(name, rps).await?;
    Ok(json_response(StatusCode::CREATED, &tenant))
}

async fn list_tenants<S: Store>(
    State(state): State<AppState<S>>,
    base: BaseUrl,
    request: Request,
) -> Result<Response, AdminApiError> {
    let query = request.uri().query().unwrap_or_default();
    let pairs: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let limit = pairs
        .get("limit")
        .map(|l| {
            l.parse::<usize>()
                .map_err(|_| AdminApiError::Invalid("limit must be a positive integer".into()))
        })
        .transpose()?;
    let after = pairs
        .get("after")
        .map(String::as_str)
        .filter(|a| !a.is_empty());
    let page = admin(&state, &base).list_tenants(after, limit).await?;
    Ok(json_response(StatusCode::OK, &page))
}

async fn show_tenant<S: Store>(
    State(state): State<AppState<S>>,
    base: BaseUrl,
    ids: Ids,
) -> Result<Response, AdminApiError> {
    let id = tenant_id(&path_id(&ids, "id")?)?;
    let detail = admin(&state, &base).show_tenant(&id).await?;
    Ok(json_response(StatusCode::OK, &detail))
}

async fn update_tenant<S: Store>(
    State(state): State<AppState<S>>,
    base: BaseUrl,
    ids: Ids,
    body: AdminJson,
) -> Result<Response, AdminApiError> {
    let id = tenant_id(&path_id(&ids, "id")?)?;
    body.only(&["name", "status", "requestsPerSecond"])?;
    let status = match body.string("status")? {
        None => None,
        Some("active") => Some(TenantStatus::Active),
        Some("disabled") => Some(TenantStatus::Disabled),
        Some(_) => {
            return Err(AdminApiError::Invalid(
                "status must be \"active\" or \"disabled\"".into(),
            ));
        }
    };
    let patch = TenantPatch {
        name: body.string("name")?.map(str::to_string),
        status,
        requests_per_second: body.rps()?,
    };
    let tenant = admin(&state, &base).update_tenant(&id, patch).await?;
    Ok(json_response(StatusCode::OK, &tenant))
}

async fn delete_tenant<S: Store>(
    State(state): State<AppState<S>>,
    base: BaseUrl,
    ids: Ids,
) -> Result<Response, AdminApiError> {
    let id = tenant_id(&path_id(&ids, "id")?)?;
    admin(&state, &base).delete_tenant(&id).await?;
    if state.tenancy.background_purge() {
        // A local server keeps running after the response; in Lambda the schedule purges.
        let service = Arc::clone(&state.service);
        tokio::spawn(async move {
            match purge_tenant(service.store(), &id, usize::MAX).await {
                Ok(Progress::Done) => tracing::info!(tenant = %id, "tenant purged"),
                Ok(Progress::More) => {}
                Err(e) => {
                    tracing::warn!(tenant = %id, error = %e, "purge stopped; it resumes on the next run")
                }
            }
        });
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn create_token<S: Store>(
    State(state): State<AppState<S>>,
    base: BaseUrl,
    ids: Ids,
    body: AdminJson,
) -> Result<Response, AdminApiError> {
    let id = tenant_id(&path_id(&ids, "id")?)?;
    body.only(&["description", "expiresAt"])?;
    let description = body.string("description")?.unwrap_or_default();
    let expires_at = body.string("expiresAt")?;
    let created = admin(&state, &base)
        .create_token(&id, description, expires_at)
        .await?;
    let mut response = json_response(StatusCode::CREATED, &created);
    // The secret is in this body only: no cache may keep it.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

async fn list_tokens<S: Store>(
    State(state): State<AppState<S>>,
    base: BaseUrl,
    ids: Ids,
) -> Result<Response, AdminApiError> {
    let id = tenant_id(&path_id(&ids, "id")?)?;
    let tokens = admin(&state, &base).list_tokens(&id).await?;
    Ok(json_response(StatusCode::OK, &tokens))
}

async fn revoke_token<S: Store>(
    State(state): State<AppState<S>>,
    base: BaseUrl,
    ids: Ids,
) -> Result<Response, AdminApiError> {
    let id = tenant_id(&path_id(&ids, "id")?)?;
    let token = path_id(&ids, "token")?;
    admin(&state, &base).revoke_token(&id, &token).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A service failure in the admin API's words.
fn service_error(e: crate::service::Error) -> AdminApiError {
    use crate::service::Error as S;
    use crate::tenancy::admin::AdminError as A;
    match e {
        S::Scim(e) => AdminApiError::Invalid(e.detail),
        S::Unavailable(e) => AdminApiError::Admin(A::Unavailable(e)),
        other => AdminApiError::Admin(A::Internal(Box::new(other))),
    }
}

/// `GET /admin/v1/tenants/{id}/events?after=&limit=`: one page of the tenant's change feed,
/// in `seq` order; `next` is the `after` of the following page.
async fn tenant_events<S: Store>(
    State(state): State<AppState<S>>,
    ids: Ids,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, AdminApiError> {
    let id = tenant_id(&path_id(&ids, "id")?)?;
    if id != crate::store::TenantId::default() {
        let known = crate::store::registry::Registry::tenant(state.service.store(), &id)
            .await
            .map_err(|e| service_error(e.into()))?;
        if known.is_none() {
            return Err(AdminApiError::Admin(
                crate::tenancy::admin::AdminError::NotFound("tenant"),
            ));
        }
    }
    let (mut after, mut limit) = (0u64, 100usize);
    for (k, v) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "after" if v.is_empty() => {}
            "after" => {
                after = v.parse().map_err(|_| {
                    AdminApiError::Invalid("after must be the next of an earlier page".into())
                })?;
            }
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=crate::store::feed::MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        AdminApiError::Invalid(format!(
                            "limit must be 1 to {}",
                            crate::store::feed::MAX_PAGE
                        ))
                    })?;
            }
            _ => {}
        }
    }
    let page = state
        .service
        .events(&id, after, limit)
        .await
        .map_err(service_error)?;
    let events: Vec<Value> = page
        .events
        .iter()
        .filter_map(|e| serde_json::from_str(&e.doc).ok())
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({"events": events, "next": page.next.to_string()}),
    ))
}

fn webhook_view(e: &crate::store::webhooks::Endpoint) -> Value {
    serde_json::json!({
        "id": e.id,
        "url": e.url,
        "tenants": e.tenants.as_ref().map(|t| t.iter().map(|t| t.as_str()).collect::<Vec<_>>()),
        "types": e.types,
        "createdAt": e.created_at,
    })
}

/// `POST /admin/v1/webhooks`: registers an endpoint; its signing secret is shown only here.
async fn create_webhook<S: Store>(
    State(state): State<AppState<S>>,
    body: AdminJson,
) -> Result<Response, AdminApiError> {
    body.only(&["url", "tenants", "types"])?;
    let url = body
        .string("url")?
        .ok_or_else(|| AdminApiError::Invalid("url is required".into()))?
        .to_string();
    let list = |field: &str| -> Result<Option<Vec<String>>, AdminApiError> {
        match body.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str().map(str::to_string).ok_or_else(|| {
                        AdminApiError::Invalid(format!("{field} must be an array of strings"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(AdminApiError::Invalid(format!(
                "{field} must be an array of strings"
            ))),
        }
    };
    let tenants = list("tenants")?
        .map(|ts| {
            ts.iter()
                .map(|t| tenant_id(t))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    // In Lambda (IAM) endpoints must be public https; a local server also takes loopback http.
    let policy = match state.admin.as_ref() {
        AdminAuth::Iam => crate::feed::UrlPolicy::Deployed,
        _ => crate::feed::UrlPolicy::Local,
    };
    let (endpoint, secret) = state
        .service
        .register_webhook(
            crate::service::NewEndpoint {
                url,
                tenants,
                types: list("types")?,
            },
            policy,
        )
        .await
        .map_err(service_error)?;
    let mut view = webhook_view(&endpoint);
    view["secret"] = secrecy::ExposeSecret::expose_secret(&secret.expose()).into();
    let mut response = json_response(StatusCode::CREATED, &view);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// `GET /admin/v1/webhooks`: every endpoint, without secrets.
async fn list_webhooks<S: Store>(
    State(state): State<AppState<S>>,
) -> Result<Response, AdminApiError> {
    let endpoints = state.service.webhooks().await.map_err(service_error)?;
    let views: Vec<Value> = endpoints.iter().map(webhook_view).collect();
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "webhooks": views }),
    ))
}

/// `DELETE /admin/v1/webhooks/{id}`.
async fn delete_webhook<S: Store>(
    State(state): State<AppState<S>>,
    ids: Ids,
) -> Result<Response, AdminApiError> {
    let id = path_id(&ids, "id")?;
    if state
        .service
        .delete_webhook(&id)
        .await
        .map_err(service_error)?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(AdminApiError::Admin(
            crate::tenancy::admin::AdminError::NotFound("webhook"),
        ))
    }
}
