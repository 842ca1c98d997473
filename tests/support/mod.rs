//! What the test binaries share: requests in and answers out of the router, the recorded
//! fixtures, and the emulator switch. The manual clock is the crate's own
//! (`scim_lambda::clock::ManualClock`) and the URNs are `scim_lambda::scim::urn`.
//!
//! Each binary includes this directory as a module (`#[path = "../support/mod.rs"] mod
//! support;`) rather than the crate exporting it behind a feature: a feature enabled only for
//! tests would build the library twice (with it for `cargo test`, without it for `cargo build`,
//! which the Lambda and conformance steps of `scripts/test.sh` run), while this module is a few
//! hundred lines compiled into each binary.

#![allow(dead_code, reason = "each test binary uses a part")]

pub mod emulator;
pub mod fixtures;
pub mod http;

#[allow(unused_imports, reason = "each test binary uses a part")]
pub use fixtures::fixture;
#[allow(unused_imports, reason = "each test binary uses a part")]
pub use http::{Reply, enc, request, send};
