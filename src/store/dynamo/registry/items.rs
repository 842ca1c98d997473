//! The registry's items: key formats, attribute names, records read back from items, and the
//! update builder the registry's transactions share.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::super::items::{Item, ItemError, ItemExt, key};
use super::super::{build_error, keys};
use crate::auth::TokenDigest;
use crate::scim::schema::fold_case;
use crate::store::registry::{TenantRecord, TenantStatus, TokenRecord};
use crate::store::{StoreResult, TenantId};

const TENANT_SK: &str = "TENANT";
const TOKEN_SK: &str = "TOKEN";
pub(super) const LIVE: &str = "R#TENANTS";
pub(super) const PURGING: &str = "R#PURGING";

pub(super) const NAME: &str = "tname";
pub(super) const STATUS: &str = "tstatus";
pub(super) const CREATED: &str = "createdAt";
pub(super) const DELETED: &str = "deletedAt";
pub(super) const RPS: &str = "rps";
pub(super) const LAST_REQUEST: &str = "lastRequestAt";
pub(super) const VER: &str = "ver";
const TOKENS: &str = "toks";
pub(super) const TENANT: &str = "tenant";
pub(super) const DESCRIPTION: &str = "description";
pub(super) const DIGEST: &str = "digest";
pub(super) const EXPIRES: &str = "expiresAt";
pub(super) const LAST_USED: &str = "lastUsedAt";

pub(super) fn tenant_key(id: &TenantId) -> Item {
    key(format!("R#TENANT#{id}"), TENANT_SK)
}
pub(super) fn token_key(id: &str) -> Item {
    key(format!("R#TOKEN#{id}"), TOKEN_SK)
}
pub(super) fn name_key(name: &str) -> Item {
    key(format!("R#NAME#{}", fold_case(name)), keys::GUARD_SK)
}
pub(super) fn tokens_of(tenant: &TenantId) -> String {
    format!("R#TENANT#{tenant}#TOKENS")
}
pub(super) fn num(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn opt_num(item: &Item, name: &'static str) -> Result<Option<i64>, ItemError> {
    item.contains_key(name)
        .then(|| item.number_i64(name))
        .transpose()
}
fn status_of(item: &Item, name: &'static str) -> Result<TenantStatus, ItemError> {
    TenantStatus::parse(item.string(name)?).ok_or(ItemError::Malformed(name))
}
fn rps_of(item: &Item) -> Result<Option<u32>, ItemError> {
    opt_num(item, RPS)?
        .map(|n| u32::try_from(n).map_err(|_| ItemError::Malformed(RPS)))
        .transpose()
}

/// A tenant item read back: the record, its version and its token ids.
pub(super) struct Stored {
    pub(super) record: TenantRecord,
    pub(super) ver: i64,
    pub(super) tokens: Vec<String>,
}

pub(super) fn tenant_from(item: &Item) -> Result<Stored, ItemError> {
    let id = TenantId::parse(item.string(keys::GSI1SK)?).map_err(|_| ItemError::Malformed("id"))?;
    let tokens = match item.get(TOKENS) {
        Some(AttributeValue::Ss(set)) => set.clone(),
        Some(_) => return Err(ItemError::Malformed(TOKENS)),
        None => Vec::new(),
    };
    Ok(Stored {
        record: TenantRecord {
            id,
            name: item.string(NAME)?.to_string(),
            status: status_of(item, STATUS)?,
            created_at: item.number_i64(CREATED)?,
            deleted_at: opt_num(item, DELETED)?,
            requests_per_second: rps_of(item)?,
            last_request_at: opt_num(item, LAST_REQUEST)?,
        },
        ver: item.number_i64(VER)?,
        tokens,
    })
}

pub(super) fn token_from(item: &Item) -> Result<TokenRecord, ItemError> {
    Ok(TokenRecord {
        id: item.string(keys::GSI1SK)?.to_string(),
        tenant: TenantId::parse(item.string(TENANT)?).map_err(|_| ItemError::Malformed(TENANT))?,
        description: item.string(DESCRIPTION)?.to_string(),
        digest: TokenDigest::from_hex(item.string(DIGEST)?).ok_or(ItemError::Malformed(DIGEST))?,
        created_at: item.number_i64(CREATED)?,
        expires_at: opt_num(item, EXPIRES)?,
        last_used_at: opt_num(item, LAST_USED)?,
        tenant_status: status_of(item, STATUS)?,
        requests_per_second: rps_of(item)?,
    })
}

/// A `SET`/`REMOVE` update of one item with a condition.
pub(super) struct Change {
    pub(super) key: Item,
    pub(super) set: Vec<(&'static str, AttributeValue)>,
    pub(super) remove: Vec<&'static str>,
    pub(super) extra: Option<(&'static str, AttributeValue)>,
    pub(super) condition: &'static str,
    pub(super) condition_values: Vec<(&'static str, AttributeValue)>,
}

impl Change {
    pub(super) fn new(key: Item, condition: &'static str) -> Self {
        Change {
            key,
            set: Vec::new(),
            remove: Vec::new(),
            extra: None,
            condition,
            condition_values: Vec::new(),
        }
    }

    pub(super) fn build(self, table: &str) -> StoreResult<TransactWriteItem> {
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut sets = Vec::new();
        for (i, (attr, value)) in self.set.into_iter().enumerate() {
            names.insert(format!("#s{i}"), attr.to_string());
            values.insert(format!(":s{i}"), value);
            sets.push(format!("#s{i} = :s{i}"));
        }
        let mut expr = String::new();
        if !sets.is_empty() {
            expr = format!("SET {}", sets.join(", "));
        }
        if !self.remove.is_empty() {
            let mut removes = Vec::new();
            for (i, attr) in self.remove.into_iter().enumerate() {
                names.insert(format!("#r{i}"), attr.to_string());
                removes.push(format!("#r{i}"));
            }
            expr.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        if let Some((clause, value)) = self.extra {
            names.insert("#toks".into(), TOKENS.into());
            values.insert(":toks".into(), value);
            expr.push_str(&format!(" {clause} #toks :toks"));
        }
        for (name, value) in self.condition_values {
            values.insert(name.to_string(), value);
        }
        if self.condition.contains("#ver") {
            names.insert("#ver".into(), VER.into());
        }
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(self.key))
            .update_expression(expr.trim())
            .condition_expression(self.condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}
