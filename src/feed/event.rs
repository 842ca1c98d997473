//! From a committed [`Change`] to the event the vendor's application consumes: a Security
//! Event Token's claims in the RFC 9967 SCIM profile, as JSON, plus the feed's own `seq`,
//! `tenant`, `version` and short `type`. Pure: the same change always maps to the same event.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;
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
        jti_of(&self.change.txn())
    }

    /// The short `type` alias (`user.deactivated`, `group.members_added`, ...).
    pub fn event_type(&self) -> String {
        format!(
            "{}.{}",
            self.change.kind.name().to_ascii_lowercase(),
            verb(&self.change)
        )
    }

    /// The JSON document stored, pulled and pushed, as a tree.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.claims()).unwrap_or_default()
    }

    /// The JSON document stored, pulled and pushed, as text: the claims are written straight
    /// from the change, without building a tree first (the feed renders every event once).
    pub fn render(&self) -> String {
        serde_json::to_string(&self.claims()).unwrap_or_default()
    }

    fn claims(&self) -> Claims<'_> {
        let c = &self.change;
        let txn = c.txn();
        Claims {
            jti: jti_of(&txn),
            iat: c.committed_ms / 1000,
            txn,
            sub_id: SubId {
                format: "scim",
                uri: format!("/{}/{}", c.kind.endpoint(), c.id),
                external_id: c.external_id.as_deref(),
            },
            events: Events(c),
            seq: self.seq,
            tenant: c.tenant.as_str(),
            event_type: self.event_type(),
            version: c.version_after.map(|v| format!("W/\"{v}\"")),
        }
    }
}

fn jti_of(txn: &str) -> String {
    let digest = Sha256::digest(txn.as_bytes());
    format!("evt_{}", hex::encode(&digest[..16]))
}

/// An event's claims, in the order they are written.
#[derive(Serialize)]
struct Claims<'a> {
    jti: String,
    iat: u64,
    txn: String,
    sub_id: SubId<'a>,
    events: Events<'a>,
    seq: u64,
    tenant: &'a str,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
}

/// RFC 9967's subject: the resource's path and, when it has one, its `externalId`.
#[derive(Serialize)]
struct SubId<'a> {
    format: &'static str,
    uri: String,
    #[serde(rename = "externalId", skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
}

/// The `events` claim: the change's event URI with its payload and, when `active` flipped,
/// the (de)activation URI. RFC 8417 allows several events about one subject in one SET: the
/// flip rides on the same SET as the PATCH or PUT that made it.
struct Events<'a>(&'a Change);

impl Serialize for Events<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let uri = match c.change {
            ChangeKind::Created => uri::CREATE,
            ChangeKind::Replaced => uri::PUT,
            ChangeKind::Patched => uri::PATCH,
            ChangeKind::Deleted => uri::DELETE,
        };
        let flip = match c.active {
            Some(ActiveFlip::Deactivated) => Some(uri::DEACTIVATE),
            Some(ActiveFlip::Activated) => Some(uri::ACTIVATE),
            None => None,
        };
        let mut map = serializer.serialize_map(Some(1 + usize::from(flip.is_some())))?;
        map.serialize_entry(uri, &Payload(c))?;
        if let Some(flip) = flip {
            map.serialize_entry(flip, &Empty {})?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Empty {}

/// The event payload: the changed attribute names and, for memberships, the member ids added
/// and removed (never the whole member list).
struct Payload<'a>(&'a Change);

impl Serialize for Payload<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        if c.change == ChangeKind::Deleted {
            return Empty {}.serialize(serializer);
        }
        let members = Relation::Members.attribute();
        let membership = !c.added.is_empty() || !c.removed.is_empty();
        let mut attributes: Vec<&str> = c.attributes.iter().map(String::as_str).collect();
        if membership && !attributes.contains(&members) {
            attributes.push(members);
            attributes.sort_unstable();
        }
        let mut map = serializer.serialize_map(Some(1 + usize::from(membership)))?;
        map.serialize_entry("attributes", &attributes)?;
        if membership {
            map.serialize_entry(
                members,
                &MemberIds {
                    added: &c.added,
                    removed: &c.removed,
                },
            )?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct MemberIds<'a> {
    added: &'a [String],
    removed: &'a [String],
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
    use serde_json::json;

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

    /// The stored text names the claims in the order docs/events.md shows them, and a
    /// deactivation's second URI follows the change's own.
    #[test]
    fn the_rendered_text_keeps_the_documented_order() {
        let mut c = change(ResourceKind::User, ChangeKind::Patched);
        c.attributes = vec!["active".into()];
        c.active = Some(ActiveFlip::Deactivated);
        let text = Event { seq: 7, change: c }.render();
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle} in {text}"))
        };
        let order = [
            "\"jti\"",
            "\"iat\"",
            "\"txn\"",
            "\"sub_id\"",
            "\"events\"",
            "\"seq\"",
            "\"tenant\"",
            "\"type\"",
            "\"version\"",
        ];
        let positions: Vec<usize> = order.iter().map(|k| at(k)).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(at(uri::PATCH) < at(uri::DEACTIVATE), "{text}");
        assert!(
            text.contains(r#""sub_id":{"format":"scim","uri":"/Users/id-1","externalId":"ext-1"}"#)
        );
        assert!(text.contains(r#"{"attributes":["active"]}"#), "{text}");
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["type"], "user.deactivated");
    }
}
