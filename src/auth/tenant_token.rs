//! Per-tenant bearer tokens: `scim_<token id>_<secret>`.
//!
//! The `scim_` prefix makes a leaked token findable by secret scanners; the id lets one point
//! read find its record; the secret is 260 random bits, kept only as a SHA-256 digest. Parsing
//! is strict and happens before any store read, so a malformed token costs nothing but this
//! function.

use secrecy::{ExposeSecret, SecretString};

use super::TokenDigest;
use crate::tenant::{is_base32, random_base32};

/// What every tenant token starts with.
pub const PREFIX: &str = "scim_";
/// Length of a token id (lower-case base32, 100 bits: unique without coordination).
pub const ID_LEN: usize = 20;
/// Length of the secret (lower-case base32, 5 bits each: 260 bits).
pub const SECRET_LEN: usize = 52;

/// A token as presented, split into its parts (not yet verified).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presented<'a> {
    /// The token id: the key of its record.
    pub id: &'a str,
    /// The secret part.
    pub secret: &'a str,
}

impl Presented<'_> {
    /// The digest the record must hold for this secret.
    pub fn digest(&self) -> Option<TokenDigest> {
        TokenDigest::of(self.secret)
    }
}

/// Splits a presented bearer token, or `None` when it is not in the tenant-token format (it may
/// still be the single-tenant token).
pub fn parse(token: &str) -> Option<Presented<'_>> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (is_base32(id, ID_LEN) && is_base32(secret, SECRET_LEN)).then_some(Presented { id, secret })
}

/// A freshly minted token: shown once, stored only as `digest`.
pub struct Issued {
    /// The token id.
    pub id: String,
    /// The whole token, `scim_<id>_<secret>`.
    pub token: SecretString,
    /// SHA-256 of the secret.
    pub digest: TokenDigest,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Issued {{ id: {}, token: [redacted] }}", self.id)
    }
}

/// Mints a new token.
///
/// # Errors
/// When the OS random source fails.
pub fn issue() -> Result<Issued, getrandom::Error> {
    let id = random_base32(ID_LEN)?;
    let secret = SecretString::from(random_base32(SECRET_LEN)?);
    let digest = TokenDigest::of_secret(&secret).ok_or(getrandom::Error::UNSUPPORTED)?;
    let token = SecretString::from(format!("{PREFIX}{id}_{}", secret.expose_secret()));
    Ok(Issued { id, token, digest })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_parse_back_to_their_id_and_digest() {
        let issued = issue().unwrap();
        let presented = parse(issued.token.expose_secret()).unwrap();
        assert_eq!(presented.id, issued.id);
        assert!(presented.digest().unwrap().same_as(&issued.digest));
        assert!(!format!("{issued:?}").contains(presented.secret));
    }

    #[test]
    fn only_well_formed_tokens_parse() {
        let id = "a".repeat(ID_LEN);
        let secret = "b".repeat(SECRET_LEN);
        let rows = [
            (format!("scim_{id}_{secret}"), true),
            (format!("scim_{id}_{secret}x"), false),
            (format!("scim_{id}x_{secret}"), false),
            (format!("scim_{}_{secret}", id.to_uppercase()), false),
            (format!("scim_{id}{secret}"), false),
            (format!("SCIM_{id}_{secret}"), false),
            (format!("scim_{id}_{}", "1".repeat(SECRET_LEN)), false),
            ("scim_".to_string(), false),
            ("0123456789abcdef".to_string(), false),
        ];
        for (token, ok) in rows {
            assert_eq!(parse(&token).is_some(), ok, "{token}");
        }
    }
}
