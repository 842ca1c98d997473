//! Quirks of POST/PUT bodies and of the values PATCH writes: how a client's value is read
//! before the schema-driven normaliser (`input`) stores it.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::scim::schema::{AttrType, Attribute, get_ci};

/// Reads a boolean that may arrive as a JSON boolean or as the strings `"True"`/`"False"`.
///
/// Client: Entra L maps `active` from `Switch([IsSoftDeleted], , "False", "True", ...)` and so
/// sends `"value":"False"`; Microsoft's Postman "garbage" tests POST `"active":"True"`, and the
/// validator sends `roles[].primary` as `"True"`. Case B12 (L), B23. Fixtures:
/// `entra/b12_disable_string_false.json`, `entra/b12_restore_string_true.json`.
pub fn lenient_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => lenient_bool_text(s),
        _ => None,
    }
}

/// `"true"`/`"false"` in any case, the text of a string boolean: the one rule for bodies
/// ([`lenient_bool`]) and filters (`active eq "False"`, or a stored `true` compared with
/// `"True"`; filter evaluation calls this). Case B12 in docs/clients.md; the filter side is
/// pinned by the `src/scim/filter/tests.rs` `eval_table` row `bool_string`.
pub fn lenient_bool_text(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The member id of one item of a `members` value: `{"value":"<id>",...}` or a bare `"<id>"`.
///
/// Client: Entra sends `{"$ref":null,"value":"<id>"}` (C7); Microsoft's Postman "Group tests with
/// garbage" send a bare string. Returns `None` when there is no non-empty id. Fixture:
/// `entra/c7_postman_bare_string_member.json`.
pub fn member_id(item: &Value) -> Option<&str> {
    let id = match item {
        Value::String(s) => s.as_str(),
        Value::Object(o) => get_ci(o, "value")?.as_str()?,
        _ => return None,
    };
    (!id.is_empty()).then_some(id)
}

/// Wraps a bare string given for a complex attribute that has a `value` sub-attribute into
/// `{"value": "<string>"}`.
///
/// Client: Entra and its Logic App suite set the enterprise `manager` with
/// `"value":"<managerId>"` (a bare id for a complex attribute, SCIM-SDK#686). Case B18/B19.
/// Fixtures: `entra/b18_manager_bare_string.json`, `entra/b19_manager_change.json`.
pub fn scalar_as_value_object<'v>(attr: &Attribute, value: &'v Value) -> Cow<'v, Value> {
    match value {
        Value::String(_)
            if attr.ty == AttrType::Complex && attr.sub_attribute("value").is_some() =>
        {
            let mut object = Map::new();
            object.insert("value".to_string(), value.clone());
            Cow::Owned(Value::Object(object))
        }
        other => Cow::Borrowed(other),
    }
}

/// Takes the first item when an array is given for a single-valued attribute.
///
/// Client: Microsoft's legacy tutorial ("Example 5") adds the manager as
/// `"value":[{"$ref":"...","value":"<id>"}]`; older Microsoft libraries also wrapped single
/// values in arrays (Azure/AzureAD-BYOA-Provisioning-Samples#22). Case B18. Fixture:
/// `entra/b18_manager_legacy_array.json`.
pub fn single_from_array(value: &Value) -> &Value {
    match value {
        Value::Array(items) => items.first().unwrap_or(value),
        other => other,
    }
}

/// Whether a value means "no value": `null`, `""` or `[]`.
///
/// Client: Microsoft's Logic App `SCIM_Null_Update_Test` (gallery-mandatory) clears each
/// optional attribute with `"value":""` and then with `"value":null`, and removes the manager with
/// `replace ... "value":""`. RFC 7644 §3.5.2.3 has no "replace with nothing"; treating it as a
/// removal is what the suite checks (the next GET shows the attribute empty or absent). RFC 7643
/// §2.5 already says unassigned and null are equivalent. Cases B20, B21, B6n. Fixtures:
/// `entra/b20_manager_remove_empty_string.json`, `entra/b21_null_update.json`.
pub fn is_cleared(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lenient_bools() {
        let rows = [
            (json!(true), Some(true)),
            (json!("False"), Some(false)),
            (json!("TRUE"), Some(true)),
            (json!("maybe"), None),
            (json!(1), None),
        ];
        for (raw, want) in rows {
            assert_eq!(lenient_bool(&raw), want, "{raw}");
        }
    }

    #[test]
    fn cleared_values() {
        let rows = [
            (json!(null), true),
            (json!(""), true),
            (json!([]), true),
            (json!(" "), false),
            (json!({}), false),
            (json!(false), false),
        ];
        for (raw, want) in rows {
            assert_eq!(is_cleared(&raw), want, "{raw}");
        }
    }

    #[test]
    fn member_ids_from_items() {
        let rows = [
            (json!("u-1"), Some("u-1")),
            (json!({"value":"u-2","$ref":null}), Some("u-2")),
            (json!({"Value":"u-3"}), Some("u-3")),
            (json!({"value":""}), None),
            (json!(7), None),
        ];
        for (item, want) in rows {
            assert_eq!(member_id(&item), want, "{item}");
        }
    }
}
