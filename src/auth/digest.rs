//! Token digests compared in constant time.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 digest of a token. Comparing digests rather than tokens makes the comparison
/// take the same time whatever the presented token's length or content.
#[derive(Clone)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of `token`, or `None` for an empty token (which must never authenticate).
    pub fn of(token: &str) -> Option<Self> {
        if token.is_empty() {
            return None;
        }
        Some(TokenDigest(Sha256::digest(token.as_bytes()).into()))
    }

    /// The digest of a secret token.
    pub fn of_secret(token: &SecretString) -> Option<Self> {
        Self::of(token.expose_secret())
    }

    /// Whether `presented` hashes to this digest, in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let other: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        bool::from(self.0.ct_eq(&other))
    }
}

impl TokenDigest {
    /// The digest as 64 hex characters, the form it is stored in.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A stored digest back from [`TokenDigest::to_hex`]; `None` when it is not 32 bytes of hex.
    pub fn from_hex(s: &str) -> Option<Self> {
        let bytes = hex::decode(s).ok()?;
        Some(TokenDigest(bytes.try_into().ok()?))
    }

    /// Whether two digests are equal, in constant time.
    pub fn same_as(&self, other: &TokenDigest) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest([redacted])")
    }
}
