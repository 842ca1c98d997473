//! The production path on the emulator: SCIM writes through the service into DynamoDB, the
//! table's stream read through the DynamoDB Streams API, the pipeline appending to the feed in
//! the same table, and the feed's own inserts coming back through the stream to be pushed.
//! The reader keeps going, and resumes where it was, through failures of the Streams API.

use scim_lambda::clock::{Clock, SystemClock};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scim_lambda::feed::pipeline::{Outgoing, Pipeline, Push, PushError};
use scim_lambda::feed::streams::follow;
use scim_lambda::scim::projection::Projection;
use scim_lambda::scim::schema::ResourceKind;
use scim_lambda::service::Service;
use scim_lambda::store::TenantId;
use scim_lambda::store::dynamo::DynamoStore;
use scim_lambda::store::feed::FeedStore;
use serde_json::{Value, json};

#[derive(Default)]
struct Recorded(Mutex<Vec<Outgoing>>);

impl Push for Recorded {
    async fn push(&self, events: &[Outgoing]) -> Result<(), PushError> {
        self.0.lock().unwrap().extend_from_slice(events);
        Ok(())
    }
}

/// A fresh table on the emulator with its stream, or `None` without the emulator.
struct StreamTable {
    config: aws_config::SdkConfig,
    table: String,
    store: Arc<DynamoStore>,
    stream_arn: String,
}

async fn stream_table(prefix: &str) -> Option<StreamTable> {
    std::env::var_os("SCIM_TEST_DYNAMODB")?;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let table = format!("{prefix}-{}", uuid::Uuid::new_v4());
    let client = aws_sdk_dynamodb::Client::new(&config);
    let store = Arc::new(DynamoStore::new(client.clone(), table.clone()));
    store.create_table_if_missing().await.unwrap();
    let stream_arn = crate::stream_arn(&client, &table).await;
    Some(StreamTable {
        config,
        table,
        store,
        stream_arn,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_writes_reach_the_feed_and_the_pusher_through_the_stream() {
    let Some(StreamTable {
        config,
        table,
        store,
        stream_arn,
    }) = stream_table("scim-stream").await
    else {
        return;
    };
    let push = Arc::new(Recorded::default());
    let pipeline = Arc::new(Pipeline::new(Arc::clone(&store), Arc::clone(&push), 86_400));
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let follower = {
        let pipeline = Arc::clone(&pipeline);
        tokio::spawn(async move { follow(streams, stream_arn, &*pipeline).await })
    };

    let tenant = TenantId::parse("t_stream").unwrap();
    // The function's store and the feed pipeline's are two handles on one table, as in Lambda.
    let service = Service::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        table.clone(),
    ));
    let created = service
        .create(
            &tenant,
            ResourceKind::User,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", "active": true}),
        )
        .await
        .unwrap();
    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    service
        .patch(
            &tenant,
            ResourceKind::User,
            &created.id,
            &deactivate,
            None,
            &Projection::default(),
        )
        .await
        .unwrap();
    // A group's membership changes are events with their member delta; a no-op PATCH (a
    // member added again) and a refused one (a member that does not exist) are none.
    let group = service
        .create(
            &tenant,
            ResourceKind::Group,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops"}),
        )
        .await
        .unwrap();
    let add = |id: &str| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]})
    };
    let none = Projection::default();
    service
        .patch(
            &tenant,
            ResourceKind::Group,
            &group.id,
            &add(&created.id),
            None,
            &none,
        )
        .await
        .unwrap();
    service
        .patch(
            &tenant,
            ResourceKind::Group,
            &group.id,
            &add(&created.id),
            None,
            &none,
        )
        .await
        .unwrap();
    let missing = "00000000-0000-4000-8000-00000000dead";
    assert!(
        service
            .patch(
                &tenant,
                ResourceKind::Group,
                &group.id,
                &add(missing),
                None,
                &none
            )
            .await
            .is_err()
    );
    if std::env::var_os("FEED_DEBUG").is_some() {
        let g = service
            .get(
                &tenant,
                ResourceKind::Group,
                &group.id,
                &Projection::default(),
            )
            .await
            .unwrap();
        eprintln!("GROUP v{} members {:?}", g.version, g.members);
    }
    service
        .delete(&tenant, ResourceKind::User, &created.id, None)
        .await
        .unwrap();

    // Bounded wait for the feed and the pusher to catch up.
    let mut types = Vec::new();
    for _ in 0..100 {
        let now = SystemClock.now_ms() / 1000;
        let page = store.events(&tenant, 0, 100, now).await.unwrap();
        types = page
            .events
            .iter()
            .map(|e| {
                serde_json::from_str::<Value>(&e.doc).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        if types.len() >= 5 && push.0.lock().unwrap().len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if std::env::var_os("FEED_DEBUG").is_some() {
        let now = SystemClock.now_ms() / 1000;
        for e in store.events(&tenant, 0, 100, now).await.unwrap().events {
            eprintln!("{}", e.doc);
        }
    }
    if follower.is_finished() {
        panic!("the stream reader stopped: {:?}", follower.await);
    }
    follower.abort();
    assert_eq!(
        types,
        [
            "user.created",
            "user.deactivated",
            "group.created",
            "group.members_added",
            "user.deleted"
        ]
    );
    let page = store
        .events(&tenant, 3, 1, SystemClock.now_ms() / 1000)
        .await
        .unwrap();
    let added: Value = serde_json::from_str(&page.events[0].doc).unwrap();
    assert_eq!(
        added["events"]["urn:ietf:params:scim:event:prov:patch:full"]["members"]["added"],
        json!([created.id])
    );
    assert_eq!(added["version"], "W/\"2\"");
    let pushed: Vec<(u64, String)> = push
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|e| (e.seq, e.event_type.clone()))
        .collect();
    // The operator's view of the same feed: the CLI reads the table directly.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_scim-lambda"))
        .args(["events", "tail", "--tenant", "t_stream", "--table", &table])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        pushed.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(pushed[1].1, "user.deactivated");
}

/// The number of users the resume test writes.
const RESUMED_WRITES: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reader_backs_off_and_resumes_where_it_was_when_the_streams_api_fails() {
    let Some(StreamTable {
        config,
        table,
        store,
        stream_arn,
    }) = stream_table("scim-resume").await
    else {
        return;
    };
    // GIVEN the emulator refusing a seeded third of the table's Streams API calls, and a
    // reader whose client does not retry, so the reader meets every refusal itself.
    crate::faults::throttle(
        "POST",
        "",
        Some(json!({"table": table, "share": 0.35, "seed": 11, "api": "streams"})),
    )
    .await;
    let push = Arc::new(Recorded::default());
    let pipeline = Arc::new(Pipeline::new(Arc::clone(&store), Arc::clone(&push), 86_400));
    let streams = aws_sdk_dynamodbstreams::Client::from_conf(
        aws_sdk_dynamodbstreams::config::Builder::from(&config)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build(),
    );
    let follower = {
        let pipeline = Arc::clone(&pipeline);
        tokio::spawn(async move { follow(streams, stream_arn, &*pipeline).await })
    };

    // WHEN users are created, a few at a time, while the reader runs.
    let tenant = TenantId::parse("t_resume").unwrap();
    let service = Service::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        table.clone(),
    ));
    for i in 0..RESUMED_WRITES {
        service
            .create(
                &tenant,
                ResourceKind::User,
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("u{i}")}),
            )
            .await
            .unwrap();
        if i % 4 == 3 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    // THEN (bounded wait) every change reaches the feed and the pusher exactly once, in order:
    // the reader kept going through the refusals and resumed after the last record it took.
    for _ in 0..300 {
        if push.0.lock().unwrap().len() >= RESUMED_WRITES || follower.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A moment more, for any duplicate a re-read from the start would push.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = crate::faults::throttle("GET", &format!("?table={table}"), None).await;
    crate::faults::throttle("POST", "", Some(json!({"table": table, "share": 0}))).await;
    assert!(
        !follower.is_finished(),
        "the stream reader stopped: {:?}",
        follower.await
    );
    follower.abort();
    assert!(
        counts["throttled"].as_u64().unwrap() > 0,
        "the Streams API refused nothing: {counts}"
    );
    let pushed: Vec<u64> = push.0.lock().unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(
        pushed,
        (1..=RESUMED_WRITES as u64).collect::<Vec<_>>(),
        "with {counts}"
    );
    let now = SystemClock.now_ms() / 1000;
    let page = store.events(&tenant, 0, 100, now).await.unwrap();
    assert_eq!(page.events.len(), RESUMED_WRITES);
    eprintln!("Streams API calls refused: {counts}");
}
