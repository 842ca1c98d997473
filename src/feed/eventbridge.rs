//! Pushing events onto the stack's EventBridge bus: `Source` `scim-lambda`, `DetailType` the
//! event's `type`, `Detail` the event. `PutEvents` takes at most 10 entries (and 256 KB) per
//! call; entries it reports as failed are sent again, a bounded number of times.

use std::time::Duration;

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::pipeline::{Outgoing, Push, PushError};

/// The `Source` of every event this service puts on a bus.
pub const SOURCE: &str = "scim-lambda";
/// Most entries `PutEvents` accepts at once.
const MAX_ENTRIES: usize = 10;
/// Attempts for entries `PutEvents` reports as failed (throttled or internal).
const ATTEMPTS: u32 = 4;

/// The EventBridge pusher.
#[derive(Debug, Clone)]
pub struct EventBridge {
    client: Client,
    bus: String,
}

impl EventBridge {
    /// Pushes onto `bus` (name or ARN).
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        EventBridge {
            client,
            bus: bus.into(),
        }
    }

    fn entry(&self, event: &Outgoing) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .source(SOURCE)
            .detail_type(&event.event_type)
            .detail(&event.doc)
            .event_bus_name(&self.bus)
            .build()
    }

    async fn put(&self, mut entries: Vec<PutEventsRequestEntry>) -> Result<(), PushError> {
        for attempt in 1..=ATTEMPTS {
            let output = self
                .client
                .put_events()
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(|e| Box::new(aws_sdk_eventbridge::Error::from(e)) as PushError)?;
            if output.failed_entry_count() == 0 {
                return Ok(());
            }
            // Results come back in request order; keep only the entries that failed.
            entries = entries
                .into_iter()
                .zip(output.entries())
                .filter(|(_, r)| r.error_code().is_some())
                .map(|(e, _)| e)
                .collect();
            tracing::warn!(
                failed = entries.len(),
                attempt,
                "EventBridge refused entries"
            );
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        Err(Box::new(PutEventsIncomplete(entries.len())))
    }
}

impl Push for EventBridge {
    async fn push(&self, events: &[Outgoing]) -> Result<(), PushError> {
        for chunk in events.chunks(MAX_ENTRIES) {
            self.put(chunk.iter().map(|e| self.entry(e)).collect())
                .await?;
        }
        Ok(())
    }
}

/// Entries EventBridge kept refusing.
#[derive(Debug, thiserror::Error)]
#[error("EventBridge refused {0} entries after retries")]
struct PutEventsIncomplete(usize);
