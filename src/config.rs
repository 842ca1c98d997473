//! The command line, read once by `main`. Every flag can also come from the environment.

use std::net::SocketAddr;

use clap::{Parser, Subcommand, ValueEnum};

/// scim-lambda: a SCIM 2.0 endpoint for Entra ID, Okta and other provisioning clients.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// What to do (default: `serve`).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the SCIM API (locally on `--listen`, or as a Lambda function when
    /// `AWS_LAMBDA_RUNTIME_API` is set).
    Serve(ServeArgs),
    /// Manage the bearer token that Entra or Okta presents.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Rebuild the maintained user and group counts (`totalResults`) of a DynamoDB table from
    /// a full count. Pause provisioning while it runs.
    Recount(RecountArgs),
}

/// Options of `recount`.
#[derive(Debug, Clone, clap::Args)]
pub struct RecountArgs {
    /// The DynamoDB table, as in the stack output TableName.
    #[arg(long, env = "SCIM_TABLE")]
    pub table: String,
    /// Tenant id whose counts are rebuilt.
    #[arg(long, env = "SCIM_TENANT", default_value = "default")]
    pub tenant: String,
}

/// `scim-lambda token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Generate a new token, store it as the secret's current version and print it once. The
    /// previous token stays valid until the next rotation.
    Rotate {
        /// The secret (ARN or name), as in the stack output TokenSecretArn.
        #[arg(long, env = "SCIM_TOKEN_SECRET_ID")]
        secret_id: String,
    },
    /// Stop the previous token from working (after a leak): remove the secret's AWSPREVIOUS
    /// stage. Functions refuse it once their cache refreshes, within 5 minutes.
    DropPrevious {
        /// The secret (ARN or name), as in the stack output TokenSecretArn.
        #[arg(long, env = "SCIM_TOKEN_SECRET_ID")]
        secret_id: String,
    },
    /// Ask an endpoint exactly what Entra's Test Connection asks, with the token in
    /// `SCIM_TOKEN`, and explain the answer.
    Check {
        /// The Tenant URL, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/scim/v2.
        #[arg(long, env = "SCIM_URL")]
        url: String,
    },
}

/// Where data lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// In process memory: nothing survives a restart (local runs and tests).
    Memory,
    /// A DynamoDB table.
    Dynamodb,
}

/// Options of `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on locally.
    #[arg(long, env = "SCIM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Base path of the SCIM API; the Tenant URL is `https://<host><base-path>`.
    #[arg(long, env = "SCIM_BASE_PATH", default_value = "/scim/v2")]
    pub base_path: String,
    /// Public base URL used in `meta.location` (default: derived from each request).
    #[arg(long, env = "SCIM_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The store.
    #[arg(long, env = "SCIM_STORE", value_enum, default_value = "memory")]
    pub store: StoreKind,
    /// DynamoDB table name (with `--store dynamodb`).
    #[arg(long, env = "SCIM_TABLE", default_value = "scim")]
    pub table: String,
    /// Create the table and its indexes when missing (local development and tests).
    #[arg(long, env = "SCIM_CREATE_TABLE")]
    pub create_table: bool,
    /// Secrets Manager secret (ARN or name) holding the bearer token; without it the token
    /// comes from `SCIM_TOKEN` (or is generated and printed).
    #[arg(long, env = "SCIM_TOKEN_SECRET_ID")]
    pub token_secret_id: Option<String>,
    /// Key that signs paging cursors; every instance serving one table needs the same one
    /// (default: random per process, fine for a single local server).
    #[arg(long, env = "SCIM_CURSOR_KEY", hide_env_values = true)]
    pub cursor_key: Option<String>,
    /// Tenant id every key is prefixed with.
    #[arg(long, env = "SCIM_TENANT", default_value = "default")]
    pub tenant: String,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_path: "/scim/v2".into(),
            public_url: None,
            store: StoreKind::Memory,
            table: "scim".into(),
            create_table: false,
            token_secret_id: None,
            cursor_key: None,
            tenant: "default".into(),
        }
    }
}
