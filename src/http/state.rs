//! The state every handler shares.

use std::sync::Arc;

use crate::auth::{AuthError, SecretsManagerToken, StaticToken, TokenSource};
use crate::service::Service;
use crate::store::Store;

/// The token sources this binary can be configured with.
///
/// An enum rather than a second type parameter: the store is the one generic seam, and the
/// token source is chosen once at start-up.
pub enum Tokens {
    /// A fixed token (local runs, tests).
    Static(StaticToken),
    /// The `AWSCURRENT` and `AWSPREVIOUS` versions of a Secrets Manager secret (production).
    SecretsManager(SecretsManagerToken),
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tokens::Static(_) => f.write_str("Tokens::Static"),
            Tokens::SecretsManager(_) => f.write_str("Tokens::SecretsManager"),
        }
    }
}

impl TokenSource for Tokens {
    async fn verify(&self, presented: &str) -> Result<(), AuthError> {
        match self {
            Tokens::Static(t) => t.verify(presented).await,
            Tokens::SecretsManager(t) => t.verify(presented).await,
        }
    }
}

/// Shared state: the service, the token source and the URL settings. Cheap to clone.
#[derive(Debug)]
pub struct AppState<S: Store> {
    /// The use cases.
    pub service: Arc<Service<S>>,
    /// Who may call.
    pub tokens: Arc<Tokens>,
    /// Base path of the SCIM API, e.g. `/scim/v2` (no trailing slash).
    pub base_path: Arc<str>,
    /// Public base URL (e.g. `https://api.example.com/scim/v2`) used in `meta.location`; when
    /// unset it is derived from each request's `Host` and forwarding headers.
    pub public_url: Option<Arc<str>>,
    /// Whether to print a CloudWatch Embedded Metric Format line per request (in Lambda).
    pub metrics: bool,
}

impl<S: Store> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            service: Arc::clone(&self.service),
            tokens: Arc::clone(&self.tokens),
            base_path: Arc::clone(&self.base_path),
            public_url: self.public_url.clone(),
            metrics: self.metrics,
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
            base_path: base_path.into(),
            public_url: None,
            metrics: false,
        }
    }

    /// Turns the per-request Embedded Metric Format line on or off.
    pub fn with_metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// Sets the public base URL used in `meta.location` and `Location`.
    pub fn with_public_url(mut self, url: Option<&str>) -> Self {
        self.public_url = url.map(|u| Arc::from(u.trim_end_matches('/')));
        self
    }
}
