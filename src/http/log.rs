//! One log line per request (method, route, status, latency, store calls, request id) and, in
//! Lambda, one Embedded Metric Format line.
//!
//! Only the route template is logged (`/scim/v2/Users/{id}`), never the query string (filters
//! carry user names and emails), headers or bodies.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::error::ErrorClass;
use super::metrics::{RequestMetrics, emf};
use super::state::AppState;
use crate::auth::Principal;
use crate::store::Store;

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
    let status = response.status().as_u16();
    // The tenant id only (an opaque id, never the tenant's name), as the auth layer set it.
    let tenant = response
        .extensions()
        .get::<Principal>()
        .map_or("-", |p| p.tenant.as_str());
    tracing::info!(
        tenant = %tenant,
        method = %method,
        route = %route,
        status,
        latency_ms,
        store_calls,
        request_id = %request_id,
        "request"
    );
    if let Some(settings) = &state.metrics {
        let operation = format!("{method} {route}");
        let timestamp_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let m = RequestMetrics {
            operation: &operation,
            status,
            latency_ms,
            store_calls,
            timestamp_ms,
            class: response.extensions().get::<ErrorClass>().copied(),
            tenant,
        };
        // stdout, one line: the Lambda runtime ships it to CloudWatch Logs, which extracts the
        // metrics. Written whatever RUST_LOG says: the 401 alarm counts these lines.
        println!("{}", emf(&m, settings));
    }
    response
}
