//! Answering [`Query`]s: every [`Lookup`] is served by one key or one index partition (never the
//! `Scan` API); the residual filter and the sort run on the candidates in memory, bounded by
//! [`SCAN_BUDGET`].

use std::collections::HashMap;
use std::time::Instant;

use aws_sdk_dynamodb::types::Select;

use super::items::{Item, ItemExt, guard_key, listing_position, resource_key, s};
use super::{DynamoStore, SCAN_BUDGET, keys, translate};
use crate::scim::filter;
use crate::scim::list::sort_records;
use crate::scim::schema::ResourceKind;
use crate::store::limits::{self, Budget};
use crate::store::{
    Call, Lookup, Page, PageRequest, Query, Record, StoreError, StoreResult, TenantId, page_of,
};

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
    /// Start after this position (`ExclusiveStartKey`) instead of at the beginning.
    start: Option<Item>,
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
            start: None,
        }
    }

    /// A kind's counter shards, consistent (the table, not an index).
    fn counter(tenant: &TenantId, kind: ResourceKind) -> Self {
        KeyQuery {
            index: None,
            pk_name: keys::PK,
            pk: keys::counter_pk(tenant, kind),
            sk_prefix: None,
            consistent: true,
            limit: usize::MAX,
            start: None,
        }
    }

    /// A kind's listing in id order, after resource `after` when given.
    fn listing(tenant: &TenantId, kind: ResourceKind, after: Option<&str>, limit: usize) -> Self {
        KeyQuery {
            start: after.map(|id| listing_position(tenant, kind, id)),
            ..KeyQuery::index(keys::GSI1, keys::GSI1PK, keys::list_pk(tenant, kind), limit)
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
            start: None,
        }
    }
}

impl DynamoStore {
    /// Runs a key query page by page until it has `limit` items or the partition ends.
    /// Returns the items and whether the partition holds more.
    pub(super) async fn query_items(&self, mut q: KeyQuery) -> StoreResult<(Vec<Item>, bool)> {
        let mut items = Vec::new();
        let mut start: Option<Item> = q.start.take();
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

    /// Counts a partition with `Select=COUNT` (pages of up to 1 MB each): reads, and is billed
    /// for, every item. Only [`DynamoStore::recount`] uses it.
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

    /// Rebuilds the maintained counter of a kind from a full count of its listing: for a table
    /// written before counters existed, or after a restore. Run it while no client writes
    /// (a create or delete between the count and the write would be counted twice or not at
    /// all). Costs a read of the whole listing (about N/8 RCU) plus 16 writes.
    ///
    /// # Errors
    /// Backend failures, translated.
    pub async fn recount(&self, tenant: &TenantId, kind: ResourceKind) -> StoreResult<u64> {
        let pk = keys::list_pk(tenant, kind);
        let total = self
            .count_items(KeyQuery::index(keys::GSI1, keys::GSI1PK, pk, 0))
            .await?;
        for shard in 0..keys::COUNTER_SHARDS {
            let n = if shard == 0 { total } else { 0 };
            let mut item = super::items::counter_key(tenant, kind, shard);
            item.insert(keys::COUNT.into(), super::items::n(n));
            self.calls.record(Call::PutItem);
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(translate)?;
        }
        Ok(total)
    }

    /// The number of resources of a kind: the sum of its counter shards, one consistent
    /// `Query` of a partition under 1 KB (1 RCU), whatever the number of resources.
    async fn count_resources(&self, tenant: &TenantId, kind: ResourceKind) -> StoreResult<u64> {
        let (items, _) = self.query_items(KeyQuery::counter(tenant, kind)).await?;
        let mut sum = 0i64;
        for item in &items {
            sum = sum.saturating_add(item.number_i64(keys::COUNT)?);
        }
        // Shards are signed (a delete may land on a shard no create touched); only their sum
        // is a count, and it is never negative unless the table was written without counters.
        Ok(u64::try_from(sum).unwrap_or(0))
    }

    /// See [`crate::store::Store::query`].
    pub(super) async fn run_query(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        q: &Query,
    ) -> StoreResult<Page> {
        let unfiltered = q.lookup == Lookup::All && q.filter.is_none() && q.sort.is_none();
        match &q.page {
            PageRequest::Index { start_index, count } if unfiltered => {
                self.index_page(tenant, kind, start_index.get(), *count)
                    .await
            }
            PageRequest::Cursor { after, count } if unfiltered => {
                self.cursor_page(tenant, kind, after.as_deref(), *count)
                    .await
            }
            page => {
                let mut records = if limits::lookup_fits(&q.lookup) {
                    self.candidates(tenant, kind, &q.lookup).await?
                } else {
                    // Longer than any stored key: nothing can match, and DynamoDB would
                    // refuse the key (a 5xx) rather than answer.
                    Vec::new()
                };
                if let Some(f) = &q.filter {
                    let work = filter::Work::per_query();
                    // Read from items, every document here is a tree.
                    records.retain(|r| {
                        r.doc
                            .parsed()
                            .is_some_and(|doc| filter::matches_within(f, kind, doc, &work))
                    });
                    if work.exhausted() {
                        return Err(StoreError::TooMany {
                            budget: Budget::Filter {
                                bytes: filter::MAX_FILTER_WORK_BYTES,
                            },
                        });
                    }
                }
                if let Some(sort) = &q.sort {
                    // Candidates arrive in id order and the sort is stable: ties stay in id
                    // order.
                    sort_records(kind, sort, &mut records, |r| {
                        r.doc.parsed().unwrap_or(&serde_json::Value::Null)
                    });
                }
                let total = records.len() as u64;
                let (records, next) = page_of(&records, page);
                Ok(Page {
                    total,
                    records,
                    next,
                })
            }
        }
    }

    /// An unfiltered index page: the total from the counter, then the page read from the
    /// closest checkpoint at or before `start` (or from the beginning), so paging forward page
    /// by page reads each result once.
    async fn index_page(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        start: u64,
        count: usize,
    ) -> StoreResult<Page> {
        let total = self.count_resources(tenant, kind).await?;
        if count == 0 || start > total {
            return Ok(Page {
                total,
                records: Vec::new(),
                next: None,
            });
        }
        let now = Instant::now();
        let (from, after) = match self.checkpoints.nearest(tenant, kind, start, now) {
            Some((index, id)) => (index, Some(id)),
            None => (1, None),
        };
        let skip = usize::try_from(start - from).unwrap_or(usize::MAX);
        let (items, _) = self
            .query_items(KeyQuery::listing(
                tenant,
                kind,
                after.as_deref(),
                skip.saturating_add(count),
            ))
            .await?;
        self.calls.record_items(items.len());
        let records: Vec<Record> = items
            .iter()
            .skip(skip)
            .map(Record::try_from)
            .collect::<Result<_, _>>()?;
        if records.len() == count {
            if let Some(last) = records.last() {
                let next_start = start.saturating_add(count as u64);
                self.checkpoints
                    .record(tenant, kind, next_start, last.id.clone(), now);
            }
        }
        Ok(Page {
            total,
            records,
            next: None,
        })
    }

    /// An unfiltered cursor page: the total from the counter, then `count + 1` items from
    /// the position after `after` (the extra one only tells whether a next page exists, so
    /// the last page carries no cursor).
    async fn cursor_page(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        after: Option<&str>,
        count: usize,
    ) -> StoreResult<Page> {
        let total = self.count_resources(tenant, kind).await?;
        if count == 0 {
            return Ok(Page {
                total,
                records: Vec::new(),
                next: None,
            });
        }
        let (items, _) = self
            .query_items(KeyQuery::listing(
                tenant,
                kind,
                after,
                count.saturating_add(1),
            ))
            .await?;
        self.calls.record_items(items.len());
        let records: Vec<Record> = items
            .iter()
            .take(count)
            .map(Record::try_from)
            .collect::<Result<_, _>>()?;
        let next = (items.len() > count)
            .then(|| records.last().map(|r| r.id.clone()))
            .flatten();
        Ok(Page {
            total,
            records,
            next,
        })
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
                if !kind.has_members() {
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
                if !kind.descriptor().work_email_index {
                    return Ok(Vec::new());
                }
                index(keys::GSI3, keys::GSI3PK, keys::work_email_pk(tenant, e))
            }
        };
        let (items, more) = self.query_items(query).await?;
        self.calls.record_items(items.len());
        over_budget(more)?;
        // GSI3 also lists the lookup items of users' second and later work emails, which
        // carry only the user's id: those users are read by key.
        let (resources, pointers): (Vec<&Item>, Vec<&Item>) =
            items.iter().partition(|item| item.contains_key(keys::DOC));
        let mut records: Vec<Record> = resources
            .into_iter()
            .map(Record::try_from)
            .collect::<Result<_, _>>()?;
        if !pointers.is_empty() {
            let mut keys_to_get = Vec::with_capacity(pointers.len());
            for item in pointers {
                keys_to_get.push(resource_key(tenant, kind, item.string(keys::ID)?));
            }
            records.extend(self.batch_get(keys_to_get).await?);
            records.sort_by(|a, b| a.id.cmp(&b.id));
        }
        Ok(records)
    }

    /// Strongly consistent `BatchGetItem`s, 100 keys at a time, in id order.
    async fn batch_get(&self, all: Vec<Item>) -> StoreResult<Vec<Record>> {
        let mut records = self
            .consistent_batch_get(all, None)
            .await?
            .iter()
            .map(Record::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        records.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(records)
    }
}

/// `TooMany` when a read stopped at the budget with more to come.
fn over_budget(more: bool) -> StoreResult<()> {
    if more {
        return Err(StoreError::TooMany {
            budget: Budget::Scan { items: SCAN_BUDGET },
        });
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
