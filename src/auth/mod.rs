//! Bearer-token verification, independent of HTTP and of the store.
//!
//! Authentication answers "who is calling?" with a [`Principal`] ([`Tokens::authenticate`]).
//! Underneath, a [`TokenSource`] answers one question: is this presented token one of ours?
//! Tokens are kept as SHA-256 digests and compared in constant time, so neither the
//! comparison's timing nor a stray `Debug` can leak them. Sources: [`StaticToken`] (local runs,
//! tests) and, in production, the Secrets Manager source, both naming one tenant; tenant tokens
//! (`scim_<id>_<secret>`, [`tenant_token`]) name theirs through a record in the store, and
//! verified ones are kept in a [`cache::TokenCache`]. This module stays pure: the store read
//! happens in `crate::tenancy`.

pub(crate) mod access;
pub mod cache;
mod digest;
pub(crate) mod issuers;
pub mod liveness;
mod principal;
pub mod secrets_manager;
pub mod signing;
pub(crate) mod tenant_token;

pub use digest::TokenDigest;
pub use principal::{Principal, Tokens};
pub use secrets_manager::SecretsManagerToken;

use std::future::Future;

use secrecy::SecretString;

use crate::tenant::TenantId;

/// Why a request was not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header (401).
    #[error("a bearer token is required")]
    Missing,
    /// The token is not one of ours, or no token is configured (401).
    #[error("the bearer token is not valid")]
    Invalid,
    /// The token source could not be consulted (503): failing closed without blaming the client.
    #[error("the token store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// Something that knows the valid tokens.
pub trait TokenSource: Send + Sync + 'static {
    /// Checks a presented token.
    ///
    /// # Errors
    /// `Invalid` when it is not valid (or nothing is configured), `Unavailable` when the source
    /// cannot be reached and no cached value can decide.
    fn verify(&self, presented: &str) -> impl Future<Output = Result<(), AuthError>> + Send;
}

/// One fixed token, e.g. from `SCIM_TOKEN`, for one tenant. An empty token accepts nothing
/// (fail closed).
pub struct StaticToken {
    digest: Option<TokenDigest>,
    tenant: TenantId,
}

impl StaticToken {
    /// Keeps only the digest of `token`, which names the `default` tenant.
    pub fn new(token: &SecretString) -> Self {
        StaticToken {
            digest: TokenDigest::of_secret(token),
            tenant: TenantId::default(),
        }
    }

    /// The same token, naming `tenant` instead.
    pub fn for_tenant(mut self, tenant: TenantId) -> Self {
        self.tenant = tenant;
        self
    }

    /// The tenant this token names.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken([redacted])")
    }
}

impl TokenSource for StaticToken {
    async fn verify(&self, presented: &str) -> Result<(), AuthError> {
        match &self.digest {
            Some(d) if d.matches(presented) => Ok(()),
            _ => Err(AuthError::Invalid),
        }
    }
}

/// A new random token: 32 bytes from the OS, hex-encoded (URL-safe, 64 characters).
///
/// # Errors
/// When the OS random source fails.
pub fn generate_token() -> Result<SecretString, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(SecretString::from(hex::encode(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_token_accepts_only_itself() {
        let source = StaticToken::new(&SecretString::from("s3cret"));
        assert!(source.verify("s3cret").await.is_ok());
        assert!(matches!(
            source.verify("s3cre").await,
            Err(AuthError::Invalid)
        ));
        assert!(matches!(source.verify("").await, Err(AuthError::Invalid)));
    }

    #[tokio::test]
    async fn empty_token_rejects_everything() {
        let source = StaticToken::new(&SecretString::from(""));
        assert!(matches!(source.verify("").await, Err(AuthError::Invalid)));
        assert!(matches!(source.verify("x").await, Err(AuthError::Invalid)));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let source = StaticToken::new(&SecretString::from("s3cret"));
        assert!(!format!("{source:?}").contains("s3cret"));
    }

    #[test]
    fn generated_tokens_are_long_and_distinct() {
        use secrecy::ExposeSecret;
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_eq!(a.expose_secret().len(), 64);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
