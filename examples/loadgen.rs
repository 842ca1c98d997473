//! A bounded, loopback-only load generator that replays an Entra sync.
//!
//! ```sh
//! cargo run --release --example loadgen -- \
//!     --users 20000 --groups 20 --group-size 100 --workers 8 \
//!     --null  'target/release/examples/null_server' \
//!     --server scim 'target/release/scim-lambda' \
//!     --server scim2-server '.venv/bin/scim2-server --port {port} --tenant scim --bearer-token loadgen-token-0123456789'
//! cargo run --release --example loadgen -- coldstart --runs 20 --server scim 'target/release/scim-lambda'
//! cargo run --release --example loadgen -- --tenant --server scim 'target/release/scim-lambda'
//! ```
//!
//! `--rounds N` runs the whole list of servers N times, interleaved, and ends with a summary of
//! medians: each round's "vs null" against that round's null run, p99 per request kind, and
//! the worst peak RSS.
//!
//! `--tenant` runs the same sync inside a tenant: a tenant and its token are made through the
//! admin API first, and every request goes to its per-tenant URL with its `scim_..._...` token.
//! `--flood N` adds N connections that send random well-formed tenant tokens during the whole
//! run (each costs one store read and must be refused), to show they do not slow the sync.
//!
//! Each server command is started by the generator itself (`sh -c "exec <command>"`, with
//! `{port}` replaced and `SCIM_LISTEN`, `SCIM_TOKEN` set), so its CPU time and peak RSS can be
//! read from `/proc/<pid>`; `--attach NAME URL PID` measures a server that is already running.
//! Requests go to 127.0.0.1 only; every phase is bounded by `--phase-seconds` and the whole
//! run by its request count. Workers use one HTTP/1.1 keep-alive connection each.
//!
//! Phases (each a separate table):
//! - `initial-users`: `userName eq` lookup (miss, 200 and an empty list) then `POST /Users`;
//! - `initial-groups`: `displayName eq` lookup with `excludedAttributes=members`, `POST /Groups`;
//! - `initial-members`: member adds in `PATCH` batches of `--batch` (Entra's legacy `Add`);
//! - `incremental`: lookup hit, legacy `PATCH` of the work email and `familyName`, every 10th
//!   user disabled with `"False"`, one member removed per group (by value list);
//! - `lookups`: by `userName`, by `externalId`, `GET /Users/{id}`, one third each.
//!
//! Afterwards every group's member list and a sample of users are read back and compared with
//! what the sync sent (not for the null server, which keeps no state worth checking).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

const TOKEN: &str = "loadgen-token-0123456789";
/// The bearer sent: `LOADGEN_BEARER` (e.g. an OAuth access token of an attached server) or the
/// static token spawned servers are given.
fn bearer() -> &'static str {
    static BEARER: OnceLock<String> = OnceLock::new();
    BEARER.get_or_init(|| std::env::var("LOADGEN_BEARER").unwrap_or_else(|_| TOKEN.to_string()))
}
const BASE: &str = "/scim/v2";
/// The admin token a spawned server gets, for `--tenant` runs.
const ADMIN_TOKEN: &str = "loadgen-admin-token-0123456789";

/// The base path and token the workers use: `BASE` and `TOKEN` (the `default` tenant), or with
/// `--tenant` a tenant made through the admin API before each target's run, its per-tenant URL
/// and its own `scim_..._...` token.
static SCOPE: std::sync::RwLock<Option<(String, String)>> = std::sync::RwLock::new(None);

fn scope() -> (String, String) {
    SCOPE
        .read()
        .unwrap()
        .clone()
        .unwrap_or_else(|| (BASE.to_string(), bearer().to_string()))
}
/// `userName eq "probe@contoso.com"`, URL-encoded.
const PROBE: &str = "/Users?filter=userName%20eq%20%22probe%40contoso.com%22";

#[derive(Clone)]
struct Opts {
    users: usize,
    groups: usize,
    group_size: usize,
    batch: usize,
    workers: usize,
    phase_seconds: u64,
    runs: usize,
    rounds: usize,
    coldstart: bool,
    tenant: bool,
    flood: usize,
    targets: Vec<Target>,
}

#[derive(Clone)]
struct Target {
    name: String,
    /// Command to spawn (with `{port}`), or an already running server.
    spawn: Option<String>,
    attach: Option<(SocketAddr, Option<u32>)>,
    verify: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen [coldstart] [--tenant] [--flood N] [--users N] [--groups N] [--group-size N] [--batch N] \
         [--workers N] [--phase-seconds S] [--runs N] [--rounds N] [--null CMD] [--server NAME CMD]... \
         [--attach NAME HOST:PORT PID]"
    );
    std::process::exit(2)
}

fn parse_opts() -> Opts {
    let mut o = Opts {
        users: 20_000,
        groups: 20,
        group_size: 100,
        batch: 50,
        workers: 8,
        phase_seconds: 300,
        runs: 20,
        rounds: 1,
        coldstart: false,
        tenant: false,
        flood: 0,
        targets: Vec::new(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    let next = |i: &mut usize| -> String {
        *i += 1;
        args.get(*i).cloned().unwrap_or_else(|| usage())
    };
    let num = |s: String| -> usize { s.parse().unwrap_or_else(|_| usage()) };
    while i < args.len() {
        match args[i].as_str() {
            "coldstart" => o.coldstart = true,
            "--tenant" => o.tenant = true,
            "--flood" => o.flood = num(next(&mut i)),
            "--users" => o.users = num(next(&mut i)),
            "--groups" => o.groups = num(next(&mut i)),
            "--group-size" => o.group_size = num(next(&mut i)),
            "--batch" => o.batch = num(next(&mut i)),
            "--workers" => o.workers = num(next(&mut i)),
            "--phase-seconds" => o.phase_seconds = num(next(&mut i)) as u64,
            "--runs" => o.runs = num(next(&mut i)),
            "--rounds" => o.rounds = num(next(&mut i)).max(1),
            "--null" => o.targets.push(Target {
                name: "null".into(),
                spawn: Some(next(&mut i)),
                attach: None,
                verify: false,
            }),
            "--server" => {
                let name = next(&mut i);
                o.targets.push(Target {
                    name,
                    spawn: Some(next(&mut i)),
                    attach: None,
                    verify: true,
                });
            }
            "--attach" => {
                let name = next(&mut i);
                let addr: SocketAddr = next(&mut i).parse().unwrap_or_else(|_| usage());
                assert!(addr.ip().is_loopback(), "loopback addresses only");
                let pid = next(&mut i).parse().ok();
                o.targets.push(Target {
                    name,
                    spawn: None,
                    attach: Some((addr, pid)),
                    verify: true,
                });
            }
            _ => usage(),
        }
        i += 1;
    }
    if o.targets.is_empty() {
        usage();
    }
    o
}

// ---------------------------------------------------------------------------------------------
// The server process: start, wait until it answers, read its CPU and memory.

struct Server {
    addr: SocketAddr,
    pid: Option<u32>,
    child: Option<Child>,
}

impl Server {
    fn start(target: &Target) -> Server {
        if let Some((addr, pid)) = target.attach {
            return Server {
                addr,
                pid,
                child: None,
            };
        }
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let cmd = target
            .spawn
            .as_deref()
            .unwrap()
            .replace("{port}", &port.to_string());
        let child = spawn(&cmd, addr);
        Server {
            addr,
            pid: Some(child.id()),
            child: Some(child),
        }
    }

    fn stats(&self) -> ProcStats {
        self.pid.map(proc_stats).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(cmd: &str, addr: SocketAddr) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!("exec {cmd}"))
        .env("SCIM_LISTEN", addr.to_string())
        .env("SCIM_TOKEN", TOKEN)
        .env("SCIM_ADMIN_TOKEN", ADMIN_TOKEN)
        .env(
            "SCIM_STORE",
            std::env::var("SCIM_STORE").unwrap_or("memory".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("LOADGEN_SERVER_STDERR").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd}: {e}"))
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[derive(Debug, Default, Clone, Copy)]
struct ProcStats {
    cpu_secs: f64,
    hwm_kib: u64,
    rss_kib: u64,
}

fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn proc_stats(pid: u32) -> ProcStats {
    let mut s = ProcStats::default();
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        if let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
                + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            s.cpu_secs = ticks / clock_ticks();
        }
    }
    if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
        for line in status.lines() {
            let kib = || {
                line.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            if line.starts_with("VmHWM:") {
                s.hwm_kib = kib();
            } else if line.starts_with("VmRSS:") {
                s.rss_kib = kib();
            }
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// A keep-alive HTTP/1.1 connection.

struct Conn {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn { addr, sender })
    }

    /// One request; a broken connection is reopened once.
    async fn call(&mut self, method: Method, path: &str, body: Option<&Value>) -> (u16, Bytes) {
        for attempt in 0..2 {
            let (base, token) = scope();
            let mut b = Request::builder()
                .method(method.clone())
                .uri(format!("{base}{path}"))
                .header("host", self.addr.to_string())
                .header("authorization", format!("Bearer {token}"))
                .header("accept", "application/scim+json");
            let bytes = match body {
                Some(v) => {
                    b = b.header("content-type", "application/scim+json");
                    Bytes::from(serde_json::to_vec(v).unwrap())
                }
                None => Bytes::new(),
            };
            let req = b.body(Full::new(bytes)).unwrap();
            let sent = async {
                self.sender.ready().await?;
                let resp = self.sender.send_request(req).await?;
                let status = resp.status().as_u16();
                let body = resp.into_body().collect().await?.to_bytes();
                Ok::<_, hyper::Error>((status, body))
            }
            .await;
            match sent {
                Ok(r) => return r,
                Err(_) if attempt == 0 => {
                    if let Ok(c) = Conn::open(self.addr).await {
                        *self = c;
                    }
                }
                Err(_) => {}
            }
        }
        (0, Bytes::new())
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---------------------------------------------------------------------------------------------
// The workload.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    InitialUsers,
    InitialGroups,
    InitialMembers,
    Incremental,
    Lookups,
}

impl Phase {
    const ALL: [Phase; 5] = [
        Phase::InitialUsers,
        Phase::InitialGroups,
        Phase::InitialMembers,
        Phase::Incremental,
        Phase::Lookups,
    ];
    fn name(self) -> &'static str {
        match self {
            Phase::InitialUsers => "initial-users",
            Phase::InitialGroups => "initial-groups",
            Phase::InitialMembers => "initial-members",
            Phase::Incremental => "incremental",
            Phase::Lookups => "lookups",
        }
    }
}

struct World {
    o: Opts,
    user_ids: Vec<OnceLock<String>>,
    group_ids: Vec<OnceLock<String>>,
}

impl World {
    fn batches_per_group(&self) -> usize {
        self.o.group_size.div_ceil(self.o.batch)
    }
    fn tasks(&self, phase: Phase) -> usize {
        match phase {
            Phase::InitialUsers => self.o.users,
            Phase::InitialGroups => self.o.groups,
            Phase::InitialMembers => self.o.groups * self.batches_per_group(),
            Phase::Incremental => self.o.users + self.o.groups,
            Phase::Lookups => self.o.users * 3,
        }
    }
    /// The user index of member `k` of group `g`.
    fn member(&self, g: usize, k: usize) -> usize {
        (g * self.o.group_size + k) % self.o.users
    }
    fn uid(&self, i: usize) -> Option<&str> {
        self.user_ids[i].get().map(String::as_str)
    }
    fn gid(&self, g: usize) -> Option<&str> {
        self.group_ids[g].get().map(String::as_str)
    }
}

fn user_name(i: usize) -> String {
    format!("user{i:06}@contoso.com")
}
fn external_id(i: usize) -> String {
    format!("ext-{i:08}")
}
fn new_email(i: usize) -> String {
    format!("user{i:06}.new@contoso.com")
}
fn new_family(i: usize) -> String {
    format!("Family{i}-2")
}

/// Latencies (µs) and errors per request kind.
#[derive(Default)]
struct Rec {
    lat: BTreeMap<&'static str, Vec<u32>>,
    errors: BTreeMap<&'static str, usize>,
    samples: Vec<String>,
}

impl Rec {
    fn merge(&mut self, other: Rec) {
        for (k, v) in other.lat {
            self.lat.entry(k).or_default().extend(v);
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for s in other.samples {
            if self.samples.len() < 5 {
                self.samples.push(s);
            }
        }
    }
}

/// Sends one request, records its latency, and checks its status.
async fn timed(
    conn: &mut Conn,
    rec: &mut Rec,
    kind: &'static str,
    method: Method,
    path: &str,
    body: Option<&Value>,
    expect: u16,
) -> Option<Bytes> {
    let t = Instant::now();
    let (status, bytes) = conn.call(method, path, body).await;
    let us = u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX);
    rec.lat.entry(kind).or_default().push(us);
    if status == expect {
        Some(bytes)
    } else {
        *rec.errors.entry(kind).or_default() += 1;
        if rec.samples.len() < 5 {
            rec.samples.push(format!(
                "{kind}: {status} {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ));
        }
        None
    }
}

fn json_of(b: &Option<Bytes>) -> Option<Value> {
    b.as_ref().and_then(|b| serde_json::from_slice(b).ok())
}

fn total_results(b: &Option<Bytes>) -> Option<u64> {
    json_of(b).and_then(|v| v["totalResults"].as_u64())
}

fn error(rec: &mut Rec, kind: &'static str, what: String) {
    *rec.errors.entry(kind).or_default() += 1;
    if rec.samples.len() < 5 {
        rec.samples.push(format!("{kind}: {what}"));
    }
}

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn task(w: &World, conn: &mut Conn, rec: &mut Rec, phase: Phase, t: usize) {
    match phase {
        Phase::InitialUsers => {
            let i = t;
            let q = format!(
                "/Users?filter={}",
                enc(&format!("userName eq \"{}\"", user_name(i)))
            );
            let r = timed(conn, rec, "user lookup (miss)", Method::GET, &q, None, 200).await;
            if r.is_some() && total_results(&r) != Some(0) {
                error(rec, "user lookup (miss)", "not an empty list".into());
            }
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": external_id(i),
                "userName": user_name(i),
                "active": true,
                "displayName": format!("User {i}"),
                "emails": [{"primary": true, "type": "work", "value": user_name(i)}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": format!("Given{i} Family{i}"),
                         "familyName": format!("Family{i}"), "givenName": format!("Given{i}")},
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "employeeNumber": format!("{i}"), "department": "Sales"
                }
            });
            let r = timed(
                conn,
                rec,
                "user create",
                Method::POST,
                "/Users",
                Some(&body),
                201,
            )
            .await;
            match json_of(&r).and_then(|v| v["id"].as_str().map(String::from)) {
                Some(id) => {
                    let _ = w.user_ids[i].set(id);
                }
                None if r.is_some() => error(rec, "user create", "no id".into()),
                None => {}
            }
        }
        Phase::InitialGroups => {
            let g = t;
            let name = format!("Group {g:04}");
            let q = format!(
                "/Groups?filter={}&excludedAttributes=members",
                enc(&format!("displayName eq \"{name}\""))
            );
            let r = timed(conn, rec, "group lookup (miss)", Method::GET, &q, None, 200).await;
            if r.is_some() && total_results(&r) != Some(0) {
                error(rec, "group lookup (miss)", "not an empty list".into());
            }
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "externalId": format!("gext-{g}"),
                "displayName": name,
                "meta": {"resourceType": "Group"}
            });
            let r = timed(
                conn,
                rec,
                "group create",
                Method::POST,
                "/Groups",
                Some(&body),
                201,
            )
            .await;
            if let Some(id) = json_of(&r).and_then(|v| v["id"].as_str().map(String::from)) {
                let _ = w.group_ids[g].set(id);
            }
        }
        Phase::InitialMembers => {
            let per = w.batches_per_group();
            let (g, b) = (t / per, t % per);
            let Some(gid) = w.gid(g) else { return };
            let from = b * w.o.batch;
            let to = ((b + 1) * w.o.batch).min(w.o.group_size);
            let members: Vec<Value> = (from..to)
                .filter_map(|k| w.uid(w.member(g, k)))
                .map(|id| json!({"value": id}))
                .collect();
            let body = json!({
                "schemas": [PATCH_OP],
                "Operations": [{"op": "Add", "path": "members", "value": members}]
            });
            let kind = "member add (batch)";
            let path = format!("/Groups/{gid}");
            timed(conn, rec, kind, Method::PATCH, &path, Some(&body), 204).await;
        }
        Phase::Incremental if t < w.o.groups => {
            // One member removed per group, Entra's legacy value-list remove.
            let g = t;
            let (Some(gid), Some(uid)) = (w.gid(g), w.uid(w.member(g, 0))) else {
                return;
            };
            let body = json!({
                "schemas": [PATCH_OP],
                "Operations": [{"op": "Remove", "path": "members", "value": [{"value": uid}]}]
            });
            let path = format!("/Groups/{gid}");
            timed(
                conn,
                rec,
                "member remove",
                Method::PATCH,
                &path,
                Some(&body),
                204,
            )
            .await;
        }
        Phase::Incremental => {
            let i = t - w.o.groups;
            let q = format!(
                "/Users?filter={}",
                enc(&format!("userName eq \"{}\"", user_name(i)))
            );
            let r = timed(conn, rec, "user lookup (hit)", Method::GET, &q, None, 200).await;
            let found =
                json_of(&r).and_then(|v| v["Resources"][0]["id"].as_str().map(String::from));
            let Some(id) = found else {
                if r.is_some() {
                    error(rec, "user lookup (hit)", "no match".into());
                }
                return;
            };
            if w.uid(i) != Some(id.as_str()) {
                error(rec, "user lookup (hit)", "wrong id".into());
            }
            let path = format!("/Users/{id}");
            let body = json!({
                "schemas": [PATCH_OP],
                "Operations": [
                    {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": new_email(i)},
                    {"op": "Replace", "path": "name.familyName", "value": new_family(i)}
                ]
            });
            let kind = "user patch (email, familyName)";
            timed(conn, rec, kind, Method::PATCH, &path, Some(&body), 200).await;
            if i % 10 == 0 {
                let body = json!({
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
                });
                timed(
                    conn,
                    rec,
                    "user disable",
                    Method::PATCH,
                    &path,
                    Some(&body),
                    200,
                )
                .await;
            }
        }
        Phase::Lookups => {
            let i = (t / 3 * 7919) % w.o.users;
            let (kind, path) = match t % 3 {
                0 => (
                    "lookup userName",
                    format!(
                        "/Users?filter={}",
                        enc(&format!("userName eq \"{}\"", user_name(i)))
                    ),
                ),
                1 => (
                    "lookup externalId",
                    format!(
                        "/Users?filter={}",
                        enc(&format!("externalId eq \"{}\"", external_id(i)))
                    ),
                ),
                _ => match w.uid(i) {
                    Some(id) => ("get by id", format!("/Users/{id}")),
                    None => return,
                },
            };
            let r = timed(conn, rec, kind, Method::GET, &path, None, 200).await;
            if t % 3 != 2 && r.is_some() && total_results(&r) != Some(1) {
                error(rec, kind, "expected one match".into());
            }
        }
    }
}

struct PhaseReport {
    phase: Phase,
    wall: Duration,
    requests: usize,
    cpu_secs: f64,
    rss_kib: u64,
    rec: Rec,
    truncated: bool,
}

async fn run_phase(
    world: Arc<World>,
    addr: SocketAddr,
    server: &Server,
    phase: Phase,
) -> PhaseReport {
    let tasks = world.tasks(phase);
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(world.o.phase_seconds);
    let before = server.stats();
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..world.o.workers {
        let (world, next) = (Arc::clone(&world), Arc::clone(&next));
        handles.push(tokio::spawn(async move {
            let mut rec = Rec::default();
            let mut conn = Conn::open(addr).await.expect("connect");
            loop {
                let t = next.fetch_add(1, Ordering::Relaxed);
                if t >= tasks || Instant::now() > deadline {
                    break;
                }
                task(&world, &mut conn, &mut rec, phase, t).await;
            }
            rec
        }));
    }
    let mut rec = Rec::default();
    for h in handles {
        rec.merge(h.await.expect("worker"));
    }
    let wall = started.elapsed();
    let after = server.stats();
    let requests = rec.lat.values().map(Vec::len).sum();
    PhaseReport {
        phase,
        wall,
        requests,
        cpu_secs: after.cpu_secs - before.cpu_secs,
        rss_kib: after.rss_kib,
        rec,
        truncated: next.load(Ordering::Relaxed) < tasks,
    }
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[i]) / 1000.0
}

/// Reads every group and a sample of users back and compares them with what was sent.
async fn verify(world: &World, addr: SocketAddr) -> (usize, usize, Vec<String>) {
    let mut conn = Conn::open(addr).await.expect("connect");
    let (mut checked, mut wrong, mut notes) = (0, 0, Vec::new());
    let note = |s: String, notes: &mut Vec<String>| {
        if notes.len() < 10 {
            notes.push(s);
        }
    };
    for g in 0..world.o.groups {
        checked += 1;
        let Some(gid) = world.gid(g) else {
            wrong += 1;
            note(format!("group {g} was not created"), &mut notes);
            continue;
        };
        let (status, body) = conn
            .call(Method::GET, &format!("/Groups/{gid}"), None)
            .await;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let got: BTreeSet<String> = v["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["value"].as_str().map(String::from))
            .collect();
        let want: BTreeSet<String> = (1..world.o.group_size)
            .filter_map(|k| world.uid(world.member(g, k)).map(String::from))
            .collect();
        if status != 200 || got != want {
            wrong += 1;
            note(
                format!(
                    "group {g}: status {status}, {} members, want {}",
                    got.len(),
                    want.len()
                ),
                &mut notes,
            );
        }
    }
    for i in (0..world.o.users).filter(|i| i % 97 == 0 || i % 1000 == 10) {
        checked += 1;
        let Some(uid) = world.uid(i) else {
            wrong += 1;
            note(format!("user {i} was not created"), &mut notes);
            continue;
        };
        let (status, body) = conn.call(Method::GET, &format!("/Users/{uid}"), None).await;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let work = v["emails"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["type"] == "work")
            .and_then(|e| e["value"].as_str());
        let ok = status == 200
            && v["userName"] == user_name(i).as_str()
            && v["externalId"] == external_id(i).as_str()
            && work == Some(new_email(i).as_str())
            && v["name"]["familyName"] == new_family(i).as_str()
            && v["name"]["givenName"] == format!("Given{i}").as_str()
            && v["active"] == json!(i % 10 != 0);
        if !ok {
            wrong += 1;
            note(format!("user {i}: {status} {v}"), &mut notes);
        }
    }
    (checked, wrong, notes)
}

struct TargetReport {
    name: String,
    phases: Vec<PhaseReport>,
    hwm_kib: u64,
    verified: Option<(usize, usize, Vec<String>)>,
}

async fn wait_ready(addr: SocketAddr, timeout: Duration) -> bool {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

/// One flooding connection: random well-formed tenant tokens (each costs the server one store
/// read, and is never cached) as fast as the server answers, until `stop`. Returns (sent, 401s).
async fn flood(
    addr: SocketAddr,
    n: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (usize, usize) {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut conn = Conn::open(addr).await.unwrap();
    let (mut sent, mut refused) = (0, 0);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ (n as u64).wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut random = |len: usize| -> String {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(ALPHABET[(seed % 32) as usize])
            })
            .collect()
    };
    while !stop.load(Ordering::Relaxed) {
        let token = format!("scim_{}_{}", random(20), random(52));
        let req = Request::builder()
            .method(Method::GET)
            .uri(format!("{BASE}/Users?count=1"))
            .header("host", addr.to_string())
            .header("authorization", format!("Bearer {token}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        if conn.sender.ready().await.is_err() {
            conn = Conn::open(addr).await.unwrap();
            continue;
        }
        let Ok(resp) = conn.sender.send_request(req).await else {
            continue;
        };
        sent += 1;
        refused += usize::from(resp.status().as_u16() == 401);
        let _ = resp.into_body().collect().await;
    }
    (sent, refused)
}

/// Creates a tenant (with a request cap above anything the generator sends, so the figures
/// measure the server and not the cap) and a token for it, and points the workers at them.
async fn make_tenant(addr: SocketAddr) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut post = |path: String, body: Value| {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("host", addr.to_string())
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let sent = sender.send_request(req);
        async move {
            let resp = sent.await.unwrap();
            assert_eq!(
                resp.status().as_u16(),
                201,
                "the admin API must be on (SCIM_ADMIN_TOKEN)"
            );
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            serde_json::from_slice::<Value>(&bytes).unwrap()
        }
    };
    let name = format!("loadgen-{}", std::process::id());
    let tenant = post(
        "/admin/v1/tenants".into(),
        json!({"name": name, "requestsPerSecond": 10000}),
    )
    .await;
    let id = tenant["id"].as_str().unwrap().to_string();
    let token = post(
        format!("/admin/v1/tenants/{id}/tokens"),
        json!({"description": "loadgen"}),
    )
    .await;
    let token = token["token"].as_str().unwrap().to_string();
    *SCOPE.write().unwrap() = Some((format!("/tenants/{id}{BASE}"), token));
}

async fn run_target(o: &Opts, target: &Target) -> TargetReport {
    let server = Server::start(target);
    assert!(
        wait_ready(server.addr, Duration::from_secs(30)).await,
        "{} did not start listening on {}",
        target.name,
        server.addr
    );
    if o.tenant {
        make_tenant(server.addr).await;
    }
    let world = Arc::new(World {
        o: o.clone(),
        user_ids: (0..o.users).map(|_| OnceLock::new()).collect(),
        group_ids: (0..o.groups).map(|_| OnceLock::new()).collect(),
    });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flooders: Vec<_> = (0..o.flood)
        .map(|n| tokio::spawn(flood(server.addr, n, Arc::clone(&stop))))
        .collect();
    let mut phases = Vec::new();
    for phase in Phase::ALL {
        let r = run_phase(Arc::clone(&world), server.addr, &server, phase).await;
        eprintln!(
            "  {:<10} {:<16} {:>7} requests in {:>7.2} s{}",
            target.name,
            phase.name(),
            r.requests,
            r.wall.as_secs_f64(),
            if r.truncated {
                " (stopped at the phase time limit)"
            } else {
                ""
            }
        );
        phases.push(r);
    }
    stop.store(true, Ordering::Relaxed);
    let (mut sent, mut refused) = (0, 0);
    for f in flooders {
        let (s, r) = f.await.unwrap();
        sent += s;
        refused += r;
    }
    if o.flood > 0 {
        eprintln!("  flood: {sent} requests with random tenant tokens, {refused} answered 401");
        assert_eq!(sent, refused, "every random token must be refused");
    }
    let verified = if target.verify {
        Some(verify(&world, server.addr).await)
    } else {
        None
    };
    TargetReport {
        name: target.name.clone(),
        phases,
        hwm_kib: server.stats().hwm_kib,
        verified,
    }
}

fn print_reports(o: &Opts, reports: &[TargetReport]) {
    println!(
        "\nworkload: {} users, {} groups x {} members (batches of {}), {} workers, \
         HTTP/1.1 keep-alive, 127.0.0.1",
        o.users, o.groups, o.group_size, o.batch, o.workers
    );
    let null = reports.iter().find(|r| r.name == "null");
    for r in reports {
        println!("\n== {} ==", r.name);
        println!(
            "| phase | kind | requests | req/s (phase wall) | p50 ms | p90 ms | p99 ms | max ms | errors |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        for p in &r.phases {
            let secs = p.wall.as_secs_f64().max(1e-9);
            for (kind, lat) in &p.rec.lat {
                let mut s = lat.clone();
                s.sort_unstable();
                println!(
                    "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
                    p.phase.name(),
                    kind,
                    s.len(),
                    s.len() as f64 / secs,
                    pct(&s, 0.50),
                    pct(&s, 0.90),
                    pct(&s, 0.99),
                    pct(&s, 1.0),
                    p.rec.errors.get(kind).copied().unwrap_or(0)
                );
            }
        }
        println!(
            "\n| phase | requests | wall s | req/s | vs null | server CPU s | CPU µs/req | RSS after MiB |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for p in &r.phases {
            let rps = p.requests as f64 / p.wall.as_secs_f64().max(1e-9);
            let vs = null
                .and_then(|n| n.phases.iter().find(|q| q.phase == p.phase))
                .map(|q| rps / (q.requests as f64 / q.wall.as_secs_f64().max(1e-9)))
                .map_or("-".into(), |f| format!("{f:.2}"));
            println!(
                "| {}{} | {} | {:.2} | {:.0} | {} | {:.2} | {:.0} | {:.1} |",
                p.phase.name(),
                if p.truncated { " (time limit)" } else { "" },
                p.requests,
                p.wall.as_secs_f64(),
                rps,
                vs,
                p.cpu_secs,
                p.cpu_secs * 1e6 / p.requests.max(1) as f64,
                p.rss_kib as f64 / 1024.0
            );
        }
        println!("\npeak RSS (VmHWM): {:.1} MiB", r.hwm_kib as f64 / 1024.0);
        for p in &r.phases {
            for s in &p.rec.samples {
                println!("error sample ({}): {s}", p.phase.name());
            }
        }
        match &r.verified {
            Some((checked, 0, _)) => {
                println!("verified: {checked} groups and sampled users, all exact")
            }
            Some((checked, wrong, notes)) => {
                println!("verification FAILED: {wrong} of {checked} wrong");
                for n in notes {
                    println!("  {n}");
                }
            }
            None => println!("verification: not applicable"),
        }
    }
}

/// Medians over interleaved rounds: one run of a server is a few seconds per phase on a shared
/// machine, and the null server's own throughput moved by half from one run to the next, so a
/// single round's "vs null" is noise. Each round's ratio is taken against that round's null
/// run; the summary gives their median and range.
fn print_summary(rounds: &[Vec<TargetReport>]) {
    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    }
    let rps = |p: &PhaseReport| p.requests as f64 / p.wall.as_secs_f64().max(1e-9);
    let names: Vec<&str> = rounds[0].iter().map(|r| r.name.as_str()).collect();
    println!(
        "\n# summary: median over {} interleaved rounds",
        rounds.len()
    );
    println!("\n| phase | server | req/s | vs null | vs null, min–max | CPU µs/req |");
    println!("|---|---|---:|---:|---:|---:|");
    for phase in Phase::ALL {
        for name in &names {
            let runs: Vec<(&PhaseReport, Option<f64>)> = rounds
                .iter()
                .filter_map(|reports| {
                    let find = |n: &str| {
                        reports
                            .iter()
                            .find(|r| r.name == n)
                            .and_then(|r| r.phases.iter().find(|p| p.phase == phase))
                    };
                    let ours = find(name)?;
                    Some((ours, find("null").map(|null| rps(ours) / rps(null))))
                })
                .collect();
            let ratios: Vec<f64> = runs.iter().filter_map(|(_, r)| *r).collect();
            let (lo, hi) = ratios
                .iter()
                .fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
            println!(
                "| {} | {} | {:.0} | {} | {} | {:.0} |",
                phase.name(),
                name,
                median(runs.iter().map(|(p, _)| rps(p)).collect()),
                if ratios.is_empty() {
                    "-".into()
                } else {
                    format!("{:.2}", median(ratios.clone()))
                },
                if ratios.is_empty() {
                    "-".into()
                } else {
                    format!("{lo:.2}–{hi:.2}")
                },
                median(
                    runs.iter()
                        .map(|(p, _)| p.cpu_secs * 1e6 / p.requests.max(1) as f64)
                        .collect()
                ),
            );
        }
    }
    println!("\n| server | phase | kind | p99 ms, median | p99 ms, worst round |");
    println!("|---|---|---|---:|---:|");
    for name in &names {
        for phase in Phase::ALL {
            let kinds: BTreeSet<&str> = rounds
                .iter()
                .flatten()
                .filter(|r| r.name == *name)
                .flat_map(|r| r.phases.iter().filter(|p| p.phase == phase))
                .flat_map(|p| p.rec.lat.keys().copied())
                .collect();
            for kind in kinds {
                let p99s: Vec<f64> = rounds
                    .iter()
                    .flatten()
                    .filter(|r| r.name == *name)
                    .flat_map(|r| r.phases.iter().filter(|p| p.phase == phase))
                    .filter_map(|p| p.rec.lat.get(kind))
                    .map(|lat| {
                        let mut s = lat.clone();
                        s.sort_unstable();
                        pct(&s, 0.99)
                    })
                    .collect();
                let worst = p99s.iter().copied().fold(0.0, f64::max);
                println!(
                    "| {name} | {} | {kind} | {:.2} | {worst:.2} |",
                    phase.name(),
                    median(p99s)
                );
            }
        }
    }
    println!("\n| server | peak RSS (VmHWM) MiB, worst round |");
    println!("|---|---:|");
    for name in &names {
        let hwm = rounds
            .iter()
            .flatten()
            .filter(|r| r.name == *name)
            .map(|r| r.hwm_kib)
            .max()
            .unwrap_or(0);
        println!("| {name} | {:.1} |", hwm as f64 / 1024.0);
    }
}

/// Time from exec to the first answered request, `runs` times per server.
async fn coldstart(o: &Opts) {
    println!("| server | runs | min ms | median ms | max ms | peak RSS MiB (idle) |");
    println!("|---|---:|---:|---:|---:|---:|");
    for target in &o.targets {
        let mut times = Vec::new();
        let mut hwm = 0;
        for _ in 0..o.runs {
            let port = free_port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let cmd = target.spawn.as_deref().expect("coldstart needs --server");
            let started = Instant::now();
            let mut child = spawn(&cmd.replace("{port}", &port.to_string()), addr);
            let pid = child.id();
            let mut answered = None;
            while started.elapsed() < Duration::from_secs(30) {
                if let Ok(mut c) = Conn::open(addr).await {
                    // Entra's "Test Connection": an authenticated lookup of a missing name
                    // (so a Secrets Manager token is fetched, and the store is read).
                    let (status, _) = c.call(Method::GET, PROBE, None).await;
                    if status == 200 {
                        answered = Some(started.elapsed());
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            hwm = hwm.max(proc_stats(pid).hwm_kib);
            let _ = child.kill();
            let _ = child.wait();
            match answered {
                Some(t) => times.push(t),
                None => eprintln!("{}: no answer within 30 s", target.name),
            }
        }
        times.sort();
        if times.is_empty() {
            continue;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            target.name,
            times.len(),
            ms(times[0]),
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1]),
            hwm as f64 / 1024.0
        );
    }
}

fn main() {
    let o = parse_opts();
    let threads = std::env::var("LOADGEN_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1usize);
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .unwrap();
    rt.block_on(async {
        if o.coldstart {
            coldstart(&o).await;
            return;
        }
        let mut rounds = Vec::new();
        for round in 1..=o.rounds {
            let mut reports = Vec::new();
            for target in &o.targets {
                eprintln!("round {round}/{}: running {} ...", o.rounds, target.name);
                reports.push(run_target(&o, target).await);
            }
            if o.rounds > 1 {
                println!("\n# round {round} of {}", o.rounds);
            }
            print_reports(&o, &reports);
            rounds.push(reports);
        }
        if o.rounds > 1 {
            print_summary(&rounds);
        }
        let failed = rounds
            .iter()
            .flatten()
            .any(|r| matches!(&r.verified, Some((_, wrong, _)) if *wrong > 0));
        if failed {
            std::process::exit(1);
        }
    });
}
