//! Managing a tenant's OAuth clients, their secrets and its federated credentials: the use
//! cases behind the admin routes and the command line.

use secrecy::SecretString;
use serde_json::{Value, json};

use super::AuthServer;
use crate::oauth::clock::rfc3339;
use crate::oauth::secret::{IdKind, RandomError, generate_secret};
use crate::store::oauth::{ClientRecord, FederatedRecord, OAuthStore, SecretRecord};
use crate::store::{StoreError, TenantId};

/// Most active secrets per client: enough to rotate (new, switch Entra, revoke old) with room
/// to spare, few enough that checking a presented secret stays cheap.
pub const MAX_SECRETS: usize = 5;
/// Longest description, issuer, subject, audience or URL accepted.
pub const MAX_FIELD_LEN: usize = 1024;
/// Attempts of a read-modify-write that lost a race.
const ATTEMPTS: usize = 3;

/// Why an admin operation failed; mapped to `{"error","message"}` in one place
/// (`crate::http::oauth_admin`).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// 404 `not_found`: no such client, secret or credential in this tenant.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 400 `invalid_request`.
    #[error("{0}")]
    Invalid(String),
    /// 409 `conflict`.
    #[error("{0}")]
    Conflict(&'static str),
    /// 503 `unavailable`.
    #[error("the store is unavailable; retry")]
    Unavailable(#[source] StoreError),
    /// 500 `internal`.
    #[error("internal error; it has been logged")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) | StoreError::Throttled { .. } => AdminError::Unavailable(e),
            StoreError::NotFound => AdminError::NotFound("record"),
            other => AdminError::Internal(Box::new(other)),
        }
    }
}

impl From<RandomError> for AdminError {
    fn from(e: RandomError) -> Self {
        AdminError::Internal(Box::new(e))
    }
}

/// A client just created, with its first secret (shown once).
#[derive(Debug)]
pub struct NewClient {
    /// The record.
    pub client: ClientRecord,
    /// The first secret in clear.
    pub secret: SecretString,
}

/// A secret just added (shown once).
#[derive(Debug)]
pub struct NewSecret {
    /// Its record.
    pub record: SecretRecord,
    /// The secret in clear.
    pub secret: SecretString,
}

/// What a federated credential is created from.
#[derive(Debug, Clone)]
pub struct FederatedInput {
    /// Exact `iss`.
    pub issuer: String,
    /// Exact `sub`.
    pub subject: String,
    /// Exact `aud`.
    pub audience: String,
    /// JWKS URL overriding the issuer's OpenID configuration.
    pub jwks_uri: Option<String>,
}

fn check_len(name: &str, value: &str, required: bool) -> Result<(), AdminError> {
    if required && value.trim().is_empty() {
        return Err(AdminError::Invalid(format!("{name} is required")));
    }
    if value.len() > MAX_FIELD_LEN {
        return Err(AdminError::Invalid(format!(
            "{name} is longer than {MAX_FIELD_LEN} characters"
        )));
    }
    Ok(())
}

impl<O: OAuthStore> AuthServer<O> {
    fn check_expiry(&self, expires_at: Option<i64>) -> Result<(), AdminError> {
        match expires_at {
            Some(e) if e <= self.clock.now() => Err(AdminError::Invalid(
                "expiresAt must be in the future".into(),
            )),
            _ => Ok(()),
        }
    }

    fn new_secret(&self, expires_at: Option<i64>) -> Result<NewSecret, AdminError> {
        let (secret, digest) = generate_secret()?;
        Ok(NewSecret {
            record: SecretRecord {
                id: IdKind::Secret.generate()?,
                digest: digest.to_hex(),
                created_at: self.clock.now(),
                expires_at,
                last_used_at: None,
            },
            secret,
        })
    }

    /// Creates a client of `tenant` with one secret.
    ///
    /// # Errors
    /// `Invalid` for a bad description or expiry; store failures.
    pub async fn create_client(
        &self,
        tenant: &TenantId,
        description: &str,
        secret_expires_at: Option<i64>,
    ) -> Result<NewClient, AdminError> {
        check_len("description", description, false)?;
        self.check_expiry(secret_expires_at)?;
        let first = self.new_secret(secret_expires_at)?;
        let client = ClientRecord {
            id: IdKind::Client.generate()?,
            tenant: tenant.clone(),
            description: description.to_string(),
            created_at: self.clock.now(),
            revoked_at: None,
            secrets: vec![first.record],
            version: 1,
        };
        self.store.create_client(&client).await?;
        Ok(NewClient {
            client,
            secret: first.secret,
        })
    }

    /// The tenant's client `id` (a client of another tenant is not found).
    ///
    /// # Errors
    /// `NotFound`; store failures.
    pub async fn client_of(&self, tenant: &TenantId, id: &str) -> Result<ClientRecord, AdminError> {
        if !IdKind::Client.matches(id) {
            return Err(AdminError::NotFound("client"));
        }
        match self.store.client(id).await? {
            Some(c) if &c.tenant == tenant => Ok(c),
            _ => Err(AdminError::NotFound("client")),
        }
    }

    /// Applies `change` to the tenant's client with a version check, retrying lost races.
    async fn modify<T>(
        &self,
        tenant: &TenantId,
        id: &str,
        mut change: impl FnMut(&mut ClientRecord) -> Result<T, AdminError>,
    ) -> Result<T, AdminError> {
        for _ in 0..ATTEMPTS {
            let mut client = self.client_of(tenant, id).await?;
            let out = change(&mut client)?;
            client.version += 1;
            match self.store.replace_client(&client).await {
                Ok(()) => return Ok(out),
                Err(StoreError::VersionMismatch { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AdminError::Conflict(
            "the client is being modified concurrently; retry",
        ))
    }

    /// Adds a secret to an active client.
    ///
    /// # Errors
    /// `NotFound`, `Conflict` for a revoked client or one with [`MAX_SECRETS`] secrets.
    pub async fn add_secret(
        &self,
        tenant: &TenantId,
        client_id: &str,
        expires_at: Option<i64>,
    ) -> Result<NewSecret, AdminError> {
        self.check_expiry(expires_at)?;
        let new = self.new_secret(expires_at)?;
        let record = new.record.clone();
        self.modify(tenant, client_id, |c| {
            if c.revoked_at.is_some() {
                return Err(AdminError::Conflict("the client is revoked"));
            }
            if c.secrets.len() >= MAX_SECRETS {
                return Err(AdminError::Conflict(
                    "the client already has 5 secrets; revoke one first",
                ));
            }
            c.secrets.push(record.clone());
            Ok(())
        })
        .await?;
        Ok(new)
    }

    /// Revokes one secret (it stops working at once: secrets are checked against the store on
    /// every token request).
    ///
    /// # Errors
    /// `NotFound` for an unknown client or secret.
    pub async fn revoke_secret(
        &self,
        tenant: &TenantId,
        client_id: &str,
        secret_id: &str,
    ) -> Result<(), AdminError> {
        self.modify(tenant, client_id, |c| {
            let before = c.secrets.len();
            c.secrets.retain(|s| s.id != secret_id);
            if c.secrets.len() == before {
                Err(AdminError::NotFound("secret"))
            } else {
                Ok(())
            }
        })
        .await
    }

    /// Revokes a client: no new tokens, and its outstanding access tokens are refused within
    /// a minute everywhere (at once on this instance).
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn revoke_client(
        &self,
        tenant: &TenantId,
        client_id: &str,
    ) -> Result<(), AdminError> {
        let now = self.clock.now();
        self.modify(tenant, client_id, |c| {
            c.revoked_at.get_or_insert(now);
            c.secrets.clear();
            Ok(())
        })
        .await?;
        self.liveness.forget(tenant, client_id);
        Ok(())
    }

    /// The tenant's clients.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list_clients(&self, tenant: &TenantId) -> Result<Vec<ClientRecord>, AdminError> {
        Ok(self.store.clients(tenant).await?)
    }

    /// Creates a federated credential.
    ///
    /// # Errors
    /// `Invalid` for missing fields or a URL that would not be fetched; `Conflict` when the
    /// issuer, subject and audience are taken.
    pub async fn create_federated(
        &self,
        tenant: &TenantId,
        input: FederatedInput,
    ) -> Result<FederatedRecord, AdminError> {
        check_len("issuer", &input.issuer, true)?;
        check_len("subject", &input.subject, true)?;
        check_len("audience", &input.audience, true)?;
        let url_problem = |e: crate::auth::issuers::IssuerError| AdminError::Invalid(e.to_string());
        match &input.jwks_uri {
            Some(u) => {
                check_len("jwksUri", u, true)?;
                self.issuers.check_url(u).map_err(url_problem)?;
            }
            // The issuer's configuration is fetched from it, so it must be fetchable.
            None => self.issuers.check_url(&input.issuer).map_err(url_problem)?,
        }
        let record = FederatedRecord {
            id: IdKind::Federated.generate()?,
            tenant: tenant.clone(),
            issuer: input.issuer,
            subject: input.subject,
            audience: input.audience,
            jwks_uri: input.jwks_uri,
            created_at: self.clock.now(),
        };
        match self.store.create_federated(&record).await {
            Ok(()) => Ok(record),
            Err(StoreError::Uniqueness { .. }) => Err(AdminError::Conflict(
                "a federated credential for this issuer, subject and audience exists",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The tenant's federated credentials.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list_federated(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<FederatedRecord>, AdminError> {
        Ok(self.store.federated(tenant).await?)
    }

    /// Deletes a federated credential; its outstanding tokens are refused within a minute.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn delete_federated(&self, tenant: &TenantId, id: &str) -> Result<(), AdminError> {
        match self.store.delete_federated(tenant, id).await {
            Ok(()) => {
                self.liveness.forget(tenant, id);
                Ok(())
            }
            Err(StoreError::NotFound) => Err(AdminError::NotFound("federated credential")),
            Err(e) => Err(e.into()),
        }
    }
}

/// A secret as the admin API and the CLI show it (never the secret itself).
pub fn secret_json(s: &SecretRecord) -> Value {
    json!({
        "id": s.id,
        "createdAt": rfc3339(s.created_at),
        "expiresAt": s.expires_at.map(rfc3339),
        "lastUsedAt": s.last_used_at.map(rfc3339),
    })
}

/// A client as the admin API and the CLI show it.
pub fn client_json(c: &ClientRecord) -> Value {
    json!({
        "clientId": c.id,
        "description": c.description,
        "createdAt": rfc3339(c.created_at),
        "status": if c.revoked_at.is_some() { "revoked" } else { "active" },
        "revokedAt": c.revoked_at.map(rfc3339),
        "lastUsedAt": c.last_used_at().map(rfc3339),
        "secrets": c.secrets.iter().map(secret_json).collect::<Vec<_>>(),
    })
}

/// A federated credential as the admin API and the CLI show it.
pub fn federated_json(f: &FederatedRecord) -> Value {
    json!({
        "id": f.id,
        "issuer": f.issuer,
        "subject": f.subject,
        "audience": f.audience,
        "jwksUri": f.jwks_uri,
        "createdAt": rfc3339(f.created_at),
    })
}
