//! PATCH operations on a group's `members`.
//!
//! Members are stored as items of their own, so these operations never read or write the group
//! document: they only fold into a [`MemberDelta`] that the service applies to the membership
//! items (adding one member must not load a 20k-member list: case R2 in docs/clients.md).

use serde_json::Value;

use super::MemberDelta;
use super::apply::Mode;
use crate::scim::compat;
use crate::scim::error::{Error, Result};
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::input::member_ids;
use crate::scim::schema::Attribute;

/// `add` / `replace` on `members` (or `members.value`): RFC 7644 §3.5.2.1 adds the listed
/// members; §3.5.2.3 replaces the whole list, i.e. clear then add.
///
/// # Errors
/// `invalidPath` for a value filter or another sub-attribute; `invalidValue` for an item
/// without an id.
pub(super) fn write(
    delta: &mut MemberDelta,
    mode: Mode,
    sub: Option<&Attribute>,
    filter: Option<&Filter>,
    value: &Value,
) -> Result<()> {
    if filter.is_some() || sub.is_some_and(|s| !s.is("value")) {
        return Err(Error::invalid_path(
            "members are added or replaced as a list of {\"value\":\"<id>\"}",
        ));
    }
    let ids = member_ids(value)?;
    if mode == Mode::Replace {
        delta.clear_all();
    }
    for id in &ids {
        delta.add_member(id);
    }
    Ok(())
}

/// `remove` on `members`: by filter (`members[value eq "x"]`, several joined with `or`), by a
/// value list (Entra legacy, `compat::patch::removal_value_list`: only the listed ids), or, with
/// neither, every member (RFC 7644 §3.5.2.2: "all values are removed").
///
/// # Errors
/// `invalidFilter` for a filter other than `value eq "<id>"` alternatives; `invalidPath` for a
/// sub-attribute other than `value`; `invalidValue` for a list item without an id.
pub(super) fn remove(
    delta: &mut MemberDelta,
    sub: Option<&Attribute>,
    filter: Option<&Filter>,
    value: Option<&Value>,
) -> Result<()> {
    if sub.is_some_and(|s| !s.is("value")) {
        return Err(Error::invalid_path(
            "members can only be removed by 'value'",
        ));
    }
    let ids = match (filter, value) {
        (Some(filter), _) => {
            let mut ids = Vec::new();
            ids_in_filter(filter, &mut ids)?;
            ids
        }
        // A value that lists nobody (`[]`, `""`) removes nobody: only a remove without any
        // value means "all members", so a malformed list can never empty a group.
        (None, Some(list)) => match compat::patch::removal_value_list(Some(list)) {
            Some(list) => member_ids(list)?,
            None => Vec::new(),
        },
        (None, None) => {
            delta.clear_all();
            return Ok(());
        }
    };
    for id in &ids {
        delta.remove_member(id);
    }
    Ok(())
}

/// Collects the ids of `value eq "<id>"` comparisons joined with `or`.
///
/// Any other filter would need the member list to evaluate, which is never loaded; it is
/// rejected rather than silently ignored.
fn ids_in_filter(filter: &Filter, ids: &mut Vec<String>) -> Result<()> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, CompValue::Str(id))
            if path.is("value") && path.urn.is_none() =>
        {
            ids.push(id.to_string());
            Ok(())
        }
        Filter::Or(a, b) => {
            ids_in_filter(a, ids)?;
            ids_in_filter(b, ids)
        }
        other => Err(Error::invalid_filter(format!(
            "members can only be removed by 'value eq \"<id>\"' (joined with 'or'), not '{other}'"
        ))),
    }
}
