//! Rewriting the request path before routing; what is lenient about it (case, slashes) is
//! decided by `scim::compat::http`. So that
//! - a stage or mount prefix before the base path is tolerated (`/prod/scim/v2/Users`: a REST
//!   API stage, or a custom domain's base-path mapping; `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH`
//!   only stops `lambda_http` from adding one and never removes it),
//! - resource names match case-insensitively (`/scim/v2/users`), as clients differ,
//! - duplicate and trailing slashes do not matter (`/scim/v2//Users/`: a Tenant URL pasted with
//!   a trailing slash),
//! - a segment that does not percent-decode to UTF-8 (`/Users/%FF%FE`) reaches the handlers as
//!   its lossy decoding (U+FFFD, re-encoded), which names no resource and is answered with the
//!   route's SCIM 404; left as sent, axum's path extractor would refuse it with a plain-text
//!   400 before any handler, outside the one error map.
//!
//! It wraps the `Router`, since middleware inside a router runs after the route is chosen.

use std::task::{Context, Poll};

use axum::http::{Request, Uri};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use tower::Service;

use crate::scim::compat::http::{canonical_endpoint, path_segments, same_base_segment};

/// What stood before the base path (`/prod`), kept as a request extension so responses can
/// address resources with the same prefix.
#[derive(Debug, Clone)]
pub struct MountPrefix(pub String);

/// The path-normalising service around the router.
#[derive(Debug, Clone)]
pub struct NormalizePath<S> {
    inner: S,
    base_path: String,
}

impl<S> NormalizePath<S> {
    /// Wraps `inner`, which routes under `base_path` (e.g. `/scim/v2`).
    pub fn new(inner: S, base_path: &str) -> Self {
        NormalizePath {
            inner,
            base_path: base_path.to_string(),
        }
    }
}

impl<S, B> Service<Request<B>> for NormalizePath<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if let Some((prefix, path)) = normalize(req.uri().path(), &self.base_path) {
            // Most requests are already canonical: keep their URI rather than build it again.
            if path == req.uri().path() {
                req.extensions_mut().insert(MountPrefix(prefix));
                return self.inner.call(req);
            }
            let path_and_query = match req.uri().query() {
                Some(q) => format!("{path}?{q}"),
                None => path,
            };
            let mut parts = req.uri().clone().into_parts();
            if let Ok(pq) = path_and_query.parse() {
                parts.path_and_query = Some(pq);
                if let Ok(uri) = Uri::from_parts(parts) {
                    *req.uri_mut() = uri;
                }
            }
            req.extensions_mut().insert(MountPrefix(prefix));
        }
        self.inner.call(req)
    }
}

/// Splits `path` into the prefix before `base` and the canonical path from `base` on.
/// `None` when the base path does not occur (the router answers 404).
pub fn normalize(path: &str, base: &str) -> Option<(String, String)> {
    let segments: Vec<&str> = path_segments(path).collect();
    let base_segments: Vec<&str> = path_segments(base).collect();
    let start = (0..=segments.len().saturating_sub(base_segments.len())).find(|&i| {
        segments.len() >= i + base_segments.len()
            && segments[i..i + base_segments.len()]
                .iter()
                .zip(&base_segments)
                .all(|(a, b)| same_base_segment(a, b))
    })?;
    let prefix: String = segments[..start].iter().map(|s| format!("/{s}")).collect();
    let mut out = String::from(base.trim_end_matches('/'));
    for (i, segment) in segments[start + base_segments.len()..].iter().enumerate() {
        out.push('/');
        match canonical_endpoint(i, segment) {
            Some(name) => out.push_str(name),
            None => out.push_str(&utf8_segment(segment)),
        }
    }
    Some((prefix, out))
}

/// `segment` if it percent-decodes to UTF-8, else its lossy decoding percent-encoded again.
fn utf8_segment(segment: &str) -> std::borrow::Cow<'_, str> {
    let decoded = percent_decode_str(segment);
    if decoded.decode_utf8().is_ok() {
        return segment.into();
    }
    let lossy = percent_decode_str(segment).decode_utf8_lossy();
    utf8_percent_encode(&lossy, NON_ALPHANUMERIC)
        .to_string()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised() {
        let rows: &[(&str, &str, Option<(&str, &str)>)] = &[
            ("/scim/v2/Users", "/scim/v2", Some(("", "/scim/v2/Users"))),
            ("/scim/v2/users", "/scim/v2", Some(("", "/scim/v2/Users"))),
            (
                "/SCIM/V2/groups/abc",
                "/scim/v2",
                Some(("", "/scim/v2/Groups/abc")),
            ),
            (
                "/prod/scim/v2/Users/ID-Case",
                "/scim/v2",
                Some(("/prod", "/scim/v2/Users/ID-Case")),
            ),
            ("/scim/v2//Users/", "/scim/v2", Some(("", "/scim/v2/Users"))),
            (
                "/scim/v2/users/.SEARCH",
                "/scim/v2",
                Some(("", "/scim/v2/Users/.search")),
            ),
            (
                "/scim/v2/serviceproviderconfig",
                "/scim/v2",
                Some(("", "/scim/v2/ServiceProviderConfig")),
            ),
            ("/scim/v2", "/scim/v2", Some(("", "/scim/v2"))),
            (
                "/scim/v2/Users/%FF%FE",
                "/scim/v2",
                Some(("", "/scim/v2/Users/%EF%BF%BD%EF%BF%BD")),
            ),
            (
                "/scim/v2/Users/%C3%A9t%C3%A9",
                "/scim/v2",
                Some(("", "/scim/v2/Users/%C3%A9t%C3%A9")),
            ),
            ("/other/Users", "/scim/v2", None),
            ("/scim", "/scim/v2", None),
        ];
        for (path, base, expected) in rows {
            let got = normalize(path, base);
            let expected = expected.map(|(p, q)| (p.to_string(), q.to_string()));
            assert_eq!(got, expected, "{path}");
        }
    }
}
