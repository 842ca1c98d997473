//! Quirks of filter expressions (RFC 7644 §3.4.2.2). The grammar (`filter::grammar`)
//! recognises each lenient form; the functions here say what it means.

use crate::scim::filter::{CompValue, Filter};
use crate::scim::path::AttrPath;

/// A comparison value written without quotes (`externalId eq jyoung`) is a string.
///
/// Client: Microsoft's older provisioning documentation writes `externalId eq jyoung`;
/// RFC 7644 §3.4.2.2 requires a JSON value. Only a token that is not `true`, `false`, `null`
/// or a number gets here (the grammar tries those first). Case B4 in docs/clients.md; pinned
/// by `tests/api/entra_users.rs` `b1_to_b5_lookups_find_the_user_case_insensitively` and the
/// `src/scim/filter/tests.rs` row `unquoted_value`.
pub fn unquoted_value(token: &str) -> CompValue {
    CompValue::Str(token.into())
}

/// What `emails[type eq "work"].value eq "x"` means: the element filter and the comparison
/// after the brackets apply to the same element, `emails[type eq "work" and value eq "x"]`.
///
/// Client: Entra ID looks users up by work email with this form when email is a matching
/// attribute; RFC 7644 has no sub-attribute after a value filter in a filter expression (only in
/// a PATCH path). Reading it as a conjunction on one element is what Entra means, and lets the
/// planner answer it from the work-email index. Case B5 in docs/clients.md; pinned by the
/// `src/service/plan.rs` row `b5_work_email` and the `src/scim/filter/tests.rs` rows
/// `entra_email_lookup` and `work_email`.
pub fn value_path_tail(attr: AttrPath, element: Filter, tail: Filter) -> Filter {
    Filter::ValuePath(attr, Box::new(element.and(tail)))
}

// Booleans written as `"True"`/`"False"` (`active eq "False"`, or a stored string compared with
// `true`) are read by the same rule as in bodies, [`crate::scim::compat::input::lenient_bool_text`]
// (case B12), so a filter and a write never disagree on what a string boolean is.
