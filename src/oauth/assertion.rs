//! Workload identity federation (RFC 7523 §2.2, §3): the rules a federated issuer's client
//! assertion must pass before it stands for a tenant's client.
//!
//! The order of work at the token endpoint: read the assertion's claims *unverified* only to
//! find the federated credential they name ([`Unverified`]); verify the signature with the
//! issuer's key for the header's `kid`; then [`check`] the verified claims against the
//! credential and the clock; finally record the `jti` so it is never accepted twice.

use jsonwebtoken::Algorithm;
use serde::Deserialize;

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const SKEW_SECS: i64 = 60;
/// Longest remaining validity accepted: an assertion is a short-lived proof, and its `jti`
/// must be remembered until it expires.
pub const MAX_REMAINING_SECS: i64 = 24 * 3600;
/// Longest `jti` accepted.
pub const MAX_JTI_LEN: usize = 256;
/// The `client_assertion_type` of a JWT assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Signature algorithms accepted from federated issuers: asymmetric only (a symmetric `HS*`
/// key would have to be shared with us, and `none` is never a signature).
pub const ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// `aud` as JWTs carry it: one string or several.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// One audience.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl Audience {
    /// The audiences, at most `limit` (a request cannot make us do unbounded lookups).
    pub fn values(&self, limit: usize) -> Vec<&str> {
        match self {
            Audience::One(a) => vec![a.as_str()],
            Audience::Many(v) => v.iter().take(limit).map(String::as_str).collect(),
        }
    }

    fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(a) => a == audience,
            Audience::Many(v) => v.iter().any(|a| a == audience),
        }
    }
}

/// The claims of an assertion.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AssertionClaims {
    /// The federated issuer.
    pub iss: String,
    /// The workload.
    pub sub: String,
    /// Who the assertion is for.
    pub aud: Audience,
    /// Expiry (required).
    pub exp: i64,
    /// Not before (optional).
    pub nbf: Option<i64>,
    /// Issued at (optional).
    pub iat: Option<i64>,
    /// Unique id (required: replay protection rests on it).
    pub jti: Option<String>,
}

/// What an assertion claims, read before its signature is checked, used only to find the
/// credential and the issuer's key.
pub type Unverified = AssertionClaims;

/// The federated credential an assertion must match.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// Exact `iss`.
    pub issuer: &'a str,
    /// Exact `sub`.
    pub subject: &'a str,
    /// An exact member of `aud`.
    pub audience: &'a str,
}

/// Why an assertion was refused. Each is `invalid_client` on the wire; the variants exist for
/// tests and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// `iss`, `sub` or `aud` differ from the credential.
    #[error("the assertion's issuer, subject or audience does not match")]
    Mismatch,
    /// `exp` is past.
    #[error("the assertion has expired")]
    Expired,
    /// `nbf` or `iat` is in the future, or `exp` too far away.
    #[error("the assertion is not valid yet or lives too long")]
    NotYetValid,
    /// No usable `jti`.
    #[error("the assertion has no jti")]
    NoJti,
}

/// Checks verified claims against the credential at `now`; returns the `jti` and the expiry
/// to remember it until.
///
/// # Errors
/// [`AssertionError`] naming the first failed rule.
pub fn check<'c>(
    claims: &'c AssertionClaims,
    expected: Expected<'_>,
    now: i64,
) -> Result<(&'c str, i64), AssertionError> {
    if claims.iss != expected.issuer
        || claims.sub != expected.subject
        || !claims.aud.contains(expected.audience)
    {
        return Err(AssertionError::Mismatch);
    }
    if claims.exp + SKEW_SECS <= now {
        return Err(AssertionError::Expired);
    }
    let future = |t: Option<i64>| t.is_some_and(|t| t > now + SKEW_SECS);
    if future(claims.nbf) || future(claims.iat) || claims.exp - now > MAX_REMAINING_SECS {
        return Err(AssertionError::NotYetValid);
    }
    let jti = claims
        .jti
        .as_deref()
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or(AssertionError::NoJti)?;
    Ok((jti, claims.exp + SKEW_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AssertionClaims {
        AssertionClaims {
            iss: "https://issuer.example/tid/v2.0".into(),
            sub: "workload-1".into(),
            aud: Audience::One("api://scim".into()),
            exp: 2000,
            nbf: Some(1000),
            iat: Some(1000),
            jti: Some("j1".into()),
        }
    }

    const EXPECTED: Expected<'static> = Expected {
        issuer: "https://issuer.example/tid/v2.0",
        subject: "workload-1",
        audience: "api://scim",
    };

    #[test]
    fn assertions_are_checked_rule_by_rule() {
        let with = |f: fn(&mut AssertionClaims)| {
            let mut c = claims();
            f(&mut c);
            c
        };
        let rows: Vec<(&str, AssertionClaims, i64, Result<(), AssertionError>)> = vec![
            ("valid", claims(), 1500, Ok(())),
            (
                "audience among several",
                with(|c| c.aud = Audience::Many(vec!["x".into(), "api://scim".into()])),
                1500,
                Ok(()),
            ),
            (
                "other issuer",
                with(|c| c.iss.push('/')),
                1500,
                Err(AssertionError::Mismatch),
            ),
            (
                "other subject",
                with(|c| c.sub = "workload-2".into()),
                1500,
                Err(AssertionError::Mismatch),
            ),
            (
                "wrong audience",
                with(|c| c.aud = Audience::One("api://other".into())),
                1500,
                Err(AssertionError::Mismatch),
            ),
            (
                "audience differs in case",
                with(|c| c.aud = Audience::One("API://scim".into())),
                1500,
                Err(AssertionError::Mismatch),
            ),
            (
                "expired",
                claims(),
                2000 + SKEW_SECS,
                Err(AssertionError::Expired),
            ),
            (
                "expired within skew",
                claims(),
                2000 + SKEW_SECS - 1,
                Ok(()),
            ),
            (
                "not before",
                claims(),
                1000 - SKEW_SECS - 1,
                Err(AssertionError::NotYetValid),
            ),
            (
                "lives too long",
                with(|c| c.exp = 1500 + MAX_REMAINING_SECS + 1),
                1500,
                Err(AssertionError::NotYetValid),
            ),
            (
                "no jti",
                with(|c| c.jti = None),
                1500,
                Err(AssertionError::NoJti),
            ),
            (
                "empty jti",
                with(|c| c.jti = Some(String::new())),
                1500,
                Err(AssertionError::NoJti),
            ),
        ];
        for (name, c, now, want) in rows {
            assert_eq!(check(&c, EXPECTED, now).map(|_| ()), want, "{name}");
        }
        assert_eq!(
            check(&claims(), EXPECTED, 1500),
            Ok(("j1", 2000 + SKEW_SECS))
        );
    }

    #[test]
    fn audiences_parse_as_string_or_array() {
        let one: Audience = serde_json::from_str(r#""a""#).unwrap();
        let many: Audience = serde_json::from_str(r#"["a","b","c"]"#).unwrap();
        assert_eq!(one.values(2), vec!["a"]);
        assert_eq!(many.values(2), vec!["a", "b"]);
    }
}
