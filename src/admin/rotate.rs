//! `scim-lambda token rotate`: the "Generate" button of a SaaS admin console.

use aws_sdk_secretsmanager::Client;
use secrecy::{ExposeSecret, SecretString};

use crate::auth::generate_token;

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
