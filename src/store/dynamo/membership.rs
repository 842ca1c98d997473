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

use aws_sdk_dynamodb::types::{DeleteRequest, TransactWriteItem, WriteRequest};

use super::actions::{Cond, check, delete, put};
use super::items::{Item, ItemExt, member_item, member_key, resource_key};
use super::pending::{Delta, GroupState, bump, group_write_cond};
use super::query::KeyQuery;
use super::{DynamoStore, MAX_TRANSACTION_ACTIONS, TxError, backoff, build_error, keys, translate};
use crate::change::ChangeKind;
use crate::scim::discovery::MAX_MEMBERS_PER_REQUEST;
use crate::scim::schema::{Relation, ResourceKind};
use crate::store::limits;
use crate::store::{
    Broken, Call, MemberChange, Members, Record, StoreError, StoreResult, TenantId,
};

/// Most items one `BatchWriteItem` accepts.
const BATCH_WRITE_MAX: usize = 25;
/// Rounds of re-sending the unprocessed part of a batch before reporting throttling.
pub(super) const BATCH_ATTEMPTS: u32 = 8;
/// Rounds of "write; on a failed condition read, finish a pending change or re-plan" of one
/// member change before it reports `Contention`. Member-only changes do not depend on the
/// version, so only a `clear` (which must see the members it removes) or a pending change
/// makes a round fail; a handful always suffices unless writers keep replacing the group.
const MEMBER_ROUNDS: usize = 8;
/// Snapshot reads of a member list (group, members, group again) before giving up.
const SNAPSHOT_ROUNDS: usize = 5;

impl DynamoStore {
    /// Member puts (each with a `ConditionCheck` that the user exists) and deletes of `delta`
    /// (explicit: a `clear` is resolved first), for one transaction; for each action the user
    /// id whose existence it checks, so a failed check names the missing member.
    pub(super) fn member_actions(
        &self,
        tenant: &TenantId,
        group_id: &str,
        delta: &Delta,
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
        for uid in &delta.remove {
            let key = member_key(tenant, group_id, uid);
            out.push((delete(&self.table, key, None)?, None));
        }
        Ok(out)
    }

    /// Plans an explicit `delta` into one transaction with `head` (the group's own actions):
    /// the actions, or `None` when the change needs more than one transaction.
    pub(super) fn plan_small(
        &self,
        tenant: &TenantId,
        group_id: &str,
        delta: &Delta,
        head: usize,
    ) -> StoreResult<Option<Vec<(TransactWriteItem, Option<String>)>>> {
        let room = MAX_TRANSACTION_ACTIONS.saturating_sub(head);
        if !delta.fits(room) {
            return Ok(None);
        }
        self.member_actions(tenant, group_id, delta).map(Some)
    }

    /// A replace-all (`clear`) as the member ids it adds and removes, from a consistent
    /// snapshot of the group: the version read and the explicit delta (same request id), for a
    /// write conditional on that version, so no member change slips in between and the
    /// committed change names every id it removed. Any other delta comes back as it is, with
    /// no version. A pending change is finished first.
    ///
    /// # Errors
    /// `NotFound`; `TooLarge(Members)` when the ids listed plus the members removed are more
    /// than one request may change ([`limits::check_replace`]); `Contention`.
    pub(super) async fn resolve(
        &self,
        tenant: &TenantId,
        group_id: &str,
        delta: &Delta,
    ) -> StoreResult<(Option<u64>, Delta)> {
        if !delta.clear {
            return Ok((None, delta.clone()));
        }
        for _ in 0..SNAPSHOT_ROUNDS {
            let Some((state, ids, more)) = self
                .snapshot(tenant, group_id, MAX_MEMBERS_PER_REQUEST)
                .await?
            else {
                return Err(StoreError::NotFound);
            };
            if let Some(pending) = state.pending {
                self.apply_pending(tenant, group_id, &pending).await?;
                continue;
            }
            let remove: Vec<String> = ids
                .iter()
                .filter(|i| delta.add.binary_search(i).is_err())
                .cloned()
                .collect();
            // Past the snapshot's cap there are more members to remove than one request may.
            let removed = if more {
                remove.len().max(MAX_MEMBERS_PER_REQUEST + 1)
            } else {
                remove.len()
            };
            limits::check_replace(delta.add.len(), removed)?;
            let add = delta
                .add
                .iter()
                .filter(|i| ids.binary_search(i).is_err())
                .cloned()
                .collect();
            let explicit = Delta {
                req: delta.req.clone(),
                add,
                remove,
                clear: false,
            };
            return Ok((Some(state.version), explicit));
        }
        Err(StoreError::Contention)
    }

    /// `delta` without the ids it adds that are already members and those it removes that
    /// are not (one consistent `BatchGetItem` of the named member items per 100 ids), so the
    /// change a write records lists only real additions and removals. A `clear` comes back as
    /// it is: [`DynamoStore::resolve`] makes it explicit from a snapshot.
    pub(super) async fn real_delta(
        &self,
        tenant: &TenantId,
        group_id: &str,
        delta: Delta,
    ) -> StoreResult<Delta> {
        if delta.clear || (delta.add.is_empty() && delta.remove.is_empty()) {
            return Ok(delta);
        }
        let named: Vec<String> = delta.add.iter().chain(&delta.remove).cloned().collect();
        let present = self.present_members(tenant, group_id, &named).await?;
        Ok(Delta {
            add: delta
                .add
                .into_iter()
                .filter(|id| !present.contains(id))
                .collect(),
            remove: delta
                .remove
                .into_iter()
                .filter(|id| present.contains(id))
                .collect(),
            ..delta
        })
    }

    /// See [`crate::store::Store::update_members`].
    pub(super) async fn change_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        change: &MemberChange,
        expected: Option<u64>,
        modified: &str,
        write: ChangeKind,
    ) -> StoreResult<Record> {
        limits::check_members(change.add.len(), change)?;
        // Adding a current member or removing a non-member changes nothing: such a request
        // writes nothing and keeps the version (and so yields no change in the feed).
        let requested = self.real_delta(tenant, group_id, Delta::of(change)).await?;
        if requested.is_empty() {
            return self
                .get_record(tenant, ResourceKind::Group, group_id)
                .await?
                .ok_or(StoreError::NotFound);
        }
        for _ in 0..MEMBER_ROUNDS {
            let (read_version, delta) = self.resolve(tenant, group_id, &requested).await?;
            if let (Some(want), Some(read)) = (expected, read_version) {
                if want != read {
                    return Err(StoreError::VersionMismatch { current: read });
                }
            }
            if delta.is_empty() {
                // A replace-all that lists exactly the current members changes nothing.
                return self
                    .get_record(tenant, ResourceKind::Group, group_id)
                    .await?
                    .ok_or(StoreError::NotFound);
            }
            let cond = group_write_cond(expected.or(read_version));
            let result = match self.plan_small(tenant, group_id, &delta, 1)? {
                Some(members) => {
                    let bump = bump(
                        &self.table,
                        tenant,
                        group_id,
                        &delta,
                        (modified, write),
                        cond,
                        false,
                    )?;
                    self.commit_small(bump, members).await
                }
                None => {
                    self.check_users_exist(tenant, &delta.add).await?;
                    match self
                        .bump_pending(tenant, group_id, &delta, (modified, write), cond)
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
                    // Otherwise a replace-all read members that changed since: resolve again.
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
        let query = match kind.relation() {
            Relation::MemberOf => KeyQuery::groups_of(tenant, id, usize::MAX),
            Relation::Members => KeyQuery::members(tenant, id, usize::MAX),
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
pub(super) fn member_ids_of(items: &[Item]) -> StoreResult<Vec<String>> {
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        if let Some(uid) = item.string(keys::SK)?.strip_prefix(keys::MEMBER_PREFIX) {
            ids.push(uid.to_string());
        }
    }
    Ok(ids)
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
