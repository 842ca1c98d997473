//! Time in the admin API's format (RFC 3339). Expiry of secrets, assertions and access tokens is
//! decided against [`crate::clock::Clock`], in Unix seconds, so tests move time instead of
//! sleeping.

/// Formats Unix seconds as RFC 3339 (`2026-12-01T22:00:00Z`), the admin API's time format.
pub fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Parses an RFC 3339 timestamp into Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_rfc3339("2026-12-01T22:00:00Z"), Some(1_796_162_400));
        assert_eq!(parse_rfc3339(&rfc3339(1_796_162_400)), Some(1_796_162_400));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
