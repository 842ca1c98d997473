//! Verifying OAuth access tokens on SCIM requests: the signature with the signing keys in
//! memory, the claims against the clock, and the tenant and client against the per-instance
//! [`LivenessCache`]. No store read per request; at most one per client per minute.

use std::sync::Arc;

use super::liveness::LivenessCache;
use super::signing::SigningKeys;
use super::{AuthError, Principal};
use crate::oauth::clock::WallClock;
use crate::oauth::keys::VerifyError;

/// The access-token verifier the bearer layer tries first for JWT-shaped tokens.
pub struct AccessTokens {
    keys: Arc<SigningKeys>,
    audience: Option<String>,
    clock: Arc<dyn WallClock>,
    liveness: Arc<LivenessCache>,
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
        clock: Arc<dyn WallClock>,
        liveness: Arc<LivenessCache>,
    ) -> Self {
        AccessTokens {
            keys,
            audience,
            clock,
            liveness,
        }
    }

    /// Verifies `token` and names the caller.
    ///
    /// # Errors
    /// `Invalid` for a bad, expired or foreign token or a dead tenant or client;
    /// `Unavailable` when liveness cannot be decided.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let now = self.clock.now();
        let claims = match self.keys.fresh(now, false).await.verify(token) {
            Err(VerifyError::UnknownKey) => self.keys.fresh(now, true).await.verify(token),
            other => other,
        }
        .map_err(|_| AuthError::Invalid)?;
        let tenant = claims
            .check(now, self.audience.as_deref())
            .map_err(|_| AuthError::Invalid)?;
        if self.liveness.check(&tenant, &claims.client_id).await? {
            Ok(Principal { tenant })
        } else {
            Err(AuthError::Invalid)
        }
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
