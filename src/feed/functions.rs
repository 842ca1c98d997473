//! The feed's Lambda functions, from the same binary as the API: the stream function (the
//! table's stream in, the feed and the pushes out) and the delivery function (webhook
//! deliveries off the SQS queue). Both answer with partial batch responses.

use crate::clock::{Clock, SystemClock};
use std::sync::Arc;

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::{Value, json};

use super::delivery::{Delivery, Transport};
use super::pipeline::{Pipeline, Push};
use super::queue::{DeliveryQueue, handle_due};
use crate::store::feed::FeedStore;
use crate::store::webhooks::WebhookStore;

/// Why a function stopped.
pub type FunctionError = lambda_runtime::Error;

/// Serves the stream function until the runtime stops it.
///
/// # Errors
/// When the Lambda runtime fails.
pub async fn run_stream<F: FeedStore, P: Push>(
    pipeline: Arc<Pipeline<F, P>>,
) -> Result<(), FunctionError> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let pipeline = Arc::clone(&pipeline);
        async move {
            Ok::<Value, FunctionError>(
                super::lambda::handle(&pipeline, &event.payload, SystemClock.now_ms() / 1000).await,
            )
        }
    }))
    .await
}

/// Handles one SQS batch of deliveries: attempts what is due, queues what follows. A
/// message that is not a delivery is reported as failed (after its retries it goes to the
/// queue's redrive target); when queueing what follows fails, every message is reported, so
/// all come back (receivers dedupe on `webhook-id`).
pub async fn handle_deliveries<T: Transport, W: WebhookStore, Q: DeliveryQueue>(
    transport: &T,
    webhooks: &W,
    queue: &Q,
    event: &Value,
    now_ms: u64,
) -> Value {
    let mut failures = Vec::new();
    let mut deliveries = Vec::new();
    let mut ids = Vec::new();
    for message in event
        .get("Records")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = message
            .get("messageId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match message
            .get("body")
            .and_then(Value::as_str)
            .map(serde_json::from_str::<Delivery>)
        {
            Some(Ok(d)) => {
                deliveries.push(d);
                ids.push(id);
            }
            _ => {
                tracing::error!(message = %id, "queued message is not a delivery");
                failures.push(id);
            }
        }
    }
    if let Err(e) = handle_due(transport, webhooks, queue, deliveries, now_ms).await {
        tracing::warn!(error = %e, "deliveries could not be queued on; the batch comes back");
        failures.extend(ids);
    }
    let failures: Vec<Value> = failures
        .into_iter()
        .map(|id| json!({ "itemIdentifier": id }))
        .collect();
    json!({ "batchItemFailures": failures })
}

/// Serves the delivery function until the runtime stops it.
///
/// # Errors
/// When the Lambda runtime fails.
pub async fn run_deliveries<T: Transport, W: WebhookStore, Q: DeliveryQueue>(
    transport: Arc<T>,
    webhooks: Arc<W>,
    queue: Arc<Q>,
) -> Result<(), FunctionError> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (transport, webhooks, queue) = (
            Arc::clone(&transport),
            Arc::clone(&webhooks),
            Arc::clone(&queue),
        );
        async move {
            Ok::<Value, FunctionError>(
                handle_deliveries(
                    &*transport,
                    &*webhooks,
                    &*queue,
                    &event.payload,
                    SystemClock.now_ms(),
                )
                .await,
            )
        }
    }))
    .await
}
