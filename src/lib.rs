//! scim-lambda: a SCIM 2.0 provisioning endpoint for Microsoft Entra ID, Okta and other clients.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod auth;
pub mod scim;
pub mod store;
