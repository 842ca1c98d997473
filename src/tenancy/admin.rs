//! The admin use cases behind `/admin/v1` and the operator CLI: tenants and their tokens. Both
//! print the same objects ([`TenantView`], [`TokenView`], ...), in the contract's camelCase.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Tenancy;
pub use super::views::{
    CreatedToken, TenantDetail, TenantList, TenantView, TokenList, TokenView, rfc3339, tenant_url,
};
use super::views::{token_view, view};
use crate::auth::tenant_token;
use crate::scim::schema::ResourceKind;
use crate::store::registry::{TenantPatch, TenantRecord, TenantStatus, TokenRecord};
use crate::store::{BoxError, PageRequest, Query, Store, StoreError, TenantId};

/// Longest tenant name or token description accepted.
pub const MAX_TEXT: usize = 200;
/// Default page size of `GET /admin/v1/tenants`.
pub const DEFAULT_PAGE: usize = 50;
/// Largest page.
pub const MAX_PAGE: usize = 200;

/// Why an admin use case failed; `http::admin` maps each to a status and an `error` code.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No live tenant or token with that id (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request is malformed (400).
    #[error("{0}")]
    Invalid(String),
    /// The name is taken by another live tenant (409).
    #[error("a tenant with this name already exists")]
    NameTaken,
    /// A limit was reached (409).
    #[error("a limit was reached: at most {}", .0.max())]
    Limit(crate::store::Limit),
    /// The store is down or throttling (503).
    #[error("the registry is unavailable")]
    Unavailable(#[source] BoxError),
    /// A bug or corrupt data (500).
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl AdminError {
    fn from_store(e: StoreError, what: &'static str) -> Self {
        match e {
            StoreError::NotFound => AdminError::NotFound(what),
            StoreError::Uniqueness { .. } => AdminError::NameTaken,
            StoreError::TooLarge(limit) => AdminError::Limit(limit),
            StoreError::Throttled { .. } | StoreError::Unavailable(_) => {
                AdminError::Unavailable(Box::new(e))
            }
            other => AdminError::Internal(Box::new(other)),
        }
    }
}

/// Result alias.
pub type AdminResult<T> = Result<T, AdminError>;

/// Unix seconds of an RFC 3339 time.
///
/// # Errors
/// `Invalid` when it does not parse.
pub fn parse_time(field: &str, s: &str) -> AdminResult<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| AdminError::Invalid(format!("{field} must be an RFC 3339 date-time")))
}

/// A name or description: trimmed, not too long, no control characters.
fn text(field: &str, s: &str, required: bool) -> AdminResult<String> {
    let s = s.trim();
    if required && s.is_empty() {
        return Err(AdminError::Invalid(format!("{field} must not be empty")));
    }
    if s.chars().count() > MAX_TEXT || s.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!(
            "{field} must be at most {MAX_TEXT} printable characters"
        )));
    }
    Ok(s.to_string())
}

/// A tenant id from a path or an argument; one that cannot exist is simply not found.
///
/// # Errors
/// `NotFound` when `s` is not a tenant id.
pub fn tenant_id(s: &str) -> AdminResult<TenantId> {
    TenantId::parse(s).map_err(|_| AdminError::NotFound("tenant"))
}

/// The admin use cases over one store, for one deployment's URLs.
pub struct Admin<'a, S: Store> {
    /// The store holding the registry and the data.
    pub store: &'a S,
    /// This instance's tenancy state (its cache is cleared on changes made here).
    pub tenancy: &'a Tenancy,
    /// The shared SCIM base URL (`https://host/scim/v2`).
    pub base_url: &'a str,
    /// The SCIM base path (`/scim/v2`).
    pub base_path: &'a str,
}

impl<S: Store> Admin<'_, S> {
    async fn live(&self, id: &TenantId) -> AdminResult<TenantRecord> {
        self.store
            .tenant(id)
            .await
            .map_err(|e| AdminError::from_store(e, "tenant"))?
            .filter(|t| t.status != TenantStatus::Deleting)
            .ok_or(AdminError::NotFound("tenant"))
    }

    /// Creates a tenant.
    ///
    /// # Errors
    /// `Invalid`, `NameTaken`.
    pub async fn create_tenant(
        &self,
        name: &str,
        requests_per_second: Option<u32>,
    ) -> AdminResult<TenantView> {
        let record = TenantRecord {
            id: TenantId::generate().map_err(|e| AdminError::Internal(Box::new(e)))?,
            name: text("name", name, true)?,
            status: TenantStatus::Active,
            created_at: self.tenancy.now_secs(),
            deleted_at: None,
            requests_per_second: check_rps(requests_per_second)?,
            last_request_at: None,
        };
        self.store
            .create_tenant(&record)
            .await
            .map_err(|e| AdminError::from_store(e, "tenant"))?;
        Ok(view(&record, self.base_url, self.base_path))
    }

    /// A page of live tenants in id order.
    ///
    /// # Errors
    /// `Invalid` for a bad `limit`.
    pub async fn list_tenants(
        &self,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> AdminResult<TenantList> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(AdminError::Invalid(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        let after = after
            .map(|a| {
                TenantId::parse(a)
                    .map_err(|_| AdminError::Invalid("after is not a tenant id".into()))
            })
            .transpose()?;
        let page = self
            .store
            .tenants(after.as_ref(), limit)
            .await
            .map_err(|e| AdminError::from_store(e, "tenant"))?;
        let next = (page.len() == limit)
            .then(|| page.last().map(|t| t.id.to_string()))
            .flatten();
        Ok(TenantList {
            tenants: page
                .iter()
                .map(|t| view(t, self.base_url, self.base_path))
                .collect(),
            next,
        })
    }

    /// A tenant with its user and group counts (the maintained counters: one small read
    /// each) and its last request time.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn show_tenant(&self, id: &TenantId) -> AdminResult<TenantDetail> {
        let t = self.live(id).await?;
        let count = |kind| async move {
            let q = Query {
                lookup: crate::store::Lookup::All,
                filter: None,
                sort: None,
                page: PageRequest::Index {
                    start_index: std::num::NonZeroU64::MIN,
                    count: 0,
                },
            };
            self.store
                .query(id, kind, &q)
                .await
                .map(|p| p.total)
                .map_err(|e| AdminError::from_store(e, "tenant"))
        };
        Ok(TenantDetail {
            users: count(ResourceKind::User).await?,
            groups: count(ResourceKind::Group).await?,
            last_request_at: t.last_request_at.map(rfc3339),
            tenant: view(&t, self.base_url, self.base_path),
        })
    }

    /// Renames, disables, enables or re-caps a tenant; on this instance its cached tokens are
    /// forgotten at once (elsewhere within the cache bound).
    ///
    /// # Errors
    /// `NotFound`, `Invalid`, `NameTaken`.
    pub async fn update_tenant(
        &self,
        id: &TenantId,
        patch: TenantPatch,
    ) -> AdminResult<TenantView> {
        let patch = TenantPatch {
            name: patch.name.map(|n| text("name", &n, true)).transpose()?,
            status: match patch.status {
                Some(TenantStatus::Deleting) => {
                    return Err(AdminError::Invalid(
                        "status must be \"active\" or \"disabled\"; DELETE deletes".into(),
                    ));
                }
                s => s,
            },
            requests_per_second: patch.requests_per_second.map(check_rps).transpose()?,
        };
        let t = self
            .store
            .update_tenant(id, &patch)
            .await
            .map_err(|e| AdminError::from_store(e, "tenant"))?;
        self.tenancy.forget_tenant(id);
        Ok(view(&t, self.base_url, self.base_path))
    }

    /// Deletes a tenant: its credentials are refused at once (in the same write), its name is
    /// free at once, its data is purged afterwards (`tenancy::purge`).
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn delete_tenant(&self, id: &TenantId) -> AdminResult<()> {
        self.store
            .delete_tenant(id, self.tenancy.now_secs())
            .await
            .map_err(|e| AdminError::from_store(e, "tenant"))?;
        self.tenancy.forget_tenant(id);
        Ok(())
    }

    /// Mints a token for a tenant; the secret is in the answer and nowhere else.
    ///
    /// # Errors
    /// `NotFound`, `Invalid` (description, expiry in the past), `Limit` (token cap).
    pub async fn create_token(
        &self,
        tenant: &TenantId,
        description: &str,
        expires_at: Option<&str>,
    ) -> AdminResult<CreatedToken> {
        use secrecy::ExposeSecret;
        let description = text("description", description, false)?;
        let now = self.tenancy.now_secs();
        let expires_at = expires_at.map(|e| parse_time("expiresAt", e)).transpose()?;
        if expires_at.is_some_and(|e| e <= now) {
            return Err(AdminError::Invalid(
                "expiresAt must be in the future".into(),
            ));
        }
        let issued = tenant_token::issue().map_err(|e| AdminError::Internal(Box::new(e)))?;
        let record = TokenRecord {
            id: issued.id.clone(),
            tenant: tenant.clone(),
            description,
            digest: issued.digest.clone(),
            created_at: now,
            expires_at,
            last_used_at: None,
            tenant_status: TenantStatus::Active,
            requests_per_second: None,
        };
        self.store
            .create_token(&record)
            .await
            .map_err(|e| AdminError::from_store(e, "tenant"))?;
        Ok(CreatedToken {
            id: record.id,
            token: issued.token.expose_secret().to_string(),
            description: record.description,
            created_at: rfc3339(now),
            expires_at: expires_at.map(rfc3339),
        })
    }

    /// A tenant's tokens, without secrets.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn list_tokens(&self, tenant: &TenantId) -> AdminResult<TokenList> {
        self.live(tenant).await?;
        let tokens = self
            .store
            .tokens(tenant)
            .await
            .map_err(|e| AdminError::from_store(e, "tenant"))?;
        Ok(TokenList {
            tokens: tokens.iter().map(token_view).collect(),
        })
    }

    /// Revokes a token: refused at once on this instance, within the cache bound elsewhere.
    ///
    /// # Errors
    /// `NotFound`.
    pub async fn revoke_token(&self, tenant: &TenantId, id: &str) -> AdminResult<()> {
        self.store
            .revoke_token(tenant, id)
            .await
            .map_err(|e| AdminError::from_store(e, "token"))?;
        self.tenancy.forget_token(id);
        Ok(())
    }
}

/// A request cap must admit at least one request per second and at most 10 000.
fn check_rps(rps: Option<u32>) -> AdminResult<Option<u32>> {
    match rps {
        Some(r) if !(1..=10_000).contains(&r) => Err(AdminError::Invalid(
            "requestsPerSecond must be between 1 and 10000".into(),
        )),
        r => Ok(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(text("name", "  Contoso ", true).unwrap(), "Contoso");
        assert!(text("name", "   ", true).is_err());
        assert!(text("name", "a\nb", true).is_err());
        assert!(text("name", &"x".repeat(MAX_TEXT + 1), true).is_err());
        assert_eq!(text("description", "", false).unwrap(), "");
    }
}
