//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) with the `returned`
//! characteristic of each attribute (RFC 7643 §2.4).

use serde_json::{Map, Value};

use crate::scim::error::Result;
use crate::scim::path::{AttrPath, AttrRef, is_schema_urn, parse_attribute_list};
use crate::scim::schema::{AttrDef, Attribute, ResourceKind, Returned};

/// Which attributes a response carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    /// `attributes`: when non-empty, only these (plus `returned: always`) are returned.
    pub attributes: Vec<AttrRef>,
    /// `excludedAttributes`: removed from the default set (`returned: always` stays).
    pub excluded: Vec<AttrRef>,
}

impl Projection {
    /// Parses the two comma-separated lists.
    ///
    /// # Errors
    /// `invalidPath` when an entry is not an attribute path.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self> {
        Ok(Projection {
            attributes: attributes
                .map(parse_attribute_list)
                .transpose()?
                .unwrap_or_default(),
            excluded: excluded
                .map(parse_attribute_list)
                .transpose()?
                .unwrap_or_default(),
        })
    }

    /// Whether the client asked for a particular response shape (used by group PATCH, which
    /// answers 204 unless a body is requested).
    pub fn is_requested(&self) -> bool {
        !self.attributes.is_empty() || !self.excluded.is_empty()
    }

    /// Whether a top-level core attribute called `name` would be returned. Used before loading
    /// `members` or `groups`, which cost store reads.
    pub fn wants(&self, kind: ResourceKind, name: &str) -> bool {
        let Some(def) = kind.schema().attribute(name) else {
            return false;
        };
        self.decide(kind, None, def.name, def) != Decision::Drop
    }

    /// Applies the projection to a full resource document, in place: dropped members are
    /// removed and kept ones stay where they are, never copied or re-inserted (a page renders
    /// up to 1,000 resources).
    pub fn apply(&self, kind: ResourceKind, doc: Value) -> Value {
        let Value::Object(mut object) = doc else {
            return doc;
        };
        object.retain(|key, value| self.member(kind, key, value));
        Value::Object(object)
    }

    /// What the projection does with the top-level member `key`, told from its name alone.
    pub fn shape(&self, kind: ResourceKind, key: &str) -> Shape {
        if key == "schemas" {
            Shape::Keep
        } else if is_schema_urn(key) {
            // Unasked, an extension comes whole unless it defines attributes returned only on
            // request or never (custom extensions hold strings returned by default).
            let hides = kind.extension(key).is_some_and(|schema| {
                schema
                    .attributes
                    .iter()
                    .any(|a| matches!(a.returned, Returned::Never | Returned::Request))
            });
            if self.is_requested() || hides {
                Shape::Project
            } else {
                Shape::KeepObject
            }
        } else if let Some(def) = kind.attribute_named(key) {
            match self.decide(kind, None, key, def) {
                Decision::Drop => Shape::Drop,
                Decision::Keep => Shape::Keep,
                Decision::Subs(..) => Shape::Project,
            }
        } else {
            Shape::Drop
        }
    }

    /// Projects the top-level member `key` in place; whether anything of it is kept.
    /// [`Projection::shape`] decides; only a member it cuts into is read.
    pub fn member(&self, kind: ResourceKind, key: &str, value: &mut Value) -> bool {
        match self.shape(kind, key) {
            Shape::Keep => true,
            Shape::Drop => false,
            Shape::KeepObject => value.as_object().is_some_and(|o| !o.is_empty()),
            Shape::Project if is_schema_urn(key) => self.extension(kind, key, value),
            Shape::Project => kind
                .attribute_named(key)
                .is_some_and(|def| self.attribute(kind, None, key, def, value)),
        }
    }

    /// Projects an extension's object in place; whether anything of it is kept.
    fn extension(&self, kind: ResourceKind, urn: &str, value: &mut Value) -> bool {
        let Value::Object(object) = value else {
            return false;
        };
        let schema = kind.extension(urn);
        let whole = |list: &[AttrRef]| {
            list.iter()
                .any(|r| matches!(r, AttrRef::Schema(u) if u.eq_ignore_ascii_case(urn)))
        };
        if whole(&self.excluded) {
            return false;
        }
        if !whole(&self.attributes) {
            object.retain(|key, v| {
                let def = schema
                    .and_then(|s| s.attribute(key))
                    .unwrap_or(AttrDef::Custom.attribute());
                self.attribute(kind, Some(urn), key, def, v)
            });
        }
        !object.is_empty()
    }

    /// Projects one attribute's value in place; whether it is kept.
    fn attribute(
        &self,
        kind: ResourceKind,
        urn: Option<&str>,
        name: &str,
        def: &Attribute,
        value: &mut Value,
    ) -> bool {
        match self.decide(kind, urn, name, def) {
            Decision::Drop => false,
            Decision::Keep => true,
            Decision::Subs(subs, keep) => {
                filter_subs(value, &subs, keep);
                true
            }
        }
    }

    fn decide(
        &self,
        kind: ResourceKind,
        urn: Option<&str>,
        name: &str,
        def: &Attribute,
    ) -> Decision {
        match def.returned {
            Returned::Never => return Decision::Drop,
            Returned::Always => return Decision::Keep,
            Returned::Default | Returned::Request => {}
        }
        if !self.attributes.is_empty() {
            let hits = paths_naming(&self.attributes, kind, urn, name);
            if hits.is_empty() {
                return Decision::Drop;
            }
            if hits.iter().any(|p| p.sub.is_none()) {
                return Decision::Keep;
            }
            return Decision::Subs(hits.iter().filter_map(|p| p.sub.clone()).collect(), true);
        }
        if def.returned == Returned::Request {
            return Decision::Drop;
        }
        let hits = paths_naming(&self.excluded, kind, urn, name);
        if hits.iter().any(|p| p.sub.is_none()) {
            return Decision::Drop;
        }
        if hits.is_empty() {
            Decision::Keep
        } else {
            Decision::Subs(hits.iter().filter_map(|p| p.sub.clone()).collect(), false)
        }
    }
}

/// What a projection does with a top-level member ([`Projection::shape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Returned as it is.
    Keep,
    /// Returned as it is if it is an object with members (an extension), else not.
    KeepObject,
    /// Not returned.
    Drop,
    /// Returned in part: its value must be read ([`Projection::member`]).
    Project,
}

#[derive(Debug, PartialEq)]
enum Decision {
    Drop,
    Keep,
    /// Keep (`true`) or drop (`false`) only these sub-attributes.
    Subs(Vec<String>, bool),
}

/// The attribute paths of `list` that name the attribute `name` living in `urn` (None = core).
fn paths_naming<'p>(
    list: &'p [AttrRef],
    kind: ResourceKind,
    urn: Option<&str>,
    name: &str,
) -> Vec<&'p AttrPath> {
    list.iter()
        .filter_map(|r| match r {
            AttrRef::Attr(p) if names(kind, p, urn, name) => Some(p),
            _ => None,
        })
        .collect()
}

/// Whether `path` names the attribute `name` living in `urn` (None = core).
fn names(kind: ResourceKind, path: &AttrPath, urn: Option<&str>, name: &str) -> bool {
    if !path.name.eq_ignore_ascii_case(name) {
        return false;
    }
    match (path.urn.as_deref(), urn) {
        (None, _) => true,
        (Some(p), None) => p.eq_ignore_ascii_case(kind.schema().id),
        (Some(p), Some(u)) => p.eq_ignore_ascii_case(u),
    }
}

fn filter_subs(value: &mut Value, subs: &[String], keep: bool) {
    let filter_object = |o: &mut Map<String, Value>| {
        o.retain(|k, _| subs.iter().any(|s| s.eq_ignore_ascii_case(k)) == keep);
    };
    match value {
        Value::Object(o) => filter_object(o),
        Value::Array(items) => {
            for item in items {
                if let Value::Object(o) = item {
                    filter_object(o);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "u1",
            "externalId": "x1",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@x", "type": "work"}],
            "groups": [{"value": "g1"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "employeeNumber": "7"},
            "meta": {"resourceType": "User"}
        })
    }

    #[test]
    fn projection_table() {
        let rows: &[(&str, Option<&str>, Option<&str>, Value)] = &[
            (
                "attributes_keep_always_and_listed",
                Some("userName"),
                None,
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "bjensen"}),
            ),
            (
                "sub_attribute",
                Some("name.givenName"),
                None,
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "name": {"givenName": "Barbara"}}),
            ),
            (
                "multi_valued_sub",
                Some("emails.value"),
                None,
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "emails": [{"value": "b@x"}]}),
            ),
            (
                "extension_attribute",
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
                None,
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}}),
            ),
            (
                "case_insensitive",
                Some("USERNAME,ExternalId"),
                None,
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "externalId": "x1", "userName": "bjensen"}),
            ),
            (
                "requested_groups",
                Some("groups"),
                None,
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "groups": [{"value": "g1"}]}),
            ),
        ];
        for (name, attrs, excluded, expected) in rows {
            let p = Projection::parse(*attrs, *excluded).unwrap();
            assert_eq!(p.apply(ResourceKind::User, user()), *expected, "{name}");
        }
    }

    #[test]
    fn defaults_drop_request_only_attributes_and_exclusions_apply() {
        let p = Projection::parse(None, Some("emails,name.familyName,id")).unwrap();
        let out = p.apply(ResourceKind::User, user());
        assert!(
            out.get("groups").is_none(),
            "groups is returned only on request"
        );
        assert!(out.get("emails").is_none());
        assert_eq!(out["name"], json!({"givenName": "Barbara"}));
        assert_eq!(out["id"], "u1", "id is returned always");
        assert_eq!(out["meta"]["resourceType"], "User");
    }

    #[test]
    fn wants_members_follows_the_projection() {
        let none = Projection::default();
        assert!(none.wants(ResourceKind::Group, "members"));
        let excluded = Projection::parse(None, Some("members")).unwrap();
        assert!(!excluded.wants(ResourceKind::Group, "members"));
        let only_name = Projection::parse(Some("displayName"), None).unwrap();
        assert!(!only_name.wants(ResourceKind::Group, "members"));
        assert!(!none.wants(ResourceKind::User, "groups"));
    }
}
