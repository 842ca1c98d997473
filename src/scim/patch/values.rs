//! Writing values into a resource document: whole attributes, sub-attributes and the elements
//! a value filter selects, plus the matching removals. Everything here works on one container
//! object (the resource or one extension object) and the attribute definition; `apply` decides
//! which of these an operation needs.

use serde_json::{Map, Value};

use super::apply::Mode;
use crate::scim::compat;
use crate::scim::error::{Error, Result};
use crate::scim::filter::{Filter, matches_element};
use crate::scim::input::{keep_one_primary, normalize_element, normalize_value};
use crate::scim::schema::{AttrType, Attribute, key_ci};

/// The value stored under `name`, renamed to that spelling if stored under another case, or a
/// fresh `null` slot.
fn slot_mut<'c>(container: &'c mut Map<String, Value>, name: &str) -> &'c mut Value {
    if let Some(key) = key_ci(container, name).filter(|k| k != name) {
        if let Some(old) = container.shift_remove(&key) {
            container.insert(name.to_string(), old);
        }
    }
    container.entry(name.to_string()).or_insert(Value::Null)
}

/// Attribute without filter or sub-attribute. `add` appends to a multi-valued attribute
/// (skipping values already there, RFC 7644 §3.5.2.1) and merges into a complex one; `replace`
/// sets the whole value. For a single-valued complex attribute RFC 7644 §3.5.2.3 would merge,
/// but then replacing `manager` with `{"value":"<new>"}` would keep the old manager's `$ref`.
pub(super) fn set_whole(
    container: &mut Map<String, Value>,
    attr: &'static Attribute,
    name: &str,
    value: &Value,
    mode: Mode,
) -> Result<()> {
    let Some(new) = normalize_value(attr, value)? else {
        return Ok(());
    };
    let slot = slot_mut(container, name);
    let old = std::mem::take(slot);
    *slot = match mode {
        Mode::Add if attr.multi_valued => append_distinct(old, new),
        Mode::Add if attr.ty == AttrType::Complex => merge_objects(old, new),
        _ => new,
    };
    tidy(container, name);
    Ok(())
}

fn append_distinct(old: Value, new: Value) -> Value {
    let mut items = match old {
        Value::Array(items) => items,
        _ => Vec::new(),
    };
    let mut preferred = None;
    for item in into_items(new) {
        let index = match items.iter().position(|e| *e == item) {
            Some(index) => index,
            None => {
                items.push(item);
                items.len() - 1
            }
        };
        if items[index].get("primary") == Some(&Value::Bool(true)) {
            preferred = Some(index);
        }
    }
    keep_one_primary(&mut items, preferred);
    Value::Array(items)
}

fn into_items(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => vec![other],
    }
}

fn merge_objects(old: Value, new: Value) -> Value {
    match (old, new) {
        (Value::Object(mut old), Value::Object(new)) => {
            old.extend(new);
            Value::Object(old)
        }
        (_, new) => new,
    }
}

/// `name.givenName`, `manager.value`: sets the sub-attribute, creating the parent. For a
/// multi-valued parent without a filter the sub-attribute is set on every element.
pub(super) fn set_sub(
    container: &mut Map<String, Value>,
    attr: &'static Attribute,
    name: &str,
    sub: &'static Attribute,
    value: &Value,
) -> Result<()> {
    let Some(v) = normalize_element(sub, value)? else {
        return Ok(());
    };
    let slot = slot_mut(container, name);
    if attr.multi_valued {
        if !slot.is_array() {
            *slot = Value::Array(Vec::new());
        }
        if let Some(items) = slot.as_array_mut() {
            if items.is_empty() {
                items.push(Value::Object(Map::new()));
            }
            items
                .iter_mut()
                .for_each(|e| set_ci(e, sub.name, v.clone()));
        }
    } else {
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        set_ci(slot, sub.name, v);
    }
    Ok(())
}

/// `emails[type eq "work"].value` and `emails[type eq "work"]`: writes into every matching
/// element; when none matches, `compat::patch::element_from_filter` may seed a new one, otherwise
/// RFC 7644 §3.5.2.3: "the operation ... fails with ... noTarget".
pub(super) fn set_filtered(
    container: &mut Map<String, Value>,
    attr: &'static Attribute,
    name: &str,
    filter: &Filter,
    sub: Option<&'static Attribute>,
    value: &Value,
) -> Result<()> {
    let slot = slot_mut(container, name);
    if !attr.multi_valued {
        if slot.is_object() && matches_element(filter, attr, slot) {
            return write_element(slot, attr, sub, value);
        }
        return Err(Error::no_target(format!(
            "no value matches '{name}[{filter}]'"
        )));
    }
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let Some(items) = slot.as_array_mut() else {
        return Ok(());
    };
    let mut preferred = None;
    for (i, element) in items.iter_mut().enumerate() {
        if matches_element(filter, attr, element) {
            write_element(element, attr, sub, value)?;
            preferred = Some(i);
        }
    }
    if preferred.is_none() {
        let seed = compat::patch::element_from_filter(attr, filter)
            .ok_or_else(|| Error::no_target(format!("no value matches '{name}[{filter}]'")))?;
        let mut element = Value::Object(seed);
        write_element(&mut element, attr, sub, value)?;
        if let Some(element) = normalize_element(attr, &element)? {
            items.push(element);
            preferred = Some(items.len() - 1);
        }
    }
    keep_one_primary(items, preferred);
    Ok(())
}

/// Writes `value` into one element: into its sub-attribute `sub`, or merged as an object.
fn write_element(
    element: &mut Value,
    attr: &'static Attribute,
    sub: Option<&'static Attribute>,
    value: &Value,
) -> Result<()> {
    match sub {
        Some(sub) => {
            if let Some(v) = normalize_element(sub, value)? {
                set_ci(element, sub.name, v);
            }
        }
        None => {
            if let (Some(Value::Object(new)), Some(old)) =
                (normalize_element(attr, value)?, element.as_object_mut())
            {
                old.extend(new);
            }
        }
    }
    Ok(())
}

/// Entra's legacy value-list removal (`compat::patch::removal_value_list`): removes the elements whose
/// `value` (or, for elements without one, whole content) equals a listed item.
pub(super) fn remove_listed(
    slot: &mut Value,
    attr: &'static Attribute,
    list: &Value,
) -> Result<()> {
    let listed = normalize_value(attr, list)?
        .map(into_items)
        .unwrap_or_default();
    let same = |e: &Value, l: &Value| match (e.get("value"), l.get("value")) {
        (Some(a), Some(b)) => a == b,
        _ => e == l,
    };
    if let Value::Array(items) = slot {
        items.retain(|e| !listed.iter().any(|l| same(e, l)));
    }
    Ok(())
}

pub(super) fn remove_filtered(
    slot: &mut Value,
    attr: &'static Attribute,
    filter: &Filter,
    sub: Option<&'static Attribute>,
) {
    match (slot, sub) {
        (Value::Array(items), None) => items.retain(|e| !matches_element(filter, attr, e)),
        (Value::Array(items), Some(sub)) => items
            .iter_mut()
            .filter(|e| matches_element(filter, attr, e))
            .for_each(|e| remove_ci(e, sub.name)),
        (slot, sub) if slot.is_object() && matches_element(filter, attr, slot) => match sub {
            None => *slot = Value::Null,
            Some(sub) => remove_ci(slot, sub.name),
        },
        _ => {}
    }
}

pub(super) fn for_each_element(slot: &mut Value, mut f: impl FnMut(&mut Value)) {
    match slot {
        Value::Array(items) => items.iter_mut().for_each(f),
        other => f(other),
    }
}

/// Sets `name` in an object element, replacing a key spelled in another case.
fn set_ci(element: &mut Value, name: &str, value: Value) {
    if let Some(object) = element.as_object_mut() {
        if let Some(key) = key_ci(object, name).filter(|k| k != name) {
            object.shift_remove(&key);
        }
        object.insert(name.to_string(), value);
    }
}

pub(super) fn remove_ci(element: &mut Value, name: &str) {
    if let Some(object) = element.as_object_mut() {
        if let Some(key) = key_ci(object, name) {
            object.shift_remove(&key);
        }
    }
}

/// Drops `key` when its value became empty (RFC 7643 §2.5: unassigned, null and empty are
/// equivalent), and empty elements of a multi-valued value.
pub(super) fn tidy(container: &mut Map<String, Value>, key: &str) {
    let empty = match container.get_mut(key) {
        Some(Value::Array(items)) => {
            items.retain(|e| !matches!(e, Value::Object(o) if o.is_empty()));
            items.is_empty()
        }
        Some(Value::Object(o)) => o.is_empty(),
        Some(Value::Null) => true,
        _ => false,
    };
    if empty {
        container.shift_remove(key);
    }
}
