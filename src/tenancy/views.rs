//! The objects the admin API and the CLI print, in the contract's camelCase, and the URL a
//! customer pastes into Entra.

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::store::TenantId;
use crate::store::registry::{TenantRecord, TokenRecord};

/// A tenant, as the admin API and the CLI print it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `active` or `disabled`.
    pub status: &'static str,
    /// RFC 3339.
    pub created_at: String,
    /// The URL the customer pastes into Entra as the Tenant URL.
    pub tenant_url: String,
    /// The tenant's own request cap, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<u32>,
}

/// A tenant with its counts and last request time (`GET /admin/v1/tenants/{id}`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TenantDetail {
    /// The tenant.
    #[serde(flatten)]
    pub tenant: TenantView,
    /// Users, from the maintained counter.
    pub users: u64,
    /// Groups, from the maintained counter.
    pub groups: u64,
    /// Coarse (a few minutes): RFC 3339 or null.
    pub last_request_at: Option<String>,
}

/// A page of tenants.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantList {
    /// This page.
    pub tenants: Vec<TenantView>,
    /// The `after` of the next page, when there may be one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A token without its secret.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    /// Id.
    pub id: String,
    /// Description.
    pub description: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339 or null.
    pub expires_at: Option<String>,
    /// Coarse (a few minutes): RFC 3339 or null.
    pub last_used_at: Option<String>,
}

/// A new token: the only time `token` is shown.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    /// Id.
    pub id: String,
    /// `scim_<id>_<secret>`.
    pub token: String,
    /// Description.
    pub description: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339 or null.
    pub expires_at: Option<String>,
}

/// The list of a tenant's tokens.
#[derive(Debug, Clone, Serialize)]
pub struct TokenList {
    /// The tokens.
    pub tokens: Vec<TokenView>,
}

/// RFC 3339 of Unix seconds.
pub fn rfc3339(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// The per-tenant Tenant URL: `<origin>/tenants/<id><base path>`, where `base_url` is the
/// shared SCIM base URL (`https://host/scim/v2`) and `base_path` its path (`/scim/v2`).
pub fn tenant_url(base_url: &str, base_path: &str, id: &TenantId) -> String {
    let base_url = base_url.trim_end_matches('/');
    match base_url.strip_suffix(base_path) {
        Some(origin) => format!("{origin}/tenants/{id}{base_path}"),
        None => format!("{base_url}/tenants/{id}{base_path}"),
    }
}

pub(super) fn view(t: &TenantRecord, base_url: &str, base_path: &str) -> TenantView {
    TenantView {
        id: t.id.to_string(),
        name: t.name.clone(),
        status: t.status.as_str(),
        created_at: rfc3339(t.created_at),
        tenant_url: tenant_url(base_url, base_path, &t.id),
        requests_per_second: t.requests_per_second,
    }
}

pub(super) fn token_view(t: &TokenRecord) -> TokenView {
    TokenView {
        id: t.id.clone(),
        description: t.description.clone(),
        created_at: rfc3339(t.created_at),
        expires_at: t.expires_at.map(rfc3339),
        last_used_at: t.last_used_at.map(rfc3339),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_urls_put_the_tenant_before_the_base_path() {
        let t = TenantId::parse("t_abc").unwrap();
        let rows = [
            ("https://h/scim/v2", "https://h/tenants/t_abc/scim/v2"),
            ("https://h/scim/v2/", "https://h/tenants/t_abc/scim/v2"),
            (
                "https://h/prod/scim/v2",
                "https://h/prod/tenants/t_abc/scim/v2",
            ),
            ("https://h", "https://h/tenants/t_abc/scim/v2"),
        ];
        for (base, want) in rows {
            assert_eq!(tenant_url(base, "/scim/v2", &t), want, "{base}");
        }
    }
}
