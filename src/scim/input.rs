//! Input normalisation for POST and PUT bodies, driven by the schema.
//!
//! A client body becomes the document this server stores: only client-writable attributes,
//! names in the schema's spelling, booleans as JSON booleans, extension objects under their URN,
//! and a recomputed `schemas`. Values are otherwise kept exactly as sent (Entra checks that they
//! round-trip). The service adds `id` and `meta`; group members are handed back separately
//! because they are stored as items of their own, never inside the group document.
//! PATCH (`patch`) reuses [`normalize_value`], [`check_required`] and [`refresh_schemas`] so
//! both paths agree on what a stored value looks like.

use serde_json::{Map, Value};

use crate::scim::compat;
use crate::scim::error::{Error, Result};
use crate::scim::path::{AttrPath, is_schema_urn};
use crate::scim::schema::{
    AttrDef, AttrType, Attribute, Container, Mutability, Relation, ResourceKind, get_ci, key_ci,
};

/// A normalised POST/PUT body.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The document to store, without `id` and `meta`.
    pub doc: Value,
    /// Group member ids from `members`: `None` when the body has no `members` (or `null`),
    /// `Some(vec![])` for an explicit empty list, so a PUT can tell "keep" from "clear".
    pub members: Option<Vec<String>>,
}

/// Normalises a POST or PUT body for `kind`.
///
/// Read-only attributes (`id`, `meta`, `groups`, ...) are dropped: RFC 7643 §2.2 says a
/// client-sent value of a `readOnly` attribute SHALL be ignored. `password` (writeOnly) is dropped
/// too: this server does not authenticate users and never stores secrets. Unknown attributes and
/// unknown schema URNs are ignored, never an error (cases D3 and B6n in docs/clients.md).
///
/// # Errors
/// `invalidSyntax` when the body is not an object or `schemas` is not an array of strings;
/// `invalidValue` when `schemas` does not list the resource's schema, a value has the wrong
/// type or a required attribute is missing.
pub fn prepare(kind: ResourceKind, body: &Value) -> Result<Prepared> {
    let Some(input) = body.as_object() else {
        return Err(Error::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    check_schemas(kind, input)?;
    let mut doc = Map::new();
    doc.insert("schemas".to_string(), Value::Array(Vec::new()));
    let mut members = None;
    for (key, value) in input {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if is_schema_urn(key) {
            prepare_extension(kind, key, value, &mut doc)?;
            continue;
        }
        let Ok(path) = AttrPath::parse(key) else {
            continue;
        };
        if path.sub.is_some() {
            continue;
        }
        let Some(resolved) = kind.resolve(&path) else {
            continue;
        };
        if is_member_list(kind, resolved.attr()) {
            members = (!value.is_null()).then(|| member_ids(value)).transpose()?;
        } else if is_client_writable(resolved.attr()) {
            if let Some(v) = normalize_value(resolved.attr(), value)? {
                let name = resolved.def.stored_name(&path.name);
                insert_at(&mut doc, resolved.container, name, v);
            }
        }
    }
    let mut doc = Value::Object(doc);
    check_required(kind, &doc)?;
    refresh_schemas(kind, &mut doc);
    Ok(Prepared { doc, members })
}

/// RFC 7644 §3.3: the body's `schemas` must name the resource's schema (as Entra's, Okta's and
/// every RFC example do). A body without it, with another resource's schema or with only
/// unknown URNs is refused rather than stored as something the client may not have meant.
/// Extension URNs beside the core one are allowed; `schemas` is recomputed afterwards.
fn check_schemas(kind: ResourceKind, input: &Map<String, Value>) -> Result<()> {
    let core = kind.schema().id;
    let Some(schemas) = get_ci(input, "schemas") else {
        return Err(Error::invalid_value(format!(
            "the body must list \"{core}\" in 'schemas' (RFC 7644 §3.3)"
        )));
    };
    let Some(list) = schemas.as_array() else {
        return Err(Error::invalid_syntax("'schemas' must be an array of URNs"));
    };
    let mut has_core = false;
    for urn in list {
        let Some(urn) = urn.as_str() else {
            return Err(Error::invalid_syntax("'schemas' must be an array of URNs"));
        };
        has_core |= urn.eq_ignore_ascii_case(core);
    }
    if !has_core {
        return Err(Error::invalid_value(format!(
            "'schemas' must include \"{core}\" for a {} (RFC 7644 §3.3)",
            kind.name()
        )));
    }
    Ok(())
}

/// Copies one extension object (`"urn:...:enterprise:2.0:User": {...}`) into `doc`.
fn prepare_extension(
    kind: ResourceKind,
    urn: &str,
    value: &Value,
    doc: &mut Map<String, Value>,
) -> Result<()> {
    let (container, schema) = match kind.extension(urn) {
        Some(ext) => (Container::Extension(ext.id), Some(ext)),
        None if kind.accepts_custom_extension(urn) => (Container::Extension(urn), None),
        None => return Ok(()),
    };
    let object = match value {
        Value::Null => return Ok(()),
        Value::Object(object) => object,
        _ => return Err(Error::invalid_value(format!("'{urn}' must be an object"))),
    };
    for (name, v) in object {
        let def = match schema {
            Some(ext) => match ext.attribute(name) {
                Some(attr) if is_client_writable(attr) => AttrDef::Known(attr),
                _ => continue,
            },
            None => AttrDef::Custom,
        };
        if let Some(v) = normalize_value(def.attribute(), v)? {
            insert_at(doc, container, def.stored_name(name), v);
        }
    }
    Ok(())
}

/// Whether a client may write `attr`. Write-only attributes count as not writable because the
/// only one, `password`, is never stored here.
pub(crate) fn is_client_writable(attr: &Attribute) -> bool {
    !matches!(
        attr.mutability,
        Mutability::ReadOnly | Mutability::WriteOnly
    )
}

/// Whether `attr` is the group's `members`, which lives in membership items of its own and never
/// in the stored document (a 20k-member group must not be one list: case R2 in docs/clients.md).
pub(crate) fn is_member_list(kind: ResourceKind, attr: &Attribute) -> bool {
    kind.has_members() && attr.multi_valued && attr.is(Relation::Members.attribute())
}

/// Inserts `value` under `name` in the object `container` names, creating an extension object
/// when needed (under the URN spelling already present, if any).
fn insert_at(doc: &mut Map<String, Value>, container: Container<'_>, name: &str, value: Value) {
    let target = match container {
        Container::Core => doc,
        Container::Extension(urn) => {
            let key = key_ci(doc, urn).unwrap_or_else(|| urn.to_string());
            let slot = doc.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            match slot.as_object_mut() {
                Some(object) => object,
                None => return,
            }
        }
    };
    target.insert(name.to_string(), value);
}

/// The member ids of a `members` value: a list of `{"value":"<id>"}` objects or bare ids,
/// deduplicated in order.
///
/// # Errors
/// `invalidValue` when an item carries no non-empty string id.
pub(crate) fn member_ids(value: &Value) -> Result<Vec<String>> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items.as_slice(),
        other => std::slice::from_ref(other),
    };
    let mut ids: Vec<String> = Vec::new();
    for item in items {
        let id = compat::input::member_id(item)
            .ok_or_else(|| Error::invalid_value("each member needs a non-empty string 'value'"))?;
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

/// Normalises a client value for `attr`: the form it is stored in, or `None` when it carries no
/// value (`null`, `""`, `[]`, or a complex value with no known sub-attribute).
///
/// Multi-valued attributes accept a single element as well as an array. At most one element may
/// be `primary` (RFC 7643 §2.4, "The primary attribute value 'true' MUST appear no more than
/// once"): when several are, the first keeps it and the others are set to `false`, rather than
/// failing a whole create with a 400.
///
/// # Errors
/// `invalidValue` naming the attribute when a value has the wrong JSON type.
pub fn normalize_value(attr: &'static Attribute, value: &Value) -> Result<Option<Value>> {
    if compat::input::is_cleared(value) {
        return Ok(None);
    }
    if !attr.multi_valued {
        return normalize_element(attr, compat::input::single_from_array(value));
    }
    let items = match value {
        Value::Array(items) => items.as_slice(),
        other => std::slice::from_ref(other),
    };
    let mut out = Vec::new();
    for item in items {
        if let Some(v) = normalize_element(attr, item)? {
            out.push(v);
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    keep_one_primary(&mut out, None);
    Ok(Some(Value::Array(out)))
}

/// Normalises one value of `attr` (one element when `attr` is multi-valued).
///
/// # Errors
/// `invalidValue` on a wrong JSON type.
pub(crate) fn normalize_element(attr: &'static Attribute, value: &Value) -> Result<Option<Value>> {
    if compat::input::is_cleared(value) {
        return Ok(None);
    }
    if attr.ty != AttrType::Complex {
        return normalize_simple(attr, value).map(Some);
    }
    let value = compat::input::scalar_as_value_object(attr, value);
    let Value::Object(object) = value.as_ref() else {
        return Err(wrong_type(attr, "an object"));
    };
    let mut out = Map::new();
    for (name, v) in object {
        let Some(sub) = attr.sub_attribute(name) else {
            continue;
        };
        if !is_client_writable(sub) {
            continue;
        }
        if let Some(v) = normalize_element(sub, v)? {
            out.insert(sub.name.to_string(), v);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

fn normalize_simple(attr: &Attribute, value: &Value) -> Result<Value> {
    let ok = match attr.ty {
        AttrType::Boolean => {
            return compat::input::lenient_bool(value)
                .map(Value::Bool)
                .ok_or_else(|| wrong_type(attr, "a boolean"));
        }
        AttrType::Integer => value.is_i64() || value.is_u64(),
        AttrType::Decimal => value.is_number(),
        AttrType::String | AttrType::DateTime | AttrType::Binary | AttrType::Reference => {
            value.is_string()
        }
        AttrType::Complex => false,
    };
    if ok {
        Ok(value.clone())
    } else {
        Err(wrong_type(attr, attr.ty.as_str()))
    }
}

fn wrong_type(attr: &Attribute, expected: &str) -> Error {
    Error::invalid_value(format!("'{}' must be {expected}", attr.name))
}

/// Makes at most one element `primary: true`: the one at `preferred` when it is primary (a
/// PATCH just set it), otherwise the first primary one.
pub(crate) fn keep_one_primary(items: &mut [Value], preferred: Option<usize>) {
    let is_primary = |v: &Value| v.get("primary") == Some(&Value::Bool(true));
    let winner = preferred
        .filter(|&i| items.get(i).is_some_and(is_primary))
        .or_else(|| items.iter().position(is_primary));
    let Some(winner) = winner else {
        return;
    };
    for (i, item) in items.iter_mut().enumerate() {
        if i == winner {
            continue;
        }
        if let Some(flag) = item.get_mut("primary") {
            *flag = Value::Bool(false);
        }
    }
}

/// Recomputes `schemas`: the core URN plus the URN of every extension object present.
/// Empty extension objects (left behind when PATCH removed their last attribute) are dropped
/// first, so `schemas` never lists an extension the resource does not use.
pub fn refresh_schemas(kind: ResourceKind, doc: &mut Value) {
    let Some(object) = doc.as_object_mut() else {
        return;
    };
    let extension_keys: Vec<String> = object
        .keys()
        .filter(|k| is_extension_key(kind, k))
        .cloned()
        .collect();
    let mut schemas = vec![Value::String(kind.schema().id.to_string())];
    for key in extension_keys {
        if object
            .get(&key)
            .and_then(Value::as_object)
            .is_some_and(|o| !o.is_empty())
        {
            schemas.push(Value::String(key));
        } else {
            object.shift_remove(&key);
        }
    }
    let key = key_ci(object, "schemas").unwrap_or_else(|| "schemas".to_string());
    object.insert(key, Value::Array(schemas));
}

/// Whether a top-level key is an extension object of `kind`.
pub(crate) fn is_extension_key(kind: ResourceKind, key: &str) -> bool {
    is_schema_urn(key) && (kind.extension(key).is_some() || kind.accepts_custom_extension(key))
}

/// Checks that every required attribute of `kind` has a value (RFC 7643 §2.2, "required").
///
/// # Errors
/// `invalidValue` naming the first missing attribute ("userName is required").
pub fn check_required(kind: ResourceKind, doc: &Value) -> Result<()> {
    let object = doc.as_object();
    for attr in kind.schema().attributes.iter().filter(|a| a.required) {
        let present = object
            .and_then(|o| get_ci(o, attr.name))
            .is_some_and(|v| !compat::input::is_cleared(v));
        if !present {
            return Err(Error::invalid_value(format!("{} is required", attr.name)));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;
