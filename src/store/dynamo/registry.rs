//! The tenant registry in the data table, under `R#` keys (a tenant's data keys all start with
//! `T#`, so neither can be a prefix of the other):
//!
//! | item | pk | sk | gsi1pk / gsi1sk | notes |
//! |---|---|---|---|---|
//! | tenant | `R#TENANT#<id>` | `TENANT` | `R#TENANTS` (live) or `R#PURGING` (deleted) / id | `ver` bumps on every change; `toks` is the set of its token ids |
//! | name guard | `R#NAME#<folded name>` | `UNIQUE` | none | `id` of the owner; deleted with the tenant, so the name is free at once |
//! | token | `R#TOKEN#<token id>` | `TOKEN` | `R#TENANT#<id>#TOKENS` / token id | digest, times, and copies of the tenant's status and cap |
//!
//! Every tenant change is one transaction that also rewrites its tokens' copies; it is
//! conditioned on the tenant's `ver`, which every token create and revoke bumps too, so the
//! token set it rewrites is exactly the current one. Verifying a token is then one consistent
//! `GetItem`.

mod items;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, Put, TransactWriteItem, WriteRequest,
};

use self::items::{
    CREATED, Change, DELETED, DESCRIPTION, DIGEST, EXPIRES, LAST_REQUEST, LAST_USED, LIVE, NAME,
    PURGING, RPS, STATUS, Stored, TENANT, VER, name_key, num, tenant_from, tenant_key, token_from,
    token_key, tokens_of,
};
use super::items::{Item, ItemExt, counter_key, s};
use super::{CONFLICT_ATTEMPTS, DynamoStore, TxError, backoff, build_error, keys, translate};
use crate::scim::schema::{ResourceKind, fold_case};
use crate::store::registry::{
    MAX_TOKENS_PER_TENANT, Registry, TenantPatch, TenantRecord, TenantStatus, TokenRecord, Touch,
};
use crate::store::{Call, StoreError, StoreResult, TenantId};

const NAME_TAKEN: StoreError = StoreError::Uniqueness { attribute: "name" };

impl DynamoStore {
    async fn registry_item(&self, key: Item) -> StoreResult<Option<Item>> {
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

    async fn stored_tenant(&self, id: &TenantId) -> StoreResult<Option<Stored>> {
        match self.registry_item(tenant_key(id)).await? {
            Some(item) => Ok(Some(tenant_from(&item)?)),
            None => Ok(None),
        }
    }

    async fn live_tenant(&self, id: &TenantId) -> StoreResult<Stored> {
        self.stored_tenant(id)
            .await?
            .filter(|t| t.record.status != TenantStatus::Deleting)
            .ok_or(StoreError::NotFound)
    }

    /// Items of one GSI1 partition after `after`, at most `limit` (0: all).
    async fn gsi1(&self, pk: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            self.calls.record(Call::Query);
            let mut values = HashMap::from([(":pk".to_string(), s(pk))]);
            let mut condition = "gsi1pk = :pk".to_string();
            if let Some(a) = after {
                values.insert(":after".into(), s(a));
                condition.push_str(" AND gsi1sk > :after");
            }
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::GSI1)
                .key_condition_expression(condition)
                .set_expression_attribute_values(Some(values))
                .set_limit(
                    (limit > 0).then(|| i32::try_from(limit - items.len()).unwrap_or(i32::MAX)),
                )
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(translate)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if limit == 0 || items.len() < limit => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// Runs a transaction built from the tenant's current version until it commits, the
    /// tenant is gone, or an action other than the version check fails alone (reported as
    /// `Uniqueness`: in a rename that is the new name's claim at index 1).
    async fn with_tenant<F>(&self, id: &TenantId, mut build: F) -> StoreResult<Stored>
    where
        F: FnMut(&Stored) -> StoreResult<(Vec<TransactWriteItem>, Stored)>,
    {
        let mut attempt = 0;
        loop {
            let current = self.live_tenant(id).await?;
            let (actions, next) = build(&current)?;
            match self.transact(actions).await {
                Ok(()) => return Ok(next),
                // Action 0 is always the tenant's version check: someone changed the tenant or
                // its token set (a token check may fail with it); re-read and rebuild.
                Err(TxError::Conditions(failed)) if failed.contains(&0) => {}
                Err(TxError::Conditions(_)) => return Err(NAME_TAKEN),
                Err(TxError::Store(e)) => return Err(e),
            }
            attempt += 1;
            if attempt >= CONFLICT_ATTEMPTS {
                return Err(StoreError::Unavailable("the tenant kept changing".into()));
            }
            backoff(attempt).await;
        }
    }

    /// The tenant's new state as an update of its item (version-checked) and of each token.
    fn tenant_change(
        &self,
        old: &Stored,
        new: &TenantRecord,
    ) -> StoreResult<Vec<TransactWriteItem>> {
        let mut change = Change::new(tenant_key(&new.id), "#ver = :ver");
        change.condition_values.push((":ver", num(old.ver)));
        change.set.push((NAME, s(&new.name)));
        change.set.push((STATUS, s(new.status.as_str())));
        change.set.push((VER, num(old.ver + 1)));
        match new.requests_per_second {
            Some(r) => change.set.push((RPS, num(i64::from(r)))),
            None => change.remove.push(RPS),
        }
        if let Some(at) = new.deleted_at {
            change.set.push((DELETED, num(at)));
            change.set.push((keys::GSI1PK, s(PURGING)));
        }
        let mut actions = vec![change.build(&self.table)?];
        let copies_change = old.record.status != new.status
            || old.record.requests_per_second != new.requests_per_second;
        if copies_change {
            for token in &old.tokens {
                let mut c = Change::new(token_key(token), "attribute_exists(pk)");
                c.set.push((STATUS, s(new.status.as_str())));
                match new.requests_per_second {
                    Some(r) => c.set.push((RPS, num(i64::from(r)))),
                    None => c.remove.push(RPS),
                }
                actions.push(c.build(&self.table)?);
            }
        }
        Ok(actions)
    }

    fn put(&self, item: Item, condition: &str) -> StoreResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete(&self, key: Item) -> StoreResult<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Deletes items by key in batches of 25, retrying unprocessed ones (bounded).
    async fn delete_all(&self, keys: Vec<Item>) -> StoreResult<()> {
        for chunk in keys.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|k| {
                    DeleteRequest::builder()
                        .set_key(Some(k.clone()))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                        .map_err(build_error)
                })
                .collect::<StoreResult<_>>()?;
            let mut attempt = 0;
            while !pending.is_empty() {
                if attempt >= CONFLICT_ATTEMPTS {
                    return Err(StoreError::Throttled {
                        retry_after_secs: 1,
                    });
                }
                self.calls.record(Call::BatchWriteItem);
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(translate)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                attempt += 1;
                if !pending.is_empty() {
                    backoff(attempt).await;
                }
            }
        }
        Ok(())
    }
}

impl Registry for DynamoStore {
    async fn create_tenant(&self, tenant: &TenantRecord) -> StoreResult<()> {
        let mut item = tenant_key(&tenant.id);
        item.insert(keys::GSI1PK.into(), s(LIVE));
        item.insert(keys::GSI1SK.into(), s(tenant.id.as_str()));
        item.insert(NAME.into(), s(&tenant.name));
        item.insert(STATUS.into(), s(tenant.status.as_str()));
        item.insert(CREATED.into(), num(tenant.created_at));
        item.insert(VER.into(), num(1));
        if let Some(r) = tenant.requests_per_second {
            item.insert(RPS.into(), num(i64::from(r)));
        }
        let mut guard = name_key(&tenant.name);
        guard.insert(keys::ID.into(), s(tenant.id.as_str()));
        let actions = vec![
            self.put(item, "attribute_not_exists(pk)")?,
            self.put(guard, "attribute_not_exists(pk)")?,
        ];
        match self.transact(actions).await {
            Ok(()) => Ok(()),
            Err(TxError::Conditions(failed)) if failed == [1] => Err(NAME_TAKEN),
            Err(TxError::Conditions(_)) => Err(StoreError::Internal("tenant id collision".into())),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    async fn tenant(&self, id: &TenantId) -> StoreResult<Option<TenantRecord>> {
        Ok(self.stored_tenant(id).await?.map(|t| t.record))
    }

    async fn tenants(
        &self,
        after: Option<&TenantId>,
        limit: usize,
    ) -> StoreResult<Vec<TenantRecord>> {
        let items = self
            .gsi1(LIVE, after.map(TenantId::as_str), limit.max(1))
            .await?;
        let mut out = Vec::with_capacity(items.len());
        for item in items.iter().take(limit) {
            out.push(tenant_from(item)?.record);
        }
        Ok(out)
    }

    async fn update_tenant(&self, id: &TenantId, patch: &TenantPatch) -> StoreResult<TenantRecord> {
        let stored = self
            .with_tenant(id, |old| {
                let mut new = old.record.clone();
                if let Some(name) = &patch.name {
                    new.name.clone_from(name);
                }
                if let Some(status) = patch.status {
                    new.status = status;
                }
                if let Some(rps) = patch.requests_per_second {
                    new.requests_per_second = rps;
                }
                let mut actions = self.tenant_change(old, &new)?;
                if fold_case(&old.record.name) != fold_case(&new.name) {
                    let mut guard = name_key(&new.name);
                    guard.insert(keys::ID.into(), s(id.as_str()));
                    // The claim goes right after the version check, so a failure at index 1
                    // is a taken name.
                    actions.insert(1, self.put(guard, "attribute_not_exists(pk)")?);
                    actions.push(self.delete(name_key(&old.record.name))?);
                }
                Ok((
                    actions,
                    Stored {
                        record: new,
                        ver: old.ver + 1,
                        tokens: old.tokens.clone(),
                    },
                ))
            })
            .await?;
        Ok(stored.record)
    }

    async fn delete_tenant(&self, id: &TenantId, at: i64) -> StoreResult<()> {
        self.with_tenant(id, |old| {
            let mut new = old.record.clone();
            new.status = TenantStatus::Deleting;
            new.deleted_at = Some(at);
            let mut actions = self.tenant_change(old, &new)?;
            actions.push(self.delete(name_key(&old.record.name))?);
            Ok((
                actions,
                Stored {
                    record: new,
                    ver: old.ver + 1,
                    tokens: old.tokens.clone(),
                },
            ))
        })
        .await
        .map(|_| ())
    }

    async fn create_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.with_tenant(&token.tenant, |old| {
            if old.tokens.len() >= MAX_TOKENS_PER_TENANT {
                return Err(StoreError::TooLarge(crate::store::Limit::TenantTokens {
                    count: old.tokens.len(),
                }));
            }
            let mut bump = Change::new(tenant_key(&token.tenant), "#ver = :ver");
            bump.condition_values.push((":ver", num(old.ver)));
            bump.set.push((VER, num(old.ver + 1)));
            bump.extra = Some(("ADD", AttributeValue::Ss(vec![token.id.clone()])));
            let mut item = token_key(&token.id);
            item.insert(keys::GSI1PK.into(), s(tokens_of(&token.tenant)));
            item.insert(keys::GSI1SK.into(), s(&token.id));
            item.insert(TENANT.into(), s(token.tenant.as_str()));
            item.insert(DESCRIPTION.into(), s(&token.description));
            item.insert(DIGEST.into(), s(token.digest.to_hex()));
            item.insert(CREATED.into(), num(token.created_at));
            if let Some(e) = token.expires_at {
                item.insert(EXPIRES.into(), num(e));
            }
            item.insert(STATUS.into(), s(old.record.status.as_str()));
            if let Some(r) = old.record.requests_per_second {
                item.insert(RPS.into(), num(i64::from(r)));
            }
            let actions = vec![
                bump.build(&self.table)?,
                self.put(item, "attribute_not_exists(pk)")?,
            ];
            let mut tokens = old.tokens.clone();
            tokens.push(token.id.clone());
            Ok((
                actions,
                Stored {
                    record: old.record.clone(),
                    ver: old.ver + 1,
                    tokens,
                },
            ))
        })
        .await
        .map(|_| ())
    }

    async fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        match self.registry_item(token_key(id)).await? {
            Some(item) => Ok(Some(token_from(&item)?)),
            None => Ok(None),
        }
    }

    async fn tokens(&self, tenant: &TenantId) -> StoreResult<Vec<TokenRecord>> {
        let items = self.gsi1(&tokens_of(tenant), None, 0).await?;
        items
            .iter()
            .map(|i| token_from(i).map_err(StoreError::from))
            .collect()
    }

    async fn revoke_token(&self, tenant: &TenantId, id: &str) -> StoreResult<()> {
        match self.token(id).await? {
            Some(t) if t.tenant == *tenant => {}
            _ => return Err(StoreError::NotFound),
        }
        let owner = tenant.clone();
        let result = self
            .with_tenant(tenant, |old| {
                // The version moves too, so a tenant change built on the old token set retries.
                let mut unlink = Change::new(tenant_key(&owner), "#ver = :ver");
                unlink.condition_values.push((":ver", num(old.ver)));
                unlink.set.push((VER, num(old.ver + 1)));
                unlink.extra = Some(("DELETE", AttributeValue::Ss(vec![id.to_string()])));
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(token_key(id)))
                    .condition_expression("attribute_exists(pk)")
                    .build()
                    .map_err(build_error)?;
                let actions = vec![
                    unlink.build(&self.table)?,
                    TransactWriteItem::builder().delete(delete).build(),
                ];
                let mut tokens = old.tokens.clone();
                tokens.retain(|t| t != id);
                Ok((
                    actions,
                    Stored {
                        record: old.record.clone(),
                        ver: old.ver + 1,
                        tokens,
                    },
                ))
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            // The token went between the read and the write: revoked by someone else.
            Err(StoreError::Uniqueness { .. }) => Err(StoreError::NotFound),
            Err(e) => Err(e),
        }
    }

    async fn touch(&self, what: &Touch, at: i64) -> StoreResult<()> {
        let (key, attr) = match what {
            Touch::Token(id) => (token_key(id), LAST_USED),
            Touch::Tenant(id) => (tenant_key(id), LAST_REQUEST),
        };
        self.calls.record(Call::UpdateItem);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET #a = :at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#a", attr)
            .expression_attribute_values(":at", num(at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(translate(e)),
        }
    }

    async fn purging(&self) -> StoreResult<Vec<TenantRecord>> {
        let items = self.gsi1(PURGING, None, 0).await?;
        items
            .iter()
            .map(|i| tenant_from(i).map(|t| t.record).map_err(StoreError::from))
            .collect()
    }

    async fn finish_purge(&self, id: &TenantId) -> StoreResult<()> {
        let Some(stored) = self.stored_tenant(id).await? else {
            return Ok(());
        };
        let mut doomed = Vec::new();
        for kind in [ResourceKind::User, ResourceKind::Group] {
            for shard in 0..keys::COUNTER_SHARDS {
                doomed.push(counter_key(id, kind, shard));
            }
        }
        let mut tokens = stored.tokens;
        for item in self.gsi1(&tokens_of(id), None, 0).await? {
            tokens.push(item.string(keys::GSI1SK)?.to_string());
        }
        tokens.sort();
        tokens.dedup();
        doomed.extend(tokens.iter().map(|t| token_key(t)));
        self.delete_all(doomed).await?;
        // Last: while the tenant item exists the purge is pending and will be resumed.
        self.delete_all(vec![tenant_key(id)]).await
    }
}
