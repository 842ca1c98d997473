//! `POST /oauth2/token`: client credentials (RFC 6749 §4.4) with a client secret or a
//! federated assertion (RFC 7523 §2.2).

use secrecy::{ExposeSecret, SecretString};

use super::AuthServer;
use crate::auth::issuers::IssuerError;
use crate::oauth::OAuthError;
use crate::oauth::access::AccessClaims;
use crate::oauth::assertion::{self, ALGORITHMS, AssertionClaims, Expected};
use crate::oauth::keys::decode_unchecked;
use crate::oauth::secret::{IdKind, MAX_PRESENTED_LEN, SecretDigest};
use crate::store::oauth::{ClientRecord, OAuthStore};
use crate::store::{StoreError, TenantId};

/// How often `lastUsedAt` is written at most: coarse, never a write per token request.
pub const LAST_USED_GRANULARITY_SECS: i64 = 300;
/// Longest assertion accepted.
pub const MAX_ASSERTION_LEN: usize = 16 * 1024;
/// Most `aud` values of one assertion looked up.
const MAX_AUDIENCES: usize = 4;

/// How the client authenticated.
pub enum ClientAuth {
    /// `client_secret_basic` or `client_secret_post`.
    Secret {
        /// The client id.
        client_id: String,
        /// The presented secret.
        secret: SecretString,
    },
    /// A federated issuer's signed assertion.
    Assertion {
        /// `client_id`, when sent: it must be the federated credential's id.
        client_id: Option<String>,
        /// The compact JWS.
        assertion: SecretString,
    },
}

/// A token request, as parsed by the HTTP layer.
pub struct TokenRequest {
    /// `grant_type`.
    pub grant_type: String,
    /// The client's authentication.
    pub auth: ClientAuth,
}

/// A successful answer.
#[derive(Debug)]
pub struct Issued {
    /// The signed access token.
    pub access_token: SecretString,
    /// Seconds until it expires.
    pub expires_in: i64,
}

fn unavailable(e: &StoreError) -> OAuthError {
    tracing::warn!(error = %e, "OAuth store failed");
    match e {
        StoreError::Unavailable(_) | StoreError::Throttled { .. } => {
            OAuthError::TemporarilyUnavailable
        }
        _ => OAuthError::ServerError,
    }
}

impl<O: OAuthStore> AuthServer<O> {
    /// Authenticates the client and issues an access token; `origin` is the request's origin
    /// (used as the issuer when none is fixed).
    ///
    /// # Errors
    /// The RFC 6749 error to answer.
    pub async fn token(&self, request: TokenRequest, origin: &str) -> Result<Issued, OAuthError> {
        if request.grant_type != "client_credentials" {
            return Err(OAuthError::UnsupportedGrantType);
        }
        let now = self.clock.now();
        let (tenant, client_id) = match request.auth {
            ClientAuth::Secret { client_id, secret } => {
                self.secret_client(&client_id, &secret, now).await?
            }
            ClientAuth::Assertion {
                client_id,
                assertion,
            } => {
                self.federated_client(client_id.as_deref(), &assertion, now)
                    .await?
            }
        };
        let active = self.tenants.is_active(&tenant).await.map_err(|e| {
            tracing::warn!(error = %e, "tenant status unavailable");
            OAuthError::TemporarilyUnavailable
        })?;
        if !active {
            return Err(OAuthError::InvalidGrant("the tenant is disabled"));
        }
        let issuer = self.issuer_or(origin);
        let audience = format!("{}{}", issuer.trim_end_matches('/'), self.base_path);
        let claims =
            AccessClaims::issue(issuer, &audience, &client_id, &tenant, now, self.lifetime);
        let token = self
            .keys
            .fresh(now, false)
            .await
            .sign(&claims)
            .map_err(|e| {
                tracing::error!(error = %e, "signing an access token failed");
                OAuthError::ServerError
            })?;
        tracing::info!(tenant = %tenant, client_id = %client_id, "access token issued");
        Ok(Issued {
            access_token: SecretString::from(token),
            expires_in: self.lifetime.seconds(),
        })
    }

    async fn secret_client(
        &self,
        client_id: &str,
        secret: &SecretString,
        now: i64,
    ) -> Result<(TenantId, String), OAuthError> {
        const REFUSED: OAuthError = OAuthError::InvalidClient("client authentication failed");
        if !IdKind::Client.matches(client_id) || secret.expose_secret().len() > MAX_PRESENTED_LEN {
            return Err(REFUSED);
        }
        let client = self
            .store
            .client(client_id)
            .await
            .map_err(|e| unavailable(&e))?
            .ok_or(REFUSED)?;
        if client.revoked_at.is_some() {
            return Err(REFUSED);
        }
        // Every secret is compared (constant time each), so timing does not tell which matched.
        let matched = client
            .secrets
            .iter()
            .filter(|s| SecretDigest::from_hex(&s.digest).is_some_and(|d| d.matches(secret)))
            .map(|s| (s.id.clone(), s.expires_at, s.last_used_at))
            .next_back();
        let Some((secret_id, expires_at, last_used)) = matched else {
            return Err(REFUSED);
        };
        if expires_at.is_some_and(|e| e <= now) {
            return Err(OAuthError::InvalidClient("the client secret has expired"));
        }
        let tenant = client.tenant.clone();
        if last_used.is_none_or(|t| now - t >= LAST_USED_GRANULARITY_SECS) {
            self.touch(client, &secret_id, now).await;
        }
        Ok((tenant, client_id.to_string()))
    }

    /// Writes `lastUsedAt`; a lost race or a failure only costs the timestamp.
    async fn touch(&self, mut client: ClientRecord, secret_id: &str, now: i64) {
        for s in client.secrets.iter_mut().filter(|s| s.id == secret_id) {
            s.last_used_at = Some(now);
        }
        client.version += 1;
        if let Err(e) = self.store.replace_client(&client).await {
            tracing::debug!(error = %e, "lastUsedAt not written");
        }
    }

    async fn federated_client(
        &self,
        client_id: Option<&str>,
        assertion: &SecretString,
        now: i64,
    ) -> Result<(TenantId, String), OAuthError> {
        const REFUSED: OAuthError = OAuthError::InvalidClient("the client assertion is not valid");
        let jwt = assertion.expose_secret();
        if jwt.len() > MAX_ASSERTION_LEN {
            return Err(REFUSED);
        }
        let header = jsonwebtoken::decode_header(jwt).map_err(|_| REFUSED)?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(REFUSED);
        }
        let kid = header.kid.ok_or(REFUSED)?;
        // Unverified: only to find the credential and the key; nothing is trusted yet.
        let unverified: AssertionClaims = jsonwebtoken::dangerous::insecure_decode(jwt)
            .map(|d| d.claims)
            .map_err(|_| REFUSED)?;
        let mut credential = None;
        for aud in unverified.aud.values(MAX_AUDIENCES) {
            if let Some(f) = self
                .store
                .federated_by_claims(&unverified.iss, &unverified.sub, aud)
                .await
                .map_err(|e| unavailable(&e))?
            {
                credential = Some(f);
                break;
            }
        }
        let credential = credential.ok_or(REFUSED)?;
        if client_id.is_some_and(|c| c != credential.id) {
            return Err(REFUSED);
        }
        let (key, key_alg) = self
            .issuers
            .key(&credential.issuer, credential.jwks_uri.as_deref(), &kid)
            .await
            .map_err(|e| match e {
                IssuerError::Fetch { .. } => {
                    tracing::warn!(error = %e, "federated issuer unavailable");
                    OAuthError::TemporarilyUnavailable
                }
                other => {
                    tracing::info!(error = %other, "assertion key refused");
                    REFUSED
                }
            })?;
        if key_alg.is_some_and(|a| a != header.alg) {
            return Err(REFUSED);
        }
        let claims: AssertionClaims =
            decode_unchecked(jwt, &key, header.alg).map_err(|_| REFUSED)?;
        let expected = Expected {
            issuer: &credential.issuer,
            subject: &credential.subject,
            audience: &credential.audience,
        };
        let (jti, until) = assertion::check(&claims, expected, now).map_err(|e| {
            tracing::info!(reason = %e, credential = %credential.id, "assertion refused");
            REFUSED
        })?;
        let first_use = self
            .store
            .claim_jti(&credential.issuer, jti, until, now)
            .await
            .map_err(|e| unavailable(&e))?;
        if !first_use {
            tracing::warn!(credential = %credential.id, "replayed assertion refused");
            return Err(OAuthError::InvalidClient(
                "the client assertion was already used",
            ));
        }
        Ok((credential.tenant, credential.id))
    }
}
