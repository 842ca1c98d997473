//! Schema URNs and media types, written once.

/// Core User schema (RFC 7643 §4.1).
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema (RFC 7643 §4.2).
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Prefix of every extension schema; Entra's custom attributes live under
/// `urn:ietf:params:scim:schemas:extension:<Name>:2.0:User`.
pub const EXTENSION_PREFIX: &str = "urn:ietf:params:scim:schemas:extension:";
/// The extra schema Entra lists on the groups it creates; accepted and ignored.
pub const MS_AD_GROUP: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
/// ListResponse message (RFC 7644 §3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Error message (RFC 7644 §3.12).
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// PATCH request message (RFC 7644 §3.5.2).
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// SearchRequest message (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// ServiceProviderConfig schema (RFC 7643 §5).
pub const SERVICE_PROVIDER_CONFIG: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// ResourceType schema (RFC 7643 §6).
pub const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// Schema schema (RFC 7643 §7).
pub const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// Media type of every response body (RFC 7644 §3.1).
pub const MEDIA_TYPE: &str = "application/scim+json";

/// True for `urn:ietf:params:scim:schemas:extension:...` URNs other than the known ones:
/// these are stored as free-form objects (Entra custom attributes).
pub fn is_custom_extension(urn: &str) -> bool {
    starts_with_ignore_case(urn, EXTENSION_PREFIX) && !urn.eq_ignore_ascii_case(ENTERPRISE_USER)
}

/// ASCII case-insensitive prefix test; schema URNs are case-insensitive (RFC 7643 §2.1).
pub fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}
