//! scim-lambda: a SCIM 2.0 provisioning endpoint that Microsoft Entra ID, Okta and other SCIM
//! clients provision users and groups into; one AWS Lambda function over DynamoDB, or a local
//! server over an embedded store.
//!
//! # Layout
//!
//! - [`scim`]: the protocol, pure and synchronous: schemas, filters, paths, PATCH, projection,
//!   list responses, discovery, a document's members as text (`scim::members`), and the client
//!   quirks (`scim::compat`). No I/O.
//! - [`store`]: the [`store::Store`] trait with a typed query, the documents it hands over
//!   ([`store::Document`]: a tree or the stored text), the embedded
//!   [`store::memory::MemoryStore`] and the DynamoDB store.
//! - [`service`]: the use cases (create, get, list, replace, patch, delete) over `scim` and
//!   `store`, with versions and bounded retries.
//! - [`auth`]: bearer-token sources (static, Secrets Manager), constant-time comparison.
//! - [`http`]: the axum router, auth layer, extractors and the one error-to-response map.
//! - [`tenancy`]: many tenants in one deployment: tenant tokens, request caps, the admin use
//!   cases and the purge of deleted tenants.
//! - [`config`]: the command line and environment, read once.
//! - [`run`]: the wiring: settings resolved once, the Lambda functions (`run::lambda`) and the
//!   local server (`run::local`).
//! - [`cli`]: the operator commands (token, tenant, recount, events tail, OAuth clients).
//! - [`change`]: a committed change as the store that committed it reports it.
//! - [`feed`]: the change feed: change → RFC 9967 event (pure), numbering, EventBridge,
//!   signed webhooks with retries, and the stream and delivery functions' adapters.
//! - [`oauth`], [`oauth_server`]: OAuth 2.0 client credentials and JWT assertions for the
//!   Entra gallery: the pure token rules and their use cases.
//! - [`clock`]: the one clock (system and manual) every expiry and retry reads.
//! - `tenant`: the tenant id every layer passes.
//!
//! Dependencies point one way: `http` → `service` → (`scim`, `store`); `auth` stands alone.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod auth;
pub mod change;
pub mod cli;
pub mod clock;
pub mod config;
pub mod feed;
pub mod http;
pub mod oauth;
pub mod oauth_server;
pub mod run;
pub mod scim;
pub mod service;
pub mod store;
pub mod tenancy;
pub(crate) mod tenant;

pub use auth::Tokens;
pub use http::{App, AppState, app};
