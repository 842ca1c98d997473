//! The configuration resolved once: every later step reads [`Settings`], never the environment.

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use crate::auth::generate_token;
use crate::config::{ServeArgs, StoreKind};
use crate::feed::wiring::FeedSettings;
use crate::http::metrics::Settings as MetricSettings;

/// Where the process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A Lambda function: data must outlive the instance, credentials come from AWS.
    Lambda,
    /// A local server on `--listen`.
    Local,
}

impl Mode {
    /// Decided once from `AWS_LAMBDA_RUNTIME_API`, which Lambda sets for every function.
    #[must_use]
    pub fn detect() -> Mode {
        if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
            Mode::Lambda
        } else {
            Mode::Local
        }
    }
}

/// Where the bearer token comes from.
pub(super) enum TokenSetting {
    /// A Secrets Manager secret (its `AWSCURRENT` and `AWSPREVIOUS` versions).
    SecretsManager(String),
    /// A fixed token (local runs).
    Static(SecretString),
}

/// The API's configuration, resolved once.
pub struct Settings {
    pub(super) mode: Mode,
    pub(super) store: StoreKind,
    pub(super) token: TokenSetting,
    /// The per-request metrics line: in Lambda only.
    pub(super) metrics: Option<MetricSettings>,
    pub(super) args: ServeArgs,
}

impl Settings {
    /// Resolves `args` for `mode`, failing closed: a deployed function without a token secret,
    /// or one credential for both the SCIM and the admin routes, does not start.
    ///
    /// # Errors
    /// A setting that cannot work, or no random source for a generated local token.
    pub fn resolve(args: ServeArgs, mode: Mode) -> anyhow::Result<Settings> {
        // In Lambda the data must outlive the instance: the store is always DynamoDB.
        let store = match mode {
            Mode::Lambda => StoreKind::Dynamodb,
            Mode::Local => args.store,
        };
        let token = match (&args.token_secret_id, mode) {
            (Some(id), _) => TokenSetting::SecretsManager(id.clone()),
            // Fail closed: a deployed function without a secret would have no credential at all.
            (None, Mode::Lambda) => {
                anyhow::bail!("SCIM_TOKEN_SECRET_ID must name the token secret in Lambda")
            }
            (None, Mode::Local) => TokenSetting::Static(match &args.token {
                Some(t) => t.clone(),
                None => {
                    let t = generate_token().context("generating a token")?;
                    // Printed to the terminal on purpose, once, like an admin console's "Generate".
                    println!(
                        "SCIM bearer token (set SCIM_TOKEN to choose your own): {}",
                        t.expose_secret()
                    );
                    t
                }
            }),
        };
        if let (TokenSetting::Static(scim), Some(admin)) = (&token, &args.admin_token) {
            // One credential must never open both kinds of routes.
            if scim.expose_secret() == admin.expose_secret() {
                anyhow::bail!("SCIM_ADMIN_TOKEN must differ from SCIM_TOKEN");
            }
        }
        if args.cursor_key.is_none() && mode == Mode::Lambda {
            tracing::warn!("SCIM_CURSOR_KEY is not set: cursors will not work across instances");
        }
        let metrics = match mode {
            Mode::Lambda => {
                let (metrics, unknown) = MetricSettings::from_values(
                    Some(&args.metrics),
                    args.metrics_stack.as_deref(),
                    args.function_name.as_deref(),
                );
                if let Some(value) = unknown {
                    tracing::warn!(value, "SCIM_METRICS is not full, status or off; using full");
                }
                Some(metrics)
            }
            Mode::Local => None,
        };
        Ok(Settings {
            mode,
            store,
            token,
            metrics,
            args,
        })
    }

    /// Whether serving needs the AWS configuration at all (a local server on the embedded store
    /// with a fixed token and a local signing key does not).
    pub(super) fn needs_aws(&self) -> bool {
        self.store == StoreKind::Dynamodb
            || matches!(self.token, TokenSetting::SecretsManager(_))
            || self.args.oauth.signing_key_secret_id.is_some()
    }
}

/// The change feed's settings from the flags.
pub(super) fn feed_settings(args: &ServeArgs) -> FeedSettings {
    FeedSettings {
        event_bus: args.event_bus.clone(),
        delivery_queue_url: args.delivery_queue_url.clone(),
        dead_letter_queue_url: args.dead_letter_queue_url.clone(),
        retention_secs: args.event_retention_days.saturating_mul(86_400),
    }
}
