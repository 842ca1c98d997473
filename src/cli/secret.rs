//! The bearer token in Secrets Manager: `scim-lambda token rotate` (the "Generate" button of
//! a SaaS admin console) and `token drop-previous` (after a leak, stops the previous token
//! from working without waiting for a second rotation).

use aws_sdk_secretsmanager::Client;
use secrecy::{ExposeSecret, SecretString};

use crate::auth::generate_token;

/// What the command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropOutcome {
    /// The `AWSPREVIOUS` stage was removed from this version (its value is kept, unstaged, so
    /// no function accepts it any more).
    Dropped {
        /// The version that held `AWSPREVIOUS`.
        version_id: String,
    },
    /// No version held `AWSPREVIOUS` (the secret was never rotated, or it was dropped before).
    NothingToDrop,
}

/// Errors of the command.
#[derive(Debug, thiserror::Error)]
pub enum DropError {
    /// Secrets Manager refused or could not be reached.
    #[error("could not change the secret's version stages in Secrets Manager")]
    SecretsManager(#[source] Box<dyn std::error::Error + Send + Sync>),
}

const PREVIOUS: &str = "AWSPREVIOUS";

/// Removes the `AWSPREVIOUS` stage from the secret's version that holds it.
///
/// The function accepts only the `AWSCURRENT` and `AWSPREVIOUS` values, so once this returns
/// the previous token is refused as soon as each instance refreshes its cache (at most its TTL,
/// 5 minutes). `AWSCURRENT` is never touched, and a later `token rotate` stages a new previous
/// version as usual.
///
/// # Errors
/// `SecretsManager` (no permission for `DescribeSecret` or `UpdateSecretVersionStage`, a
/// missing secret, the network).
pub async fn drop_previous_token(
    client: &Client,
    secret_id: &str,
) -> Result<DropOutcome, DropError> {
    let described = client
        .describe_secret()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| DropError::SecretsManager(Box::new(e)))?;
    let previous = described
        .version_ids_to_stages()
        .into_iter()
        .flatten()
        .find(|(_, stages)| stages.iter().any(|s| s == PREVIOUS))
        .map(|(version, _)| version.clone());
    let Some(version_id) = previous else {
        return Ok(DropOutcome::NothingToDrop);
    };
    client
        .update_secret_version_stage()
        .secret_id(secret_id)
        .version_stage(PREVIOUS)
        .remove_from_version_id(&version_id)
        .send()
        .await
        .map_err(|e| DropError::SecretsManager(Box::new(e)))?;
    Ok(DropOutcome::Dropped { version_id })
}

/// Errors of a rotation.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// The OS random source failed.
    #[error("could not generate a token")]
    Random(#[source] getrandom::Error),
    /// Secrets Manager refused or could not be reached.
    #[error("could not store the new token in Secrets Manager")]
    SecretsManager(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Writes a new strong random token as the secret's `AWSCURRENT` version and returns it.
///
/// Secrets Manager moves the version it replaces to `AWSPREVIOUS`, which the function keeps
/// accepting until the next rotation: clients configured with the old token keep working while
/// the admin pastes the new one into Entra.
///
/// # Errors
/// `Random` or `SecretsManager`.
pub async fn rotate_token(client: &Client, secret_id: &str) -> Result<SecretString, RotateError> {
    let token = generate_token().map_err(RotateError::Random)?;
    client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(token.expose_secret())
        .send()
        .await
        .map_err(|e| RotateError::SecretsManager(Box::new(e)))?;
    Ok(token)
}
