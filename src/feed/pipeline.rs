//! The feed pipeline: one batch of stream records in, changes appended to their tenants'
//! feeds, stored events pushed. The Lambda stream function, the local reader of the table's
//! stream and the embedded store's in-process stream all run this same code.

use std::future::Future;
use std::sync::Arc;

use crate::change::{Decoded, MalformedRecord};
use crate::store::TenantId;
use crate::store::feed::{FeedStore, Retention};

/// A stored event on its way out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its tenant.
    pub tenant: TenantId,
    /// Its position in the tenant's feed.
    pub seq: u64,
    /// Its id (`jti`), the dedupe key receivers see as `webhook-id`.
    pub id: String,
    /// Its `type` alias.
    pub event_type: String,
    /// The event document, exactly as stored.
    pub doc: String,
}

impl Outgoing {
    /// Reads the id and type out of a stored event document.
    ///
    /// # Errors
    /// [`MalformedRecord`] when the document is not an event this server stored.
    pub fn from_stored(tenant: TenantId, seq: u64, doc: String) -> Result<Self, MalformedRecord> {
        // Only the two claims are read, borrowed: no tree of the whole event is built.
        #[derive(serde::Deserialize)]
        struct Head<'a> {
            #[serde(borrow)]
            jti: Option<std::borrow::Cow<'a, str>>,
            #[serde(rename = "type", borrow)]
            event_type: Option<std::borrow::Cow<'a, str>>,
        }
        let head: Head<'_> =
            serde_json::from_str(&doc).map_err(|_| MalformedRecord::new("event json"))?;
        let id = head.jti.ok_or(MalformedRecord::new("jti"))?.into_owned();
        let event_type = head
            .event_type
            .ok_or(MalformedRecord::new("type"))?
            .into_owned();
        Ok(Outgoing {
            id,
            event_type,
            tenant,
            seq,
            doc,
        })
    }
}

/// Why pushing failed; the batch is retried from the first event not pushed.
pub type PushError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Where stored events are pushed: the event bus, the webhook delivery queue. At least once:
/// a push that fails is retried with the events it was given.
pub trait Push: Send + Sync + 'static {
    /// Pushes `events`, in order.
    ///
    /// # Errors
    /// When any could not be handed on.
    fn push(&self, events: &[Outgoing]) -> impl Future<Output = Result<(), PushError>> + Send;
}

/// Pushes nowhere (a deployment without a bus or webhooks, and tests of the feed alone).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPush;

impl Push for NoPush {
    async fn push(&self, _events: &[Outgoing]) -> Result<(), PushError> {
        Ok(())
    }
}

impl<A: Push, B: Push> Push for (A, B) {
    async fn push(&self, events: &[Outgoing]) -> Result<(), PushError> {
        self.0.push(events).await?;
        self.1.push(events).await
    }
}

impl<P: Push> Push for Option<P> {
    async fn push(&self, events: &[Outgoing]) -> Result<(), PushError> {
        match self {
            Some(p) => p.push(events).await,
            None => Ok(()),
        }
    }
}

impl<P: Push> Push for Arc<P> {
    async fn push(&self, events: &[Outgoing]) -> Result<(), PushError> {
        P::push(self, events).await
    }
}

/// One record of a batch: its id (the stream sequence number, which Lambda's partial batch
/// response names) and what it decoded to.
pub type BatchRecord = (String, Result<Decoded, MalformedRecord>);

/// The pipeline over a feed store and a pusher.
#[derive(Debug)]
pub struct Pipeline<F, P> {
    feed: Arc<F>,
    push: P,
    retention_secs: u64,
}

impl<F: FeedStore, P: Push> Pipeline<F, P> {
    /// A pipeline appending to `feed`, keeping events `retention_secs`, pushing with `push`.
    pub fn new(feed: Arc<F>, push: P, retention_secs: u64) -> Self {
        Pipeline {
            feed,
            push,
            retention_secs,
        }
    }

    /// Processes a batch in order. Returns the id of the first record that failed, if any:
    /// everything before it is done, and it and everything after it must be retried (the
    /// contract of a stream's partial batch response; the retry is harmless, as appends skip
    /// changes already in the feed).
    pub async fn process(&self, records: &[BatchRecord], now_secs: u64) -> Option<String> {
        let mut i = 0;
        while i < records.len() {
            let (id, decoded) = &records[i];
            let run_end = |same: &dyn Fn(&Decoded) -> bool| {
                records[i..]
                    .iter()
                    .position(|(_, d)| !d.as_ref().is_ok_and(same))
                    .map_or(records.len(), |p| i + p)
            };
            match decoded {
                Err(e) => {
                    tracing::error!(record = %id, error = %e, "stream record not understood");
                    return Some(id.clone());
                }
                Ok(Decoded::Ignored) => i += 1,
                Ok(Decoded::Change(first)) => {
                    let tenant = first.tenant.clone();
                    let end = run_end(&|d| matches!(d, Decoded::Change(c) if c.tenant == tenant));
                    let changes: Vec<_> = records[i..end]
                        .iter()
                        .filter_map(|(_, d)| match d {
                            Ok(Decoded::Change(c)) => Some(c.clone()),
                            _ => None,
                        })
                        .collect();
                    let retention = Retention {
                        secs: self.retention_secs,
                        now_secs,
                    };
                    if let Err(e) = self.feed.append(&tenant, &changes, retention).await {
                        tracing::warn!(tenant = %tenant, error = %e, "appending to the feed failed");
                        return Some(id.clone());
                    }
                    i = end;
                }
                Ok(Decoded::Event { .. }) => {
                    let end = run_end(&|d| matches!(d, Decoded::Event { .. }));
                    let mut events = Vec::with_capacity(end - i);
                    for (rid, d) in &records[i..end] {
                        if let Ok(Decoded::Event { tenant, seq, doc }) = d {
                            match Outgoing::from_stored(tenant.clone(), *seq, doc.clone()) {
                                Ok(e) => events.push(e),
                                Err(e) => {
                                    tracing::error!(record = %rid, error = %e, "stored event not understood");
                                    // Push what came before it, then stop at it.
                                    return match self.push.push(&events).await {
                                        Ok(()) => Some(rid.clone()),
                                        Err(_) => Some(id.clone()),
                                    };
                                }
                            }
                        }
                    }
                    if let Err(e) = self.push.push(&events).await {
                        tracing::warn!(error = %e, "pushing events failed");
                        return Some(id.clone());
                    }
                    i = end;
                }
            }
        }
        None
    }
}
