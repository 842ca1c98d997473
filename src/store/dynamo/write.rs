//! Creating, reading, updating and deleting one resource, with its unique guard and (groups)
//! its member items, in as few transactions as DynamoDB allows.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};

use super::items::{self, Item, counter_key, guard_item, guard_key, resource_item, resource_key};
use super::membership::Planned;
use super::{DynamoStore, TxError, build_error, keys, translate};
use crate::scim::schema::ResourceKind;
use crate::store::{Call, Deleted, MemberChange, Record, StoreError, StoreResult, TenantId};

/// Rounds of "write, and on a failed condition read and decide" before giving up: a rename is
/// discovered in the first failure, so two rounds always suffice unless writers race.
const WRITE_ROUNDS: usize = 3;

/// A condition expression with its placeholders. Every attribute name goes through a `#name`
/// placeholder so none can collide with DynamoDB's reserved words.
#[derive(Default)]
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
    fn free_or_owned_by(id: &str) -> Self {
        Cond::new("attribute_not_exists(#pk) OR #id = :owner")
            .name("#pk", keys::PK)
            .name("#id", keys::ID)
            .value(":owner", items::s(id))
    }

    /// The stored version is `version`.
    fn version_is(version: u64) -> Self {
        Cond::new("#v = :expected")
            .name("#v", keys::VERSION)
            .value(":expected", items::n(version))
    }

    fn new(expr: &str) -> Self {
        Cond {
            expr: expr.to_string(),
            ..Cond::default()
        }
    }

    fn name(mut self, placeholder: &str, name: &str) -> Self {
        self.names.insert(placeholder.into(), name.into());
        self
    }

    fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.into(), value);
        self
    }

    /// Adds "the unique name is still `unique`" to a condition, so a write that would silently
    /// leave a stale guard fails instead and the caller learns that the name changes.
    fn and_unique_is(self, unique: Option<&str>) -> Self {
        match unique {
            Some(u) => {
                let expr = format!("({}) AND #u = :unique", self.expr);
                Cond { expr, ..self }
                    .name("#u", keys::UNIQUE)
                    .value(":unique", items::s(u))
            }
            None => {
                let expr = format!("({}) AND attribute_not_exists(#u)", self.expr);
                Cond { expr, ..self }.name("#u", keys::UNIQUE)
            }
        }
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// A transactional `Put` of `item` under `cond` (none when `cond` is `None`).
pub(super) fn put(table: &str, item: Item, cond: Option<Cond>) -> StoreResult<TransactWriteItem> {
    let mut b = Put::builder().table_name(table).set_item(Some(item));
    if let Some(c) = cond {
        b = b
            .condition_expression(&c.expr)
            .set_expression_attribute_values(c.values())
            .set_expression_attribute_names(Some(c.names));
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
            .condition_expression(&c.expr)
            .set_expression_attribute_values(c.values())
            .set_expression_attribute_names(Some(c.names));
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
        .condition_expression(&c.expr)
        .set_expression_attribute_values(c.values())
        .set_expression_attribute_names(Some(c.names));
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

/// What the first actions of a resource transaction are, so a failed index can be named.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Head {
    /// The resource put or delete.
    Resource,
    /// The guard being claimed.
    NewGuard,
    /// The guard being released.
    OldGuard,
}

impl DynamoStore {
    /// See [`crate::store::Store::create`].
    pub(super) async fn create_resource(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: &Record,
        members: &[String],
    ) -> StoreResult<()> {
        let mut head = vec![put(
            &self.table,
            resource_item(tenant, kind, record)?,
            Some(Cond::absent()),
        )?];
        let mut heads = vec![Head::Resource];
        if let Some(u) = &record.keys.unique {
            head.push(put(
                &self.table,
                guard_item(tenant, kind, u, &record.id),
                Some(Cond::absent()),
            )?);
            heads.push(Head::NewGuard);
        }
        // After the named heads: an index past `heads` is never a head failure, and this
        // action has no condition to fail.
        head.push(count_change(&self.table, tenant, kind, 1)?);
        let planned = match kind {
            ResourceKind::Group => Planned::adds(members.to_vec()),
            ResourceKind::User => Planned::default(),
        };
        self.write_with_members(tenant, kind, &record.id, head, &heads, &planned)
            .await
            .map_err(|e| match e {
                HeadFailure::At(Head::NewGuard) => uniqueness(kind),
                HeadFailure::At(_) => StoreError::Internal("resource id already exists".into()),
                HeadFailure::Store(e) => e,
            })
    }

    /// One strongly consistent `GetItem` of a resource.
    pub(super) async fn get_record(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
    ) -> StoreResult<Option<Record>> {
        self.get_item(resource_key(tenant, kind, id))
            .await?
            .map(|item| Record::try_from(&item).map_err(StoreError::from))
            .transpose()
    }

    /// One strongly consistent `GetItem`.
    pub(super) async fn get_item(&self, key: Item) -> StoreResult<Option<Item>> {
        self.calls.record(Call::GetItem);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(translate)?;
        Ok(out.item)
    }

    /// See [`crate::store::Store::update`]. Optimistic: the first write assumes the unique name
    /// is unchanged (its condition checks that), so the common update is one `PutItem`; only
    /// when that condition fails is the item read to tell a stale version from a rename.
    pub(super) async fn update_resource(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: &Record,
        expected: u64,
        members: &MemberChange,
    ) -> StoreResult<()> {
        let planned = match kind {
            ResourceKind::Group => self.plan_members(tenant, &record.id, members).await?,
            ResourceKind::User => Planned::default(),
        };
        let new_unique = record.keys.unique.as_deref();
        // `Some(old)` once a read has shown the stored unique name differs from the new one.
        let mut renamed_from: Option<Option<String>> = None;
        for _ in 0..WRITE_ROUNDS {
            let item = resource_item(tenant, kind, record)?;
            let result = match &renamed_from {
                None if planned.is_empty() => {
                    let cond = Cond::version_is(expected).and_unique_is(new_unique);
                    self.put_item(item, cond).await
                }
                _ => {
                    let mut cond = Cond::version_is(expected);
                    if renamed_from.is_none() {
                        cond = cond.and_unique_is(new_unique);
                    }
                    let mut head = vec![put(&self.table, item, Some(cond))?];
                    let mut heads = vec![Head::Resource];
                    if let Some(old) = &renamed_from {
                        if let Some(old) = old {
                            let c = Cond::free_or_owned_by(&record.id);
                            head.push(delete(&self.table, guard_key(tenant, kind, old), Some(c))?);
                            heads.push(Head::OldGuard);
                        }
                        if let Some(new) = new_unique {
                            let guard = guard_item(tenant, kind, new, &record.id);
                            let c = Cond::free_or_owned_by(&record.id);
                            head.push(put(&self.table, guard, Some(c))?);
                            heads.push(Head::NewGuard);
                        }
                    }
                    self.write_with_members(tenant, kind, &record.id, head, &heads, &planned)
                        .await
                }
            };
            match result {
                Ok(()) => return Ok(()),
                Err(HeadFailure::Store(e)) => return Err(e),
                Err(HeadFailure::At(Head::NewGuard)) => return Err(uniqueness(kind)),
                Err(HeadFailure::At(Head::OldGuard)) => {
                    return Err(StoreError::Internal(
                        "unique guard owned by another id".into(),
                    ));
                }
                Err(HeadFailure::At(Head::Resource)) => {
                    let Some(current) = self.get_record(tenant, kind, &record.id).await? else {
                        return Err(StoreError::NotFound);
                    };
                    if current.version != expected {
                        return Err(StoreError::VersionMismatch {
                            current: current.version,
                        });
                    }
                    if current.keys.unique.as_deref() != new_unique {
                        renamed_from = Some(current.keys.unique);
                    }
                }
            }
        }
        Err(StoreError::Unavailable(
            "too many concurrent writers".into(),
        ))
    }

    /// One conditional `PutItem`.
    async fn put_item(&self, item: Item, cond: Cond) -> Result<(), HeadFailure> {
        self.calls.record(Call::PutItem);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(&cond.expr)
            .set_expression_attribute_values(cond.values())
            .set_expression_attribute_names(Some(cond.names))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => {
                    Err(HeadFailure::At(Head::Resource))
                }
                _ => Err(HeadFailure::Store(translate(e))),
            },
        }
    }

    /// Runs `head` (resource and guard actions) plus the planned member actions, chunked to the
    /// transaction limit with `head` in the first chunk. Each chunk is atomic; a change needing
    /// more than one chunk is applied in several transactions. Every member action is idempotent
    /// (put or delete of a fixed key), so a client retrying after a failure converges.
    async fn write_with_members(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        group_id: &str,
        head: Vec<TransactWriteItem>,
        heads: &[Head],
        planned: &Planned,
    ) -> Result<(), HeadFailure> {
        let chunks = self.member_chunks(tenant, group_id, head, planned)?;
        for (i, chunk) in chunks.into_iter().enumerate() {
            match self.transact(chunk.actions).await {
                Ok(()) => {}
                Err(TxError::Store(e)) => return Err(HeadFailure::Store(e)),
                Err(TxError::Conditions(failed)) => {
                    let first = failed.first().copied().unwrap_or_default();
                    if i == 0 && first < heads.len() {
                        return Err(HeadFailure::At(heads[first]));
                    }
                    let id = chunk.checked.get(first).cloned().flatten();
                    return Err(HeadFailure::Store(match id {
                        Some(id) => StoreError::MissingMember { id },
                        None => StoreError::Internal(
                            format!("unexpected condition failure in a {} write", kind.name())
                                .into(),
                        ),
                    }));
                }
            }
        }
        Ok(())
    }

    /// See [`crate::store::Store::delete`]: the resource and its guard in one transaction
    /// (conditional on the version just read, or the expected one), then its memberships.
    pub(super) async fn delete_resource(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        expected: Option<u64>,
    ) -> StoreResult<Deleted> {
        for _ in 0..WRITE_ROUNDS {
            let Some(current) = self.get_record(tenant, kind, id).await? else {
                // An earlier attempt may have deleted the resource and then failed while
                // deleting its memberships (which happen after the transaction); the client
                // retries and lands here. Sweeping again (one Query; nothing to delete in the
                // usual case) makes the retry finish the cascade instead of leaving the
                // deleted user listed as a member. Found by tests/faults.
                self.delete_memberships(tenant, kind, id).await?;
                return Ok(Deleted::NotFound);
            };
            if let Some(v) = expected {
                if v != current.version {
                    return Err(StoreError::VersionMismatch {
                        current: current.version,
                    });
                }
            }
            let key = resource_key(tenant, kind, id);
            let mut actions = vec![delete(
                &self.table,
                key,
                Some(Cond::version_is(current.version)),
            )?];
            if let Some(u) = &current.keys.unique {
                let c = Cond::free_or_owned_by(id);
                actions.push(delete(&self.table, guard_key(tenant, kind, u), Some(c))?);
            }
            actions.push(count_change(&self.table, tenant, kind, -1)?);
            match self.transact(actions).await {
                Ok(()) => {
                    self.delete_memberships(tenant, kind, id).await?;
                    return Ok(Deleted::Deleted);
                }
                // The resource changed between the read and the delete: read again.
                Err(TxError::Conditions(failed)) if failed == [0] => continue,
                Err(TxError::Conditions(_)) => {
                    return Err(StoreError::Internal(
                        "unique guard owned by another id".into(),
                    ));
                }
                Err(TxError::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::Unavailable(
            "too many concurrent writers".into(),
        ))
    }
}

/// The unique-name conflict of `kind`.
fn uniqueness(kind: ResourceKind) -> StoreError {
    StoreError::Uniqueness {
        attribute: kind.unique_attribute(),
    }
}

/// How a resource write failed: on one of its head actions, or otherwise.
enum HeadFailure {
    At(Head),
    Store(StoreError),
}

impl From<StoreError> for HeadFailure {
    fn from(e: StoreError) -> Self {
        HeadFailure::Store(e)
    }
}
