//! Fault injection: an Entra-style sync through the router over a `DynamoStore` whose SDK talks
//! to the emulator through a proxy that throttles, fails, fails after committing, and delays
//! past the operation timeout (`proxy.rs`). Then the final state is checked over a fault-free
//! store on the same table: no duplicate user, no lost or dangling membership, no half-applied
//! PATCH. Every failed response must be a 503 (or 429) SCIM error with `Retry-After`.
//!
//! Also: Secrets Manager down at the router (cached token served within the grace period,
//! unknown tokens and a stale cache answered 503, never 401).
//!
//! Needs the emulator: `scripts/with-emulator.sh cargo test --test faults`. Tunables:
//! `FAULT_PER_MILLE` (default 150), `FAULT_SEED`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

#[path = "../support/mod.rs"]
mod support;

#[path = "../api/helpers.rs"]
#[allow(dead_code, unused_macros, reason = "shared with the api suite")]
mod helpers;
mod lost_answers;
mod proxy;
mod secrets;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use axum::http::Method;
use scim_lambda::scim::urn;
use scim_lambda::store::TenantId;
use scim_lambda::store::dynamo::DynamoStore;
use serde_json::{Value, json};

use helpers::{TestApp, enc};
use proxy::{Proxy, Settings};
use support::Reply;

/// Attempts a client makes of one request before giving up (Entra retries for much longer).
const CLIENT_ATTEMPTS: u32 = 12;
/// Longest any single request may take: the store's 5 s operation timeout plus margin.
const REQUEST_DEADLINE: Duration = Duration::from_secs(15);

/// The emulator's endpoint, or `None` (after saying so) when it is not configured.
pub fn emulator() -> Option<String> {
    if !support::emulator::enabled("fault") {
        return None;
    }
    std::env::var("AWS_ENDPOINT_URL").ok()
}

/// SDK configuration pointing at `endpoint` with the SDK's own retries off, so every injected
/// fault reaches the store's error translation (production keeps the SDK's standard retries,
/// which hide most single faults).
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}

/// What the client saw, over the whole run.
#[derive(Default)]
struct Seen {
    /// Failed responses by status.
    failures: BTreeMap<u16, u64>,
    /// Retries that found their create already done (409) or delete already done (404).
    already_done: u64,
    requests: u64,
}

/// An Entra-like client: retries 5xx and 429 (bounded), checking each failure's shape.
#[derive(Clone)]
struct Client {
    app: TestApp,
    seen: Arc<Mutex<Seen>>,
}

impl Client {
    /// Sends until the answer is not a 5xx/429; returns it and the number of attempts.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (Reply, u32) {
        for attempt in 1..=CLIENT_ATTEMPTS {
            let r =
                tokio::time::timeout(REQUEST_DEADLINE, self.app.send(method.clone(), path, body))
                    .await
                    .unwrap_or_else(|_| panic!("{method} {path} hung for {REQUEST_DEADLINE:?}"));
            self.seen.lock().unwrap().requests += 1;
            let status = r.status.as_u16();
            if status < 500 && status != 429 {
                return (r, attempt);
            }
            check_retryable_failure(&r, &method, path);
            *self
                .seen
                .lock()
                .unwrap()
                .failures
                .entry(status)
                .or_default() += 1;
            tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
        }
        panic!("{method} {path}: still failing after {CLIENT_ATTEMPTS} attempts");
    }

    /// Creates a user; a 409 means an earlier attempt (or the store's own retry) created it.
    async fn create_user(&self, user_name: &str) -> String {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": user_name,
            "externalId": user_name,
            "active": true,
            "name": {"givenName": "Fault", "familyName": "Test"},
            "emails": [{"type": "work", "value": user_name, "primary": true}],
        });
        let (r, _) = self.call(Method::POST, "/Users", Some(&body)).await;
        match r.status.as_u16() {
            201 => r.id(),
            409 => {
                self.seen.lock().unwrap().already_done += 1;
                self.lookup("Users", "userName", user_name).await
            }
            s => panic!("create {user_name}: {s} {}", r.body),
        }
    }

    async fn create_group(&self, name: &str) -> String {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                          "displayName": name, "externalId": name});
        let (r, _) = self.call(Method::POST, "/Groups", Some(&body)).await;
        match r.status.as_u16() {
            201 => r.id(),
            409 => {
                self.seen.lock().unwrap().already_done += 1;
                self.lookup("Groups", "displayName", name).await
            }
            s => panic!("create group {name}: {s} {}", r.body),
        }
    }

    /// Entra's lookup: exactly one match, or the test fails (a duplicate).
    async fn lookup(&self, endpoint: &str, attr: &str, value: &str) -> String {
        let filter = enc(&format!("{attr} eq \"{value}\""));
        let (r, _) = self
            .call(Method::GET, &format!("/{endpoint}?filter={filter}"), None)
            .await;
        assert_eq!(r.body["totalResults"], 1, "{attr} {value}: {}", r.body);
        r.body["Resources"][0]["id"].as_str().unwrap().to_string()
    }

    async fn patch(&self, endpoint: &str, id: &str, ops: Value) {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                          "Operations": ops});
        let (r, _) = self
            .call(Method::PATCH, &format!("/{endpoint}/{id}"), Some(&body))
            .await;
        assert!(
            matches!(r.status.as_u16(), 200 | 204),
            "PATCH {endpoint}/{id}: {} {}",
            r.status,
            r.body
        );
    }

    async fn delete(&self, endpoint: &str, id: &str) {
        let (r, attempts) = self
            .call(Method::DELETE, &format!("/{endpoint}/{id}"), None)
            .await;
        match r.status.as_u16() {
            204 => {}
            // An earlier attempt deleted it and only its answer was lost. (On a first attempt,
            // 404 would be a bug: this client deletes each user once.)
            404 if attempts > 1 => self.seen.lock().unwrap().already_done += 1,
            s => panic!("DELETE {endpoint}/{id}: {s} {}", r.body),
        }
    }
}

/// A failed response must tell the client to come back: 503 (or 429) with `Retry-After` and a
/// SCIM error body that names no internals.
#[track_caller]
fn check_retryable_failure(r: &Reply, method: &Method, path: &str) {
    let status = r.status.as_u16();
    assert!(
        status == 503 || status == 429,
        "{method} {path}: {status} is not retryable: {}",
        r.body
    );
    assert!(
        r.header("retry-after").is_some(),
        "{method} {path}: {status} without Retry-After"
    );
    assert_eq!(r.body["schemas"][0], urn::ERROR, "{}", r.body);
    assert_eq!(r.body["status"], status.to_string());
    let detail = r.body["detail"].as_str().unwrap_or_default().to_lowercase();
    for internal in [
        "dynamo",
        "injected",
        "__type",
        "sdk",
        "dispatch",
        "T#",
        "exception",
    ] {
        assert!(
            !detail.contains(&internal.to_lowercase()),
            "{method} {path}: detail leaks {internal:?}: {detail}"
        );
    }
}

/// Users in the sync, and which of them end up where.
const USERS: usize = 24;
const DISABLED: std::ops::Range<usize> = 0..6;
const DELETED: std::ops::Range<usize> = 18..24;
/// Group A gets users 0..16 then loses 12..16; group B gets 8..24 and loses the deleted ones.
const A_ADDED: std::ops::Range<usize> = 0..16;
const A_REMOVED: std::ops::Range<usize> = 12..16;
const B_ADDED: std::ops::Range<usize> = 8..24;

fn user_name(i: usize) -> String {
    format!("fault.user{i:02}@contoso.com")
}

/// Runs `f` for each index on `workers` concurrent tasks.
async fn in_parallel<F, Fut>(indexes: std::ops::Range<usize>, workers: usize, f: F)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let all: Vec<usize> = indexes.collect();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let mine: Vec<usize> = all.iter().copied().skip(w).step_by(workers).collect();
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            for i in mine {
                f(i).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// The sync itself, as Entra would run it.
async fn entra_sync(client: &Client) -> (Vec<String>, [String; 2]) {
    // Creates, four at a time (Entra provisions in parallel).
    let ids: Arc<Mutex<BTreeMap<usize, String>>> = Arc::default();
    {
        let (c, ids) = (client.clone(), Arc::clone(&ids));
        in_parallel(0..USERS, 4, move |i| {
            let (c, ids) = (c.clone(), Arc::clone(&ids));
            async move {
                let id = c.create_user(&user_name(i)).await;
                ids.lock().unwrap().insert(i, id);
            }
        })
        .await;
    }
    let users: Vec<String> = ids.lock().unwrap().values().cloned().collect();
    assert_eq!(users.len(), USERS);
    let groups = [
        client.create_group("Fault Engineering").await,
        client.create_group("Fault Sales").await,
    ];

    // Member adds in batches of 4, the two groups at once.
    let add = |c: Client, gid: String, range: std::ops::Range<usize>, users: Vec<String>| async move {
        let members: Vec<usize> = range.collect();
        for batch in members.chunks(4) {
            let value: Vec<Value> = batch.iter().map(|&i| json!({"value": users[i]})).collect();
            c.patch(
                "Groups",
                &gid,
                json!([{"op": "Add", "path": "members", "value": value}]),
            )
            .await;
        }
    };
    tokio::join!(
        add(client.clone(), groups[0].clone(), A_ADDED, users.clone()),
        add(client.clone(), groups[1].clone(), B_ADDED, users.clone()),
    );

    // Attribute updates: two operations that must land together.
    {
        let (c, u) = (client.clone(), users.clone());
        in_parallel(0..USERS, 4, move |i| {
            let (c, u) = (c.clone(), u.clone());
            async move {
                let ops = json!([
                    {"op": "Replace", "path": "title", "value": format!("Title {i}")},
                    {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                     "value": format!("Dept {i}")},
                ]);
                c.patch("Users", &u[i], ops).await;
            }
        })
        .await;
    }
    // Disables, Entra's legacy string form.
    for i in DISABLED {
        client
            .patch(
                "Users",
                &users[i],
                json!([{"op": "Replace", "path": "active", "value": "False"}]),
            )
            .await;
    }
    // Member removals, one request with a filter per member.
    let ops: Vec<Value> = A_REMOVED
        .map(|i| json!({"op": "Remove", "path": format!("members[value eq \"{}\"]", users[i])}))
        .collect();
    client.patch("Groups", &groups[0], Value::Array(ops)).await;
    // Deletes (cascading out of group B).
    for i in DELETED {
        client.delete("Users", &users[i]).await;
    }
    (users, groups)
}

/// Checks the final state over a fault-free store; returns a one-line summary.
async fn check_final_state(app: &TestApp, users: &[String], groups: &[String; 2]) -> String {
    let all = app.get("/Users?count=1000").await.expect(200);
    let resources = all.body["Resources"].as_array().unwrap();
    let names: Vec<&str> = resources
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "duplicate users: {names:?}");
    let expected: BTreeSet<String> = (0..USERS)
        .filter(|i| !DELETED.contains(i))
        .map(user_name)
        .collect();
    let got: BTreeSet<String> = unique.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, expected, "exactly the users that were not deleted");
    for (i, id) in users.iter().enumerate() {
        let r = app.get(&format!("/Users/{id}")).await;
        if DELETED.contains(&i) {
            r.expect(404);
            continue;
        }
        let r = r.expect(200);
        assert_eq!(r.body["userName"], user_name(i));
        // Both operations of each PATCH landed, or the test would see one without the other.
        assert_eq!(r.body["title"], format!("Title {i}"), "{}", r.body);
        assert_eq!(
            r.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            format!("Dept {i}"),
            "{}",
            r.body
        );
        assert_eq!(r.body["active"], !DISABLED.contains(&i), "{}", r.body);
        let groups_of = app
            .get(&format!(
                "/Groups?filter={}&excludedAttributes=members",
                enc(&format!("members.value eq \"{id}\""))
            ))
            .await
            .expect(200);
        let want = usize::from(A_ADDED.contains(&i) && !A_REMOVED.contains(&i))
            + usize::from(B_ADDED.contains(&i));
        assert_eq!(groups_of.body["totalResults"], want, "groups of user {i}");
    }
    let member_set = |range: std::ops::Range<usize>, minus: &[std::ops::Range<usize>]| {
        range
            .filter(|i| !minus.iter().any(|m| m.contains(i)))
            .map(|i| users[i].clone())
            .collect::<Vec<_>>()
    };
    let mut want_a = member_set(A_ADDED, &[A_REMOVED]);
    let mut want_b = member_set(B_ADDED, &[DELETED]);
    want_a.sort();
    want_b.sort();
    assert_eq!(app.member_ids(&groups[0]).await, want_a, "group A members");
    assert_eq!(
        app.member_ids(&groups[1]).await,
        want_b,
        "group B members (deleted users cascaded out)"
    );
    let group_count = app.get("/Groups?count=0").await.expect(200);
    assert_eq!(group_count.body["totalResults"], 2, "no duplicate group");
    format!(
        "{} users (unique userNames), 2 groups with {} and {} members, every PATCH whole, no dangling member",
        got.len(),
        want_a.len(),
        want_b.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_entra_sync_survives_injected_dynamodb_faults() {
    let Some(endpoint) = emulator() else { return };
    let per_mille = std::env::var("FAULT_PER_MILLE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150);
    let seed = std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f00d);
    let proxy = Proxy::start(
        &endpoint,
        Settings {
            per_mille: AtomicU32::new(0),
            delays_left: AtomicU32::new(3),
            // Past the store's 5 s operation timeout.
            delay: Duration::from_millis(5_500),
            secrets_down: false.into(),
            after_write_every: AtomicU32::new(0),
        },
        seed,
    )
    .await;
    let table = format!("scim-faults-{}", uuid::Uuid::new_v4());
    let direct = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk_config(&endpoint).await),
        &table,
    );
    direct.create_table_if_missing().await.unwrap();
    let faulty = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk_config(&proxy.url).await),
        &table,
    );
    let client = Client {
        app: TestApp::over(faulty, TenantId::default()),
        seen: Arc::default(),
    };

    let started = Instant::now();
    proxy
        .settings()
        .per_mille
        .store(per_mille, Ordering::Relaxed);
    let (users, groups) = entra_sync(&client).await;
    proxy.settings().per_mille.store(0, Ordering::Relaxed);
    let sync_time = started.elapsed();
    // Let late (delayed) writes land before judging.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let summary =
        check_final_state(&TestApp::over(direct, TenantId::default()), &users, &groups).await;

    let seen = client.seen.lock().unwrap();
    let by_kind = proxy.counts_by_kind();
    let _ = writeln!(
        std::io::stderr(),
        "faults: {} DynamoDB requests, injected {by_kind:?} (share {per_mille}/1000, seed {seed})\n\
         faults by operation: {:?}\n\
         client: {} requests, failures by status {:?}, {} retries found the work already done; sync took {sync_time:?}\n\
         final state: OK: {summary}",
        proxy.dynamo_requests(),
        proxy.counts(),
        seen.requests,
        seen.failures,
        seen.already_done,
    );
    assert!(
        by_kind.values().sum::<u64>() > 0,
        "the run injected no fault at all"
    );
}
