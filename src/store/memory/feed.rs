//! The embedded store's change feed: its committed writes, handed to an in-process stream at
//! commit (under the same lock, so in commit order), and the feed and webhook registry it
//! keeps. A local server runs the feed pipeline on that stream, the same code the Lambda
//! stream function runs on the table's DynamoDB Stream.
//!
//! Under the lock a write only sends handles (the stored documents before and after it, the
//! member ids it really changed); the reader of the stream works out the [`Change`] (parsing
//! both documents to name the changed attributes), as the stream function does from a
//! record's old and new images. A write's lock and its request pay for neither.

use std::sync::{Arc, OnceLock};

use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::tables::Stored;
use super::{Id, MemoryStore};
use crate::change::{BOOKKEEPING, Change, ChangeKind, Decoded, MalformedRecord, active_flip};
use crate::clock::{Clock, SystemClock};
use crate::feed::Event;
use crate::scim::members::RawMembers;
use crate::scim::schema::{Relation, ResourceKind};
use crate::store::feed::{FeedPage, FeedStore, MemoryFeed, Retention};
use crate::store::webhooks::{Endpoint, MemoryWebhooks, WebhookStore};
use crate::store::{StoreResult, TenantId};

/// Where the store's stream goes once a pipeline is attached.
#[derive(Debug, Default)]
pub(super) struct FeedOut {
    stream: OnceLock<UnboundedSender<Emitted>>,
    pub(super) feed: Arc<MemoryFeed>,
    pub(super) webhooks: Arc<MemoryWebhooks>,
}

impl FeedOut {
    /// Keeping at most the newest `window` events per tenant.
    pub(super) fn with_window(window: usize) -> Self {
        FeedOut {
            stream: OnceLock::new(),
            feed: Arc::new(MemoryFeed::with_window(window)),
            webhooks: Arc::default(),
        }
    }
}

/// What the store sends down its stream.
#[derive(Debug)]
enum Emitted {
    /// A committed write, as handles taken under the lock.
    Committed(Box<Committed>),
    /// An event the feed stored.
    Stored(Decoded),
}

/// A committed write as the store's lock saw it.
#[derive(Debug)]
struct Committed {
    tenant: TenantId,
    kind: ResourceKind,
    id: Id,
    what: ChangeKind,
    /// The stored record before the write (none for a create).
    before: Option<Arc<Stored>>,
    /// The stored record after the write (none for a delete).
    after: Option<Arc<Stored>>,
    /// The member ids the write really added and removed (a replace-all names every member
    /// it removed).
    added: Vec<String>,
    removed: Vec<String>,
    committed_ms: u64,
}

/// The embedded store's change stream, as a local server's pipeline reads it: committed
/// changes, then the feed's stored events, in order.
#[derive(Debug)]
pub struct ChangeStream {
    rx: UnboundedReceiver<Emitted>,
}

impl ChangeStream {
    /// The next record; `None` once the store is gone.
    pub async fn recv(&mut self) -> Option<Result<Decoded, MalformedRecord>> {
        self.rx.recv().await.map(decode)
    }

    /// The next record if one is waiting.
    ///
    /// # Errors
    /// [`TryRecvError`] when none is waiting, or the store is gone.
    pub fn try_recv(&mut self) -> Result<Result<Decoded, MalformedRecord>, TryRecvError> {
        self.rx.try_recv().map(decode)
    }
}

fn decode(emitted: Emitted) -> Result<Decoded, MalformedRecord> {
    match emitted {
        Emitted::Committed(c) => c.into_change().map(Decoded::Change),
        Emitted::Stored(d) => Ok(d),
    }
}

/// What a local server's pipeline reads: the store's in-process stream, its feed and its
/// webhook registry.
pub struct AttachedFeed {
    /// Committed changes, then the feed's stored events, in order.
    pub stream: ChangeStream,
    /// The stored feed (appended to by the pipeline).
    pub feed: Arc<EmittingFeed>,
    /// The webhook endpoints.
    pub webhooks: Arc<MemoryWebhooks>,
}

/// The embedded feed, whose appends come back on the store's stream as stored events, as a
/// DynamoDB table's event items come back on its stream.
#[derive(Debug)]
pub struct EmittingFeed {
    feed: Arc<MemoryFeed>,
    stream: UnboundedSender<Emitted>,
}

impl FeedStore for EmittingFeed {
    async fn append(
        &self,
        tenant: &TenantId,
        changes: &[Change],
        retention: Retention,
    ) -> StoreResult<Vec<Event>> {
        let appended = self.feed.append_rendered(tenant, changes, retention);
        let mut events = Vec::with_capacity(appended.len());
        for (event, doc) in appended {
            let _ = self.stream.send(Emitted::Stored(Decoded::Event {
                tenant: tenant.clone(),
                seq: event.seq,
                doc,
            }));
            events.push(event);
        }
        Ok(events)
    }

    async fn events(
        &self,
        tenant: &TenantId,
        after: u64,
        limit: usize,
        now_secs: u64,
    ) -> StoreResult<FeedPage> {
        self.feed.events(tenant, after, limit, now_secs).await
    }
}

impl MemoryStore {
    /// Hands the store's committed changes to a new in-process stream (once per store).
    pub fn attach_feed(&self) -> Option<AttachedFeed> {
        let (tx, rx) = unbounded_channel();
        self.feed_out.stream.set(tx.clone()).ok()?;
        Some(AttachedFeed {
            stream: ChangeStream { rx },
            feed: Arc::new(EmittingFeed {
                feed: Arc::clone(&self.feed_out.feed),
                stream: tx,
            }),
            webhooks: Arc::clone(&self.feed_out.webhooks),
        })
    }

    /// Emits one committed write when a pipeline is attached; called under the write lock,
    /// so in commit order. Takes only handles: the change is worked out by the stream's
    /// reader.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn emit(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &Id,
        what: ChangeKind,
        before: Option<&Arc<Stored>>,
        after: Option<&Arc<Stored>>,
        added: Vec<String>,
        removed: Vec<String>,
    ) {
        if let Some(tx) = self.feed_out.stream.get() {
            let _ = tx.send(Emitted::Committed(Box::new(Committed {
                tenant: tenant.clone(),
                kind,
                id: Arc::clone(id),
                what,
                before: before.map(Arc::clone),
                after: after.map(Arc::clone),
                added,
                removed,
                committed_ms: SystemClock.now_ms(),
            })));
        }
    }
}

impl Committed {
    /// The change this write made: the attributes whose values differ between the documents
    /// before and after it, whether `active` flipped, and the member ids, sorted.
    ///
    /// The stored documents are read as their top-level members' JSON text, without building
    /// either tree: members whose text is the same are unchanged (both were written by the
    /// same serializer), and only members whose text differs are parsed to compare values.
    fn into_change(self) -> Result<Change, MalformedRecord> {
        let malformed = |_| MalformedRecord::new("stored document");
        let before = self
            .before
            .as_deref()
            .map(members_of)
            .transpose()
            .map_err(malformed)?;
        let after = self
            .after
            .as_deref()
            .map(members_of)
            .transpose()
            .map_err(malformed)?;
        let (before, after) = (before.unwrap_or_default(), after.unwrap_or_default());
        let what = self.what;
        let attributes = match what {
            ChangeKind::Deleted => Vec::new(),
            _ => before.changed(&after),
        };
        let active = match (what, self.kind.relation()) {
            (ChangeKind::Replaced | ChangeKind::Patched, Relation::MemberOf) => {
                active_flip(&before.value("active"), &after.value("active"))
            }
            _ => None,
        };
        let external = if what == ChangeKind::Deleted {
            &before
        } else {
            &after
        };
        let mut added = self.added;
        added.sort();
        let mut removed = self.removed;
        removed.sort();
        Ok(Change {
            external_id: external.value("externalId").as_str().map(str::to_string),
            tenant: self.tenant,
            kind: self.kind,
            id: self.id.to_string(),
            change: what,
            version_before: self.before.as_ref().map(|s| s.version),
            version_after: self.after.as_ref().map(|s| s.version),
            attributes,
            active,
            added,
            removed,
            committed_ms: self.committed_ms,
        })
    }
}

/// A stored document's members, read from its text.
fn members_of(stored: &Stored) -> serde_json::Result<RawMembers<'_>> {
    RawMembers::parse(&stored.doc)
}

/// Reads of a stored document's members that the change needs.
trait ChangeReads {
    fn value(&self, name: &str) -> Value;
    fn changed(&self, after: &Self) -> Vec<String>;
}

impl ChangeReads for RawMembers<'_> {
    /// The member `name` as a document of its own (`active` and `externalId` alone), so
    /// [`active_flip`] reads it as it reads a whole document.
    fn value(&self, name: &str) -> Value {
        let mut doc = serde_json::Map::new();
        if let Some(v) = self.get(name).and_then(parse) {
            doc.insert(name.to_string(), v);
        }
        Value::Object(doc)
    }

    /// The names of the attributes that differ from `after`, sorted, as
    /// [`crate::change::changed_attributes`] names them.
    fn changed(&self, after: &Self) -> Vec<String> {
        // Bookkeeping (`meta` changes with every write) is skipped before any value is parsed.
        let attribute = |name: &str| !BOOKKEEPING.contains(&name);
        // Both texts come from one serializer: equal values are equal text, or the same
        // members in another order, which is the same length. Only that case is parsed.
        let differs = |name: &str, a: &RawValue| match self.get(name) {
            None => true,
            Some(b) if b.get() == a.get() => false,
            Some(b) if b.get().len() != a.get().len() => true,
            Some(b) => parse(b) != parse(a),
        };
        let mut out: Vec<&str> = after
            .iter()
            .filter(|(name, raw)| attribute(name) && differs(name, raw))
            .map(|(name, _)| name)
            .collect();
        out.extend(
            self.iter()
                .map(|(name, _)| name)
                .filter(|name| attribute(name) && after.get(name).is_none()),
        );
        out.sort_unstable();
        out.dedup();
        out.into_iter().map(str::to_string).collect()
    }
}

fn parse(raw: &RawValue) -> Option<Value> {
    serde_json::from_str(raw.get()).ok()
}

impl FeedStore for MemoryStore {
    async fn append(
        &self,
        tenant: &TenantId,
        changes: &[Change],
        retention: Retention,
    ) -> StoreResult<Vec<Event>> {
        self.feed_out.feed.append(tenant, changes, retention).await
    }

    async fn events(
        &self,
        tenant: &TenantId,
        after: u64,
        limit: usize,
        now_secs: u64,
    ) -> StoreResult<FeedPage> {
        self.feed_out
            .feed
            .events(tenant, after, limit, now_secs)
            .await
    }
}

impl WebhookStore for MemoryStore {
    async fn put_endpoint(&self, endpoint: &Endpoint) -> StoreResult<()> {
        self.feed_out.webhooks.put_endpoint(endpoint).await
    }

    async fn endpoints(&self) -> StoreResult<Vec<Endpoint>> {
        self.feed_out.webhooks.endpoints().await
    }

    async fn delete_endpoint(&self, id: &str) -> StoreResult<bool> {
        self.feed_out.webhooks.delete_endpoint(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::changed_attributes;

    /// Reading the members' text names the same attributes as comparing whole trees.
    #[test]
    fn raw_members_name_what_the_trees_name() {
        let rows: [(&str, &str, &[&str]); 8] = [
            (r#"{"a":1,"b":"x"}"#, r#"{"a":1,"b":"x"}"#, &[]),
            (r#"{"a":1,"b":"x"}"#, r#"{"a":2,"b":"x"}"#, &["a"]),
            // Text of another length: changed, told without parsing.
            (r#"{"a":1,"b":"x"}"#, r#"{"a":1,"b":"xy"}"#, &["b"]),
            (r#"{"a":1}"#, r#"{"a":1,"c":[1]}"#, &["c"]),
            (r#"{"a":1,"c":[1]}"#, r#"{"a":1}"#, &["c"]),
            // The same value written in another member order is no change.
            (
                r#"{"name":{"givenName":"B","familyName":"J"}}"#,
                r#"{"name":{"familyName":"J","givenName":"B"}}"#,
                &[],
            ),
            // Bookkeeping is never an attribute change.
            (
                r#"{"id":"1","meta":{"version":"W/\"1\""},"schemas":["s"],"x":true}"#,
                r#"{"id":"1","meta":{"version":"W/\"2\""},"schemas":["s","t"],"x":false}"#,
                &["x"],
            ),
            // A name with an escape is read too (owned rather than borrowed).
            (r#"{"a\"b":1}"#, r#"{"a\"b":2}"#, &["a\"b"]),
        ];
        for (before, after, expected) in rows {
            let b = RawMembers::parse(before).unwrap();
            let a = RawMembers::parse(after).unwrap();
            let trees = changed_attributes(
                &serde_json::from_str(before).unwrap(),
                &serde_json::from_str(after).unwrap(),
            );
            assert_eq!(b.changed(&a), expected, "{before} -> {after}");
            assert_eq!(b.changed(&a), trees, "{before} -> {after}");
        }
    }

    #[test]
    fn a_member_reads_as_a_document_of_its_own() {
        let doc = RawMembers::parse(r#"{"active":false,"externalId":"e"}"#).unwrap();
        assert_eq!(doc.value("active"), serde_json::json!({"active": false}));
        assert_eq!(doc.value("externalId")["externalId"], "e");
        assert_eq!(doc.value("missing"), serde_json::json!({}));
    }
}
