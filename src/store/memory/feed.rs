//! The embedded store's change feed: its committed writes as [`Change`]s, handed to an
//! in-process stream at commit (under the same lock, so in commit order), and the feed and
//! webhook registry it keeps. A local server runs the feed pipeline on that stream, the same
//! code the Lambda stream function runs on the table's DynamoDB Stream.

use crate::clock::{Clock, SystemClock};
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::MemoryStore;
use crate::change::{Change, ChangeKind, Decoded, active_flip, changed_attributes};
use crate::feed::Event;
use crate::scim::schema::{Relation, ResourceKind};
use crate::store::feed::{FeedPage, FeedStore, MemoryFeed, Retention};
use crate::store::webhooks::{Endpoint, MemoryWebhooks, WebhookStore};
use crate::store::{StoreResult, TenantId};

/// Where the store's stream goes once a pipeline is attached.
#[derive(Debug, Default)]
pub(super) struct FeedOut {
    stream: OnceLock<UnboundedSender<Decoded>>,
    pub(super) feed: Arc<MemoryFeed>,
    pub(super) webhooks: Arc<MemoryWebhooks>,
}

/// What a local server's pipeline reads: the store's in-process stream, its feed and its
/// webhook registry.
pub struct AttachedFeed {
    /// Committed changes, then the feed's stored events, in order.
    pub stream: UnboundedReceiver<Decoded>,
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
    stream: UnboundedSender<Decoded>,
}

impl FeedStore for EmittingFeed {
    async fn append(
        &self,
        tenant: &TenantId,
        changes: &[Change],
        retention: Retention,
    ) -> StoreResult<Vec<Event>> {
        let appended = self.feed.append(tenant, changes, retention).await?;
        for event in &appended {
            let _ = self.stream.send(Decoded::Event {
                tenant: tenant.clone(),
                seq: event.seq,
                doc: event.to_json().to_string(),
            });
        }
        Ok(appended)
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
            stream: rx,
            feed: Arc::new(EmittingFeed {
                feed: Arc::clone(&self.feed_out.feed),
                stream: tx,
            }),
            webhooks: Arc::clone(&self.feed_out.webhooks),
        })
    }

    /// Whether a pipeline listens (changes are worth computing).
    pub(super) fn feed_attached(&self) -> bool {
        self.feed_out.stream.get().is_some()
    }

    /// Emits one committed change; called under the write lock, so in commit order.
    pub(super) fn emit(&self, change: Change) {
        if let Some(tx) = self.feed_out.stream.get() {
            let _ = tx.send(Decoded::Change(change));
        }
    }
}

/// The change a write committed, from the documents before and after it and the member ids
/// it really added and removed (a replace-all names every member it removed).
#[allow(clippy::too_many_arguments)]
pub(super) fn change_of(
    tenant: &TenantId,
    kind: ResourceKind,
    id: &str,
    what: ChangeKind,
    before: Option<(&Value, u64)>,
    after: Option<(&Value, u64)>,
    added: Vec<String>,
    removed: Vec<String>,
) -> Change {
    let null = Value::Null;
    let before_doc = before.map_or(&null, |(d, _)| d);
    let after_doc = after.map_or(&null, |(d, _)| d);
    let attributes = match what {
        ChangeKind::Deleted => Vec::new(),
        _ => changed_attributes(before_doc, after_doc),
    };
    let active = match (what, kind.relation()) {
        (ChangeKind::Replaced | ChangeKind::Patched, Relation::MemberOf) => {
            active_flip(before_doc, after_doc)
        }
        _ => None,
    };
    let external = if what == ChangeKind::Deleted {
        before_doc
    } else {
        after_doc
    };
    let mut added = added;
    added.sort();
    let mut removed = removed;
    removed.sort();
    Change {
        tenant: tenant.clone(),
        kind,
        id: id.to_string(),
        change: what,
        version_before: before.map(|(_, v)| v),
        version_after: after.map(|(_, v)| v),
        attributes,
        active,
        added,
        removed,
        external_id: external
            .get("externalId")
            .and_then(Value::as_str)
            .map(str::to_string),
        committed_ms: SystemClock.now_ms(),
    }
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
