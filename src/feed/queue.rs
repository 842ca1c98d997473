//! Where deliveries wait for their attempt: an SQS queue in Lambda (the delivery function
//! consumes it), an in-process timer queue locally. Both run [`handle_due`] on what comes
//! due, so the retry and dead-letter logic is the same code everywhere.

use crate::clock::{Clock, SystemClock};
use std::collections::BinaryHeap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use tokio::sync::Notify;

use super::delivery::{Delivery, Outcome, Transport, attempt};
use super::pipeline::{Outgoing, Push, PushError};
use crate::store::webhooks::{Endpoint, WebhookStore};

/// Why a delivery could not be queued.
pub type QueueError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A queue of deliveries.
pub trait DeliveryQueue: Send + Sync + 'static {
    /// Queues deliveries, each until its `due_ms`.
    ///
    /// # Errors
    /// When the queue refused them.
    fn send(
        &self,
        deliveries: Vec<Delivery>,
        now_ms: u64,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Keeps a delivery whose schedule is spent.
    ///
    /// # Errors
    /// When the dead-letter queue refused it.
    fn dead_letter(
        &self,
        delivery: Delivery,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// Attempts the deliveries that came due and queues what follows (retries, dead letters).
/// A delivery received early (SQS delays at most 15 minutes) is queued again for the rest.
///
/// # Errors
/// When queueing what follows failed: the caller reports the batch as failed, and the
/// deliveries come back (at least once).
pub async fn handle_due<T: Transport, W: WebhookStore, Q: DeliveryQueue>(
    transport: &T,
    webhooks: &W,
    queue: &Q,
    deliveries: Vec<Delivery>,
    now_ms: u64,
) -> Result<(), QueueError> {
    let endpoints: Vec<Endpoint> = webhooks.endpoints().await?;
    let mut later = Vec::new();
    for delivery in deliveries {
        if delivery.due_ms > now_ms {
            later.push(delivery);
            continue;
        }
        let endpoint = endpoints.iter().find(|e| e.id == delivery.endpoint);
        match attempt(transport, endpoint, delivery, now_ms).await {
            Outcome::Delivered | Outcome::Dropped => {}
            Outcome::Retry(next) => later.push(next),
            Outcome::DeadLetter(d) => {
                tracing::warn!(endpoint = %d.endpoint, event = %d.event_id, "webhook delivery dead-lettered");
                queue.dead_letter(d).await?;
            }
        }
    }
    if !later.is_empty() {
        queue.send(later, now_ms).await?;
    }
    Ok(())
}

/// Pushes each stored event to every endpoint that wants it, as one queued delivery per
/// endpoint. The endpoints are read once per push (one read: a deployment has a handful).
#[derive(Debug)]
pub struct WebhookPush<W, Q> {
    webhooks: Arc<W>,
    queue: Arc<Q>,
}

impl<W, Q> WebhookPush<W, Q> {
    /// A pusher over the registry and the queue.
    pub fn new(webhooks: Arc<W>, queue: Arc<Q>) -> Self {
        WebhookPush { webhooks, queue }
    }
}

impl<W: WebhookStore, Q: DeliveryQueue> Push for WebhookPush<W, Q> {
    async fn push(&self, events: &[Outgoing]) -> Result<(), PushError> {
        if events.is_empty() {
            return Ok(());
        }
        let endpoints = self.webhooks.endpoints().await?;
        let now = SystemClock.now_ms();
        let deliveries: Vec<Delivery> = events
            .iter()
            .flat_map(|e| {
                endpoints
                    .iter()
                    .filter(|ep| ep.wants(&e.tenant, &e.event_type))
                    .map(move |ep| Delivery::first(e, ep, now))
            })
            .collect();
        if deliveries.is_empty() {
            return Ok(());
        }
        self.queue.send(deliveries, now).await
    }
}

/// The SQS queue of the delivery function, and its dead-letter queue.
#[derive(Debug, Clone)]
pub struct Sqs {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    dead_letter_url: String,
}

/// The longest delay SQS gives one message.
const MAX_SQS_DELAY_SECS: u64 = 900;

impl Sqs {
    /// Deliveries on `queue_url`, spent ones on `dead_letter_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String, dead_letter_url: String) -> Self {
        Sqs {
            client,
            queue_url,
            dead_letter_url,
        }
    }
}

impl DeliveryQueue for Sqs {
    async fn send(&self, deliveries: Vec<Delivery>, now_ms: u64) -> Result<(), QueueError> {
        for chunk in deliveries.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, d) in chunk.iter().enumerate() {
                let delay = (d.due_ms.saturating_sub(now_ms) / 1000).min(MAX_SQS_DELAY_SECS);
                entries.push(
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(serde_json::to_string(d)?)
                        .delay_seconds(i32::try_from(delay).unwrap_or(0))
                        .build()?,
                );
            }
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| Box::new(aws_sdk_sqs::Error::from(e)) as QueueError)?;
            if !output.failed().is_empty() {
                return Err(Box::new(NotQueued(output.failed().len())));
            }
        }
        Ok(())
    }

    async fn dead_letter(&self, delivery: Delivery) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.dead_letter_url)
            .message_body(serde_json::to_string(&delivery)?)
            .send()
            .await
            .map_err(|e| Box::new(aws_sdk_sqs::Error::from(e)) as QueueError)?;
        Ok(())
    }
}

/// SQS refused some messages of a batch.
#[derive(Debug, thiserror::Error)]
#[error("SQS refused {0} messages")]
struct NotQueued(usize);

/// The in-process queue of a local server: a timer heap worked by one task.
#[derive(Debug, Default)]
pub struct LocalQueue {
    due: Mutex<BinaryHeap<Waiting>>,
    dead: Mutex<Vec<Delivery>>,
    wake: Notify,
}

#[derive(Debug, PartialEq, Eq)]
struct Waiting(Delivery);

impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // The earliest due first (BinaryHeap is a max-heap).
        other.0.due_ms.cmp(&self.0.due_ms)
    }
}

impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl LocalQueue {
    /// An empty queue.
    pub fn new() -> Self {
        LocalQueue::default()
    }

    /// The deliveries whose schedule was spent.
    pub fn dead_letters(&self) -> Vec<Delivery> {
        self.dead
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Deliveries due at `now_ms`, taken off the queue, and when the next one is due.
    pub fn take_due(&self, now_ms: u64) -> (Vec<Delivery>, Option<u64>) {
        let mut due = self
            .due
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = Vec::new();
        while due.peek().is_some_and(|w| w.0.due_ms <= now_ms) {
            if let Some(Waiting(d)) = due.pop() {
                out.push(d);
            }
        }
        (out, due.peek().map(|w| w.0.due_ms))
    }

    /// Works the queue for ever: attempts what is due, sleeps until the next one (or until a
    /// new delivery arrives).
    pub async fn run<T: Transport, W: WebhookStore>(
        self: Arc<Self>,
        transport: T,
        webhooks: Arc<W>,
    ) {
        loop {
            let now = SystemClock.now_ms();
            let (due, next) = self.take_due(now);
            if !due.is_empty() {
                if let Err(e) = handle_due(&transport, &*webhooks, &*self, due.clone(), now).await {
                    // Only the registry read can fail locally: put them back and wait.
                    tracing::warn!(error = %e, "webhook deliveries deferred");
                    let retry = due
                        .into_iter()
                        .map(|d| Delivery {
                            due_ms: now + 1000,
                            ..d
                        })
                        .collect();
                    let _ = self.send(retry, now).await;
                }
                continue;
            }
            let wait = next.map_or(Duration::from_secs(3600), |n| {
                Duration::from_millis(n.saturating_sub(now))
            });
            let _ = tokio::time::timeout(wait, self.wake.notified()).await;
        }
    }
}

impl DeliveryQueue for LocalQueue {
    async fn send(&self, deliveries: Vec<Delivery>, _now_ms: u64) -> Result<(), QueueError> {
        {
            let mut due = self
                .due
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            due.extend(deliveries.into_iter().map(Waiting));
        }
        self.wake.notify_one();
        Ok(())
    }

    async fn dead_letter(&self, delivery: Delivery) -> Result<(), QueueError> {
        self.dead
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(delivery);
        Ok(())
    }
}

impl<Q: DeliveryQueue> DeliveryQueue for Arc<Q> {
    async fn send(&self, deliveries: Vec<Delivery>, now_ms: u64) -> Result<(), QueueError> {
        Q::send(self, deliveries, now_ms).await
    }
    async fn dead_letter(&self, delivery: Delivery) -> Result<(), QueueError> {
        Q::dead_letter(self, delivery).await
    }
}
