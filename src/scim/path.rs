//! Attribute paths (RFC 7644 §3.10): `userName`, `name.givenName`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, and the PATCH
//! form with a value filter, `emails[type eq "work"].value`.
//!
//! The grammar lives with the filter grammar (`filter::grammar`) because a value path embeds a
//! filter; this module holds the types, their parsing entry points and their printing. Names
//! keep the client's spelling; every comparison with a schema name is case-insensitive
//! (RFC 7643 §2.1).

use std::fmt;

use crate::scim::error::{Error, Result};
use crate::scim::filter::{Filter, grammar};
use crate::scim::schema::ResourceKind;
use crate::scim::urn;

/// A path to an attribute or a sub-attribute, optionally qualified by a schema URN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// Schema URN the attribute belongs to, as written (`None` for unqualified paths).
    pub urn: Option<String>,
    /// Attribute name as written.
    pub name: String,
    /// Sub-attribute name, as written.
    pub sub: Option<String>,
}

impl AttrPath {
    /// An unqualified path to a top-level attribute.
    pub fn new(name: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            name: name.into(),
            sub: None,
        }
    }

    /// Parses one path such as `urn:...:User:manager.value` or `name.givenName`.
    ///
    /// # Errors
    /// `invalidPath` when the text is not an attribute path (a name that is empty or malformed,
    /// more than one sub-attribute).
    pub fn parse(input: &str) -> Result<Self> {
        grammar::attr_path(input).map_err(|e| {
            Error::invalid_path(format!(
                "'{input}' is not a valid attribute path: expected {}",
                e.expected
            ))
        })
    }

    /// Whether the path names `name` (case-insensitive) without a sub-attribute.
    pub fn is(&self, name: &str) -> bool {
        self.sub.is_none() && self.name.eq_ignore_ascii_case(name)
    }

    /// Whether the path names `name.sub` (case-insensitive).
    pub fn is_sub(&self, name: &str, sub: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
            && self
                .sub
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(sub))
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// The target of a PATCH operation (RFC 7644 §3.5.2, `PATH = attrPath / valuePath [subAttr]`).
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    /// An attribute, a sub-attribute, or the elements of a multi-valued attribute that match a
    /// filter (then `attr.sub`, if any, is the sub-attribute written after the `]`).
    Attr {
        /// The attribute (and sub-attribute).
        attr: AttrPath,
        /// The value filter between brackets.
        filter: Option<Filter>,
    },
    /// A whole extension object, addressed by its schema URN alone.
    Schema(String),
}

impl PatchPath {
    /// Parses a PATCH `path`.
    ///
    /// # Errors
    /// `invalidPath` when the path does not follow the grammar, is too long or nests too deeply.
    pub fn parse(input: &str) -> Result<Self> {
        crate::scim::filter::check_limits(input).map_err(|e| Error::invalid_path(e.detail))?;
        grammar::patch_path(input).map_err(|e| {
            Error::invalid_path(format!(
                "invalid path '{}': expected {}",
                input.trim(),
                e.expected
            ))
        })
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchPath::Schema(urn) => f.write_str(urn),
            PatchPath::Attr { attr, filter: None } => write!(f, "{attr}"),
            PatchPath::Attr {
                attr,
                filter: Some(filter),
            } => {
                let base = AttrPath {
                    sub: None,
                    ..attr.clone()
                };
                write!(f, "{base}[{filter}]")?;
                if let Some(sub) = &attr.sub {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
        }
    }
}

/// An entry of an `attributes` / `excludedAttributes` list: one attribute, or a whole
/// extension named by its schema URN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrRef {
    /// An attribute or sub-attribute.
    Attr(AttrPath),
    /// Every attribute of the schema with this URN.
    Schema(String),
}

impl fmt::Display for AttrRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrRef::Attr(path) => write!(f, "{path}"),
            AttrRef::Schema(urn) => f.write_str(urn),
        }
    }
}

/// Whether `s` is a schema URN rather than a path into one: the last segment of a schema URN is
/// a resource name preceded by a version (`...:2.0:User`), while an attribute path adds one more
/// segment after the resource name.
pub fn is_schema_urn(s: &str) -> bool {
    // Most keys asked about are plain attribute names: skip the parser for them. Most of the
    // rest are the schemas this server defines (an extension's key in every stored user):
    // they are schema URNs without parsing them again.
    urn::starts_with_ignore_case(s, "urn:") && (defined_schema(s) || grammar::schema_urn(s).is_ok())
}

/// Whether `s` is the id of a schema a resource type defines (core or extension).
fn defined_schema(s: &str) -> bool {
    ResourceKind::ALL.iter().any(|kind| {
        kind.schema().id.eq_ignore_ascii_case(s)
            || kind
                .extensions()
                .iter()
                .any(|e| e.id.eq_ignore_ascii_case(s))
    })
}

/// Longest `attributes` / `excludedAttributes` value accepted, in bytes. The User schema with
/// its extension has well under 100 attribute paths of at most ~90 bytes each; a longer list
/// is not a real client's, and refusing it before splitting bounds the work per request.
pub const MAX_ATTRIBUTE_LIST_LEN: usize = 4096;
/// Most entries accepted in one `attributes` / `excludedAttributes` list (each entry is
/// matched against every attribute of every returned resource).
pub const MAX_ATTRIBUTE_LIST_ENTRIES: usize = 100;

/// Parses the `attributes` / `excludedAttributes` list: comma-separated attribute paths.
///
/// A bracketed filter after a name (`emails[type eq "work"]`, seen in Microsoft's Postman tests)
/// is not RFC syntax; `compat::attributes` says what it means.
///
/// # Errors
/// `invalidPath` when an entry is not an attribute path, or the list is longer than
/// [`MAX_ATTRIBUTE_LIST_LEN`] bytes or [`MAX_ATTRIBUTE_LIST_ENTRIES`] entries.
pub fn parse_attribute_list(input: &str) -> Result<Vec<AttrRef>> {
    if input.len() > MAX_ATTRIBUTE_LIST_LEN {
        return Err(Error::invalid_path(format!(
            "the attribute list is {} bytes long; at most {MAX_ATTRIBUTE_LIST_LEN} are accepted",
            input.len()
        )));
    }
    let out = grammar::attr_list(input).map_err(|e| {
        Error::invalid_path(format!(
            "invalid attribute list at column {}: expected {}",
            e.location.column, e.expected
        ))
    })?;
    if out.len() > MAX_ATTRIBUTE_LIST_ENTRIES {
        return Err(Error::invalid_path(format!(
            "the attribute list has more than {MAX_ATTRIBUTE_LIST_ENTRIES} entries"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::urn::{ENTERPRISE_USER, USER};

    #[test]
    fn attr_path_tokens() {
        let rows: &[(&str, Option<&str>, &str, Option<&str>)] = &[
            ("userName", None, "userName", None),
            ("name.givenName", None, "name", Some("givenName")),
            ("$ref", None, "$ref", None),
            ("emails.$ref", None, "emails", Some("$ref")),
            ("x-Custom_1", None, "x-Custom_1", None),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                Some(ENTERPRISE_USER),
                "manager",
                Some("value"),
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                Some(USER),
                "userName",
                None,
            ),
            ("URN:a:b:c", Some("URN:a:b"), "c", None),
            ("urn:x", Some("urn"), "x", None),
        ];
        for (input, urn, name, sub) in rows {
            let p = AttrPath::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(p.urn.as_deref(), *urn, "{input}");
            assert_eq!(p.name, *name, "{input}");
            assert_eq!(p.sub.as_deref(), *sub, "{input}");
            assert_eq!(p.to_string(), *input, "{input} prints back");
        }
    }

    #[test]
    fn attr_path_rejects_malformed() {
        let rows = [
            "", "1abc", "a.b.c", "name.", ".x", "na me", "$foo", "a$b", "urn:", "a:b", "name[x]",
        ];
        for input in rows {
            let err = AttrPath::parse(input).expect_err(input);
            assert_eq!(err.scim_type, Some(ScimType::InvalidPath), "{input:?}");
        }
    }

    #[test]
    fn patch_paths() {
        let rows: &[(&str, &str)] = &[
            ("userName", "userName"),
            ("name.familyName", "name.familyName"),
            (
                r#"emails[type eq "work"].value"#,
                r#"emails[type eq "work"].value"#,
            ),
            (
                r#"members[value eq "2819c223"]"#,
                r#"members[value eq "2819c223"]"#,
            ),
            (
                r#"addresses[type eq "work" and primary eq true].streetAddress"#,
                r#"addresses[type eq "work" and primary eq true].streetAddress"#,
            ),
            (r#"emails [type eq "work"]"#, r#"emails[type eq "work"]"#),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "m"]"#,
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "m"]"#,
            ),
            (" active ", "active"),
        ];
        for (input, printed) in rows {
            let p = PatchPath::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert!(matches!(p, PatchPath::Attr { .. }), "{input}");
            assert_eq!(p.to_string(), *printed, "{input}");
        }
    }

    #[test]
    fn whole_extensions_are_schema_paths() {
        let rows = [
            (ENTERPRISE_USER, ENTERPRISE_USER),
            (
                " urn:ietf:params:scim:schemas:extension:Custom:2.0:User ",
                "urn:ietf:params:scim:schemas:extension:Custom:2.0:User",
            ),
            ("urn:a:1:2:Thing", "urn:a:1:2:Thing"),
        ];
        for (input, urn) in rows {
            let p = PatchPath::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(p, PatchPath::Schema(urn.to_string()), "{input}");
        }
    }

    #[test]
    fn patch_path_errors_are_invalid_path() {
        for input in [
            "",
            "emails[type eq]",
            "emails[type eq \"work\"",
            "a b",
            "emails]",
            "x.y.z",
            r#"name.givenName[value eq "x"]"#,
        ] {
            let err = PatchPath::parse(input).expect_err(input);
            assert_eq!(err.scim_type, Some(ScimType::InvalidPath), "{input}");
        }
    }

    #[test]
    fn attribute_lists() {
        let rows: &[(&str, &[&str])] = &[
            (
                r#"userName, name.givenName,emails[type eq "a,b"],urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"#,
                &[
                    "userName",
                    "name.givenName",
                    "emails",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                ],
            ),
            // An escaped backslash closes its string: the comma after it separates entries.
            (r#"emails[value eq "\\"],userName"#, &["emails", "userName"]),
            (r#"emails[value eq "a\"],b"],title"#, &["emails", "title"]),
            (
                r#"addresses[type eq "x" and [y]],title"#,
                &["addresses", "title"],
            ),
            ("", &[]),
            (" , userName,,", &["userName"]),
            (ENTERPRISE_USER, &[ENTERPRISE_USER]),
        ];
        for (input, want) in rows {
            let got = parse_attribute_list(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            let printed: Vec<String> = got.iter().map(ToString::to_string).collect();
            assert_eq!(printed, *want, "{input}");
        }
        let whole = parse_attribute_list(ENTERPRISE_USER).unwrap();
        assert_eq!(whole, [AttrRef::Schema(ENTERPRISE_USER.to_string())]);
        for input in ["1bad", "a b", "emails[", "name.givenName.x"] {
            let err = parse_attribute_list(input).expect_err(input);
            assert_eq!(err.scim_type, Some(ScimType::InvalidPath), "{input}");
        }
    }

    #[test]
    fn attribute_lists_are_capped() {
        let at_cap = vec!["userName"; MAX_ATTRIBUTE_LIST_ENTRIES].join(",");
        assert_eq!(parse_attribute_list(&at_cap).unwrap().len(), 100);
        let rows = [
            ("too_many_entries", format!("{at_cap},title")),
            ("too_long", "a".repeat(MAX_ATTRIBUTE_LIST_LEN + 1)),
        ];
        for (name, input) in rows {
            let err = parse_attribute_list(&input).expect_err(name);
            assert_eq!(err.scim_type, Some(ScimType::InvalidPath), "{name}");
        }
    }

    #[test]
    fn schema_urns_are_told_from_paths() {
        let rows = [
            (ENTERPRISE_USER, true),
            (
                "urn:ietf:params:scim:schemas:extension:Custom:2.0:User",
                true,
            ),
            ("URN:ietf:params:scim:schemas:core:2.0:Group", true),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                false,
            ),
            ("urn:ietf:params:scim:schemas:core:2.0", false),
            ("urn:ietf:params:scim:schemas:core:2.0:User[x]", false),
            ("userName", false),
        ];
        for (input, want) in rows {
            assert_eq!(is_schema_urn(input), want, "{input}");
        }
    }

    /// The schemas answered without the parser are ones the parser accepts too.
    #[test]
    fn every_defined_schema_is_a_schema_urn_to_the_grammar() {
        for kind in ResourceKind::ALL {
            for id in
                std::iter::once(kind.schema().id).chain(kind.extensions().iter().map(|e| e.id))
            {
                assert!(grammar::schema_urn(id).is_ok(), "{id}");
                assert!(defined_schema(id), "{id}");
            }
        }
    }
}
