//! `scim-lambda recount`: rebuilds the maintained counts behind `totalResults` from a full count
//! of each listing, for a table written before the counters existed or copied item by item.

use anyhow::Context;

use crate::scim::schema::ResourceKind;
use crate::store::dynamo::DynamoStore;
use crate::store::{StoreError, TenantId};

/// Options of `recount`.
#[derive(Debug, Clone, clap::Args)]
pub struct RecountArgs {
    /// The DynamoDB table, as in the stack output TableName.
    #[arg(long, env = "SCIM_TABLE")]
    pub table: String,
    /// Tenant id whose counts are rebuilt.
    #[arg(long, env = "SCIM_TENANT", default_value = "default", value_parser = crate::config::tenant_id)]
    pub tenant: TenantId,
}

/// Rebuilds the counter of every resource kind of `tenant` and returns the counts found, in
/// discovery order (users, then groups).
///
/// Run it while provisioning is paused: a create or delete between a kind's count and its
/// counter write would be counted twice or not at all. It reads each whole listing (about N/8
/// read units for N resources) and writes 16 counter shards per kind.
///
/// # Errors
/// The store's errors (a missing table, no permission, throttling), translated.
pub async fn recount_counts(
    store: &DynamoStore,
    tenant: &TenantId,
) -> Result<Vec<(ResourceKind, u64)>, StoreError> {
    let mut counts = Vec::with_capacity(ResourceKind::ALL.len());
    for kind in ResourceKind::ALL {
        counts.push((kind, store.recount(tenant, kind).await?));
    }
    Ok(counts)
}

/// Runs `scim-lambda recount` and prints each count.
///
/// # Errors
/// The store's errors, with the table named.
pub(super) async fn run(args: RecountArgs) -> anyhow::Result<()> {
    let config = crate::run::aws_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), args.table.clone());
    let counts = recount_counts(&store, &args.tenant)
        .await
        .with_context(|| format!("recounting table {}", args.table))?;
    for (kind, n) in counts {
        println!("{}: {n}", kind.endpoint());
    }
    Ok(())
}
