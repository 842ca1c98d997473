//! Operator commands on the registry: `scim-lambda tenant ...` and `scim-lambda token
//! create|list|revoke`, working on the DynamoDB table directly with the operator's AWS
//! credentials, and printing the admin API's objects with `--output json`.

mod tenant;

pub use tenant::{run_tenant, run_token};

use clap::{Args, Subcommand, ValueEnum};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// One readable line per object.
    Text,
    /// The admin API's JSON objects.
    Json,
}

/// Where the registry is and how Tenant URLs are spelled.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// DynamoDB table name (the stack output TableName).
    #[arg(long, env = "SCIM_TABLE", default_value = "scim")]
    pub table: String,
    /// The shared SCIM base URL; Tenant URLs are derived from it (the stack output
    /// TenantUrl, or a local server's URL).
    #[arg(
        long,
        env = "SCIM_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080/scim/v2"
    )]
    pub public_url: String,
    /// Base path of the SCIM API.
    #[arg(long, env = "SCIM_BASE_PATH", default_value = "/scim/v2")]
    pub base_path: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

/// `scim-lambda tenant ...`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (one customer directory) and print its Tenant URL.
    Create {
        /// Display name, unique among live tenants.
        #[arg(long)]
        name: String,
        /// The tenant's request cap per instance (default: the deployment's).
        #[arg(long)]
        requests_per_second: Option<u32>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// List tenants in id order.
    List {
        /// Continue after this tenant id.
        #[arg(long)]
        after: Option<String>,
        /// Page size.
        #[arg(long)]
        limit: Option<usize>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Show a tenant with its user and group counts.
    Show {
        /// Tenant id.
        id: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Refuse every credential of a tenant (the data stays).
    Disable {
        /// Tenant id.
        id: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Accept a disabled tenant's credentials again.
    Enable {
        /// Tenant id.
        id: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Delete a tenant: credentials refused at once, data purged by `tenant purge` (which the
    /// deployed stack runs on a schedule).
    Delete {
        /// Tenant id.
        id: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Resume every pending purge of a deleted tenant.
    Purge {
        /// Only tenants deleted at least this long ago (seconds): the token cache bound.
        #[arg(long, default_value_t = 90)]
        grace_seconds: u64,
        /// Most resources deleted per tenant in this run.
        #[arg(long, default_value_t = usize::MAX)]
        budget: usize,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

/// `scim-lambda token create|list|revoke`: tenant tokens.
#[derive(Debug, Subcommand)]
pub enum TenantTokenCommand {
    /// Mint a token for a tenant and print it once.
    Create {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// What the token is for (e.g. "Entra provisioning").
        #[arg(long, default_value = "")]
        description: String,
        /// Optional RFC 3339 expiry.
        #[arg(long)]
        expires_at: Option<String>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// List a tenant's tokens (never their secrets).
    List {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Revoke a token.
    Revoke {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Token id.
        id: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}
