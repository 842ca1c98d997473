//! Resolving an [`AttrPath`] against the schemas of a resource type.

use serde_json::{Map, Value};

use super::{Attribute, COMMON_ATTRIBUTES, CUSTOM_EXTENSION_ATTRIBUTE, ResourceKind};
use crate::scim::path::AttrPath;

/// Where a resolved attribute lives in a resource document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container<'a> {
    /// At the top level (core and common attributes).
    Core,
    /// Inside the object keyed by this extension URN.
    Extension(&'a str),
}

/// What defines a resolved attribute: its schema, or nothing but the extension it sits in.
#[derive(Debug, Clone, Copy)]
pub enum AttrDef {
    /// An attribute of a known schema.
    Known(&'static Attribute),
    /// An attribute of a client-defined (custom) extension, which has no schema here.
    Custom,
}

impl AttrDef {
    /// The definition its values follow; a custom-extension attribute is a free-form string.
    pub fn attribute(self) -> &'static Attribute {
        match self {
            AttrDef::Known(attr) => attr,
            AttrDef::Custom => &CUSTOM_EXTENSION_ATTRIBUTE,
        }
    }

    /// The key a value is stored under: the schema's spelling of the name, or the client's for
    /// a custom-extension attribute (there is no other spelling to use).
    pub fn stored_name(self, client_name: &str) -> &str {
        match self {
            AttrDef::Known(attr) => attr.name,
            AttrDef::Custom => client_name,
        }
    }
}

/// An attribute path matched to its definitions.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// Where the attribute lives.
    pub container: Container<'a>,
    /// The attribute's definition.
    pub def: AttrDef,
    /// The sub-attribute's definition, when the path names one.
    pub sub: Option<&'static Attribute>,
}

impl Resolved<'_> {
    /// The definition the attribute's values follow.
    pub fn attr(&self) -> &'static Attribute {
        self.def.attribute()
    }
}

impl ResourceKind {
    /// Resolves `path` to its definitions.
    ///
    /// Unqualified names are looked up in the core schema, the common attributes and then the
    /// extensions, because Entra's legacy examples send the enterprise `manager` unqualified.
    /// Returns `None` for attributes this server does not know; callers decide whether that is
    /// an error (a PATCH path) or simply no match (a filter).
    pub fn resolve<'a>(self, path: &'a AttrPath) -> Option<Resolved<'a>> {
        let (container, def) = match path.urn.as_deref() {
            None => {
                let (container, attr) = self.find_unqualified(&path.name)?;
                (container, AttrDef::Known(attr))
            }
            Some(urn) if urn.eq_ignore_ascii_case(self.schema().id) => {
                (Container::Core, AttrDef::Known(self.find_core(&path.name)?))
            }
            Some(urn) => match self.extension(urn) {
                Some(ext) => (
                    Container::Extension(ext.id),
                    AttrDef::Known(ext.attribute(&path.name)?),
                ),
                None if self.accepts_custom_extension(urn) => {
                    (Container::Extension(urn), AttrDef::Custom)
                }
                None => return None,
            },
        };
        let sub = match &path.sub {
            None => None,
            Some(sub) => Some(def.attribute().sub_attribute(sub)?),
        };
        Some(Resolved {
            container,
            def,
            sub,
        })
    }

    /// The definition of the unqualified attribute `name`, as [`Self::resolve`] finds it
    /// (without building a path: projection asks this of every member of every document).
    pub fn attribute_named(self, name: &str) -> Option<&'static Attribute> {
        self.find_unqualified(name).map(|(_, attr)| attr)
    }

    fn find_core(self, name: &str) -> Option<&'static Attribute> {
        self.schema()
            .attribute(name)
            .or_else(|| COMMON_ATTRIBUTES.iter().find(|a| a.is(name)))
    }

    fn find_unqualified(self, name: &str) -> Option<(Container<'static>, &'static Attribute)> {
        if let Some(attr) = self.find_core(name) {
            return Some((Container::Core, attr));
        }
        self.extensions().iter().find_map(|ext| {
            ext.attribute(name)
                .map(|a| (Container::Extension(ext.id), a))
        })
    }
}

/// Looks a key up in a JSON object case-insensitively, preferring an exact match.
pub fn get_ci<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The actual key under which `key` is stored (case-insensitively), if any.
pub fn key_ci(object: &Map<String, Value>, key: &str) -> Option<String> {
    if object.contains_key(key) {
        return Some(key.to_string());
    }
    object.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// The object holding attributes of `container` in `resource`, if present.
pub fn container_of<'v>(
    resource: &'v Value,
    container: Container<'_>,
) -> Option<&'v Map<String, Value>> {
    let root = resource.as_object()?;
    match container {
        Container::Core => Some(root),
        Container::Extension(urn) => get_ci(root, urn)?.as_object(),
    }
}
