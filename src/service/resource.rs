//! A resource as the service returns it, and its JSON representation.

use serde_json::{Map, Value, json};

use crate::scim::projection::Projection;
use crate::scim::schema::{Relation, ResourceKind};
use crate::store::Members;

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
    pub doc: Value,
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

    /// The JSON representation, by move: the document with `meta.location`, the requested
    /// relations, and the projection applied.
    pub fn into_json(self, base_url: &str, projection: &Projection) -> Value {
        let location = self.location(base_url);
        let mut doc = self.doc;
        if let Some(meta) = doc.get_mut("meta").and_then(Value::as_object_mut) {
            meta.insert("location".into(), location.into());
        }
        if let Some(object) = doc.as_object_mut() {
            if let Some(m) = &self.members {
                let users = ResourceKind::with_relation(Relation::MemberOf);
                let rendered = refs(base_url, users.endpoint(), &m.ids, users.name());
                insert_before_meta(object, Relation::Members.attribute(), rendered);
            }
            if let Some(g) = &self.groups {
                let groups = ResourceKind::with_relation(Relation::Members).endpoint();
                let rendered = refs(base_url, groups, &g.ids, "direct");
                insert_before_meta(object, Relation::MemberOf.attribute(), rendered);
            }
        }
        projection.apply(self.kind, doc)
    }
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
    let meta = object.remove("meta");
    object.insert(key.to_string(), value);
    if let Some(meta) = meta {
        object.insert("meta".into(), meta);
    }
}
