//! OAuth settings of `serve` (flattened into its arguments) and the wiring they drive.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::AuthServer;
use crate::auth::access::AccessTokens;
use crate::auth::issuers::Issuers;
use crate::auth::liveness::{LivenessCache, StoreLiveness, TenantStatus};
use crate::auth::signing::SigningKeys;
use crate::clock::Clock;
use crate::oauth::access::Lifetime;
use crate::store::oauth::OAuthStore;

/// OAuth options.
#[derive(Debug, Clone, clap::Args)]
pub struct OAuthArgs {
    /// Secrets Manager secret (ARN or name) whose AWSCURRENT/AWSPREVIOUS values seed the
    /// access-token signing keys. In Lambda, OAuth is on only when it is set.
    #[arg(long, env = "SCIM_SIGNING_KEY_SECRET_ID")]
    pub signing_key_secret_id: Option<String>,
    /// Seed of the signing key of a local server (default: random per process, so tokens do
    /// not survive a restart).
    #[arg(long, env = "SCIM_SIGNING_KEY", hide_env_values = true)]
    pub signing_key: Option<SecretString>,
    /// Fixed issuer of access tokens, e.g. `https://scim.example.com` (default: the origin of
    /// each request, as for SCIM URLs).
    #[arg(long, env = "SCIM_OAUTH_ISSUER")]
    pub oauth_issuer: Option<String>,
    /// Access-token lifetime in seconds, 3600 to 21600.
    #[arg(long, env = "SCIM_ACCESS_TOKEN_LIFETIME", default_value_t = 3600)]
    pub access_token_lifetime: i64,
}

/// What the wiring produces: the use cases (for the routes) and the verifier (for the bearer
/// layer).
pub struct OAuth<O> {
    /// The authorization server.
    pub server: Arc<AuthServer<O>>,
    /// The access-token verifier.
    pub access: Arc<AccessTokens>,
}

/// Everything [`wire`] needs.
pub struct Wiring<O> {
    /// The OAuth store.
    pub store: Arc<O>,
    /// Signing keys.
    pub keys: Arc<SigningKeys>,
    /// Wall clock.
    pub clock: Arc<dyn Clock>,
    /// Tenant status (the tenant registry's seam).
    pub tenants: Arc<dyn TenantStatus>,
    /// Access-token lifetime.
    pub lifetime: Lifetime,
    /// Fixed issuer, if any.
    pub issuer: Option<String>,
    /// SCIM base path.
    pub base_path: String,
    /// Whether federated issuers may be loopback `http` (local runs only).
    pub allow_loopback_http: bool,
}

/// Builds the authorization server and the verifier over one liveness cache.
pub fn wire<O: OAuthStore>(w: Wiring<O>) -> OAuth<O> {
    let liveness = Arc::new(LivenessCache::new(
        Arc::new(StoreLiveness::new(
            Arc::clone(&w.store),
            Arc::clone(&w.tenants),
        )),
        Arc::clone(&w.clock),
    ));
    let issuers = Arc::new(Issuers::new(w.allow_loopback_http, Arc::clone(&w.clock)));
    let issuer = w.issuer.map(|i| i.trim_end_matches('/').to_string());
    let base_path = format!("/{}", w.base_path.trim_matches('/'));
    let audience = issuer.as_ref().map(|i| format!("{i}{base_path}"));
    let access = Arc::new(AccessTokens::new(
        Arc::clone(&w.keys),
        audience,
        Arc::clone(&w.clock),
        Arc::clone(&liveness),
    ));
    let server = Arc::new(AuthServer {
        store: w.store,
        keys: w.keys,
        issuers,
        clock: w.clock,
        lifetime: w.lifetime,
        tenants: w.tenants,
        liveness,
        issuer,
        base_path,
    });
    OAuth { server, access }
}

impl OAuthArgs {
    /// The local signing-key seed as bytes.
    pub fn local_seed(&self) -> Option<Vec<u8>> {
        self.signing_key
            .as_ref()
            .map(|s| s.expose_secret().as_bytes().to_vec())
    }
}
