//! The state every handler shares.

use std::sync::Arc;

use super::admin::AdminAuth;
use super::metrics::Settings as MetricSettings;
use crate::auth::Tokens;
use crate::auth::access::AccessTokens;
use crate::service::Service;
use crate::store::Store;
use crate::tenancy::Tenancy;

/// Shared state: the service, the token source and the URL settings. Cheap to clone.
#[derive(Debug)]
pub struct AppState<S: Store> {
    /// The use cases.
    pub service: Arc<Service<S>>,
    /// Who may call: the single-tenant source (tenant tokens are looked up in the store).
    pub tokens: Arc<Tokens>,
    /// The tenant token cache, request caps and coarse "last seen" writes of this instance.
    pub tenancy: Arc<Tenancy>,
    /// Who may call the admin API.
    pub admin: Arc<AdminAuth>,
    /// OAuth access tokens, tried first for JWT-shaped bearers (`None`: OAuth is off).
    pub access: Option<Arc<AccessTokens>>,
    /// Base path of the SCIM API, e.g. `/scim/v2` (no trailing slash).
    pub base_path: Arc<str>,
    /// Public base URL (e.g. `https://api.example.com/scim/v2`) used in `meta.location`; when
    /// unset it is derived from each request's `Host` and forwarding headers.
    pub public_url: Option<Arc<str>>,
    /// The CloudWatch Embedded Metric Format line per request (in Lambda), or none.
    pub metrics: Option<Arc<MetricSettings>>,
    /// Whether `X-Forwarded-Host`/`-Proto` come from a proxy the operator trusts, and may
    /// shape the URLs in responses.
    pub trust_forwarded: bool,
}

impl<S: Store> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            service: Arc::clone(&self.service),
            tokens: Arc::clone(&self.tokens),
            tenancy: Arc::clone(&self.tenancy),
            admin: Arc::clone(&self.admin),
            access: self.access.clone(),
            base_path: Arc::clone(&self.base_path),
            public_url: self.public_url.clone(),
            metrics: self.metrics.clone(),
            trust_forwarded: self.trust_forwarded,
        }
    }
}

impl<S: Store> AppState<S> {
    /// State over a service and a token source, serving `base_path`.
    pub fn new(service: Service<S>, tokens: Tokens, base_path: &str) -> Self {
        Self::new_shared(Arc::new(service), tokens, base_path)
    }

    /// State over a service already shared (tests keep a handle to read its call counts).
    pub fn new_shared(service: Arc<Service<S>>, tokens: Tokens, base_path: &str) -> Self {
        let trimmed = base_path.trim_end_matches('/');
        let base_path = if trimmed.starts_with('/') {
            trimmed.to_string()
        } else {
            format!("/{trimmed}")
        };
        AppState {
            service,
            tokens: Arc::new(tokens),
            tenancy: Arc::new(Tenancy::default()),
            admin: Arc::new(AdminAuth::Off),
            access: None,
            base_path: base_path.into(),
            public_url: None,
            metrics: None,
            trust_forwarded: false,
        }
    }

    /// Accepts OAuth access tokens verified by `access`.
    pub fn with_access_tokens(mut self, access: Arc<AccessTokens>) -> Self {
        self.access = Some(access);
        self
    }

    /// Turns the per-request Embedded Metric Format line on or off.
    pub fn with_metrics(mut self, settings: Option<MetricSettings>) -> Self {
        self.metrics = settings.map(Arc::new);
        self
    }

    /// Lets `X-Forwarded-Host`/`-Proto` shape response URLs (behind a trusted proxy only).
    pub fn with_trusted_forwarding(mut self, on: bool) -> Self {
        self.trust_forwarded = on;
        self
    }

    /// Replaces the tenancy state (tests use one on a manual clock; Lambda turns the
    /// in-process purge off).
    pub fn with_tenancy(mut self, tenancy: Tenancy) -> Self {
        self.tenancy = Arc::new(tenancy);
        self
    }

    /// Sets who may call the admin API (default: nobody, and it answers 404).
    pub fn with_admin(mut self, admin: AdminAuth) -> Self {
        self.admin = Arc::new(admin);
        self
    }

    /// Sets the public base URL used in `meta.location` and `Location`.
    pub fn with_public_url(mut self, url: Option<&str>) -> Self {
        self.public_url = url.map(|u| Arc::from(u.trim_end_matches('/')));
        self
    }
}
