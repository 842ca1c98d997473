//! Reading the table's stream through the DynamoDB Streams API, for a local server on
//! DynamoDB (the emulator, or a real table from a laptop): what Lambda's event source mapping
//! does in a deployment, done in-process, so the records reach the same pipeline in the same
//! shape.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::pipeline::{BatchRecord, Pipeline, Push};
use crate::store::dynamo::stream::decode;
use crate::store::feed::FeedStore;

/// How often an idle shard is polled.
const POLL: Duration = Duration::from_millis(250);

/// Why the reader stopped.
pub type ReaderError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Follows every shard of `stream_arn` from its oldest record and runs each batch through
/// `pipeline`, for ever. A failed record is retried (after a pause) from that record on, as
/// Lambda would; appends skip what the feed already holds, so starting from the oldest
/// record after a restart adds nothing twice.
///
/// # Errors
/// When the stream cannot be described or read.
pub async fn follow<F: FeedStore, P: Push>(
    client: Client,
    stream_arn: String,
    pipeline: &Pipeline<F, P>,
) -> Result<(), ReaderError> {
    let mut iterators: HashMap<String, Option<String>> = HashMap::new();
    loop {
        let description = client
            .describe_stream()
            .stream_arn(&stream_arn)
            .send()
            .await?;
        for shard in description
            .stream_description()
            .map(|d| d.shards())
            .unwrap_or_default()
        {
            let Some(id) = shard.shard_id() else { continue };
            if iterators.contains_key(id) {
                continue;
            }
            let iterator = client
                .get_shard_iterator()
                .stream_arn(&stream_arn)
                .shard_id(id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await?
                .shard_iterator;
            iterators.insert(id.to_string(), iterator);
        }
        let mut idle = true;
        for iterator in iterators.values_mut() {
            let Some(current) = iterator.clone() else {
                continue;
            };
            let output = client.get_records().shard_iterator(&current).send().await?;
            let batch: Vec<BatchRecord> = output
                .records()
                .iter()
                .map(|r| {
                    let lambda_shape = lambda_record(r);
                    let id = r
                        .dynamodb()
                        .and_then(|d| d.sequence_number())
                        .unwrap_or_default()
                        .to_string();
                    (id, decode(&lambda_shape))
                })
                .collect();
            if batch.is_empty() {
                *iterator = output.next_shard_iterator;
                continue;
            }
            idle = false;
            match pipeline
                .process(&batch, super::queue::now_ms() / 1000)
                .await
            {
                None => *iterator = output.next_shard_iterator,
                // Retried from the failed record: re-read this batch on the next round.
                Some(failed) => {
                    tracing::warn!(record = %failed, "stream batch failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        if idle {
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The record in the JSON shape Lambda delivers (`eventName`, `dynamodb.Keys`, `NewImage`,
/// `OldImage`, `SequenceNumber`, `ApproximateCreationDateTime` in epoch seconds).
pub fn lambda_record(record: &Record) -> Value {
    let mut ddb = Map::new();
    if let Some(r) = record.dynamodb() {
        if let Some(keys) = r.keys() {
            ddb.insert("Keys".into(), image(keys));
        }
        if let Some(new) = r.new_image() {
            ddb.insert("NewImage".into(), image(new));
        }
        if let Some(old) = r.old_image() {
            ddb.insert("OldImage".into(), image(old));
        }
        if let Some(seq) = r.sequence_number() {
            ddb.insert("SequenceNumber".into(), seq.into());
        }
        if let Some(at) = r.approximate_creation_date_time() {
            ddb.insert(
                "ApproximateCreationDateTime".into(),
                at.as_secs_f64().into(),
            );
        }
    }
    json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str()),
        "dynamodb": Value::Object(ddb),
    })
}

fn image(attributes: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        attributes
            .iter()
            .map(|(k, v)| (k.clone(), attribute(v)))
            .collect(),
    )
}

/// An attribute in DynamoDB JSON.
fn attribute(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": STANDARD.encode(b.as_ref()) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(b) => json!({ "NULL": b }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => {
            json!({ "BS": v.iter().map(|b| STANDARD.encode(b.as_ref())).collect::<Vec<_>>() })
        }
        AttributeValue::L(v) => json!({ "L": v.iter().map(attribute).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": image(m) }),
        _ => Value::Null,
    }
}
