//! `add`, `replace` and `remove` on a resource document, driven by attribute definitions.
//!
//! What an operation does depends only on what its path resolves to: a multi-valued attribute,
//! a single-valued complex one, a simple one, a sub-attribute, or the elements a value filter
//! selects (RFC 7644 §3.5.2.1–3). Attributes unknown to the schema are ignored: Entra fails a
//! whole user update on one 400 (case D3 in docs/clients.md).

use serde_json::{Map, Value};

use super::tracked::Tracked;
use super::values::{
    for_each_element, remove_ci, remove_filtered, remove_listed, set_filtered, set_sub, set_whole,
    tidy,
};
use super::{MemberDelta, members};
use crate::scim::compat;
use crate::scim::error::{Error, Result};
use crate::scim::filter::Filter;
use crate::scim::input::{is_extension_key, is_member_list};
use crate::scim::path::{AttrPath, PatchPath};
use crate::scim::schema::{Attribute, Container, Mutability, Resolved, ResourceKind, key_ci};

/// Whether a write adds to or replaces what is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// RFC 7644 §3.5.2.1.
    Add,
    /// RFC 7644 §3.5.2.3.
    Replace,
}

/// The document an operation runs against, and where membership changes go.
pub(super) struct Target<'a, 'd> {
    /// Resource type of `doc`.
    pub kind: ResourceKind,
    /// The resource document's members: each operation changes them through
    /// [`Tracked::member_mut`], naming the one member it changes.
    pub doc: &'a mut Tracked<'d>,
    /// Membership changes collected so far.
    pub delta: &'a mut MemberDelta,
}

impl Target<'_, '_> {
    /// `add`/`replace` without a path: RFC 7644 §3.5.2.1 says the value "MUST contain a set of
    /// attributes"; each key is applied as if it were the operation's path
    /// (`compat::patch::pathless_key_as_path`).
    pub fn pathless(&mut self, mode: Mode, value: &Value) -> Result<()> {
        let Value::Object(entries) = value else {
            return Err(Error::invalid_value(
                "an operation without a path needs an object value (RFC 7644 §3.5.2)",
            ));
        };
        for (key, v) in entries {
            if let Some(path) = compat::patch::pathless_key_as_path(key) {
                self.write_key(mode, &path, v)?;
            }
        }
        Ok(())
    }

    /// Writes one key of a path-less (or whole-extension) value, skipping read-only ones.
    fn write_key(&mut self, mode: Mode, path: &PatchPath, value: &Value) -> Result<()> {
        if let PatchPath::Attr { attr, .. } = path {
            if let Some(r) = self.kind.resolve(attr) {
                if compat::patch::ignored_in_pathless_value(r.attr(), r.sub) {
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
        if is_member_list(self.kind, r.attr()) {
            return members::write(self.delta, mode, r.sub, filter, value);
        }
        // `password` (writeOnly) is accepted and dropped: this server never authenticates users,
        // so it never stores secrets (same rule as `resource::prepare`).
        if r.attr().mutability == Mutability::WriteOnly {
            return Ok(());
        }
        if compat::input::is_cleared(value) {
            return self.remove_attr(&r, attr, filter, None);
        }
        let name = r.def.stored_name(&attr.name);
        let container = container_mut(self.doc, r.container, name, true);
        let Some(container) = container else {
            return Ok(());
        };
        match (filter, r.sub) {
            (None, None) => set_whole(container, r.attr(), name, value, mode),
            (None, Some(sub)) => set_sub(container, r.attr(), name, sub, value),
            (Some(filter), sub) => set_filtered(container, r.attr(), name, filter, sub, value),
        }
    }

    /// A path that is an extension URN: each key of the object value is written as the path
    /// `<key>` qualified by the URN, so sub-attributes not in the value are left unchanged
    /// (RFC 7644 §3.5.2.3 for complex targets). `null`/`""` removes the whole extension.
    fn write_extension(&mut self, mode: Mode, urn: &str, value: &Value) -> Result<()> {
        if urn.eq_ignore_ascii_case(self.kind.schema().id) {
            return self.pathless(mode, value);
        }
        if !is_extension_key(self.kind, urn) {
            return Ok(());
        }
        if compat::input::is_cleared(value) {
            return self.remove(&PatchPath::Schema(urn.to_string()), None);
        }
        let Value::Object(entries) = value else {
            return Err(Error::invalid_value(format!("'{urn}' must be an object")));
        };
        for (key, v) in entries {
            // A key is a path inside the extension; one carrying a URN of its own names no
            // attribute of this one and is ignored, like any unknown attribute.
            let Ok(mut attr) = AttrPath::parse(key) else {
                continue;
            };
            if attr.urn.is_none() {
                attr.urn = Some(urn.to_string());
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
                    let members = self.doc.member_mut(urn);
                    if let Some(key) = key_ci(members, urn) {
                        members.shift_remove(&key);
                    }
                }
                Ok(())
            }
            PatchPath::Attr { attr, filter } => {
                let Some(r) = self.kind.resolve(attr) else {
                    return Ok(());
                };
                check_mutable(&r, attr)?;
                if is_member_list(self.kind, r.attr()) {
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
        let name = r.def.stored_name(&path.name);
        let Some(container) = container_mut(self.doc, r.container, name, false) else {
            return Ok(());
        };
        let Some(key) = key_ci(container, name) else {
            return Ok(());
        };
        if let Some(slot) = container.get_mut(&key) {
            match (filter, r.sub) {
                (None, None) => match compat::patch::removal_value_list(value) {
                    Some(list) if r.attr().multi_valued => remove_listed(slot, r.attr(), list)?,
                    _ => *slot = Value::Null,
                },
                (None, Some(sub)) => for_each_element(slot, |e| remove_ci(e, sub.name)),
                (Some(filter), sub) => remove_filtered(slot, r.attr(), filter, sub),
            }
        }
        tidy(container, &key);
        Ok(())
    }
}

/// RFC 7643 §2.2: a `readOnly` attribute "SHALL NOT be modified"; an explicit path to one is a
/// 400 `mutability` (RFC 7644 §3.5.2). (Read-only keys inside a path-less value are skipped
/// before this, see `compat::patch::ignored_in_pathless_value`.)
fn check_mutable(r: &Resolved<'_>, path: &AttrPath) -> Result<()> {
    let read_only = |a: &Attribute| a.mutability == Mutability::ReadOnly;
    if read_only(r.attr()) || r.sub.is_some_and(read_only) {
        return Err(Error::mutability(format!("'{path}' is read-only")));
    }
    Ok(())
}

/// The object holding `container`'s attributes, to change its attribute `name`: the
/// document itself, whose member `name` changes, or an extension object, which changes as a
/// whole member of the document. An extension object is created when `create`.
fn container_mut<'t>(
    doc: &'t mut Tracked<'_>,
    container: Container<'_>,
    name: &str,
    create: bool,
) -> Option<&'t mut Map<String, Value>> {
    let urn = match container {
        Container::Core => return Some(doc.member_mut(name)),
        Container::Extension(urn) => urn,
    };
    let doc = doc.member_mut(urn);
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
