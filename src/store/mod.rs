//! Persistence: the [`Store`] trait and its typed query, with two implementations,
//! [`memory::MemoryStore`] (embedded: local runs and tests) and `dynamo::DynamoStore`
//! (production).
//!
//! The store knows the typed [`Query`] it is handed and the JSON documents it keeps, never raw
//! filter strings or HTTP. It enforces what must be atomic: uniqueness of the case-folded
//! unique name, versions on every update, member references to existing users, and cascading
//! membership removal on delete. Every call it makes to its backend is counted ([`Calls`]).

pub(crate) mod calls;
pub(crate) mod checkpoints;
mod document;
pub mod dynamo;
pub mod feed;
pub mod limits;
pub mod memory;
pub mod memory_oauth;
pub mod oauth;
pub mod registry;
pub mod webhooks;

use std::borrow::Borrow;
use std::future::Future;
use std::num::NonZeroU64;

use serde_json::Value;

use crate::change::UpdateKind;
use crate::scim::filter::Filter;
use crate::scim::schema::ResourceKind;

pub use crate::scim::list::Sort;
pub use crate::tenant::TenantId;
pub use calls::{Call, CallCounts, Calls};
pub use document::Document;
pub use limits::{Budget, Limit};

/// The values a resource is indexed by, computed once by the service from the document with
/// the schema's normalisation rules (so filter, guards and indexes agree).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexKeys {
    /// Case-folded `userName` (users) or `displayName` (groups): unique per tenant and kind.
    pub unique: Option<String>,
    /// `externalId` exactly as sent (caseExact, not unique).
    pub external_id: Option<String>,
    /// Case-folded values of every `work` email (users only; not unique), sorted and without
    /// duplicates: a user with two work emails is found by either.
    pub work_emails: Vec<String>,
}

/// A resource as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Server-issued id (a UUID).
    pub id: String,
    /// Monotonic version, also in `doc.meta.version`.
    pub version: u64,
    /// The full resource (`schemas`, `id`, `meta` included), without `members` and `groups`,
    /// which live in membership records.
    pub doc: Document,
    /// Index values of `doc`.
    pub keys: IndexKeys,
}

/// Changes to a group's membership, applied atomically with the group's own update: the
/// protocol's member delta (a PATCH's, or a PUT's replace-all) as the store takes it. Adding
/// a current member or removing a non-member is not an error.
pub use crate::scim::patch::MemberDelta as MemberChange;

/// How candidates are found before the filter is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Every resource of the kind, in id order (a bounded scan when filtered).
    All,
    /// One resource by id.
    Id(String),
    /// By the case-folded unique name (`userName` / group `displayName`).
    Unique(String),
    /// By `externalId`, exactly.
    ExternalId(String),
    /// Users by case-folded work email.
    WorkEmail(String),
    /// Groups that have this user as a member (reverse membership index).
    HasMember(String),
}

/// Which page of the matches to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest {
    /// RFC 7644 index paging: 1-based start index and page size.
    Index {
        /// 1-based index of the first result.
        start_index: NonZeroU64,
        /// Maximum number of results (0 = totals only).
        count: usize,
    },
    /// RFC 9865 cursor paging, in id order (the query has no `sort`): the results after a
    /// given id. Exact under
    /// concurrent inserts and deletes (no result is skipped or repeated), unlike index paging.
    Cursor {
        /// Continue after this id (exclusive); `None` for the first page.
        after: Option<String>,
        /// Maximum number of results (0 = totals only).
        count: usize,
    },
}

/// A typed query over one resource kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// How to find candidates.
    pub lookup: Lookup,
    /// What candidates must match beyond the lookup (never mentions members).
    pub filter: Option<Filter>,
    /// Optional ordering; without it results come in id order.
    pub sort: Option<Sort>,
    /// Which page.
    pub page: PageRequest,
}

/// One page of query results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Number of matches over all pages.
    pub total: u64,
    /// The records of this page.
    pub records: Vec<Record>,
    /// Cursor paging only: the id the next page continues after, when there are more matches
    /// (the last id of this page); `None` on the last page.
    pub next: Option<String>,
}

/// Cuts the requested page out of all matches (in id order unless sorted), returning the page
/// and, for cursor paging, the id the next page continues after. Both stores use it for the
/// queries they answer in memory, so their paging cannot drift apart.
pub fn page_of<R: Borrow<Record>>(
    matching: &[R],
    page: &PageRequest,
) -> (Vec<Record>, Option<String>) {
    match page {
        PageRequest::Index { start_index, count } => {
            let skip = usize::try_from(start_index.get() - 1).unwrap_or(usize::MAX);
            let records = matching.iter().skip(skip).take(*count);
            (records.map(|r| r.borrow().clone()).collect(), None)
        }
        PageRequest::Cursor { after, count } => {
            let rest = match after {
                Some(after) => &matching[matching.partition_point(|r| r.borrow().id <= *after)..],
                None => matching,
            };
            let records: Vec<Record> = rest
                .iter()
                .take(*count)
                .map(|r| r.borrow().clone())
                .collect();
            let next = (*count > 0 && rest.len() > *count)
                .then(|| records.last().map(|r| r.id.clone()))
                .flatten();
            (records, next)
        }
    }
}

/// Sets `meta.version` (`W/"<version>"`) and `meta.lastModified` of a stored document: a
/// member-only change bumps the version without the caller rewriting the document, so the
/// store stamps it (the DynamoDB store when it reads the item, the memory store when it
/// writes).
pub fn stamp_meta(doc: &mut Value, version: u64, modified: &str) {
    if let Some(meta) = doc.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert("version".into(), Value::String(format!("W/\"{version}\"")));
        meta.insert("lastModified".into(), Value::String(modified.to_string()));
    }
}

/// A capped list of member ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    /// Member user ids, in id order.
    pub ids: Vec<String>,
    /// Whether there were more than the cap asked for.
    pub truncated: bool,
}

/// Outcome of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The resource existed and is gone, with its memberships and unique guard.
    Deleted,
    /// There was no such resource.
    NotFound,
}

/// Boxed error source kept inside [`StoreError`] variants.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What happened to the data. Backend errors are translated into these where they occur.
/// The store writes no sentence meant for clients: the HTTP layer words each variant from its
/// typed fields.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The unique attribute's value is taken by another resource.
    #[error("{attribute} is already in use")]
    Uniqueness {
        /// The attribute (`userName` or `displayName`).
        attribute: &'static str,
    },
    /// No resource with that id.
    #[error("resource not found")]
    NotFound,
    /// The stored version is not the expected one.
    #[error("version mismatch: the current version is {current}")]
    VersionMismatch {
        /// The version now stored.
        current: u64,
    },
    /// A member reference names a user that does not exist.
    #[error("member {id} does not exist")]
    MissingMember {
        /// The id that was referenced.
        id: String,
    },
    /// A value is past one of the documented limits ([`limits`]); nothing was written.
    #[error("limit exceeded: {0:?}")]
    TooLarge(Limit),
    /// Answering needs more work than the store allows for one request ([`Budget`]).
    #[error("work budget exceeded: {budget:?}")]
    TooMany {
        /// The budget that ran out.
        budget: Budget,
    },
    /// Other writers kept winning the race for the same item after the store's retries.
    /// Nothing was written; the client may retry at once.
    #[error("lost a write race after retries")]
    Contention,
    /// The backend throttled the request even after retries.
    #[error("the store is throttling requests")]
    Throttled {
        /// Seconds a client should wait.
        retry_after_secs: u64,
    },
    /// The backend could not be reached or failed transiently.
    #[error("the store is unavailable")]
    Unavailable(#[source] BoxError),
    /// A bug or corrupt data.
    #[error("internal store error")]
    Internal(#[source] BoxError),
}

/// States the store's own writes never produce: found means a bug or data written by hand.
/// Kept as the typed source of [`StoreError::Internal`].
#[derive(Debug, thiserror::Error)]
pub enum Broken {
    /// A freshly issued id already names a different resource.
    #[error("resource id {0} already names another resource")]
    DuplicateId(String),
    /// A unique guard the resource held is owned by another id.
    #[error("the unique guard of {0} is owned by another id")]
    GuardOwnedByOther(String),
    /// A transaction failed a condition no action of it should fail.
    #[error("unexpected condition failure in a {0} write")]
    UnexpectedCondition(&'static str),
}

impl From<Broken> for StoreError {
    fn from(e: Broken) -> Self {
        StoreError::Internal(Box::new(e))
    }
}

/// Result alias for store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// The persistence interface both stores implement.
///
/// Methods return `Send` futures so the service can be used from any Tokio task.
pub trait Store:
    registry::Registry + feed::FeedStore + webhooks::WebhookStore + Send + Sync + 'static
{
    /// Creates a resource (and, for a group, its initial members) atomically.
    ///
    /// A create whose backend request is re-sent after its answer was lost (the DynamoDB
    /// SDK's retry) succeeds: the store recognises its own write.
    ///
    /// # Errors
    /// `Uniqueness` when `record.keys.unique` is taken; `MissingMember` when a member id is not
    /// an existing user; `TooLarge` past the documented limits (before anything is written).
    fn create(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: &Record,
        members: &[String],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Reads one resource by id, strongly consistent.
    ///
    /// # Errors
    /// Only backend failures.
    fn get(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<Record>>> + Send;

    /// Replaces a resource if its stored version is `expected_version`, and applies a member
    /// change (groups) in the same write. `record.version` is the new version; `write` names
    /// the request (PUT or PATCH), which the committed change reports. A `clear` counts the
    /// members it removes toward the per-request limit: the change names every id it removes.
    ///
    /// # Errors
    /// `NotFound`, `VersionMismatch`, `Uniqueness` (new unique name taken), `MissingMember`,
    /// `TooLarge`, `Contention`.
    fn update_as(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: &Record,
        expected_version: u64,
        members: &MemberChange,
        write: UpdateKind,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// [`Store::update_as`] of a PATCH: what a caller that does not serve a PUT (the store
    /// suites, tools) writes.
    ///
    /// # Errors
    /// As [`Store::update_as`].
    fn update(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        record: &Record,
        expected_version: u64,
        members: &MemberChange,
    ) -> impl Future<Output = StoreResult<()>> + Send {
        self.update_as(
            tenant,
            kind,
            record,
            expected_version,
            members,
            UpdateKind::Patch,
        )
    }

    /// Applies a member change to a group without rewriting its document: the store bumps
    /// the version by one (and sets `meta.lastModified` to `modified`) atomically with the
    /// member change, so concurrent member changes never conflict on a version the caller
    /// read. With `expected_version`, only if that is the stored version. Returns the group as
    /// stored right after the change.
    ///
    /// `write` names the request (a PUT whose document is unchanged changes only members),
    /// which the committed change reports.
    ///
    /// # Errors
    /// `NotFound`, `VersionMismatch`, `MissingMember`, `TooLarge` (more members than one
    /// request may change), `Contention`.
    fn update_members_as(
        &self,
        tenant: &TenantId,
        group_id: &str,
        members: &MemberChange,
        expected_version: Option<u64>,
        modified: &str,
        write: UpdateKind,
    ) -> impl Future<Output = StoreResult<Record>> + Send;

    /// [`Store::update_members_as`] of a PATCH.
    ///
    /// # Errors
    /// As [`Store::update_members_as`].
    fn update_members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        members: &MemberChange,
        expected_version: Option<u64>,
        modified: &str,
    ) -> impl Future<Output = StoreResult<Record>> + Send {
        self.update_members_as(
            tenant,
            group_id,
            members,
            expected_version,
            modified,
            UpdateKind::Patch,
        )
    }

    /// Deletes a resource, its memberships and its unique guard; with `expected_version`,
    /// only if that is the stored version.
    ///
    /// # Errors
    /// `VersionMismatch` when `expected_version` is stale.
    fn delete(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<u64>,
    ) -> impl Future<Output = StoreResult<Deleted>> + Send;

    /// Runs a query.
    ///
    /// # Errors
    /// `TooMany` when answering needs a scan or filter work beyond the store's budget.
    fn query(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        query: &Query,
    ) -> impl Future<Output = StoreResult<Page>> + Send;

    /// The first `limit` member ids of a group, in id order.
    ///
    /// # Errors
    /// Only backend failures.
    fn members(
        &self,
        tenant: &TenantId,
        group_id: &str,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Members>> + Send;

    /// The first `limit` ids of the groups a user belongs to, in id order.
    ///
    /// # Errors
    /// Only backend failures.
    fn groups_of(
        &self,
        tenant: &TenantId,
        user_id: &str,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Members>> + Send;

    /// Counters of the backend calls made so far.
    fn calls(&self) -> &Calls;
}
