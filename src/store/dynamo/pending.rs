//! The member delta a group item records, and the pending-change protocol of member changes
//! too large for one transaction: commit by one write of the group item, apply in guarded
//! chunks, finish by removing the mark (see `membership` and `docs/dynamodb.md`, "Member
//! changes").

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, ReturnValue, TransactWriteItem, Update,
};

use super::actions::{Cond, check, delete, put};
use super::items::{Item, ItemExt, member_item, member_key, resource_key};
use super::membership::{BATCH_ATTEMPTS, member_ids_of};
use super::query::KeyQuery;
use super::{DynamoStore, MAX_TRANSACTION_ACTIONS, TxError, backoff, build_error, keys, translate};
use crate::change::ChangeKind;
use crate::scim::schema::ResourceKind;
use crate::store::{Call, MemberChange, Record, StoreError, StoreResult, TenantId};

/// Most keys one `BatchGetItem` accepts.
const BATCH_GET_MAX: usize = 100;

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

    /// The `change` attribute value of a write of kind `write` that changes these members.
    pub(super) fn value(&self, write: ChangeKind) -> AttributeValue {
        let list = |ids: &[String]| {
            AttributeValue::L(ids.iter().map(|i| AttributeValue::S(i.clone())).collect())
        };
        AttributeValue::M(HashMap::from([
            (
                keys::CHANGE_WRITE.to_string(),
                AttributeValue::S(write.as_str().into()),
            ),
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

    /// Whether the actions of the change fit in `room` actions of one transaction (a user
    /// check and a put per add, a delete per remove). A `clear` never does: it is resolved
    /// into explicit ids first.
    pub(super) fn fits(&self, room: usize) -> bool {
        !self.clear && 2 * self.add.len() + self.remove.len() <= room
    }
}

/// The `change` attribute value of a write of kind `write` that changes no member.
pub(super) fn write_only(write: ChangeKind) -> AttributeValue {
    AttributeValue::M(HashMap::from([(
        keys::CHANGE_WRITE.to_string(),
        AttributeValue::S(write.as_str().into()),
    )]))
}

/// A group item's version and pending change, read consistently.
pub(super) struct GroupState {
    /// The stored version.
    pub(super) version: u64,
    /// The change being applied, if any.
    pub(super) pending: Option<Delta>,
}

impl DynamoStore {
    /// Commits a large member-only change: one `UpdateItem` of the group that bumps the
    /// version and records the delta as pending. `None` when its condition failed.
    pub(super) async fn bump_pending(
        &self,
        tenant: &TenantId,
        group_id: &str,
        delta: &Delta,
        stamp: (&str, ChangeKind),
        cond: Cond,
    ) -> StoreResult<Option<Record>> {
        let (expr, cond) = bump_expression(delta, stamp, cond, true);
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
    pub(super) async fn group_state(
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
        let keys_of = ids
            .iter()
            .map(|id| resource_key(tenant, ResourceKind::User, id))
            .collect();
        let mut found: BTreeSet<String> = BTreeSet::new();
        for item in self.consistent_batch_get(keys_of, Some(keys::ID)).await? {
            found.insert(item.string(keys::ID)?.to_string());
        }
        match ids.iter().find(|id| !found.contains(*id)) {
            Some(id) => Err(StoreError::MissingMember { id: id.clone() }),
            None => Ok(()),
        }
    }

    /// Which of `ids` are members of the group now (consistent reads of their member items).
    pub(super) async fn present_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        ids: &[String],
    ) -> StoreResult<BTreeSet<String>> {
        let keys_of = ids
            .iter()
            .map(|id| super::items::member_key(tenant, group_id, id))
            .collect();
        let mut present = BTreeSet::new();
        for item in self.consistent_batch_get(keys_of, Some(keys::SK)).await? {
            if let Some(id) = item.string(keys::SK)?.strip_prefix(keys::MEMBER_PREFIX) {
                present.insert(id.to_string());
            }
        }
        Ok(present)
    }

    /// Reads `keys_of` with consistent `BatchGetItem`s, 100 keys at a time, projecting
    /// `attribute` (or whole items), re-sending unprocessed keys with backoff.
    pub(super) async fn consistent_batch_get(
        &self,
        keys_of: Vec<Item>,
        attribute: Option<&str>,
    ) -> StoreResult<Vec<Item>> {
        let mut found = Vec::new();
        for batch in keys_of.chunks(BATCH_GET_MAX) {
            let mut request = KeysAndAttributes::builder()
                .set_keys(Some(batch.to_vec()))
                .consistent_read(true);
            if let Some(attribute) = attribute {
                request = request
                    .projection_expression("#a")
                    .expression_attribute_names("#a", attribute);
            }
            let mut pending = Some(request.build().map_err(build_error)?);
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
                found.extend(
                    out.responses
                        .and_then(|mut r| r.remove(&self.table))
                        .unwrap_or_default(),
                );
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys.is_empty());
            }
        }
        Ok(found)
    }
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

/// The update expression of a member-only change: version plus one, `modified`, the delta
/// recorded as a change of kind `write` (the request's), and (large changes) `pending`.
pub(super) fn bump_expression(
    delta: &Delta,
    (modified, write): (&str, ChangeKind),
    cond: Cond,
    pending: bool,
) -> (String, Cond) {
    let mut expr = "SET #v = #v + :one, #modified = :modified, #change = :change".to_string();
    let mut cond = cond
        .name("#v", keys::VERSION)
        .name("#modified", keys::MODIFIED)
        .name("#change", keys::CHANGE)
        .value(":one", AttributeValue::N("1".into()))
        .value(":modified", AttributeValue::S(modified.to_string()))
        .value(":change", delta.value(write));
    if pending {
        expr.push_str(", #pending = :req");
        cond = cond.value(":req", AttributeValue::S(delta.req.clone()));
    }
    (expr, cond)
}

/// The transactional `Update` of a member-only change.
pub(super) fn bump(
    table: &str,
    tenant: &TenantId,
    group_id: &str,
    delta: &Delta,
    stamp: (&str, ChangeKind),
    cond: Cond,
    pending: bool,
) -> StoreResult<TransactWriteItem> {
    let (expr, cond) = bump_expression(delta, stamp, cond, pending);
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
