//! Operator commands: rotate the bearer token, drop the previous one after a leak, check an
//! endpoint as Entra's Test Connection does, rebuild the maintained counts, and follow a
//! tenant's change feed. They run from
//! an admin's machine, never inside the function.

mod check;
mod events;
mod previous;
mod recount;
mod rotate;

pub use check::{CheckOutcome, check_endpoint};
pub use events::tail_events;
pub use previous::{DropError, DropOutcome, drop_previous_token};
pub use recount::recount_counts;
pub use rotate::rotate_token;
