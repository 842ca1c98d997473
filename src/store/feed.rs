//! The stored change feed: each tenant's events in `seq` order, kept for a retention period,
//! and the [`FeedStore`] trait both stores implement.
//!
//! Only the feed pipeline appends, never a SCIM request, so SCIM writes never contend on the
//! feed. An append numbers its events and writes them in one atomic step, so a reader can
//! never see `seq` N+1 before N exists: a consumer that keeps the last `seq` it read misses
//! nothing and reads nothing twice. A change that is already in the feed (a redelivered
//! stream record) is recognised by its `txn` and skipped.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::change::Change;
use crate::feed::Event;
use crate::store::{StoreResult, TenantId};

/// Default retention of stored events.
pub const DEFAULT_RETENTION_DAYS: u64 = 30;

/// Most events one page of the pull API returns.
pub const MAX_PAGE: usize = 1000;

/// One stored event: its position and its JSON document, exactly as first rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The position in the tenant's feed.
    pub seq: u64,
    /// The event document (JSON text).
    pub doc: String,
}

/// A page of a tenant's feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPage {
    /// Events with `seq` greater than the `after` asked for, ascending.
    pub events: Vec<StoredEvent>,
    /// The `seq` to continue after: the last one returned, or `after` itself when there are
    /// none yet.
    pub next: u64,
}

/// How long events are kept, and the clock that stamps their expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Seconds an event is kept after it is appended.
    pub secs: u64,
    /// Now, in seconds since the Unix epoch.
    pub now_secs: u64,
}

impl Retention {
    /// When an event appended now expires.
    pub fn expiry(&self) -> u64 {
        self.now_secs.saturating_add(self.secs)
    }
}

/// The stored feed.
pub trait FeedStore: Send + Sync + 'static {
    /// Appends one event per change of `tenant` not yet in its feed, numbered from the
    /// feed's next `seq` in the order given, atomically with the feed's counter. Returns the
    /// events appended (a change already in the feed is skipped, and not returned).
    ///
    /// # Errors
    /// Backend failures; `Contention` when other appenders kept winning.
    fn append(
        &self,
        tenant: &TenantId,
        changes: &[Change],
        retention: Retention,
    ) -> impl Future<Output = StoreResult<Vec<Event>>> + Send;

    /// The events after `after`, at most `limit` (capped at [`MAX_PAGE`]), in one read.
    ///
    /// # Errors
    /// Backend failures.
    fn events(
        &self,
        tenant: &TenantId,
        after: u64,
        limit: usize,
        now_secs: u64,
    ) -> impl Future<Output = StoreResult<FeedPage>> + Send;
}

/// The embedded feed (local runs and tests): per tenant, the events and the `txn`s seen.
///
/// Besides the retention period, it keeps at most a window of each tenant's newest events:
/// memory is its only storage, and an Entra sync of 20,000 users yields about 42,000 events
/// (some 40 MiB kept for 30 days). Past the window, as past the retention, pulls skip the
/// dropped events and `next` still moves on.
#[derive(Debug)]
pub struct MemoryFeed {
    tenants: Mutex<HashMap<TenantId, TenantFeed>>,
    window: usize,
}

impl Default for MemoryFeed {
    fn default() -> Self {
        MemoryFeed::with_window(usize::MAX)
    }
}

#[derive(Debug, Default)]
struct TenantFeed {
    last_seq: u64,
    /// Events in `seq` order, which is also expiry order (every event gets the same
    /// retention from the time it was appended).
    events: VecDeque<KeptEvent>,
    /// The `txn` of every kept event: a redelivered change is recognised while its event is
    /// kept, and forgotten with it.
    txns: HashSet<Arc<str>>,
}

#[derive(Debug)]
struct KeptEvent {
    seq: u64,
    expiry: u64,
    /// Exactly sized: tens of thousands are kept.
    doc: Box<str>,
    /// Shared with `txns`.
    txn: Arc<str>,
}

impl TenantFeed {
    /// Drops the expired events and their `txn`s: work in proportion to what expires, not to
    /// what is kept (a walk of every marker on each append made a 40,000-event feed cost
    /// 65 µs per append).
    fn expire(&mut self, now_secs: u64) {
        while self.events.front().is_some_and(|e| e.expiry <= now_secs) {
            self.drop_oldest();
        }
    }

    /// Drops the oldest events until at most `window` are kept.
    fn trim(&mut self, window: usize) {
        while self.events.len() > window {
            self.drop_oldest();
        }
    }

    fn drop_oldest(&mut self) {
        if let Some(gone) = self.events.pop_front() {
            self.txns.remove(&gone.txn);
        }
    }
}

impl MemoryFeed {
    /// An empty feed that keeps every event for its retention period (tests, and a feed
    /// whose size is bounded elsewhere).
    pub fn new() -> Self {
        MemoryFeed::default()
    }

    /// An empty feed that keeps at most the newest `window` events per tenant.
    pub fn with_window(window: usize) -> Self {
        MemoryFeed {
            tenants: Mutex::default(),
            window,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, TenantFeed>> {
        // A panic while holding the lock cannot leave a half-appended batch: every append
        // is computed first and applied with infallible pushes.
        self.tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl MemoryFeed {
    /// Appends as [`FeedStore::append`] does, and returns each appended event with its
    /// document, rendered once for the feed and the caller.
    pub fn append_rendered(
        &self,
        tenant: &TenantId,
        changes: &[Change],
        retention: Retention,
    ) -> Vec<(Event, String)> {
        let mut tenants = self.lock();
        let feed = tenants.entry(tenant.clone()).or_default();
        feed.expire(retention.now_secs);
        let mut seen = HashSet::new();
        let mut appended = Vec::new();
        for change in changes.iter().filter(|c| &c.tenant == tenant) {
            let txn: Arc<str> = change.txn().into();
            if feed.txns.contains(&txn) || !seen.insert(Arc::clone(&txn)) {
                continue;
            }
            let event = Event {
                seq: feed.last_seq + 1 + appended.len() as u64,
                change: change.clone(),
            };
            appended.push((txn, event));
        }
        let expiry = retention.expiry();
        let mut events = Vec::with_capacity(appended.len());
        for (txn, event) in appended {
            let doc = event.render();
            feed.txns.insert(Arc::clone(&txn));
            feed.events.push_back(KeptEvent {
                seq: event.seq,
                expiry,
                // A copy of exactly its length: shrinking the rendered `String` in place
                // would leave its tail as a hole in the heap, tens of thousands of times.
                doc: Box::from(doc.as_str()),
                txn,
            });
            feed.last_seq = event.seq;
            events.push((event, doc));
        }
        feed.trim(self.window);
        events
    }
}

impl FeedStore for MemoryFeed {
    async fn append(
        &self,
        tenant: &TenantId,
        changes: &[Change],
        retention: Retention,
    ) -> StoreResult<Vec<Event>> {
        let appended = self.append_rendered(tenant, changes, retention);
        Ok(appended.into_iter().map(|(event, _)| event).collect())
    }

    async fn events(
        &self,
        tenant: &TenantId,
        after: u64,
        limit: usize,
        now_secs: u64,
    ) -> StoreResult<FeedPage> {
        let mut tenants = self.lock();
        let Some(feed) = tenants.get_mut(tenant) else {
            return Ok(FeedPage {
                events: Vec::new(),
                next: after,
            });
        };
        feed.expire(now_secs);
        let start = feed.events.partition_point(|kept| kept.seq <= after);
        let events: Vec<StoredEvent> = feed
            .events
            .range(start..)
            .take(limit.min(MAX_PAGE))
            .map(|kept| StoredEvent {
                seq: kept.seq,
                doc: kept.doc.to_string(),
            })
            .collect();
        let next = events.last().map_or(after, |e| e.seq);
        Ok(FeedPage { events, next })
    }
}
