//! Quirks of PatchOp bodies (RFC 7644 §3.5.2): op names, path-less values, member removal
//! and writes to elements that do not exist yet.

use serde_json::{Map, Value};

use super::input::is_cleared;
use crate::scim::error::{Error, Result};
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::patch::OpName;
use crate::scim::path::PatchPath;
use crate::scim::schema::{Attribute, Mutability, get_ci};
use crate::scim::urn;

/// Reads an operation name case-insensitively.
///
/// Client: Microsoft Entra ID, legacy dialect (L), sends `"Add"`, `"Replace"`, `"Remove"`; the
/// RFC 7644 §3.5.2 ABNF spells them in lower case. Cases B10–B13, C6–C8 in docs/clients.md.
/// Fixtures: `entra/b10_legacy_replace_work_email.json`, `entra/c7_legacy_add_members.json`.
pub fn op_name(raw: &str) -> Option<OpName> {
    [
        ("add", OpName::Add),
        ("replace", OpName::Replace),
        ("remove", OpName::Remove),
    ]
    .into_iter()
    .find(|(name, _)| raw.eq_ignore_ascii_case(name))
    .map(|(_, op)| op)
}

/// Reads one key of a path-less `add`/`replace` value as a PATCH path.
///
/// Client: Entra's compliant dialect (C) and the Microsoft SCIM Validator send path-less ops
/// whose value is a flat map keyed by attribute *paths* (`name.givenName`,
/// `urn:...:enterprise:2.0:User:employeeNumber`) instead of nested objects; RFC 7644 §3.5.2.1
/// expects attribute names. A plain name is also a valid path, so reading every key as a path
/// serves both. The `schemas` key some clients echo is skipped, and a key that is not a path is
/// an unknown attribute and ignored (case D3 in docs/clients.md). Cases B14 (C), B15, C6 (V).
/// Fixture: `entra/b14_compliant_pathless_dotted_keys.json`.
pub fn pathless_key_as_path(key: &str) -> Option<PatchPath> {
    if key.eq_ignore_ascii_case("schemas") {
        return None;
    }
    PatchPath::parse(key).ok()
}

/// Whether a key inside a path-less value must be skipped rather than rejected.
///
/// Client: Okta renames a group with `{"op":"replace","value":{"id":"...","displayName":"..."}}`,
/// echoing the read-only `id`. RFC 7644 §3.5.2 says read-only attributes cannot be modified;
/// answering 400 would fail every Okta rename, so read-only (and never-stored write-only)
/// attributes in a path-less value are ignored. An explicit `path` to them is still a 400
/// `mutability`. Case O9 in docs/clients.md. Fixture:
/// `okta/group_rename_with_id.json`.
pub fn ignored_in_pathless_value(attr: &Attribute, sub: Option<&Attribute>) -> bool {
    let skipped =
        |a: &Attribute| matches!(a.mutability, Mutability::ReadOnly | Mutability::WriteOnly);
    skipped(attr) || sub.is_some_and(skipped)
}

/// The `Operations` array of a PATCH body, under any spelling of the key; `[]` is accepted.
///
/// Client: the Microsoft SCIM Validator sends `"Operations":[]` and expects success (RFC 7644
/// §3.5.2 requires at least one operation; scimmyjs/scimmy#59). Some clients write
/// `operations`. Case B22. Fixture: `entra/b22_empty_operations.json`.
///
/// # Errors
/// `invalidSyntax` when the key is missing or not an array.
pub fn operations(body: &Map<String, Value>) -> Result<&[Value]> {
    match get_ci(body, "Operations") {
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(Error::invalid_syntax("'Operations' must be an array")),
        None => Err(Error::invalid_syntax("a PATCH request needs 'Operations'")),
    }
}

/// Whether the `schemas` member of a PATCH body is acceptable: it must list the PatchOp URN
/// (RFC 7644 §3.5.2), but a body without `schemas` is accepted because some hand-written clients
/// (and Microsoft's older Postman tests) omit it. Fixture: `okta/user_deactivate_pathless.json`
/// carries it; the missing case is a unit-test row.
pub fn patch_schemas_ok(body: &Map<String, Value>) -> bool {
    let is_patch = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(urn::PATCH_OP))
    };
    match get_ci(body, "schemas") {
        None | Some(Value::Null) => true,
        Some(Value::Array(items)) => items.iter().any(is_patch),
        Some(other) => is_patch(other),
    }
}

/// The element to create when a value-filtered `replace`/`add` matches nothing: the filter's
/// `eq` comparisons become the new element's sub-attributes (`type eq "work"` gives
/// `{"type":"work"}`).
///
/// Client: Entra L/C and the validator send `emails[type eq "work"].value` (also phone numbers
/// and addresses) for users that have no work element yet. RFC 7644 §3.5.2.3 would answer 400
/// `noTarget`, which fails the whole update; SCIM-SDK and other servers create the element.
/// Only a conjunction of `eq` comparisons on known sub-attributes qualifies; anything else
/// returns `None` and the caller answers `noTarget`. Cases B10, B16, H7. Fixtures:
/// `entra/b10_legacy_replace_work_email.json`, `entra/b16_validator_replace_typed_elements.json`.
pub fn element_from_filter(
    attr: &'static Attribute,
    filter: &Filter,
) -> Option<Map<String, Value>> {
    if !attr.multi_valued {
        return None;
    }
    let mut element = Map::new();
    seed_from(attr, filter, &mut element).then_some(element)
}

fn seed_from(attr: &'static Attribute, filter: &Filter, element: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::And(a, b) => seed_from(attr, a, element) && seed_from(attr, b, element),
        Filter::Compare(path, CompareOp::Eq, comp) if path.sub.is_none() && path.urn.is_none() => {
            let Some(sub) = attr.sub_attribute(&path.name) else {
                return false;
            };
            let value = match comp {
                CompValue::Str(s) => Value::String(s.to_string()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return false,
            };
            element.insert(sub.name.to_string(), value);
            true
        }
        _ => false,
    }
}

/// The value list of a `remove` that names elements to remove, when there is one.
///
/// Client: Entra L removes group members with
/// `{"op":"Remove","path":"members","value":[{"value":"<id>"}]}` and means "remove only these".
/// An RFC-literal reading (RFC 7644 §3.5.2.2: no filter means the whole attribute) empties the
/// group (MicrosoftDocs/azure-docs#30826). The same reading is applied to any multi-valued
/// attribute. Case C8 (L). Fixture: `entra/c8_legacy_remove_member_value_list.json`.
pub fn removal_value_list(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !is_cleared(v))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::schema::USER_SCHEMA;

    #[test]
    fn op_names() {
        let rows = [
            ("Replace", Some(OpName::Replace)),
            ("ADD", Some(OpName::Add)),
            ("remove", Some(OpName::Remove)),
            ("copy", None),
            ("", None),
        ];
        for (raw, want) in rows {
            assert_eq!(op_name(raw), want, "{raw}");
        }
    }

    #[test]
    fn elements_seeded_from_filters() {
        let emails = USER_SCHEMA.attribute("emails").unwrap();
        let name = USER_SCHEMA.attribute("name").unwrap();
        let rows: [(&str, &'static Attribute, Option<Value>); 5] = [
            (r#"Type eq "work""#, emails, Some(json!({"type":"work"}))),
            (
                r#"type eq "work" and primary eq true"#,
                emails,
                Some(json!({"type":"work","primary":true})),
            ),
            (r#"type eq "work" or type eq "home""#, emails, None),
            (r#"value sw "a""#, emails, None),
            (r#"givenName eq "a""#, name, None),
        ];
        for (filter, attr, want) in rows {
            let filter = Filter::parse(filter).unwrap();
            let got = element_from_filter(attr, &filter).map(Value::Object);
            assert_eq!(got, want, "{filter}");
        }
    }
}
