//! Creating, reading, updating and deleting one resource, with its unique guard and (groups)
//! its member items, in as few transactions as DynamoDB allows.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::actions::{Cond, count_change, delete, put};
use super::items::{
    self, Item, email_item, email_key, guard_item, guard_key, resource_item, resource_key,
};
use super::pending::{self, Delta};
use super::{DynamoStore, TxError, keys, translate};
use crate::change::ChangeKind;
use crate::scim::schema::ResourceKind;
use crate::store::{
    Broken, Call, Deleted, IndexKeys, MemberChange, Record, StoreError, StoreResult, TenantId,
};

/// Rounds of "write, and on a failed condition read and decide" before reporting
/// `Contention`: a rename is discovered in the first failure and a pending member change is
/// finished in one, so a few rounds always suffice unless writers keep racing.
const WRITE_ROUNDS: usize = 4;

/// What an action of a resource transaction is, so a failed condition can be named.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    /// The resource put or delete.
    Resource,
    /// The guard being claimed.
    NewGuard,
    /// The guard being released.
    OldGuard,
    /// The `ConditionCheck` that this user exists (a member addition).
    Member(String),
    /// An action without a condition.
    Plain,
}

/// A resource transaction being built: actions with their roles.
#[derive(Default)]
struct Tx {
    actions: Vec<TransactWriteItem>,
    roles: Vec<Role>,
}

impl Tx {
    fn push(&mut self, action: TransactWriteItem, role: Role) {
        self.actions.push(action);
        self.roles.push(role);
    }

    fn members(&mut self, members: Vec<(TransactWriteItem, Option<String>)>) {
        for (action, checked) in members {
            self.push(action, checked.map_or(Role::Plain, Role::Member));
        }
    }
}

impl DynamoStore {
    /// The guard and email-item actions that move a resource's index keys from `old` (`None`:
    /// a new resource) to `new`.
    fn key_actions(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        old: Option<&IndexKeys>,
        new: &IndexKeys,
        tx: &mut Tx,
    ) -> StoreResult<()> {
        let old_unique = old.and_then(|k| k.unique.as_deref());
        if old_unique != new.unique.as_deref() || old.is_none() {
            if let Some(u) = old_unique {
                let c = Cond::free_or_owned_by(id);
                tx.push(
                    delete(&self.table, guard_key(tenant, kind, u), Some(c))?,
                    Role::OldGuard,
                );
            }
            if let Some(u) = new.unique.as_deref() {
                let c = match old {
                    None => Cond::absent(),
                    Some(_) => Cond::free_or_owned_by(id),
                };
                tx.push(
                    put(&self.table, guard_item(tenant, kind, u, id), Some(c))?,
                    Role::NewGuard,
                );
            }
        }
        // The first work email is indexed on the user item itself; the others have items.
        let extra = |k: Option<&IndexKeys>| -> BTreeSet<String> {
            k.map(|k| k.work_emails.iter().skip(1).cloned().collect())
                .unwrap_or_default()
        };
        let (before, after) = (extra(old), extra(Some(new)));
        for e in before.difference(&after) {
            tx.push(
                delete(&self.table, email_key(tenant, e, id), None)?,
                Role::Plain,
            );
        }
        for e in after.difference(&before) {
            tx.push(
                put(&self.table, email_item(tenant, e, id), None)?,
                Role::Plain,
            );
        }
        Ok(())
    }

    /// See [`crate::store::Store::create`]: the resource, its guard, its email items, the
    /// counter and (groups) its members in one transaction, or, past one transaction's room,
    /// with the members recorded as a pending change applied right after.
    pub(super) async fn create_resource(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: &Record,
        members: &[String],
    ) -> StoreResult<()> {
        let mut item = resource_item(tenant, kind, record)?;
        let wid = uuid::Uuid::new_v4().to_string();
        item.insert(keys::WRITE_ID.into(), items::s(&wid));
        let mut tx = Tx::default();
        tx.push(
            put(&self.table, item.clone(), Some(Cond::absent()))?,
            Role::Resource,
        );
        self.key_actions(tenant, kind, &record.id, None, &record.keys, &mut tx)?;
        tx.push(count_change(&self.table, tenant, kind, 1)?, Role::Plain);
        let delta = Delta::of(&MemberChange {
            add: members.to_vec(),
            ..MemberChange::default()
        });
        let mut large = false;
        if kind.has_members() && !delta.is_empty() {
            item.insert(keys::CHANGE.into(), delta.value(ChangeKind::Created));
            match self.plan_small(tenant, &record.id, &delta, tx.actions.len())? {
                Some(actions) => tx.members(actions),
                None => {
                    self.check_users_exist(tenant, &delta.add).await?;
                    item.insert(keys::PENDING.into(), items::s(&delta.req));
                    large = true;
                }
            }
            tx.actions[0] = put(&self.table, item, Some(Cond::absent()))?;
        }
        match self.transact(tx.actions).await {
            Ok(()) => {}
            Err(TxError::Store(e)) => return Err(e),
            Err(TxError::Conditions(failed)) => {
                let role = failed.first().and_then(|i| tx.roles.get(*i)).cloned();
                match role {
                    Some(Role::Resource) => {
                        // The id was issued for this request: if the item carries this call's
                        // write id, the write is ours and an earlier attempt's answer was lost.
                        let mine = self
                            .get_item(resource_key(tenant, kind, &record.id))
                            .await?
                            .is_some_and(|item| written_by(&item, &wid));
                        if !mine {
                            return Err(Broken::DuplicateId(record.id.clone()).into());
                        }
                    }
                    Some(Role::NewGuard) => return Err(uniqueness(kind)),
                    Some(Role::Member(id)) => return Err(StoreError::MissingMember { id }),
                    _ => return Err(Broken::UnexpectedCondition(kind.name()).into()),
                }
            }
        }
        if large {
            self.apply_pending(tenant, &record.id, &delta).await?;
        }
        Ok(())
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

    /// See [`crate::store::Store::update`]. Optimistic: the first write assumes the index keys
    /// are unchanged (its condition checks that), so the common update is one `PutItem`; only
    /// when that condition fails is the item read to tell a stale version from a rename, a
    /// pending member change (finished first) or the store's own earlier write.
    pub(super) async fn update_resource(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: &Record,
        expected: u64,
        members: &MemberChange,
        write: ChangeKind,
    ) -> StoreResult<()> {
        let changes_members = kind.has_members() && !members.is_empty();
        // `Some(keys)` once a read has shown the stored index keys.
        let mut stored_keys: Option<IndexKeys> = None;
        let wid = uuid::Uuid::new_v4().to_string();
        for _ in 0..WRITE_ROUNDS {
            let mut item = resource_item(tenant, kind, record)?;
            item.insert(keys::WRITE_ID.into(), items::s(&wid));
            let old = stored_keys.as_ref().unwrap_or(&record.keys);
            let cond = Cond::version_is(expected)
                .and_not_pending()
                .and_keys_are(old);
            let mut tx = Tx::default();
            tx.push(put(&self.table, item.clone(), None)?, Role::Resource);
            if stored_keys.is_some() {
                self.key_actions(tenant, kind, &record.id, Some(old), &record.keys, &mut tx)?;
            }
            // The change map names the write (PUT or PATCH) and, for a group, the members it
            // adds and removes, for the stream to report.
            let mut large = None;
            let mut change = pending::write_only(write);
            if changes_members {
                // Only real additions and removals are recorded: the version condition of the
                // write makes the membership read here the one it commits against (a member
                // change in between moves the version). Read again each round, since a round
                // fails on a pending change whose finishing moves members.
                let requested = self
                    .real_delta(tenant, &record.id, Delta::of(members))
                    .await?;
                // A replace-all becomes the ids it adds and removes, read at `expected`.
                let (read, delta) = self.resolve(tenant, &record.id, &requested).await?;
                if let Some(current) = read.filter(|v| *v != expected) {
                    return Err(StoreError::VersionMismatch { current });
                }
                change = delta.value(write);
                if !delta.is_empty() {
                    match self.plan_small(tenant, &record.id, &delta, tx.actions.len())? {
                        Some(actions) => tx.members(actions),
                        None => {
                            self.check_users_exist(tenant, &delta.add).await?;
                            item.insert(keys::PENDING.into(), items::s(&delta.req));
                            large = Some(delta);
                        }
                    }
                }
            }
            item.insert(keys::CHANGE.into(), change);
            let result = if tx.actions.len() == 1 {
                self.put_item(item, cond).await
            } else {
                tx.actions[0] = put(&self.table, item, Some(cond))?;
                match self.transact(tx.actions).await {
                    Ok(()) => Ok(()),
                    Err(TxError::Store(e)) => Err(e),
                    Err(TxError::Conditions(failed)) => {
                        let role = failed.first().and_then(|i| tx.roles.get(*i)).cloned();
                        match role {
                            Some(Role::Resource) => {
                                Err(StoreError::VersionMismatch { current: expected })
                            }
                            Some(Role::NewGuard) => return Err(uniqueness(kind)),
                            Some(Role::OldGuard) => {
                                return Err(Broken::GuardOwnedByOther(record.id.clone()).into());
                            }
                            Some(Role::Member(id)) => {
                                return Err(StoreError::MissingMember { id });
                            }
                            _ => return Err(Broken::UnexpectedCondition(kind.name()).into()),
                        }
                    }
                }
            };
            match result {
                Ok(()) => {
                    if let Some(delta) = &large {
                        self.apply_pending(tenant, &record.id, delta).await?;
                    }
                    return Ok(());
                }
                // The resource's own condition failed: read it and decide.
                Err(StoreError::VersionMismatch { .. }) => {}
                Err(e) => return Err(e),
            }
            let Some(raw) = self
                .get_item(resource_key(tenant, kind, &record.id))
                .await?
            else {
                return Err(StoreError::NotFound);
            };
            if written_by(&raw, &wid) {
                // This call's own write, whose answer was lost and which was sent again.
                if let Some(delta) = &large {
                    self.apply_pending(tenant, &record.id, delta).await?;
                }
                return Ok(());
            }
            if let Some(pending) = Delta::pending(&raw) {
                self.apply_pending(tenant, &record.id, &pending).await?;
                continue;
            }
            let current = Record::try_from(&raw)?;
            if current.version != expected {
                return Err(StoreError::VersionMismatch {
                    current: current.version,
                });
            }
            stored_keys = Some(current.keys);
        }
        Err(StoreError::Contention)
    }

    /// One conditional `PutItem`; a failed condition is reported as `VersionMismatch` for the
    /// caller to read and decide.
    async fn put_item(&self, item: Item, cond: Cond) -> StoreResult<()> {
        self.calls.record(Call::PutItem);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(cond.expr())
            .set_expression_attribute_values(cond.values())
            .set_expression_attribute_names(Some(cond.names()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => {
                    Err(StoreError::VersionMismatch { current: 0 })
                }
                _ => Err(translate(e)),
            },
        }
    }

    /// See [`crate::store::Store::delete`]: the resource, its guard and email items in one
    /// transaction (conditional on the index keys just read, and the expected version when
    /// given, never on a version a concurrent member change may have moved), then its
    /// memberships. A pending member change needs no finishing: once the group item is gone
    /// none of its chunks can apply, and the sweep removes what they wrote.
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
            let mut cond = Cond::present().and_keys_are(&current.keys);
            if let Some(v) = expected {
                cond = cond.and_version_is(v);
            }
            let mut tx = Tx::default();
            tx.push(
                delete(&self.table, resource_key(tenant, kind, id), Some(cond))?,
                Role::Resource,
            );
            if let Some(u) = &current.keys.unique {
                let c = Cond::free_or_owned_by(id);
                tx.push(
                    delete(&self.table, guard_key(tenant, kind, u), Some(c))?,
                    Role::OldGuard,
                );
            }
            for e in current.keys.work_emails.iter().skip(1) {
                tx.push(
                    delete(&self.table, email_key(tenant, e, id), None)?,
                    Role::Plain,
                );
            }
            tx.push(count_change(&self.table, tenant, kind, -1)?, Role::Plain);
            match self.transact(tx.actions).await {
                Ok(()) => {
                    self.delete_memberships(tenant, kind, id).await?;
                    return Ok(Deleted::Deleted);
                }
                // The resource changed between the read and the delete: read again.
                Err(TxError::Conditions(failed)) if failed == [0] => continue,
                Err(TxError::Conditions(_)) => {
                    return Err(Broken::GuardOwnedByOther(id.to_string()).into());
                }
                Err(TxError::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::Contention)
    }
}

/// Whether `item` was put by the write with id `wid`.
fn written_by(item: &Item, wid: &str) -> bool {
    matches!(item.get(keys::WRITE_ID), Some(AttributeValue::S(w)) if w == wid)
}

/// The unique-name conflict of `kind`.
fn uniqueness(kind: ResourceKind) -> StoreError {
    StoreError::Uniqueness {
        attribute: kind.unique_attribute(),
    }
}
