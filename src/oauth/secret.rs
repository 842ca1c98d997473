//! Identifiers and client secrets: their formats, generation and the digest kept at rest.
//!
//! - Client ids `c_` + 20 lower-case base32 characters (100 random bits): URL-safe, and the
//!   prefix tells an operator what kind of id a log line or a ticket names.
//! - Client secret ids `s_...` and federated-credential ids `f_...` alike.
//! - Client secrets `scimcs_` + 43 base64url characters (256 random bits). The prefix makes a
//!   leaked secret findable by secret scanners; only its SHA-256 digest is stored (a 256-bit
//!   random secret needs no slow password hash: nothing can be guessed from the digest), and a
//!   presented secret is compared to it in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of every client secret.
pub const SECRET_PREFIX: &str = "scimcs_";
/// Longest client secret or id accepted from a request (longer ones are refused unread).
pub const MAX_PRESENTED_LEN: usize = 256;

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The OS random source failed.
#[derive(Debug, thiserror::Error)]
#[error("the OS random source failed")]
pub struct RandomError(#[from] getrandom::Error);

/// What an id names, by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// An OAuth client (`c_`).
    Client,
    /// One secret of a client (`s_`).
    Secret,
    /// A federated credential (`f_`).
    Federated,
}

impl IdKind {
    fn prefix(self) -> &'static str {
        match self {
            IdKind::Client => "c_",
            IdKind::Secret => "s_",
            IdKind::Federated => "f_",
        }
    }

    /// A new random id of this kind.
    ///
    /// # Errors
    /// When the OS random source fails.
    pub fn generate(self) -> Result<String, RandomError> {
        let mut bytes = [0u8; 20];
        getrandom::fill(&mut bytes)?;
        let mut id = String::with_capacity(22);
        id.push_str(self.prefix());
        // One character per byte (5 of its 8 bits): 100 bits in 20 characters.
        id.extend(
            bytes
                .iter()
                .map(|b| char::from(BASE32[usize::from(b & 31)])),
        );
        Ok(id)
    }

    /// Whether `s` has this kind's shape (never trust a path segment to be one of ours).
    pub fn matches(self, s: &str) -> bool {
        s.strip_prefix(self.prefix())
            .is_some_and(|rest| rest.len() == 20 && rest.bytes().all(|b| BASE32.contains(&b)))
    }
}

/// A new client secret (shown once) and its digest (stored).
///
/// # Errors
/// When the OS random source fails.
pub fn generate_secret() -> Result<(SecretString, SecretDigest), RandomError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let secret = format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let digest = SecretDigest::of(&secret);
    Ok((SecretString::from(secret), digest))
}

/// The SHA-256 digest of a client secret, as stored (hex in the store's records).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// The digest of `secret`.
    pub fn of(secret: &str) -> Self {
        SecretDigest(Sha256::digest(secret.as_bytes()).into())
    }

    /// Parses the stored hex form.
    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(SecretDigest(out))
    }

    /// The stored hex form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Whether `presented` hashes to this digest, in constant time.
    pub fn matches(&self, presented: &SecretString) -> bool {
        let other = SecretDigest::of(presented.expose_secret());
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDigest([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_their_kind_shape() {
        for kind in [IdKind::Client, IdKind::Secret, IdKind::Federated] {
            let id = kind.generate().unwrap();
            assert!(kind.matches(&id), "{id}");
            assert_eq!(id.len(), 22);
        }
        let rows = [
            ("c_abcdefghijklmnopqrst", IdKind::Client, true),
            ("c_abcdefghijklmnopqrs1", IdKind::Client, false),
            ("c_ABCDEFGHIJKLMNOPQRST", IdKind::Client, false),
            ("s_abcdefghijklmnopqrst", IdKind::Client, false),
            ("c_abc", IdKind::Client, false),
            ("", IdKind::Federated, false),
        ];
        for (s, kind, ok) in rows {
            assert_eq!(kind.matches(s), ok, "{s}");
        }
    }

    #[test]
    fn secrets_are_prefixed_random_and_checked_by_digest() {
        let (a, da) = generate_secret().unwrap();
        let (b, _) = generate_secret().unwrap();
        assert!(a.expose_secret().starts_with(SECRET_PREFIX));
        assert_eq!(a.expose_secret().len(), SECRET_PREFIX.len() + 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(da.matches(&a));
        assert!(!da.matches(&b));
        let stored = SecretDigest::from_hex(&da.to_hex()).unwrap();
        assert!(stored.matches(&a));
        assert!(SecretDigest::from_hex("zz").is_none());
        assert!(!format!("{da:?}").contains(&da.to_hex()));
    }
}
