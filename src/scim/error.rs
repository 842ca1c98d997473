//! The SCIM error model (RFC 7644 §3.12): a status, an optional `scimType` and a `detail`.
//!
//! Every layer that rejects client input ends up here; `http::error` turns it into the wire body.
//! Errors are built through named constructors so the `scimType` a status goes with is written once.

use std::fmt;

/// The `scimType` keywords of RFC 7644 §3.12 (Table 9), plus RFC 9865's `invalidCursor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    /// The filter syntax was invalid or the filter cannot be evaluated.
    InvalidFilter,
    /// The filter or request would return more results than the server is willing to compute.
    TooMany,
    /// One or more of the attribute values are already in use or are reserved.
    Uniqueness,
    /// An attempt to modify an attribute that is immutable or read-only.
    Mutability,
    /// The request body structure was invalid or did not conform to the request schema.
    InvalidSyntax,
    /// The `path` attribute was invalid or malformed.
    InvalidPath,
    /// The specified `path` did not yield an attribute or value that could be operated on.
    NoTarget,
    /// A required value was missing, or the value specified was not compatible.
    InvalidValue,
    /// The specified SCIM protocol version is not supported.
    InvalidVers,
    /// The cursor value is invalid, forged or issued for another query (RFC 9865 §3.1).
    InvalidCursor,
    /// The cursor was valid but has expired (RFC 9865 §3.1).
    ExpiredCursor,
}

impl ScimType {
    /// The keyword as it appears in the `scimType` member.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::ExpiredCursor => "expiredCursor",
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol-level error: what the client sent cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {detail}", scim_type.map(ScimType::as_str).unwrap_or("-"))]
pub struct Error {
    /// HTTP status code the error maps to.
    pub status: u16,
    /// RFC 7644 `scimType`, when the RFC defines one for this failure.
    pub scim_type: Option<ScimType>,
    /// Human-readable explanation; never carries secrets or internals.
    pub detail: String,
}

impl Error {
    fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Error {
            status,
            scim_type,
            detail: detail.into(),
        }
    }
    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidFilter), detail)
    }
    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidPath), detail)
    }
    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidValue), detail)
    }
    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidSyntax), detail)
    }
    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::NoTarget), detail)
    }
    /// 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::Mutability), detail)
    }
    /// 400 `tooMany`.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::TooMany), detail)
    }
    /// 400 `invalidCursor` (RFC 9865).
    pub fn invalid_cursor(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidCursor), detail)
    }
    /// 400 `expiredCursor` (RFC 9865).
    pub fn expired_cursor(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::ExpiredCursor), detail)
    }
    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }
    /// 404 without a `scimType` (RFC 7644 defines none for it).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }
    /// 412: the `If-Match` version is not the current one.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }
}

/// Result alias for the pure protocol layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;
