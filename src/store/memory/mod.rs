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
//! text), and rendered from that text or parsed when it is read; each id is one shared
//! `Arc<str>` referenced by the record, the unique guard, the indexes and the memberships, and
//! each index key one shared by the record and its index entry; and an index entry or membership
//! that names a single id holds it inline instead of in a one-element `BTreeSet`. A stored
//! Entra user costs about 1.3 KiB instead of about 6 KiB.

mod feed;
mod registry;

pub use feed::{AttachedFeed, ChangeStream, EmittingFeed};
mod tables;

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;

use tables::{IdSet, Stored, Tenant};

use super::limits::{self, Budget};
use super::{
    Broken, Call, Calls, Deleted, Lookup, MemberChange, Members, Page, PageRequest, Query, Record,
    Store, StoreError, StoreResult, TenantId, page_of, stamp_meta,
};
use crate::change::{ChangeKind, UpdateKind};
use crate::scim::filter::{self, Work};
use crate::scim::list::sort_records;
use crate::scim::schema::ResourceKind;

/// A resource id, shared by every structure that refers to it.
pub(super) type Id = Arc<str>;

/// In-memory [`Store`].
#[derive(Debug, Default)]
pub struct MemoryStore {
    tenants: RwLock<HashMap<TenantId, Tenant>>,
    calls: Calls,
    registry: registry::RegistryState,
    feed_out: feed::FeedOut,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose embedded feed keeps at most the newest `window` events per
    /// tenant (a local server's: memory is the feed's only storage).
    pub fn with_feed_window(window: usize) -> Self {
        MemoryStore {
            feed_out: feed::FeedOut::with_window(window),
            ..Self::default()
        }
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
        if kind.has_members() {
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
        let stored = Arc::new(stored);
        table.records.insert(Arc::clone(&id), Arc::clone(&stored));
        let mut added = Vec::new();
        if kind.has_members() {
            added = t.apply_members(&id, &MemberChange::default(), add).0;
        }
        self.emit(
            tenant,
            kind,
            &id,
            ChangeKind::Created,
            None,
            Some(&stored),
            added,
            Vec::new(),
        );
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
        Ok(found.map(|s| s.record(id)))
    }

    async fn update_as(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: &Record,
        expected_version: u64,
        members: &MemberChange,
        write: UpdateKind,
    ) -> StoreResult<()> {
        let stored = Stored::of(record)?;
        limits::check_record(kind, record, stored.doc.len())?;
        if kind.has_members() {
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
            unique_changes = current.keys.unique.as_deref() != record.keys.unique.as_deref();
            if table.taken(record.keys.unique.as_deref(), &record.id) {
                return Err(StoreError::Uniqueness {
                    attribute: kind.unique_attribute(),
                });
            }
            if kind.has_members() && members.clear {
                t.check_replace(&record.id, members)?;
            }
            let add = t.check_members(&members.add)?;
            let table = t.table_mut(kind);
            let id = table.shared_id(&record.id);
            let before = table.records.remove(record.id.as_str());
            if let Some(old) = &before {
                table.unindex(&record.id, &old.keys);
            }
            table.index(&id, &stored.keys);
            let stored = Arc::new(stored);
            table.records.insert(Arc::clone(&id), Arc::clone(&stored));
            let (added, removed) = if kind.has_members() && !members.is_empty() {
                t.apply_members(&id, members, add)
            } else {
                (Vec::new(), Vec::new())
            };
            self.emit(
                tenant,
                kind,
                &id,
                write.into(),
                before.as_ref(),
                Some(&stored),
                added,
                removed,
            );
        }
        let plain = !unique_changes && members.is_empty();
        self.count(if plain {
            Call::PutItem
        } else {
            Call::TransactWriteItems
        });
        Ok(())
    }

    async fn update_members_as(
        &self,
        tenant: &TenantId,
        group_id: &str,
        members: &MemberChange,
        expected_version: Option<u64>,
        modified: &str,
        write: UpdateKind,
    ) -> StoreResult<Record> {
        limits::check_members(members.add.len(), members)?;
        self.count(Call::TransactWriteItems);
        let current = {
            let tenants = self.read();
            tenants
                .get(tenant)
                .and_then(|t| t.holders().records.get(group_id))
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
            let stored = current.restamped(version, &doc)?;
            let mut tenants = self.write();
            let t = tenants.entry(tenant.clone()).or_default();
            let now = t
                .holders_mut()
                .records
                .get(group_id)
                .map(Arc::clone)
                .ok_or(StoreError::NotFound)?;
            if !Arc::ptr_eq(&now, &current) {
                drop(tenants);
                current = now;
                continue;
            }
            if members.clear {
                t.check_replace(group_id, members)?;
            }
            let add = t.check_members(&members.add)?;
            if t.changes_nothing(group_id, members) {
                // Re-adding members or removing non-members: nothing is written, the version
                // stays, and the feed sees no change.
                return Ok(current.record(group_id));
            }
            let groups = t.holders_mut();
            let id = groups.shared_id(group_id);
            let stored = Arc::new(stored);
            groups.records.insert(Arc::clone(&id), Arc::clone(&stored));
            let (added, removed) = t.apply_members(&id, members, add);
            self.emit(
                tenant,
                ResourceKind::Group,
                &id,
                write.into(),
                Some(&current),
                Some(&stored),
                added,
                removed,
            );
            return Ok(stored.record(group_id));
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
        if let Some((shared, old)) = table.records.remove_entry(id) {
            table.unindex(id, &old.keys);
            self.emit(
                tenant,
                kind,
                &shared,
                ChangeKind::Deleted,
                Some(&old),
                None,
                Vec::new(),
                Vec::new(),
            );
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
                let records = page.iter().map(|(id, s)| s.record(id)).collect();
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
            // Parsed only to evaluate a filter (or sort): an index lookup renders the text.
            let mut record = stored.record(id);
            let keep = match &query.filter {
                None => true,
                Some(f) => filter::matches_within(f, kind, record.doc.tree()?, &work),
            };
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
            for record in &mut matching {
                record.doc.tree()?;
            }
            sort_records(kind, sort, &mut matching, |r: &Record| {
                r.doc.parsed().unwrap_or(&Value::Null)
            });
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
