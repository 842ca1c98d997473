//! Attribute paths (RFC 7644 §3.10): `userName`, `name.givenName`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, and the PATCH
//! form with a value filter, `emails[type eq "work"].value`.
//!
//! The grammar lives with the filter grammar (`filter::grammar`) because a value path embeds a
//! filter; this module holds the types and their printing. Names keep the client's spelling;
//! every comparison with a schema name is case-insensitive (RFC 7643 §2.1).

use std::fmt;

use crate::scim::error::{Error, Result};
use crate::scim::filter::{Filter, grammar};
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

    /// An unqualified path to a sub-attribute.
    pub fn with_sub(name: impl Into<String>, sub: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            name: name.into(),
            sub: Some(sub.into()),
        }
    }

    /// Builds a path from one token such as `urn:...:User:manager.value` or `name.givenName`.
    ///
    /// The URN part ends at the last `:`; the version inside a URN (`2.0`) is why the `.` of a
    /// sub-attribute is looked for only after it.
    ///
    /// # Errors
    /// `invalidPath` when a name is empty or malformed, or there is more than one sub-attribute.
    pub fn from_token(token: &str) -> Result<Self> {
        let (urn, rest) = if urn::starts_with_ignore_case(token, "urn:") {
            match token.rfind(':') {
                Some(i) => (Some(token[..i].to_string()), &token[i + 1..]),
                None => (None, token),
            }
        } else {
            (None, token)
        };
        let mut parts = rest.split('.');
        let name = parts.next().unwrap_or_default();
        let sub = parts.next();
        if parts.next().is_some() {
            return Err(Error::invalid_path(format!(
                "'{token}' has more than one sub-attribute"
            )));
        }
        check_name(name, token)?;
        if let Some(sub) = sub {
            check_name(sub, token)?;
        }
        Ok(AttrPath {
            urn,
            name: name.to_string(),
            sub: sub.map(str::to_string),
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

/// RFC 7643 §2.1: `ATTRNAME = ALPHA *(nameChar)`; `$ref` is the one reserved exception.
fn check_name(name: &str, token: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        }
        Some('$') => name == "$ref",
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_path(format!(
            "'{token}' is not a valid attribute path"
        )))
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
        let trimmed = input.trim();
        if is_schema_urn(trimmed) {
            return Ok(PatchPath::Schema(trimmed.to_string()));
        }
        crate::scim::filter::check_limits(trimmed).map_err(|e| Error::invalid_path(e.detail))?;
        grammar::patch_path(trimmed).map_err(|e| {
            Error::invalid_path(format!("invalid path '{trimmed}': expected {}", e.expected))
        })?
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

/// Whether `s` is a schema URN rather than a path into one: the last segment of a schema URN is
/// a resource name preceded by a version (`...:2.0:User`), while an attribute path adds one more
/// segment after the resource name.
pub fn is_schema_urn(s: &str) -> bool {
    if !urn::starts_with_ignore_case(s, "urn:") || s.contains('[') {
        return false;
    }
    let mut segments = s.rsplit(':');
    let _resource = segments.next();
    segments
        .next()
        .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
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
/// is not RFC syntax; the attribute it qualifies is kept and the filter dropped.
///
/// # Errors
/// `invalidPath` when an entry is not an attribute path, or the list is longer than
/// [`MAX_ATTRIBUTE_LIST_LEN`] bytes or [`MAX_ATTRIBUTE_LIST_ENTRIES`] entries.
pub fn parse_attribute_list(input: &str) -> Result<Vec<AttrPath>> {
    if input.len() > MAX_ATTRIBUTE_LIST_LEN {
        return Err(Error::invalid_path(format!(
            "the attribute list is {} bytes long; at most {MAX_ATTRIBUTE_LIST_LEN} are accepted",
            input.len()
        )));
    }
    let mut out = Vec::new();
    for item in split_top_level_commas(input) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let token = match item.find('[') {
            Some(i) => &item[..i],
            None => item,
        };
        let path = if is_schema_urn(token) {
            AttrPath {
                urn: Some(token.to_string()),
                name: String::new(),
                sub: None,
            }
        } else {
            AttrPath::from_token(token)?
        };
        out.push(path);
        if out.len() > MAX_ATTRIBUTE_LIST_ENTRIES {
            return Err(Error::invalid_path(format!(
                "the attribute list has more than {MAX_ATTRIBUTE_LIST_ENTRIES} entries"
            )));
        }
    }
    Ok(out)
}

fn split_top_level_commas(input: &str) -> Vec<&str> {
    let (mut depth, mut quoted, mut start, mut parts) = (0i32, false, 0, Vec::new());
    let mut prev = '\0';
    for (i, c) in input.char_indices() {
        match c {
            '"' if prev != '\\' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            ',' if !quoted && depth <= 0 => {
                parts.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        prev = c;
    }
    parts.push(&input[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_path_tokens() {
        let rows: &[(&str, Option<&str>, &str, Option<&str>)] = &[
            ("userName", None, "userName", None),
            ("name.givenName", None, "name", Some("givenName")),
            ("$ref", None, "$ref", None),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
                "manager",
                Some("value"),
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                Some("urn:ietf:params:scim:schemas:core:2.0:User"),
                "userName",
                None,
            ),
        ];
        for (input, urn, name, sub) in rows {
            let p = AttrPath::from_token(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(p.urn.as_deref(), *urn, "{input}");
            assert_eq!(p.name, *name, "{input}");
            assert_eq!(p.sub.as_deref(), *sub, "{input}");
            assert_eq!(p.to_string(), *input, "{input} prints back");
        }
    }

    #[test]
    fn attr_path_rejects_malformed() {
        for input in ["", "1abc", "a.b.c", "name.", ".x", "na me", "$foo"] {
            assert!(
                AttrPath::from_token(input).is_err(),
                "{input:?} should be rejected"
            );
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
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            ),
            (" active ", "active"),
        ];
        for (input, printed) in rows {
            let p = PatchPath::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(p.to_string(), *printed, "{input}");
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
        ] {
            let err = PatchPath::parse(input).expect_err(input);
            assert_eq!(
                err.scim_type,
                Some(crate::scim::error::ScimType::InvalidPath),
                "{input}"
            );
        }
    }

    #[test]
    fn attribute_lists() {
        let got = parse_attribute_list(r#"userName, name.givenName,emails[type eq "a,b"],urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"#)
            .unwrap();
        let printed: Vec<String> = got.iter().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "userName",
                "name.givenName",
                "emails",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
            ]
        );
        assert!(parse_attribute_list("1bad").is_err());
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
            assert_eq!(
                err.scim_type,
                Some(crate::scim::error::ScimType::InvalidPath),
                "{name}"
            );
        }
    }

    #[test]
    fn schema_urns_are_told_from_paths() {
        assert!(is_schema_urn(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ));
        assert!(is_schema_urn(
            "urn:ietf:params:scim:schemas:extension:Custom:2.0:User"
        ));
        assert!(!is_schema_urn(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
        ));
        assert!(!is_schema_urn("userName"));
    }
}
