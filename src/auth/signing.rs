//! Where the access-token signing keys come from: a fixed ring (local runs, tests) or the
//! `AWSCURRENT` and `AWSPREVIOUS` versions of a Secrets Manager secret holding key seeds (see
//! [`crate::oauth::keys`]), so a rotation (a new `AWSCURRENT`) signs with the new key at once
//! on new instances while every instance still verifies tokens signed with the old one.
//!
//! Running instances pick a rotation up within [`REFRESH_TTL`], and at once (at most every
//! [`UNKNOWN_KID_INTERVAL`]) when they meet a token whose `kid` they do not know, which is how
//! a token signed by a newer instance is accepted by an older one.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

use super::AuthError;
use crate::oauth::keys::{KeyError, KeyRing, SigningKey};

/// How long loaded keys are used before the secret is read again.
pub const REFRESH_TTL: i64 = 300;
/// Least time between two reads caused by an unknown `kid`.
pub const UNKNOWN_KID_INTERVAL: i64 = 30;

/// The secret holds no current seed: OAuth cannot sign, so the function refuses to start.
#[derive(Debug, thiserror::Error)]
#[error("the signing-key secret has no AWSCURRENT value")]
pub struct NoSigningKey;

struct Loader {
    client: Client,
    secret_id: String,
}

#[derive(Default)]
struct Times {
    loaded_at: i64,
    attempted_at: i64,
}

/// The signing keys in force.
pub struct SigningKeys {
    ring: RwLock<Arc<KeyRing>>,
    loader: Option<Loader>,
    times: RwLock<Times>,
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKeys({:?})", self.ring().kids())
    }
}

impl SigningKeys {
    /// A fixed ring that never changes.
    pub fn fixed(ring: KeyRing) -> Self {
        SigningKeys {
            ring: RwLock::new(Arc::new(ring)),
            loader: None,
            times: RwLock::new(Times::default()),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// Keys from a local seed, or a random key when none is given.
    ///
    /// # Errors
    /// When the seed is empty or the OS random source fails.
    pub fn local(seed: Option<&[u8]>) -> Result<Self, KeyError> {
        let key = match seed {
            Some(s) => SigningKey::from_seed(s)?,
            None => SigningKey::random()?,
        };
        Ok(Self::fixed(KeyRing::new(key)))
    }

    /// Loads the keys from the secret `secret_id` now (start-up), at time `now`.
    ///
    /// # Errors
    /// `Unavailable` when Secrets Manager fails or the secret has no current value.
    pub async fn from_secrets_manager(
        client: Client,
        secret_id: impl Into<String>,
        now: i64,
    ) -> Result<Self, AuthError> {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(1))
            .operation_timeout(Duration::from_secs(3))
            .build();
        let config = client
            .config()
            .to_builder()
            .timeout_config(timeouts)
            .build();
        let loader = Loader {
            client: Client::from_conf(config),
            secret_id: secret_id.into(),
        };
        let ring = loader.load().await?;
        Ok(SigningKeys {
            ring: RwLock::new(Arc::new(ring)),
            loader: Some(loader),
            times: RwLock::new(Times {
                loaded_at: now,
                attempted_at: now,
            }),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    /// The ring in force.
    pub fn ring(&self) -> Arc<KeyRing> {
        Arc::clone(&self.ring.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The ring, re-read from the secret first when it is older than [`REFRESH_TTL`] (or, with
    /// `unknown_kid`, when the last read is older than [`UNKNOWN_KID_INTERVAL`]). A failed
    /// read keeps the ring in force: keys do not expire, and a rotation is rare.
    pub async fn fresh(&self, now: i64, unknown_kid: bool) -> Arc<KeyRing> {
        let Some(loader) = &self.loader else {
            return self.ring();
        };
        if !self.due(now, unknown_kid) {
            return self.ring();
        }
        let _flight = self.refreshing.lock().await;
        if !self.due(now, unknown_kid) {
            return self.ring();
        }
        let loaded = loader.load().await;
        let mut times = self.times.write().unwrap_or_else(|e| e.into_inner());
        times.attempted_at = now;
        match loaded {
            Ok(ring) => {
                times.loaded_at = now;
                *self.ring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ring);
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not refresh the signing keys; keeping the loaded ones")
            }
        }
        drop(times);
        self.ring()
    }

    fn due(&self, now: i64, unknown_kid: bool) -> bool {
        let t = self.times.read().unwrap_or_else(|e| e.into_inner());
        now - t.attempted_at >= UNKNOWN_KID_INTERVAL
            && (unknown_kid || now - t.loaded_at >= REFRESH_TTL)
    }
}

impl Loader {
    async fn load(&self) -> Result<KeyRing, AuthError> {
        let (current, previous) = tokio::join!(self.stage("AWSCURRENT"), self.stage("AWSPREVIOUS"));
        let current = current?.ok_or_else(|| AuthError::Unavailable(Box::new(NoSigningKey)))?;
        let previous = previous?;
        let key = |seed: &str| {
            SigningKey::from_seed(seed.as_bytes()).map_err(|e| AuthError::Unavailable(Box::new(e)))
        };
        let previous = match previous {
            Some(p) => Some(key(&p)?),
            None => None,
        };
        Ok(KeyRing::new(key(&current)?).with_previous(previous))
    }

    async fn stage(&self, stage: &str) -> Result<Option<String>, AuthError> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(stage)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out
                .secret_string()
                .filter(|s| !s.is_empty())
                .map(str::to_string)),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetSecretValueError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => {
                tracing::warn!(
                    error = %aws_sdk_secretsmanager::error::DisplayErrorContext(&e),
                    "could not read the signing-key secret"
                );
                Err(AuthError::Unavailable(Box::new(e)))
            }
        }
    }
}
