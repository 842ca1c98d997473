//! Quirks of the `attributes` / `excludedAttributes` lists (RFC 7644 §3.4.2.5).

use crate::scim::path::AttrRef;

/// What an entry followed by a bracketed filter (`emails[type eq "work"]`) means: the
/// attribute, with the filter dropped (the list grammar skips the brackets as text, quoted
/// strings and nesting respected).
///
/// Client: Microsoft's reference Postman collection (P) asks for
/// `attributes=emails[type eq "work"]`, which is not RFC syntax (a list names attributes, not
/// values). Returning the whole attribute answers with a superset of what was asked, rather
/// than a 400 that fails the collection. Case P2 in docs/clients.md; pinned by the
/// `src/scim/path.rs` test `attribute_lists`.
pub fn with_value_filter(entry: AttrRef) -> AttrRef {
    entry
}
