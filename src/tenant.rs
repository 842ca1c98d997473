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
}
