//! Use cases over the protocol (`scim`) and the store: create, get, list, replace, patch and
//! delete Users and Groups, with versions, membership and bounded retries on write races.
//!
//! The service knows neither HTTP nor AWS. It returns [`Resource`]s, which the HTTP layer turns
//! into JSON with the request's base URL and projection.

mod error;
mod keys;
mod plan;
mod resource;
mod use_cases;

pub use error::{Error, Result};
pub use keys::index_keys;
pub use plan::plan;
pub use resource::Resource;
pub use use_cases::IfMatch;

use crate::store::{Store, TenantId};

/// Most members a single response lists. A 100k-member group is over 10 MB of JSON, beyond
/// Lambda's 6 MB response limit; past this cap a request that asks for members gets 400
/// `tooMany` and should use `excludedAttributes=members` (design: member lists are capped).
pub const MAX_MEMBERS_IN_RESPONSE: usize = 10_000;

/// Most attempts of a read-modify-write (PATCH without `If-Match`) that loses a race; with
/// the jittered backoff between them, the last starts at most about 1.2 s after the first.
pub const MAX_WRITE_ATTEMPTS: usize = 10;

/// The use cases, over one store.
#[derive(Debug)]
pub struct Service<S: Store> {
    store: S,
    tenant: TenantId,
}

impl<S: Store> Service<S> {
    /// A service over `store`, serving the single tenant `tenant`.
    pub fn new(store: S, tenant: TenantId) -> Self {
        Service { store, tenant }
    }

    /// The store, for call counts in tests and benchmarks.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The tenant served.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
}
