//! The stored change feed on both stores: numbering, dedupe by `txn`, paging, retention, and
//! concurrent appenders that never take one number twice or skip one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod changes;
mod faults;
mod local_server;
mod stream_path;
mod webhooks;

use std::collections::HashSet;
use std::sync::Arc;

use scim_lambda::change::{Change, ChangeKind};
use scim_lambda::scim::schema::ResourceKind;
use scim_lambda::store::TenantId;
use scim_lambda::store::dynamo::DynamoStore;
use scim_lambda::store::feed::{FeedStore, MemoryFeed, Retention};

const NOW: u64 = 1_750_000_000;
const KEEP: Retention = Retention {
    secs: 30 * 86_400,
    now_secs: NOW,
};

fn change(tenant: &TenantId, id: &str, version: u64) -> Change {
    Change {
        tenant: tenant.clone(),
        kind: ResourceKind::User,
        id: id.to_string(),
        change: if version == 1 {
            ChangeKind::Created
        } else {
            ChangeKind::Patched
        },
        version_before: (version > 1).then(|| version - 1),
        version_after: Some(version),
        attributes: vec!["title".into()],
        active: None,
        added: vec![],
        removed: vec![],
        external_id: None,
        committed_ms: NOW * 1000,
    }
}

/// The ARN of `table`'s stream (new and old images), which the emulator names on creation.
pub(crate) async fn stream_arn(client: &aws_sdk_dynamodb::Client, table: &str) -> String {
    client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table()
        .and_then(|t| t.latest_stream_arn())
        .unwrap()
        .to_string()
}

async fn dynamo() -> Option<DynamoStore> {
    std::env::var_os("SCIM_TEST_DYNAMODB")?;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        format!("scim-feed-{}", uuid::Uuid::new_v4()),
    );
    store.create_table_if_missing().await.unwrap();
    Some(store)
}

async fn numbers_dedupes_and_pages<F: FeedStore>(feed: &F) {
    let t = TenantId::parse("t_feed").unwrap();
    let other = TenantId::parse("t_other").unwrap();
    let first: Vec<Change> = (1..=3).map(|v| change(&t, "u1", v)).collect();
    let appended = feed.append(&t, &first, KEEP).await.unwrap();
    assert_eq!(
        appended.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // A redelivered batch with one new change: only the new one is appended, numbered on.
    let mut again = first.clone();
    again.push(change(&t, "u2", 1));
    let appended = feed.append(&t, &again, KEEP).await.unwrap();
    assert_eq!(appended.len(), 1);
    assert_eq!(appended[0].seq, 4);
    assert_eq!(appended[0].change.id, "u2");
    // Another tenant's feed is its own, and a change of another tenant is never appended here.
    let theirs = feed
        .append(
            &other,
            &[change(&other, "u9", 1), change(&t, "u3", 1)],
            KEEP,
        )
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].seq, 1);
    // Paging: after 0, two at a time, then the rest, then nothing new.
    let page = feed.events(&t, 0, 2, NOW).await.unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(page.next, 2);
    let page = feed.events(&t, page.next, 10, NOW).await.unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [3, 4]
    );
    let doc: serde_json::Value = serde_json::from_str(&page.events[1].doc).unwrap();
    assert_eq!(doc["type"], "user.created");
    assert_eq!(doc["seq"], 4);
    let empty = feed.events(&t, page.next, 10, NOW).await.unwrap();
    assert!(empty.events.is_empty());
    assert_eq!(empty.next, 4);
    // Past the retention, events are no longer served but the position still advances.
    let later = NOW + KEEP.secs + 1;
    let expired = feed.events(&t, 0, 10, later).await.unwrap();
    assert!(expired.events.is_empty());
}

async fn concurrent_appenders_take_every_number_once<F: FeedStore>(feed: Arc<F>) {
    let t = TenantId::parse("t_race").unwrap();
    let writers = 6;
    let per_writer = 15;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let feed = Arc::clone(&feed);
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..per_writer {
                let c = change(&t, &format!("u{w}-{i}"), 1);
                // Each change is also delivered twice, as a stream may.
                for _ in 0..2 {
                    for e in feed
                        .append(&t, std::slice::from_ref(&c), KEEP)
                        .await
                        .unwrap()
                    {
                        seqs.push(e.seq);
                    }
                }
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_unstable();
    let expected: Vec<u64> = (1..=(writers * per_writer) as u64).collect();
    assert_eq!(all, expected, "every number taken exactly once");
    // A reader following `next` sees every event once, in order.
    let mut after = 0;
    let mut read = Vec::new();
    let mut ids = HashSet::new();
    loop {
        let page = feed.events(&t, after, 7, NOW).await.unwrap();
        if page.events.is_empty() {
            break;
        }
        for e in &page.events {
            let doc: serde_json::Value = serde_json::from_str(&e.doc).unwrap();
            assert!(ids.insert(doc["sub_id"]["uri"].as_str().unwrap().to_string()));
            read.push(e.seq);
        }
        after = page.next;
    }
    assert_eq!(read, expected);
}

#[tokio::test]
async fn events_tail_prints_one_line_per_event_and_continues_from_where_it_stopped() {
    let t = TenantId::parse("t_tail").unwrap();
    let changes: Vec<Change> = (1..=3).map(|v| change(&t, "u1", v)).collect();
    let mut out = Vec::new();
    // `tail_events` reads with the wall clock: these events were stamped to expire after it.
    let keep = Retention {
        secs: u64::MAX / 4,
        now_secs: NOW,
    };
    let fresh = MemoryFeed::new();
    fresh.append(&t, &changes, keep).await.unwrap();
    let reached = scim_lambda::cli::tail_events(&fresh, &t, 1, false, &mut out)
        .await
        .unwrap();
    assert_eq!(reached, 3);
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [2, 3]
    );
}

#[tokio::test]
async fn memory_feed_numbers_dedupes_and_pages() {
    numbers_dedupes_and_pages(&MemoryFeed::new()).await;
}

/// The local server's embedded feed keeps a window of each tenant's newest events: pulls skip
/// what it dropped (as they skip expired events) and numbering goes on; other tenants keep
/// their own window.
#[tokio::test]
async fn memory_feed_keeps_a_window_of_the_newest_events() {
    let feed = MemoryFeed::with_window(3);
    let (a, b) = (
        TenantId::parse("t_a").unwrap(),
        TenantId::parse("t_b").unwrap(),
    );
    let five: Vec<Change> = (1..=5).map(|v| change(&a, "u1", v)).collect();
    let appended = feed.append(&a, &five, KEEP).await.unwrap();
    assert_eq!(
        appended.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    feed.append(&b, &[change(&b, "u1", 1)], KEEP).await.unwrap();

    // (after, seqs returned, next)
    let table: [(u64, &[u64], u64); 4] = [
        (0, &[3, 4, 5], 5),
        (2, &[3, 4, 5], 5),
        (4, &[5], 5),
        (5, &[], 5),
    ];
    for (after, seqs, next) in table {
        let page = feed.events(&a, after, 100, NOW).await.unwrap();
        let got: Vec<u64> = page.events.iter().map(|e| e.seq).collect();
        assert_eq!((got.as_slice(), page.next), (seqs, next), "after {after}");
    }
    let other = feed.events(&b, 0, 100, NOW).await.unwrap();
    assert_eq!(
        other.events.len(),
        1,
        "one tenant's window does not trim another's"
    );

    // A kept change redelivered is still skipped; the next change is numbered on.
    let again = feed.append(&a, &five[4..], KEEP).await.unwrap();
    assert!(again.is_empty());
    let sixth = feed.append(&a, &[change(&a, "u1", 6)], KEEP).await.unwrap();
    assert_eq!(sixth[0].seq, 6);
    let page = feed.events(&a, 0, 100, NOW).await.unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [4, 5, 6]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_feed_under_concurrent_appenders() {
    concurrent_appenders_take_every_number_once(Arc::new(MemoryFeed::new())).await;
}

#[tokio::test]
async fn dynamo_feed_numbers_dedupes_and_pages() {
    let Some(store) = dynamo().await else {
        return;
    };
    numbers_dedupes_and_pages(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_feed_under_concurrent_appenders() {
    let Some(store) = dynamo().await else {
        return;
    };
    let store = Arc::new(store);
    concurrent_appenders_take_every_number_once(Arc::clone(&store)).await;
    // The race was real: appenders lost the counter's condition and re-read it (one read per
    // append otherwise: 6 writers x 15 changes x 2 deliveries).
    let reads = scim_lambda::store::Store::calls(&*store)
        .snapshot()
        .get(scim_lambda::store::Call::GetItem);
    assert!(
        reads > 180,
        "{reads} counter reads: no append ever lost a race"
    );
}

mod stream_fixtures {
    //! The recorded stream events in `events/stream/` through the stream function's handler,
    //! as Lambda would hand them over.

    use std::sync::{Arc, Mutex};

    use scim_lambda::feed::lambda::handle;
    use scim_lambda::feed::pipeline::{Outgoing, Pipeline, Push, PushError};
    use scim_lambda::store::TenantId;
    use scim_lambda::store::feed::{FeedStore, MemoryFeed};
    use serde_json::Value;

    use super::NOW;

    #[derive(Default)]
    struct Recorded(Mutex<Vec<Outgoing>>);

    impl Push for Recorded {
        async fn push(&self, events: &[Outgoing]) -> Result<(), PushError> {
            self.0.lock().unwrap().extend_from_slice(events);
            Ok(())
        }
    }

    fn fixture(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("events/stream")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    async fn types(feed: &MemoryFeed) -> Vec<String> {
        let t = TenantId::parse("t_acme").unwrap();
        let page = feed.events(&t, 0, 100, NOW).await.unwrap();
        page.events
            .iter()
            .map(|e| {
                let doc: Value = serde_json::from_str(&e.doc).unwrap();
                doc["type"].as_str().unwrap().to_string()
            })
            .collect()
    }

    #[tokio::test]
    async fn recorded_batches_become_events_and_poison_is_reported() {
        let feed = Arc::new(MemoryFeed::new());
        let push = Arc::new(Recorded::default());
        let pipeline = Pipeline::new(Arc::clone(&feed), Arc::clone(&push), 86_400);
        let replies: Vec<Value> = {
            let mut out = Vec::new();
            for name in [
                "01-user-insert.json",
                "02-user-deactivate.json",
                "03-group-add-members.json",
                "04-user-remove.json",
                "05-ttl-remove-event.json",
            ] {
                out.push(handle(&pipeline, &fixture(name), NOW).await);
            }
            out
        };
        for reply in &replies {
            assert_eq!(reply["batchItemFailures"], serde_json::json!([]));
        }
        assert_eq!(
            types(&feed).await,
            [
                "user.created",
                "user.deactivated",
                "group.members_added",
                "user.deleted"
            ]
        );
        // A redelivered batch adds nothing.
        handle(&pipeline, &fixture("02-user-deactivate.json"), NOW).await;
        assert_eq!(types(&feed).await.len(), 4);

        // The poison record (second of three) is named; the one before it is done, and the
        // one after it is left for the retry.
        let batch = fixture("06-batch-with-poison.json");
        let reply = handle(&pipeline, &batch, NOW).await;
        let poison = batch["Records"][1]["dynamodb"]["SequenceNumber"].clone();
        assert_eq!(
            reply["batchItemFailures"],
            serde_json::json!([{ "itemIdentifier": poison }])
        );
        let after = types(&feed).await;
        assert_eq!(after.len(), 5);
        assert_eq!(after[4], "user.updated");
        // Nothing here was an event item insert: nothing was pushed by this pipeline.
        assert!(push.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn stored_event_inserts_are_pushed_once_each() {
        let feed = Arc::new(MemoryFeed::new());
        let push = Arc::new(Recorded::default());
        let pipeline = Pipeline::new(Arc::clone(&feed), Arc::clone(&push), 86_400);
        // What the table's stream shows after the feed stored two events.
        let event = |seq: u64, ty: &str| {
            let doc = serde_json::json!({"jti": format!("evt_{seq}"), "type": ty, "seq": seq})
                .to_string();
            serde_json::json!({
                "eventID": format!("e{seq}"),
                "eventName": "INSERT",
                "dynamodb": {
                    "Keys": {"pk": {"S": "T#t_acme#EVENTS"}, "sk": {"S": format!("E#{seq:020}")}},
                    "NewImage": {"pk": {"S": "T#t_acme#EVENTS"}, "sk": {"S": format!("E#{seq:020}")}, "doc": {"S": doc}},
                    "SequenceNumber": format!("9{seq}"),
                }
            })
        };
        let batch = serde_json::json!({"Records": [event(1, "user.created"), event(2, "user.deactivated")]});
        let reply = handle(&pipeline, &batch, NOW).await;
        assert_eq!(reply["batchItemFailures"], serde_json::json!([]));
        let pushed = push.0.lock().unwrap().clone();
        assert_eq!(
            pushed
                .iter()
                .map(|e| (e.seq, e.id.as_str(), e.event_type.as_str()))
                .collect::<Vec<_>>(),
            [
                (1, "evt_1", "user.created"),
                (2, "evt_2", "user.deactivated")
            ]
        );
    }
}
