//! Mapping between [`Record`]s and DynamoDB items, and the [`ItemExt`] getters that read typed
//! attributes out of an item.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys;
use crate::scim::schema::ResourceKind;
use crate::store::{IndexKeys, Record, StoreError, TenantId, limits, stamp_meta};

/// An item as the SDK hands it over.
pub type Item = HashMap<String, AttributeValue>;

/// An item that does not have the shape this store writes: data corruption or a bug.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    /// A required attribute is absent.
    #[error("item has no attribute {0}")]
    Missing(&'static str),
    /// An attribute has the wrong type or an unparsable value.
    #[error("item attribute {0} has an unexpected type or value")]
    Malformed(&'static str),
    /// `doc` is not valid JSON.
    #[error("item document is not valid JSON")]
    Json(#[source] serde_json::Error),
}

impl From<ItemError> for StoreError {
    fn from(e: ItemError) -> Self {
        StoreError::Internal(Box::new(e))
    }
}

/// Typed getters on an item, so call sites say what they expect instead of matching
/// `AttributeValue` variants.
pub trait ItemExt {
    /// A string attribute that must be there.
    ///
    /// # Errors
    /// `Missing` or `Malformed`.
    fn string(&self, name: &'static str) -> Result<&str, ItemError>;
    /// A string attribute that may be absent.
    ///
    /// # Errors
    /// `Malformed` when present with another type.
    fn opt_string(&self, name: &'static str) -> Result<Option<&str>, ItemError>;
    /// A non-negative integer attribute that must be there.
    ///
    /// # Errors
    /// `Missing` or `Malformed`.
    fn number_u64(&self, name: &'static str) -> Result<u64, ItemError>;
    /// A signed integer attribute that must be there.
    ///
    /// # Errors
    /// `Missing` or `Malformed`.
    fn number_i64(&self, name: &'static str) -> Result<i64, ItemError>;
}

impl ItemExt for Item {
    fn string(&self, name: &'static str) -> Result<&str, ItemError> {
        self.opt_string(name)?.ok_or(ItemError::Missing(name))
    }

    fn opt_string(&self, name: &'static str) -> Result<Option<&str>, ItemError> {
        match self.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(s)) => Ok(Some(s)),
            Some(_) => Err(ItemError::Malformed(name)),
        }
    }

    fn number_u64(&self, name: &'static str) -> Result<u64, ItemError> {
        match self.get(name) {
            None => Err(ItemError::Missing(name)),
            Some(AttributeValue::N(n)) => n.parse().map_err(|_| ItemError::Malformed(name)),
            Some(_) => Err(ItemError::Malformed(name)),
        }
    }

    fn number_i64(&self, name: &'static str) -> Result<i64, ItemError> {
        match self.get(name) {
            None => Err(ItemError::Missing(name)),
            Some(AttributeValue::N(n)) => n.parse().map_err(|_| ItemError::Malformed(name)),
            Some(_) => Err(ItemError::Malformed(name)),
        }
    }
}

/// A string attribute value.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute value.
pub fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The primary key of an item.
pub fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([(keys::PK.to_string(), s(pk)), (keys::SK.to_string(), s(sk))])
}

/// The key of a resource item.
pub fn resource_key(tenant: &TenantId, kind: ResourceKind, id: &str) -> Item {
    key(keys::resource_pk(tenant, kind, id), keys::resource_sk(kind))
}

/// The key of a unique guard.
pub fn guard_key(tenant: &TenantId, kind: ResourceKind, folded: &str) -> Item {
    key(keys::guard_pk(tenant, kind, folded), keys::GUARD_SK)
}

/// The key of one shard of a kind's resource counter.
pub fn counter_key(tenant: &TenantId, kind: ResourceKind, shard: u32) -> Item {
    key(keys::counter_pk(tenant, kind), keys::counter_sk(shard))
}

/// A resource's position in its kind's listing (GSI1): the `ExclusiveStartKey` that makes a
/// listing query continue right after resource `id`. A GSI position carries the index keys
/// and the table keys; the resource need not exist any more.
pub fn listing_position(tenant: &TenantId, kind: ResourceKind, id: &str) -> Item {
    let mut item = resource_key(tenant, kind, id);
    item.insert(keys::GSI1PK.into(), s(keys::list_pk(tenant, kind)));
    item.insert(keys::GSI1SK.into(), s(id));
    item
}

/// The key of a membership item.
pub fn member_key(tenant: &TenantId, group_id: &str, user_id: &str) -> Item {
    key(
        keys::resource_pk(tenant, ResourceKind::Group, group_id),
        keys::member_sk(user_id),
    )
}

/// The full resource item for `record`, with its index attributes: present only when the
/// record has the value, which keeps GSI2 and GSI3 sparse.
///
/// The documented limits are checked here, on the serialised document, so no write of an
/// oversized item is ever sent.
///
/// # Errors
/// `TooLarge` past a limit; `Internal` if the document cannot be serialised (it always can:
/// it is a `Value`).
pub fn resource_item(
    tenant: &TenantId,
    kind: ResourceKind,
    record: &Record,
) -> Result<Item, StoreError> {
    let doc = record.doc.to_text()?.into_owned();
    limits::check_record(kind, record, doc.len())?;
    let mut item = resource_key(tenant, kind, &record.id);
    item.insert(keys::ID.into(), s(&record.id));
    item.insert(keys::VERSION.into(), n(record.version));
    item.insert(keys::DOC.into(), s(doc));
    item.insert(keys::GSI1PK.into(), s(keys::list_pk(tenant, kind)));
    item.insert(keys::GSI1SK.into(), s(&record.id));
    if let Some(u) = &record.keys.unique {
        item.insert(keys::UNIQUE.into(), s(u));
    }
    if let Some(e) = &record.keys.external_id {
        item.insert(keys::EXTERNAL_ID.into(), s(e));
        item.insert(
            keys::GSI2PK.into(),
            s(keys::external_id_pk(tenant, kind, e)),
        );
    }
    if let (ResourceKind::User, Some(e)) = (kind, record.keys.work_emails.first()) {
        item.insert(keys::WORK_EMAIL.into(), s(e));
        item.insert(keys::GSI3PK.into(), s(keys::work_email_pk(tenant, e)));
        item.insert(
            keys::WORK_EMAILS.into(),
            s(emails_json(&record.keys.work_emails)),
        );
    }
    Ok(item)
}

/// The `emails` attribute value: the folded work emails as a JSON array.
pub fn emails_json(emails: &[String]) -> String {
    serde_json::to_string(emails).unwrap_or_default()
}

/// The key of the lookup item of one of a user's later work emails.
pub fn email_key(tenant: &TenantId, folded: &str, user_id: &str) -> Item {
    key(keys::work_email_pk(tenant, folded), keys::email_sk(user_id))
}

/// The lookup item of one of a user's second and later work emails: in GSI3 under the email,
/// sorted by the user id like the user items there, with the id to read the user by.
pub fn email_item(tenant: &TenantId, folded: &str, user_id: &str) -> Item {
    let mut item = email_key(tenant, folded, user_id);
    item.insert(keys::ID.into(), s(user_id));
    item.insert(keys::GSI3PK.into(), s(keys::work_email_pk(tenant, folded)));
    item.insert(keys::GSI1SK.into(), s(user_id));
    item
}

/// The guard item claiming `folded` for `owner_id`.
pub fn guard_item(tenant: &TenantId, kind: ResourceKind, folded: &str, owner_id: &str) -> Item {
    let mut item = guard_key(tenant, kind, folded);
    item.insert(keys::ID.into(), s(owner_id));
    item
}

/// A membership item: in the group's partition, and in the user's reverse partition of GSI1.
pub fn member_item(tenant: &TenantId, group_id: &str, user_id: &str) -> Item {
    let mut item = member_key(tenant, group_id, user_id);
    item.insert(
        keys::GSI1PK.into(),
        s(keys::user_groups_pk(tenant, user_id)),
    );
    item.insert(keys::GSI1SK.into(), s(group_id));
    item
}

impl TryFrom<&Item> for Record {
    type Error = ItemError;

    fn try_from(item: &Item) -> Result<Self, ItemError> {
        let mut doc: serde_json::Value =
            serde_json::from_str(item.string(keys::DOC)?).map_err(ItemError::Json)?;
        let version = item.number_u64(keys::VERSION)?;
        // A member-only change bumped the version without rewriting the document.
        if let Some(modified) = item.opt_string(keys::MODIFIED)? {
            stamp_meta(&mut doc, version, modified);
        }
        let work_emails = match item.opt_string(keys::WORK_EMAILS)? {
            Some(json) => {
                serde_json::from_str(json).map_err(|_| ItemError::Malformed(keys::WORK_EMAILS))?
            }
            None => Vec::new(),
        };
        Ok(Record {
            id: item.string(keys::ID)?.to_string(),
            version,
            doc: doc.into(),
            keys: IndexKeys {
                unique: item.opt_string(keys::UNIQUE)?.map(str::to_string),
                external_id: item.opt_string(keys::EXTERNAL_ID)?.map(str::to_string),
                work_emails,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Record {
        Record {
            id: "u1".into(),
            version: 3,
            doc: json!({"id": "u1", "userName": "Bob"}).into(),
            keys: IndexKeys {
                unique: Some("bob".into()),
                external_id: Some("E1".into()),
                work_emails: Vec::new(),
            },
        }
    }

    #[test]
    fn a_record_survives_the_round_trip_through_an_item() {
        let t = TenantId::default();
        let item = resource_item(&t, ResourceKind::User, &record()).unwrap();
        assert_eq!(Record::try_from(&item).unwrap(), record());
        assert!(item.contains_key(keys::GSI2PK));
        assert!(!item.contains_key(keys::GSI3PK), "gsi3 must stay sparse");
    }

    #[test]
    fn a_corrupt_item_is_an_error_not_a_panic() {
        let mut item = resource_item(&TenantId::default(), ResourceKind::User, &record()).unwrap();
        item.insert(keys::VERSION.into(), s("three"));
        assert!(matches!(
            Record::try_from(&item),
            Err(ItemError::Malformed("version"))
        ));
        item.remove(keys::DOC);
        assert!(matches!(
            Record::try_from(&item),
            Err(ItemError::Missing("doc"))
        ));
    }
}
