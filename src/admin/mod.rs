//! Operator commands: rotate the bearer token, drop the previous one after a leak, check an
//! endpoint as Entra's Test Connection does, and rebuild the maintained counts. They run from
//! an admin's machine, never inside the function.

mod check;
mod previous;
mod recount;
mod rotate;

pub use check::{CheckOutcome, check_endpoint};
pub use previous::{DropError, DropOutcome, drop_previous_token};
pub use recount::recount_counts;
pub use rotate::rotate_token;
