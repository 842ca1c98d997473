//! The tenant registry: tenants, their tokens, and the purge of deleted tenants. Both stores
//! implement it next to the data (DynamoDB: the same table, under `R#` keys no tenant's data
//! key can collide with; memory: beside the tenants' maps).
//!
//! A token record carries copies of its tenant's status and request cap, kept in step by every
//! tenant update in the same atomic write, so verifying a token is one strongly consistent
//! point read by token id whatever the tenant's state.

use std::future::Future;

use crate::auth::TokenDigest;
use crate::store::{StoreResult, TenantId};

/// Most tokens a tenant may hold at once (rotation needs two; a tenant update rewrites each
/// token's copy of its state in one transaction, which bounds the count).
pub const MAX_TOKENS_PER_TENANT: usize = 20;

/// A tenant's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TenantStatus {
    /// Credentials work.
    Active,
    /// Every credential is refused; the data stays.
    Disabled,
    /// Deleted: credentials refused, the name released, the data being purged.
    Deleting,
}

impl TenantStatus {
    /// The stored and displayed word.
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Disabled => "disabled",
            TenantStatus::Deleting => "deleting",
        }
    }

    /// The status a stored word names.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(TenantStatus::Active),
            "disabled" => Some(TenantStatus::Disabled),
            "deleting" => Some(TenantStatus::Deleting),
            _ => None,
        }
    }
}

/// A tenant as stored. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    /// Server-issued id.
    pub id: TenantId,
    /// Display name, unique (case-folded) among live tenants.
    pub name: String,
    /// State.
    pub status: TenantStatus,
    /// Creation time.
    pub created_at: i64,
    /// Deletion time (set with `Deleting`): the purge waits for the token cache bound.
    pub deleted_at: Option<i64>,
    /// The tenant's request cap (requests per second per instance), if not the default.
    pub requests_per_second: Option<u32>,
    /// The last request time, coarse (see `tenancy::Touches`).
    pub last_request_at: Option<i64>,
}

/// A change to a tenant; `None` fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantPatch {
    /// New name.
    pub name: Option<String>,
    /// New status (`Active` or `Disabled`).
    pub status: Option<TenantStatus>,
    /// New request cap (`Some(None)` returns to the default).
    pub requests_per_second: Option<Option<u32>>,
}

/// A bearer token's record; the secret itself is never stored.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// The token id (the middle part of `scim_<id>_<secret>`).
    pub id: String,
    /// The tenant it names.
    pub tenant: TenantId,
    /// What the admin wrote about it.
    pub description: String,
    /// SHA-256 of the secret.
    pub digest: TokenDigest,
    /// Creation time.
    pub created_at: i64,
    /// Optional expiry.
    pub expires_at: Option<i64>,
    /// Coarse last use.
    pub last_used_at: Option<i64>,
    /// Copy of the tenant's status.
    pub tenant_status: TenantStatus,
    /// Copy of the tenant's request cap.
    pub requests_per_second: Option<u32>,
}

/// What a coarse "last seen" write is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Touch {
    /// A token's `lastUsedAt`.
    Token(String),
    /// A tenant's `lastRequestAt`.
    Tenant(TenantId),
}

/// The registry both stores implement.
///
/// Errors use [`crate::store::StoreError`]: `NotFound` (no such live tenant or token),
/// `Uniqueness { attribute: "name" }` (name taken), `TooMany` (token cap).
pub trait Registry: Send + Sync + 'static {
    /// Creates a tenant and claims its name.
    ///
    /// # Errors
    /// `Uniqueness` when a live tenant has the name (case-insensitively).
    fn create_tenant(&self, tenant: &TenantRecord) -> impl Future<Output = StoreResult<()>> + Send;

    /// A tenant by id, strongly consistent, whatever its status.
    ///
    /// # Errors
    /// Backend failures.
    fn tenant(
        &self,
        id: &TenantId,
    ) -> impl Future<Output = StoreResult<Option<TenantRecord>>> + Send;

    /// Live (not deleting) tenants in id order after `after`, at most `limit`.
    ///
    /// # Errors
    /// Backend failures.
    fn tenants(
        &self,
        after: Option<&TenantId>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<TenantRecord>>> + Send;

    /// Renames, disables, enables or re-caps a live tenant, and its tokens' copies with it.
    ///
    /// # Errors
    /// `NotFound`, `Uniqueness`.
    fn update_tenant(
        &self,
        id: &TenantId,
        patch: &TenantPatch,
    ) -> impl Future<Output = StoreResult<TenantRecord>> + Send;

    /// Marks a live tenant `Deleting` (its tokens refused in the same write), releases its name
    /// and queues it for the purge.
    ///
    /// # Errors
    /// `NotFound` when there is no live tenant with that id.
    fn delete_tenant(&self, id: &TenantId, at: i64)
    -> impl Future<Output = StoreResult<()>> + Send;

    /// Stores a new token of a live tenant.
    ///
    /// # Errors
    /// `NotFound` (tenant), `TooMany` ([`MAX_TOKENS_PER_TENANT`]).
    fn create_token(&self, token: &TokenRecord) -> impl Future<Output = StoreResult<()>> + Send;

    /// A token by id: one strongly consistent point read.
    ///
    /// # Errors
    /// Backend failures.
    fn token(&self, id: &str) -> impl Future<Output = StoreResult<Option<TokenRecord>>> + Send;

    /// A tenant's tokens, in id order.
    ///
    /// # Errors
    /// Backend failures.
    fn tokens(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = StoreResult<Vec<TokenRecord>>> + Send;

    /// Deletes a token of `tenant`.
    ///
    /// # Errors
    /// `NotFound` when the tenant has no such token.
    fn revoke_token(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Writes a coarse last-seen time; a missing target is not an error.
    ///
    /// # Errors
    /// Backend failures.
    fn touch(&self, what: &Touch, at: i64) -> impl Future<Output = StoreResult<()>> + Send;

    /// Tenants marked `Deleting` whose purge has not finished, with their deletion time.
    ///
    /// # Errors
    /// Backend failures.
    fn purging(&self) -> impl Future<Output = StoreResult<Vec<TenantRecord>>> + Send;

    /// After the tenant's users and groups are gone: removes what remains (counters, tokens)
    /// and, last, the tenant record, which ends the purge. Idempotent.
    ///
    /// # Errors
    /// Backend failures.
    fn finish_purge(&self, id: &TenantId) -> impl Future<Output = StoreResult<()>> + Send;
}
