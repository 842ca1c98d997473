//! Assembling the feed from the configuration: the Lambda stream and delivery functions, and
//! the in-process equivalents a local server runs beside the API.

use crate::clock::{Clock, SystemClock};
use std::sync::Arc;

use aws_config::SdkConfig;
use tokio::sync::mpsc::error::TryRecvError;

use super::delivery::Https;
use super::eventbridge::EventBridge;
use super::functions::{FunctionError, run_deliveries, run_stream};
use super::pipeline::Pipeline;
use super::queue::{LocalQueue, Sqs, WebhookPush};
use super::webhook::UrlPolicy;
use crate::store::dynamo::DynamoStore;

/// The feed's settings.
#[derive(Debug, Clone, Default)]
pub struct FeedSettings {
    /// The EventBridge bus, if events are put on one.
    pub event_bus: Option<String>,
    /// The SQS queue of webhook deliveries (Lambda).
    pub delivery_queue_url: Option<String>,
    /// The SQS queue of spent deliveries (Lambda).
    pub dead_letter_queue_url: Option<String>,
    /// Seconds stored events are kept.
    pub retention_secs: u64,
}

fn store(config: &SdkConfig, table: &str) -> Arc<DynamoStore> {
    Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(config),
        table.to_string(),
    ))
}

fn sqs(config: &SdkConfig, settings: &FeedSettings) -> Option<Arc<Sqs>> {
    match (
        &settings.delivery_queue_url,
        &settings.dead_letter_queue_url,
    ) {
        (Some(queue), Some(dead)) => Some(Arc::new(Sqs::new(
            aws_sdk_sqs::Client::new(config),
            queue.clone(),
            dead.clone(),
        ))),
        _ => None,
    }
}

/// The Lambda stream function over `table`.
///
/// # Errors
/// When the runtime fails.
pub async fn stream_function(
    config: &SdkConfig,
    table: &str,
    settings: &FeedSettings,
) -> Result<(), FunctionError> {
    let store = store(config, table);
    let bus = settings
        .event_bus
        .as_ref()
        .map(|bus| EventBridge::new(aws_sdk_eventbridge::Client::new(config), bus.clone()));
    let webhooks = sqs(config, settings).map(|q| WebhookPush::new(Arc::clone(&store), q));
    let pipeline = Pipeline::new(Arc::clone(&store), (bus, webhooks), settings.retention_secs);
    run_stream(Arc::new(pipeline)).await
}

/// The Lambda delivery function over `table`'s webhook registry.
///
/// # Errors
/// When the queues are not configured, the root certificates cannot be loaded, or the runtime
/// fails.
pub async fn delivery_function(
    config: &SdkConfig,
    table: &str,
    settings: &FeedSettings,
) -> Result<(), FunctionError> {
    let queue = sqs(config, settings)
        .ok_or("SCIM_DELIVERY_QUEUE_URL and SCIM_DEAD_LETTER_QUEUE_URL must be set")?;
    let transport = Arc::new(Https::new(UrlPolicy::Deployed)?);
    run_deliveries(transport, store(config, table), queue).await
}

/// How long the embedded store's feed task lets changes gather when writes stream in (Lambda's
/// stream function has a 1 s batching window).
const LOCAL_BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(5);
/// Most records the embedded store's feed task takes in one batch.
const LOCAL_BATCH_MAX: usize = 1000;

/// A local server on the embedded store: runs the pipeline on the store's in-process stream
/// and works webhook deliveries in process (loopback receivers allowed).
pub fn spawn_memory(attached: crate::store::memory::AttachedFeed, settings: &FeedSettings) {
    let queue = Arc::new(LocalQueue::new());
    let push = WebhookPush::new(Arc::clone(&attached.webhooks), Arc::clone(&queue));
    let pipeline = Pipeline::new(attached.feed, push, settings.retention_secs);
    let mut stream = attached.stream;
    tokio::spawn(async move {
        let mut position: u64 = 0;
        let mut batch = Vec::new();
        let mut last_taken: Option<tokio::time::Instant> = None;
        loop {
            match stream.try_recv() {
                Ok(next) => batch.push(next),
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    let Some(first) = stream.recv().await else {
                        break;
                    };
                    batch.push(first);
                    // Woken within a window of the last batch: writes are streaming in (a
                    // sync), so let the ones that follow gather, and this task wakes about
                    // once per window rather than once per write (each wake is a thread
                    // switch on the request path's cores). A write after a quiet spell is
                    // handled at once.
                    if last_taken.is_some_and(|t| t.elapsed() < LOCAL_BATCH_WINDOW) {
                        tokio::time::sleep(LOCAL_BATCH_WINDOW).await;
                    }
                }
            }
            while batch.len() < LOCAL_BATCH_MAX {
                match stream.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            last_taken = Some(tokio::time::Instant::now());
            let records: Vec<_> = batch
                .drain(..)
                .map(|d| {
                    position += 1;
                    (position.to_string(), d)
                })
                .collect();
            // The embedded feed cannot fail to append; a failed push is retried like a
            // stream batch would be.
            let mut from = 0;
            while let Some(failed) = pipeline
                .process(&records[from..], SystemClock.now_ms() / 1000)
                .await
            {
                from = records
                    .iter()
                    .position(|(id, _)| *id == failed)
                    .unwrap_or(from);
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    });
    tokio::spawn(queue.run(Https::lazy(UrlPolicy::Local), attached.webhooks));
}

/// A local server on DynamoDB: follows the table's stream and works webhook deliveries in
/// process, with loopback receivers allowed. Runs until the process ends.
///
/// # Errors
/// When the table has no stream.
pub async fn spawn_local(
    config: &SdkConfig,
    table: &str,
    settings: &FeedSettings,
) -> Result<(), super::streams::ReaderError> {
    let store = store(config, table);
    let description = aws_sdk_dynamodb::Client::new(config)
        .describe_table()
        .table_name(table)
        .send()
        .await?;
    let stream_arn = description
        .table()
        .and_then(|t| t.latest_stream_arn())
        .ok_or("the table has no stream: create it with --create-table or the template")?
        .to_string();
    let queue = Arc::new(LocalQueue::new());
    let bus = settings
        .event_bus
        .as_ref()
        .map(|bus| EventBridge::new(aws_sdk_eventbridge::Client::new(config), bus.clone()));
    let push = (
        bus,
        WebhookPush::new(Arc::clone(&store), Arc::clone(&queue)),
    );
    let pipeline = Arc::new(Pipeline::new(
        Arc::clone(&store),
        push,
        settings.retention_secs,
    ));
    let streams = aws_sdk_dynamodbstreams::Client::new(config);
    tokio::spawn(async move {
        if let Err(e) = super::streams::follow(streams, stream_arn, &*pipeline).await {
            tracing::error!(error = %e, "the change feed stopped reading the table's stream");
        }
    });
    let transport = Https::lazy(UrlPolicy::Local);
    tokio::spawn(queue.run(transport, store));
    Ok(())
}
