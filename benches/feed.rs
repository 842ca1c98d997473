//! How many stream records the stream function gets through per second on one shard, on the
//! recorded batches in `events/stream/`.
//!
//! ```sh
//! cargo bench --profile bench-fast --bench feed -- --noplot
//! ```
//!
//! Lambda hands a shard's batches to one invocation at a time, so a shard's rate is records
//! per batch over the time one batch takes. Criterion prints it as `elem/s` (elements are
//! stream records):
//!
//! - `feed/decode/<batch>`: the stream event's records decoded into changes
//!   (`feed::lambda::records`);
//! - `feed/decode+map/<batch>`: the same, and each change turned into its stored event document
//!   (`Event::to_json`, serialised): the pure part of the handler;
//! - `feed/handler/<batch>`: the whole handler (`feed::lambda::handle`) over a fresh embedded
//!   feed store with nothing to push: decode, map, number and store, and the partial batch
//!   response. In Lambda the append is a DynamoDB transaction instead (docs/dynamodb.md), whose
//!   round trips, not this CPU time, bound a shard.
//!
//! - `feed/append-one/after-<n>` (printed, timed by hand): one change appended to an embedded
//!   feed already holding `n` events (`MemoryFeed::append`, what the local server's pipeline
//!   does for each write).
//!
//! `all` is the four batches of resource records (01–04) in one batch of 9 records.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use scim_lambda::change::Decoded;
use scim_lambda::feed::Event;
use scim_lambda::feed::lambda::{handle, records};
use scim_lambda::feed::pipeline::{NoPush, Pipeline};
use scim_lambda::store::TenantId;
use scim_lambda::store::feed::{FeedStore, MemoryFeed, Retention};
use serde_json::Value;

const BATCHES: &[(&str, &str)] = &[
    (
        "01-user-insert",
        include_str!("../events/stream/01-user-insert.json"),
    ),
    (
        "02-user-deactivate",
        include_str!("../events/stream/02-user-deactivate.json"),
    ),
    (
        "03-group-add-members",
        include_str!("../events/stream/03-group-add-members.json"),
    ),
    (
        "04-user-remove",
        include_str!("../events/stream/04-user-remove.json"),
    ),
];

/// Retention and clock of the handler: 30 days, a fixed now (the recorded batches are from
/// 2026-12-01).
const RETENTION_SECS: u64 = 30 * 24 * 3600;
const NOW_SECS: u64 = 1_764_547_300;

fn batches() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = BATCHES
        .iter()
        .map(|(name, text)| ((*name).to_string(), serde_json::from_str(text).unwrap()))
        .collect();
    let all: Vec<Value> = out
        .iter()
        .flat_map(|(_, v)| v["Records"].as_array().unwrap().clone())
        .collect();
    out.push(("all".into(), serde_json::json!({ "Records": all })));
    out
}

/// Decodes and maps, as the handler does before it stores: one document per change.
fn decode_and_map(event: &Value) -> Vec<String> {
    records(event)
        .into_iter()
        .enumerate()
        .filter_map(|(i, (_, d))| match d {
            Ok(Decoded::Change(change)) => Some(
                Event {
                    seq: i as u64 + 1,
                    change,
                }
                .to_json()
                .to_string(),
            ),
            _ => None,
        })
        .collect()
}

fn stream(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (name, event) in batches() {
        let n = event["Records"].as_array().unwrap().len() as u64;
        // Every record of these batches is understood: none is skipped or fails.
        let pipeline = Pipeline::new(Arc::new(MemoryFeed::new()), NoPush, RETENTION_SECS);
        let answer = rt.block_on(handle(&pipeline, &event, NOW_SECS));
        assert_eq!(answer["batchItemFailures"], serde_json::json!([]), "{name}");

        let mut g = c.benchmark_group("feed");
        g.throughput(Throughput::Elements(n));
        g.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| records(black_box(&event)))
        });
        g.bench_function(format!("decode+map/{name}"), |b| {
            b.iter(|| decode_and_map(black_box(&event)))
        });
        // A fresh feed each time: the feed skips changes it already holds (by `txn`).
        g.bench_function(format!("handler/{name}"), |b| {
            b.iter_batched(
                || Pipeline::new(Arc::new(MemoryFeed::new()), NoPush, RETENTION_SECS),
                |p| rt.block_on(handle(&p, black_box(&event), NOW_SECS)),
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
}

/// What one append costs as the embedded feed grows: it should not depend on the feed's size.
/// Timed by hand rather than by criterion, which would grow the feed by every iteration it
/// runs: a fresh feed is filled to each size, then 200 single-change appends are timed one by
/// one and their median printed.
fn append(_: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let event: Value = serde_json::from_str(BATCHES[1].1).unwrap();
    let Some((_, Ok(Decoded::Change(template)))) = records(&event).into_iter().next() else {
        panic!("02-user-deactivate decodes to a change");
    };
    let tenant: TenantId = template.tenant.clone();
    let retention = Retention {
        secs: RETENTION_SECS,
        now_secs: NOW_SECS,
    };
    let mut n = 0u64;
    let mut next = || {
        n += 1;
        let mut c = template.clone();
        c.id = format!("00000000-0000-4000-8000-{n:012}");
        c
    };
    for size in [0usize, 1_000, 10_000, 40_000] {
        let feed = MemoryFeed::new();
        for _ in 0..size / 1000 {
            let chunk: Vec<_> = (0..1000).map(|_| next()).collect();
            rt.block_on(feed.append(&tenant, &chunk, retention))
                .unwrap();
        }
        let mut times: Vec<f64> = (0..200)
            .map(|_| {
                let one = [next()];
                let started = std::time::Instant::now();
                rt.block_on(feed.append(&tenant, black_box(&one), retention))
                    .unwrap();
                started.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "feed/append-one/after-{size}: median {:.2} µs (200 appends)",
            times[100]
        );
    }
}

criterion_group!(benches, stream, append);
criterion_main!(benches);
