//! Many tenants in one deployment, on both stores (DynamoDB through the emulator:
//! `scripts/with-emulator.sh cargo test --test tenants`): the admin API's every route and
//! error, isolation between tenants through the SCIM routes, the token cache bound on a manual
//! clock, request caps, the resumable purge, two tenants syncing at once, and the operator CLI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod cli;
mod concurrency;
mod helpers;
mod isolation;
mod purge;
mod registry;
mod tokens;
