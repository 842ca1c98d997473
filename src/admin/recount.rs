//! `scim-lambda recount`: rebuilds the maintained counts behind `totalResults` from a full count
//! of each listing, for a table written before the counters existed or copied item by item.

use crate::scim::schema::ResourceKind;
use crate::store::dynamo::DynamoStore;
use crate::store::{StoreError, TenantId};

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
