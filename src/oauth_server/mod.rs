//! The authorization server's use cases over the [`OAuthStore`]: issuing access tokens at the
//! token endpoint ([`token`]) and managing clients, secrets and federated credentials for the
//! admin API and the command line ([`admin`]).

pub(crate) mod admin;
pub mod settings;
pub(crate) mod token;

use std::sync::Arc;

use crate::auth::issuers::Issuers;
use crate::auth::liveness::{LivenessCache, TenantStatus};
use crate::auth::signing::SigningKeys;
use crate::clock::Clock;
use crate::oauth::access::Lifetime;
use crate::store::oauth::OAuthStore;

/// Every collaborator of the OAuth use cases.
pub struct AuthServer<O> {
    /// Clients, secrets, federated credentials, used `jti`s.
    pub store: Arc<O>,
    /// Access-token signing keys.
    pub keys: Arc<SigningKeys>,
    /// Federated issuers' keys.
    pub issuers: Arc<Issuers>,
    /// Wall clock for every expiry.
    pub clock: Arc<dyn Clock>,
    /// Access-token lifetime.
    pub lifetime: Lifetime,
    /// Tenant status (the tenant registry's seam).
    pub tenants: Arc<dyn TenantStatus>,
    /// The per-instance liveness cache the bearer layer uses; revokes here forget entries so
    /// this instance refuses at once.
    pub liveness: Arc<LivenessCache>,
    /// A fixed issuer (`SCIM_OAUTH_ISSUER`), or `None` to derive it from each request.
    pub issuer: Option<String>,
    /// The SCIM base path, e.g. `/scim/v2`: the audience is issuer + base path.
    pub base_path: String,
}

impl<O> std::fmt::Debug for AuthServer<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthServer")
            .field("issuer", &self.issuer)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl<O: OAuthStore> AuthServer<O> {
    /// The issuer to state: the fixed one, or `derived` (the request's origin).
    pub fn issuer_or<'a>(&'a self, derived: &'a str) -> &'a str {
        self.issuer.as_deref().unwrap_or(derived)
    }
}
