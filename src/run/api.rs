//! The application the API function and the local server serve: service, token source,
//! tenancy, admin authentication and, when signing keys exist, OAuth, over a given store.

use std::sync::Arc;

use anyhow::Context;
use aws_config::SdkConfig;
use axum::Router;
use secrecy::ExposeSecret;

use super::settings::{Mode, Settings, TokenSetting};
use crate::auth::TokenDigest;
use crate::auth::signing::SigningKeys;
use crate::auth::{SecretsManagerToken, StaticToken};
use crate::clock::{Clock, SystemClock};
use crate::http::admin::AdminAuth;
use crate::http::app_with;
use crate::http::oauth::oauth_router;
use crate::http::oauth_admin::oauth_admin_router;
use crate::oauth::access::Lifetime;
use crate::oauth_server::settings::{Wiring, wire};
use crate::scim::cursor::CursorKey;
use crate::service::Service;
use crate::store::Store;
use crate::store::oauth::OAuthStore;
use crate::tenancy::Tenancy;
use crate::tenancy::status::RegistryTenantStatus;
use crate::{App, AppState, Tokens};

/// The application, and whether it serves the OAuth token endpoint (for the local banner).
pub(super) struct Api {
    pub(super) app: App,
    pub(super) oauth: bool,
}

/// The token source the settings name.
pub(super) fn tokens(settings: &Settings, aws: Option<&SdkConfig>) -> anyhow::Result<Tokens> {
    Ok(match (&settings.token, aws) {
        (TokenSetting::SecretsManager(id), Some(config)) => Tokens::SecretsManager {
            source: SecretsManagerToken::new(aws_sdk_secretsmanager::Client::new(config), id),
            tenant: settings.args.tenant.clone(),
        },
        (TokenSetting::Static(token), _) => {
            Tokens::Static(StaticToken::new(token).for_tenant(settings.args.tenant.clone()))
        }
        (TokenSetting::SecretsManager(_), None) => {
            anyhow::bail!("the AWS configuration was not loaded for the token secret")
        }
    })
}

/// The signing keys, or `None` when OAuth is off (in Lambda without a signing-key secret).
pub(super) async fn signing_keys(
    settings: &Settings,
    aws: Option<&SdkConfig>,
) -> anyhow::Result<Option<Arc<SigningKeys>>> {
    let oauth = &settings.args.oauth;
    let keys = match (&oauth.signing_key_secret_id, settings.mode) {
        (Some(id), _) => {
            let config = aws.context("the AWS configuration was not loaded for the signing key")?;
            let client = aws_sdk_secretsmanager::Client::new(config);
            SigningKeys::from_secrets_manager(client, id, SystemClock.now())
                .await
                .context("loading the access-token signing keys")?
        }
        (None, Mode::Lambda) => return Ok(None),
        (None, Mode::Local) => SigningKeys::local(oauth.local_seed().as_deref())
            .context("creating a local signing key")?,
    };
    Ok(Some(Arc::new(keys)))
}

/// The router over `store`, with the OAuth routes on `oauth_store` when `keys` exist.
pub(super) fn build<S: Store, O: OAuthStore>(
    store: S,
    oauth_store: O,
    tokens: Tokens,
    keys: Option<Arc<SigningKeys>>,
    settings: &Settings,
) -> anyhow::Result<Api> {
    let mut state = state(store, tokens, settings);
    let mut public = Router::new();
    let mut admin = Router::new();
    let oauth = keys.is_some();
    if let Some(keys) = keys {
        let args = &settings.args.oauth;
        let lifetime =
            Lifetime::new(args.access_token_lifetime).context("SCIM_ACCESS_TOKEN_LIFETIME")?;
        let wired = wire(Wiring {
            store: Arc::new(oauth_store),
            keys,
            clock: Arc::new(SystemClock),
            // Disabling or deleting a tenant in the registry refuses its clients and tokens.
            tenants: Arc::new(RegistryTenantStatus::new(Arc::clone(&state.service))),
            lifetime,
            issuer: args.oauth_issuer.clone(),
            base_path: settings.args.base_path.clone(),
            allow_loopback_http: settings.mode == Mode::Local,
        });
        state = state.with_access_tokens(wired.access);
        public = oauth_router::<S, O>(Arc::clone(&wired.server));
        admin = oauth_admin_router::<O>().with_state(wired.server);
    }
    Ok(Api {
        app: app_with(state, public, admin),
        oauth,
    })
}

fn state<S: Store>(store: S, tokens: Tokens, settings: &Settings) -> AppState<S> {
    let args = &settings.args;
    let mut service = Service::new(store);
    if let Some(key) = &args.cursor_key {
        service = service.with_cursor_key(CursorKey::derive(key.expose_secret().as_bytes()));
    }
    let admin = match (settings.mode, &args.admin_token) {
        (Mode::Lambda, _) => AdminAuth::Iam,
        (Mode::Local, Some(token)) => match TokenDigest::of_secret(token) {
            Some(d) => AdminAuth::Token(d),
            None => AdminAuth::Off,
        },
        (Mode::Local, None) => AdminAuth::Off,
    };
    let tenancy = Tenancy::new(Arc::new(SystemClock), args.tenant_requests_per_second)
        .with_background_purge(settings.mode == Mode::Local);
    AppState::new(service, tokens, &args.base_path)
        .with_tenancy(tenancy)
        .with_admin(admin)
        .with_public_url(args.public_url.as_deref())
        .with_trusted_forwarding(args.trust_forwarded_headers)
        .with_metrics(settings.metrics.clone())
}
