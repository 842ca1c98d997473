//! The command line, read once at start-up: the top level and `serve`'s settings, which are also
//! all a Lambda function reads (from its environment). Every flag can also come from the
//! environment. The operator commands' flags sit beside their code in `crate::cli`.

use std::net::SocketAddr;

use clap::{Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

use crate::tenant::TenantId;

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
    Serve(Box<ServeArgs>),
    /// The operator commands (`src/cli`).
    #[command(flatten)]
    Operator(crate::cli::Command),
}

/// Which of the binary's functions a Lambda instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Function {
    /// The SCIM and admin API behind API Gateway.
    Api,
    /// The change feed: the table's DynamoDB Stream in, stored and pushed events out.
    Stream,
    /// Webhook deliveries off the SQS queue.
    Deliver,
    /// The scheduled purge of deleted tenants' data.
    Purge,
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
    #[arg(long, env = "SCIM_CURSOR_KEY", hide_env_values = true, value_parser = secret)]
    pub cursor_key: Option<SecretString>,
    /// The bearer token of a local server (without `--token-secret-id`); default: a random
    /// one, printed once.
    #[arg(long, env = "SCIM_TOKEN", hide_env_values = true, value_parser = secret)]
    pub token: Option<SecretString>,
    /// How much of the per-request metrics line CloudWatch extracts in Lambda: `full`,
    /// `status` or `off` (see docs/operations.md, "Metrics").
    #[arg(long, env = "SCIM_METRICS", default_value = "full")]
    pub metrics: String,
    /// The `Stack` dimension of the metrics (default: the function's name).
    #[arg(long, env = "SCIM_METRICS_STACK")]
    pub metrics_stack: Option<String>,
    /// Set by Lambda: the function's name, the default `Stack` dimension.
    #[arg(long, env = "AWS_LAMBDA_FUNCTION_NAME", hide = true)]
    pub function_name: Option<String>,
    /// Which function a Lambda instance runs (the template sets it per function).
    #[arg(long, env = "SCIM_FUNCTION", value_enum, default_value = "api")]
    pub function: Function,
    /// The EventBridge bus events are put on (name or ARN); none when unset.
    #[arg(long, env = "SCIM_EVENT_BUS")]
    pub event_bus: Option<String>,
    /// The SQS queue of webhook deliveries (Lambda); locally an in-process queue is used.
    #[arg(long, env = "SCIM_DELIVERY_QUEUE_URL")]
    pub delivery_queue_url: Option<String>,
    /// The SQS queue deliveries go to when their retries are spent.
    #[arg(long, env = "SCIM_DEAD_LETTER_QUEUE_URL")]
    pub dead_letter_queue_url: Option<String>,
    /// Days stored events are kept (the pull API's replay window).
    #[arg(long, env = "SCIM_EVENT_RETENTION_DAYS", default_value_t = 30)]
    pub event_retention_days: u64,
    /// Most events the memory store's feed keeps per tenant, the newest (besides the
    /// retention): process memory is its only storage. The DynamoDB store keeps every event
    /// for the retention period.
    #[arg(long, env = "SCIM_MEMORY_FEED_EVENTS", default_value_t = 5_000)]
    pub memory_feed_events: usize,
    /// Build response URLs from `X-Forwarded-Host`/`-Proto`: only behind a proxy you trust
    /// to set them (otherwise any client could put its own host into `Location`).
    #[arg(long, env = "SCIM_TRUST_FORWARDED_HEADERS")]
    pub trust_forwarded_headers: bool,
    /// The tenant a single-token deployment serves (every key is prefixed with it).
    #[arg(long, env = "SCIM_TENANT", default_value = "default", value_parser = tenant_id)]
    pub tenant: TenantId,
    /// Bearer token of the admin API on a local server (`/admin/v1`); without it the admin API
    /// is off. In Lambda the admin API uses IAM authorization instead.
    #[arg(long, env = "SCIM_ADMIN_TOKEN", hide_env_values = true, value_parser = secret)]
    pub admin_token: Option<SecretString>,
    /// Requests per second a tenant may send to one instance, unless its record sets its own.
    #[arg(long, env = "SCIM_TENANT_REQUESTS_PER_SECOND", default_value_t = crate::tenancy::limit::DEFAULT_REQUESTS_PER_SECOND)]
    pub tenant_requests_per_second: u32,
    /// OAuth: signing keys, issuer, token lifetime, admin token.
    #[command(flatten)]
    pub oauth: Box<crate::oauth_server::settings::OAuthArgs>,
}

impl ServeArgs {
    /// The settings from the environment alone (no arguments): what `scim-lambda` without a
    /// subcommand and every Lambda function run with.
    #[must_use]
    pub fn from_env() -> ServeArgs {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            args: ServeArgs,
        }
        Only::parse_from(["scim-lambda"]).args
    }
}

/// Reads a secret argument; an empty value counts as absent (fail closed, never a token that
/// matches nothing by accident).
pub(crate) fn secret(s: &str) -> Result<SecretString, String> {
    if s.is_empty() {
        Err("must not be empty".to_string())
    } else {
        Ok(SecretString::from(s.to_string()))
    }
}

pub(crate) fn tenant_id(s: &str) -> Result<TenantId, String> {
    TenantId::parse(s).map_err(|e| e.to_string())
}
