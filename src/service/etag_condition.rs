//! The `If-Match` / `If-None-Match` preconditions (RFC 7232 with weak tags, RFC 7644 §3.14).

/// An entity-tag condition: the parsed value of an `If-Match` or `If-None-Match` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ETagCondition {
    /// `*`: any current version.
    Any,
    /// One of these versions; an unparseable tag is kept as no version at all, so it fails.
    Versions(Vec<u64>),
}

impl ETagCondition {
    /// Parses an `If-Match`/`If-None-Match` value: `*`, or a list of (weak) entity tags.
    pub fn parse(header: &str) -> ETagCondition {
        if header.trim() == "*" {
            return ETagCondition::Any;
        }
        let versions = header
            .split(',')
            .filter_map(|tag| {
                let tag = tag.trim();
                let tag = tag.strip_prefix("W/").unwrap_or(tag);
                tag.trim_matches('"').parse::<u64>().ok()
            })
            .collect();
        ETagCondition::Versions(versions)
    }

    /// Whether `version` satisfies it.
    pub fn matches(&self, version: u64) -> bool {
        match self {
            ETagCondition::Any => true,
            ETagCondition::Versions(v) => v.contains(&version),
        }
    }
}
