//! Operator commands: rotate the bearer token, and check an endpoint as Entra's Test Connection
//! does. They run from an admin's machine, never inside the function.

mod check;
mod rotate;

pub use check::{CheckOutcome, check_endpoint};
pub use rotate::rotate_token;
