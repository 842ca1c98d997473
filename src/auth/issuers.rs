//! Federated issuers' signing keys, for workload identity federation: the JWKS named by the
//! issuer's OpenID configuration (or a credential's own `jwksUri`), fetched over HTTPS and
//! cached per URL by `kid`. A `kid` the cache does not know refetches the JWKS, at most once
//! per [`REFETCH_INTERVAL_SECS`] per URL, so an issuer's key rotation is picked up at once
//! while a flood of assertions with random `kid`s costs at most one fetch a minute.
//!
//! Only `https` URLs are fetched, except that a local server (not in Lambda) may use `http`
//! on a loopback address, which is how the tests serve a JWKS on 127.0.0.1.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::Deserialize;

use crate::clock::Clock;

/// Least time between two fetches of one JWKS caused by an unknown `kid`.
pub const REFETCH_INTERVAL_SECS: i64 = 60;
/// How long fetched keys and configurations are used before they are fetched again.
pub const CACHE_TTL_SECS: i64 = 3600;
/// Largest JWKS or configuration document read.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// Time allowed for one fetch.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why no key could be found.
#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    /// The URL is not `https` (nor an allowed loopback `http`), or not a URL.
    #[error("{0} is not an https URL")]
    InsecureUrl(String),
    /// The issuer's documents do not name a key with this `kid`, even after a refetch.
    #[error("the issuer has no key {0:?}")]
    UnknownKey(String),
    /// The key exists but cannot verify (unsupported type).
    #[error("the issuer's key cannot be used")]
    UnusableKey,
    /// The issuer could not be reached or answered nonsense: the assertion may be fine.
    #[error("fetching {url} failed: {why}")]
    Fetch {
        /// What was fetched.
        url: String,
        /// Why it failed.
        why: String,
    },
}

struct CachedJwks {
    keys: HashMap<String, Jwk>,
    fetched_at: i64,
}

#[derive(Default)]
struct Cache {
    /// JWKS URL → keys.
    jwks: HashMap<String, CachedJwks>,
    /// JWKS URL → last fetch attempt (limits refetches).
    attempted: HashMap<String, i64>,
    /// Issuer → (JWKS URL, fetched at).
    configs: HashMap<String, (String, i64)>,
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// The federated issuers' keys.
pub struct Issuers {
    /// Built at the first fetch.
    client: OnceLock<HttpsClient>,
    allow_loopback_http: bool,
    clock: Arc<dyn Clock>,
    cache: RwLock<Cache>,
    fetching: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Issuers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuers")
            .field("allow_loopback_http", &self.allow_loopback_http)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct OpenIdConfiguration {
    issuer: String,
    jwks_uri: String,
}

impl Issuers {
    /// A fetcher with the system's root certificates; `allow_loopback_http` only for a local
    /// server. The roots are loaded at the first fetch: reading them (hundreds of PEM files
    /// on some systems) cost every start, and most deployments never fetch an issuer's keys.
    pub fn new(allow_loopback_http: bool, clock: Arc<dyn Clock>) -> Self {
        Issuers {
            client: OnceLock::new(),
            allow_loopback_http,
            clock,
            cache: RwLock::new(Cache::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn client(&self) -> Result<&HttpsClient, IssuerError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| IssuerError::Fetch {
                url: "(TLS roots)".into(),
                why: e.to_string(),
            })?
            // Plain http is refused before any request unless it is an allowed loopback URL.
            .https_or_http()
            .enable_http1()
            .build();
        Ok(self
            .client
            .get_or_init(|| Client::builder(TokioExecutor::new()).build(https)))
    }

    /// Whether `url` may be fetched.
    ///
    /// # Errors
    /// [`IssuerError::InsecureUrl`] otherwise.
    pub fn check_url(&self, url: &str) -> Result<(), IssuerError> {
        check_url(url, self.allow_loopback_http)
    }

    /// The key `kid` of `issuer` (from `jwks_uri` when given, else from the issuer's OpenID
    /// configuration).
    ///
    /// # Errors
    /// See [`IssuerError`].
    pub async fn key(
        &self,
        issuer: &str,
        jwks_uri: Option<&str>,
        kid: &str,
    ) -> Result<(DecodingKey, Option<jsonwebtoken::Algorithm>), IssuerError> {
        let url = match jwks_uri {
            Some(u) => u.to_string(),
            None => self.jwks_uri_of(issuer).await?,
        };
        self.check_url(&url)?;
        let now = self.clock.now();
        if let Some(jwk) = self.cached_key(&url, kid, now) {
            return usable(&jwk);
        }
        let _flight = self.fetching.lock().await;
        // Another task may have fetched while this one waited.
        if let Some(jwk) = self.cached_key(&url, kid, now) {
            return usable(&jwk);
        }
        let recently = self
            .read()
            .attempted
            .get(&url)
            .is_some_and(|t| now - t < REFETCH_INTERVAL_SECS);
        let has_fresh = self
            .read()
            .jwks
            .get(&url)
            .is_some_and(|c| now - c.fetched_at < CACHE_TTL_SECS);
        if recently && has_fresh {
            return Err(IssuerError::UnknownKey(kid.to_string()));
        }
        if recently {
            return Err(IssuerError::Fetch {
                url,
                why: "the last fetch failed moments ago".into(),
            });
        }
        self.write().attempted.insert(url.clone(), now);
        let set: JwkSet =
            serde_json::from_slice(&self.get(&url).await?).map_err(|e| IssuerError::Fetch {
                url: url.clone(),
                why: format!("not a JWKS: {e}"),
            })?;
        let keys: HashMap<String, Jwk> = set
            .keys
            .into_iter()
            .filter_map(|k| k.common.key_id.clone().map(|id| (id, k)))
            .collect();
        let found = keys.get(kid).cloned();
        self.write().jwks.insert(
            url,
            CachedJwks {
                keys,
                fetched_at: now,
            },
        );
        found.map_or_else(
            || Err(IssuerError::UnknownKey(kid.to_string())),
            |jwk| usable(&jwk),
        )
    }

    fn cached_key(&self, url: &str, kid: &str, now: i64) -> Option<Jwk> {
        let cache = self.read();
        let entry = cache.jwks.get(url)?;
        (now - entry.fetched_at < CACHE_TTL_SECS)
            .then(|| entry.keys.get(kid).cloned())
            .flatten()
    }

    async fn jwks_uri_of(&self, issuer: &str) -> Result<String, IssuerError> {
        let now = self.clock.now();
        if let Some((uri, at)) = self.read().configs.get(issuer)
            && now - at < CACHE_TTL_SECS
        {
            return Ok(uri.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        self.check_url(&url)?;
        let body = self.get(&url).await?;
        let config: OpenIdConfiguration =
            serde_json::from_slice(&body).map_err(|e| IssuerError::Fetch {
                url: url.clone(),
                why: format!("not an OpenID configuration: {e}"),
            })?;
        // OpenID Connect Discovery §4.3: the document must be the issuer's own.
        if config.issuer != issuer {
            return Err(IssuerError::Fetch {
                url,
                why: "its issuer differs from the credential's".into(),
            });
        }
        self.check_url(&config.jwks_uri)?;
        self.write()
            .configs
            .insert(issuer.to_string(), (config.jwks_uri.clone(), now));
        Ok(config.jwks_uri)
    }

    async fn get(&self, url: &str) -> Result<Bytes, IssuerError> {
        let fail = |why: String| IssuerError::Fetch {
            url: url.to_string(),
            why,
        };
        let request = hyper::Request::get(url)
            .header("accept", "application/json")
            .body(Empty::new())
            .map_err(|e| fail(e.to_string()))?;
        let response = tokio::time::timeout(FETCH_TIMEOUT, self.client()?.request(request))
            .await
            .map_err(|_| fail("timed out".into()))?
            .map_err(|e| fail(e.to_string()))?;
        if response.status() != hyper::StatusCode::OK {
            return Err(fail(format!("status {}", response.status())));
        }
        let body = tokio::time::timeout(
            FETCH_TIMEOUT,
            Limited::new(response.into_body(), MAX_DOCUMENT_BYTES).collect(),
        )
        .await
        .map_err(|_| fail("timed out".into()))?
        .map_err(|e| fail(e.to_string()))?;
        Ok(body.to_bytes())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Cache> {
        self.cache.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn usable(jwk: &Jwk) -> Result<(DecodingKey, Option<jsonwebtoken::Algorithm>), IssuerError> {
    let alg = jwk
        .common
        .key_algorithm
        .and_then(|a| a.to_string().parse::<jsonwebtoken::Algorithm>().ok());
    DecodingKey::from_jwk(jwk)
        .map(|k| (k, alg))
        .map_err(|_| IssuerError::UnusableKey)
}

/// Whether `url` is `https`, or (when allowed) `http` on a loopback host.
///
/// # Errors
/// [`IssuerError::InsecureUrl`] otherwise.
pub fn check_url(url: &str, allow_loopback_http: bool) -> Result<(), IssuerError> {
    let insecure = || IssuerError::InsecureUrl(url.chars().take(200).collect());
    let uri: hyper::Uri = url.parse().map_err(|_| insecure())?;
    let host = uri.host().ok_or_else(insecure)?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http")
            if allow_loopback_http && matches!(host, "127.0.0.1" | "localhost" | "[::1]") =>
        {
            Ok(())
        }
        _ => Err(insecure()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_local_loopback_urls_are_fetched() {
        let rows = [
            ("https://login.example.com/tid/v2.0", false, true),
            ("http://login.example.com/keys", true, false),
            ("http://127.0.0.1:8080/keys", true, true),
            ("http://127.0.0.1:8080/keys", false, false),
            ("http://localhost/keys", true, true),
            ("http://127.0.0.1.example.com/keys", true, false),
            ("ftp://127.0.0.1/keys", true, false),
            ("not a url", true, false),
        ];
        for (url, loopback, ok) in rows {
            assert_eq!(check_url(url, loopback).is_ok(), ok, "{url} {loopback}");
        }
    }
}
