//! The production token source: the bearer token kept in AWS Secrets Manager.
//!
//! Only SHA-256 digests of the `AWSCURRENT` and `AWSPREVIOUS` versions are cached, so a request
//! is checked without a network call, and both are accepted so a rotation never cuts a sync
//! that still holds the old token. The secret's value is the token itself (a plain string).
//!
//! Refresh rules:
//! - after the TTL (default 5 min), the next request refreshes;
//! - a token that matches neither digest is refused with `Invalid` (401) only on the word of a
//!   read of the secret that started after the request arrived, so a token rotated in moments
//!   ago is never a 401 (Entra quarantines a job on its first credential failure);
//! - unknown tokens may cause at most [`UNKNOWN_TOKEN_REFRESHES`] refreshes per
//!   [`MISMATCH_INTERVAL`], so a flood of bad tokens cannot flood Secrets Manager. Beyond that
//!   budget a token that such a read refused within the interval is refused again from memory
//!   (a stale client repeating its old token keeps getting 401), and any other unknown token
//!   gets `Unavailable` (503 with `Retry-After`): it cannot be decided without a read;
//! - refreshes are single-flight: one task fetches, the others wait and use its result when it
//!   started after they asked;
//! - when Secrets Manager fails, a cache not older than the grace period (15 min) still
//!   accepts the tokens it holds; a token it does not hold, and beyond the grace period every
//!   token, gets `Unavailable` (503), never `Invalid` (401), because the client's token may
//!   well be right (rotated in during the outage).
//!
//! Fail closed: a missing or empty secret rejects every token.

use std::collections::VecDeque;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

use super::{AuthError, TokenDigest, TokenSource};
use crate::clock::{Clock, SystemClock};

/// Default time a fetched secret is trusted without asking again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// The window over which refreshes caused by unknown tokens are counted, and how long a refusal
/// by a read is remembered.
pub const MISMATCH_INTERVAL: Duration = Duration::from_secs(10);
/// Most refreshes that unknown tokens may cause per [`MISMATCH_INTERVAL`] and instance: a
/// rotation plus a few stray clients fit, while a flood of guesses costs at most one
/// `GetSecretValue` per second (two stages per refresh).
pub const UNKNOWN_TOKEN_REFRESHES: u32 = 5;
/// How many refused tokens (their digests) are remembered; the oldest is forgotten first.
const REMEMBERED_REFUSALS: usize = 32;
/// How long a cached secret may still decide while Secrets Manager is failing.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(900);

/// What the last refresh left behind.
#[derive(Default)]
struct Cache {
    /// Digests of the current and previous token (none when the secret is missing or empty).
    digests: Vec<TokenDigest>,
    /// When the digests were last fetched successfully.
    fetched_at: Option<Instant>,
    /// When a refresh was last attempted, successful or not.
    attempted_at: Option<Instant>,
    /// Bumped when a refresh attempt starts: a waiter that sees it changed since it asked
    /// uses that attempt's result, which began after its request arrived.
    started: u64,
    /// Digests of tokens that a successful read did not hold, with the read's start.
    refused: VecDeque<(TokenDigest, Instant)>,
    /// Start of the current window of refreshes caused by unknown tokens, and their number.
    unknown_window: Option<Instant>,
    unknown_refreshes: u32,
}

impl Cache {
    /// Whether an unknown token may still cause a refresh in the window around `now`.
    fn unknown_budget_left(&self, now: Instant) -> bool {
        match self.unknown_window {
            Some(start) if now.duration_since(start) < MISMATCH_INTERVAL => {
                self.unknown_refreshes < UNKNOWN_TOKEN_REFRESHES
            }
            _ => true,
        }
    }

    /// Counts one refresh caused by an unknown token.
    fn spend_unknown_budget(&mut self, now: Instant) {
        match self.unknown_window {
            Some(start) if now.duration_since(start) < MISMATCH_INTERVAL => {
                self.unknown_refreshes += 1;
            }
            _ => {
                self.unknown_window = Some(now);
                self.unknown_refreshes = 1;
            }
        }
    }

    /// Whether a read within the last [`MISMATCH_INTERVAL`] refused `presented`.
    fn recently_refused(&self, presented: &str, now: Instant) -> bool {
        self.refused
            .iter()
            .filter(|(_, at)| now.duration_since(*at) < MISMATCH_INTERVAL)
            .fold(false, |hit, (d, _)| d.matches(presented) | hit)
    }

    /// Remembers that the read started at `at` did not hold `presented`.
    fn remember_refusal(&mut self, presented: &str, at: Instant) {
        let Some(digest) = TokenDigest::of(presented) else {
            return;
        };
        self.refused.retain(|(d, seen)| {
            at.duration_since(*seen) < MISMATCH_INTERVAL && !d.matches(presented)
        });
        if self.refused.len() >= REMEMBERED_REFUSALS {
            self.refused.pop_front();
        }
        self.refused.push_back((digest, at));
    }
}

/// What the cache alone says about a presented token.
enum Cached {
    /// Decided without asking Secrets Manager.
    Answer(Result<(), AuthError>),
    /// A read is needed: `started` is the attempt counter seen, `unknown` says whether an
    /// unknown token (rather than the TTL) asks for it.
    Refresh { started: u64, unknown: bool },
}

/// A [`TokenSource`] backed by one Secrets Manager secret.
pub struct SecretsManagerToken {
    client: Client,
    secret_id: String,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    grace: Duration,
    /// A std lock, held only for short, non-async sections (never across an `.await`).
    /// Boxed so the source stays small where it is held by value beside a static token.
    cache: Box<RwLock<Cache>>,
    /// Held by the one task that is fetching; a tokio mutex because it is held across `.await`.
    refreshing: tokio::sync::Mutex<()>,
}

impl SecretsManagerToken {
    /// A source reading `secret_id` (name or ARN) with `client`. The client's timeouts are
    /// replaced (connect 1 s, operation 3 s) so a slow Secrets Manager fails fast into 503.
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(1))
            .operation_timeout(Duration::from_secs(3))
            .build();
        let config = client
            .config()
            .to_builder()
            .timeout_config(timeouts)
            .build();
        SecretsManagerToken {
            client: Client::from_conf(config),
            secret_id: secret_id.into(),
            clock: Arc::new(SystemClock),
            ttl: DEFAULT_TTL,
            grace: DEFAULT_GRACE,
            cache: Box::new(RwLock::new(Cache::default())),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// Uses `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Changes the cache TTL.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Changes how long a stale cache may decide while Secrets Manager is failing.
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Decides from the cache alone when it can.
    fn decide_cached(&self, presented: &str, now: Instant) -> Cached {
        let cache = self.read_cache();
        let fresh = cache
            .fetched_at
            .is_some_and(|t| now.duration_since(t) < self.ttl);
        let recently_tried = cache
            .attempted_at
            .is_some_and(|t| now.duration_since(t) < MISMATCH_INTERVAL);
        let last_refresh_failed = last_refresh_failed(&cache);
        let refresh = |unknown| Cached::Refresh {
            started: cache.started,
            unknown,
        };
        if TokenDigest::of(presented).is_none() {
            // An empty token never authenticates, whatever the secret holds.
            Cached::Answer(Err(AuthError::Invalid))
        } else if !fresh && recently_tried {
            // A refresh failed moments ago: do not hammer a failing Secrets Manager; the
            // grace period decides.
            drop(cache);
            Cached::Answer(self.decide_after_refresh(presented, now))
        } else if !fresh {
            refresh(false)
        } else if matches_any(&cache.digests, presented) {
            Cached::Answer(Ok(()))
        } else if last_refresh_failed && recently_tried {
            // The token may have been rotated in, and the last read failed moments ago.
            Cached::Answer(Err(AuthError::Unavailable(Box::new(RefreshFailed))))
        } else if cache.unknown_budget_left(now) {
            refresh(true)
        } else {
            Cached::Answer(Err(refused_without_read(&cache, presented, now)))
        }
    }

    /// The answer after a refresh attempt (ours or another task's).
    fn decide_after_refresh(&self, presented: &str, now: Instant) -> Result<(), AuthError> {
        let cache = self.read_cache();
        match cache.fetched_at {
            Some(t) if now.duration_since(t) <= self.grace => {
                if matches_any(&cache.digests, presented) {
                    Ok(())
                } else {
                    Err(refusal(&cache))
                }
            }
            _ => Err(AuthError::Unavailable(Box::new(StaleCache))),
        }
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, Cache> {
        // A poisoned lock only means a panic elsewhere mid-update; the data is plain values.
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Fetches both stages: `AWSPREVIOUS` may be missing (never rotated), and a missing
    /// `AWSCURRENT` (or secret) leaves no digest, which rejects everything.
    async fn fetch(&self) -> Result<Vec<TokenDigest>, AuthError> {
        let (current, previous) = tokio::join!(
            self.fetch_stage("AWSCURRENT"),
            self.fetch_stage("AWSPREVIOUS")
        );
        Ok(current?.into_iter().chain(previous?).collect())
    }

    async fn fetch_stage(&self, stage: &str) -> Result<Option<TokenDigest>, AuthError> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(stage)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.secret_string().and_then(TokenDigest::of)),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(GetSecretValueError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(e) => {
                tracing::warn!(
                    error = %aws_sdk_secretsmanager::error::DisplayErrorContext(&e),
                    "could not read the token secret"
                );
                Err(AuthError::Unavailable(Box::new(e)))
            }
        }
    }
}

impl TokenSource for SecretsManagerToken {
    async fn verify(&self, presented: &str) -> Result<(), AuthError> {
        let now = self.clock.instant();
        let (seen, unknown) = match self.decide_cached(presented, now) {
            Cached::Answer(answer) => return answer,
            Cached::Refresh { started, unknown } => (started, unknown),
        };
        let _flight = self.refreshing.lock().await;
        let now = self.clock.instant();
        {
            let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
            if cache.started != seen {
                // Another task's read began after this request asked, and has finished (it
                // held the flight lock): its result decides.
                drop(cache);
                return self.decide_after_refresh(presented, now);
            }
            if unknown {
                if !cache.unknown_budget_left(now) {
                    // Other unknown tokens spent the budget while this one waited.
                    return Err(refused_without_read(&cache, presented, now));
                }
                cache.spend_unknown_budget(now);
            }
            cache.started += 1;
        }
        let fetched = self.fetch().await;
        let failure = {
            let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
            cache.attempted_at = Some(now);
            match fetched {
                Ok(digests) => {
                    cache.digests = digests;
                    cache.fetched_at = Some(now);
                    if !matches_any(&cache.digests, presented) {
                        cache.remember_refusal(presented, now);
                    }
                    None
                }
                Err(e) => Some(e),
            }
        };
        match (self.decide_after_refresh(presented, now), failure) {
            // The cache could not decide: report the real cause of the failed refresh.
            (Err(AuthError::Unavailable(_)), Some(e)) => Err(e),
            (answer, _) => answer,
        }
    }
}

/// Whether the last refresh attempt failed (or none ever succeeded).
fn last_refresh_failed(cache: &Cache) -> bool {
    match (cache.attempted_at, cache.fetched_at) {
        (Some(attempted), Some(fetched)) => attempted > fetched,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The answer to an unknown token when no read may be made for it: `Invalid` when a read
/// within the interval refused this very token, otherwise `Unavailable`, because it may be a
/// token rotated in since the cache was filled and only a read could tell.
fn refused_without_read(cache: &Cache, presented: &str, now: Instant) -> AuthError {
    if cache.recently_refused(presented, now) {
        AuthError::Invalid
    } else {
        AuthError::Unavailable(Box::new(RefreshThrottled))
    }
}

/// Unknown tokens have used up this interval's refreshes.
#[derive(Debug, thiserror::Error)]
#[error("the token is not cached and unknown tokens have used up the refreshes for now")]
struct RefreshThrottled;

/// The answer to a token a read did not hold: `Invalid` when the last refresh succeeded (the
/// secret really does not hold it), `Unavailable` when it failed, since the token may be one
/// rotated in since the cache was filled. Both refuse the request; 503 tells the client to
/// retry rather than to give up on its credentials (Entra quarantines after a 401).
fn refusal(cache: &Cache) -> AuthError {
    if last_refresh_failed(cache) {
        AuthError::Unavailable(Box::new(RefreshFailed))
    } else {
        AuthError::Invalid
    }
}

/// The token is not in the cache and the secret could not be read to check for a newer one.
#[derive(Debug, thiserror::Error)]
#[error("the token is not cached and the secret could not be refreshed")]
struct RefreshFailed;

fn matches_any(digests: &[TokenDigest], presented: &str) -> bool {
    // Check every digest (no early exit), so timing does not tell which version matched.
    digests
        .iter()
        .fold(false, |hit, d| d.matches(presented) | hit)
}

impl std::fmt::Debug for SecretsManagerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManagerToken")
            .field("secret_id", &self.secret_id)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The cached secret is too old to decide and could not be refreshed.
#[derive(Debug, thiserror::Error)]
#[error("the cached token is older than the grace period and the secret could not be read")]
struct StaleCache;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    /// A source whose Secrets Manager cannot be reached (nothing listens on port 1), with a
    /// cache as a successful fetch of `token` at the clock's start would have left it.
    fn cached_but_unreachable(token: &str) -> (SecretsManagerToken, ManualClock) {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:1")
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .build();
        let clock = ManualClock::at(0);
        let source = SecretsManagerToken::new(Client::from_conf(config), "s")
            .with_clock(Arc::new(clock.clone()))
            .with_ttl(Duration::from_secs(60))
            .with_grace(Duration::from_secs(600));
        {
            let mut cache = source.cache.write().unwrap();
            cache.digests = TokenDigest::of(token).into_iter().collect();
            cache.fetched_at = Some(clock.instant());
            cache.attempted_at = Some(clock.instant());
        }
        (source, clock)
    }

    #[tokio::test]
    async fn an_outage_within_the_grace_period_is_decided_by_the_cache() {
        // GIVEN a cache past its TTL but inside the grace period, and Secrets Manager down
        let (source, clock) = cached_but_unreachable("good");
        clock.advance(Duration::from_secs(120));
        // THEN the cached token still passes, and an unknown one (perhaps rotated in during
        // the outage) is refused as "unavailable" (503), not "invalid" (401).
        assert!(source.verify("good").await.is_ok());
        assert!(matches!(
            source.verify("new").await,
            Err(AuthError::Unavailable(_))
        ));
        // Also while the cache is fresh, once a refresh for an unknown token has failed.
        let (source, clock) = cached_but_unreachable("good");
        source.cache.write().unwrap().attempted_at = None;
        clock.advance(Duration::from_secs(1));
        assert!(matches!(
            source.verify("new").await,
            Err(AuthError::Unavailable(_))
        ));
        assert!(matches!(
            source.verify("new").await,
            Err(AuthError::Unavailable(_))
        ));
        assert!(source.verify("good").await.is_ok());
    }

    #[tokio::test]
    async fn an_outage_beyond_the_grace_period_is_unavailable() {
        let (source, clock) = cached_but_unreachable("good");
        clock.advance(Duration::from_secs(601));
        assert!(matches!(
            source.verify("good").await,
            Err(AuthError::Unavailable(_))
        ));
    }
}
