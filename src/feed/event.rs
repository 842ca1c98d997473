//! From a committed [`Change`] to the event the vendor's application consumes: a Security
//! Event Token's claims in the RFC 9967 SCIM profile, as JSON, plus the feed's own `seq`,
//! `tenant`, `version` and short `type`. Pure: the same change always maps to the same event.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::change::{ActiveFlip, Change, ChangeKind};
use crate::scim::schema::Relation;

/// RFC 9967 event URIs, as `ServiceProviderConfig` advertises them.
pub use crate::scim::discovery::event_uri as uri;

/// Every `type` alias an event can carry, for the catalogue and for webhook type filters.
pub const TYPES: &[&str] = &[
    "user.created",
    "user.updated",
    "user.deactivated",
    "user.reactivated",
    "user.deleted",
    "group.created",
    "group.updated",
    "group.deleted",
    "group.members_added",
    "group.members_removed",
];

/// An event: a change and its position in its tenant's feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The position in the tenant's feed: increases by one per event.
    pub seq: u64,
    /// What was committed.
    pub change: Change,
}

impl Event {
    /// The event id: derived from the change's `txn`, so every redelivery of one change has
    /// the same id (webhook receivers dedupe on it as `webhook-id`).
    pub fn jti(&self) -> String {
        let digest = Sha256::digest(self.change.txn().as_bytes());
        format!("evt_{}", hex::encode(&digest[..16]))
    }

    /// The short `type` alias (`user.deactivated`, `group.members_added`, ...).
    pub fn event_type(&self) -> String {
        format!(
            "{}.{}",
            self.change.kind.name().to_ascii_lowercase(),
            verb(&self.change)
        )
    }

    /// The JSON document stored, pulled and pushed.
    pub fn to_json(&self) -> Value {
        let c = &self.change;
        let mut sub_id = json!({
            "format": "scim",
            "uri": format!("/{}/{}", c.kind.endpoint(), c.id),
        });
        if let Some(external_id) = &c.external_id {
            sub_id["externalId"] = external_id.as_str().into();
        }
        let mut events = Map::new();
        let uri = match c.change {
            ChangeKind::Created => uri::CREATE,
            ChangeKind::Replaced => uri::PUT,
            ChangeKind::Patched => uri::PATCH,
            ChangeKind::Deleted => uri::DELETE,
        };
        events.insert(uri.to_string(), payload(c));
        // RFC 8417 allows several events about one subject in one SET: the flip of `active`
        // rides on the same SET as the PATCH or PUT that made it.
        match c.active {
            Some(ActiveFlip::Deactivated) => {
                events.insert(uri::DEACTIVATE.to_string(), json!({}));
            }
            Some(ActiveFlip::Activated) => {
                events.insert(uri::ACTIVATE.to_string(), json!({}));
            }
            None => {}
        }
        let mut out = json!({
            "jti": self.jti(),
            "iat": c.committed_ms / 1000,
            "txn": c.txn(),
            "sub_id": sub_id,
            "events": events,
            "seq": self.seq,
            "tenant": c.tenant.as_str(),
            "type": self.event_type(),
        });
        if let Some(v) = c.version_after {
            out["version"] = format!("W/\"{v}\"").into();
        }
        out
    }
}

/// The event payload: the changed attribute names and, for memberships, the member ids added
/// and removed (never the whole member list).
fn payload(c: &Change) -> Value {
    if c.change == ChangeKind::Deleted {
        return json!({});
    }
    let mut attributes = c.attributes.clone();
    let members = Relation::Members.attribute();
    if (!c.added.is_empty() || !c.removed.is_empty()) && !attributes.iter().any(|a| a == members) {
        attributes.push(members.to_string());
        attributes.sort();
    }
    let mut out = json!({ "attributes": attributes });
    if !c.added.is_empty() || !c.removed.is_empty() {
        out[members] = json!({ "added": c.added, "removed": c.removed });
    }
    out
}

fn verb(c: &Change) -> &'static str {
    match (c.change, c.active) {
        (ChangeKind::Created, _) => "created",
        (ChangeKind::Deleted, _) => "deleted",
        (_, Some(ActiveFlip::Deactivated)) => "deactivated",
        (_, Some(ActiveFlip::Activated)) => "reactivated",
        // A PUT replaces the whole resource: an update, whatever it did to the members.
        (ChangeKind::Replaced, _) => "updated",
        _ if c.attributes.is_empty() && c.removed.is_empty() && !c.added.is_empty() => {
            "members_added"
        }
        _ if c.attributes.is_empty() && c.added.is_empty() && !c.removed.is_empty() => {
            "members_removed"
        }
        _ => "updated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ResourceKind;
    use crate::tenant::TenantId;

    fn change(kind: ResourceKind, what: ChangeKind) -> Change {
        Change {
            tenant: TenantId::parse("t_acme").unwrap(),
            kind,
            id: "id-1".into(),
            change: what,
            version_before: (what != ChangeKind::Created).then_some(3),
            version_after: (what != ChangeKind::Deleted).then_some(4),
            attributes: vec![],
            active: None,
            added: vec![],
            removed: vec![],
            external_id: Some("ext-1".into()),
            committed_ms: 1_750_000_000_123,
        }
    }

    #[test]
    fn types_and_uris_table() {
        use ChangeKind::*;
        use ResourceKind::{Group, User};
        let with = |mut c: Change, f: &dyn Fn(&mut Change)| {
            f(&mut c);
            c
        };
        let rows: Vec<(&str, Change, &str, Vec<&str>)> = vec![
            (
                "user create",
                change(User, Created),
                "user.created",
                vec![uri::CREATE],
            ),
            (
                "user patch",
                with(change(User, Patched), &|c| {
                    c.attributes = vec!["title".into()]
                }),
                "user.updated",
                vec![uri::PATCH],
            ),
            (
                "user put",
                with(change(User, Replaced), &|c| {
                    c.attributes = vec!["title".into()]
                }),
                "user.updated",
                vec![uri::PUT],
            ),
            (
                "deactivate",
                with(change(User, Patched), &|c| {
                    c.attributes = vec!["active".into()];
                    c.active = Some(ActiveFlip::Deactivated);
                }),
                "user.deactivated",
                vec![uri::PATCH, uri::DEACTIVATE],
            ),
            (
                "reactivate by put",
                with(change(User, Replaced), &|c| {
                    c.attributes = vec!["active".into()];
                    c.active = Some(ActiveFlip::Activated);
                }),
                "user.reactivated",
                vec![uri::PUT, uri::ACTIVATE],
            ),
            (
                "user delete",
                change(User, Deleted),
                "user.deleted",
                vec![uri::DELETE],
            ),
            (
                "group create",
                change(Group, Created),
                "group.created",
                vec![uri::CREATE],
            ),
            (
                "members added",
                with(change(Group, Patched), &|c| c.added = vec!["u1".into()]),
                "group.members_added",
                vec![uri::PATCH],
            ),
            (
                "members removed",
                with(change(Group, Patched), &|c| c.removed = vec!["u1".into()]),
                "group.members_removed",
                vec![uri::PATCH],
            ),
            (
                "both ways",
                with(change(Group, Replaced), &|c| {
                    c.added = vec!["u2".into()];
                    c.removed = vec!["u1".into()];
                }),
                "group.updated",
                vec![uri::PUT],
            ),
            (
                "group put that only adds members",
                with(change(Group, Replaced), &|c| c.added = vec!["u2".into()]),
                "group.updated",
                vec![uri::PUT],
            ),
            (
                "group put that only removes members",
                with(change(Group, Replaced), &|c| c.removed = vec!["u1".into()]),
                "group.updated",
                vec![uri::PUT],
            ),
            (
                "rename",
                with(change(Group, Patched), &|c| {
                    c.attributes = vec!["displayName".into()]
                }),
                "group.updated",
                vec![uri::PATCH],
            ),
            (
                "group delete",
                change(Group, Deleted),
                "group.deleted",
                vec![uri::DELETE],
            ),
        ];
        for (name, c, ty, uris) in rows {
            let event = Event { seq: 7, change: c };
            let doc = event.to_json();
            assert_eq!(doc["type"], ty, "{name}");
            assert!(TYPES.contains(&ty), "{name}");
            let mut keys: Vec<&str> = doc["events"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            let mut want = uris.clone();
            want.sort_unstable();
            assert_eq!(keys, want, "{name}");
        }
    }

    #[test]
    fn an_event_carries_its_claims() {
        let mut c = change(ResourceKind::Group, ChangeKind::Patched);
        c.added = vec!["u1".into(), "u2".into()];
        let event = Event { seq: 42, change: c };
        let doc = event.to_json();
        assert_eq!(doc["seq"], 42);
        assert_eq!(doc["tenant"], "t_acme");
        assert_eq!(doc["version"], "W/\"4\"");
        assert_eq!(doc["iat"], 1_750_000_000);
        assert_eq!(doc["txn"], "t_acme:Group:id-1:patch:4");
        assert_eq!(
            doc["sub_id"],
            json!({"format": "scim", "uri": "/Groups/id-1", "externalId": "ext-1"})
        );
        assert_eq!(
            doc["events"][uri::PATCH],
            json!({"attributes": ["members"], "members": {"added": ["u1", "u2"], "removed": []}})
        );
        // The same change, redelivered, is the same event.
        let again = Event {
            seq: 42,
            change: event.change.clone(),
        };
        assert_eq!(again.jti(), event.jti());
        assert!(event.jti().starts_with("evt_"));
        let deleted = Event {
            seq: 43,
            change: change(ResourceKind::User, ChangeKind::Deleted),
        };
        assert!(deleted.to_json().get("version").is_none());
    }
}
