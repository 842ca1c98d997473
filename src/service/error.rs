//! The service's errors: a closed set in the words of the use cases. Store outcomes are
//! translated here, once, so the HTTP layer never sees a store type.

use crate::scim;
use crate::scim::schema::ResourceKind;
use crate::store::{BoxError, StoreError};

pub use crate::store::{Budget, Limit};

/// Why a use case failed. `http::error` maps every variant to a status in one table.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request broke the protocol (400s).
    #[error(transparent)]
    Scim(#[from] scim::error::Error),
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
    /// A unique attribute's value is taken by another resource (409 `uniqueness`).
    #[error("{attribute} is already in use")]
    Conflict {
        /// The attribute (`userName`, `displayName`).
        attribute: &'static str,
    },
    /// A member reference names no existing resource of the member type (400 `invalidValue`).
    #[error("member {id} does not exist")]
    MissingMember {
        /// The id that was referenced.
        id: String,
    },
    /// Answering would need more work than one request may do (400 `tooMany`).
    #[error("work budget exceeded: {0:?}")]
    TooMany(Budget),
    /// A value or a request is past a documented limit (400 `invalidValue`): refused before
    /// any write.
    #[error("limit exceeded: {0:?}")]
    TooLarge(Limit),
    /// Concurrent writers kept winning; the client should retry (503 with `Retry-After`).
    #[error("the resource is being modified concurrently")]
    Contention,
    /// A dependency is throttling or down; the client should retry (503 with `Retry-After`).
    #[error("the directory store is unavailable")]
    Unavailable(#[source] BoxError),
    /// A bug or corrupt data (500, details only in the log).
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// Result alias of the service.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A store outcome about the resource `kind`/`id`: not-found and version mismatches get
    /// their meaning here, everything else as [`From<StoreError>`].
    pub(crate) fn about(e: StoreError, kind: ResourceKind, id: &str) -> Error {
        match e {
            StoreError::NotFound => Error::NotFound {
                kind,
                id: id.to_string(),
            },
            other => other.into(),
        }
    }
}

impl From<StoreError> for Error {
    /// The store's outcomes in the service's words. A not-found where a use case did not
    /// expect one (it asks [`Error::about`] where it does) is a bug, and kept as its source.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Uniqueness { attribute } => Error::Conflict { attribute },
            StoreError::VersionMismatch { current } => Error::PreconditionFailed { current },
            StoreError::MissingMember { id } => Error::MissingMember { id },
            StoreError::TooMany { budget } => Error::TooMany(budget),
            StoreError::TooLarge(limit) => Error::TooLarge(limit),
            StoreError::Contention => Error::Contention,
            StoreError::Throttled { .. } | StoreError::Unavailable(_) => {
                Error::Unavailable(Box::new(e))
            }
            StoreError::NotFound | StoreError::Internal(_) => Error::Internal(Box::new(e)),
        }
    }
}
