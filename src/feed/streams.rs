//! Reading the table's stream through the DynamoDB Streams API, for a local server on
//! DynamoDB (the emulator, or a real table from a laptop): what Lambda's event source mapping
//! does in a deployment, done in-process, so the records reach the same pipeline in the same
//! shape.

use crate::clock::{Clock, SystemClock};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::pipeline::{BatchRecord, Pipeline, Push};
use crate::store::dynamo::stream::decode;
use crate::store::feed::FeedStore;

/// How often an idle shard is polled, and the first pause after a failure.
const POLL: Duration = Duration::from_millis(250);
/// The longest pause after failures in a row: the reader never gives up on a stream that
/// exists, and resumes within this long of the API answering again.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Why the reader stopped.
pub type ReaderError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Follows every shard of `stream_arn` from its oldest record and runs each batch through
/// `pipeline`, for ever. A failed record is retried (after a pause) from its batch on, as
/// Lambda would; appends skip what the feed already holds, so re-reading adds nothing twice.
/// A failed Streams API call (throttling, an expired iterator, the endpoint away) is logged
/// and retried with a bounded back-off, each shard resuming after the last record the
/// pipeline took. A shard that ends is read to its end before its children (DynamoDB splits
/// a shard into new ones), so one item's records stay in order.
///
/// # Errors
/// Only when the stream does not exist (`ResourceNotFoundException` from `DescribeStream`): no
/// retry mends that.
pub async fn follow<F: FeedStore, P: Push>(
    client: Client,
    stream_arn: String,
    pipeline: &Pipeline<F, P>,
) -> Result<(), ReaderError> {
    let mut reader = Reader::default();
    let mut backoff = Backoff::default();
    loop {
        match describe(&client, &stream_arn).await {
            Ok(shards) => {
                for (id, parent) in shards {
                    reader.learn(id, parent);
                }
            }
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                return Err(format!("the stream {stream_arn} does not exist").into());
            }
            Err(e) => {
                backoff.failed("DescribeStream", None, &e).await;
                continue;
            }
        }
        let mut idle = true;
        let mut failed = false;
        for id in reader.readable() {
            match read(&client, &stream_arn, &mut reader, &id, pipeline).await {
                Ok(Read::Records) => idle = false,
                Ok(Read::Nothing) => {}
                Ok(Read::Refused) => {
                    failed = true;
                    break;
                }
                Err((call, e)) => {
                    backoff.failed(call, Some(&id), &e).await;
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            backoff.reset();
        }
        if idle && !failed {
            tokio::time::sleep(POLL).await;
        }
    }
}

/// What one read of a shard did.
enum Read {
    /// It handed records to the pipeline, which took them.
    Records,
    /// There was nothing new.
    Nothing,
    /// The pipeline failed a record: the batch is read again after a pause.
    Refused,
}

/// One `GetRecords` of shard `id` (getting an iterator first when it has none), through the
/// pipeline.
async fn read<F: FeedStore, P: Push>(
    client: &Client,
    stream_arn: &str,
    reader: &mut Reader,
    id: &str,
    pipeline: &Pipeline<F, P>,
) -> Result<Read, (&'static str, StreamsError)> {
    let Some(shard) = reader.shards.get_mut(id) else {
        return Ok(Read::Nothing);
    };
    let current = match shard.iterator.clone() {
        Some(iterator) => iterator,
        None => {
            let (kind, after) = shard.start();
            let got = client
                .get_shard_iterator()
                .stream_arn(stream_arn)
                .shard_id(id)
                .shard_iterator_type(kind)
                .set_sequence_number(after)
                .send()
                .await
                .map_err(|e| ("GetShardIterator", StreamsError::of(e)))?;
            match got.shard_iterator {
                Some(iterator) => iterator,
                // A closed shard with nothing after the last record read.
                None => {
                    shard.done = true;
                    return Ok(Read::Nothing);
                }
            }
        }
    };
    let output = match client.get_records().shard_iterator(&current).send().await {
        Ok(output) => output,
        Err(e) => {
            // The iterator may have expired or been spent: get a new one from `last`.
            shard.iterator = None;
            return Err(("GetRecords", StreamsError::of(e)));
        }
    };
    let batch: Vec<BatchRecord> = output
        .records()
        .iter()
        .map(|r| (sequence_number(r), decode(&lambda_record(r))))
        .collect();
    if batch.is_empty() {
        shard.advance(None, output.next_shard_iterator);
        return Ok(Read::Nothing);
    }
    match pipeline.process(&batch, SystemClock.now_ms() / 1000).await {
        None => {
            let last = batch.last().map(|(seq, _)| seq.clone());
            shard.advance(last, output.next_shard_iterator);
            Ok(Read::Records)
        }
        // Retried from the failed record: re-read this batch on the next round.
        Some(failed) => {
            shard.iterator = Some(current);
            tracing::warn!(record = %failed, "stream batch failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(Read::Refused)
        }
    }
}

/// The stream's shards with their parents, every page of `DescribeStream`.
async fn describe(
    client: &Client,
    stream_arn: &str,
) -> Result<Vec<(String, Option<String>)>, StreamsError> {
    let mut shards = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let out = client
            .describe_stream()
            .stream_arn(stream_arn)
            .set_exclusive_start_shard_id(start.take())
            .send()
            .await
            .map_err(StreamsError::of)?;
        let Some(description) = out.stream_description() else {
            return Ok(shards);
        };
        for shard in description.shards() {
            if let Some(id) = shard.shard_id() {
                shards.push((id.to_string(), shard.parent_shard_id().map(str::to_string)));
            }
        }
        match description.last_evaluated_shard_id() {
            Some(last) => start = Some(last.to_string()),
            None => return Ok(shards),
        }
    }
}

fn sequence_number(record: &Record) -> String {
    record
        .dynamodb()
        .and_then(|d| d.sequence_number())
        .unwrap_or_default()
        .to_string()
}

/// A failed Streams API call, as much of it as may be logged: the error code or the kind of
/// failure, never the request (a shard iterator is a bearer of the stream's position).
#[derive(Debug)]
struct StreamsError {
    code: Option<String>,
    kind: &'static str,
}

impl StreamsError {
    fn of<E: ProvideErrorMetadata, R>(e: SdkError<E, R>) -> Self {
        let kind = match &e {
            SdkError::ServiceError(_) => "service error",
            SdkError::TimeoutError(_) => "timeout",
            SdkError::DispatchFailure(_) => "dispatch failure",
            SdkError::ResponseError(_) => "unreadable response",
            _ => "request not built",
        };
        StreamsError {
            code: e.code().map(str::to_string),
            kind,
        }
    }

    fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
}

/// Where the reader is in one shard.
#[derive(Debug, Default)]
struct Shard {
    /// The shard this one was split from, read to its end first.
    parent: Option<String>,
    /// The sequence number of the last record the pipeline took.
    last: Option<String>,
    /// The iterator to read with next; `None`: get one after `last`.
    iterator: Option<String>,
    /// Closed and read to its end.
    done: bool,
}

impl Shard {
    /// Where a new iterator starts: after the last record taken, or at the oldest record.
    fn start(&self) -> (ShardIteratorType, Option<String>) {
        match &self.last {
            Some(seq) => (ShardIteratorType::AfterSequenceNumber, Some(seq.clone())),
            None => (ShardIteratorType::TrimHorizon, None),
        }
    }

    /// After a read: `last` is the last record taken (if any); no next iterator means the
    /// shard is closed and read to its end.
    fn advance(&mut self, last: Option<String>, next: Option<String>) {
        if last.is_some() {
            self.last = last;
        }
        self.done = next.is_none();
        self.iterator = next;
    }
}

/// Every shard seen, by id.
#[derive(Debug, Default)]
struct Reader {
    shards: BTreeMap<String, Shard>,
}

impl Reader {
    fn learn(&mut self, id: String, parent: Option<String>) {
        self.shards.entry(id).or_insert_with(|| Shard {
            parent,
            ..Shard::default()
        });
    }

    /// The shards to read now: open ones whose parent is read to its end or unknown (trimmed
    /// from the stream, 24 hours after it closed).
    fn readable(&self) -> Vec<String> {
        self.shards
            .iter()
            .filter(|(_, s)| !s.done)
            .filter(|(_, s)| {
                s.parent
                    .as_ref()
                    .and_then(|p| self.shards.get(p))
                    .is_none_or(|p| p.done)
            })
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// Pauses after failures in a row: from [`POLL`], doubling, at most [`MAX_BACKOFF`].
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let pause = POLL
            .saturating_mul(1 << self.failures.min(16))
            .min(MAX_BACKOFF);
        self.failures = self.failures.saturating_add(1);
        pause
    }

    fn reset(&mut self) {
        self.failures = 0;
    }

    /// Logs the failure (its code only) and waits.
    async fn failed(&mut self, call: &str, shard: Option<&str>, e: &StreamsError) {
        let pause = self.next();
        tracing::warn!(
            call,
            shard = shard.unwrap_or("-"),
            code = e.code().unwrap_or("-"),
            kind = e.kind,
            retry_in_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
            "reading the table's stream failed; resuming from the last record taken"
        );
        tokio::time::sleep(pause).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_shard_is_read_after_its_parent_ends() {
        let mut r = Reader::default();
        r.learn("a".into(), None);
        r.learn("b".into(), Some("a".into()));
        r.learn("c".into(), Some("trimmed".into()));
        assert_eq!(r.readable(), ["a", "c"]);
        // A read with records and a next iterator: still open.
        let a = r.shards.get_mut("a").unwrap();
        a.advance(Some("7".into()), Some("it".into()));
        assert_eq!(r.readable(), ["a", "c"]);
        // An empty read without a next iterator: closed, and its child is read.
        r.shards.get_mut("a").unwrap().advance(None, None);
        assert_eq!(r.readable(), ["b", "c"]);
        assert_eq!(r.shards["a"].last.as_deref(), Some("7"));
    }

    #[test]
    fn a_new_iterator_starts_after_the_last_record_taken() {
        let mut s = Shard::default();
        assert_eq!(s.start(), (ShardIteratorType::TrimHorizon, None));
        s.advance(Some("41".into()), Some("it".into()));
        s.advance(None, Some("it2".into()));
        // A failed GetRecords drops the iterator; the next one resumes after 41.
        s.iterator = None;
        assert_eq!(
            s.start(),
            (ShardIteratorType::AfterSequenceNumber, Some("41".into()))
        );
    }

    #[test]
    fn the_backoff_doubles_up_to_its_bound_and_starts_over_after_a_success() {
        let mut b = Backoff::default();
        let ms: Vec<u128> = (0..8).map(|_| b.next().as_millis()).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
        b.reset();
        assert_eq!(b.next(), POLL);
    }
}
