//! PATCH (RFC 7644 §3.5.2): parsing a PatchOp body into [`PatchOp`]s and applying them to a
//! stored resource document through the schema.
//!
//! Nothing here switches on an attribute's name: `add`, `replace` and `remove` look at the
//! definition (multi-valued, complex, mutability) of whatever the path resolves to. Group
//! members are the one attribute the document never holds; operations on them only produce a
//! [`MemberDelta`] for the service to apply to the membership items. Client quirks are
//! delegated to `compat`.
//!
//! - `apply.rs`: dispatching add/replace/remove by what the path resolves to.
//! - `values.rs`: writing and removing values inside one container object.
//! - `members.rs`: the operations that target `members`.
//! - `tracked.rs`: the document as operations change it, telling whether they changed it.

mod apply;
mod members;
mod tracked;
mod values;

use serde_json::{Map, Value};

use crate::scim::compat;
use crate::scim::error::{Error, Result};
use crate::scim::input::{check_required, is_extension_key, refresh_schemas};
use crate::scim::path::PatchPath;
use crate::scim::schema::{ResourceKind, get_ci};

/// Most operations accepted in one request. Entra sends a handful; the cap bounds the work one
/// request can cause. Exceeding it is a 400 `tooMany` ("more than the server is willing to
/// process", RFC 7644 §3.12) rather than `invalidSyntax`, because the body is well-formed.
pub const MAX_OPERATIONS: usize = 1000;

/// A parsed PATCH request (RFC 7644 §3.5.2).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    /// The operations, applied in order.
    pub operations: Vec<PatchOp>,
}

/// One PATCH operation.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchOp {
    /// `add`: without a path, `value` is an object whose keys are attribute paths.
    Add {
        /// Target; `None` means the resource itself.
        path: Option<PatchPath>,
        /// The value to add.
        value: Value,
    },
    /// `replace`: without a path, `value` is an object whose keys are attribute paths.
    Replace {
        /// Target; `None` means the resource itself.
        path: Option<PatchPath>,
        /// The new value (`null` or `""` removes the target).
        value: Value,
    },
    /// `remove`: RFC 7644 §3.5.2.2 makes the path mandatory.
    Remove {
        /// Target.
        path: PatchPath,
        /// Optional list of values to remove from a multi-valued target (Entra's legacy
        /// member removal, see `compat::patch::removal_value_list`).
        value: Option<Value>,
    },
}

/// The three PATCH operations of RFC 7644 §3.5.2 (their names are read by
/// `compat::patch::op_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpName {
    /// `add`
    Add,
    /// `replace`
    Replace,
    /// `remove`
    Remove,
}

/// A PATCH applied to a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Patched {
    /// The patched document.
    pub doc: Value,
    /// The membership changes the operations ask for.
    pub members: MemberDelta,
    /// Whether any attribute of the document now holds another value (or is new, or gone):
    /// when not, and `members` is empty, the request changes nothing.
    pub changed: bool,
}

/// Membership changes a group PATCH asks for, folded in operation order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberDelta {
    /// Remove every current member before adding `add`.
    pub clear: bool,
    /// Member ids to add (after clearing, when `clear`).
    pub add: Vec<String>,
    /// Member ids to remove.
    pub remove: Vec<String>,
}

impl MemberDelta {
    /// Records "remove all members": earlier adds and removes no longer matter.
    pub fn clear_all(&mut self) {
        self.clear = true;
        self.add.clear();
        self.remove.clear();
    }

    /// Records adding `id`, cancelling an earlier removal of it.
    pub fn add_member(&mut self, id: &str) {
        self.remove.retain(|r| r != id);
        if !self.add.iter().any(|a| a == id) {
            self.add.push(id.to_string());
        }
    }

    /// Records removing `id`, cancelling an earlier addition of it.
    pub fn remove_member(&mut self, id: &str) {
        self.add.retain(|a| a != id);
        if !self.remove.iter().any(|r| r == id) {
            self.remove.push(id.to_string());
        }
    }

    /// Whether the delta changes nothing.
    pub fn is_empty(&self) -> bool {
        !self.clear && self.add.is_empty() && self.remove.is_empty()
    }
}

impl PatchRequest {
    /// Parses a PatchOp body.
    ///
    /// # Errors
    /// `invalidSyntax` when the body is not an object, `schemas` lacks the PatchOp URN,
    /// `Operations` is missing or malformed, or an `op` is unknown; `invalidPath` for a malformed
    /// path; `noTarget` for a `remove` without a path; `tooMany` past [`MAX_OPERATIONS`].
    pub fn parse(body: &Value) -> Result<Self> {
        let Some(body) = body.as_object() else {
            return Err(Error::invalid_syntax(
                "the PATCH body must be a JSON object",
            ));
        };
        if !compat::patch::patch_schemas_ok(body) {
            return Err(Error::invalid_syntax(
                "'schemas' must contain urn:ietf:params:scim:api:messages:2.0:PatchOp",
            ));
        }
        let raw = compat::patch::operations(body)?;
        if raw.len() > MAX_OPERATIONS {
            return Err(Error::too_many(format!(
                "{} operations; at most {MAX_OPERATIONS} are accepted",
                raw.len()
            )));
        }
        let operations = raw.iter().map(PatchOp::parse).collect::<Result<_>>()?;
        Ok(PatchRequest { operations })
    }

    /// Applies the operations to `doc` (a stored resource of `kind`, taken by value) and returns
    /// the patched document, the membership changes they ask for and whether the document
    /// changed.
    ///
    /// RFC 7644 §3.5.2: "each operation against an attribute MUST be compatible with the
    /// attribute's mutability and schema", and the request is atomic ("if any operation fails,
    /// the entire request fails"): atomicity comes from ownership. On an error the document is
    /// dropped; the stored version is the store's, and the caller parsed its own document from
    /// it. Whether anything changed comes from the few members the operations touched
    /// ([`tracked`]), so no copy of the document is needed to tell a no-op.
    ///
    /// # Errors
    /// `mutability` for an explicit path to a read-only attribute, `invalidValue` for a wrong
    /// value type or a removed required attribute, `noTarget` for a filter that matches nothing
    /// and cannot seed a new element, `invalidFilter` for an unsupported `members` filter.
    pub fn apply(&self, kind: ResourceKind, mut doc: Value) -> Result<Patched> {
        let Some(object) = doc.as_object_mut() else {
            return Err(Error::invalid_value("the stored resource is not an object"));
        };
        let mut members = MemberDelta::default();
        let mut tracked = tracked::Tracked::new(object);
        for op in &self.operations {
            op.apply(kind, &mut tracked, &mut members)?;
        }
        // `refresh_schemas` rewrites `schemas` and drops the extension objects left empty.
        tracked.keep("schemas");
        let emptied: Vec<String> = tracked
            .members()
            .iter()
            .filter(|(k, v)| is_extension_key(kind, k) && v.as_object().is_none_or(Map::is_empty))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &emptied {
            tracked.keep(key);
        }
        let kept = tracked.into_kept();
        check_required(kind, &doc)?;
        refresh_schemas(kind, &mut doc);
        let changed = doc
            .as_object()
            .is_some_and(|after| kept.differs_from(after));
        Ok(Patched {
            doc,
            members,
            changed,
        })
    }
}

impl PatchOp {
    /// Parses one element of `Operations`.
    ///
    /// # Errors
    /// As [`PatchRequest::parse`].
    pub fn parse(raw: &Value) -> Result<Self> {
        let Some(raw) = raw.as_object() else {
            return Err(Error::invalid_syntax("each operation must be an object"));
        };
        let name = get_ci(raw, "op")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let op = compat::patch::op_name(name)
            .ok_or_else(|| Error::invalid_syntax(format!("unknown PATCH op '{name}'")))?;
        let path = parse_path(raw)?;
        let value = get_ci(raw, "value").cloned();
        match (op, path, value) {
            (OpName::Remove, None, _) => Err(Error::no_target(
                "a remove operation needs a path (RFC 7644 §3.5.2.2)",
            )),
            (OpName::Remove, Some(path), value) => Ok(PatchOp::Remove {
                path,
                value: value.filter(|v| !v.is_null()),
            }),
            (_, _, None) => Err(Error::invalid_syntax(format!(
                "the {name} operation needs a 'value'"
            ))),
            (OpName::Add, path, Some(value)) => Ok(PatchOp::Add { path, value }),
            (OpName::Replace, path, Some(value)) => Ok(PatchOp::Replace { path, value }),
        }
    }

    fn apply(
        &self,
        kind: ResourceKind,
        doc: &mut tracked::Tracked<'_>,
        delta: &mut MemberDelta,
    ) -> Result<()> {
        let mut target = apply::Target { kind, doc, delta };
        match self {
            PatchOp::Add { path: None, value } => target.pathless(apply::Mode::Add, value),
            PatchOp::Replace { path: None, value } => target.pathless(apply::Mode::Replace, value),
            PatchOp::Add {
                path: Some(path),
                value,
            } => target.write(apply::Mode::Add, path, value),
            PatchOp::Replace {
                path: Some(path),
                value,
            } => target.write(apply::Mode::Replace, path, value),
            PatchOp::Remove { path, value } => target.remove(path, value.as_ref()),
        }
    }
}

/// The operation's `path`; absent, `null` and blank all mean "no path".
fn parse_path(raw: &Map<String, Value>) -> Result<Option<PatchPath>> {
    match get_ci(raw, "path") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => PatchPath::parse(s).map(Some),
        Some(_) => Err(Error::invalid_path("'path' must be a string")),
    }
}

#[cfg(test)]
mod tests;
