//! Webhook deliveries: one message per (event, endpoint), attempted, retried on the
//! [`retry_delay`] schedule, dead-lettered when the schedule is spent. An endpoint that is slow
//! or down only delays its own messages: every delivery is its own message, and each attempt
//! has a timeout.
//!
//! The transport resolves endpoint hosts itself and refuses to connect to an address the
//! [`UrlPolicy`] forbids, at every attempt, so a name that resolves to the instance metadata
//! service or a private network is never called, even if its DNS changes after registration.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};

use super::pipeline::Outgoing;
use super::webhook::{UrlPolicy, WebhookSecret, check_address, check_url, retry_delay};
use crate::store::webhooks::Endpoint;

/// Longest wait for an endpoint's answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// One event on its way to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// The endpoint's id.
    pub endpoint: String,
    /// The event's id (`webhook-id`).
    pub event_id: String,
    /// The event document, the request body.
    pub doc: String,
    /// Which attempt comes next (1 = the first).
    pub attempt: u32,
    /// When the next attempt is due, in milliseconds since the Unix epoch.
    pub due_ms: u64,
}

impl Delivery {
    /// The first attempt of `event` to `endpoint`, due now.
    pub fn first(event: &Outgoing, endpoint: &Endpoint, now_ms: u64) -> Self {
        Delivery {
            endpoint: endpoint.id.clone(),
            event_id: event.id.clone(),
            doc: event.doc.clone(),
            attempt: 1,
            due_ms: now_ms,
        }
    }
}

/// What became of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered 2xx.
    Delivered,
    /// Not yet: try again as given (its `attempt` and `due_ms` are the next ones).
    Retry(Delivery),
    /// The schedule is spent: keep it for inspection and raise the alarm.
    DeadLetter(Delivery),
    /// The endpoint was deleted: nothing to do.
    Dropped,
}

/// Why an attempt failed (it is retried).
pub type TransportError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Sends one signed request.
pub trait Transport: Send + Sync + 'static {
    /// POSTs `body` to `url` with `headers`, answering the status.
    ///
    /// # Errors
    /// When no answer came (refused address, connection failure, timeout).
    fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: String,
    ) -> impl Future<Output = Result<u16, TransportError>> + Send;
}

/// Makes one attempt of `delivery` at `now_ms` and says what comes next.
pub async fn attempt<T: Transport>(
    transport: &T,
    endpoint: Option<&Endpoint>,
    delivery: Delivery,
    now_ms: u64,
) -> Outcome {
    let Some(endpoint) = endpoint else {
        return Outcome::Dropped;
    };
    let result = match WebhookSecret::parse(secrecy::ExposeSecret::expose_secret(&endpoint.secret))
    {
        Ok(secret) => {
            let timestamp = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
            let headers = vec![
                ("content-type", "application/json".to_string()),
                ("webhook-id", delivery.event_id.clone()),
                ("webhook-timestamp", timestamp.to_string()),
                (
                    "webhook-signature",
                    secret.sign(&delivery.event_id, timestamp, delivery.doc.as_bytes()),
                ),
            ];
            transport
                .post(&endpoint.url, headers, delivery.doc.clone())
                .await
        }
        Err(e) => Err(Box::new(e) as TransportError),
    };
    match result {
        Ok(status) if (200..300).contains(&status) => return Outcome::Delivered,
        Ok(status) => {
            tracing::info!(endpoint = %endpoint.id, status, attempt = delivery.attempt, "webhook refused");
        }
        Err(e) => {
            tracing::info!(endpoint = %endpoint.id, error = %e, attempt = delivery.attempt, "webhook unreachable");
        }
    }
    match retry_delay(delivery.attempt) {
        Some(delay) => Outcome::Retry(Delivery {
            attempt: delivery.attempt + 1,
            due_ms: now_ms + u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            ..delivery
        }),
        None => Outcome::DeadLetter(delivery),
    }
}

type HttpsClient =
    Client<hyper_rustls::HttpsConnector<HttpConnector<CheckedResolver>>, Full<Bytes>>;

/// The HTTPS transport, with the address policy applied to every resolved address.
#[derive(Debug, Clone)]
pub struct Https {
    /// Built with the system's root certificates, now ([`Https::new`]) or at the first
    /// delivery ([`Https::lazy`]).
    client: OnceLock<HttpsClient>,
    policy: UrlPolicy,
}

impl Https {
    /// A transport under `policy` (`Deployed` in Lambda: https only, public addresses only),
    /// with the root certificates loaded now, so a function that cannot deliver fails at
    /// start.
    ///
    /// # Errors
    /// When the system's root certificates cannot be loaded.
    pub fn new(policy: UrlPolicy) -> std::io::Result<Self> {
        let transport = Https::lazy(policy);
        transport.client()?;
        Ok(transport)
    }

    /// A transport that loads the root certificates at its first delivery: a local server
    /// with no webhook never reads them (hundreds of PEM files on some systems, about 4 ms
    /// and a megabyte at every start).
    pub fn lazy(policy: UrlPolicy) -> Self {
        Https {
            client: OnceLock::new(),
            policy,
        }
    }

    fn client(&self) -> std::io::Result<&HttpsClient> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let mut http = HttpConnector::new_with_resolver(CheckedResolver {
            policy: self.policy,
        });
        http.enforce_http(false);
        http.set_connect_timeout(Some(Duration::from_secs(3)));
        let builder = hyper_rustls::HttpsConnectorBuilder::new().with_native_roots()?;
        let https = match self.policy {
            UrlPolicy::Deployed => builder.https_only().enable_http1().wrap_connector(http),
            UrlPolicy::Local => builder.https_or_http().enable_http1().wrap_connector(http),
        };
        Ok(self
            .client
            .get_or_init(|| Client::builder(TokioExecutor::new()).build(https)))
    }
}

impl Transport for Https {
    async fn post(
        &self,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: String,
    ) -> Result<u16, TransportError> {
        // Literal IP hosts never reach the resolver: check the URL itself at every attempt.
        check_url(url, self.policy)?;
        let client = self.client()?;
        let mut request = http::Request::post(url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request.body(Full::new(Bytes::from(body)))?;
        let response = tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(request))
            .await
            .map_err(|_| Box::new(AttemptTimedOut) as TransportError)??;
        Ok(response.status().as_u16())
    }
}

/// The attempt took longer than [`ATTEMPT_TIMEOUT`].
#[derive(Debug, thiserror::Error)]
#[error("the endpoint did not answer in time")]
struct AttemptTimedOut;

/// Resolves a host and keeps only the addresses the policy allows.
#[derive(Debug, Clone, Copy)]
pub struct CheckedResolver {
    policy: UrlPolicy,
}

impl tower::Service<Name> for CheckedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.policy;
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = resolved
                .filter(|a| check_address(a.ip(), policy).is_ok())
                .collect();
            if allowed.is_empty() {
                return Err(std::io::Error::other(
                    "the endpoint resolves only to forbidden addresses",
                ));
            }
            Ok(allowed.into_iter())
        })
    }
}
