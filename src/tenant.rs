//! The tenant: one customer directory. Every stored key, every use case and every credential
//! names one, so it is a value every layer may use (like a URN constant), owned by none.

use std::fmt;

/// A tenant id: 1 to 64 ASCII letters, digits, `-` or `_` (it becomes part of storage keys,
/// where `#` separates fields). Single-tenant deployments use [`TenantId::default`]
/// (`"default"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

/// A string that is not a tenant id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tenant id must be 1-64 characters of [A-Za-z0-9_-]")]
pub struct InvalidTenantId;

impl TenantId {
    /// Parses a tenant id.
    ///
    /// # Errors
    /// [`InvalidTenantId`] when `s` breaks the rule.
    pub fn parse(s: &str) -> Result<Self, InvalidTenantId> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(TenantId(s.to_string()))
        } else {
            Err(InvalidTenantId)
        }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A new server-issued id: `t_` and 20 lower-case base32 characters (100 random bits), so
    /// ids are URL-safe, case-stable when an admin retypes them, and never guessable.
    ///
    /// # Errors
    /// When the OS random source fails.
    pub fn generate() -> Result<Self, getrandom::Error> {
        Ok(TenantId(format!("t_{}", random_base32(20)?)))
    }
}

/// RFC 4648 base32 alphabet in lower case (no padding).
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// `chars` random lower-case base32 characters (5 random bits each).
///
/// # Errors
/// When the OS random source fails.
pub fn random_base32(chars: usize) -> Result<String, getrandom::Error> {
    let mut bytes = vec![0u8; chars];
    getrandom::fill(&mut bytes)?;
    Ok(bytes
        .iter()
        .map(|b| char::from(BASE32[usize::from(b & 31)]))
        .collect())
}

/// Whether `s` is `len` characters of the lower-case base32 alphabet.
pub fn is_base32(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| BASE32.contains(&b))
}

impl Default for TenantId {
    fn default() -> Self {
        TenantId("default".to_string())
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_key_safe() {
        let rows = [
            ("default", true),
            ("t_abc-9", true),
            ("", false),
            ("a#b", false),
            ("é", false),
        ];
        for (s, ok) in rows {
            assert_eq!(TenantId::parse(s).is_ok(), ok, "{s:?}");
        }
        assert!(TenantId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn generated_ids_follow_the_contract() {
        let a = TenantId::generate().unwrap();
        let b = TenantId::generate().unwrap();
        assert_ne!(a, b);
        let rest = a.as_str().strip_prefix("t_").unwrap();
        assert!(is_base32(rest, 20), "{a}");
        assert!(TenantId::parse(a.as_str()).is_ok());
    }
}
