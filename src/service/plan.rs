//! Query planning: which index answers a filter.
//!
//! Entra's lookups (`userName eq`, `externalId eq`, `displayName eq`,
//! `emails[type eq "work"].value eq`) and the legacy membership check (`members eq`) each map
//! to one index; the conjunct an index answers is taken out of the filter, and the rest is
//! evaluated on the candidates. Anything else is a bounded scan in id order.

use crate::scim::error::Error as ScimError;
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::path::AttrPath;
use crate::scim::schema::{Container, ResourceKind, fold_case};
use crate::store::Lookup;

/// Chooses the lookup for `filter` and returns what remains to be evaluated.
///
/// # Errors
/// `invalidFilter` when the filter uses `members` (groups) or `groups` (users) in a way no
/// index can answer: member lists are never loaded to evaluate a filter.
pub fn plan(
    kind: ResourceKind,
    filter: Option<Filter>,
) -> Result<(Lookup, Option<Filter>), ScimError> {
    let Some(filter) = filter else {
        return Ok((Lookup::All, None));
    };
    let mut conjuncts = Vec::new();
    flatten_and(filter, &mut conjuncts);
    let best = conjuncts
        .iter()
        .enumerate()
        .filter_map(|(i, f)| lookup_for(kind, f).map(|l| (rank(&l), i, l)))
        .min_by_key(|(r, i, _)| (*r, *i));
    let lookup = match best {
        Some((_, i, lookup)) => {
            conjuncts.remove(i);
            lookup
        }
        None => Lookup::All,
    };
    let residual = conjuncts.into_iter().reduce(Filter::and);
    if let Some(r) = &residual {
        let relation = kind.relation().attribute();
        if r.mentions(&|p: &AttrPath| core_path(kind, p) && p.name.eq_ignore_ascii_case(relation)) {
            return Err(ScimError::invalid_filter(format!(
                "'{relation}' can only be filtered as '{relation}.value eq \"<id>\"' joined with 'and'"
            )));
        }
    }
    Ok((lookup, residual))
}

fn flatten_and(f: Filter, out: &mut Vec<Filter>) {
    match f {
        Filter::And(a, b) => {
            flatten_and(*a, out);
            flatten_and(*b, out);
        }
        other => out.push(other),
    }
}

/// Membership first (its conjunct cannot be evaluated on a document, so it must be the one an
/// index answers), then cheapest first: a read by key, a guard and a read, index queries.
fn rank(l: &Lookup) -> u8 {
    match l {
        Lookup::HasMember(_) => 0,
        Lookup::Id(_) => 1,
        Lookup::Unique(_) => 2,
        Lookup::ExternalId(_) => 3,
        Lookup::WorkEmail(_) => 4,
        Lookup::All => 5,
    }
}

fn lookup_for(kind: ResourceKind, f: &Filter) -> Option<Lookup> {
    match f {
        Filter::Compare(path, CompareOp::Eq, CompValue::Str(v)) => {
            if kind.has_members() && is_member_value(kind, path) {
                return Some(Lookup::HasMember(v.to_string()));
            }
            let resolved = kind.resolve(path)?;
            if resolved.container != Container::Core || resolved.sub.is_some() {
                return None;
            }
            match resolved.attr().name {
                "id" => Some(Lookup::Id(v.to_string())),
                "externalId" => Some(Lookup::ExternalId(v.to_string())),
                name if name == kind.unique_attribute() => Some(Lookup::Unique(fold_case(v))),
                _ => None,
            }
        }
        Filter::ValuePath(path, inner)
            if kind.descriptor().work_email_index && path.is("emails") && core_path(kind, path) =>
        {
            work_email(inner).map(|v| Lookup::WorkEmail(fold_case(v)))
        }
        _ => None,
    }
}

/// `members.value` or `members`, short or qualified with the Group schema URN: every form
/// of the name plans alike.
fn is_member_value(kind: ResourceKind, path: &AttrPath) -> bool {
    core_path(kind, path) && (path.is("members") || path.is_sub("members", "value"))
}

/// Whether `path` names an attribute of the kind's core schema (no URN, or its URN).
fn core_path(kind: ResourceKind, path: &AttrPath) -> bool {
    path.urn
        .as_deref()
        .is_none_or(|u| u.eq_ignore_ascii_case(kind.schema().id))
}

/// `type eq "work" and value eq "<v>"`, in either order.
fn work_email(inner: &Filter) -> Option<&str> {
    let Filter::And(a, b) = inner else {
        return None;
    };
    typed_work(a, b).or_else(|| typed_work(b, a))
}

fn typed_work<'f>(t: &'f Filter, v: &'f Filter) -> Option<&'f str> {
    eq_value(t, "type")
        .filter(|t| t.eq_ignore_ascii_case("work"))
        .and(eq_value(v, "value"))
}

fn eq_value<'f>(f: &'f Filter, name: &str) -> Option<&'f str> {
    match f {
        Filter::Compare(p, CompareOp::Eq, CompValue::Str(v)) if p.is(name) => Some(v.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(kind: ResourceKind, f: &str) -> (Lookup, Option<String>) {
        let (l, r) = plan(kind, Some(Filter::parse(f).unwrap())).unwrap();
        (l, r.map(|r| r.to_string()))
    }

    #[test]
    fn entra_lookups_use_indexes() {
        use ResourceKind::{Group, User};
        let rows: &[(&str, ResourceKind, &str, Lookup, Option<&str>)] = &[
            (
                "a1_probe",
                User,
                r#"userName eq "7C1D""#,
                Lookup::Unique("7c1d".into()),
                None,
            ),
            (
                "b4_external_id",
                User,
                r#"externalId eq "AbC""#,
                Lookup::ExternalId("AbC".into()),
                None,
            ),
            (
                "b5_work_email",
                User,
                r#"emails[type eq "work"].value eq "A@X""#,
                Lookup::WorkEmail("a@x".into()),
                None,
            ),
            (
                "c1_display_name",
                Group,
                r#"displayName eq "Sales""#,
                Lookup::Unique("sales".into()),
                None,
            ),
            (
                "urn_qualified",
                User,
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "A""#,
                Lookup::Unique("a".into()),
                None,
            ),
            (
                "b25_legacy_manager",
                User,
                r#"id eq "1" and manager eq "2""#,
                Lookup::Id("1".into()),
                Some(r#"manager eq "2""#),
            ),
            (
                "c10_legacy_member",
                Group,
                r#"id eq "g" and members eq "u""#,
                Lookup::HasMember("u".into()),
                Some(r#"id eq "g""#),
            ),
            (
                "member_value",
                Group,
                r#"members.value eq "u""#,
                Lookup::HasMember("u".into()),
                None,
            ),
            (
                "work_email_urn_qualified",
                User,
                r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value eq "A@X""#,
                Lookup::WorkEmail("a@x".into()),
                None,
            ),
            (
                "emails_of_another_schema_is_no_lookup",
                User,
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:emails[type eq "work" and value eq "a"]"#,
                Lookup::All,
                Some(
                    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:emails[type eq "work" and value eq "a"]"#,
                ),
            ),
            (
                "member_value_urn_qualified",
                Group,
                r#"urn:ietf:params:scim:schemas:core:2.0:Group:members.value eq "u""#,
                Lookup::HasMember("u".into()),
                None,
            ),
            (
                "scan",
                User,
                r#"title co "x""#,
                Lookup::All,
                Some(r#"title co "x""#),
            ),
            (
                "or_scans",
                User,
                r#"userName eq "a" or userName eq "b""#,
                Lookup::All,
                Some(r#"userName eq "a" or userName eq "b""#),
            ),
        ];
        for (name, kind, f, lookup, residual) in rows {
            let (l, r) = planned(*kind, f);
            assert_eq!(&l, lookup, "{name}");
            assert_eq!(r.as_deref(), *residual, "{name}");
        }
    }

    #[test]
    fn member_filters_no_index_can_answer_are_refused() {
        for f in [
            r#"members.display eq "x""#,
            r#"not (members.value eq "u")"#,
            r#"not (urn:ietf:params:scim:schemas:core:2.0:Group:members.value eq "u")"#,
        ] {
            let err = plan(ResourceKind::Group, Some(Filter::parse(f).unwrap())).unwrap_err();
            assert_eq!(
                (err.status, err.scim_type),
                (400, Some(crate::scim::error::ScimType::InvalidFilter)),
                "{f}: {err}"
            );
            assert!(!err.detail.is_empty(), "{f}: a detail says why");
        }
    }
}
