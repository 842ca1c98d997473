//! Evaluating a [`Filter`] against a resource document.
//!
//! Comparison follows the attribute's definition: `caseExact: false` strings compare after
//! [`fold_case`](crate::scim::fold::fold_case) (the literal folded once, when the filter is
//! parsed), `dateTime` values compare as instants, numbers as numbers. A complex
//! multi-valued attribute compared without a sub-attribute compares its `value`s, and a
//! multi-valued attribute matches when any value does (RFC 7644 §3.4.2.2).
//!
//! Evaluation is bounded: every comparison charges the bytes it looks at to a [`Work`]
//! allowance, so a long filter of `co` terms over large attributes cannot keep a request (or
//! a store) busy for seconds; the caller turns an exhausted allowance into 400 `tooMany`.

use std::cell::Cell;
use std::cmp::Ordering;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{CompValue, CompareOp, Filter};
use crate::scim::compat;
use crate::scim::fold::Folded;
use crate::scim::path::AttrPath;
use crate::scim::schema::{AttrType, Attribute, ResourceKind, container_of, get_ci};

/// Most bytes of values the filters of one query may compare: about a tenth of a second of
/// folding and searching. Entra's and Okta's lookups use a few hundred bytes per resource.
pub const MAX_FILTER_WORK_BYTES: usize = 32 * 1024 * 1024;

/// The comparison allowance of one query: each comparison charges the bytes of both sides
/// (and one byte for a comparison of anything else). Once spent, comparisons stop doing work
/// and [`Work::exhausted`] says so; the result of that evaluation must not be used.
#[derive(Debug)]
pub struct Work {
    left: Cell<usize>,
    exhausted: Cell<bool>,
}

impl Work {
    /// An allowance of `bytes`.
    pub fn new(bytes: usize) -> Self {
        Work {
            left: Cell::new(bytes),
            exhausted: Cell::new(false),
        }
    }

    /// The allowance of one query, [`MAX_FILTER_WORK_BYTES`].
    pub fn per_query() -> Self {
        Work::new(MAX_FILTER_WORK_BYTES)
    }

    /// Whether the allowance ran out (some evaluation was cut short).
    pub fn exhausted(&self) -> bool {
        self.exhausted.get()
    }

    /// Takes `n` bytes; false (and exhausted from then on) when fewer are left.
    fn charge(&self, n: usize) -> bool {
        if self.exhausted.get() {
            return false;
        }
        match self.left.get().checked_sub(n) {
            Some(left) => {
                self.left.set(left);
                true
            }
            None => {
                self.exhausted.set(true);
                false
            }
        }
    }
}

/// Whether `resource` (a full resource document) matches `filter`, without a work bound (for
/// tests and single documents; stores use [`matches_within`]).
pub fn matches(filter: &Filter, kind: ResourceKind, resource: &Value) -> bool {
    matches_within(filter, kind, resource, &Work::new(usize::MAX))
}

/// Whether `resource` matches `filter`, charging the comparisons to `work`. When
/// `work.exhausted()` afterwards, the answer is meaningless and the query must be refused.
pub fn matches_within(filter: &Filter, kind: ResourceKind, resource: &Value, work: &Work) -> bool {
    eval(filter, Scope::Resource(kind), resource, work)
}

/// Whether one element of the complex attribute `parent` (an item of `emails`, or the value of a
/// single-valued complex attribute such as `manager`) matches a value filter whose paths name
/// `parent`'s sub-attributes, as in the PATCH path `emails[type eq "work"]` (RFC 7644 §3.5.2).
/// A PATCH path filter runs on the elements of one attribute of one resource, bounded by the
/// body size, so it needs no allowance.
pub fn matches_element(filter: &Filter, parent: &'static Attribute, element: &Value) -> bool {
    eval(
        filter,
        Scope::Element(Some(parent)),
        element,
        &Work::new(usize::MAX),
    )
}

/// What the paths of a (sub-)filter are relative to.
#[derive(Clone, Copy)]
enum Scope {
    Resource(ResourceKind),
    /// An element of a complex attribute; paths name its sub-attributes.
    Element(Option<&'static Attribute>),
}

fn eval(filter: &Filter, scope: Scope, node: &Value, work: &Work) -> bool {
    match filter {
        Filter::And(a, b) => eval(a, scope, node, work) && eval(b, scope, node, work),
        Filter::Or(a, b) => eval(a, scope, node, work) || eval(b, scope, node, work),
        Filter::Not(f) => !eval(f, scope, node, work),
        Filter::Present(path) => {
            let (values, _) = lookup(path, scope, node);
            values.iter().any(|v| is_present(v))
        }
        Filter::Compare(path, op, comp) => {
            let (values, def) = lookup(path, scope, node);
            let leaves = leaves(&values, def, path.sub.is_some());
            // A complex attribute compared as a whole compares its `value` sub-attribute.
            let def = match def {
                Some(d) if d.ty == AttrType::Complex && path.sub.is_none() => {
                    d.sub_attribute("value")
                }
                other => other,
            };
            let compare = |v: &Value, op: CompareOp| {
                work.charge(cost(v, comp)) && compare_json(v, op, comp, def)
            };
            match (op, comp) {
                (CompareOp::Eq, CompValue::Null) => leaves.iter().all(|v| v.is_null()),
                (CompareOp::Ne, CompValue::Null) => leaves.iter().any(|v| !v.is_null()),
                (CompareOp::Ne, _) => !leaves.iter().any(|v| compare(v, CompareOp::Eq)),
                _ => leaves.iter().any(|v| compare(v, *op)),
            }
        }
        Filter::ValuePath(path, inner) => {
            let (values, def) = lookup(path, scope, node);
            let element_scope = Scope::Element(def);
            values.iter().any(|v| match v {
                Value::Array(items) => items
                    .iter()
                    .any(|item| eval(inner, element_scope, item, work)),
                Value::Object(_) => eval(inner, element_scope, v, work),
                _ => false,
            })
        }
    }
}

/// What comparing `v` with `comp` costs: the bytes of both sides when both are text (folding
/// and searching walk them), one byte otherwise.
fn cost(v: &Value, comp: &CompValue) -> usize {
    match (v, comp) {
        (Value::String(s), CompValue::Str(c)) => s.len().saturating_add(c.len()).max(1),
        _ => 1,
    }
}

/// The value the path names (at most one, maybe an array) and the definition of its leaf.
fn lookup<'v>(
    path: &AttrPath,
    scope: Scope,
    node: &'v Value,
) -> (Vec<&'v Value>, Option<&'static Attribute>) {
    match scope {
        Scope::Resource(kind) => match kind.resolve(path) {
            Some(resolved) => {
                let Some(container) = container_of(node, resolved.container) else {
                    return (Vec::new(), None);
                };
                let Some(value) = get_ci(container, resolved.def.stored_name(&path.name)) else {
                    return (Vec::new(), Some(resolved.sub.unwrap_or(resolved.attr())));
                };
                match (&path.sub, resolved.sub) {
                    (Some(sub), def) => (sub_values(value, sub), def),
                    (None, _) => (vec![value], Some(resolved.attr())),
                }
            }
            // Unknown to the schema: compare what is there, case-insensitively.
            None => {
                let Some(object) = node.as_object() else {
                    return (Vec::new(), None);
                };
                match get_ci(object, &path.name) {
                    Some(value) => match &path.sub {
                        Some(sub) => (sub_values(value, sub), None),
                        None => (vec![value], None),
                    },
                    None => (Vec::new(), None),
                }
            }
        },
        Scope::Element(parent) => {
            let Some(object) = node.as_object() else {
                return (Vec::new(), None);
            };
            let def = parent.and_then(|p| p.sub_attribute(&path.name));
            let name = def.map_or(path.name.as_str(), |d| d.name);
            (get_ci(object, name).into_iter().collect(), def)
        }
    }
}

/// The `sub` members of a complex value or of each element of a complex array.
fn sub_values<'v>(value: &'v Value, sub: &str) -> Vec<&'v Value> {
    match value {
        Value::Object(o) => get_ci(o, sub).into_iter().collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_object().and_then(|o| get_ci(o, sub)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Flattens arrays; a complex attribute compared as a whole compares its `value`.
fn leaves<'v>(
    values: &[&'v Value],
    def: Option<&'static Attribute>,
    has_sub: bool,
) -> Vec<&'v Value> {
    let complex = !has_sub && def.is_some_and(|d| d.ty == AttrType::Complex);
    let mut out = Vec::new();
    for v in values {
        match v {
            Value::Array(items) => {
                for item in items {
                    push_leaf(&mut out, item, complex);
                }
            }
            other => push_leaf(&mut out, other, complex),
        }
    }
    out
}

fn push_leaf<'v>(out: &mut Vec<&'v Value>, v: &'v Value, complex: bool) {
    match v {
        Value::Object(o) if complex => out.extend(get_ci(o, "value")),
        Value::Object(_) => {}
        other => out.push(other),
    }
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// Compares one stored JSON value with a filter value using the attribute's definition.
pub fn compare_json(
    value: &Value,
    op: CompareOp,
    comp: &CompValue,
    def: Option<&Attribute>,
) -> bool {
    let case_exact = def.is_some_and(|d| d.case_exact);
    let ty = def.map(|d| d.ty);
    match (value, comp) {
        (Value::String(s), CompValue::Str(c)) if ty == Some(AttrType::DateTime) => {
            match (parse_time(s), parse_time(c)) {
                (Some(a), Some(b)) => ordering_matches(op, a.cmp(&b)),
                _ => compare_str(s, c, op, case_exact),
            }
        }
        (Value::String(s), CompValue::Str(c)) => compare_str(s, c, op, case_exact),
        (Value::Bool(b), CompValue::Bool(c)) => equality(op, b == c),
        // `"True"`/`"False"` on either side: Entra's legacy dialect (compat::filter).
        (Value::Bool(b), CompValue::Str(c)) => match compat::input::lenient_bool_text(c) {
            Some(c) => equality(op, *b == c),
            None => false,
        },
        (Value::String(s), CompValue::Bool(c)) => match compat::input::lenient_bool_text(s) {
            Some(b) => equality(op, b == *c),
            None => false,
        },
        (Value::Number(n), CompValue::Number(c)) => match (n.as_f64(), c.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(|o| ordering_matches(op, o)),
            _ => false,
        },
        _ => false,
    }
}

/// Compares a document string with a filter literal. The literal was folded when the filter
/// was parsed; the document's side is folded as it is read, without a copy.
fn compare_str(s: &str, c: &Folded, op: CompareOp, case_exact: bool) -> bool {
    if case_exact {
        let c = c.as_str();
        return match op {
            CompareOp::Co => s.contains(c),
            CompareOp::Sw => s.starts_with(c),
            CompareOp::Ew => s.ends_with(c),
            _ => ordering_matches(op, s.cmp(c)),
        };
    }
    match op {
        CompareOp::Co => c.is_within_folded(s),
        CompareOp::Sw => c.is_prefix_of_folded(s),
        CompareOp::Ew => c.is_suffix_of_folded(s),
        _ => ordering_matches(op, c.cmp_folded(s)),
    }
}

fn equality(op: CompareOp, equal: bool) -> bool {
    match op {
        CompareOp::Eq => equal,
        CompareOp::Ne => !equal,
        _ => false,
    }
}

fn ordering_matches(op: CompareOp, o: Ordering) -> bool {
    match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}
