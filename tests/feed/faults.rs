//! A fault run of the whole production path on the emulator: SCIM writes while DynamoDB
//! throttles a fixed, seeded share of the table's requests (the emulator's `/_throttle` switch, with
//! the SDK's own retries off so the store and the pipeline meet every refusal), the stream
//! function (`feed::lambda::handle`) over the table's stream read through the Streams API and
//! retried from the first failed record as Lambda's event source mapping does, and webhook
//! deliveries on a manual clock to two receivers on 127.0.0.1: one answers 500 to the first two
//! attempts of each event, the other drops the connection on the first. It ends when the
//! stream and the delivery queue are quiet (both bounded), and checks that the feed holds every
//! committed change once, in per-resource version order, and that each endpoint received every
//! event, exactly the feed's events after dedupe by `webhook-id`, each signed.

use scim_lambda::clock::{Clock, SystemClock};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use scim_lambda::feed::UrlPolicy;
use scim_lambda::feed::WebhookSecret;
use scim_lambda::feed::delivery::{Delivery, Https};
use scim_lambda::feed::lambda::handle;
use scim_lambda::feed::pipeline::Pipeline;
use scim_lambda::feed::queue::{DeliveryQueue, LocalQueue, WebhookPush, handle_due};
use scim_lambda::feed::streams::lambda_record;
use scim_lambda::scim::projection::Projection;
use scim_lambda::scim::schema::ResourceKind::{self, Group, User};
use scim_lambda::service::Service;
use scim_lambda::store::dynamo::DynamoStore;
use scim_lambda::store::feed::FeedStore;
use scim_lambda::store::webhooks::{Endpoint, WebhookStore};
use scim_lambda::store::{Store, TenantId};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The share of DynamoDB requests naming the table that are refused, and the seed that picks
/// them (the same run refuses the same requests).
const THROTTLE_SHARE: f64 = 0.25;
const THROTTLE_SEED: u64 = 9967;
/// Most attempts the driver makes of one SCIM write, as a client retrying 503s would.
const WRITE_ATTEMPTS: usize = 40;
/// Records per stream batch (the event source mapping's `BatchSize`, kept small so a run has
/// many batches).
const BATCH: usize = 8;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What a receiver saw: (webhook-id, timestamp, signature, body, answered 2xx).
type Seen = Arc<Mutex<Vec<(String, String, String, String, bool)>>>;

/// How a receiver treats the nth attempt (1-based) of one event.
#[derive(Clone, Copy)]
enum Behaviour {
    /// 500 to the first `n` attempts.
    FailFirst(u32),
    /// Closes the connection without an answer on the first `n` attempts.
    DropFirst(u32),
}

/// A minimal HTTP/1.1 receiver on 127.0.0.1 that can also drop a connection unanswered.
async fn receiver(behaviour: Behaviour) -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let attempts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (record, attempts) = (Arc::clone(&record), Arc::clone(&attempts));
            tokio::spawn(async move {
                let Some((headers, body)) = read_request(&mut socket).await else {
                    return;
                };
                let h = |n: &str| headers.get(n).cloned().unwrap_or_default();
                let id = h("webhook-id");
                let n = {
                    let mut a = attempts.lock().unwrap();
                    let n = a.entry(id.clone()).or_default();
                    *n += 1;
                    *n
                };
                let answer = match behaviour {
                    Behaviour::FailFirst(k) if n <= k => Some(500),
                    Behaviour::DropFirst(k) if n <= k => None,
                    _ => Some(200),
                };
                record.lock().unwrap().push((
                    id,
                    h("webhook-timestamp"),
                    h("webhook-signature"),
                    body,
                    answer == Some(200),
                ));
                if let Some(status) = answer {
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                }
                // Dropped here: unanswered when no status was chosen.
            });
        }
    });
    (format!("http://{addr}/hook"), seen)
}

/// Reads one request: lower-cased headers and the body.
async fn read_request(
    socket: &mut tokio::net::TcpStream,
) -> Option<(HashMap<String, String>, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers.get("content-length")?.parse().ok()?;
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
    Some((headers, body))
}

/// One request to the emulator's `/_throttle` switch.
pub(crate) async fn throttle(method: &str, query: &str, body: Option<Value>) -> Value {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let authority = endpoint.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} /_throttle{query} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    socket.read_to_string(&mut out).await.unwrap();
    let json = out.split("\r\n\r\n").nth(1).unwrap_or("{}");
    serde_json::from_str(json).unwrap()
}

/// Runs a SCIM write until it succeeds, as a client retrying refused requests would.
async fn until_ok<T, F, Fut>(failures: &mut usize, mut write: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, scim_lambda::service::Error>>,
{
    for _ in 0..WRITE_ATTEMPTS {
        match write().await {
            Ok(v) => return v,
            Err(_) => *failures += 1,
        }
    }
    panic!("a SCIM write failed {WRITE_ATTEMPTS} times");
}

fn ops(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

fn members(ids: &[&String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({"value": id})).collect())
}

/// The fixed set of SCIM writes of the run: 4 users each created, patched, replaced and
/// deactivated; a group created, added to, removed from and replaced; one user deleted.
/// Returns the number of failed attempts.
async fn drive<S: Store>(s: &Service<S>, t: &TenantId) -> (usize, Vec<(ResourceKind, String)>) {
    let none = Projection::default();
    let mut failures = 0;
    let mut users = Vec::new();
    for i in 0..4 {
        let body = json!({"schemas": [USER], "userName": format!("fault-{i}"), "active": true});
        let r = until_ok(&mut failures, || s.create(t, User, &body)).await;
        users.push(r.id);
    }
    for (i, id) in users.iter().enumerate() {
        let title = ops(json!([{"op": "replace", "path": "title", "value": "t1"}]));
        until_ok(&mut failures, || s.patch(t, User, id, &title, None, &none)).await;
        let put = json!({"schemas": [USER], "userName": format!("fault-{i}"), "active": true, "title": "t2"});
        until_ok(&mut failures, || s.replace(t, User, id, &put, None, &none)).await;
        let off = ops(json!([{"op": "Replace", "path": "active", "value": "False"}]));
        until_ok(&mut failures, || s.patch(t, User, id, &off, None, &none)).await;
    }
    let body = json!({"schemas": [GROUP], "displayName": "Faults", "members": members(&[&users[0], &users[1]])});
    let g = until_ok(&mut failures, || s.create(t, Group, &body))
        .await
        .id;
    let add = ops(json!([{"op": "add", "path": "members", "value": members(&[&users[2]])}]));
    until_ok(&mut failures, || s.patch(t, Group, &g, &add, None, &none)).await;
    let remove =
        ops(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[0])}]));
    until_ok(&mut failures, || {
        s.patch(t, Group, &g, &remove, None, &none)
    })
    .await;
    let put =
        json!({"schemas": [GROUP], "displayName": "Faults", "members": members(&[&users[3]])});
    until_ok(&mut failures, || s.replace(t, Group, &g, &put, None, &none)).await;
    until_ok(&mut failures, || async {
        match s.delete(t, User, &users[1], None).await {
            // A retry after a delete whose answer was refused finds it gone.
            Err(scim_lambda::service::Error::NotFound { .. }) => Ok(()),
            other => other,
        }
    })
    .await;
    let mut resources: Vec<(ResourceKind, String)> =
        users.into_iter().map(|id| (User, id)).collect();
    resources.push((Group, g));
    (failures, resources)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_failing_endpoints_still_deliver_every_event_once_per_endpoint() {
    if std::env::var_os("SCIM_TEST_DYNAMODB").is_none() {
        return;
    }
    tokio::time::timeout(Duration::from_secs(240), run())
        .await
        .expect("the fault run stops by itself");
}

async fn run() {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let table = format!("scim-faults-{}", uuid::Uuid::new_v4());
    let client = aws_sdk_dynamodb::Client::new(&config);
    let store = Arc::new(DynamoStore::new(client.clone(), table.clone()));
    store.create_table_if_missing().await.unwrap();
    let t = TenantId::parse("t_faults").unwrap();

    // Two endpoints on 127.0.0.1, each failing in its own way.
    let (url_a, seen_a) = receiver(Behaviour::FailFirst(2)).await;
    let (url_b, seen_b) = receiver(Behaviour::DropFirst(1)).await;
    let mut secrets = BTreeMap::new();
    for (id, url) in [("wh_a", &url_a), ("wh_b", &url_b)] {
        let secret = WebhookSecret::generate().unwrap();
        store
            .put_endpoint(&Endpoint {
                id: id.into(),
                url: url.clone(),
                secret: secret.expose(),
                tenants: Some(vec![t.clone()]),
                types: None,
                created_at: "2026-12-01T00:00:00Z".into(),
            })
            .await
            .unwrap();
        secrets.insert(id, secret);
    }

    // The stream's address is read before DynamoDB starts refusing requests.
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let arn = crate::stream_arn(&client, &table).await;

    throttle(
        "POST",
        "",
        Some(json!({"table": table, "share": THROTTLE_SHARE, "seed": THROTTLE_SEED})),
    )
    .await;

    // 1. The SCIM writes, through the service, while DynamoDB throttles.
    let service = Service::new(DynamoStore::new(client.clone(), table.clone()));
    let (write_failures, resources) = drive(&service, &t).await;

    // 2. The stream function over the table's stream until it is quiet.
    let queue = Arc::new(LocalQueue::new());
    let push = WebhookPush::new(Arc::clone(&store), Arc::clone(&queue));
    let pipeline = Pipeline::new(Arc::clone(&store), push, 86_400);
    let shards = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap();
    let shard = shards.stream_description().unwrap().shards()[0]
        .shard_id()
        .unwrap()
        .to_string();
    let mut iterator = streams
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator;
    let mut pending: VecDeque<Value> = VecDeque::new();
    let (mut batches, mut failed_batches) = (0, 0);
    for _ in 0..2_000 {
        if pending.is_empty() {
            let Some(current) = iterator.clone() else {
                break;
            };
            let page = streams
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .unwrap();
            iterator = page.next_shard_iterator.clone();
            if page.records().is_empty() {
                break;
            }
            pending.extend(page.records().iter().map(lambda_record));
        }
        let batch: Vec<Value> = pending.iter().take(BATCH).cloned().collect();
        let reply = handle(
            &pipeline,
            &json!({ "Records": batch }),
            SystemClock.now_ms() / 1000,
        )
        .await;
        batches += 1;
        match reply["batchItemFailures"][0]["itemIdentifier"].as_str() {
            None => {
                pending.drain(..batch.len());
            }
            // Retried from the failed record, as the event source mapping does.
            Some(failed) => {
                failed_batches += 1;
                let at = batch
                    .iter()
                    .position(|r| r["dynamodb"]["SequenceNumber"] == failed)
                    .unwrap();
                pending.drain(..at);
            }
        }
    }
    assert!(pending.is_empty(), "the stream was not drained");

    // 3. Deliveries on a manual clock until the queue is empty; a round whose registry read is
    // throttled comes back a second later, as an SQS message whose batch failed would.
    let transport = Https::new(UrlPolicy::Local).unwrap();
    let mut now = SystemClock.now_ms();
    let (mut rounds, mut deferred) = (0, 0);
    for _ in 0..5_000 {
        let (due, next) = queue.take_due(now);
        if due.is_empty() {
            match next {
                Some(n) => {
                    now = n;
                    continue;
                }
                None => break,
            }
        }
        rounds += 1;
        if handle_due(&transport, &*store, &*queue, due.clone(), now)
            .await
            .is_err()
        {
            deferred += 1;
            let again: Vec<Delivery> = due
                .into_iter()
                .map(|d| Delivery {
                    due_ms: now + 1000,
                    ..d
                })
                .collect();
            queue.send(again, now).await.unwrap();
        }
    }
    assert_eq!(queue.take_due(u64::MAX).0, Vec::new(), "the queue is quiet");
    assert!(queue.dead_letters().is_empty());

    let counts = throttle("GET", &format!("?table={table}"), None).await;
    throttle("POST", "", Some(json!({"table": table, "share": 0}))).await;

    // The feed: every committed change once, seq gap-free, each resource's versions in order
    // and ending at the version the store holds.
    let page = store
        .events(&t, 0, 1000, SystemClock.now_ms() / 1000)
        .await
        .unwrap();
    let docs: Vec<Value> = page
        .events
        .iter()
        .map(|e| serde_json::from_str(&e.doc).unwrap())
        .collect();
    let seqs: Vec<u64> = docs.iter().map(|d| d["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=docs.len() as u64).collect::<Vec<_>>());
    let mut versions: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for d in &docs {
        let uri = d["sub_id"]["uri"].as_str().unwrap().to_string();
        let v = d["version"].as_str().map(|v| {
            v.trim_start_matches("W/\"")
                .trim_end_matches('"')
                .parse()
                .unwrap()
        });
        let seen = versions.entry(uri).or_default();
        match v {
            Some(v) => seen.push(v),
            None => seen.push(u64::MAX),
        }
    }
    for (kind, id) in &resources {
        let uri = format!("/{}/{id}", kind.endpoint());
        let got = &versions[&uri];
        let stored = store.get(&t, *kind, id).await.unwrap().map(|r| r.version);
        let want: Vec<u64> = match stored {
            Some(last) => (1..=last).collect(),
            None => {
                let mut v: Vec<u64> = (1..got.len() as u64).collect();
                v.push(u64::MAX);
                v
            }
        };
        assert_eq!(got, &want, "{uri}: every version once, in order");
    }

    // Each endpoint: exactly the feed's events after dedupe, each delivered and signed.
    let jtis: BTreeMap<String, String> = page
        .events
        .iter()
        .zip(&docs)
        .map(|(e, d)| (d["jti"].as_str().unwrap().to_string(), e.doc.clone()))
        .collect();
    let mut figures = Vec::new();
    for (name, seen) in [("wh_a", &seen_a), ("wh_b", &seen_b)] {
        let seen = seen.lock().unwrap().clone();
        let delivered: BTreeSet<String> =
            seen.iter().filter(|s| s.4).map(|s| s.0.clone()).collect();
        assert_eq!(
            delivered,
            jtis.keys().cloned().collect::<BTreeSet<_>>(),
            "{name}: every event, and nothing else"
        );
        for (id, ts, signature, body, _) in &seen {
            assert_eq!(body, &jtis[id], "{name}: the stored event, as stored");
            assert!(
                secrets[name].verify(id, ts.parse().unwrap(), body.as_bytes(), signature),
                "{name}: signed"
            );
        }
        let oks = seen.iter().filter(|s| s.4).count();
        figures.push(format!(
            "{name}: {} attempts, {oks} answered 2xx, {} distinct",
            seen.len(),
            delivered.len()
        ));
    }
    // The faults were real.
    assert!(counts["throttled"].as_u64().unwrap() > 0);
    assert!(write_failures > 0, "no SCIM write was refused");
    assert!(failed_batches > 0, "no stream batch failed");
    assert!(seen_a.lock().unwrap().len() >= 3 * jtis.len());
    eprintln!(
        "fault run: {} events; DynamoDB {} requests, {} throttled; {write_failures} refused SCIM \
         write attempts; {batches} stream batches, {failed_batches} failed; {rounds} delivery \
         rounds, {deferred} deferred; {}",
        jtis.len(),
        counts["requests"],
        counts["throttled"],
        figures.join("; ")
    );
}
