//! The use cases. Each keeps its name through every layer (`create` here, `Store::create`,
//! the `POST` handler), and every write is conditional on what was read.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ETagCondition;
use super::resource::etag;
use super::{Error, MAX_WRITE_ATTEMPTS, Resource, Result, Service, index_keys};
use crate::change::UpdateKind;
use crate::scim::input::prepare;
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;
use crate::scim::schema::{PatchAnswer, ResourceKind};
use crate::store::{Deleted, Document, MemberChange, Members, Record, Store, StoreError, TenantId};

/// What a write's change makes of the current document.
struct Revised {
    /// The new document.
    doc: Value,
    /// The membership changes.
    members: MemberChange,
    /// Whether any attribute of the document changed (`meta` aside).
    changed: bool,
}

/// What a write answers with.
#[derive(Debug)]
pub enum Written {
    /// The resource as it now is (200).
    Resource(Resource),
    /// Only the new version (204 with an `ETag`), per the resource type's [`PatchAnswer`].
    Version(u64),
}

impl<S: Store> Service<S> {
    /// `POST /Users` and `POST /Groups` (RFC 7644 §3.3).
    ///
    /// # Errors
    /// Protocol errors of the body, `Store(Uniqueness)` for a taken name, `Store(MissingMember)`.
    pub async fn create(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        body: &Value,
    ) -> Result<Resource> {
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
            doc: Document::written(&doc)?,
        };
        self.store.create(tenant, kind, &record, &members).await?;
        let members = kind.has_members().then_some(Members {
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
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        projection: &Projection,
    ) -> Result<Resource> {
        let record = self.read(tenant, kind, id).await?;
        self.resource(tenant, kind, record, projection).await
    }

    /// `PUT /Users/{id}` (RFC 7644 §3.5.1). A group body without `members` keeps the current
    /// members: a rename must never empty a group; `"members": []` clears them.
    ///
    /// # Errors
    /// `NotFound`, `PreconditionFailed`, protocol errors, `Store(Uniqueness | MissingMember)`.
    pub async fn replace(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        if_match: Option<&ETagCondition>,
        projection: &Projection,
    ) -> Result<Resource> {
        let prepared = prepare(kind, body)?;
        let change = match prepared.members {
            Some(add) if kind.has_members() => MemberChange {
                clear: true,
                add,
                remove: Vec::new(),
            },
            _ => MemberChange::default(),
        };
        self.write(
            tenant,
            kind,
            id,
            if_match,
            projection,
            UpdateKind::Put,
            |current, current_doc| {
                let created = meta_str(&current_doc, "created");
                let doc = with_id_and_meta(
                    kind,
                    prepared.doc.clone(),
                    id,
                    &created,
                    &now(),
                    current.version + 1,
                );
                // `meta` is the server's (it carries a new `lastModified` and version): only
                // the client's attributes say whether the PUT changes anything.
                let changed = !same_content(&doc, &current_doc);
                Ok(Revised {
                    doc,
                    members: change.clone(),
                    changed,
                })
            },
        )
        .await
    }

    /// `PATCH /Users/{id}` (RFC 7644 §3.5.2). Without `If-Match` the operations are re-applied
    /// to the newest version when another writer wins the race, so no update is lost.
    ///
    /// What it answers follows the resource type's [`PatchAnswer`]: a group is answered
    /// without a body (and its members are never loaded) unless `projection` asks for one.
    ///
    /// # Errors
    /// `NotFound`, `PreconditionFailed`, protocol errors, store errors, `Contention`.
    pub async fn patch(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        body: &Value,
        if_match: Option<&ETagCondition>,
        projection: &Projection,
    ) -> Result<Written> {
        let request = PatchRequest::parse(body)?;
        let wants_body =
            kind.descriptor().patch_answer == PatchAnswer::Resource || projection.is_requested();
        let without_relation;
        let effective = if wants_body {
            projection
        } else {
            without_relation = Projection::parse(None, Some(kind.relation().attribute()))?;
            &without_relation
        };
        let written = self
            .write(
                tenant,
                kind,
                id,
                if_match,
                effective,
                UpdateKind::Patch,
                |_, current_doc| {
                    let patched = request.apply(kind, current_doc)?;
                    Ok(Revised {
                        doc: patched.doc,
                        members: patched.members,
                        changed: patched.changed,
                    })
                },
            )
            .await?;
        Ok(if wants_body {
            Written::Resource(written)
        } else {
            Written::Version(written.version)
        })
    }

    /// `DELETE /Users/{id}`: the resource, its memberships and its unique name go.
    ///
    /// # Errors
    /// `NotFound`, `PreconditionFailed`.
    pub async fn delete(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&ETagCondition>,
    ) -> Result<()> {
        let not_found = || Error::NotFound {
            kind,
            id: id.to_string(),
        };
        if !is_our_id(id) {
            return Err(not_found());
        }
        let expected = match if_match {
            None | Some(ETagCondition::Any) => None,
            Some(m) => {
                let current = self.read(tenant, kind, id).await?;
                if !m.matches(current.version) {
                    return Err(Error::PreconditionFailed {
                        current: current.version,
                    });
                }
                Some(current.version)
            }
        };
        match self.store.delete(tenant, kind, id, expected).await {
            Ok(Deleted::Deleted) => Ok(()),
            Ok(Deleted::NotFound) => Err(not_found()),
            Err(e) => Err(Error::about(e, kind, id)),
        }
    }

    /// Read, change, write conditionally; on a lost race re-read and re-apply (bounded).
    /// `how` names the request to the store, so the committed change reports PUT or PATCH.
    #[allow(clippy::too_many_arguments)]
    async fn write(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        if_match: Option<&ETagCondition>,
        projection: &Projection,
        how: UpdateKind,
        change: impl Fn(&Record, Value) -> Result<Revised>,
    ) -> Result<Resource> {
        for attempt in 0..MAX_WRITE_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let current = self.read(tenant, kind, id).await?;
            if let Some(m) = if_match {
                if !m.matches(current.version) {
                    return Err(Error::PreconditionFailed {
                        current: current.version,
                    });
                }
            }
            // The change works on a tree of its own, parsed from the stored text (which
            // stays: a write that changes nothing is answered from it).
            let current_doc = current.doc.to_tree()?.into_owned();
            let Revised {
                mut doc,
                members,
                changed,
            } = change(&current, current_doc)?;
            let unchanged = !changed;
            if unchanged && members.is_empty() {
                // Nothing changes: no write, no new version, no event (Entra re-sends
                // unchanged values, and a PUT of the stored resource is a common retry).
                return self.resource(tenant, kind, current, projection).await;
            }
            if unchanged && kind.has_members() {
                // Only members change: the store bumps the version with the member change (and
                // records the request, PUT or PATCH), so concurrent member PATCHes never
                // conflict on the version read here.
                let expected = if_match.map(|_| current.version);
                let record = self
                    .store
                    .update_members_as(tenant, id, &members, expected, &now(), how)
                    .await
                    .map_err(|e| Error::about(e, kind, id))?;
                return self.resource(tenant, kind, record, projection).await;
            }
            let version = current.version + 1;
            set_meta(&mut doc, &now(), version);
            let record = Record {
                id: id.to_string(),
                version,
                keys: index_keys(kind, &doc),
                doc: Document::written(&doc)?,
            };
            match self
                .store
                .update_as(tenant, kind, &record, current.version, &members, how)
                .await
            {
                Ok(()) => return self.resource(tenant, kind, record, projection).await,
                Err(StoreError::VersionMismatch { current }) if if_match.is_some() => {
                    return Err(Error::PreconditionFailed { current });
                }
                Err(StoreError::VersionMismatch { .. }) => continue,
                Err(e) => return Err(Error::about(e, kind, id)),
            }
        }
        Err(Error::Contention)
    }

    async fn read(&self, tenant: &TenantId, kind: ResourceKind, id: &str) -> Result<Record> {
        let not_found = || Error::NotFound {
            kind,
            id: id.to_string(),
        };
        if !is_our_id(id) {
            return Err(not_found());
        }
        self.store
            .get(tenant, kind, id)
            .await?
            .ok_or_else(not_found)
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

/// Whether two documents hold the same attributes apart from `meta` (key order aside).
fn same_content(a: &Value, b: &Value) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    let content = |m: &Map<String, Value>| m.len() - usize::from(m.contains_key("meta"));
    content(a) == content(b)
        && a.iter()
            .filter(|(k, _)| *k != "meta")
            .all(|(k, v)| b.get(k) == Some(v))
}

fn set_meta(doc: &mut Value, modified: &str, version: u64) {
    if let Some(meta) = doc.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert("lastModified".into(), modified.into());
        meta.insert("version".into(), etag(version).into());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::same_content;

    #[test]
    fn only_meta_may_differ_for_documents_to_be_the_same() {
        let stored = json!({"id": "1", "userName": "a", "meta": {"version": "W/\"1\""}});
        let cases = [
            (
                json!({"userName": "a", "id": "1", "meta": {"version": "W/\"2\""}}),
                true,
            ),
            (json!({"id": "1", "userName": "a"}), true),
            (
                json!({"id": "1", "userName": "b", "meta": {"version": "W/\"1\""}}),
                false,
            ),
            (json!({"id": "1", "userName": "a", "title": "x"}), false),
            (json!({"id": "1"}), false),
        ];
        for (doc, same) in cases {
            assert_eq!(same_content(&doc, &stored), same, "{doc}");
        }
    }
}
