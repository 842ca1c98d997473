//! Verifying OAuth access tokens on SCIM requests: the signature with the signing keys in
//! memory, the claims against the clock, and the tenant and client against the per-instance
//! [`LivenessCache`]. No store read per request; at most one per client per minute.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};

use super::liveness::LivenessCache;
use super::signing::SigningKeys;
use super::{AuthError, Principal};
use crate::clock::Clock;
use crate::oauth::access::SKEW_SECS;
use crate::oauth::keys::VerifyError;
use crate::tenant::TenantId;

/// Most verified tokens remembered per instance.
pub const MAX_VERIFIED: usize = 10_000;

/// What a verified token established.
#[derive(Debug, Clone)]
struct Verified {
    tenant: TenantId,
    client_id: String,
    exp: i64,
    kid: String,
}

/// The access-token verifier the bearer layer tries first for JWT-shaped tokens.
pub struct AccessTokens {
    keys: Arc<SigningKeys>,
    audience: Option<String>,
    clock: Arc<dyn Clock>,
    liveness: Arc<LivenessCache>,
    verified: RwLock<HashMap<[u8; 32], Verified>>,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens")
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// Whether a bearer value has the shape of a JWS compact serialisation (three base64url
/// parts, a JSON header): static and registry tokens never do.
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

impl AccessTokens {
    /// A verifier over `keys`; `audience` is the fixed SCIM audience when the deployment has a
    /// fixed issuer (see [`crate::oauth::access::AccessClaims::check`]).
    pub fn new(
        keys: Arc<SigningKeys>,
        audience: Option<String>,
        clock: Arc<dyn Clock>,
        liveness: Arc<LivenessCache>,
    ) -> Self {
        AccessTokens {
            keys,
            audience,
            clock,
            liveness,
            verified: RwLock::new(HashMap::new()),
        }
    }

    /// Verifies `token` and names the caller.
    ///
    /// A token whose signature verified is remembered by its SHA-256 digest until it expires,
    /// so the client's next requests with it (Entra reuses one for its whole lifetime) cost a
    /// digest and a map lookup instead of an ECDSA verification and a JSON parse. Only tokens
    /// that verified are remembered: random tokens cannot fill the map.
    ///
    /// # Errors
    /// `Invalid` for a bad, expired or foreign token or a dead tenant or client;
    /// `Unavailable` when liveness cannot be decided.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let now = self.clock.now();
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let known = self.read_verified().get(&digest).cloned();
        let verified = match known {
            Some(v) if self.keys.ring().has(&v.kid) => v,
            _ => self.verify(token, now, digest).await?,
        };
        if verified.exp + SKEW_SECS <= now {
            return Err(AuthError::Invalid);
        }
        if self
            .liveness
            .check(&verified.tenant, &verified.client_id)
            .await?
        {
            Ok(Principal {
                tenant: verified.tenant,
            })
        } else {
            Err(AuthError::Invalid)
        }
    }

    async fn verify(&self, token: &str, now: i64, digest: [u8; 32]) -> Result<Verified, AuthError> {
        let mut ring = self.keys.fresh(now, false).await;
        let mut verified = ring.verify(token);
        if verified == Err(VerifyError::UnknownKey) {
            ring = self.keys.fresh(now, true).await;
            verified = ring.verify(token);
        }
        let claims = verified.map_err(|_| AuthError::Invalid)?;
        let tenant = claims
            .check(now, self.audience.as_deref())
            .map_err(|_| AuthError::Invalid)?;
        let kid = jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|h| h.kid)
            .ok_or(AuthError::Invalid)?;
        let v = Verified {
            tenant,
            client_id: claims.client_id,
            exp: claims.exp,
            kid,
        };
        let mut map = self.verified.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_VERIFIED {
            // Expired entries go first; if every entry is live the map starts over.
            map.retain(|_, e| e.exp + SKEW_SECS > now);
            if map.len() >= MAX_VERIFIED {
                map.clear();
            }
        }
        map.insert(digest, v.clone());
        Ok(v)
    }

    fn read_verified(&self) -> std::sync::RwLockReadGuard<'_, HashMap<[u8; 32], Verified>> {
        self.verified.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_jws_shapes_look_like_jwts() {
        let rows = [
            ("eyJhbGciOiJFUzI1NiJ9.eyJ9.sig", true),
            ("scim_abc_def", false),
            ("0123456789abcdef", false),
            ("eyJ.only-one-dot", false),
            ("eyJ.a.b.c", false),
        ];
        for (t, want) in rows {
            assert_eq!(looks_like_jwt(t), want, "{t}");
        }
    }
}
