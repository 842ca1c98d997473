//! What one request pays for its log and metrics lines.
//!
//! ```sh
//! cargo bench --profile bench-fast --bench log -- --noplot
//! ```
//!
//! Each iteration is one call of `http::write_request_lines`, the function the request-log
//! middleware calls once its response is ready, under the subscriber the binary installs
//! (`http::subscriber`), with both lines going to `/dev/null` through the same kind of
//! writer as in the server: the log line in one unbuffered write (stderr), the metrics line
//! through a `LineWriter` (stdout). `RUST_LOG` is read as in the server (unset: `info`).
//!
//! - `log/lambda/default`: the template's defaults, JSON log line at info and the metrics line
//!   in `status` mode: what a Lambda request pays.
//! - `log/lambda/full-metrics`: the same with `SCIM_METRICS=full`.
//! - `log/lambda/log-line-only` and `log/lambda/metrics-line-only`: the two parts apart.
//! - `log/local/compact`: the local server (compact text, no metrics line).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::LineWriter;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use scim_lambda::http::metrics::{Mode, Settings};
use scim_lambda::http::{LogFormat, RequestLine, subscriber, write_request_lines};

fn dev_null() -> File {
    OpenOptions::new().write(true).open("/dev/null").unwrap()
}

fn line() -> RequestLine<'static> {
    RequestLine {
        tenant: "default",
        method: "PATCH",
        route: "/scim/v2/Users/{id}",
        status: 200,
        latency_ms: 0.3141,
        store_calls: 2,
        request_id: "8f5e2b2a-3c1d-4e5f-9a7b-0c1d2e3f4a5b",
        class: None,
    }
}

fn settings(mode: Mode) -> Settings {
    Settings {
        mode,
        stack: "acme-scim".into(),
    }
}

fn bench(c: &mut Criterion, name: &str, dispatch: &tracing::Dispatch, metrics: Option<&Settings>) {
    let mut out = LineWriter::new(dev_null());
    let line = line();
    tracing::dispatcher::with_default(dispatch, || {
        c.bench_function(name, |b| {
            b.iter(|| write_request_lines(black_box(&line), metrics, &mut out))
        });
    });
}

fn lines(c: &mut Criterion) {
    let json = subscriber(LogFormat::Json, Arc::new(dev_null()), false);
    let compact = subscriber(LogFormat::Compact, Arc::new(dev_null()), false);
    let none = tracing::Dispatch::none();
    let status = settings(Mode::Status);
    let full = settings(Mode::Full);
    bench(c, "log/lambda/default", &json, Some(&status));
    bench(c, "log/lambda/full-metrics", &json, Some(&full));
    bench(c, "log/lambda/log-line-only", &json, None);
    bench(c, "log/lambda/metrics-line-only", &none, Some(&status));
    bench(c, "log/local/compact", &compact, None);
}

criterion_group!(benches, lines);
criterion_main!(benches);
