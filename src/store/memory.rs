//! The embedded store: everything in process memory, for local runs and tests.
//!
//! One `RwLock` over all tenants makes every operation trivially atomic (uniqueness, version
//! checks, membership with existence checks). A `std` lock rather than Tokio's: no operation
//! awaits while holding it, and it is cheaper (tokio-rs/mini-redis `db.rs` makes the same
//! choice). Operations are counted as the DynamoDB calls they stand for, so costs read alike.
//!
//! The lock is held only to check and change, never to evaluate: a filtered query takes
//! shared handles (`Arc<Stored>`) of its candidates under the read lock and parses and
//! evaluates them after releasing it, so a costly filter cannot make a writer wait (writers
//! need the lock exclusively). Every write checks the documented limits
//! ([`super::limits`]) before it takes the lock, as the DynamoDB store does before it writes.
//!
//! Memory (docs/performance.md, "Memory store"): a document is kept as its compact JSON text,
//! not as a `serde_json::Value` tree (whose order-preserving maps cost about four times the
//! text), and parsed when it is read; each id is one shared `Arc<str>` referenced by the
//! record, the unique guard, the indexes and the memberships; and an index entry or membership
//! that names a single id holds it inline instead of in a one-element `BTreeSet`. A stored
//! Entra user costs about 1.3 KiB instead of about 6 KiB.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;

use super::limits::{self, Budget};
use super::{
    Broken, Call, Calls, Deleted, IndexKeys, Lookup, MemberChange, Members, Page, PageRequest,
    Query, Record, Store, StoreError, StoreResult, TenantId, page_of, stamp_meta,
};
use crate::scim::filter::{self, Work};
use crate::scim::list::sort_records;
use crate::scim::schema::ResourceKind;

/// A resource id, shared by every structure that refers to it.
type Id = Arc<str>;

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
    members: BTreeMap<Id, BTreeSet<Id>>,
    /// user id → group ids (the reverse index).
    groups_of: BTreeMap<Id, IdSet>,
}

/// A resource as kept: the document as compact JSON text.
#[derive(Debug)]
struct Stored {
    version: u64,
    doc: Box<[u8]>,
    keys: IndexKeys,
}

#[derive(Debug, Default)]
struct Table {
    /// Records in id order: the stable order of listings. Shared handles, so a query can keep
    /// its candidates after releasing the lock.
    records: BTreeMap<Id, Arc<Stored>>,
    /// Folded unique name → id.
    unique: HashMap<Box<str>, Id>,
    external_ids: HashMap<Box<str>, IdSet>,
    work_emails: HashMap<Box<str>, IdSet>,
}

/// A set of ids in id order that is usually a single id.
#[derive(Debug)]
enum IdSet {
    One(Id),
    Many(BTreeSet<Id>),
}

impl IdSet {
    fn insert(&mut self, id: Id) -> bool {
        match self {
            IdSet::One(one) if *one == id => false,
            IdSet::One(one) => {
                let set = BTreeSet::from([Arc::clone(one), id]);
                *self = IdSet::Many(set);
                true
            }
            IdSet::Many(set) => set.insert(id),
        }
    }

    /// Removes `id`; returns whether the set is now empty.
    fn remove(&mut self, id: &str) -> bool {
        match self {
            IdSet::One(one) => &**one == id,
            IdSet::Many(set) => {
                set.remove(id);
                set.is_empty()
            }
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = &Id> + '_> {
        match self {
            IdSet::One(one) => Box::new(std::iter::once(one)),
            IdSet::Many(set) => Box::new(set.iter()),
        }
    }
}

fn insert_into<K: Into<Box<str>> + AsRef<str>>(
    index: &mut HashMap<Box<str>, IdSet>,
    key: K,
    id: &Id,
) {
    match index.get_mut(key.as_ref()) {
        Some(set) => {
            set.insert(Arc::clone(id));
        }
        None => {
            index.insert(key.into(), IdSet::One(Arc::clone(id)));
        }
    }
}

fn remove_from(index: &mut HashMap<Box<str>, IdSet>, key: Option<&str>, id: &str) {
    if let Some(key) = key {
        if let Some(ids) = index.get_mut(key) {
            if ids.remove(id) {
                index.remove(key);
            }
        }
    }
}

impl Stored {
    fn of(record: &Record) -> StoreResult<Stored> {
        // Serialised into a reused buffer, then copied into an allocation of exactly its
        // length: a growing `String` shrunk with `into_boxed_str` reallocates and leaves holes
        // that showed up as RSS growth under a PATCH-heavy sync.
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let doc = SCRATCH.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.clear();
            serde_json::to_writer(&mut *buf, &record.doc)
                .map(|()| Box::<[u8]>::from(buf.as_slice()))
                .map_err(|e| StoreError::Internal(Box::new(e)))
        })?;
        Ok(Stored {
            version: record.version,
            doc,
            keys: record.keys.clone(),
        })
    }

    fn doc(&self) -> StoreResult<Value> {
        serde_json::from_slice(&self.doc).map_err(|e| StoreError::Internal(Box::new(e)))
    }

    fn record(&self, id: &str) -> StoreResult<Record> {
        Ok(Record {
            id: id.to_string(),
            version: self.version,
            doc: self.doc()?,
            keys: self.keys.clone(),
        })
    }
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

    /// Checks that every id to add is an existing user, before anything is written; returns
    /// the shared ids.
    fn check_members(&self, ids: &[String]) -> StoreResult<Vec<Id>> {
        ids.iter()
            .map(|id| match self.users.records.get_key_value(id.as_str()) {
                Some((shared, _)) => Ok(Arc::clone(shared)),
                None => Err(StoreError::MissingMember { id: id.clone() }),
            })
            .collect()
    }

    fn apply_members(&mut self, group_id: &Id, change: &MemberChange, add: Vec<Id>) {
        let current = self.members.entry(Arc::clone(group_id)).or_default();
        let mut removed: Vec<Id> = Vec::new();
        if change.clear {
            removed.extend(std::mem::take(current));
        }
        for id in &change.remove {
            if let Some(id) = current.take(id.as_str()) {
                removed.push(id);
            }
        }
        let mut added = Vec::new();
        for id in add {
            if current.insert(Arc::clone(&id)) {
                added.push(id);
            }
        }
        for uid in removed {
            if let Some(groups) = self.groups_of.get_mut(&uid) {
                if groups.remove(group_id) {
                    self.groups_of.remove(&uid);
                }
            }
        }
        for uid in added {
            match self.groups_of.get_mut(&uid) {
                Some(groups) => {
                    groups.insert(Arc::clone(group_id));
                }
                None => {
                    self.groups_of.insert(uid, IdSet::One(Arc::clone(group_id)));
                }
            }
        }
    }

    fn remove_memberships(&mut self, kind: ResourceKind, id: &str) {
        match kind {
            ResourceKind::User => {
                if let Some(groups) = self.groups_of.remove(id) {
                    for gid in groups.iter() {
                        if let Some(m) = self.members.get_mut(gid) {
                            m.remove(id);
                        }
                    }
                }
            }
            ResourceKind::Group => {
                for uid in self.members.remove(id).unwrap_or_default() {
                    if let Some(g) = self.groups_of.get_mut(&uid) {
                        if g.remove(id) {
                            self.groups_of.remove(&uid);
                        }
                    }
                }
            }
        }
    }
}

impl Table {
    fn index(&mut self, id: &Id, keys: &IndexKeys) {
        if let Some(u) = &keys.unique {
            self.unique.insert(u.as_str().into(), Arc::clone(id));
        }
        if let Some(x) = &keys.external_id {
            insert_into(&mut self.external_ids, x.as_str(), id);
        }
        for e in &keys.work_emails {
            insert_into(&mut self.work_emails, e.as_str(), id);
        }
    }

    fn unindex(&mut self, id: &str, keys: &IndexKeys) {
        if let Some(u) = &keys.unique {
            if self
                .unique
                .get(u.as_str())
                .is_some_and(|owner| &**owner == id)
            {
                self.unique.remove(u.as_str());
            }
        }
        remove_from(&mut self.external_ids, keys.external_id.as_deref(), id);
        for e in &keys.work_emails {
            remove_from(&mut self.work_emails, Some(e.as_str()), id);
        }
    }

    /// Whether `unique` belongs to a resource other than `id`.
    fn taken(&self, unique: Option<&str>, id: &str) -> bool {
        unique
            .and_then(|u| self.unique.get(u))
            .is_some_and(|owner| &**owner != id)
    }

    /// The shared id of `id` when it is stored here, else a new one.
    fn shared_id(&self, id: &str) -> Id {
        self.records
            .get_key_value(id)
            .map_or_else(|| Arc::from(id), |(k, _)| Arc::clone(k))
    }

    /// Candidates in id order (for an index, the index's id order).
    fn candidates<'a>(
        &'a self,
        tenant: &'a Tenant,
        lookup: &Lookup,
    ) -> Box<dyn Iterator<Item = (&'a Id, &'a Arc<Stored>)> + 'a> {
        let by_ids = move |ids: Option<&'a IdSet>| -> Box<
            dyn Iterator<Item = (&'a Id, &'a Arc<Stored>)> + 'a,
        > {
                Box::new(
                    ids.into_iter()
                        .flat_map(IdSet::iter)
                        .filter_map(move |id| self.records.get_key_value(id)),
                )
            };
        match lookup {
            Lookup::All => Box::new(self.records.iter()),
            Lookup::Id(id) => Box::new(self.records.get_key_value(id.as_str()).into_iter()),
            Lookup::Unique(u) => Box::new(
                self.unique
                    .get(u.as_str())
                    .and_then(|id| self.records.get_key_value(id))
                    .into_iter(),
            ),
            Lookup::ExternalId(x) => by_ids(self.external_ids.get(x.as_str())),
            Lookup::WorkEmail(e) => by_ids(self.work_emails.get(e.as_str())),
            Lookup::HasMember(uid) => by_ids(tenant.groups_of.get(uid.as_str())),
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
        record: &Record,
        members: &[String],
    ) -> StoreResult<()> {
        self.count(Call::TransactWriteItems);
        // Serialised and checked before the lock is taken: the lock is held only to check
        // and insert.
        let stored = Stored::of(record)?;
        limits::check_record(kind, record, stored.doc.len())?;
        if kind == ResourceKind::Group {
            limits::check_members(members.len(), &MemberChange::default())?;
        }
        let mut tenants = self.write();
        let t = tenants.entry(tenant.clone()).or_default();
        let table = t.table(kind);
        if table.records.contains_key(record.id.as_str()) {
            return Err(Broken::DuplicateId(record.id.clone()).into());
        }
        if table.taken(record.keys.unique.as_deref(), &record.id) {
            return Err(StoreError::Uniqueness {
                attribute: kind.unique_attribute(),
            });
        }
        let add = t.check_members(members)?;
        let id: Id = Arc::from(record.id.as_str());
        let table = t.table_mut(kind);
        table.index(&id, &stored.keys);
        table.records.insert(Arc::clone(&id), Arc::new(stored));
        if kind == ResourceKind::Group {
            t.apply_members(&id, &MemberChange::default(), add);
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
        // Only a handle is taken under the lock; parsing happens after it is released.
        let found = {
            let tenants = self.read();
            tenants
                .get(tenant)
                .and_then(|t| t.table(kind).records.get(id))
                .map(Arc::clone)
        };
        found.map(|s| s.record(id)).transpose()
    }

    async fn update(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: &Record,
        expected_version: u64,
        members: &MemberChange,
    ) -> StoreResult<()> {
        let stored = Stored::of(record)?;
        limits::check_record(kind, record, stored.doc.len())?;
        if kind == ResourceKind::Group {
            limits::check_members(members.add.len(), members)?;
        }
        let unique_changes;
        {
            let mut tenants = self.write();
            let t = tenants.entry(tenant.clone()).or_default();
            let table = t.table(kind);
            let current = table
                .records
                .get(record.id.as_str())
                .ok_or(StoreError::NotFound)?;
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
            let add = t.check_members(&members.add)?;
            let table = t.table_mut(kind);
            let id = table.shared_id(&record.id);
            if let Some(old) = table.records.remove(record.id.as_str()) {
                table.unindex(&record.id, &old.keys);
            }
            table.index(&id, &stored.keys);
            table.records.insert(Arc::clone(&id), Arc::new(stored));
            if kind == ResourceKind::Group && !members.is_empty() {
                t.apply_members(&id, members, add);
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

    async fn update_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        members: &MemberChange,
        expected_version: Option<u64>,
        modified: &str,
    ) -> StoreResult<Record> {
        limits::check_members(members.add.len(), members)?;
        self.count(Call::TransactWriteItems);
        let current = {
            let tenants = self.read();
            tenants
                .get(tenant)
                .and_then(|t| t.groups.records.get(group_id))
                .map(Arc::clone)
                .ok_or(StoreError::NotFound)?
        };
        // The document is re-stamped outside the lock; the write below only goes ahead if the
        // group is still the one stamped (else another writer won: read and stamp again).
        let mut current = current;
        loop {
            let version = current.version + 1;
            if expected_version.is_some_and(|v| v != current.version) {
                return Err(StoreError::VersionMismatch {
                    current: current.version,
                });
            }
            let mut doc = current.doc()?;
            stamp_meta(&mut doc, version, modified);
            let record = Record {
                id: group_id.to_string(),
                version,
                doc,
                keys: current.keys.clone(),
            };
            let stored = Stored::of(&record)?;
            let mut tenants = self.write();
            let t = tenants.entry(tenant.clone()).or_default();
            let now = t
                .groups
                .records
                .get(group_id)
                .map(Arc::clone)
                .ok_or(StoreError::NotFound)?;
            if !Arc::ptr_eq(&now, &current) {
                drop(tenants);
                current = now;
                continue;
            }
            let add = t.check_members(&members.add)?;
            let id = t.groups.shared_id(group_id);
            t.groups.records.insert(Arc::clone(&id), Arc::new(stored));
            t.apply_members(&id, members, add);
            return Ok(record);
        }
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
            table.unindex(id, &old.keys);
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
        let empty = || Page {
            total: 0,
            records: Vec::new(),
            next: None,
        };
        if !limits::lookup_fits(&query.lookup) {
            return Ok(empty());
        }
        let candidates: Vec<(Id, Arc<Stored>)> = {
            let tenants = self.read();
            let Some(t) = tenants.get(tenant) else {
                return Ok(empty());
            };
            let table = t.table(kind);
            if let (None, None, PageRequest::Index { start_index, count }) =
                (&query.filter, &query.sort, &query.page)
            {
                let skip = usize::try_from(start_index.get() - 1).unwrap_or(usize::MAX);
                // Nothing to evaluate: count, then take only the page (a page of a large
                // listing costs its size plus a walk to its start, not a copy of every match).
                let total = match query.lookup {
                    Lookup::All => table.records.len(),
                    _ => table.candidates(t, &query.lookup).count(),
                };
                let page: Vec<(Id, Arc<Stored>)> = table
                    .candidates(t, &query.lookup)
                    .skip(skip)
                    .take(*count)
                    .map(|(id, s)| (Arc::clone(id), Arc::clone(s)))
                    .collect();
                drop(tenants);
                let records = page
                    .iter()
                    .map(|(id, s)| s.record(id))
                    .collect::<StoreResult<Vec<_>>>()?;
                return Ok(Page {
                    total: total as u64,
                    records,
                    next: None,
                });
            }
            table
                .candidates(t, &query.lookup)
                .map(|(id, s)| (Arc::clone(id), Arc::clone(s)))
                .collect()
        };
        // The lock is released: parsing and evaluating hold up no writer.
        let work = Work::per_query();
        let mut matching: Vec<Record> = Vec::new();
        for (id, stored) in &candidates {
            let record = stored.record(id)?;
            let keep = query
                .filter
                .as_ref()
                .is_none_or(|f| filter::matches_within(f, kind, &record.doc, &work));
            if work.exhausted() {
                return Err(StoreError::TooMany {
                    budget: Budget::Filter {
                        bytes: filter::MAX_FILTER_WORK_BYTES,
                    },
                });
            }
            if keep {
                matching.push(record);
            }
        }
        if let Some(sort) = &query.sort {
            sort_records(kind, sort, &mut matching, |r: &Record| &r.doc);
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
            tenants
                .get(tenant)
                .and_then(|t| t.members.get(group_id))
                .map(|s| Box::new(s.iter()) as Box<dyn Iterator<Item = &Id>>),
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
            tenants
                .get(tenant)
                .and_then(|t| t.groups_of.get(user_id))
                .map(IdSet::iter),
            limit,
        ))
    }

    fn calls(&self) -> &Calls {
        &self.calls
    }
}

fn capped<'a>(ids: Option<Box<dyn Iterator<Item = &'a Id> + 'a>>, limit: usize) -> Members {
    let mut ids: Vec<String> = ids
        .into_iter()
        .flatten()
        .take(limit.saturating_add(1))
        .map(|id| id.to_string())
        .collect();
    let truncated = ids.len() > limit;
    ids.truncate(limit);
    Members { ids, truncated }
}
