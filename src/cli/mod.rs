//! Operator commands: everything `scim-lambda` does besides serving. They run from an admin's
//! machine with the operator's AWS credentials, on the deployment's table and secrets directly,
//! never inside the function: the Lambda binary (`src/bin/function.rs`) does not reach this
//! module, so none of it (nor the `token check` HTTPS client) is linked into the bootstrap.
//!
//! Each file holds one command family, its flags next to the code that runs them:
//!
//! - `token.rs`: `token rotate|drop-previous|check` (the single-tenant secret) and `token
//!   create|list|revoke` (tenant tokens in the registry); `secret.rs` and `check.rs` do the work;
//! - `tenant.rs`: `tenant create|list|show|disable|enable|delete|purge`;
//! - `recount.rs`: `recount`, the maintained counts rebuilt from a full count;
//! - `events.rs`: `events tail`, the change feed as JSON lines;
//! - `oauth.rs`: `client ...` and `federated ...`, the admin API's OAuth use cases.

mod check;
mod events;
mod oauth;
mod recount;
mod registry;
mod secret;
mod tenant;
mod token;

pub use check::{CheckOutcome, check_endpoint};
pub use events::{EventsCommand, tail_events};
pub use oauth::{ClientCommand, FederatedCommand, Target};
pub use recount::{RecountArgs, recount_counts};
pub use registry::RegistryArgs;
pub use secret::{DropError, DropOutcome, RotateError, drop_previous_token, rotate_token};
pub use tenant::TenantCommand;
pub use token::{TenantTokenCommand, TokenCommand};

use clap::{Subcommand, ValueEnum};

/// The operator commands (flattened into the top-level command line, beside `serve`).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage the bearer token that Entra or Okta presents.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Rebuild the maintained user and group counts (`totalResults`) of a DynamoDB table from
    /// a full count. Pause provisioning while it runs.
    Recount(RecountArgs),
    /// Read the change feed.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Manage tenants (customer directories) in the DynamoDB table.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage a tenant's OAuth clients and their secrets (Entra gallery apps).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage a tenant's federated credentials (workload identity federation).
    #[command(subcommand)]
    Federated(FederatedCommand),
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Output {
    /// One readable line per object.
    #[default]
    Text,
    /// The admin API's JSON objects.
    Json,
}

/// Runs an operator command.
///
/// # Errors
/// The command's error, worded for the operator.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Token(command) => token::run(command).await,
        Command::Recount(args) => recount::run(args).await,
        Command::Events(command) => events::run(command).await,
        Command::Tenant(command) => tenant::run(command).await,
        Command::Client(command) => {
            let target = command.target().clone();
            oauth::run(&target, |server| async move { command.run(&server).await }).await
        }
        Command::Federated(command) => {
            let target = command.target().clone();
            oauth::run(&target, |server| async move { command.run(&server).await }).await
        }
    }
}
