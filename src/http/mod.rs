//! The HTTP adapter: one axum router for every SCIM endpoint, served by hyper locally and by
//! `lambda_http` in Lambda.
//!
//! Thin by design: it parses requests into protocol types, calls the service, and turns
//! results and errors into SCIM responses. Everything a client can get wrong ends in
//! [`error::ApiError`], mapped to a SCIM Error body in one place.

pub mod admin;
mod admin_error;
mod auth;
mod discovery;
pub(crate) mod error;
mod extract;
pub mod limits;
mod log;
mod log_line;
pub mod metrics;
mod normalize;
pub mod oauth;
pub mod oauth_admin;
mod resources;
mod response;
mod router;
mod state;

pub use log::{LogFormat, RequestLine, subscriber, write_request_lines};
pub use normalize::NormalizePath;
pub use router::{App, app, app_with};
pub use state::AppState;
