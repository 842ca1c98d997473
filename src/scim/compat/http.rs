//! Quirks of request paths and headers. The HTTP adapter (`http::normalize`, `http::extract`)
//! reads the request and asks these pure functions what to do; the answers are listed in
//! the "HTTP leniency" table of docs/clients.md.

use crate::scim::schema::ResourceKind;

/// Endpoint names besides the resource types' (which their descriptors give), in their
/// canonical spelling (RFC 7644 §3.2, §3.4.3).
const FIXED_ENDPOINTS: &[&str] = &[
    "Schemas",
    "ResourceTypes",
    "ServiceProviderConfig",
    ".search",
];

/// The non-empty segments of a request path: duplicate and trailing slashes do not matter.
///
/// Client: a Tenant URL pasted with a trailing slash makes Entra request `/scim/v2//Users`
/// and `/scim/v2/Users/`; RFC 3986 would treat these as other resources. Pinned by the
/// `src/http/normalize.rs` test `paths_are_normalised` and `tests/api/protocol.rs`
/// `paths_tolerate_stage_prefix_case_and_trailing_slash`.
pub fn path_segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// Whether a request segment matches a segment of the configured base path (`/SCIM/V2` for
/// `/scim/v2`): matched case-insensitively, as the endpoint names are (same tests).
pub fn same_base_segment(requested: &str, base: &str) -> bool {
    requested.eq_ignore_ascii_case(base)
}

/// The canonical spelling of the segment at `index` after the base path, when it names an
/// endpoint: endpoint names match in any case (`/scim/v2/users`, `/Users/.SEARCH`), while ids
/// are kept as sent, so only the first segment (and `.search`) is a name.
///
/// Clients differ in the case of endpoint names (Microsoft's Postman collection, hand-written
/// integrations); RFC 7644 spells them `Users`, `Groups`, ... and says nothing of case.
/// Pinned by the same tests.
pub fn canonical_endpoint(index: usize, segment: &str) -> Option<&'static str> {
    ResourceKind::from_endpoint(segment)
        .map(ResourceKind::endpoint)
        .or_else(|| {
            FIXED_ENDPOINTS
                .iter()
                .copied()
                .find(|e| e.eq_ignore_ascii_case(segment))
        })
        .filter(|name| index == 0 || *name == ".search")
}

/// Whether a request body with this `Content-Type` is read as JSON: `None` is a body without
/// the header.
///
/// Client: Entra and others send bodies without `Content-Type` or as `application/json`
/// (RFC 7644 §3.1 asks for `application/scim+json`); both are read, with or without parameters
/// (`; charset=utf-8`). Any other type is 415. Case D4 in docs/clients.md; pinned by
/// `tests/api/protocol.rs` `d4_application_json_and_no_content_type_are_served`.
pub fn is_json_body(content_type: Option<&str>) -> bool {
    let Some(value) = content_type else {
        return true;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    ["application/json", "application/scim+json", ""]
        .iter()
        .any(|t| essence.eq_ignore_ascii_case(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies() {
        let rows = [
            (None, true),
            (Some("application/scim+json"), true),
            (Some("application/json; charset=utf-8"), true),
            (Some("Application/SCIM+JSON"), true),
            (Some(""), true),
            (Some("text/plain"), false),
            (Some("application/xml"), false),
        ];
        for (header, want) in rows {
            assert_eq!(is_json_body(header), want, "{header:?}");
        }
    }

    #[test]
    fn endpoint_names() {
        let rows = [
            (0, "users", Some("Users")),
            (0, "GROUPS", Some("Groups")),
            (0, "serviceproviderconfig", Some("ServiceProviderConfig")),
            (1, ".SEARCH", Some(".search")),
            (1, "users", None),
            (0, "2819c223", None),
        ];
        for (index, segment, want) in rows {
            assert_eq!(canonical_endpoint(index, segment), want, "{segment}");
        }
    }
}
