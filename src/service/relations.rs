//! Loading the relations a response asks for: a group's members, a user's groups.

use super::{MAX_MEMBERS_IN_RESPONSE, Resource, Result, Service};
use crate::scim;
use crate::scim::projection::Projection;
use crate::scim::schema::{Relation, ResourceKind};
use crate::store::{Record, Store, TenantId};

/// Most groups listed in a user's `groups` attribute.
const MAX_GROUPS_IN_RESPONSE: usize = 1000;

impl<S: Store> Service<S> {
    /// Loads the relations the projection wants; a member list over the cap is refused.
    pub(super) async fn resource(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: Record,
        projection: &Projection,
    ) -> Result<Resource> {
        self.resource_within(tenant, kind, record, projection, MAX_MEMBERS_IN_RESPONSE)
            .await
    }

    /// [`Self::resource`] with at most `member_budget` members listed.
    pub(super) async fn resource_within(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: Record,
        projection: &Projection,
        member_budget: usize,
    ) -> Result<Resource> {
        let relation = kind.relation();
        let name = relation.attribute();
        let related = if projection.wants(kind, name) {
            let related = match relation {
                Relation::Members => {
                    self.store
                        .members(tenant, &record.id, member_budget)
                        .await?
                }
                Relation::MemberOf => {
                    self.store
                        .groups_of(tenant, &record.id, MAX_GROUPS_IN_RESPONSE)
                        .await?
                }
            };
            if related.truncated {
                return Err(scim::error::Error::too_many(format!(
                    "{} {} has more {name} than one response may list; \
                     ask with excludedAttributes={name} (or a smaller count)",
                    kind.name(),
                    record.id
                ))
                .into());
            }
            Some(related)
        } else {
            None
        };
        let (members, groups) = match relation {
            Relation::Members => (related, None),
            Relation::MemberOf => (None, related),
        };
        Ok(Resource {
            kind,
            id: record.id,
            version: record.version,
            doc: record.doc,
            members,
            groups,
        })
    }
}
