//! The SCIM 2.0 protocol, pure and synchronous: schemas, filters, paths, PATCH, projection,
//! list responses and discovery documents.
//!
//! Nothing here performs I/O or knows about HTTP, AWS or the store; `.ci/run` checks that no
//! file in this folder names `axum`, `http`, `tokio` or `aws_`.

#[cfg(test)]
#[macro_use]
mod test_fixtures;

pub(crate) mod compat;
pub mod cursor;
pub mod discovery;
pub mod error;
pub mod filter;
pub(crate) mod fold;
pub mod input;
pub mod list;
pub mod members;
pub mod patch;
pub mod path;
pub mod projection;
pub mod schema;
pub mod urn;
