//! A resource as the service returns it, and its JSON representation.

use serde_json::{Map, Value, json};

use super::{Error, Result};
use crate::scim::members::RawMembers;
use crate::scim::projection::{Projection, Shape};
use crate::scim::schema::{Relation, ResourceKind};
use crate::store::{Document, Members};

/// A stored resource plus the relations a response asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// Users or Groups.
    pub kind: ResourceKind,
    /// Server-issued id.
    pub id: String,
    /// Current version (the `ETag`).
    pub version: u64,
    /// The stored document (without `meta.location`, `members`, `groups`).
    pub doc: Document,
    /// A group's member ids, when the response includes members.
    pub members: Option<Members>,
    /// A user's group ids, when the response includes groups.
    pub groups: Option<Members>,
}

impl Resource {
    /// The weak entity tag of this version, `W/"<version>"` (also `meta.version`).
    pub fn etag(&self) -> String {
        etag(self.version)
    }

    /// The entity tag of `version`.
    pub fn etag_of(version: u64) -> String {
        etag(version)
    }

    /// The resource's URL under `base_url` (e.g. `https://host/scim/v2`).
    pub fn location(&self, base_url: &str) -> String {
        format!("{base_url}/{}/{}", self.kind.endpoint(), self.id)
    }

    /// The JSON text of the response: the document with `meta.location` and the requested
    /// relations, projected. A document still in the store's text is copied member by member
    /// without building its tree; only members the projection cuts into are parsed.
    ///
    /// # Errors
    /// `Internal` when a stored document is not a JSON object (corrupt data).
    pub fn render(self, base_url: &str, projection: &Projection) -> Result<String> {
        let location = self.location(base_url);
        let relations = self.relations(base_url);
        let kind = self.kind;
        match self.doc {
            Document::Tree(doc) => {
                let doc = with_relations(doc, &location, relations);
                serde_json::to_string(&projection.apply(kind, doc)).map_err(internal)
            }
            Document::Text(text) => render_text(kind, &text, &location, relations, projection),
        }
    }

    /// The relations the response lists (`members`, `groups`), rendered.
    fn relations(&self, base_url: &str) -> Vec<(&'static str, Value)> {
        let mut out = Vec::new();
        if let Some(m) = &self.members {
            let users = ResourceKind::with_relation(Relation::MemberOf);
            let rendered = refs(base_url, users.endpoint(), &m.ids, users.name());
            out.push((Relation::Members.attribute(), rendered));
        }
        if let Some(g) = &self.groups {
            let groups = ResourceKind::with_relation(Relation::Members).endpoint();
            let rendered = refs(base_url, groups, &g.ids, "direct");
            out.push((Relation::MemberOf.attribute(), rendered));
        }
        out
    }
}

/// The tree of the response before projection: `meta.location` added, relations before
/// `meta`.
fn with_relations(mut doc: Value, location: &str, relations: Vec<(&'static str, Value)>) -> Value {
    if let Some(meta) = doc.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert("location".into(), location.into());
    }
    if let Some(object) = doc.as_object_mut() {
        for (name, rendered) in relations {
            insert_before_meta(object, name, rendered);
        }
    }
    doc
}

/// The text path of [`Resource::render`], member for member the same answer as the tree path
/// (a table test holds them together): members in document order, relations just before
/// `meta` (which then comes last), `location` last in `meta`.
fn render_text(
    kind: ResourceKind,
    text: &str,
    location: &str,
    relations: Vec<(&'static str, Value)>,
    projection: &Projection,
) -> Result<String> {
    let members = RawMembers::parse(text).map_err(internal)?;
    let mut out = Out {
        buf: Vec::with_capacity(text.len() + location.len() + 32),
        empty: true,
    };
    out.buf.push(b'{');
    let mut meta = None;
    for (name, raw) in members.iter() {
        if name == "meta" && !relations.is_empty() {
            meta = Some(raw);
            continue;
        }
        out.member(kind, projection, name, raw.get(), location)?;
    }
    for (name, mut value) in relations {
        if projection.member(kind, name, &mut value) {
            out.key(name)?;
            serde_json::to_writer(&mut out.buf, &value).map_err(internal)?;
        }
    }
    if let Some(raw) = meta {
        out.member(kind, projection, "meta", raw.get(), location)?;
    }
    out.buf.push(b'}');
    String::from_utf8(out.buf).map_err(internal)
}

/// A JSON object being written.
struct Out {
    buf: Vec<u8>,
    empty: bool,
}

impl Out {
    fn key(&mut self, name: &str) -> Result<()> {
        if !std::mem::take(&mut self.empty) {
            self.buf.push(b',');
        }
        serde_json::to_writer(&mut self.buf, name).map_err(internal)?;
        self.buf.push(b':');
        Ok(())
    }

    fn copy(&mut self, name: &str, raw: &str) -> Result<()> {
        self.key(name)?;
        self.buf.extend_from_slice(raw.as_bytes());
        Ok(())
    }

    /// One stored member as the projection has it: copied, left out, or read and projected.
    fn member(
        &mut self,
        kind: ResourceKind,
        projection: &Projection,
        name: &str,
        raw: &str,
        location: &str,
    ) -> Result<()> {
        let meta = name == "meta";
        match projection.shape(kind, name) {
            Shape::Drop => Ok(()),
            Shape::Keep if meta && raw.starts_with('{') && raw.ends_with('}') => {
                self.key(name)?;
                let inner = &raw[..raw.len() - 1];
                self.buf.extend_from_slice(inner.as_bytes());
                if inner.trim_end() != "{" {
                    self.buf.push(b',');
                }
                self.buf.extend_from_slice(b"\"location\":");
                serde_json::to_writer(&mut self.buf, location).map_err(internal)?;
                self.buf.push(b'}');
                Ok(())
            }
            Shape::Keep => self.copy(name, raw),
            // Compact text: an empty object is exactly `{}`.
            Shape::KeepObject if raw.starts_with('{') && raw != "{}" => self.copy(name, raw),
            Shape::KeepObject => Ok(()),
            Shape::Project => {
                let mut value: Value = serde_json::from_str(raw).map_err(internal)?;
                if let Some(m) = value.as_object_mut().filter(|_| meta) {
                    m.insert("location".into(), location.into());
                }
                if projection.member(kind, name, &mut value) {
                    self.key(name)?;
                    serde_json::to_writer(&mut self.buf, &value).map_err(internal)?;
                }
                Ok(())
            }
        }
    }
}

fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Internal(Box::new(e))
}

/// `W/"<version>"`.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

fn refs(base_url: &str, endpoint: &str, ids: &[String], ty: &str) -> Value {
    ids.iter()
        .map(|id| json!({"value": id, "$ref": format!("{base_url}/{endpoint}/{id}"), "type": ty}))
        .collect()
}

/// Keeps `meta` last, where readers expect it.
fn insert_before_meta(object: &mut Map<String, Value>, key: &str, value: Value) {
    // `shift_remove`: the members after `meta` keep their order (a plain `remove` would move
    // the last one into its place).
    let meta = object.shift_remove("meta");
    object.insert(key.to_string(), value);
    if let Some(meta) = meta {
        object.insert("meta".into(), meta);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const BASE: &str = "https://scim.example.com/scim/v2";

    fn user(doc: Value, groups: Option<Vec<&str>>) -> Resource {
        Resource {
            kind: ResourceKind::User,
            id: "u1".into(),
            version: 2,
            doc: doc.into(),
            members: None,
            groups: groups.map(|ids| Members {
                ids: ids.into_iter().map(str::to_string).collect(),
                truncated: false,
            }),
        }
    }

    /// A stored document renders from its text exactly as from its tree, whatever the
    /// projection cuts and whatever relations are added.
    #[test]
    fn text_renders_as_the_tree_does() {
        let stored = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "u1",
            "externalId": "x1",
            "userName": "bjensen",
            "password": "never returned",
            "unknownKey": 1,
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@x", "type": "work", "primary": true}],
            "meta": {"resourceType": "User", "version": "W/\"2\""},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                {"department": "Sales", "employeeNumber": "7"},
            "title": "after meta, as a PATCH appends it"
        });
        let projections = [
            (None, None),
            (Some("userName"), None),
            (Some("name.givenName,emails.value"), None),
            (Some("meta.location,groups.value"), None),
            (None, Some("meta")),
            (None, Some("emails.type,name")),
            (
                None,
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            ),
            (
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
                None,
            ),
        ];
        let docs = [
            stored.clone(),
            json!({"id": "u1", "meta": {}}),
            json!({"id": "u1", "userName": "a\"b\\c \u{e9}"}),
            // Extensions that are empty or not objects are never returned.
            json!({"id": "u1",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {},
                   "urn:ietf:params:scim:schemas:extension:Custom:2.0:User": "x",
                   "urn:ietf:params:scim:schemas:extension:Other:2.0:User": {"a": "b"}}),
        ];
        for doc in docs {
            for groups in [None, Some(vec![]), Some(vec!["g1", "g2"])] {
                for (attributes, excluded) in projections {
                    let projection = Projection::parse(attributes, excluded).unwrap();
                    let tree = user(doc.clone(), groups.clone());
                    let mut text = tree.clone();
                    text.doc = Document::Text(doc.to_string().into());
                    let case = format!("{doc} {groups:?} {attributes:?} {excluded:?}");
                    assert_eq!(
                        text.render(BASE, &projection).unwrap(),
                        tree.render(BASE, &projection).unwrap(),
                        "{case}"
                    );
                }
            }
        }
    }

    #[test]
    fn corrupt_text_is_an_internal_error() {
        let mut r = user(json!({}), None);
        r.doc = Document::Text("{\"id\":".into());
        assert!(matches!(
            r.render(BASE, &Projection::default()),
            Err(Error::Internal(_))
        ));
    }
}
