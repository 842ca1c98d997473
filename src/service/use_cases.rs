//! The use cases. Each keeps its name through every layer (`create` here, `Store::create`,
//! the `POST` handler), and every write is conditional on what was read.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::resource::etag;
use super::{
    Error, MAX_MEMBERS_IN_RESPONSE, MAX_WRITE_ATTEMPTS, Resource, Result, Service, index_keys, plan,
};
use crate::scim;
use crate::scim::cursor::{self, CursorScope};
use crate::scim::list::ListParams;
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;
use crate::scim::resource::prepare;
use crate::scim::schema::ResourceKind;
use crate::store::{Deleted, MemberChange, Members, PageRequest, Query, Record, Store, StoreError};

/// Most groups listed in a user's `groups` attribute.
const MAX_GROUPS_IN_RESPONSE: usize = 1000;

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

/// The `If-Match` precondition of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version.
    Any,
    /// One of these versions; an unparseable tag is kept as no version at all, so it fails.
    Versions(Vec<u64>),
}

impl IfMatch {
    /// Parses an `If-Match`/`If-None-Match` value: `*`, or a list of (weak) entity tags.
    pub fn parse(header: &str) -> IfMatch {
        if header.trim() == "*" {
            return IfMatch::Any;
        }
        let versions = header
            .split(',')
            .filter_map(|tag| {
                let tag = tag.trim();
                let tag = tag.strip_prefix("W/").unwrap_or(tag);
                tag.trim_matches('"').parse::<u64>().ok()
            })
            .collect();
        IfMatch::Versions(versions)
    }

    /// Whether `version` satisfies it.
    pub fn matches(&self, version: u64) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Versions(v) => v.contains(&version),
        }
    }
}

impl<S: Store> Service<S> {
    /// `POST /Users` and `POST /Groups` (RFC 7644 §3.3).
    ///
    /// # Errors
    /// Protocol errors of the body, `Store(Uniqueness)` for a taken name, `Store(MissingMember)`.
    pub async fn create(&self, kind: ResourceKind, body: &Value) -> Result<Resource> {
        let prepared = prepare(kind, body)?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = now();
        let doc = with_id_and_meta(kind, prepared.doc, &id, &now, &now, 1);
        let mut members = prepared.members.unwrap_or_default();
        members.sort();
        members.dedup();
        let record = Record {
            id: id.clone(),
            version: 1,
            keys: index_keys(kind, &doc),
            doc,
        };
        self.store
            .create(&self.tenant, kind, record.clone(), &members)
            .await?;
        let members = (kind == ResourceKind::Group).then_some(Members {
            ids: members,
            truncated: false,
        });
        Ok(Resource {
            kind,
            id,
            version: 1,
            doc: record.doc,
            members,
            groups: None,
        })
    }

    /// `GET /Users/{id}`: the resource with the relations the projection asks for.
    ///
    /// # Errors
    /// `NotFound`; `Scim(tooMany)` when the member list is over the response cap.
    pub async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        projection: &Projection,
    ) -> Result<Resource> {
        let record = self.read(kind, id).await?;
        self.resource(kind, record, projection).await
    }

    /// `GET /Users?...` and `POST /.search`: one page of matches and the total; with
    /// `cursor`, an RFC 9865 page and the cursor of the next one.
    ///
    /// # Errors
    /// `Scim(invalidFilter)` for filters no plan can answer, `Scim(invalidCursor |
    /// expiredCursor)` for a cursor this server did not issue for this tenant and query (or
    /// issued too long ago), `Store(TooMany)` past the scan budget.
    pub async fn list(&self, kind: ResourceKind, params: &ListParams) -> Result<ListPage> {
        // The scope hashes the filter as the client sent it, before planning rewrites it.
        let scope = CursorScope {
            tenant: self.tenant.as_str(),
            kind,
            filter: params.filter.as_ref(),
        };
        let now = unix_now();
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
        let page = self.store.query(&self.tenant, kind, &query).await?;
        let next_cursor = page
            .next
            .map(|id| cursor::encode(&self.cursor_key, &scope, &id, now));
        // One budget for the whole page: a page of 100 groups of 10,000 members would be a
        // million member references, far past what one response can carry.
        let mut budget = MAX_MEMBERS_IN_RESPONSE;
        let mut resources = Vec::with_capacity(page.records.len());
        for record in page.records {
            let r = self
                .resource_within(kind, record, &params.projection, budget)
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

    /// `PUT /Users/{id}` (RFC 7644 §3.5.1). A group body without `members` keeps the current
    /// members: a rename must never empty a group; `"members": []` clears them.
    ///
    /// # Errors
    /// `NotFound`, `PreconditionFailed`, protocol errors, `Store(Uniqueness | MissingMember)`.
    pub async fn replace(
        &self,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        if_match: Option<&IfMatch>,
        projection: &Projection,
    ) -> Result<Resource> {
        let prepared = prepare(kind, body)?;
        let change = match prepared.members {
            Some(add) if kind == ResourceKind::Group => MemberChange {
                clear: true,
                add,
                remove: Vec::new(),
            },
            _ => MemberChange::default(),
        };
        self.write(kind, id, if_match, projection, |current| {
            let created = meta_str(&current.doc, "created");
            let doc = with_id_and_meta(
                kind,
                prepared.doc.clone(),
                id,
                &created,
                &now(),
                current.version + 1,
            );
            Ok((doc, change.clone()))
        })
        .await
    }

    /// `PATCH /Users/{id}` (RFC 7644 §3.5.2). Without `If-Match` the operations are re-applied
    /// to the newest version when another writer wins the race, so no update is lost.
    ///
    /// # Errors
    /// `NotFound`, `PreconditionFailed`, protocol errors, store errors, `Contention`.
    pub async fn patch(
        &self,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        if_match: Option<&IfMatch>,
        projection: &Projection,
    ) -> Result<Resource> {
        let request = PatchRequest::parse(body)?;
        self.write(kind, id, if_match, projection, |current| {
            let mut doc = current.doc.clone();
            let delta = request.apply(kind, &mut doc)?;
            let change = MemberChange {
                clear: delta.clear,
                add: delta.add,
                remove: delta.remove,
            };
            Ok((doc, change))
        })
        .await
    }

    /// `DELETE /Users/{id}`: the resource, its memberships and its unique name go.
    ///
    /// # Errors
    /// `NotFound`, `PreconditionFailed`.
    pub async fn delete(
        &self,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&IfMatch>,
    ) -> Result<()> {
        let not_found = || Error::NotFound {
            kind,
            id: id.to_string(),
        };
        if !is_our_id(id) {
            return Err(not_found());
        }
        let expected = match if_match {
            None | Some(IfMatch::Any) => None,
            Some(m) => {
                let current = self.read(kind, id).await?;
                if !m.matches(current.version) {
                    return Err(Error::PreconditionFailed {
                        current: current.version,
                    });
                }
                Some(current.version)
            }
        };
        match self.store.delete(&self.tenant, kind, id, expected).await {
            Ok(Deleted::Deleted) => Ok(()),
            Ok(Deleted::NotFound) => Err(not_found()),
            Err(StoreError::VersionMismatch { current }) => {
                Err(Error::PreconditionFailed { current })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Read, change, write conditionally; on a lost race re-read and re-apply (bounded).
    async fn write(
        &self,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&IfMatch>,
        projection: &Projection,
        change: impl Fn(&Record) -> Result<(Value, MemberChange)>,
    ) -> Result<Resource> {
        for attempt in 0..MAX_WRITE_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let current = self.read(kind, id).await?;
            if let Some(m) = if_match {
                if !m.matches(current.version) {
                    return Err(Error::PreconditionFailed {
                        current: current.version,
                    });
                }
            }
            let (mut doc, members) = change(&current)?;
            if doc == current.doc && members.is_empty() {
                // Nothing changes: no write, no new version (Entra re-sends unchanged values).
                return self.resource(kind, current, projection).await;
            }
            let version = current.version + 1;
            set_meta(&mut doc, &now(), version);
            let record = Record {
                id: id.to_string(),
                version,
                keys: index_keys(kind, &doc),
                doc,
            };
            match self
                .store
                .update(
                    &self.tenant,
                    kind,
                    record.clone(),
                    current.version,
                    &members,
                )
                .await
            {
                Ok(()) => return self.resource(kind, record, projection).await,
                Err(StoreError::VersionMismatch { current }) if if_match.is_some() => {
                    return Err(Error::PreconditionFailed { current });
                }
                Err(StoreError::VersionMismatch { .. }) => continue,
                Err(StoreError::NotFound) => {
                    return Err(Error::NotFound {
                        kind,
                        id: id.to_string(),
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Contention)
    }

    async fn read(&self, kind: ResourceKind, id: &str) -> Result<Record> {
        let not_found = || Error::NotFound {
            kind,
            id: id.to_string(),
        };
        if !is_our_id(id) {
            return Err(not_found());
        }
        self.store
            .get(&self.tenant, kind, id)
            .await?
            .ok_or_else(not_found)
    }

    /// Loads the relations the projection wants; a member list over the cap is refused.
    async fn resource(
        &self,
        kind: ResourceKind,
        record: Record,
        projection: &Projection,
    ) -> Result<Resource> {
        self.resource_within(kind, record, projection, MAX_MEMBERS_IN_RESPONSE)
            .await
    }

    /// [`Self::resource`] with at most `member_budget` members listed.
    async fn resource_within(
        &self,
        kind: ResourceKind,
        record: Record,
        projection: &Projection,
        member_budget: usize,
    ) -> Result<Resource> {
        let relation = match kind {
            ResourceKind::Group => "members",
            ResourceKind::User => "groups",
        };
        let related = if projection.wants(kind, relation) {
            let related = match kind {
                ResourceKind::Group => {
                    self.store
                        .members(&self.tenant, &record.id, member_budget)
                        .await?
                }
                ResourceKind::User => {
                    self.store
                        .groups_of(&self.tenant, &record.id, MAX_GROUPS_IN_RESPONSE)
                        .await?
                }
            };
            if related.truncated {
                return Err(scim::error::Error::too_many(format!(
                    "{} {} has more {relation} than one response may list; \
                     ask with excludedAttributes={relation} (or a smaller count)",
                    kind.name(),
                    record.id
                ))
                .into());
            }
            Some(related)
        } else {
            None
        };
        let (members, groups) = match kind {
            ResourceKind::Group => (related, None),
            ResourceKind::User => (None, related),
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

/// Waits a random time, growing with each attempt, before re-reading after a lost race:
/// without jitter, writers that collided once collide again on every retry.
async fn backoff(attempt: usize) {
    let ceiling_ms = (5u64 << attempt.min(6)).min(250);
    let jitter = getrandom::u64().unwrap_or(0) % ceiling_ms.max(1);
    tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
}

/// Ids are UUIDs this server issued; anything else cannot exist, and is answered without a
/// store read.
fn is_our_id(id: &str) -> bool {
    uuid::Uuid::try_parse(id).is_ok()
}

/// Seconds since the Unix epoch (cursor expiry); a clock before 1970 reads as 0.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn meta_str(doc: &Value, key: &str) -> String {
    doc.pointer(&format!("/meta/{key}"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `schemas`, then `id`, then the client's attributes, then `meta`.
fn with_id_and_meta(
    kind: ResourceKind,
    doc: Value,
    id: &str,
    created: &str,
    modified: &str,
    version: u64,
) -> Value {
    let mut out = Map::new();
    let mut doc = match doc {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if let Some(schemas) = doc.remove("schemas") {
        out.insert("schemas".into(), schemas);
    }
    out.insert("id".into(), id.into());
    out.extend(doc);
    let meta = serde_json::json!({
        "resourceType": kind.name(),
        "created": created,
        "lastModified": modified,
        "version": etag(version),
    });
    out.insert("meta".into(), meta);
    Value::Object(out)
}

fn set_meta(doc: &mut Value, modified: &str, version: u64) {
    if let Some(meta) = doc.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert("lastModified".into(), modified.into());
        meta.insert("version".into(), etag(version).into());
    }
}
