//! `add`, `replace` and `remove` on a resource document, driven by attribute definitions.
//!
//! What an operation does depends only on what its path resolves to: a multi-valued attribute,
//! a single-valued complex one, a simple one, a sub-attribute, or the elements a value filter
//! selects (RFC 7644 §3.5.2.1–3). Attributes unknown to the schema are ignored: Entra fails a
//! whole user update on one 400 (entra.md D3).

use serde_json::{Map, Value};

use super::{MemberDelta, members};
use crate::scim::compat;
use crate::scim::error::{Error, Result};
use crate::scim::filter::{Filter, matches_element};
use crate::scim::path::{AttrPath, PatchPath};
use crate::scim::resource::{
    is_extension_key, is_member_list, keep_one_primary, normalize_element, normalize_value,
    stored_name,
};
use crate::scim::schema::{
    AttrType, Attribute, Container, Mutability, Resolved, ResourceKind, key_ci,
};

/// Whether a write adds to or replaces what is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// RFC 7644 §3.5.2.1.
    Add,
    /// RFC 7644 §3.5.2.3.
    Replace,
}

/// The document an operation runs against, and where membership changes go.
pub(super) struct Target<'a> {
    /// Resource type of `doc`.
    pub kind: ResourceKind,
    /// The (copied) resource document.
    pub doc: &'a mut Map<String, Value>,
    /// Membership changes collected so far.
    pub delta: &'a mut MemberDelta,
}

impl Target<'_> {
    /// `add`/`replace` without a path: RFC 7644 §3.5.2.1 says the value "MUST contain a set of
    /// attributes"; each key is applied as if it were the operation's path
    /// (`compat::pathless_key_as_path`).
    pub fn pathless(&mut self, mode: Mode, value: &Value) -> Result<()> {
        let Value::Object(entries) = value else {
            return Err(Error::invalid_value(
                "an operation without a path needs an object value (RFC 7644 §3.5.2)",
            ));
        };
        for (key, v) in entries {
            if let Some(path) = compat::pathless_key_as_path(key) {
                self.write_key(mode, &path, v)?;
            }
        }
        Ok(())
    }

    /// Writes one key of a path-less (or whole-extension) value, skipping read-only ones.
    fn write_key(&mut self, mode: Mode, path: &PatchPath, value: &Value) -> Result<()> {
        if let PatchPath::Attr { attr, .. } = path {
            if let Some(r) = self.kind.resolve(attr) {
                if compat::ignored_in_pathless_value(r.attr, r.sub) {
                    return Ok(());
                }
            }
        }
        self.write(mode, path, value)
    }

    /// `add`/`replace` with a path.
    pub fn write(&mut self, mode: Mode, path: &PatchPath, value: &Value) -> Result<()> {
        let (attr, filter) = match path {
            PatchPath::Schema(urn) => return self.write_extension(mode, urn, value),
            PatchPath::Attr { attr, filter } => (attr, filter.as_ref()),
        };
        let Some(r) = self.kind.resolve(attr) else {
            return Ok(());
        };
        check_mutable(&r, attr)?;
        if is_member_list(self.kind, r.attr) {
            return members::write(self.delta, mode, r.sub, filter, value);
        }
        if r.attr.mutability == Mutability::WriteOnly {
            return Ok(());
        }
        if compat::is_cleared(value) {
            return self.remove_attr(&r, attr, filter, None);
        }
        let name = stored_name(r.attr, &attr.name);
        let container = container_mut(self.doc, r.container, true);
        let Some(container) = container else {
            return Ok(());
        };
        match (filter, r.sub) {
            (None, None) => set_whole(container, r.attr, name, value, mode),
            (None, Some(sub)) => set_sub(container, r.attr, name, sub, value),
            (Some(filter), sub) => set_filtered(container, r.attr, name, filter, sub, value),
        }
    }

    /// A path that is an extension URN: each key of the object value is written as
    /// `<urn>:<key>`, so sub-attributes not in the value are left unchanged (RFC 7644 §3.5.2.3
    /// for complex targets). `null`/`""` removes the whole extension.
    fn write_extension(&mut self, mode: Mode, urn: &str, value: &Value) -> Result<()> {
        if urn.eq_ignore_ascii_case(self.kind.schema().id) {
            return self.pathless(mode, value);
        }
        if !is_extension_key(self.kind, urn) {
            return Ok(());
        }
        if compat::is_cleared(value) {
            return self.remove(&PatchPath::Schema(urn.to_string()), None);
        }
        let Value::Object(entries) = value else {
            return Err(Error::invalid_value(format!("'{urn}' must be an object")));
        };
        for (key, v) in entries {
            if let Ok(attr) = AttrPath::from_token(&format!("{urn}:{key}")) {
                self.write_key(mode, &PatchPath::Attr { attr, filter: None }, v)?;
            }
        }
        Ok(())
    }

    /// `remove` (RFC 7644 §3.5.2.2). Removing what is not there is a no-op, so a retried
    /// request gives the same result.
    pub fn remove(&mut self, path: &PatchPath, value: Option<&Value>) -> Result<()> {
        match path {
            PatchPath::Schema(urn) => {
                if is_extension_key(self.kind, urn) {
                    if let Some(key) = key_ci(self.doc, urn) {
                        self.doc.shift_remove(&key);
                    }
                }
                Ok(())
            }
            PatchPath::Attr { attr, filter } => {
                let Some(r) = self.kind.resolve(attr) else {
                    return Ok(());
                };
                check_mutable(&r, attr)?;
                if is_member_list(self.kind, r.attr) {
                    return members::remove(self.delta, r.sub, filter.as_ref(), value);
                }
                self.remove_attr(&r, attr, filter.as_ref(), value)
            }
        }
    }

    fn remove_attr(
        &mut self,
        r: &Resolved<'_>,
        path: &AttrPath,
        filter: Option<&Filter>,
        value: Option<&Value>,
    ) -> Result<()> {
        let name = stored_name(r.attr, &path.name);
        let Some(container) = container_mut(self.doc, r.container, false) else {
            return Ok(());
        };
        let Some(key) = key_ci(container, name) else {
            return Ok(());
        };
        if let Some(slot) = container.get_mut(&key) {
            match (filter, r.sub) {
                (None, None) => match compat::removal_value_list(value) {
                    Some(list) if r.attr.multi_valued => remove_listed(slot, r.attr, list)?,
                    _ => *slot = Value::Null,
                },
                (None, Some(sub)) => for_each_element(slot, |e| remove_ci(e, sub.name)),
                (Some(filter), sub) => remove_filtered(slot, r.attr, filter, sub),
            }
        }
        tidy(container, &key);
        Ok(())
    }
}

/// RFC 7643 §2.2: a `readOnly` attribute "SHALL NOT be modified"; an explicit path to one is a
/// 400 `mutability` (RFC 7644 §3.5.2). (Read-only keys inside a path-less value are skipped
/// before this, see `compat::ignored_in_pathless_value`.)
fn check_mutable(r: &Resolved<'_>, path: &AttrPath) -> Result<()> {
    let read_only = |a: &Attribute| a.mutability == Mutability::ReadOnly;
    if read_only(r.attr) || r.sub.is_some_and(read_only) {
        return Err(Error::mutability(format!("'{path}' is read-only")));
    }
    Ok(())
}

/// The object holding `container`'s attributes; an extension object is created when `create`.
fn container_mut<'d>(
    doc: &'d mut Map<String, Value>,
    container: Container<'_>,
    create: bool,
) -> Option<&'d mut Map<String, Value>> {
    let urn = match container {
        Container::Core => return Some(doc),
        Container::Extension(urn) => urn,
    };
    let key = match key_ci(doc, urn) {
        Some(key) => key,
        None if create => urn.to_string(),
        None => return None,
    };
    let slot = doc.entry(key).or_insert(Value::Null);
    if create && !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

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
fn set_whole(
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
fn set_sub(
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
/// element; when none matches, `compat::element_from_filter` may seed a new one, otherwise
/// RFC 7644 §3.5.2.3: "the operation ... fails with ... noTarget".
fn set_filtered(
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
        let seed = compat::element_from_filter(attr, filter)
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

/// Entra's legacy value-list removal (`compat::removal_value_list`): removes the elements whose
/// `value` (or, for elements without one, whole content) equals a listed item.
fn remove_listed(slot: &mut Value, attr: &'static Attribute, list: &Value) -> Result<()> {
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

fn remove_filtered(
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

fn for_each_element(slot: &mut Value, mut f: impl FnMut(&mut Value)) {
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

fn remove_ci(element: &mut Value, name: &str) {
    if let Some(object) = element.as_object_mut() {
        if let Some(key) = key_ci(object, name) {
            object.shift_remove(&key);
        }
    }
}

/// Drops `key` when its value became empty (RFC 7643 §2.5: unassigned, null and empty are
/// equivalent), and empty elements of a multi-valued value.
fn tidy(container: &mut Map<String, Value>, key: &str) {
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
