//! `POST /.search` at the server root (RFC 7644 §3.4.3): one listing across every resource
//! type, paged over the concatenation of their result lists.

use std::num::NonZeroU64;

use super::{ListPage, Result, Service};
use crate::scim::error::Error as ScimError;
use crate::scim::list::ListParams;
use crate::scim::schema::ResourceKind;
use crate::store::{Store, TenantId};

impl<S: Store> Service<S> {
    /// Searches every resource type, in discovery order: the page is cut from the
    /// concatenation of their results, so totals and indexes stay consistent.
    ///
    /// # Errors
    /// `Scim(invalidValue)` for a cursor (a cursor names a position in one type's id order),
    /// and the errors of [`Service::list`].
    pub async fn search(&self, tenant: &TenantId, params: &ListParams) -> Result<ListPage> {
        if params.cursor.is_some() {
            return Err(ScimError::invalid_value(
                "cursor paging is supported on /Users/.search and /Groups/.search, not /.search",
            )
            .into());
        }
        let mut total = 0;
        let mut resources = Vec::new();
        let mut skip = params.start_index.get() - 1;
        for kind in ResourceKind::ALL {
            let page = ListParams {
                start_index: NonZeroU64::new(skip + 1).unwrap_or(NonZeroU64::MIN),
                count: params.count.saturating_sub(resources.len()),
                ..params.clone()
            };
            let listed = self.list(tenant, kind, &page).await?;
            total += listed.total;
            skip = skip.saturating_sub(listed.total);
            resources.extend(listed.resources);
        }
        Ok(ListPage {
            total,
            resources,
            next_cursor: None,
        })
    }
}
