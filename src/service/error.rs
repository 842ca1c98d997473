//! The service's error: a protocol error, a store outcome, or a precondition.

use crate::scim;
use crate::scim::schema::ResourceKind;
use crate::store::StoreError;

/// Why a use case failed. `http::error` maps every variant to a status in one place.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request broke the protocol (400s).
    #[error(transparent)]
    Scim(#[from] scim::error::Error),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No resource of that kind with that id (404).
    #[error("{} {id} not found", kind.name())]
    NotFound {
        /// Resource kind.
        kind: ResourceKind,
        /// The id asked for.
        id: String,
    },
    /// `If-Match` named another version (412).
    #[error("the resource has changed: the current version is {current}")]
    PreconditionFailed {
        /// The current version.
        current: u64,
    },
    /// Concurrent writers kept winning; the client should retry (503 with `Retry-After`).
    #[error("the resource is being modified concurrently; retry")]
    Contention,
}

/// Result alias of the service.
pub type Result<T, E = Error> = std::result::Result<T, E>;
