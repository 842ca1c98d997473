//! Answering [`Query`]s: every [`Lookup`] is served by one key or one index partition (never the
//! `Scan` API); the residual filter and the sort run on the candidates in memory, bounded by
//! [`SCAN_BUDGET`].

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{KeysAndAttributes, Select};

use super::items::{Item, ItemExt, guard_key, resource_key, s};
use super::{DynamoStore, SCAN_BUDGET, backoff, build_error, keys, translate};
use crate::scim::filter;
use crate::scim::list::sort_records;
use crate::scim::schema::ResourceKind;
use crate::store::{
    Call, Lookup, Page, PageRequest, Query, Record, StoreError, StoreResult, TenantId,
};

/// Most keys one `BatchGetItem` accepts.
const BATCH_GET_MAX: usize = 100;
/// Rounds of re-asking for unprocessed keys.
const BATCH_ATTEMPTS: u32 = 8;

/// A key-condition query on the table or one of its indexes.
pub(super) struct KeyQuery {
    index: Option<&'static str>,
    pk_name: &'static str,
    pk: String,
    /// `begins_with(sk, prefix)` on the table's sort key.
    sk_prefix: Option<&'static str>,
    /// Only the table (not a GSI) can be read strongly consistently.
    consistent: bool,
    /// Stop after this many items.
    limit: usize,
}

impl KeyQuery {
    /// A group's member items, consistent, in user id order.
    pub(super) fn members(tenant: &TenantId, group_id: &str, limit: usize) -> Self {
        KeyQuery {
            index: None,
            pk_name: keys::PK,
            pk: keys::resource_pk(tenant, ResourceKind::Group, group_id),
            sk_prefix: Some(keys::MEMBER_PREFIX),
            consistent: true,
            limit,
        }
    }

    /// A user's membership items, through the reverse index, in group id order.
    pub(super) fn groups_of(tenant: &TenantId, user_id: &str, limit: usize) -> Self {
        KeyQuery::index(
            keys::GSI1,
            keys::GSI1PK,
            keys::user_groups_pk(tenant, user_id),
            limit,
        )
    }

    fn index(index: &'static str, pk_name: &'static str, pk: String, limit: usize) -> Self {
        KeyQuery {
            index: Some(index),
            pk_name,
            pk,
            sk_prefix: None,
            consistent: false,
            limit,
        }
    }
}

impl DynamoStore {
    /// Runs a key query page by page until it has `limit` items or the partition ends.
    /// Returns the items and whether the partition holds more.
    pub(super) async fn query_items(&self, q: KeyQuery) -> StoreResult<(Vec<Item>, bool)> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let remaining = q.limit.saturating_sub(items.len());
            let (expr, values) = key_condition(&q);
            self.calls.record(Call::Query);
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(q.index.map(str::to_string))
                .key_condition_expression(expr)
                .expression_attribute_names("#pk", q.pk_name)
                .set_expression_attribute_names(Some(names(&q)))
                .set_expression_attribute_values(Some(values))
                .consistent_read(q.consistent)
                .set_limit(i32::try_from(remaining).ok())
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(translate)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if items.len() < q.limit => start = Some(k),
                Some(_) => return Ok((items, true)),
                None => return Ok((items, false)),
            }
        }
    }

    /// Counts a partition with `Select=COUNT` (pages of up to 1 MB each).
    async fn count_items(&self, q: KeyQuery) -> StoreResult<u64> {
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let (expr, values) = key_condition(&q);
            self.calls.record(Call::Query);
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(q.index.map(str::to_string))
                .key_condition_expression(expr)
                .set_expression_attribute_names(Some(names(&q)))
                .set_expression_attribute_values(Some(values))
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(translate)?;
            total += u64::try_from(out.count).unwrap_or_default();
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(total),
            }
        }
    }

    /// See [`crate::store::Store::query`].
    pub(super) async fn run_query(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        q: &Query,
    ) -> StoreResult<Page> {
        let PageRequest::Index { start_index, count } = &q.page;
        let skip = usize::try_from(start_index.get() - 1).unwrap_or(usize::MAX);
        if q.lookup == Lookup::All && q.filter.is_none() && q.sort.is_none() {
            return self.list_page(tenant, kind, skip, *count).await;
        }
        let mut records = self.candidates(tenant, kind, &q.lookup).await?;
        if let Some(f) = &q.filter {
            records.retain(|r| filter::matches(f, kind, &r.doc));
        }
        if let Some(sort) = &q.sort {
            // Candidates arrive in id order and the sort is stable: ties stay in id order.
            sort_records(kind, sort, &mut records, |r| &r.doc);
        }
        let total = records.len() as u64;
        Ok(Page {
            total,
            records: records.into_iter().skip(skip).take(*count).collect(),
        })
    }

    /// An unfiltered listing: a `Select=COUNT` query for the total, then a query reading just
    /// up to the end of the page (index paging cannot jump, so earlier pages are read again).
    async fn list_page(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        skip: usize,
        count: usize,
    ) -> StoreResult<Page> {
        let pk = keys::list_pk(tenant, kind);
        let total = self
            .count_items(KeyQuery::index(keys::GSI1, keys::GSI1PK, pk.clone(), 0))
            .await?;
        if count == 0 || skip as u64 >= total {
            return Ok(Page {
                total,
                records: Vec::new(),
            });
        }
        let end = skip.saturating_add(count);
        let (items, _) = self
            .query_items(KeyQuery::index(keys::GSI1, keys::GSI1PK, pk, end))
            .await?;
        let records = items
            .iter()
            .skip(skip)
            .map(Record::try_from)
            .collect::<Result<_, _>>()?;
        Ok(Page { total, records })
    }

    /// The records a lookup names, before filtering.
    async fn candidates(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        lookup: &Lookup,
    ) -> StoreResult<Vec<Record>> {
        let index = |index, pk_name, pk| KeyQuery::index(index, pk_name, pk, SCAN_BUDGET + 1);
        let query = match lookup {
            Lookup::Id(id) => {
                return Ok(self
                    .get_record(tenant, kind, id)
                    .await?
                    .into_iter()
                    .collect());
            }
            Lookup::Unique(folded) => {
                // The guard is read consistently; an index on the name would be eventually
                // consistent and could miss a user created a moment ago.
                let Some(guard) = self.get_item(guard_key(tenant, kind, folded)).await? else {
                    return Ok(Vec::new());
                };
                let id = guard.string(keys::ID)?;
                return Ok(self
                    .get_record(tenant, kind, id)
                    .await?
                    .into_iter()
                    .collect());
            }
            Lookup::HasMember(uid) => {
                if kind != ResourceKind::Group {
                    return Ok(Vec::new());
                }
                let (items, more) = self
                    .query_items(KeyQuery::groups_of(tenant, uid, SCAN_BUDGET + 1))
                    .await?;
                over_budget(more)?;
                let mut keys_to_get = Vec::with_capacity(items.len());
                for item in &items {
                    let gid = item.string(keys::GSI1SK)?;
                    keys_to_get.push(resource_key(tenant, ResourceKind::Group, gid));
                }
                return self.batch_get(keys_to_get).await;
            }
            Lookup::All => index(keys::GSI1, keys::GSI1PK, keys::list_pk(tenant, kind)),
            Lookup::ExternalId(e) => index(
                keys::GSI2,
                keys::GSI2PK,
                keys::external_id_pk(tenant, kind, e),
            ),
            Lookup::WorkEmail(e) => {
                if kind != ResourceKind::User {
                    return Ok(Vec::new());
                }
                index(keys::GSI3, keys::GSI3PK, keys::work_email_pk(tenant, e))
            }
        };
        let (items, more) = self.query_items(query).await?;
        over_budget(more)?;
        Ok(items
            .iter()
            .map(Record::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// Strongly consistent `BatchGetItem`s, 100 keys at a time, in id order.
    async fn batch_get(&self, all: Vec<Item>) -> StoreResult<Vec<Record>> {
        let mut records = Vec::with_capacity(all.len());
        for batch in all.chunks(BATCH_GET_MAX) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(batch.to_vec()))
                    .consistent_read(true)
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
                    records.push(Record::try_from(&item)?);
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys.is_empty());
            }
        }
        records.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(records)
    }
}

/// `TooMany` when a read stopped at the budget with more to come.
fn over_budget(more: bool) -> StoreResult<()> {
    if more {
        return Err(StoreError::TooMany(format!(
            "the query would examine more than {SCAN_BUDGET} resources; use a more specific filter"
        )));
    }
    Ok(())
}

fn key_condition(
    q: &KeyQuery,
) -> (
    String,
    HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) {
    let mut values = HashMap::from([(":pk".to_string(), s(&q.pk))]);
    match q.sk_prefix {
        Some(prefix) => {
            values.insert(":prefix".into(), s(prefix));
            ("#pk = :pk AND begins_with(#sk, :prefix)".into(), values)
        }
        None => ("#pk = :pk".into(), values),
    }
}

fn names(q: &KeyQuery) -> HashMap<String, String> {
    let mut names = HashMap::from([("#pk".to_string(), q.pk_name.to_string())]);
    if q.sk_prefix.is_some() {
        names.insert("#sk".into(), keys::SK.into());
    }
    names
}
