//! The documented limits every store enforces alike, checked before anything is written, and
//! the work budgets of one query. DynamoDB's own limits (400 KB per item, 2,048 bytes per
//! partition key value) set them; the embedded store enforces the same numbers so behaviour
//! never depends on the store. `docs/security.md` and `docs/dynamodb.md` list them.

use crate::scim::discovery::MAX_MEMBERS_PER_REQUEST;
use crate::scim::schema::ResourceKind;
use crate::store::{Lookup, MemberChange, Record, StoreError};

/// Largest stored document (the resource as compact JSON, members excluded), in bytes. A
/// DynamoDB item holds at most 400 KB with its attribute names, index values and the member
/// delta of the last change; 256 KiB leaves room for all of them.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Longest value that becomes part of a key, in bytes, after case folding: `userName`, a
/// group's `displayName`, `externalId` and each work email. DynamoDB refuses partition keys
/// over 2,048 bytes; 1,024 leaves room for the tenant and kind prefix of every key format.
pub const MAX_KEY_VALUE_BYTES: usize = 1024;

/// Most work emails of one user that are indexed (each is a lookup item of its own).
pub const MAX_WORK_EMAILS: usize = 10;

/// A documented limit a request went past.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limit {
    /// The document is `bytes` long, over [`MAX_DOCUMENT_BYTES`].
    Document {
        /// Its size.
        bytes: usize,
    },
    /// A keyed value is `bytes` long, over [`MAX_KEY_VALUE_BYTES`].
    KeyValue {
        /// The attribute (`userName`, `displayName`, `externalId`, `emails`).
        attribute: &'static str,
        /// Its size after folding.
        bytes: usize,
    },
    /// More work emails than [`MAX_WORK_EMAILS`].
    WorkEmails {
        /// How many the user has.
        count: usize,
    },
    /// One request names `count` members, over [`MAX_MEMBERS_PER_REQUEST`].
    Members {
        /// Members added plus members removed.
        count: usize,
    },
    /// A tenant already holds `count` bearer tokens, the most it may.
    TenantTokens {
        /// How many it holds.
        count: usize,
    },
}

impl Limit {
    /// The maximum the limit allows, for the message the HTTP layer writes.
    pub fn max(&self) -> usize {
        match self {
            Limit::Document { .. } => MAX_DOCUMENT_BYTES,
            Limit::KeyValue { .. } => MAX_KEY_VALUE_BYTES,
            Limit::WorkEmails { .. } => MAX_WORK_EMAILS,
            Limit::Members { .. } => MAX_MEMBERS_PER_REQUEST,
            Limit::TenantTokens { .. } => crate::store::registry::MAX_TOKENS_PER_TENANT,
        }
    }
}

/// A work budget of one query that ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// The candidates to read (a filter or sort over a listing) are more than `items`.
    Scan {
        /// Most items one query may read.
        items: usize,
    },
    /// Evaluating the filter would compare more than `bytes` bytes of values.
    Filter {
        /// Most bytes one query's filter may compare.
        bytes: usize,
    },
}

/// Checks a record against the limits; `doc_bytes` is the size of its stored JSON.
///
/// # Errors
/// `TooLarge` naming the first limit broken.
pub fn check_record(
    kind: ResourceKind,
    record: &Record,
    doc_bytes: usize,
) -> Result<(), StoreError> {
    if doc_bytes > MAX_DOCUMENT_BYTES {
        return Err(StoreError::TooLarge(Limit::Document { bytes: doc_bytes }));
    }
    let keyed = [
        (kind.unique_attribute(), record.keys.unique.as_deref()),
        ("externalId", record.keys.external_id.as_deref()),
    ];
    let emails = record
        .keys
        .work_emails
        .iter()
        .map(|e| ("emails", Some(e.as_str())));
    for (attribute, value) in keyed.into_iter().chain(emails) {
        if let Some(v) = value.filter(|v| v.len() > MAX_KEY_VALUE_BYTES) {
            return Err(StoreError::TooLarge(Limit::KeyValue {
                attribute,
                bytes: v.len(),
            }));
        }
    }
    if record.keys.work_emails.len() > MAX_WORK_EMAILS {
        return Err(StoreError::TooLarge(Limit::WorkEmails {
            count: record.keys.work_emails.len(),
        }));
    }
    Ok(())
}

/// Checks the size of a member change: members added plus members removed by one request.
/// A `clear` names no member to remove: the store counts what it removes with
/// [`check_replace`] once it knows the current members.
///
/// # Errors
/// `TooLarge(Members)`.
pub fn check_members(added: usize, change: &MemberChange) -> Result<(), StoreError> {
    check_count(added.max(change.add.len()) + change.remove.len())
}

/// Checks a replace-all (`clear`) once the store knows the members it removes: the ids the
/// request lists plus the current members it removes count toward the same limit, which keeps
/// the committed change small enough to name every id it removed (on DynamoDB it rides on the
/// group item, which holds at most 400 KB: 1,000 ids are about 40 KB next to a document of at
/// most 256 KiB).
///
/// # Errors
/// `TooLarge(Members)`.
pub fn check_replace(listed: usize, removed: usize) -> Result<(), StoreError> {
    check_count(listed + removed)
}

fn check_count(count: usize) -> Result<(), StoreError> {
    if count > MAX_MEMBERS_PER_REQUEST {
        return Err(StoreError::TooLarge(Limit::Members { count }));
    }
    Ok(())
}

/// Whether a lookup can find anything: a value past the key limit was never stored, so a
/// lookup of it finds nothing without asking the backend (DynamoDB would refuse the key with
/// a validation error, which is not the client's fault).
pub fn lookup_fits(lookup: &Lookup) -> bool {
    match lookup {
        Lookup::Unique(v) | Lookup::ExternalId(v) | Lookup::WorkEmail(v) => {
            v.len() <= MAX_KEY_VALUE_BYTES
        }
        Lookup::All | Lookup::Id(_) | Lookup::HasMember(_) => true,
    }
}
