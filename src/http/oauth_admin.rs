//! The admin routes for OAuth clients and federated credentials (relative to `/admin/v1`),
//! answering `{"error", "message"}` on failure.
//!
//! [`oauth_admin_router`] holds the routes alone, to be mounted under `/admin/v1` next to the
//! tenant registry's routes and behind its authentication. Until then [`mount_admin`] mounts
//! them behind `Authorization: Bearer $SCIM_ADMIN_TOKEN` ([`require_admin_token`]); replacing
//! that one function is the whole change.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::oauth::json_response;
use crate::oauth::clock::parse_rfc3339;
use crate::oauth_server::AuthServer;
use crate::oauth_server::admin::{
    AdminError, FederatedInput, client_json, federated_json, secret_json,
};
use crate::store::TenantId;
use crate::store::oauth::OAuthStore;

/// Largest admin request body read.
const MAX_BODY_BYTES: usize = 16 * 1024;

type Server<O> = State<Arc<AuthServer<O>>>;

/// The OAuth admin routes, relative to `/admin/v1`.
pub fn oauth_admin_router<O: OAuthStore>() -> Router<Arc<AuthServer<O>>> {
    Router::new()
        .route(
            "/tenants/{id}/clients",
            get(list_clients::<O>).post(create_client::<O>),
        )
        .route("/tenants/{id}/clients/{client}", delete(revoke_client::<O>))
        .route(
            "/tenants/{id}/clients/{client}/secrets",
            axum::routing::post(add_secret::<O>),
        )
        .route(
            "/tenants/{id}/clients/{client}/secrets/{secret}",
            delete(revoke_secret::<O>),
        )
        .route(
            "/tenants/{id}/federated-credentials",
            get(list_federated::<O>).post(create_federated::<O>),
        )
        .route(
            "/tenants/{id}/federated-credentials/{credential}",
            delete(delete_federated::<O>),
        )
}

fn admin_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(status, &json!({"error": code, "message": message}))
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AdminError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AdminError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            AdminError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AdminError::Unavailable(e) => {
                tracing::warn!(error = %e, "admin request: store unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            AdminError::Internal(e) => {
                tracing::error!(error = %e, "admin request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        admin_error(status, code, &self.to_string())
    }
}

fn tenant(raw: &str) -> Result<TenantId, AdminError> {
    TenantId::parse(raw).map_err(|_| AdminError::NotFound("tenant"))
}

/// Parses a JSON body (an empty body counts as `{}`).
fn body<T: DeserializeOwned>(headers: &HeaderMap, bytes: &Bytes) -> Result<T, AdminError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(AdminError::Invalid(format!(
            "the body is larger than {MAX_BODY_BYTES} bytes"
        )));
    }
    if bytes.is_empty() {
        return serde_json::from_str("{}").map_err(|e| AdminError::Invalid(e.to_string()));
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json {
        return Err(AdminError::Invalid(
            "the body must be application/json".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| AdminError::Invalid(format!("invalid body: {e}")))
}

fn expiry(raw: Option<&str>) -> Result<Option<i64>, AdminError> {
    raw.map(|s| {
        parse_rfc3339(s)
            .ok_or_else(|| AdminError::Invalid("expiresAt must be an RFC 3339 timestamp".into()))
    })
    .transpose()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateClient {
    #[serde(default)]
    description: String,
    /// Expiry of the first secret.
    secret_expires_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AddSecret {
    expires_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateFederated {
    issuer: String,
    subject: String,
    audience: String,
    jwks_uri: Option<String>,
}

async fn create_client<O: OAuthStore>(
    State(server): Server<O>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let tenant = tenant(&raw)?;
    let input: CreateClient = body(&headers, &bytes)?;
    let expires = expiry(input.secret_expires_at.as_deref())?;
    let new = server
        .create_client(&tenant, &input.description, expires)
        .await?;
    let mut out = client_json(&new.client);
    out["clientSecret"] = new.secret.expose_secret().into();
    out["secretId"] = new.client.secrets[0].id.clone().into();
    Ok(json_response(StatusCode::CREATED, &out))
}

async fn list_clients<O: OAuthStore>(
    State(server): Server<O>,
    Path(raw): Path<String>,
) -> Result<Response, AdminError> {
    let clients = server.list_clients(&tenant(&raw)?).await?;
    let list: Vec<Value> = clients.iter().map(client_json).collect();
    Ok(json_response(StatusCode::OK, &json!({ "clients": list })))
}

async fn revoke_client<O: OAuthStore>(
    State(server): Server<O>,
    Path((raw, client)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    server.revoke_client(&tenant(&raw)?, &client).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn add_secret<O: OAuthStore>(
    State(server): Server<O>,
    Path((raw, client)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let tenant = tenant(&raw)?;
    let input: AddSecret = body(&headers, &bytes)?;
    let new = server
        .add_secret(&tenant, &client, expiry(input.expires_at.as_deref())?)
        .await?;
    let mut out = secret_json(&new.record);
    out["clientSecret"] = new.secret.expose_secret().into();
    Ok(json_response(StatusCode::CREATED, &out))
}

async fn revoke_secret<O: OAuthStore>(
    State(server): Server<O>,
    Path((raw, client, secret)): Path<(String, String, String)>,
) -> Result<Response, AdminError> {
    server
        .revoke_secret(&tenant(&raw)?, &client, &secret)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn create_federated<O: OAuthStore>(
    State(server): Server<O>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let tenant = tenant(&raw)?;
    let input: CreateFederated = body(&headers, &bytes)?;
    let record = server
        .create_federated(
            &tenant,
            FederatedInput {
                issuer: input.issuer,
                subject: input.subject,
                audience: input.audience,
                jwks_uri: input.jwks_uri,
            },
        )
        .await?;
    Ok(json_response(StatusCode::CREATED, &federated_json(&record)))
}

async fn list_federated<O: OAuthStore>(
    State(server): Server<O>,
    Path(raw): Path<String>,
) -> Result<Response, AdminError> {
    let all = server.list_federated(&tenant(&raw)?).await?;
    let list: Vec<Value> = all.iter().map(federated_json).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "federatedCredentials": list }),
    ))
}

async fn delete_federated<O: OAuthStore>(
    State(server): Server<O>,
    Path((raw, id)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    server.delete_federated(&tenant(&raw)?, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
