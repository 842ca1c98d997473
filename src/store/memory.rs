//! The embedded store: everything in process memory, for local runs and tests.
//!
//! One `RwLock` over all tenants makes every operation trivially atomic (uniqueness, version
//! checks, membership with existence checks). A `std` lock rather than Tokio's: no operation
//! awaits while holding it, and it is cheaper (tokio-rs/mini-redis `db.rs` makes the same
//! choice). Operations are counted as the DynamoDB calls they stand for, so costs read alike.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{
    Call, Calls, Deleted, Lookup, MemberChange, Members, Page, Query, Record, Store, StoreError,
    StoreResult, TenantId, page_of,
};
use crate::scim::filter;
use crate::scim::list::sort_records;
use crate::scim::schema::ResourceKind;

/// In-memory [`Store`].
#[derive(Debug, Default)]
pub struct MemoryStore {
    tenants: RwLock<HashMap<TenantId, Tenant>>,
    calls: Calls,
}

#[derive(Debug, Default)]
struct Tenant {
    users: Table,
    groups: Table,
    /// group id → member user ids.
    members: BTreeMap<String, BTreeSet<String>>,
    /// user id → group ids (the reverse index).
    groups_of: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Default)]
struct Table {
    /// Records in id order: the stable order of listings.
    records: BTreeMap<String, Record>,
    /// Folded unique name → id.
    unique: HashMap<String, String>,
    external_ids: HashMap<String, BTreeSet<String>>,
    work_emails: HashMap<String, BTreeSet<String>>,
}

impl Tenant {
    fn table(&self, kind: ResourceKind) -> &Table {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => &self.groups,
        }
    }
    fn table_mut(&mut self, kind: ResourceKind) -> &mut Table {
        match kind {
            ResourceKind::User => &mut self.users,
            ResourceKind::Group => &mut self.groups,
        }
    }

    /// Checks that every id to add is an existing user, before anything is written.
    fn check_members(&self, ids: &[String]) -> StoreResult<()> {
        match ids.iter().find(|id| !self.users.records.contains_key(*id)) {
            Some(id) => Err(StoreError::MissingMember { id: id.clone() }),
            None => Ok(()),
        }
    }

    fn apply_members(&mut self, group_id: &str, change: &MemberChange) {
        let current = self.members.entry(group_id.to_string()).or_default();
        let mut removed: Vec<String> = Vec::new();
        if change.clear {
            removed.extend(std::mem::take(current));
        }
        for id in &change.remove {
            if current.remove(id) {
                removed.push(id.clone());
            }
        }
        let mut added = Vec::new();
        for id in &change.add {
            if current.insert(id.clone()) {
                added.push(id.clone());
            }
        }
        for uid in removed {
            if let Some(groups) = self.groups_of.get_mut(&uid) {
                groups.remove(group_id);
            }
        }
        for uid in added {
            self.groups_of
                .entry(uid)
                .or_default()
                .insert(group_id.to_string());
        }
    }

    fn remove_memberships(&mut self, kind: ResourceKind, id: &str) {
        match kind {
            ResourceKind::User => {
                for gid in self.groups_of.remove(id).unwrap_or_default() {
                    if let Some(m) = self.members.get_mut(&gid) {
                        m.remove(id);
                    }
                }
            }
            ResourceKind::Group => {
                for uid in self.members.remove(id).unwrap_or_default() {
                    if let Some(g) = self.groups_of.get_mut(&uid) {
                        g.remove(id);
                    }
                }
            }
        }
    }
}

impl Table {
    fn index(&mut self, record: &Record) {
        let id = &record.id;
        if let Some(u) = &record.keys.unique {
            self.unique.insert(u.clone(), id.clone());
        }
        if let Some(x) = &record.keys.external_id {
            self.external_ids
                .entry(x.clone())
                .or_default()
                .insert(id.clone());
        }
        if let Some(e) = &record.keys.work_email {
            self.work_emails
                .entry(e.clone())
                .or_default()
                .insert(id.clone());
        }
    }

    fn unindex(&mut self, record: &Record) {
        let id = &record.id;
        if let Some(u) = &record.keys.unique {
            if self.unique.get(u) == Some(id) {
                self.unique.remove(u);
            }
        }
        remove_from(
            &mut self.external_ids,
            record.keys.external_id.as_deref(),
            id,
        );
        remove_from(&mut self.work_emails, record.keys.work_email.as_deref(), id);
    }

    /// Whether `unique` belongs to a resource other than `id`.
    fn taken(&self, unique: Option<&str>, id: &str) -> bool {
        unique
            .and_then(|u| self.unique.get(u))
            .is_some_and(|owner| owner != id)
    }

    fn candidates<'a>(&'a self, tenant: &'a Tenant, lookup: &Lookup) -> Vec<&'a Record> {
        let by_ids = |ids: Option<&'a BTreeSet<String>>| -> Vec<&'a Record> {
            ids.into_iter()
                .flatten()
                .filter_map(|id| self.records.get(id))
                .collect()
        };
        match lookup {
            Lookup::All => self.records.values().collect(),
            Lookup::Id(id) => self.records.get(id).into_iter().collect(),
            Lookup::Unique(u) => self
                .unique
                .get(u)
                .and_then(|id| self.records.get(id))
                .into_iter()
                .collect(),
            Lookup::ExternalId(x) => by_ids(self.external_ids.get(x)),
            Lookup::WorkEmail(e) => by_ids(self.work_emails.get(e)),
            Lookup::HasMember(uid) => by_ids(tenant.groups_of.get(uid)),
        }
    }
}

fn remove_from(index: &mut HashMap<String, BTreeSet<String>>, key: Option<&str>, id: &str) {
    if let Some(key) = key {
        if let Some(ids) = index.get_mut(key) {
            ids.remove(id);
            if ids.is_empty() {
                index.remove(key);
            }
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    // A poisoned lock only means another thread panicked mid-operation; every operation
    // validates before it mutates, so the data is still consistent and serving goes on.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<TenantId, Tenant>> {
        self.tenants.read().unwrap_or_else(|e| e.into_inner())
    }
    fn write(&self) -> RwLockWriteGuard<'_, HashMap<TenantId, Tenant>> {
        self.tenants.write().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, call: Call) {
        self.calls.record(call);
    }
}

impl Store for MemoryStore {
    async fn create(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: Record,
        members: &[String],
    ) -> StoreResult<()> {
        self.count(Call::TransactWriteItems);
        let mut tenants = self.write();
        let t = tenants.entry(tenant.clone()).or_default();
        let table = t.table(kind);
        if table.records.contains_key(&record.id) {
            return Err(StoreError::Internal("duplicate resource id".into()));
        }
        if table.taken(record.keys.unique.as_deref(), &record.id) {
            return Err(StoreError::Uniqueness {
                attribute: kind.unique_attribute(),
            });
        }
        t.check_members(members)?;
        let id = record.id.clone();
        let table = t.table_mut(kind);
        table.index(&record);
        table.records.insert(id.clone(), record);
        if kind == ResourceKind::Group {
            let change = MemberChange {
                add: members.to_vec(),
                ..MemberChange::default()
            };
            t.apply_members(&id, &change);
        }
        Ok(())
    }

    async fn get(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
    ) -> StoreResult<Option<Record>> {
        self.count(Call::GetItem);
        let tenants = self.read();
        Ok(tenants
            .get(tenant)
            .and_then(|t| t.table(kind).records.get(id))
            .cloned())
    }

    async fn update(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: Record,
        expected_version: u64,
        members: &MemberChange,
    ) -> StoreResult<()> {
        let unique_changes;
        {
            let mut tenants = self.write();
            let t = tenants.entry(tenant.clone()).or_default();
            let table = t.table(kind);
            let current = table.records.get(&record.id).ok_or(StoreError::NotFound)?;
            if current.version != expected_version {
                return Err(StoreError::VersionMismatch {
                    current: current.version,
                });
            }
            unique_changes = current.keys.unique != record.keys.unique;
            if table.taken(record.keys.unique.as_deref(), &record.id) {
                return Err(StoreError::Uniqueness {
                    attribute: kind.unique_attribute(),
                });
            }
            t.check_members(&members.add)?;
            let table = t.table_mut(kind);
            if let Some(old) = table.records.remove(&record.id) {
                table.unindex(&old);
            }
            table.index(&record);
            let id = record.id.clone();
            table.records.insert(id.clone(), record);
            if kind == ResourceKind::Group && !members.is_empty() {
                t.apply_members(&id, members);
            }
        }
        let plain = !unique_changes && members.is_empty();
        self.count(if plain {
            Call::PutItem
        } else {
            Call::TransactWriteItems
        });
        Ok(())
    }

    async fn delete(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<u64>,
    ) -> StoreResult<Deleted> {
        self.count(Call::TransactWriteItems);
        let mut tenants = self.write();
        let Some(t) = tenants.get_mut(tenant) else {
            return Ok(Deleted::NotFound);
        };
        let table = t.table_mut(kind);
        let Some(current) = table.records.get(id) else {
            return Ok(Deleted::NotFound);
        };
        if let Some(expected) = expected_version {
            if current.version != expected {
                return Err(StoreError::VersionMismatch {
                    current: current.version,
                });
            }
        }
        if let Some(old) = table.records.remove(id) {
            table.unindex(&old);
        }
        t.remove_memberships(kind, id);
        Ok(Deleted::Deleted)
    }

    async fn query(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        query: &Query,
    ) -> StoreResult<Page> {
        self.count(if query.lookup == Lookup::All {
            Call::Query
        } else {
            Call::GetItem
        });
        let tenants = self.read();
        let Some(t) = tenants.get(tenant) else {
            return Ok(Page {
                total: 0,
                records: Vec::new(),
                next: None,
            });
        };
        let mut matching: Vec<&Record> = t
            .table(kind)
            .candidates(t, &query.lookup)
            .into_iter()
            .filter(|r| {
                query
                    .filter
                    .as_ref()
                    .is_none_or(|f| filter::matches(f, kind, &r.doc))
            })
            .collect();
        if let Some(sort) = &query.sort {
            sort_records(kind, sort, &mut matching, |r: &&Record| &r.doc);
        }
        let total = matching.len() as u64;
        let (records, next) = page_of(&matching, &query.page);
        Ok(Page {
            total,
            records,
            next,
        })
    }

    async fn members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        limit: usize,
    ) -> StoreResult<Members> {
        self.count(Call::Query);
        let tenants = self.read();
        Ok(capped(
            tenants.get(tenant).and_then(|t| t.members.get(group_id)),
            limit,
        ))
    }

    async fn groups_of(
        &self,
        tenant: &TenantId,
        user_id: &str,
        limit: usize,
    ) -> StoreResult<Members> {
        self.count(Call::Query);
        let tenants = self.read();
        Ok(capped(
            tenants.get(tenant).and_then(|t| t.groups_of.get(user_id)),
            limit,
        ))
    }

    fn calls(&self) -> &Calls {
        &self.calls
    }
}

fn capped(ids: Option<&BTreeSet<String>>, limit: usize) -> Members {
    let ids = ids.map(|s| {
        s.iter()
            .take(limit.saturating_add(1))
            .cloned()
            .collect::<Vec<_>>()
    });
    let mut ids = ids.unwrap_or_default();
    let truncated = ids.len() > limit;
    ids.truncate(limit);
    Members { ids, truncated }
}
