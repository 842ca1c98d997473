//! Use cases over the protocol (`scim`) and the store: create, get, list, replace, patch and
//! delete Users and Groups, with versions, membership and bounded retries on write races.
//!
//! The service knows neither HTTP nor AWS. It returns [`Resource`]s, which the HTTP layer turns
//! into JSON with the request's base URL and projection.

mod error;
mod etag_condition;
mod feed;
mod index;
mod list;
mod plan;
mod relations;
mod resource;
mod search;
mod use_cases;

pub use error::{Budget, Error, Limit, Result};
pub use etag_condition::ETagCondition;
pub use feed::NewEndpoint;
pub use index::index_keys;
pub use list::ListPage;
pub use plan::plan;
pub use resource::Resource;
pub use use_cases::Written;

use crate::scim::cursor::CursorKey;
use crate::store::Store;

/// Most members a single response lists. A 100k-member group is over 10 MB of JSON, beyond
/// Lambda's 6 MB response limit; past this cap a request that asks for members gets 400
/// `tooMany` and should use `excludedAttributes=members` (design: member lists are capped).
pub const MAX_MEMBERS_IN_RESPONSE: usize = 10_000;

/// Most attempts of a read-modify-write (PATCH without `If-Match`) that loses a race; with
/// the jittered backoff between them, the last starts at most about 1.2 s after the first.
pub const MAX_WRITE_ATTEMPTS: usize = 10;

/// The use cases, over one store. Every use case takes the tenant it acts for from the
/// caller's [`Principal`](crate::auth::Principal): the service holds no tenant of its own.
#[derive(Debug)]
pub struct Service<S: Store> {
    store: S,
    cursor_key: CursorKey,
}

impl<S: Store> Service<S> {
    /// A service over `store`, signing cursors with a key random to this process (see
    /// [`Service::with_cursor_key`] for deployments of several instances).
    pub fn new(store: S) -> Self {
        Service {
            store,
            cursor_key: random_cursor_key(),
        }
    }

    /// Signs and verifies RFC 9865 cursors with `key`. Every instance that can receive a
    /// cursor must use the same key (a Lambda function runs many instances, and the page after
    /// next may reach any of them), so deployments configure one (`SCIM_CURSOR_KEY`); the
    /// random default only suits a single local process.
    pub fn with_cursor_key(mut self, key: CursorKey) -> Self {
        self.cursor_key = key;
        self
    }

    /// The store, for call counts in tests and benchmarks.
    pub fn store(&self) -> &S {
        &self.store
    }
}

/// 32 bytes from the OS. If the OS has no randomness to give, a key derived from the clock
/// and the process id is still unguessable enough for cursors, which only name a position
/// in a listing the bearer may read anyway; signing protects their integrity, not a secret.
fn random_cursor_key() -> CursorKey {
    let mut bytes = [0u8; 32];
    if getrandom::fill(&mut bytes).is_ok() {
        return CursorKey::from_bytes(bytes);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    CursorKey::derive(format!("{nanos}:{}", std::process::id()).as_bytes())
}
