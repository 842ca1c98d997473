//! `scim-lambda token ...`: the single-tenant bearer token in Secrets Manager (`rotate`,
//! `drop-previous`), an endpoint checked as Entra checks it (`check`), and tenant tokens
//! (`scim_<id>_<secret>`) in the registry (`create`, `list`, `revoke`).

use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};

use super::check::{CheckOutcome, check_endpoint};
use super::secret::{DropOutcome, drop_previous_token, rotate_token};
use super::{Output, RegistryArgs};
use crate::tenancy::Tenancy;
use crate::tenancy::admin::tenant_id;

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
        /// The token to present.
        #[arg(long, env = "SCIM_TOKEN", hide_env_values = true, value_parser = crate::config::secret)]
        token: SecretString,
    },
    /// Tenant tokens (`scim_<id>_<secret>`) in the DynamoDB table.
    #[command(flatten)]
    Tenant(TenantTokenCommand),
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
/// Runs `scim-lambda token ...`.
///
/// # Errors
/// Secrets Manager's, the endpoint's or the registry's refusal, worded for the operator.
pub(super) async fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Rotate { secret_id } => {
            let client = secrets_manager().await;
            let token = rotate_token(&client, &secret_id).await?;
            // Shown once, for the admin to paste into Entra as the Secret Token.
            println!("{}", token.expose_secret());
            eprintln!(
                "New token stored as AWSCURRENT; the previous one stays valid until the next rotation."
            );
            Ok(())
        }
        TokenCommand::DropPrevious { secret_id } => {
            let client = secrets_manager().await;
            match drop_previous_token(&client, &secret_id).await? {
                DropOutcome::Dropped { version_id } => println!(
                    "Removed AWSPREVIOUS from version {version_id}: only the current token works \
                     once each function instance refreshes (within 5 minutes)."
                ),
                DropOutcome::NothingToDrop => {
                    println!("No version holds AWSPREVIOUS: only the current token works.");
                }
            }
            Ok(())
        }
        TokenCommand::Check { url, token } => check(&url, &token).await,
        TokenCommand::Tenant(command) => run_tenant_token(command).await,
    }
}

async fn secrets_manager() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&crate::run::aws_config().await)
}

async fn check(url: &str, token: &SecretString) -> anyhow::Result<()> {
    match check_endpoint(url, token).await {
        CheckOutcome::Ok => {
            println!(
                "OK: {url} answered Entra's Test Connection probe with an empty ListResponse."
            );
            Ok(())
        }
        CheckOutcome::Problem(why) => anyhow::bail!(why),
    }
}

/// Runs `scim-lambda token create|list|revoke`: tenant tokens in the registry.
///
/// # Errors
/// The use case's error, worded for the operator.
async fn run_tenant_token(command: TenantTokenCommand) -> anyhow::Result<()> {
    let tenancy = Tenancy::default();
    match command {
        TenantTokenCommand::Create {
            tenant,
            description,
            expires_at,
            registry,
        } => {
            let store = registry.store().await;
            let t = registry
                .admin(&store, &tenancy)
                .create_token(&tenant_id(&tenant)?, &description, expires_at.as_deref())
                .await?;
            registry.print(&t, |t| t.token.clone())?;
            if registry.output == Output::Text {
                eprintln!("Token {} created; this is the only time it is shown.", t.id);
            }
            Ok(())
        }
        TenantTokenCommand::List { tenant, registry } => {
            let store = registry.store().await;
            let list = registry
                .admin(&store, &tenancy)
                .list_tokens(&tenant_id(&tenant)?)
                .await?;
            registry.print(&list, |l| {
                l.tokens
                    .iter()
                    .map(|t| {
                        format!(
                            "{}\t{}\texpires {}\tlast used {}",
                            t.id,
                            t.description,
                            t.expires_at.as_deref().unwrap_or("never"),
                            t.last_used_at.as_deref().unwrap_or("never")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        TenantTokenCommand::Revoke {
            tenant,
            id,
            registry,
        } => {
            let store = registry.store().await;
            registry
                .admin(&store, &tenancy)
                .revoke_token(&tenant_id(&tenant)?, &id)
                .await?;
            eprintln!("Revoked {id}.");
            Ok(())
        }
    }
}
