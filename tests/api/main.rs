//! Router-level behaviour: recorded client traffic (Entra, Okta), protocol details, discovery
//! and concurrency, over every store the environment provides. One binary, one link step.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod helpers;

mod concurrency;
mod cursor;
mod discovery;
mod entra_groups;
mod entra_users;
mod fixtures;
mod lambda;
mod limits;
mod listener;
mod okta;
mod protocol;
mod reliability;
