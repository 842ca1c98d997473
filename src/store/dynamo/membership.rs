//! Member items: planning a [`MemberChange`] into transaction actions without reading the
//! member list (except for `clear`), chunking them to the transaction limit, cascading deletes,
//! and the capped member and group listings.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{DeleteRequest, TransactWriteItem, WriteRequest};

use super::items::{ItemExt, member_item, member_key, resource_key};
use super::query::KeyQuery;
use super::write::{Cond, check, delete, put};
use super::{DynamoStore, MAX_TRANSACTION_ACTIONS, backoff, build_error, keys, translate};
use crate::scim::schema::ResourceKind;
use crate::store::{Call, MemberChange, Members, StoreError, StoreResult, TenantId};

/// Most items one `BatchWriteItem` accepts.
const BATCH_WRITE_MAX: usize = 25;
/// Rounds of re-sending the unprocessed part of a batch before reporting throttling.
const BATCH_ATTEMPTS: u32 = 8;

/// Member ids to put and to delete, each sorted and without duplicates.
#[derive(Debug, Default)]
pub(super) struct Planned {
    adds: Vec<String>,
    deletes: Vec<String>,
}

impl Planned {
    /// Only additions (a group created with members).
    pub(super) fn adds(ids: Vec<String>) -> Self {
        let adds: BTreeSet<String> = ids.into_iter().collect();
        Planned {
            adds: adds.into_iter().collect(),
            deletes: Vec::new(),
        }
    }

    /// Whether there is nothing to write.
    pub(super) fn is_empty(&self) -> bool {
        self.adds.is_empty() && self.deletes.is_empty()
    }
}

/// One transaction's actions, and for each action the user id whose existence it checks (so a
/// failed `ConditionCheck` names the missing member).
pub(super) struct Chunk {
    pub(super) actions: Vec<TransactWriteItem>,
    pub(super) checked: Vec<Option<String>>,
}

impl DynamoStore {
    /// Turns a member change into puts and deletes. `clear` reads the current member ids (the
    /// only case that must); ids both removed and added end up members, as if the removals ran
    /// first, and an id cleared and added again is simply kept (one item cannot be deleted and
    /// put in the same transaction).
    pub(super) async fn plan_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        change: &MemberChange,
    ) -> StoreResult<Planned> {
        let adds: BTreeSet<String> = change.add.iter().cloned().collect();
        let mut deletes: BTreeSet<String> = change.remove.iter().cloned().collect();
        if change.clear {
            let (current, _) = self
                .query_items(KeyQuery::members(tenant, group_id, usize::MAX))
                .await?;
            for item in &current {
                if let Some(uid) = item.string(keys::SK)?.strip_prefix(keys::MEMBER_PREFIX) {
                    deletes.insert(uid.to_string());
                }
            }
        }
        Ok(Planned {
            deletes: deletes.difference(&adds).cloned().collect(),
            adds: adds.into_iter().collect(),
        })
    }

    /// Packs `head` and the planned member actions into transactions of at most 100 actions,
    /// `head` first. An addition is a `ConditionCheck` that the user exists plus the `Put` of
    /// its member item, and the two always travel in one transaction.
    pub(super) fn member_chunks(
        &self,
        tenant: &TenantId,
        group_id: &str,
        head: Vec<TransactWriteItem>,
        planned: &Planned,
    ) -> StoreResult<Vec<Chunk>> {
        let mut chunks = Vec::new();
        let mut current = Chunk {
            checked: vec![None; head.len()],
            actions: head,
        };
        let mut units: Vec<Vec<(TransactWriteItem, Option<String>)>> = Vec::new();
        for uid in &planned.adds {
            let user = resource_key(tenant, ResourceKind::User, uid);
            units.push(vec![
                (
                    check(&self.table, user, Cond::present())?,
                    Some(uid.clone()),
                ),
                (
                    put(&self.table, member_item(tenant, group_id, uid), None)?,
                    None,
                ),
            ]);
        }
        for uid in &planned.deletes {
            let key = member_key(tenant, group_id, uid);
            units.push(vec![(delete(&self.table, key, None)?, None)]);
        }
        for unit in units {
            if current.actions.len() + unit.len() > MAX_TRANSACTION_ACTIONS {
                chunks.push(std::mem::replace(
                    &mut current,
                    Chunk {
                        actions: Vec::new(),
                        checked: Vec::new(),
                    },
                ));
            }
            for (action, checked) in unit {
                current.actions.push(action);
                current.checked.push(checked);
            }
        }
        if !current.actions.is_empty() {
            chunks.push(current);
        }
        Ok(chunks)
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
    async fn batch_delete(&self, all: Vec<super::items::Item>) -> StoreResult<()> {
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

    /// See [`crate::store::Store::members`]: one consistent `Query` of the group's partition.
    pub(super) async fn member_ids(
        &self,
        tenant: &TenantId,
        group_id: &str,
        limit: usize,
    ) -> StoreResult<Members> {
        let cap = limit.saturating_add(1);
        let (items, _) = self
            .query_items(KeyQuery::members(tenant, group_id, cap))
            .await?;
        let mut ids = Vec::with_capacity(items.len());
        for item in &items {
            if let Some(uid) = item.string(keys::SK)?.strip_prefix(keys::MEMBER_PREFIX) {
                ids.push(uid.to_string());
            }
        }
        Ok(capped(ids, limit))
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

/// The first `limit` ids, and whether there were more.
fn capped(mut ids: Vec<String>, limit: usize) -> Members {
    let truncated = ids.len() > limit;
    ids.truncate(limit);
    Members { ids, truncated }
}
