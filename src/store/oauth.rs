//! Persistence of OAuth clients, their secrets, federated credentials and used assertion ids:
//! the [`OAuthStore`] trait, implemented by [`super::memory_oauth::MemoryOAuthStore`] and
//! `super::dynamo::oauth::DynamoOAuthStore` over the same table as the directory.
//!
//! Records are small documents written whole with a version condition (a client holds its few
//! secrets), so every change is one conditional write and a lost race is a
//! `VersionMismatch`, never a half-applied change.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::{StoreResult, TenantId};

/// One secret of a client; only its digest is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRecord {
    /// `s_...`.
    pub id: String,
    /// Hex SHA-256 of the secret.
    pub digest: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; `None` never expires.
    pub expires_at: Option<i64>,
    /// Last successful use, Unix seconds (coarse: written at most every few minutes).
    pub last_used_at: Option<i64>,
}

/// An OAuth client of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientRecord {
    /// `c_...`, globally unique: the token endpoint finds the client (and its tenant) by it.
    pub id: String,
    /// The tenant whose directory the client's tokens open.
    #[serde(with = "tenant_id")]
    pub tenant: TenantId,
    /// Free text from the admin.
    pub description: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Set when the client is revoked; a revoked client authenticates nothing.
    pub revoked_at: Option<i64>,
    /// Its active secrets (a revoked secret is removed).
    pub secrets: Vec<SecretRecord>,
    /// Bumped by every write; writes are conditional on it.
    pub version: u64,
}

impl ClientRecord {
    /// The most recent use of any secret.
    pub fn last_used_at(&self) -> Option<i64> {
        self.secrets.iter().filter_map(|s| s.last_used_at).max()
    }
}

/// A federated credential: assertions from `issuer` about `subject` for `audience` stand for
/// this tenant's client. `(issuer, subject, audience)` is unique across all tenants, so an
/// assertion names exactly one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FederatedRecord {
    /// `f_...`, the `client_id` of the tokens it obtains.
    pub id: String,
    /// The tenant.
    #[serde(with = "tenant_id")]
    pub tenant: TenantId,
    /// Exact `iss` (an https URL whose OpenID configuration names the JWKS).
    pub issuer: String,
    /// Exact `sub`.
    pub subject: String,
    /// Exact member of `aud`.
    pub audience: String,
    /// JWKS URL used instead of the issuer's OpenID configuration.
    pub jwks_uri: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// The persistence of OAuth records. Every method is one backend request unless noted.
pub trait OAuthStore: Send + Sync + 'static {
    /// Creates a client.
    ///
    /// # Errors
    /// `VersionMismatch { current: 0 }` if the id exists (ids are random: never in practice).
    fn create_client(&self, client: &ClientRecord) -> impl Future<Output = StoreResult<()>> + Send;

    /// A client by id, whichever tenant it belongs to (strongly consistent).
    fn client(&self, id: &str) -> impl Future<Output = StoreResult<Option<ClientRecord>>> + Send;

    /// Replaces a client whose stored version is `client.version - 1`.
    ///
    /// # Errors
    /// `VersionMismatch` when another write came first, `NotFound` when it does not exist.
    fn replace_client(&self, client: &ClientRecord)
    -> impl Future<Output = StoreResult<()>> + Send;

    /// The tenant's clients, revoked ones included, in id order.
    fn clients(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = StoreResult<Vec<ClientRecord>>> + Send;

    /// Creates a federated credential.
    ///
    /// # Errors
    /// `Uniqueness { attribute: "issuer, subject and audience" }` when any tenant already has a
    /// credential for the same triple.
    fn create_federated(
        &self,
        credential: &FederatedRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The credential for an exact `(issuer, subject, audience)`.
    fn federated_by_claims(
        &self,
        issuer: &str,
        subject: &str,
        audience: &str,
    ) -> impl Future<Output = StoreResult<Option<FederatedRecord>>> + Send;

    /// The tenant's federated credentials, in id order.
    fn federated(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = StoreResult<Vec<FederatedRecord>>> + Send;

    /// Deletes a credential of the tenant (a federated credential holds no secret, so deleting
    /// it is revoking it).
    ///
    /// # Errors
    /// `NotFound` when the tenant has no credential with that id.
    fn delete_federated(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Records that the assertion `jti` of `issuer` was used, to be remembered until
    /// `expires_at`; `false` when it was already recorded and has not expired (a replay).
    /// Atomic across every instance sharing the store.
    fn claim_jti(
        &self,
        issuer: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// Tenant ids in stored documents: a plain string, checked again when read back.
mod tenant_id {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::tenant::TenantId;

    pub fn serialize<S: Serializer>(t: &TenantId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TenantId, D::Error> {
        let s = String::deserialize(d)?;
        TenantId::parse(&s).map_err(serde::de::Error::custom)
    }
}
