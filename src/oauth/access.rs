//! Access tokens: their RFC 9068 claims, their lifetime, and the checks a verified token's
//! claims must pass.

use serde::{Deserialize, Serialize};

use crate::tenant::TenantId;

/// The JOSE `typ` of an access token (RFC 9068 §2.1): a token of another kind (an ID token, a
/// federated assertion) signed by the same key can never pass for one.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// Default lifetime: one hour.
pub const DEFAULT_LIFETIME_SECS: i64 = 3600;
/// Shortest lifetime allowed (Microsoft's gallery checklist: 60 to 360 minutes).
pub const MIN_LIFETIME_SECS: i64 = 3600;
/// Longest lifetime allowed.
pub const MAX_LIFETIME_SECS: i64 = 6 * 3600;
/// Clock skew tolerated on `iat`/`nbf`/`exp` between instances.
pub const SKEW_SECS: i64 = 60;

/// A lifetime outside one to six hours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the access-token lifetime must be between 3600 and 21600 seconds")]
pub struct InvalidLifetime;

/// An access-token lifetime in seconds, within one to six hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime(i64);

impl Lifetime {
    /// Checks `seconds`.
    ///
    /// # Errors
    /// [`InvalidLifetime`] outside 3600..=21600.
    pub fn new(seconds: i64) -> Result<Self, InvalidLifetime> {
        if (MIN_LIFETIME_SECS..=MAX_LIFETIME_SECS).contains(&seconds) {
            Ok(Lifetime(seconds))
        } else {
            Err(InvalidLifetime)
        }
    }

    /// Seconds.
    pub fn seconds(self) -> i64 {
        self.0
    }
}

impl Default for Lifetime {
    fn default() -> Self {
        Lifetime(DEFAULT_LIFETIME_SECS)
    }
}

/// The claims of an access token (RFC 9068 §2.2) plus the tenant it opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// This authorization server.
    pub iss: String,
    /// The client (or federated credential) the token was issued to; RFC 9068 makes it the
    /// subject when no user is involved.
    pub sub: String,
    /// The SCIM API the token is for.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Unique id of this token.
    pub jti: String,
    /// The client (RFC 8693 `client_id`), same as `sub`.
    pub client_id: String,
    /// The tenant whose directory the token opens.
    pub tenant: String,
}

/// Why verified claims are not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// `exp` is past (with skew).
    #[error("the access token has expired")]
    Expired,
    /// `iat` is in the future (with skew), or the lifetime is longer than any we issue.
    #[error("the access token's times are not plausible")]
    Implausible,
    /// `aud` or `iss` is not this API's.
    #[error("the access token is for another audience")]
    WrongAudience,
    /// The `tenant` claim is not a tenant id.
    #[error("the access token names no valid tenant")]
    BadTenant,
}

impl AccessClaims {
    /// Claims for a token issued at `now` to `client_id` of `tenant`.
    pub fn issue(
        issuer: &str,
        audience: &str,
        client_id: &str,
        tenant: &TenantId,
        now: i64,
        lifetime: Lifetime,
    ) -> Self {
        AccessClaims {
            iss: issuer.to_string(),
            sub: client_id.to_string(),
            aud: audience.to_string(),
            exp: now + lifetime.seconds(),
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: client_id.to_string(),
            tenant: tenant.as_str().to_string(),
        }
    }

    /// Checks times, audience and tenant of claims whose signature was verified; returns the
    /// tenant.
    ///
    /// `audience` is `None` when the deployment has no fixed issuer: the signature (a key only
    /// this deployment holds) already proves who issued the token, and `aud` must then only be
    /// consistent with `iss`.
    ///
    /// # Errors
    /// [`ClaimsError`] naming the first failed check.
    pub fn check(&self, now: i64, audience: Option<&str>) -> Result<TenantId, ClaimsError> {
        if self.exp + SKEW_SECS <= now {
            return Err(ClaimsError::Expired);
        }
        if self.iat > now + SKEW_SECS || self.exp - self.iat > MAX_LIFETIME_SECS {
            return Err(ClaimsError::Implausible);
        }
        let aud_ok = match audience {
            Some(a) => self.aud == a,
            None => self.aud.starts_with(self.iss.trim_end_matches('/')),
        };
        if !aud_ok || self.sub != self.client_id {
            return Err(ClaimsError::WrongAudience);
        }
        TenantId::parse(&self.tenant).map_err(|_| ClaimsError::BadTenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_one_to_six_hours() {
        let rows = [(3599, false), (3600, true), (21_600, true), (21_601, false)];
        for (s, ok) in rows {
            assert_eq!(Lifetime::new(s).is_ok(), ok, "{s}");
        }
        assert_eq!(Lifetime::default().seconds(), 3600);
    }

    #[test]
    fn claims_are_checked_for_time_audience_and_tenant() {
        let tenant = TenantId::parse("acme").unwrap();
        let aud = "https://api.example.com/scim/v2";
        let claims = AccessClaims::issue(
            "https://api.example.com",
            aud,
            "c_x",
            &tenant,
            1000,
            Lifetime::default(),
        );
        let mut future = claims.clone();
        future.iat = 5000;
        future.exp = 8600;
        let mut long = claims.clone();
        long.exp = long.iat + MAX_LIFETIME_SECS + 1;
        let mut bad_tenant = claims.clone();
        bad_tenant.tenant = "a#b".into();
        let mut foreign = claims.clone();
        foreign.aud = "https://other.example.com/scim/v2".into();
        let rows: [(
            &str,
            &AccessClaims,
            i64,
            Option<&str>,
            Result<TenantId, ClaimsError>,
        ); 8] = [
            ("fresh", &claims, 1000, Some(aud), Ok(tenant.clone())),
            ("no fixed issuer", &claims, 1000, None, Ok(tenant.clone())),
            (
                "within skew",
                &claims,
                4600 + SKEW_SECS - 1,
                Some(aud),
                Ok(tenant.clone()),
            ),
            (
                "expired",
                &claims,
                4600 + SKEW_SECS,
                Some(aud),
                Err(ClaimsError::Expired),
            ),
            (
                "issued in the future",
                &future,
                1000,
                Some(aud),
                Err(ClaimsError::Implausible),
            ),
            (
                "too long",
                &long,
                1000,
                Some(aud),
                Err(ClaimsError::Implausible),
            ),
            (
                "bad tenant",
                &bad_tenant,
                1000,
                Some(aud),
                Err(ClaimsError::BadTenant),
            ),
            (
                "other audience",
                &foreign,
                1000,
                None,
                Err(ClaimsError::WrongAudience),
            ),
        ];
        for (name, c, now, audience, want) in rows {
            assert_eq!(c.check(now, audience), want, "{name}");
        }
    }
}
