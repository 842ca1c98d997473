//! Running the tenant and token commands on the store.

use anyhow::Context;
use serde::Serialize;

use super::{Output, RegistryArgs, TenantCommand, TenantTokenCommand};
use crate::store::Store;
use crate::store::dynamo::DynamoStore;
use crate::store::registry::{TenantPatch, TenantStatus};
use crate::tenancy::Tenancy;
use crate::tenancy::admin::{Admin, TenantView, tenant_id};
use crate::tenancy::purge::purge_pending;

async fn store(args: &RegistryArgs) -> DynamoStore {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), args.table.clone())
}

fn print<T: Serialize>(
    output: Output,
    value: &T,
    text: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Output::Text => println!("{}", text(value)),
    }
    Ok(())
}

fn line(t: &TenantView) -> String {
    format!("{}\t{}\t{}\t{}", t.id, t.status, t.name, t.tenant_url)
}

fn admin<'a, S: Store>(store: &'a S, tenancy: &'a Tenancy, args: &'a RegistryArgs) -> Admin<'a, S> {
    Admin {
        store,
        tenancy,
        base_url: &args.public_url,
        base_path: &args.base_path,
    }
}

/// Runs `scim-lambda tenant ...`.
///
/// # Errors
/// The use case's error, worded for the operator.
pub async fn run_tenant(command: TenantCommand) -> anyhow::Result<()> {
    let tenancy = Tenancy::default();
    match command {
        TenantCommand::Create {
            name,
            requests_per_second,
            registry,
        } => {
            let store = store(&registry).await;
            let t = admin(&store, &tenancy, &registry)
                .create_tenant(&name, requests_per_second)
                .await?;
            print(registry.output, &t, line)
        }
        TenantCommand::List {
            after,
            limit,
            registry,
        } => {
            let store = store(&registry).await;
            let page = admin(&store, &tenancy, &registry)
                .list_tenants(after.as_deref(), limit)
                .await?;
            print(registry.output, &page, |p| {
                let mut out: Vec<String> = p.tenants.iter().map(line).collect();
                if let Some(next) = &p.next {
                    out.push(format!("(more: --after {next})"));
                }
                out.join("\n")
            })
        }
        TenantCommand::Show { id, registry } => {
            let store = store(&registry).await;
            let d = admin(&store, &tenancy, &registry)
                .show_tenant(&tenant_id(&id)?)
                .await?;
            print(registry.output, &d, |d| {
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
            let store = store(&registry).await;
            admin(&store, &tenancy, &registry)
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
            let store = store(&registry).await;
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
    let store = store(registry).await;
    let patch = TenantPatch {
        status: Some(status),
        ..TenantPatch::default()
    };
    let t = admin(&store, tenancy, registry)
        .update_tenant(&tenant_id(id)?, patch)
        .await?;
    print(registry.output, &t, line)
}

/// Runs `scim-lambda token create|list|revoke`.
///
/// # Errors
/// The use case's error, worded for the operator.
pub async fn run_token(command: TenantTokenCommand) -> anyhow::Result<()> {
    let tenancy = Tenancy::default();
    match command {
        TenantTokenCommand::Create {
            tenant,
            description,
            expires_at,
            registry,
        } => {
            let store = store(&registry).await;
            let t = admin(&store, &tenancy, &registry)
                .create_token(&tenant_id(&tenant)?, &description, expires_at.as_deref())
                .await?;
            print(registry.output, &t, |t| t.token.clone())?;
            if registry.output == Output::Text {
                eprintln!("Token {} created; this is the only time it is shown.", t.id);
            }
            Ok(())
        }
        TenantTokenCommand::List { tenant, registry } => {
            let store = store(&registry).await;
            let list = admin(&store, &tenancy, &registry)
                .list_tokens(&tenant_id(&tenant)?)
                .await?;
            print(registry.output, &list, |l| {
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
            let store = store(&registry).await;
            admin(&store, &tenancy, &registry)
                .revoke_token(&tenant_id(&tenant)?, &id)
                .await?;
            eprintln!("Revoked {id}.");
            Ok(())
        }
    }
}
