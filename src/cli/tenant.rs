//! `scim-lambda tenant ...`: the registry's tenants, on the DynamoDB table directly, printing
//! the admin API's objects with `--output json`.

use anyhow::Context;
use clap::Subcommand;

use super::RegistryArgs;
use crate::store::registry::{TenantPatch, TenantStatus};
use crate::tenancy::Tenancy;
use crate::tenancy::admin::{TenantView, tenant_id};
use crate::tenancy::purge::purge_pending;

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

fn line(t: &TenantView) -> String {
    format!("{}\t{}\t{}\t{}", t.id, t.status, t.name, t.tenant_url)
}

/// Runs `scim-lambda tenant ...`.
///
/// # Errors
/// The use case's error, worded for the operator.
pub(super) async fn run(command: TenantCommand) -> anyhow::Result<()> {
    let tenancy = Tenancy::default();
    match command {
        TenantCommand::Create {
            name,
            requests_per_second,
            registry,
        } => {
            let store = registry.store().await;
            let t = registry
                .admin(&store, &tenancy)
                .create_tenant(&name, requests_per_second)
                .await?;
            registry.print(&t, line)
        }
        TenantCommand::List {
            after,
            limit,
            registry,
        } => {
            let store = registry.store().await;
            let page = registry
                .admin(&store, &tenancy)
                .list_tenants(after.as_deref(), limit)
                .await?;
            registry.print(&page, |p| {
                let mut out: Vec<String> = p.tenants.iter().map(line).collect();
                if let Some(next) = &p.next {
                    out.push(format!("(more: --after {next})"));
                }
                out.join("\n")
            })
        }
        TenantCommand::Show { id, registry } => {
            let store = registry.store().await;
            let d = registry
                .admin(&store, &tenancy)
                .show_tenant(&tenant_id(&id)?)
                .await?;
            registry.print(&d, |d| {
                format!(
                    "{}\tusers {}\tgroups {}\tlast request {}",
                    line(&d.tenant),
                    d.users,
                    d.groups,
                    d.last_request_at.as_deref().unwrap_or("never")
                )
            })
        }
        TenantCommand::Disable { id, registry } => {
            set_status(&tenancy, &id, &registry, TenantStatus::Disabled).await
        }
        TenantCommand::Enable { id, registry } => {
            set_status(&tenancy, &id, &registry, TenantStatus::Active).await
        }
        TenantCommand::Delete { id, registry } => {
            let store = registry.store().await;
            registry
                .admin(&store, &tenancy)
                .delete_tenant(&tenant_id(&id)?)
                .await?;
            eprintln!(
                "Deleted {id}: its tokens are refused; its data is purged by `scim-lambda tenant purge` (scheduled in the stack)."
            );
            Ok(())
        }
        TenantCommand::Purge {
            grace_seconds,
            budget,
            registry,
        } => {
            let store = registry.store().await;
            let (done, pending) = purge_pending(
                &store,
                tenancy.now_secs(),
                std::time::Duration::from_secs(grace_seconds),
                budget,
            )
            .await
            .context("purging")?;
            println!("purged {done} tenant(s); {pending} still pending");
            Ok(())
        }
    }
}

async fn set_status(
    tenancy: &Tenancy,
    id: &str,
    registry: &RegistryArgs,
    status: TenantStatus,
) -> anyhow::Result<()> {
    let store = registry.store().await;
    let patch = TenantPatch {
        status: Some(status),
        ..TenantPatch::default()
    };
    let t = registry
        .admin(&store, tenancy)
        .update_tenant(&tenant_id(id)?, patch)
        .await?;
    registry.print(&t, line)
}
