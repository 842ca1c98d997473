//! The embedded store's data structures: per tenant, a table per kind (records in id order,
//! the unique-name guard and the lookup indexes) and the membership maps both ways, with the
//! operations that keep them consistent. Every method here runs under the store's lock and
//! neither parses nor evaluates anything.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::Id;
use crate::scim::schema::{Relation, ResourceKind};
use crate::store::document::compact;
use crate::store::{Document, IndexKeys, Lookup, MemberChange, Record, StoreError, StoreResult};
#[derive(Debug, Default)]
pub(super) struct Tenant {
    /// One table per resource type, indexed by [`ResourceKind`].
    tables: [Table; ResourceKind::ALL.len()],
    /// group id → member user ids.
    pub(super) members: BTreeMap<Id, BTreeSet<Id>>,
    /// user id → group ids (the reverse index).
    pub(super) groups_of: BTreeMap<Id, IdSet>,
}

/// A resource as kept: the document as compact JSON text.
#[derive(Debug)]
pub(super) struct Stored {
    pub(super) version: u64,
    pub(super) doc: Arc<str>,
    pub(super) keys: StoredKeys,
}

/// A resource's index keys as kept: each one `Arc<str>` shared with the index entry it names,
/// so a key's text is held once (two copies of three keys were about 3 MiB of a 20,000-user
/// tenant).
#[derive(Debug, Clone, Default)]
pub(super) struct StoredKeys {
    pub(super) unique: Option<Key>,
    pub(super) external_id: Option<Key>,
    pub(super) work_emails: Box<[Key]>,
}

/// An index key's text, shared by the index and the records it names.
pub(super) type Key = Arc<str>;

impl StoredKeys {
    fn of(keys: &IndexKeys) -> Self {
        StoredKeys {
            unique: keys.unique.as_deref().map(Arc::from),
            external_id: keys.external_id.as_deref().map(Arc::from),
            work_emails: keys
                .work_emails
                .iter()
                .map(|e| Arc::from(e.as_str()))
                .collect(),
        }
    }

    fn to_index_keys(&self) -> IndexKeys {
        IndexKeys {
            unique: self.unique.as_deref().map(str::to_string),
            external_id: self.external_id.as_deref().map(str::to_string),
            work_emails: self.work_emails.iter().map(|e| e.to_string()).collect(),
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Table {
    /// Records in id order: the stable order of listings. Shared handles, so a query can keep
    /// its candidates after releasing the lock.
    pub(super) records: BTreeMap<Id, Arc<Stored>>,
    /// Folded unique name → id.
    pub(super) unique: HashMap<Key, Id>,
    pub(super) external_ids: HashMap<Key, IdSet>,
    pub(super) work_emails: HashMap<Key, IdSet>,
}

/// A set of ids in id order that is usually a single id.
#[derive(Debug)]
pub(super) enum IdSet {
    One(Id),
    Many(BTreeSet<Id>),
}

impl IdSet {
    pub(super) fn insert(&mut self, id: Id) -> bool {
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
    pub(super) fn remove(&mut self, id: &str) -> bool {
        match self {
            IdSet::One(one) => &**one == id,
            IdSet::Many(set) => {
                set.remove(id);
                set.is_empty()
            }
        }
    }

    pub(super) fn iter(&self) -> Box<dyn Iterator<Item = &Id> + '_> {
        match self {
            IdSet::One(one) => Box::new(std::iter::once(one)),
            IdSet::Many(set) => Box::new(set.iter()),
        }
    }
}

pub(super) fn insert_into(index: &mut HashMap<Key, IdSet>, key: &Key, id: &Id) {
    match index.get_mut(&**key) {
        Some(set) => {
            set.insert(Arc::clone(id));
        }
        None => {
            index.insert(Arc::clone(key), IdSet::One(Arc::clone(id)));
        }
    }
}

pub(super) fn remove_from(index: &mut HashMap<Key, IdSet>, key: Option<&str>, id: &str) {
    if let Some(key) = key {
        if let Some(ids) = index.get_mut(key) {
            if ids.remove(id) {
                index.remove(key);
            }
        }
    }
}

impl Stored {
    pub(super) fn of(record: &Record) -> StoreResult<Stored> {
        let doc = match &record.doc {
            // Written back as read (a group's member-only change keeps its document).
            Document::Text(text) => Arc::clone(text),
            Document::Tree(tree) => compact(tree)?,
        };
        Ok(Stored {
            version: record.version,
            doc,
            keys: StoredKeys::of(&record.keys),
        })
    }

    /// This resource at `version` with the document `doc`, its keys (and so the index
    /// entries that share them) unchanged: a member change touches no key.
    pub(super) fn restamped(&self, version: u64, doc: &Value) -> StoreResult<Stored> {
        Ok(Stored {
            version,
            doc: compact(doc)?,
            keys: self.keys.clone(),
        })
    }

    pub(super) fn doc(&self) -> StoreResult<Value> {
        Document::Text(Arc::clone(&self.doc)).into_tree()
    }

    /// The record, its document as the stored text (parsed only if a reader asks).
    pub(super) fn record(&self, id: &str) -> Record {
        Record {
            id: id.to_string(),
            version: self.version,
            doc: Document::Text(Arc::clone(&self.doc)),
            keys: self.keys.to_index_keys(),
        }
    }
}

impl Tenant {
    pub(super) fn table(&self, kind: ResourceKind) -> &Table {
        &self.tables[kind as usize]
    }
    pub(super) fn table_mut(&mut self, kind: ResourceKind) -> &mut Table {
        &mut self.tables[kind as usize]
    }
    /// The table of the resources that hold member lists (groups).
    pub(super) fn holders(&self) -> &Table {
        self.table(ResourceKind::with_relation(Relation::Members))
    }
    /// The same, to write.
    pub(super) fn holders_mut(&mut self) -> &mut Table {
        self.table_mut(ResourceKind::with_relation(Relation::Members))
    }
    /// The table of the resources that can be members (users).
    fn members_table(&self) -> &Table {
        self.table(ResourceKind::with_relation(Relation::MemberOf))
    }

    /// Checks that every id to add is an existing user, before anything is written; returns
    /// the shared ids.
    pub(super) fn check_members(&self, ids: &[String]) -> StoreResult<Vec<Id>> {
        ids.iter()
            .map(
                |id| match self.members_table().records.get_key_value(id.as_str()) {
                    Some((shared, _)) => Ok(Arc::clone(shared)),
                    None => Err(StoreError::MissingMember { id: id.clone() }),
                },
            )
            .collect()
    }

    /// Applies a member change and returns the ids it really added and removed (a member
    /// removed and added again by a replace-all is neither).
    pub(super) fn apply_members(
        &mut self,
        group_id: &Id,
        change: &MemberChange,
        add: Vec<Id>,
    ) -> (Vec<String>, Vec<String>) {
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
        let kept: BTreeSet<Id> = current.iter().cloned().collect();
        let net_removed: Vec<String> = removed
            .iter()
            .filter(|id| !kept.contains(*id))
            .map(|id| id.to_string())
            .collect();
        let net_added: Vec<String> = added
            .iter()
            .filter(|id| !removed.contains(id))
            .map(|id| id.to_string())
            .collect();
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
        (net_added, net_removed)
    }

    /// Whether a member change would change nothing: every add is a member, every remove is
    /// not, and a replace-all lists exactly the current members.
    pub(super) fn changes_nothing(&self, group_id: &str, change: &MemberChange) -> bool {
        let current = self.members.get(group_id);
        let has = |id: &str| current.is_some_and(|m| m.contains(id));
        if change.clear {
            let listed: BTreeSet<&str> = change.add.iter().map(String::as_str).collect();
            return current.map_or(0, BTreeSet::len) == listed.len()
                && listed.iter().all(|id| has(id));
        }
        change.add.iter().all(|id| has(id)) && change.remove.iter().all(|id| !has(id))
    }

    /// Checks a replace-all against the per-request limit: the ids it lists plus the current
    /// members it removes ([`crate::store::limits::check_replace`], as the DynamoDB store counts them).
    pub(super) fn check_replace(&self, group_id: &str, change: &MemberChange) -> StoreResult<()> {
        let listed: BTreeSet<&str> = change.add.iter().map(String::as_str).collect();
        let removed = self.members.get(group_id).map_or(0, |m| {
            m.iter().filter(|id| !listed.contains(id.as_ref())).count()
        });
        crate::store::limits::check_replace(change.add.len(), removed)
    }

    pub(super) fn remove_memberships(&mut self, kind: ResourceKind, id: &str) {
        match kind.relation() {
            Relation::MemberOf => {
                if let Some(groups) = self.groups_of.remove(id) {
                    for gid in groups.iter() {
                        if let Some(m) = self.members.get_mut(gid) {
                            m.remove(id);
                        }
                    }
                }
            }
            Relation::Members => {
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
    pub(super) fn index(&mut self, id: &Id, keys: &StoredKeys) {
        if let Some(u) = &keys.unique {
            self.unique.insert(Arc::clone(u), Arc::clone(id));
        }
        if let Some(x) = &keys.external_id {
            insert_into(&mut self.external_ids, x, id);
        }
        for e in &keys.work_emails {
            insert_into(&mut self.work_emails, e, id);
        }
    }

    pub(super) fn unindex(&mut self, id: &str, keys: &StoredKeys) {
        if let Some(u) = &keys.unique {
            if self.unique.get(&**u).is_some_and(|owner| &**owner == id) {
                self.unique.remove(&**u);
            }
        }
        remove_from(&mut self.external_ids, keys.external_id.as_deref(), id);
        for e in &keys.work_emails {
            remove_from(&mut self.work_emails, Some(e), id);
        }
    }

    /// Whether `unique` belongs to a resource other than `id`.
    pub(super) fn taken(&self, unique: Option<&str>, id: &str) -> bool {
        unique
            .and_then(|u| self.unique.get(u))
            .is_some_and(|owner| &**owner != id)
    }

    /// The shared id of `id` when it is stored here, else a new one.
    pub(super) fn shared_id(&self, id: &str) -> Id {
        self.records
            .get_key_value(id)
            .map_or_else(|| Arc::from(id), |(k, _)| Arc::clone(k))
    }

    /// Candidates in id order (for an index, the index's id order).
    pub(super) fn candidates<'a>(
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
