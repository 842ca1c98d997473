//! The building blocks of every write: condition expressions with their placeholders, and the
//! transactional `Put`, `Delete`, `ConditionCheck` and counter `Update` actions.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};

use super::items::{self, Item, counter_key};
use super::{build_error, keys};
use crate::scim::schema::ResourceKind;
use crate::store::{IndexKeys, StoreResult, TenantId};

/// A condition expression with its placeholders. Every attribute name goes through a `#name`
/// placeholder so none can collide with DynamoDB's reserved words.
#[derive(Debug, Clone, Default)]
pub(super) struct Cond {
    expr: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Cond {
    /// `attribute_not_exists(pk)`: the item must be new.
    pub(super) fn absent() -> Self {
        Cond::new("attribute_not_exists(#pk)").name("#pk", keys::PK)
    }

    /// `attribute_exists(pk)`: the item must exist.
    pub(super) fn present() -> Self {
        Cond::new("attribute_exists(#pk)").name("#pk", keys::PK)
    }

    /// A guard that is free or already owned by `id`.
    pub(super) fn free_or_owned_by(id: &str) -> Self {
        Cond::new("attribute_not_exists(#pk) OR #id = :owner")
            .name("#pk", keys::PK)
            .name("#id", keys::ID)
            .value(":owner", items::s(id))
    }

    /// The stored version is `version`.
    pub(super) fn version_is(version: u64) -> Self {
        Cond::new("#v = :expected")
            .name("#v", keys::VERSION)
            .value(":expected", items::n(version))
    }

    /// A group's pending change is the one with request id `req`.
    pub(super) fn pending_is(req: &str) -> Self {
        Cond::new("#pending = :req")
            .name("#pending", keys::PENDING)
            .value(":req", items::s(req))
    }

    fn new(expr: &str) -> Self {
        Cond {
            expr: expr.to_string(),
            ..Cond::default()
        }
    }

    pub(super) fn name(mut self, placeholder: &str, name: &str) -> Self {
        self.names.insert(placeholder.into(), name.into());
        self
    }

    pub(super) fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.into(), value);
        self
    }

    fn and(self, other: &str) -> Self {
        let expr = format!("({}) AND {other}", self.expr);
        Cond { expr, ..self }
    }

    /// And no member change is pending on the item (groups; always true for users).
    pub(super) fn and_not_pending(self) -> Self {
        self.and("attribute_not_exists(#pending)")
            .name("#pending", keys::PENDING)
    }

    /// And the stored version is `version`.
    pub(super) fn and_version_is(self, version: u64) -> Self {
        self.and("#v = :expected")
            .name("#v", keys::VERSION)
            .value(":expected", items::n(version))
    }

    /// Adds "the index keys are still `keys`" (unique name and work emails) to a condition,
    /// so a write that would silently leave a stale guard or email item fails instead and the
    /// caller learns that they change.
    pub(super) fn and_keys_are(self, keys_now: &IndexKeys) -> Self {
        let cond = match keys_now.unique.as_deref() {
            Some(u) => self
                .and("#u = :unique")
                .name("#u", keys::UNIQUE)
                .value(":unique", items::s(u)),
            None => self
                .and("attribute_not_exists(#u)")
                .name("#u", keys::UNIQUE),
        };
        if keys_now.work_emails.is_empty() {
            cond.and("attribute_not_exists(#emails)")
                .name("#emails", keys::WORK_EMAILS)
        } else {
            cond.and("#emails = :emails")
                .name("#emails", keys::WORK_EMAILS)
                .value(
                    ":emails",
                    items::s(items::emails_json(&keys_now.work_emails)),
                )
        }
    }

    /// The expression.
    pub(super) fn expr(&self) -> String {
        self.expr.clone()
    }

    /// The name placeholders.
    pub(super) fn names(&self) -> HashMap<String, String> {
        self.names.clone()
    }

    /// The name placeholders plus one more (for an update expression's own names).
    pub(super) fn names_with(&self, placeholder: &str, name: &str) -> HashMap<String, String> {
        let mut names = self.names.clone();
        names.insert(placeholder.into(), name.into());
        names
    }

    /// The value placeholders, `None` when there are none (DynamoDB refuses an empty map).
    pub(super) fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// A transactional `Put` of `item` under `cond` (none when `cond` is `None`).
pub(super) fn put(table: &str, item: Item, cond: Option<Cond>) -> StoreResult<TransactWriteItem> {
    let mut b = Put::builder().table_name(table).set_item(Some(item));
    if let Some(c) = cond {
        b = b
            .condition_expression(c.expr())
            .set_expression_attribute_values(c.values())
            .set_expression_attribute_names(Some(c.names()));
    }
    Ok(TransactWriteItem::builder()
        .put(b.build().map_err(build_error)?)
        .build())
}

/// A transactional `Delete` of the item at `key` under `cond`.
pub(super) fn delete(table: &str, key: Item, cond: Option<Cond>) -> StoreResult<TransactWriteItem> {
    let mut b = Delete::builder().table_name(table).set_key(Some(key));
    if let Some(c) = cond {
        b = b
            .condition_expression(c.expr())
            .set_expression_attribute_values(c.values())
            .set_expression_attribute_names(Some(c.names()));
    }
    Ok(TransactWriteItem::builder()
        .delete(b.build().map_err(build_error)?)
        .build())
}

/// A transactional `ConditionCheck` on the item at `key`.
pub(super) fn check(table: &str, key: Item, c: Cond) -> StoreResult<TransactWriteItem> {
    let b = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression(c.expr())
        .set_expression_attribute_values(c.values())
        .set_expression_attribute_names(Some(c.names()));
    Ok(TransactWriteItem::builder()
        .condition_check(b.build().map_err(build_error)?)
        .build())
}

/// A transactional `ADD n :delta` on one randomly chosen shard of the kind's counter. It rides
/// in the same transaction as the create or delete it counts, so a create refused by a guard
/// (or a delete that finds nothing) never changes the count. Unconditional: it cannot be the
/// action that cancels a transaction.
pub(super) fn count_change(
    table: &str,
    tenant: &TenantId,
    kind: ResourceKind,
    delta: i64,
) -> StoreResult<TransactWriteItem> {
    // A failing OS random source only concentrates writers on shard 0; the count stays exact.
    let shard = getrandom::u32().unwrap_or(0) % keys::COUNTER_SHARDS;
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(counter_key(tenant, kind, shard)))
        .update_expression("ADD #n :delta")
        .expression_attribute_names("#n", keys::COUNT)
        .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
}
