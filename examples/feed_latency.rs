//! Commit-to-pull and commit-to-webhook latency of the change feed on a local server
//! (embedded store), over loopback sockets only. Bounded: `--writes` writes, each waited for
//! at most 5 s, and the server is stopped at the end.
//!
//! ```sh
//! cargo build --profile bench-fast --bin scim-lambda --example feed_latency
//! target/bench-fast/examples/feed_latency --writes 1000 --server target/bench-fast/scim-lambda
//! ```
//!
//! `--gap-ms N` waits N ms before each write: writes with gaps are what an application sees
//! outside a sync (the embedded feed gathers writes for 5 ms only while they stream in).
//!
//! The generator starts the server itself (`SCIM_LISTEN=127.0.0.1:0`, a SCIM and an admin
//! token, memory store), runs a webhook receiver on 127.0.0.1 and registers it for every event
//! type through the admin API. Then, one write at a time (so no write waits behind another),
//! it alternates Entra's two writes that matter most to the application: `POST /Users` (a
//! `user.created`) and a legacy `PATCH` of `active` to `"False"` on that user (a
//! `user.deactivated`). From the moment each write's response has arrived it measures:
//!
//! - **pull**: until the event is in `GET /admin/v1/tenants/default/events?after=<last>`,
//!   polled back to back on a keep-alive connection (as a consumer in a tight loop would);
//! - **webhook**: until the receiver has the signed delivery (its signature is verified, and a
//!   delivery that does not verify counts as an error).
//!
//! A negative figure means the delivery reached the receiver before the write's response reached
//! the client: the feed runs beside the API in the same process.
//!
//! An event is recognised by its subject (`sub_id.uri`) and its `version`, the ETag the
//! write's response carried. The latencies include the pull request's own round trip and the
//! webhook's HTTP request; the commit itself happened before the response was sent, so these
//! are upper bounds of commit-to-readable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use scim_lambda::feed::WebhookSecret;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const TOKEN: &str = "feed-latency-token-0123456789";
const ADMIN: &str = "feed-latency-admin-0123456789";
const WAIT: Duration = Duration::from_secs(5);

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(binary: &str) -> (Server, SocketAddr) {
    let mut child = Command::new(binary)
        .env("SCIM_LISTEN", "127.0.0.1:0")
        .env("SCIM_TOKEN", TOKEN)
        .env("SCIM_ADMIN_TOKEN", ADMIN)
        .env("SCIM_STORE", "memory")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(url) = line.split("http://").nth(1) {
            break url.split('/').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    (Server(child), addr)
}

/// One keep-alive HTTP/1.1 connection.
struct Conn(SendRequest<Full<Bytes>>);

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        Conn(sender)
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1")
            .header("authorization", format!("Bearer {bearer}"))
            .header(
                "content-type",
                if path.starts_with("/admin") {
                    "application/json"
                } else {
                    "application/scim+json"
                },
            )
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        self.0.ready().await.unwrap();
        let response = self.0.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

/// (subject uri, version): what identifies the event of one write.
type Key = (String, String);

fn key_of(event: &Value) -> Key {
    (
        event["sub_id"]["uri"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        event["version"].as_str().unwrap_or_default().to_string(),
    )
}

/// The webhook receiver: every delivery's key and arrival time, on a channel.
async fn receiver(
    secret: Arc<Mutex<Option<WebhookSecret>>>,
) -> (String, mpsc::UnboundedReceiver<(Key, Instant, bool)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let arrived = Instant::now();
            let tx = tx.clone();
            let secret = Arc::clone(&secret);
            async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                };
                let signed = secret.lock().unwrap().as_ref().is_some_and(|s| {
                    s.verify(
                        h("webhook-id"),
                        h("webhook-timestamp").parse().unwrap_or(0),
                        &body,
                        h("webhook-signature"),
                    )
                });
                let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let _ = tx.send((key_of(&event), arrived, signed));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

/// Milliseconds from `from` to `to`, negative when `to` came first (a webhook can reach the
/// receiver before the write's response reaches the client).
fn ms_between(from: Instant, to: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(from.duration_since(to).as_secs_f64() * 1000.0),
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut ms: Vec<f64>, missed: usize) {
    ms.sort_by(f64::total_cmp);
    println!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {missed} |",
        ms.len(),
        pct(&ms, 50.0),
        pct(&ms, 90.0),
        pct(&ms, 99.0),
        ms.last().copied().unwrap_or(f64::NAN),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let writes: usize = arg("--writes").map_or(1000, |n| n.parse().expect("--writes N"));
    let gap = Duration::from_millis(arg("--gap-ms").map_or(0, |n| n.parse().expect("--gap-ms N")));
    let binary = arg("--server").unwrap_or_else(|| {
        eprintln!("usage: feed_latency [--writes N] [--gap-ms N] --server PATH-TO-scim-lambda");
        std::process::exit(2)
    });

    let secret = Arc::new(Mutex::new(None));
    let (hook, mut deliveries) = receiver(Arc::clone(&secret)).await;
    let (_server, addr) = start(&binary);
    let mut scim = Conn::open(addr).await;
    let mut poll = Conn::open(addr).await;
    let (status, created) = scim
        .call(
            Method::POST,
            "/admin/v1/webhooks",
            ADMIN,
            Some(json!({ "url": hook })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    *secret.lock().unwrap() =
        Some(WebhookSecret::parse(created["secret"].as_str().unwrap()).unwrap());

    let mut after = 0u64;
    let mut early: HashMap<Key, (Instant, bool)> = HashMap::new();
    let (mut pulled, mut hooked) = (Vec::new(), Vec::new());
    let (mut pull_missed, mut hook_missed, mut unsigned) = (0, 0, 0);
    let mut user = String::new();
    let started = Instant::now();
    let mut round_trips = Vec::new();
    for i in 0..writes {
        if !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
        let sent = Instant::now();
        let (status, doc) = if i % 2 == 0 {
            scim.call(
                Method::POST,
                "/scim/v2/Users",
                TOKEN,
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("feed{i}@contoso.com"),
                    "externalId": format!("feed-ext-{i}"),
                    "active": true
                })),
            )
            .await
        } else {
            scim.call(
                Method::PATCH,
                &format!("/scim/v2/Users/{user}"),
                TOKEN,
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
                })),
            )
            .await
        };
        let answered = Instant::now();
        round_trips.push(ms_between(sent, answered));
        assert!(status == 200 || status == 201, "write {i}: {status} {doc}");
        if i % 2 == 0 {
            user = doc["id"].as_str().unwrap().to_string();
        }
        let key: Key = (
            format!("/Users/{user}"),
            doc["meta"]["version"].as_str().unwrap().to_string(),
        );

        // Pull: back to back until the event is readable.
        let mut found = false;
        while answered.elapsed() < WAIT {
            let (s, page) = poll
                .call(
                    Method::GET,
                    &format!("/admin/v1/tenants/default/events?after={after}&limit=100"),
                    ADMIN,
                    None,
                )
                .await;
            assert_eq!(s, 200, "{page}");
            let events = page["events"].as_array().cloned().unwrap_or_default();
            after = page["next"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .unwrap_or(after);
            if events.iter().any(|e| key_of(e) == key) {
                pulled.push(answered.elapsed().as_secs_f64() * 1000.0);
                found = true;
                break;
            }
        }
        if !found {
            pull_missed += 1;
        }

        // Webhook: the receiver stamped the arrival; wait for it if it is not in yet.
        let mut arrival = early.remove(&key);
        while arrival.is_none() {
            let left = WAIT.saturating_sub(answered.elapsed());
            match tokio::time::timeout(left, deliveries.recv()).await {
                Ok(Some((k, at, signed))) if k == key => arrival = Some((at, signed)),
                Ok(Some((k, at, signed))) => {
                    early.insert(k, (at, signed));
                }
                _ => break,
            }
        }
        match arrival {
            Some((at, signed)) => {
                hooked.push(ms_between(answered, at));
                if !signed {
                    unsigned += 1;
                }
            }
            None => hook_missed += 1,
        }
    }
    println!(
        "{writes} writes (alternating POST /Users and PATCH active \"False\"), one at a time, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "| from the write's response to | writes | p50 ms | p90 ms | p99 ms | max ms | missed (> 5 s) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    report("(the write itself: request to response)", round_trips, 0);
    report("the event in the pull API", pulled, pull_missed);
    report("its signed webhook at the receiver", hooked, hook_missed);
    if unsigned > 0 {
        println!("{unsigned} deliveries did not verify");
        std::process::exit(1);
    }
}
