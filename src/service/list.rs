//! Listing and searching: planning, index or cursor paging, and the member budget of a page.

use super::{MAX_MEMBERS_IN_RESPONSE, Resource, Result, Service, plan};
use crate::clock::{Clock, SystemClock};
use crate::scim::cursor::{self, CursorScope};
use crate::scim::list::ListParams;
use crate::scim::schema::ResourceKind;
use crate::store::{PageRequest, Query, Store, TenantId};

/// One page of a listing, as the service returns it.
#[derive(Debug)]
pub struct ListPage {
    /// Matches over all pages (`totalResults`).
    pub total: u64,
    /// This page.
    pub resources: Vec<Resource>,
    /// Cursor paging: the `nextCursor` of the next page; `None` on the last page and in index
    /// paging.
    pub next_cursor: Option<String>,
}

impl<S: Store> Service<S> {
    /// `GET /Users?...` and `POST /.search`: one page of matches and the total; with
    /// `cursor`, an RFC 9865 page and the cursor of the next one.
    ///
    /// # Errors
    /// `Scim(invalidFilter)` for filters no plan can answer, `Scim(invalidCursor |
    /// expiredCursor)` for a cursor this server did not issue for this tenant and query (or
    /// issued too long ago), `Store(TooMany)` past the scan budget.
    pub async fn list(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        params: &ListParams,
    ) -> Result<ListPage> {
        // The scope hashes the filter as the client sent it, before planning rewrites it.
        let scope = CursorScope {
            tenant: tenant.as_str(),
            kind,
            filter: params.filter.as_ref(),
        };
        // Cursor expiry is checked against the one clock, in seconds.
        let now = u64::try_from(SystemClock.now()).unwrap_or_default();
        let page = match &params.cursor {
            None => PageRequest::Index {
                start_index: params.start_index,
                count: params.count,
            },
            Some(token) => PageRequest::Cursor {
                after: match token.as_str() {
                    "" => None,
                    t => Some(cursor::decode(&self.cursor_key, &scope, t, now)?),
                },
                count: params.count,
            },
        };
        let (lookup, filter) = plan(kind, params.filter.clone())?;
        let query = Query {
            lookup,
            filter,
            sort: params.sort.clone(),
            page,
        };
        let page = self.store.query(tenant, kind, &query).await?;
        let next_cursor = page
            .next
            .map(|id| cursor::encode(&self.cursor_key, &scope, &id, now));
        // One budget for the whole page: a page of 100 groups of 10,000 members would be a
        // million member references, far past what one response can carry.
        let mut budget = MAX_MEMBERS_IN_RESPONSE;
        let mut resources = Vec::with_capacity(page.records.len());
        for record in page.records {
            let r = self
                .resource_within(tenant, kind, record, &params.projection, budget)
                .await?;
            budget -= r.members.as_ref().map_or(0, |m| m.ids.len()).min(budget);
            resources.push(r);
        }
        Ok(ListPage {
            total: page.total,
            resources,
            next_cursor,
        })
    }
}
