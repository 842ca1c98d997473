//! Who is calling: the [`Principal`] a verified credential names, and [`Tokens`], the
//! credentials this deployment accepts.

use super::{AuthError, SecretsManagerToken, StaticToken, TokenSource};
use crate::tenant::TenantId;

/// The caller a credential names. Every use case acts for `principal.tenant` and only for it:
/// the tenant always comes from the credential, never from the path, a body or a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The customer directory the credential belongs to.
    pub tenant: TenantId,
}

/// The credentials this binary accepts, chosen once at start-up.
///
/// An enum rather than a second type parameter: the store is the one generic seam.
pub enum Tokens {
    /// A fixed token (local runs, tests) for the `default` tenant, or the one it names.
    Static(StaticToken),
    /// The `AWSCURRENT` and `AWSPREVIOUS` versions of a Secrets Manager secret (a single-tenant
    /// deployment), for `tenant`.
    SecretsManager {
        /// The secret's versions.
        source: SecretsManagerToken,
        /// The tenant its tokens name.
        tenant: TenantId,
    },
}

impl Tokens {
    /// Verifies `presented` and names the caller.
    ///
    /// # Errors
    /// `Invalid` when it is not valid, `Unavailable` when the source cannot decide.
    pub async fn authenticate(&self, presented: &str) -> Result<Principal, AuthError> {
        match self {
            Tokens::Static(t) => t.verify(presented).await.map(|()| Principal {
                tenant: t.tenant().clone(),
            }),
            Tokens::SecretsManager { source, tenant } => {
                source.verify(presented).await.map(|()| Principal {
                    tenant: tenant.clone(),
                })
            }
        }
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tokens::Static(_) => f.write_str("Tokens::Static"),
            Tokens::SecretsManager { .. } => f.write_str("Tokens::SecretsManager"),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    #[tokio::test]
    async fn a_static_token_names_its_tenant() {
        let acme = TenantId::parse("acme").unwrap();
        let tokens = Tokens::Static(
            StaticToken::new(&SecretString::from("s3cret")).for_tenant(acme.clone()),
        );
        assert_eq!(tokens.authenticate("s3cret").await.unwrap().tenant, acme);
        assert!(matches!(
            tokens.authenticate("nope").await,
            Err(AuthError::Invalid)
        ));
        let default = Tokens::Static(StaticToken::new(&SecretString::from("s3cret")));
        assert_eq!(
            default.authenticate("s3cret").await.unwrap().tenant,
            TenantId::default()
        );
    }
}
