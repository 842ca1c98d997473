//! Purging a deleted tenant: every user and group through the store's own delete (which also
//! removes memberships and unique guards), then the registry's leftovers, then the tenant
//! record. Resumable and idempotent by construction: each step deletes what it finds, and the
//! tenant record, deleted last, marks the purge as pending until the very end.
//!
//! Where it runs: a local server starts it in a task right after the delete. In Lambda the
//! process freezes after each response, so a spawned task would not run; a schedule invokes
//! the function with a purge event instead (`scim-lambda purge`, template.yaml), which resumes
//! every pending purge whose tenant was deleted more than [`GRACE`] ago: by then no instance
//! still trusts a cached token of it, so no request can write behind the purge.

use std::time::Duration;

use crate::auth::cache::CACHE_TTL;
use crate::scim::schema::ResourceKind;
use crate::store::{Lookup, PageRequest, Query, Store, StoreResult, TenantId};

/// How long after a delete the scheduled purge starts: the token cache bound plus a margin
/// for requests in flight.
pub const GRACE: Duration = Duration::from_secs(CACHE_TTL.as_secs() + 30);
/// Resources read per listing page while purging.
const PAGE: usize = 100;

/// Where a purge stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Everything is gone, the tenant record included.
    Done,
    /// The budget ran out; run it again to continue.
    More,
}

/// Deletes up to `budget` of the tenant's resources and, when none remain, its leftovers and
/// record.
///
/// # Errors
/// Store failures; a failed purge is simply run again.
pub async fn purge_tenant<S: Store>(
    store: &S,
    tenant: &TenantId,
    budget: usize,
) -> StoreResult<Progress> {
    let mut left = budget;
    // Groups first: each group's delete takes its member items with it, so the users' deletes
    // find fewer memberships to sweep.
    for kind in [ResourceKind::Group, ResourceKind::User] {
        loop {
            if left == 0 {
                return Ok(Progress::More);
            }
            let query = Query {
                lookup: Lookup::All,
                filter: None,
                sort: None,
                page: PageRequest::Cursor {
                    after: None,
                    count: PAGE.min(left),
                },
            };
            let page = store.query(tenant, kind, &query).await?;
            if page.records.is_empty() {
                break;
            }
            for record in &page.records {
                // `NotFound` (a lagging index, or a purge running twice) is fine: it is gone.
                store.delete(tenant, kind, &record.id, None).await?;
                left -= 1;
            }
        }
    }
    store.finish_purge(tenant).await?;
    Ok(Progress::Done)
}

/// Resumes every pending purge of a tenant deleted at least `grace` before `now_secs`,
/// deleting at most `budget` resources per tenant (so one run fits in a function timeout).
/// Returns how many finished and how many remain pending.
///
/// # Errors
/// Store failures (the schedule runs it again).
pub async fn purge_pending<S: Store>(
    store: &S,
    now_secs: i64,
    grace: Duration,
    budget: usize,
) -> StoreResult<(usize, usize)> {
    let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
    let (mut done, mut pending) = (0, 0);
    for tenant in store.purging().await? {
        if tenant.deleted_at.is_some_and(|d| now_secs - d < grace) {
            pending += 1;
            continue;
        }
        match purge_tenant(store, &tenant.id, budget).await? {
            Progress::Done => done += 1,
            Progress::More => pending += 1,
        }
    }
    Ok((done, pending))
}
