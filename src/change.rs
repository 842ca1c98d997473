//! A committed change: what one accepted write did to one resource, as the store that
//! committed it reports it. The change feed turns each into exactly one event
//! (`feed::event`); nothing else may produce one, so a rejected, failed or no-op write,
//! which commits nothing, yields no change.

use crate::scim::schema::ResourceKind;
use crate::tenant::TenantId;

/// What kind of write committed the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// `POST`: the resource was created.
    Created,
    /// `PUT`: the resource was replaced.
    Replaced,
    /// `PATCH`: the resource was modified.
    Patched,
    /// `DELETE`: the resource is gone.
    Deleted,
}

impl ChangeKind {
    /// The name stored with a write (`create`, `put`, `patch`, `delete`), as in RFC 9967's
    /// event URIs.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "create",
            ChangeKind::Replaced => "put",
            ChangeKind::Patched => "patch",
            ChangeKind::Deleted => "delete",
        }
    }

    /// The inverse of [`ChangeKind::as_str`].
    pub fn parse(s: &str) -> Option<ChangeKind> {
        [
            ChangeKind::Created,
            ChangeKind::Replaced,
            ChangeKind::Patched,
            ChangeKind::Deleted,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Which request rewrote a resource's document: the feed reports a PUT (`prov:put:full`) and a
/// PATCH (`prov:patch:full`) apart, so the service names it on every update and the store
/// records it with the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    /// `PUT`: the document was replaced.
    Put,
    /// `PATCH`: the document was modified.
    Patch,
}

impl From<UpdateKind> for ChangeKind {
    fn from(kind: UpdateKind) -> Self {
        match kind {
            UpdateKind::Put => ChangeKind::Replaced,
            UpdateKind::Patch => ChangeKind::Patched,
        }
    }
}

/// A flip of a user's `active` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveFlip {
    /// `active` went from true (or absent) to false.
    Deactivated,
    /// `active` went from false to true.
    Activated,
}

/// One committed change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The tenant whose directory changed.
    pub tenant: TenantId,
    /// The resource type.
    pub kind: ResourceKind,
    /// The resource id.
    pub id: String,
    /// The write.
    pub change: ChangeKind,
    /// The version before the write (`None` for a create).
    pub version_before: Option<u64>,
    /// The version after the write (`None` for a delete).
    pub version_after: Option<u64>,
    /// Names of the top-level attributes whose values changed (extension attributes are
    /// URN-qualified), sorted; membership is reported in `added`/`removed`, not here.
    pub attributes: Vec<String>,
    /// Set when the write flipped `active`.
    pub active: Option<ActiveFlip>,
    /// Member ids the write added (groups).
    pub added: Vec<String>,
    /// Member ids the write removed (groups).
    pub removed: Vec<String>,
    /// The resource's `externalId` after the write (before, for a delete).
    pub external_id: Option<String>,
    /// When the write committed, in milliseconds since the Unix epoch.
    pub committed_ms: u64,
}

impl Change {
    /// A stable identifier of the committed write: the same on every redelivery of the change
    /// (it names the resource and the version the write produced, which only one write can).
    pub fn txn(&self) -> String {
        let version = match (self.version_after, self.version_before) {
            (Some(after), _) => after,
            // A delete produces no version: it is the write after the last one.
            (None, Some(before)) => before + 1,
            (None, None) => 0,
        };
        format!(
            "{}:{}:{}:{}:{version}",
            self.tenant,
            self.kind.name(),
            self.id,
            self.change.as_str()
        )
    }
}

/// Top-level members of a document that are bookkeeping, never reported as changed attributes.
pub const BOOKKEEPING: [&str; 3] = ["meta", "id", "schemas"];

/// Which top-level attributes differ between two versions of a document: keys present in one
/// and not the other, or with different values. [`BOOKKEEPING`] members are not attribute
/// changes.
pub fn changed_attributes(before: &serde_json::Value, after: &serde_json::Value) -> Vec<String> {
    use std::collections::BTreeSet;
    let empty = serde_json::Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut out = BTreeSet::new();
    for (key, value) in after {
        if before.get(key) != Some(value) {
            out.insert(key.clone());
        }
    }
    for key in before.keys() {
        if !after.contains_key(key) {
            out.insert(key.clone());
        }
    }
    for bookkeeping in BOOKKEEPING {
        out.remove(bookkeeping);
    }
    out.into_iter().collect()
}

/// Whether a write from `before` to `after` flipped `active` (absent counts as true, as
/// RFC 7643 §4.1.1 leaves its default to the provider and this server treats users as active
/// unless told otherwise).
pub fn active_flip(before: &serde_json::Value, after: &serde_json::Value) -> Option<ActiveFlip> {
    let active = |doc: &serde_json::Value| {
        doc.get("active")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(true)
    };
    match (active(before), active(after)) {
        (true, false) => Some(ActiveFlip::Deactivated),
        (false, true) => Some(ActiveFlip::Activated),
        _ => None,
    }
}

/// What one record of a store's change stream is: a change, a stored event to push, or
/// bookkeeping. The DynamoDB store decodes its table's stream into these; the embedded store
/// emits them directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A committed change to a user or group.
    Change(Change),
    /// An event the feed stored (its item's insert): to be pushed.
    Event {
        /// Its tenant.
        tenant: TenantId,
        /// Its position.
        seq: u64,
        /// The event document.
        doc: String,
    },
    /// Bookkeeping, or a change the feed does not report.
    Ignored,
}

/// A record that is not what this table's stream produces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed stream record: {0}")]
pub struct MalformedRecord(&'static str);

impl MalformedRecord {
    /// A record that lacks `what`.
    pub fn new(what: &'static str) -> Self {
        MalformedRecord(what)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn changed_attributes_table() {
        let rows = [
            (
                "one value",
                json!({"userName": "a", "title": "x", "meta": {"version": "W/\"1\""}}),
                json!({"userName": "a", "title": "y", "meta": {"version": "W/\"2\""}}),
                vec!["title"],
            ),
            (
                "added and removed",
                json!({"userName": "a", "nickName": "n"}),
                json!({"userName": "a", "title": "t"}),
                vec!["nickName", "title"],
            ),
            (
                "extension",
                json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "a"}}),
                json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "b"}}),
                vec!["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            ),
            ("nothing", json!({"a": 1}), json!({"a": 1}), vec![]),
        ];
        for (name, before, after, expected) in rows {
            assert_eq!(changed_attributes(&before, &after), expected, "{name}");
        }
    }

    #[test]
    fn active_flips_table() {
        let rows = [
            (
                json!({"active": true}),
                json!({"active": false}),
                Some(ActiveFlip::Deactivated),
            ),
            (
                json!({}),
                json!({"active": false}),
                Some(ActiveFlip::Deactivated),
            ),
            (
                json!({"active": false}),
                json!({"active": true}),
                Some(ActiveFlip::Activated),
            ),
            (
                json!({"active": false}),
                json!({}),
                Some(ActiveFlip::Activated),
            ),
            (json!({"active": true}), json!({"active": true}), None),
            (json!({"active": false}), json!({"active": false}), None),
        ];
        for (before, after, expected) in rows {
            assert_eq!(
                active_flip(&before, &after),
                expected,
                "{before} -> {after}"
            );
        }
    }

    #[test]
    fn txn_names_the_write_and_survives_redelivery() {
        let change = Change {
            tenant: TenantId::default(),
            kind: ResourceKind::User,
            id: "u1".into(),
            change: ChangeKind::Patched,
            version_before: Some(3),
            version_after: Some(4),
            attributes: vec!["active".into()],
            active: Some(ActiveFlip::Deactivated),
            added: vec![],
            removed: vec![],
            external_id: None,
            committed_ms: 1,
        };
        assert_eq!(change.txn(), "default:User:u1:patch:4");
        assert_eq!(change.clone().txn(), change.txn());
        let deleted = Change {
            change: ChangeKind::Deleted,
            version_before: Some(4),
            version_after: None,
            ..change
        };
        assert_eq!(deleted.txn(), "default:User:u1:delete:5");
        for k in ["create", "put", "patch", "delete"] {
            assert_eq!(ChangeKind::parse(k).map(ChangeKind::as_str), Some(k));
        }
    }
}
