//! The stream function's adapter: a DynamoDB Streams batch as Lambda delivers it, in; the
//! partial batch response (`batchItemFailures`), out. Everything between is the pipeline.
//!
//! Lambda retries a batch from the first failed record named in the response, so reporting
//! the first failure (and nothing after it) is exact; with `BisectBatchOnFunctionError` and a
//! bounded `MaximumRetryAttempts`, a poison record ends in the on-failure destination instead
//! of blocking its shard.

use serde_json::{Value, json};

use super::pipeline::{BatchRecord, Pipeline, Push};
use crate::store::dynamo::stream::decode;
use crate::store::feed::FeedStore;

/// The records of a stream event, decoded, each with its sequence number.
pub fn records(event: &Value) -> Vec<BatchRecord> {
    event
        .get("Records")
        .and_then(Value::as_array)
        .map(|records| {
            records
                .iter()
                .map(|r| {
                    let id = r
                        .pointer("/dynamodb/SequenceNumber")
                        .or_else(|| r.get("eventID"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    (id, decode(r))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Handles one stream batch and answers with the partial batch response.
pub async fn handle<F: FeedStore, P: Push>(
    pipeline: &Pipeline<F, P>,
    event: &Value,
    now_secs: u64,
) -> Value {
    let failed = pipeline.process(&records(event), now_secs).await;
    let failures: Vec<Value> = failed
        .into_iter()
        .map(|id| json!({ "itemIdentifier": id }))
        .collect();
    json!({ "batchItemFailures": failures })
}
