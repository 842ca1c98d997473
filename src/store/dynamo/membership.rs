//! Member items and how a member change becomes writes that every reader sees all at once.
//!
//! A change that fits one transaction (with the group item's own write, a `ConditionCheck`
//! per added user and a put or delete per member) is one `TransactWriteItems`. A larger one,
//! up to the documented per-request limit, is committed by one write of the group item that
//! records the delta under `pending`; the member items are then written in chunks, each
//! conditional on that `pending` still being there, and `pending` is removed at the end.
//! While `pending` is set, readers of the member list apply the recorded delta to what they
//! read, and writers of the group first finish the pending change (any of them can: every
//! chunk is idempotent and stops once `pending` is gone), so the change is atomic as readers
//! see it and serialised with every other write of the group. `docs/dynamodb.md` ("Member
//! changes") has the whole protocol and what a stream handler can rely on.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, ReturnValue, TransactWriteItem, Update,
    WriteRequest,
};

use super::items::{Item, ItemExt, member_item, member_key, resource_key};
use super::query::KeyQuery;
use super::write::{Cond, check, delete, put};
use super::{DynamoStore, MAX_TRANSACTION_ACTIONS, TxError, backoff, build_error, keys, translate};
use crate::scim::schema::ResourceKind;
use crate::store::limits;
use crate::store::{
    Broken, Call, MemberChange, Members, Record, StoreError, StoreResult, TenantId,
};

/// Most items one `BatchWriteItem` accepts.
const BATCH_WRITE_MAX: usize = 25;
/// Most keys one `BatchGetItem` accepts.
const BATCH_GET_MAX: usize = 100;
/// Rounds of re-sending the unprocessed part of a batch before reporting throttling.
const BATCH_ATTEMPTS: u32 = 8;
/// Rounds of "write; on a failed condition read, finish a pending change or re-plan" of one
/// member change before it reports `Contention`. Member-only changes do not depend on the
/// version, so only a `clear` (which must see the members it removes) or a pending change
/// makes a round fail; a handful always suffices unless writers keep replacing the group.
const MEMBER_ROUNDS: usize = 8;
/// Snapshot reads of a member list (group, members, group again) before giving up.
const SNAPSHOT_ROUNDS: usize = 5;

/// The member delta of one request, as recorded on the group item (`change`, and `pending`
/// while it is applied in chunks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Delta {
    /// The request's id (unique per write), so a chunk can tell its change from a later one.
    pub(super) req: String,
    /// Users added, sorted, without duplicates.
    pub(super) add: Vec<String>,
    /// Users removed (not also added), sorted.
    pub(super) remove: Vec<String>,
    /// Every other member removed first.
    pub(super) clear: bool,
}

impl Delta {
    /// The delta of `change`: ids both removed and added end up members, as if the removals
    /// ran first.
    pub(super) fn of(change: &MemberChange) -> Self {
        let add: BTreeSet<String> = change.add.iter().cloned().collect();
        let remove: BTreeSet<String> = change.remove.iter().cloned().collect();
        Delta {
            req: uuid::Uuid::new_v4().to_string(),
            remove: remove.difference(&add).cloned().collect(),
            add: add.into_iter().collect(),
            clear: change.clear,
        }
    }

    /// The `change` attribute value.
    pub(super) fn value(&self) -> AttributeValue {
        let list = |ids: &[String]| {
            AttributeValue::L(ids.iter().map(|i| AttributeValue::S(i.clone())).collect())
        };
        AttributeValue::M(HashMap::from([
            ("req".to_string(), AttributeValue::S(self.req.clone())),
            ("add".to_string(), list(&self.add)),
            ("remove".to_string(), list(&self.remove)),
            ("clear".to_string(), AttributeValue::Bool(self.clear)),
        ]))
    }

    /// The pending delta of a group item, if a large change is being applied.
    pub(super) fn pending(item: &Item) -> Option<Delta> {
        item.get(keys::PENDING)?;
        let AttributeValue::M(m) = item.get(keys::CHANGE)? else {
            return None;
        };
        let list = |name: &str| -> Vec<String> {
            match m.get(name) {
                Some(AttributeValue::L(l)) => {
                    l.iter().filter_map(|v| v.as_s().ok().cloned()).collect()
                }
                _ => Vec::new(),
            }
        };
        Some(Delta {
            req: m.get("req")?.as_s().ok()?.clone(),
            add: list("add"),
            remove: list("remove"),
            clear: matches!(m.get("clear"), Some(AttributeValue::Bool(true))),
        })
    }

    /// Whether the change names no member and clears nothing.
    pub(super) fn is_empty(&self) -> bool {
        !self.clear && self.add.is_empty() && self.remove.is_empty()
    }

    /// Actions of the change in one transaction, or `None` when they need more than `room`.
    /// A `clear` needs the current member ids (`current`) to delete them.
    fn actions(&self, current: Option<&[String]>, room: usize) -> Option<usize> {
        let cleared = match (self.clear, current) {
            (true, Some(ids)) => ids
                .iter()
                .filter(|i| self.add.binary_search(i).is_err())
                .count(),
            (true, None) => return None,
            (false, _) => 0,
        };
        let n = 2 * self.add.len() + self.remove.len() + cleared;
        (n <= room).then_some(n)
    }
}

/// A group item's version and pending change, read consistently.
struct GroupState {
    version: u64,
    pending: Option<Delta>,
}

impl DynamoStore {
    /// Member puts (each with a `ConditionCheck` that the user exists) and deletes of `delta`,
    /// for one transaction; for each action the user id whose existence it checks, so a failed
    /// check names the missing member. `current` are the members a `clear` deletes.
    pub(super) fn member_actions(
        &self,
        tenant: &TenantId,
        group_id: &str,
        delta: &Delta,
        current: &[String],
    ) -> StoreResult<Vec<(TransactWriteItem, Option<String>)>> {
        let mut out = Vec::new();
        for uid in &delta.add {
            let user = resource_key(tenant, ResourceKind::User, uid);
            out.push((
                check(&self.table, user, Cond::present())?,
                Some(uid.clone()),
            ));
            out.push((
                put(&self.table, member_item(tenant, group_id, uid), None)?,
                None,
            ));
        }
        let cleared = current
            .iter()
            .filter(|i| delta.clear && delta.add.binary_search(i).is_err());
        for uid in delta.remove.iter().chain(cleared) {
            let key = member_key(tenant, group_id, uid);
            out.push((delete(&self.table, key, None)?, None));
        }
        Ok(out)
    }

    /// Plans `delta` into one transaction with `head` (the group's own actions): `Some` with
    /// the version the plan read (a `clear` depends on it) and the actions, or `None` when the
    /// change needs more than one transaction.
    pub(super) async fn plan_small(
        &self,
        tenant: &TenantId,
        group_id: &str,
        delta: &Delta,
        head: usize,
    ) -> StoreResult<Option<(Option<u64>, Vec<(TransactWriteItem, Option<String>)>)>> {
        let room = MAX_TRANSACTION_ACTIONS.saturating_sub(head);
        if delta.clear {
            let Some((state, ids, more)) = self.snapshot(tenant, group_id, room + 1).await? else {
                return Err(StoreError::NotFound);
            };
            if more || state.pending.is_some() || delta.actions(Some(&ids), room).is_none() {
                return Ok(None);
            }
            let actions = self.member_actions(tenant, group_id, delta, &ids)?;
            return Ok(Some((Some(state.version), actions)));
        }
        if delta.actions(None, room).is_none() {
            return Ok(None);
        }
        Ok(Some((
            None,
            self.member_actions(tenant, group_id, delta, &[])?,
        )))
    }

    /// See [`crate::store::Store::update_members`].
    pub(super) async fn change_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        change: &MemberChange,
        expected: Option<u64>,
        modified: &str,
    ) -> StoreResult<Record> {
        limits::check_members(change.add.len(), change)?;
        let delta = Delta::of(change);
        for _ in 0..MEMBER_ROUNDS {
            let planned = self.plan_small(tenant, group_id, &delta, 1).await?;
            let read_version = planned.as_ref().and_then(|(v, _)| *v);
            let cond = group_write_cond(expected.or(read_version));
            let result = match planned {
                Some((_, members)) => {
                    let bump = bump(&self.table, tenant, group_id, &delta, modified, cond, false)?;
                    self.commit_small(bump, members).await
                }
                None => {
                    self.check_users_exist(tenant, &delta.add).await?;
                    match self
                        .bump_pending(tenant, group_id, &delta, modified, cond)
                        .await?
                    {
                        Some(record) => {
                            self.apply_pending(tenant, group_id, &delta).await?;
                            return Ok(record);
                        }
                        None => Err(TxError::Conditions(vec![0])),
                    }
                }
            };
            match result {
                Ok(()) => {
                    return self
                        .get_record(tenant, ResourceKind::Group, group_id)
                        .await?
                        .ok_or(StoreError::NotFound);
                }
                Err(TxError::Store(e)) => return Err(e),
                Err(TxError::Conditions(failed)) if failed.first() == Some(&0) => {
                    let Some(state) = self.group_state(tenant, group_id).await? else {
                        return Err(StoreError::NotFound);
                    };
                    if let Some(pending) = state.pending {
                        self.apply_pending(tenant, group_id, &pending).await?;
                        if pending.req == delta.req {
                            // Our own commit, whose answer was lost and which was sent again.
                            return self
                                .get_record(tenant, ResourceKind::Group, group_id)
                                .await?
                                .ok_or(StoreError::NotFound);
                        }
                    } else if expected.is_some_and(|v| v != state.version) {
                        return Err(StoreError::VersionMismatch {
                            current: state.version,
                        });
                    }
                    // Otherwise a clear read members that changed since: plan again.
                }
                Err(TxError::Conditions(_)) => unreachable_condition()?,
            }
        }
        Err(StoreError::Contention)
    }

    /// Runs the group's write plus its member actions as one transaction; a failed user
    /// check is `MissingMember`. Index 0 (the group's write) failing is left to the caller.
    pub(super) async fn commit_small(
        &self,
        head: TransactWriteItem,
        members: Vec<(TransactWriteItem, Option<String>)>,
    ) -> Result<(), TxError> {
        let mut actions = vec![head];
        let mut checked = vec![None];
        for (a, c) in members {
            actions.push(a);
            checked.push(c);
        }
        match self.transact(actions).await {
            Err(TxError::Conditions(failed)) => {
                let first = failed.first().copied().unwrap_or_default();
                match checked.get(first).cloned().flatten() {
                    Some(id) => Err(TxError::Store(StoreError::MissingMember { id })),
                    None => Err(TxError::Conditions(failed)),
                }
            }
            other => other,
        }
    }

    /// Commits a large member-only change: one `UpdateItem` of the group that bumps the
    /// version and records the delta as pending. `None` when its condition failed.
    async fn bump_pending(
        &self,
        tenant: &TenantId,
        group_id: &str,
        delta: &Delta,
        modified: &str,
        cond: Cond,
    ) -> StoreResult<Option<Record>> {
        let (expr, cond) = bump_expression(delta, modified, cond, true);
        self.calls.record(Call::UpdateItem);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(resource_key(tenant, ResourceKind::Group, group_id)))
            .update_expression(expr)
            .condition_expression(cond.expr())
            .set_expression_attribute_names(Some(cond.names()))
            .set_expression_attribute_values(cond.values())
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                Ok(Some(Record::try_from(&item)?))
            }
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(None),
                _ => Err(translate(e)),
            },
        }
    }

    /// Writes the member items of a committed pending change in chunks, each conditional on
    /// the group's `pending` still naming this change, then removes `pending`. Safe to run by
    /// several writers at once and to repeat: puts and deletes are idempotent, and once
    /// `pending` is gone (finished, or the group deleted) no chunk of it can apply.
    pub(super) async fn apply_pending(
        &self,
        tenant: &TenantId,
        group_id: &str,
        delta: &Delta,
    ) -> StoreResult<()> {
        let current = if delta.clear {
            let (items, _) = self
                .query_items(KeyQuery::members(tenant, group_id, usize::MAX))
                .await?;
            member_ids_of(&items)?
        } else {
            Vec::new()
        };
        // The user checks ran before the commit; chunks only write member items.
        let mut writes = Vec::new();
        for uid in &delta.add {
            writes.push(put(&self.table, member_item(tenant, group_id, uid), None)?);
        }
        let cleared = current
            .iter()
            .filter(|i| delta.clear && delta.add.binary_search(i).is_err());
        for uid in delta.remove.iter().chain(cleared) {
            writes.push(delete(
                &self.table,
                member_key(tenant, group_id, uid),
                None,
            )?);
        }
        let guard = Cond::pending_is(&delta.req);
        for chunk in writes.chunks(MAX_TRANSACTION_ACTIONS - 1) {
            let mut actions = vec![check(
                &self.table,
                resource_key(tenant, ResourceKind::Group, group_id),
                guard.clone(),
            )?];
            actions.extend(chunk.iter().cloned());
            match self.transact(actions).await {
                Ok(()) => {}
                // Finished by another writer, or the group is gone: nothing left to do.
                Err(TxError::Conditions(_)) => return Ok(()),
                Err(TxError::Store(e)) => return Err(e),
            }
        }
        self.calls.record(Call::UpdateItem);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(resource_key(tenant, ResourceKind::Group, group_id)))
            .update_expression("REMOVE #pending, #change")
            .condition_expression(guard.expr())
            .set_expression_attribute_names(Some(guard.names_with("#change", keys::CHANGE)))
            .set_expression_attribute_values(guard.values())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(translate(e)),
            },
        }
    }

    /// The group's version and pending change (one consistent `GetItem`), `None` if absent.
    async fn group_state(
        &self,
        tenant: &TenantId,
        group_id: &str,
    ) -> StoreResult<Option<GroupState>> {
        let Some(item) = self
            .get_item(resource_key(tenant, ResourceKind::Group, group_id))
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(GroupState {
            version: item.number_u64(keys::VERSION)?,
            pending: Delta::pending(&item),
        }))
    }

    /// Checks that every id is an existing user (consistent `BatchGetItem`s of keys only),
    /// before a change too large for per-member `ConditionCheck`s is committed.
    ///
    /// # Errors
    /// `MissingMember` naming the first id that is not a user.
    pub(super) async fn check_users_exist(
        &self,
        tenant: &TenantId,
        ids: &[String],
    ) -> StoreResult<()> {
        let mut found: BTreeSet<String> = BTreeSet::new();
        for batch in ids.chunks(BATCH_GET_MAX) {
            let keys_of: Vec<Item> = batch
                .iter()
                .map(|id| resource_key(tenant, ResourceKind::User, id))
                .collect();
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys_of))
                    .consistent_read(true)
                    .projection_expression("#id")
                    .expression_attribute_names("#id", keys::ID)
                    .build()
                    .map_err(build_error)?,
            );
            let mut attempt = 0;
            while let Some(request) = pending.take() {
                if attempt >= BATCH_ATTEMPTS {
                    return Err(StoreError::Throttled {
                        retry_after_secs: 1,
                    });
                }
                if attempt > 0 {
                    backoff(attempt).await;
                }
                attempt += 1;
                self.calls.record(Call::BatchGetItem);
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(translate)?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    found.insert(item.string(keys::ID)?.to_string());
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys.is_empty());
            }
        }
        match ids.iter().find(|id| !found.contains(*id)) {
            Some(id) => Err(StoreError::MissingMember { id: id.clone() }),
            None => Ok(()),
        }
    }

    /// A consistent view of a group's members: the group item, the member items (up to
    /// `limit`), and the group item again; when the version moved in between, read again.
    /// With a change pending, its delta is applied to what was read. `None` if the group does
    /// not exist. Also says whether there were more than `limit` members.
    async fn snapshot(
        &self,
        tenant: &TenantId,
        group_id: &str,
        limit: usize,
    ) -> StoreResult<Option<(GroupState, Vec<String>, bool)>> {
        for _ in 0..SNAPSHOT_ROUNDS {
            let Some(before) = self.group_state(tenant, group_id).await? else {
                return Ok(None);
            };
            // One more than asked, to tell whether there are more; plus the pending removals,
            // which may take items out of what was read.
            let extra = before.pending.as_ref().map_or(0, |d| d.remove.len());
            let (items, more) = if before.pending.as_ref().is_some_and(|d| d.clear) {
                (Vec::new(), false)
            } else {
                self.query_items(KeyQuery::members(
                    tenant,
                    group_id,
                    limit.saturating_add(1).saturating_add(extra),
                ))
                .await?
            };
            let Some(after) = self.group_state(tenant, group_id).await? else {
                return Ok(None);
            };
            if after.version != before.version {
                continue;
            }
            let mut ids: BTreeSet<String> = member_ids_of(&items)?.into_iter().collect();
            let mut more = more;
            if let Some(d) = &before.pending {
                if d.clear {
                    ids.clear();
                    more = false;
                }
                for r in &d.remove {
                    ids.remove(r);
                }
                ids.extend(d.add.iter().cloned());
            }
            let mut ids: Vec<String> = ids.into_iter().collect();
            if ids.len() > limit {
                ids.truncate(limit);
                more = true;
            }
            return Ok(Some((before, ids, more)));
        }
        Err(StoreError::Contention)
    }

    /// Deletes the membership items of a deleted resource: for a user, those found through the
    /// reverse index; for a group, those in its partition.
    ///
    /// The reverse index is a GSI and so eventually consistent: a membership written in the
    /// last moment before the user's delete may be missed and stay behind, pointing at a user
    /// that no longer exists. Readers tolerate that (a member id whose user is gone).
    pub(super) async fn delete_memberships(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
    ) -> StoreResult<()> {
        let query = match kind {
            ResourceKind::User => KeyQuery::groups_of(tenant, id, usize::MAX),
            ResourceKind::Group => KeyQuery::members(tenant, id, usize::MAX),
        };
        let (items, _) = self.query_items(query).await?;
        let mut keys_to_delete = Vec::with_capacity(items.len());
        for item in &items {
            keys_to_delete.push(HashMap::from([
                (
                    keys::PK.to_string(),
                    super::items::s(item.string(keys::PK)?),
                ),
                (
                    keys::SK.to_string(),
                    super::items::s(item.string(keys::SK)?),
                ),
            ]));
        }
        self.batch_delete(keys_to_delete).await
    }

    /// Deletes items by key with `BatchWriteItem`, 25 at a time, re-sending unprocessed items
    /// with backoff.
    async fn batch_delete(&self, all: Vec<Item>) -> StoreResult<()> {
        for batch in all.chunks(BATCH_WRITE_MAX) {
            let mut requests = Vec::with_capacity(batch.len());
            for key in batch {
                let del = DeleteRequest::builder()
                    .set_key(Some(key.clone()))
                    .build()
                    .map_err(build_error)?;
                requests.push(WriteRequest::builder().delete_request(del).build());
            }
            let mut attempt = 0;
            while !requests.is_empty() {
                if attempt >= BATCH_ATTEMPTS {
                    return Err(StoreError::Throttled {
                        retry_after_secs: 1,
                    });
                }
                if attempt > 0 {
                    backoff(attempt).await;
                }
                attempt += 1;
                self.calls.record(Call::BatchWriteItem);
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(translate)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }

    /// See [`crate::store::Store::members`]: a consistent snapshot (group, member items, group),
    /// with a pending change applied.
    pub(super) async fn member_ids(
        &self,
        tenant: &TenantId,
        group_id: &str,
        limit: usize,
    ) -> StoreResult<Members> {
        Ok(match self.snapshot(tenant, group_id, limit).await? {
            Some((_, ids, truncated)) => Members { ids, truncated },
            None => Members {
                ids: Vec::new(),
                truncated: false,
            },
        })
    }

    /// See [`crate::store::Store::groups_of`]: one `Query` of the reverse index.
    pub(super) async fn group_ids(
        &self,
        tenant: &TenantId,
        user_id: &str,
        limit: usize,
    ) -> StoreResult<Members> {
        let cap = limit.saturating_add(1);
        let (items, _) = self
            .query_items(KeyQuery::groups_of(tenant, user_id, cap))
            .await?;
        let mut ids = Vec::with_capacity(items.len());
        for item in &items {
            ids.push(item.string(keys::GSI1SK)?.to_string());
        }
        Ok(capped(ids, limit))
    }
}

/// The user ids of member items.
fn member_ids_of(items: &[Item]) -> StoreResult<Vec<String>> {
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        if let Some(uid) = item.string(keys::SK)?.strip_prefix(keys::MEMBER_PREFIX) {
            ids.push(uid.to_string());
        }
    }
    Ok(ids)
}

/// The condition of every write of a group item that changes members: the group exists, no
/// change is pending, and (when given) the version is the expected one.
pub(super) fn group_write_cond(expected: Option<u64>) -> Cond {
    let cond = Cond::present().and_not_pending();
    match expected {
        Some(v) => cond.and_version_is(v),
        None => cond,
    }
}

/// The update expression of a member-only change: version plus one, `modified`, the delta,
/// and (large changes) `pending`.
fn bump_expression(delta: &Delta, modified: &str, cond: Cond, pending: bool) -> (String, Cond) {
    let mut expr = "SET #v = #v + :one, #modified = :modified, #change = :change".to_string();
    let mut cond = cond
        .name("#v", keys::VERSION)
        .name("#modified", keys::MODIFIED)
        .name("#change", keys::CHANGE)
        .value(":one", AttributeValue::N("1".into()))
        .value(":modified", AttributeValue::S(modified.to_string()))
        .value(":change", delta.value());
    if pending {
        expr.push_str(", #pending = :req");
        cond = cond.value(":req", AttributeValue::S(delta.req.clone()));
    }
    (expr, cond)
}

/// The transactional `Update` of a member-only change.
fn bump(
    table: &str,
    tenant: &TenantId,
    group_id: &str,
    delta: &Delta,
    modified: &str,
    cond: Cond,
    pending: bool,
) -> StoreResult<TransactWriteItem> {
    let (expr, cond) = bump_expression(delta, modified, cond, pending);
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(resource_key(tenant, ResourceKind::Group, group_id)))
        .update_expression(expr)
        .condition_expression(cond.expr())
        .set_expression_attribute_names(Some(cond.names()))
        .set_expression_attribute_values(cond.values())
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// A condition failed on an action that has none to fail: a bug.
fn unreachable_condition<T>() -> StoreResult<T> {
    Err(Broken::UnexpectedCondition("member").into())
}

/// The first `limit` ids, and whether there were more.
fn capped(mut ids: Vec<String>, limit: usize) -> Members {
    let truncated = ids.len() > limit;
    ids.truncate(limit);
    Members { ids, truncated }
}
