//! Reading the table's DynamoDB Stream back as [`Change`]s: the store that committed a write
//! is the one that says what the write was.
//!
//! Pure: a stream record (the JSON Lambda receives, or the Streams API's record in the same
//! shape) goes in, a [`Decoded`] comes out. Per accepted request the store writes exactly one
//! record of the resource item whose version moves by one (`docs/dynamodb.md`, "What a stream
//! handler can rely on"): that record is the change. Its new image carries the write's
//! `change` map: `kind` (`put` or `patch`: a MODIFY is a PUT or a PATCH as the request was)
//! and, for a group, the member ids the write added and removed (`{req, add, remove, clear}`;
//! a replace-all is recorded as the ids it removed). The changed attribute names and an
//! `active` flip come from comparing the old and new documents. Records whose version does not
//! move (a large member change finishing), membership items, guards, counters and checkpoints
//! are bookkeeping of a change already described, and are ignored; the feed's own event items
//! are returned so the same function can push them.

use serde_json::Value;

use super::keys;
use crate::change::{
    Change, ChangeKind, Decoded, MalformedRecord, active_flip, changed_attributes,
};
use crate::scim::schema::ResourceKind;
use crate::store::TenantId;

/// Decodes one stream record.
///
/// # Errors
/// [`MalformedRecord`] when a record of a resource or event item lacks what the store writes
/// (a poison record: reported as that record's failure, never blocking the others).
pub fn decode(record: &Value) -> Result<Decoded, MalformedRecord> {
    let name = record
        .get("eventName")
        .and_then(Value::as_str)
        .ok_or(MalformedRecord::new("eventName"))?;
    let ddb = record
        .get("dynamodb")
        .ok_or(MalformedRecord::new("dynamodb"))?;
    let keys = ddb.get("Keys").ok_or(MalformedRecord::new("Keys"))?;
    let pk = string(keys, keys::PK).ok_or(MalformedRecord::new("pk"))?;
    let sk = string(keys, keys::SK).ok_or(MalformedRecord::new("sk"))?;
    let new = ddb.get("NewImage");
    let old = ddb.get("OldImage");
    if let Some((tenant, seq)) = event_key(pk, sk) {
        if name != "INSERT" {
            return Ok(Decoded::Ignored);
        }
        let doc = new
            .and_then(|i| string(i, "doc"))
            .ok_or(MalformedRecord::new("event doc"))?;
        return Ok(Decoded::Event {
            tenant,
            seq,
            doc: doc.to_string(),
        });
    }
    let Some((tenant, kind, id)) = resource_key(pk, sk) else {
        return Ok(Decoded::Ignored);
    };
    let committed_ms = ddb
        .get("ApproximateCreationDateTime")
        .and_then(Value::as_f64)
        .map_or(0, |secs| (secs * 1000.0) as u64);
    let doc_of = |image: Option<&Value>| -> Result<Value, MalformedRecord> {
        let text = image
            .and_then(|i| string(i, keys::DOC))
            .ok_or(MalformedRecord::new("doc"))?;
        serde_json::from_str(text).map_err(|_| MalformedRecord::new("doc json"))
    };
    let version_of = |image: Option<&Value>| image.and_then(|i| number(i, keys::VERSION));
    let (change, before, after) = match name {
        "INSERT" => (ChangeKind::Created, Value::Null, doc_of(new)?),
        "MODIFY" => {
            // Only the record whose version moved is the change; the others are bookkeeping.
            let moved = matches!(
                (version_of(old), version_of(new)),
                (Some(o), Some(n)) if n == o + 1
            );
            if !moved {
                return Ok(Decoded::Ignored);
            }
            // Items written before the change map named the write carry no `kind`: PATCH.
            let write = new
                .and_then(|i| i.get(keys::CHANGE))
                .and_then(|c| c.pointer(&format!("/M/{}/S", keys::CHANGE_WRITE)))
                .and_then(Value::as_str)
                .and_then(ChangeKind::parse)
                .filter(|k| *k == ChangeKind::Replaced)
                .unwrap_or(ChangeKind::Patched);
            (write, doc_of(old)?, doc_of(new)?)
        }
        "REMOVE" => (ChangeKind::Deleted, doc_of(old)?, Value::Null),
        _ => return Err(MalformedRecord::new("eventName")),
    };
    let (added, removed) = match (change, new.and_then(|i| i.get(keys::CHANGE))) {
        (ChangeKind::Deleted, _) | (_, None) => (Vec::new(), Vec::new()),
        (_, Some(delta)) => {
            let delta = delta.get("M").ok_or(MalformedRecord::new("change"))?;
            (strings(delta, "add"), strings(delta, "remove"))
        }
    };
    let attributes = match change {
        ChangeKind::Deleted => Vec::new(),
        _ => changed_attributes(&before, &after),
    };
    // A replace-all is recorded as the ids it removed; one still marked `clear` (written
    // before, with the removed ids not listed) can only name the attribute as changed.
    let cleared = new
        .and_then(|i| i.get(keys::CHANGE))
        .and_then(|c| c.pointer("/M/clear/BOOL"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let attributes = if cleared && change != ChangeKind::Created {
        let mut a = attributes;
        a.push(
            crate::scim::schema::Relation::Members
                .attribute()
                .to_string(),
        );
        a.sort();
        a.dedup();
        a
    } else {
        attributes
    };
    let active = match (change, kind.descriptor().relation) {
        (ChangeKind::Replaced | ChangeKind::Patched, crate::scim::schema::Relation::MemberOf) => {
            active_flip(&before, &after)
        }
        _ => None,
    };
    let external_id = match change {
        ChangeKind::Deleted => &before,
        _ => &after,
    }
    .get("externalId")
    .and_then(Value::as_str)
    .map(str::to_string);
    Ok(Decoded::Change(Change {
        tenant,
        kind,
        id,
        change,
        version_before: version_of(old),
        version_after: version_of(new),
        attributes,
        active,
        added,
        removed,
        external_id,
        committed_ms,
    }))
}

/// `T#<t>#USER#<id>` with sort key `USER` (or the group equivalents).
fn resource_key(pk: &str, sk: &str) -> Option<(TenantId, ResourceKind, String)> {
    let kind = ResourceKind::ALL
        .into_iter()
        .find(|k| keys::kind_word(*k) == sk)?;
    let rest = pk.strip_prefix("T#")?;
    let (tenant, rest) = rest.split_once('#')?;
    let id = rest
        .strip_prefix(keys::kind_word(kind))?
        .strip_prefix('#')?;
    Some((TenantId::parse(tenant).ok()?, kind, id.to_string()))
}

/// `T#<t>#EVENTS` with sort key `E#<seq>`.
fn event_key(pk: &str, sk: &str) -> Option<(TenantId, u64)> {
    let tenant = pk.strip_prefix("T#")?.strip_suffix("#EVENTS")?;
    let seq = sk.strip_prefix("E#")?.parse().ok()?;
    Some((TenantId::parse(tenant).ok()?, seq))
}

/// A string attribute in DynamoDB JSON (`{"S": "..."}`).
fn string<'a>(image: &'a Value, name: &str) -> Option<&'a str> {
    image.get(name)?.get("S")?.as_str()
}

/// A number attribute in DynamoDB JSON (`{"N": "3"}`).
fn number(image: &Value, name: &str) -> Option<u64> {
    image.get(name)?.get("N")?.as_str()?.parse().ok()
}

/// A string set or list of strings in DynamoDB JSON.
fn strings(image: &Value, name: &str) -> Vec<String> {
    let Some(value) = image.get(name) else {
        return Vec::new();
    };
    let mut out: Vec<String> = if let Some(set) = value.get("SS").and_then(Value::as_array) {
        set.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    } else if let Some(list) = value.get("L").and_then(Value::as_array) {
        list.iter()
            .filter_map(|v| v.get("S").and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    } else {
        Vec::new()
    };
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::change::ActiveFlip;

    fn record(name: &str, pk: &str, sk: &str, old: Option<Value>, new: Option<Value>) -> Value {
        let mut ddb = json!({
            "Keys": {"pk": {"S": pk}, "sk": {"S": sk}},
            "ApproximateCreationDateTime": 1_750_000_000.5,
            "SequenceNumber": "100",
        });
        if let Some(o) = old {
            ddb["OldImage"] = o;
        }
        if let Some(n) = new {
            ddb["NewImage"] = n;
        }
        json!({"eventID": "e1", "eventName": name, "dynamodb": ddb})
    }

    fn user(version: u64, doc: Value, extra: Value) -> Value {
        let mut image = json!({
            "pk": {"S": "T#t_a#USER#u1"}, "sk": {"S": "USER"},
            "id": {"S": "u1"},
            "version": {"N": version.to_string()},
            "doc": {"S": doc.to_string()},
        });
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            image[k] = v;
        }
        image
    }

    fn change(d: Decoded) -> Change {
        match d {
            Decoded::Change(c) => c,
            other => panic!("not a change: {other:?}"),
        }
    }

    #[test]
    fn resource_records_become_changes() {
        let created = change(
            decode(&record(
                "INSERT",
                "T#t_a#USER#u1",
                "USER",
                None,
                Some(user(
                    1,
                    json!({"userName": "a", "externalId": "x1"}),
                    json!({}),
                )),
            ))
            .unwrap(),
        );
        assert_eq!(created.change, ChangeKind::Created);
        assert_eq!(created.tenant.as_str(), "t_a");
        assert_eq!(created.id, "u1");
        assert_eq!(created.version_after, Some(1));
        assert_eq!(created.attributes, ["externalId", "userName"]);
        assert_eq!(created.external_id.as_deref(), Some("x1"));
        assert_eq!(created.committed_ms, 1_750_000_000_500);

        let deactivated = change(
            decode(&record(
                "MODIFY",
                "T#t_a#USER#u1",
                "USER",
                Some(user(1, json!({"userName": "a", "active": true}), json!({}))),
                Some(user(
                    2,
                    json!({"userName": "a", "active": false}),
                    json!({}),
                )),
            ))
            .unwrap(),
        );
        assert_eq!(deactivated.change, ChangeKind::Patched);
        assert_eq!(deactivated.active, Some(ActiveFlip::Deactivated));
        assert_eq!(deactivated.attributes, ["active"]);
        assert_eq!(
            (deactivated.version_before, deactivated.version_after),
            (Some(1), Some(2))
        );

        let replaced = change(
            decode(&record(
                "MODIFY",
                "T#t_a#USER#u1",
                "USER",
                Some(user(2, json!({"userName": "a"}), json!({}))),
                Some(user(3, json!({"userName": "b"}), json!({}))),
            ))
            .unwrap(),
        );
        assert_eq!(
            replaced.change,
            ChangeKind::Patched,
            "an item without the write's kind is a PATCH"
        );
        assert_eq!(replaced.attributes, ["userName"]);
        // The change map names the write: a PUT, or a PATCH.
        for (kind, want) in [
            ("put", ChangeKind::Replaced),
            ("patch", ChangeKind::Patched),
            ("create", ChangeKind::Patched),
        ] {
            let marked = json!({"change": {"M": {"kind": {"S": kind}}}});
            let c = change(
                decode(&record(
                    "MODIFY",
                    "T#t_a#USER#u1",
                    "USER",
                    Some(user(2, json!({"userName": "a"}), json!({}))),
                    Some(user(3, json!({"userName": "b"}), marked)),
                ))
                .unwrap(),
            );
            assert_eq!(c.change, want, "{kind}");
            assert_eq!(c.attributes, ["userName"], "{kind}");
        }
        // A record whose version did not move is bookkeeping.
        let settled = decode(&record(
            "MODIFY",
            "T#t_a#USER#u1",
            "USER",
            Some(user(3, json!({"userName": "b"}), json!({}))),
            Some(user(3, json!({"userName": "b"}), json!({}))),
        ))
        .unwrap();
        assert_eq!(settled, Decoded::Ignored);

        let deleted = change(
            decode(&record(
                "REMOVE",
                "T#t_a#USER#u1",
                "USER",
                Some(user(
                    3,
                    json!({"userName": "b", "externalId": "x1"}),
                    json!({}),
                )),
                None,
            ))
            .unwrap(),
        );
        assert_eq!(deleted.change, ChangeKind::Deleted);
        assert_eq!(
            (deleted.version_before, deleted.version_after),
            (Some(3), None)
        );
        assert_eq!(deleted.external_id.as_deref(), Some("x1"));
    }

    #[test]
    fn group_records_carry_the_member_delta() {
        let group = |version: u64, extra: Value| {
            let mut image = json!({
                "pk": {"S": "T#t_a#GROUP#g1"}, "sk": {"S": "GROUP"},
                "version": {"N": version.to_string()},
                "doc": {"S": json!({"displayName": "Sales"}).to_string()},
            });
            for (k, v) in extra.as_object().cloned().unwrap_or_default() {
                image[k] = v;
            }
            image
        };
        let c = change(
            decode(&record(
                "MODIFY",
                "T#t_a#GROUP#g1",
                "GROUP",
                Some(group(4, json!({"change": {"M": {"add": {"L": [{"S": "old"}]}}}}))),
                Some(group(5, json!({"change": {"M": {"req": {"S": "r1"}, "add": {"L": [{"S": "u2"}, {"S": "u1"}]}, "remove": {"L": [{"S": "u9"}]}, "clear": {"BOOL": false}}}}))),
            ))
            .unwrap(),
        );
        assert_eq!(c.kind, ResourceKind::Group);
        assert_eq!(c.added, ["u1", "u2"]);
        assert_eq!(c.removed, ["u9"]);
        assert!(c.attributes.is_empty());
        assert_eq!(c.active, None);
        // A PUT that replaced the members: the ids it removed are on the item.
        let put = change(
            decode(&record(
                "MODIFY",
                "T#t_a#GROUP#g1",
                "GROUP",
                Some(group(5, json!({}))),
                Some(group(6, json!({"change": {"M": {"kind": {"S": "put"}, "req": {"S": "r2"}, "add": {"L": [{"S": "u4"}]}, "remove": {"L": [{"S": "u2"}, {"S": "u1"}]}, "clear": {"BOOL": false}}}}))),
            ))
            .unwrap(),
        );
        assert_eq!(put.change, ChangeKind::Replaced);
        assert_eq!(put.added, ["u4"]);
        assert_eq!(put.removed, ["u1", "u2"]);
        assert!(put.attributes.is_empty());
    }

    #[test]
    fn bookkeeping_is_ignored_and_events_are_returned() {
        let rows = [
            ("INSERT", "T#t_a#GROUP#g1", "MEMBER#u1"),
            ("INSERT", "T#t_a#UNIQUE#USER#bob", "UNIQUE"),
            ("MODIFY", "T#t_a#COUNT#USER", "SHARD#3"),
            ("MODIFY", "T#t_a#FEED", "FEED"),
            ("INSERT", "T#t_a#EVTXN#x", "EVTXN"),
            ("REMOVE", "T#t_a#EVENTS", "E#00000000000000000007"),
        ];
        for (name, pk, sk) in rows {
            assert_eq!(
                decode(&record(name, pk, sk, None, Some(json!({})))),
                Ok(Decoded::Ignored),
                "{pk} {sk}"
            );
        }
        let event = decode(&record(
            "INSERT",
            "T#t_a#EVENTS",
            "E#00000000000000000007",
            None,
            Some(json!({"doc": {"S": "{\"seq\":7}"}})),
        ))
        .unwrap();
        assert_eq!(
            event,
            Decoded::Event {
                tenant: TenantId::parse("t_a").unwrap(),
                seq: 7,
                doc: "{\"seq\":7}".into()
            }
        );
    }

    #[test]
    fn poison_records_are_errors_not_panics() {
        let rows = [
            json!({}),
            json!({"eventName": "INSERT"}),
            json!({"eventName": "INSERT", "dynamodb": {"Keys": {}}}),
            record(
                "INSERT",
                "T#t_a#USER#u1",
                "USER",
                None,
                Some(json!({"doc": {"S": "not json"}})),
            ),
            record("INSERT", "T#t_a#USER#u1", "USER", None, None),
            record("INSERT", "T#t_a#EVENTS", "E#1", None, Some(json!({}))),
            record(
                "TRUNCATE",
                "T#t_a#USER#u1",
                "USER",
                None,
                Some(user(1, json!({}), json!({}))),
            ),
        ];
        for r in rows {
            assert!(decode(&r).is_err(), "{r}");
        }
    }
}
