//! One log line per request (method, route, status, latency, store calls, request id) and, in
//! Lambda, one Embedded Metric Format line.
//!
//! Only the route template is logged (`/scim/v2/Users/{id}`), never the query string (filters
//! carry user names and emails), headers or bodies.

use std::io::Write;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing_subscriber::fmt::MakeWriter;

use super::error::ErrorClass;
use super::log_line::CompactLine;
use super::metrics::{RequestMetrics, Settings, write_emf};
use super::state::AppState;
use crate::auth::Principal;
use crate::store::Store;

/// How the process's log lines are formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (Lambda: CloudWatch Logs Insights reads the fields).
    Json,
    /// Compact text (a local server), without colour: `log_line::CompactLine`.
    Compact,
}

/// The process's tracing subscriber: `RUST_LOG` (default `info`) filters, lines go to `writer`.
/// The request line's cost depends on it, so it is built here, next to the line, and the
/// benchmark (`benches/log.rs`) measures this very subscriber.
pub fn subscriber<W>(format: LogFormat, writer: W, ansi: bool) -> tracing::Dispatch
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    match format {
        LogFormat::Json => builder.json().with_current_span(false).finish().into(),
        LogFormat::Compact => builder.event_format(CompactLine).finish().into(),
    }
}

/// What one request's lines say.
#[derive(Debug, Clone, Copy)]
pub struct RequestLine<'a> {
    /// The caller's tenant id (`-` when unauthenticated): an opaque id, never a name.
    pub tenant: &'a str,
    /// The HTTP method.
    pub method: &'a str,
    /// The route template (`unmatched` when no route matched).
    pub route: &'a str,
    /// HTTP status.
    pub status: u16,
    /// Milliseconds from the request's arrival to its response.
    pub latency_ms: f64,
    /// Store calls made while serving it.
    pub store_calls: u64,
    /// The Lambda request id (empty locally).
    pub request_id: &'a str,
    /// The class of a failed request.
    pub class: Option<ErrorClass>,
}

/// Writes a request's log line (a tracing event at info) and, when `metrics` is set, its
/// metrics line to `metrics_out` (stdout in the server). Everything a request pays for
/// logging happens here.
pub fn write_request_lines(
    line: &RequestLine<'_>,
    metrics: Option<&Settings>,
    metrics_out: &mut impl Write,
) {
    tracing::info!(
        tenant = %line.tenant,
        method = %line.method,
        route = %line.route,
        status = line.status,
        latency_ms = line.latency_ms,
        store_calls = line.store_calls,
        request_id = %line.request_id,
        "request"
    );
    if let Some(settings) = metrics {
        let timestamp_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let m = RequestMetrics {
            method: line.method,
            route: line.route,
            status: line.status,
            latency_ms: line.latency_ms,
            store_calls: line.store_calls,
            timestamp_ms,
            class: line.class,
            tenant: line.tenant,
        };
        // Built in this thread's buffer and written in one call. The Lambda runtime ships the
        // line to CloudWatch Logs, which extracts the metrics. Written whatever RUST_LOG says:
        // the 401 alarm counts these lines. A failed write loses one metrics line, never the
        // response.
        LINE.with_borrow_mut(|buf| {
            buf.clear();
            write_emf(&m, settings, buf);
            let _ = metrics_out.write_all(buf);
        });
    }
}

thread_local! {
    /// The metrics line's buffer, reused: a line is about 300 bytes.
    static LINE: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(512));
}

/// Logs the request when its response is ready.
pub async fn log_request<S: Store>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let calls_before = state.service.store().calls().snapshot();
    let method = request.method().clone();
    // `MatchedPath` holds an `Arc<str>`: cloning it costs no copy of the route.
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let request_id = request
        .extensions()
        .get::<lambda_http::Context>()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let response = next.run(request).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let store_calls = state
        .service
        .store()
        .calls()
        .snapshot()
        .since(&calls_before)
        .total();
    // The tenant id only (an opaque id, never the tenant's name), as the auth layer set it.
    let tenant = response
        .extensions()
        .get::<Principal>()
        .map_or("-", |p| p.tenant.as_str());
    let line = RequestLine {
        tenant,
        method: method.as_str(),
        route,
        status: response.status().as_u16(),
        latency_ms,
        store_calls,
        request_id: &request_id,
        class: response.extensions().get::<ErrorClass>().copied(),
    };
    write_request_lines(&line, state.metrics.as_deref(), &mut std::io::stdout());
    response
}
