//! A fault-injecting HTTP proxy between the AWS SDK and the emulator, on `127.0.0.1:0`.
//!
//! It recognises DynamoDB and Secrets Manager requests by their `x-amz-target` header
//! (`DynamoDB_20120810.PutItem`, `secretsmanager.GetSecretValue`) and, for a share of the
//! DynamoDB data-plane requests, injects one of four faults:
//!
//! - `throttle`: answers 400 `ProvisionedThroughputExceededException` without forwarding;
//! - `internal`: answers 500 `InternalServerError` without forwarding;
//! - `after_write`: forwards a write, lets it commit, then answers 500 (the client cannot know
//!   that it succeeded); reads get `internal` instead;
//! - `delay`: holds the request past the SDK's operation timeout, then forwards it anyway (the
//!   write lands after the client gave up), at most `max_delays` times per run.
//!
//! Connections to the emulator are one per request (hyper's HTTP/1 client connection), so no
//! pool outlives a test; every wait is bounded.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// The kinds of fault, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    Throttle,
    Internal,
    AfterWrite,
    Delay,
}

/// What the proxy does, changeable while it runs.
pub struct Settings {
    /// Faults per 1000 DynamoDB data-plane requests.
    pub per_mille: AtomicU32,
    /// Delay faults still allowed (each costs the caller an operation timeout).
    pub delays_left: AtomicU32,
    /// How long a `delay` holds a request.
    pub delay: Duration,
    /// Answer every Secrets Manager request with 500.
    pub secrets_down: AtomicBool,
    /// When not 0: inject nothing at random, but let every N-th DynamoDB write commit and
    /// answer 500 (`after_write`), so each faulted write's retry by the SDK meets its own
    /// committed write.
    pub after_write_every: AtomicU32,
}

struct Shared {
    upstream: String,
    settings: Settings,
    rng: Mutex<u64>,
    writes: AtomicU32,
    counts: Mutex<BTreeMap<(Fault, String), u64>>,
    dynamo_requests: AtomicU32,
}

/// A running proxy; it stops when the test's runtime does.
#[derive(Clone)]
pub struct Proxy {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, settings: Settings, seed: u64) -> Proxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let shared = Arc::new(Shared {
            upstream,
            settings,
            rng: Mutex::new(seed | 1),
            writes: AtomicU32::new(0),
            counts: Mutex::new(BTreeMap::new()),
            dynamo_requests: AtomicU32::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Proxy {
            url: format!("http://{addr}"),
            shared,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// Injected faults by kind.
    pub fn counts_by_kind(&self) -> BTreeMap<Fault, u64> {
        let mut out = BTreeMap::new();
        for ((kind, _), n) in self.shared.counts.lock().unwrap().iter() {
            *out.entry(*kind).or_default() += n;
        }
        out
    }

    /// Injected faults by kind and DynamoDB operation.
    pub fn counts(&self) -> BTreeMap<(Fault, String), u64> {
        self.shared.counts.lock().unwrap().clone()
    }

    /// DynamoDB requests seen (faulted or not).
    pub fn dynamo_requests(&self) -> u32 {
        self.shared.dynamo_requests.load(Ordering::Relaxed)
    }
}

impl Shared {
    /// xorshift64: deterministic for a seed, good enough to pick faults.
    fn next(&self) -> u64 {
        let mut x = self.rng.lock().unwrap();
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    fn decide(&self, operation: &str) -> Option<Fault> {
        const DATA_PLANE: [&str; 9] = [
            "GetItem",
            "BatchGetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "Query",
            "TransactWriteItems",
            "BatchWriteItem",
            "TransactGetItems",
        ];
        if !DATA_PLANE.contains(&operation) {
            return None;
        }
        let is_write = matches!(
            operation,
            "PutItem" | "UpdateItem" | "DeleteItem" | "TransactWriteItems" | "BatchWriteItem"
        );
        let every = self.settings.after_write_every.load(Ordering::Relaxed);
        if every > 0 {
            if !is_write || self.writes.fetch_add(1, Ordering::Relaxed) % every != 0 {
                return None;
            }
            *self
                .counts
                .lock()
                .unwrap()
                .entry((Fault::AfterWrite, operation.to_string()))
                .or_default() += 1;
            return Some(Fault::AfterWrite);
        }
        let per_mille = u64::from(self.settings.per_mille.load(Ordering::Relaxed));
        if self.next() % 1000 >= per_mille {
            return None;
        }
        let fault = match self.next() % 20 {
            0..=6 => Fault::Throttle,
            7..=11 => Fault::Internal,
            12..=18 if is_write => Fault::AfterWrite,
            12..=18 => Fault::Internal,
            _ => {
                let left = &self.settings.delays_left;
                if left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                {
                    Fault::Delay
                } else {
                    Fault::Throttle
                }
            }
        };
        *self
            .counts
            .lock()
            .unwrap()
            .entry((fault, operation.to_string()))
            .or_default() += 1;
        Some(fault)
    }
}

fn aws_error(status: u16, type_: &str) -> Response<Body> {
    let body = format!(
        r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{type_}","message":"injected by the fault proxy"}}"#
    );
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    r
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response<Body> {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if target.starts_with("secretsmanager.") && shared.settings.secrets_down.load(Ordering::Relaxed)
    {
        return aws_error(500, "InternalServiceError");
    }
    let fault = match target.strip_prefix("DynamoDB_20120810.") {
        Some(op) => {
            shared.dynamo_requests.fetch_add(1, Ordering::Relaxed);
            shared.decide(op)
        }
        None => None,
    };
    match fault {
        None => forward(&shared, request).await,
        Some(Fault::Throttle) => aws_error(400, "ProvisionedThroughputExceededException"),
        Some(Fault::Internal) => aws_error(500, "InternalServerError"),
        Some(Fault::AfterWrite) => {
            let _committed = forward(&shared, request).await;
            aws_error(500, "InternalServerError")
        }
        Some(Fault::Delay) => {
            // Spawned, so the request still lands after the SDK has hung up on this one.
            let delay = shared.settings.delay;
            let late = Arc::clone(&shared);
            let task = tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                forward(&late, request).await
            });
            task.await
                .unwrap_or_else(|_| aws_error(500, "InternalServerError"))
        }
    }
}

/// Sends the request to the emulator over a new connection and returns its answer.
async fn forward(shared: &Shared, request: Request) -> Response<Body> {
    match try_forward(shared, request).await {
        Ok(r) => r,
        Err(e) => {
            let mut r = Response::new(Body::from(format!("proxy: {e}")));
            *r.status_mut() = StatusCode::BAD_GATEWAY;
            r
        }
    }
}

async fn try_forward(
    shared: &Shared,
    request: Request,
) -> Result<Response<Body>, Box<dyn std::error::Error + Send + Sync>> {
    let (mut parts, body) = request.into_parts();
    let bytes = body.collect().await?.to_bytes();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    parts.uri = Uri::try_from(path)?;
    let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(&shared.upstream))
        .await??;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let upstream = hyper::Request::from_parts(parts, Full::new(bytes));
    let response =
        tokio::time::timeout(Duration::from_secs(30), sender.send_request(upstream)).await??;
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Body::from(bytes)))
}
