//! Page checkpoints: where recently served index pages of an unfiltered listing began, so the
//! next page starts from a key instead of re-reading every earlier result.
//!
//! RFC 7644 index paging names a position (`startIndex=1001`), and a key-ordered store can only
//! reach a position by reading everything before it. When a page `901..1000` is served, the id
//! of its last result is where index 1001 begins; remembering that lets `startIndex=1001` start
//! with `ExclusiveStartKey` and read only its own page. Sequential paging then costs O(page)
//! per request rather than O(start index).
//!
//! Correctness: a checkpoint is the id order as this instance last saw it. Inserts and deletes
//! before that id since then shift the true index, so a page served from a checkpoint may skip
//! or repeat a result, as any offset paging does when the data changes between pages (RFC 7644
//! §3.4.2.4 allows it; cursors are the exact alternative). To keep the drift to "between
//! pages", this instance forgets a listing's checkpoints when it creates or deletes in it, and
//! every checkpoint expires after [`CHECKPOINT_TTL`], so a client starting afresh later never
//! lands on an old one. Writes by other instances are the documented window.
//!
//! Bounded: at most [`CHECKPOINT_CAPACITY`] entries, least recently used evicted first. A
//! `std` mutex: it is held for a map lookup and never across an await.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::TenantId;
use crate::scim::schema::ResourceKind;

/// Most checkpoints one instance keeps (a few hundred bytes each).
pub const CHECKPOINT_CAPACITY: usize = 256;
/// How long a checkpoint is trusted: long enough for a client paging at any sane pace, short
/// enough that a stale position never outlives the paging session that recorded it.
pub const CHECKPOINT_TTL: Duration = Duration::from_secs(120);

type Key = (TenantId, ResourceKind, u64);

#[derive(Debug)]
struct Entry {
    /// The id after which the index begins (the `ExclusiveStartKey`).
    after: String,
    recorded: Instant,
    /// Logical clock of the last use, for LRU eviction.
    used: u64,
}

#[derive(Debug, Default)]
struct Inner {
    map: BTreeMap<Key, Entry>,
    clock: u64,
}

/// The checkpoint cache of one store instance.
#[derive(Debug, Default)]
pub struct Checkpoints {
    inner: Mutex<Inner>,
}

impl Checkpoints {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only loses hints: the map is valid after any partial update.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers that, in the listing of `kind` in `tenant`, index `start` (1-based) begins
    /// right after the resource `after`.
    pub fn record(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        start: u64,
        after: String,
        now: Instant,
    ) {
        let mut inner = self.lock();
        inner.clock += 1;
        let used = inner.clock;
        let entry = Entry {
            after,
            recorded: now,
            used,
        };
        inner.map.insert((tenant.clone(), kind, start), entry);
        if inner.map.len() > CHECKPOINT_CAPACITY {
            let oldest = inner
                .map
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                inner.map.remove(&k);
            }
        }
    }

    /// The closest live checkpoint at or before index `start`: `(its index, the id after
    /// which it begins)`. Reading from it, `start - index` results are skipped.
    pub fn nearest(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        start: u64,
        now: Instant,
    ) -> Option<(u64, String)> {
        let mut inner = self.lock();
        inner.clock += 1;
        let used = inner.clock;
        let from = (tenant.clone(), kind, 0);
        let to = (tenant.clone(), kind, start);
        let (key, entry) = inner
            .map
            .range_mut(from..=to)
            .rev()
            .find(|(_, e)| now.saturating_duration_since(e.recorded) < CHECKPOINT_TTL)?;
        entry.used = used;
        Some((key.2, entry.after.clone()))
    }

    /// Forgets every checkpoint of a listing: this instance just changed it.
    pub fn forget(&self, tenant: &TenantId, kind: ResourceKind) {
        let mut inner = self.lock();
        let from = (tenant.clone(), kind, 0);
        let to = (tenant.clone(), kind, u64::MAX);
        let doomed: Vec<Key> = inner.map.range(from..=to).map(|(k, _)| k.clone()).collect();
        for k in doomed {
            inner.map.remove(&k);
        }
    }

    /// Number of checkpoints held.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResourceKind::{Group, User};

    #[test]
    fn nearest_finds_the_closest_live_checkpoint_of_the_same_listing() {
        let t0 = Instant::now();
        let (a, b) = (TenantId::default(), TenantId::parse("b").unwrap());
        let c = Checkpoints::default();
        c.record(&a, User, 101, "u100".into(), t0);
        c.record(&a, User, 201, "u200".into(), t0);
        c.record(&a, Group, 301, "g300".into(), t0);
        let later = t0 + CHECKPOINT_TTL;
        let rows: &[(
            &str,
            &TenantId,
            ResourceKind,
            u64,
            Instant,
            Option<(u64, &str)>,
        )] = &[
            ("exact", &a, User, 201, t0, Some((201, "u200"))),
            ("closest below", &a, User, 250, t0, Some((201, "u200"))),
            ("between", &a, User, 150, t0, Some((101, "u100"))),
            ("before any", &a, User, 100, t0, None),
            ("other kind", &a, Group, 250, t0, None),
            ("other tenant", &b, User, 201, t0, None),
            ("expired", &a, User, 201, later, None),
        ];
        for (name, t, kind, start, now, want) in rows {
            let got = c.nearest(t, *kind, *start, *now);
            let want = want.map(|(i, id)| (i, id.to_string()));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn forget_clears_one_listing_only() {
        let t0 = Instant::now();
        let a = TenantId::default();
        let c = Checkpoints::default();
        c.record(&a, User, 11, "u".into(), t0);
        c.record(&a, Group, 11, "g".into(), t0);
        c.forget(&a, User);
        assert_eq!(c.nearest(&a, User, 11, t0), None);
        assert_eq!(c.nearest(&a, Group, 11, t0), Some((11, "g".into())));
    }

    #[test]
    fn the_least_recently_used_checkpoint_is_evicted_past_capacity() {
        let t0 = Instant::now();
        let a = TenantId::default();
        let c = Checkpoints::default();
        for i in 0..CHECKPOINT_CAPACITY as u64 {
            c.record(&a, User, 10 + i, format!("u{i}"), t0);
        }
        // Index 10 is the oldest record, but using it makes index 11 the least recent.
        assert!(c.nearest(&a, User, 10, t0).is_some());
        c.record(&a, User, 100_000, "last".into(), t0);
        assert_eq!(c.len(), CHECKPOINT_CAPACITY);
        assert_eq!(c.nearest(&a, User, 10, t0), Some((10, "u0".into())));
        assert_eq!(
            c.nearest(&a, User, 11, t0),
            Some((10, "u0".into())),
            "11 evicted"
        );
    }
}
