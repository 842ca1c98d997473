//! The DynamoDB [`OAuthStore`], on the directory's table.
//!
//! | item | pk | sk | other |
//! |---|---|---|---|
//! | client | `OAUTH#CLIENT#<clientId>` | `CLIENT` | `doc`, `version`; gsi1 `T#<t>#OAUTHCLIENTS` + id |
//! | federated credential | `OAUTH#FED#<sha256(iss, sub, aud)>` | `FED` | `doc`; gsi1 `T#<t>#OAUTHFEDS` + id |
//! | used assertion id | `OAUTH#JTI#<sha256(iss, jti)>` | `JTI` | `ttl` (Unix seconds) |
//!
//! Unlike directory items these keys do not start with the tenant: the token endpoint is shared
//! and learns the tenant from the client or the assertion, so it must find them with one
//! `GetItem` knowing nothing else. Each record still names its tenant, every admin read is
//! by tenant (gsi1), and a record of another tenant is a `NotFound`. The federated
//! credential's key *is* its uniqueness guard: a second credential for the same issuer,
//! subject and audience fails the create's condition. Used `jti`s are claimed with a
//! conditional put (absent, or present but expired and not yet swept by the table's TTL), which
//! DynamoDB applies atomically for every instance.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest, Sha256};

use super::{CONNECT_TIMEOUT, OPERATION_TIMEOUT, keys, translate};
use crate::store::oauth::{ClientRecord, FederatedRecord, OAuthStore};
use crate::store::{Call, Calls, StoreError, StoreResult, TenantId};

/// The expiry attribute DynamoDB's TTL sweeps (set on the table in `template.yaml`).
pub const TTL: &str = "ttl";
const CLIENT_SK: &str = "CLIENT";
const FED_SK: &str = "FED";
const JTI_SK: &str = "JTI";

type Item = HashMap<String, AttributeValue>;

/// OAuth records in the DynamoDB table. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct DynamoOAuthStore {
    client: Client,
    table: String,
    calls: Calls,
}

impl DynamoOAuthStore {
    /// OAuth records in `table` through `client`, with the directory store's timeouts, so no
    /// token request can outlive the Lambda.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let config = client
            .config()
            .to_builder()
            .timeout_config(timeouts)
            .build();
        DynamoOAuthStore {
            client: Client::from_conf(config),
            table: table.into(),
            calls: Calls::default(),
        }
    }

    /// The calls made so far.
    pub fn calls(&self) -> &Calls {
        &self.calls
    }
}

fn digest_key(prefix: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") never collide.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    format!("{prefix}{}", hex::encode(h.finalize()))
}

fn client_pk(id: &str) -> String {
    format!("OAUTH#CLIENT#{id}")
}

fn fed_pk(issuer: &str, subject: &str, audience: &str) -> String {
    digest_key("OAUTH#FED#", &[issuer, subject, audience])
}

fn clients_partition(tenant: &TenantId) -> String {
    format!("T#{tenant}#OAUTHCLIENTS")
}

fn feds_partition(tenant: &TenantId) -> String {
    format!("T#{tenant}#OAUTHFEDS")
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn to_doc<T: serde::Serialize>(value: &T) -> StoreResult<AttributeValue> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|e| StoreError::Internal(Box::new(e)))
}

fn from_doc<T: serde::de::DeserializeOwned>(item: &Item) -> StoreResult<T> {
    let doc = item
        .get(keys::DOC)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Internal("an OAuth item has no doc".into()))?;
    serde_json::from_str(doc).map_err(|e| StoreError::Internal(Box::new(e)))
}

fn client_item(c: &ClientRecord) -> StoreResult<Item> {
    Ok(HashMap::from([
        (keys::PK.to_string(), s(client_pk(&c.id))),
        (keys::SK.to_string(), s(CLIENT_SK)),
        (keys::GSI1PK.to_string(), s(clients_partition(&c.tenant))),
        (keys::GSI1SK.to_string(), s(&c.id)),
        (keys::VERSION.to_string(), n(c.version)),
        (keys::DOC.to_string(), to_doc(c)?),
    ]))
}

fn put_failed_condition(e: &SdkError<PutItemError>) -> bool {
    matches!(
        e.as_service_error(),
        Some(PutItemError::ConditionalCheckFailedException(_))
    )
}

impl DynamoOAuthStore {
    /// Every item of a gsi1 partition (admin listings: a tenant has a handful of clients).
    async fn partition(&self, pk: String) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            self.calls.record(Call::Query);
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::GSI1)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", keys::GSI1PK)
                .expression_attribute_values(":pk", s(pk.clone()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(translate)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(items),
            }
        }
    }
}

impl OAuthStore for DynamoOAuthStore {
    async fn create_client(&self, client: &ClientRecord) -> StoreResult<()> {
        self.calls.record(Call::PutItem);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(client_item(client)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if put_failed_condition(&e) => Err(StoreError::VersionMismatch { current: 0 }),
            Err(e) => Err(translate(e)),
        }
    }

    async fn client(&self, id: &str) -> StoreResult<Option<ClientRecord>> {
        self.calls.record(Call::GetItem);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(client_pk(id)))
            .key(keys::SK, s(CLIENT_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(translate)?;
        out.item.as_ref().map(from_doc).transpose()
    }

    async fn replace_client(&self, client: &ClientRecord) -> StoreResult<()> {
        self.calls.record(Call::PutItem);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(client_item(client)?))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", keys::VERSION)
            .expression_attribute_values(":expected", n(client.version.saturating_sub(1)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if put_failed_condition(&e) => match self.client(&client.id).await? {
                Some(current) => Err(StoreError::VersionMismatch {
                    current: current.version,
                }),
                None => Err(StoreError::NotFound),
            },
            Err(e) => Err(translate(e)),
        }
    }

    async fn clients(&self, tenant: &TenantId) -> StoreResult<Vec<ClientRecord>> {
        let items = self.partition(clients_partition(tenant)).await?;
        items.iter().map(from_doc).collect()
    }

    async fn create_federated(&self, credential: &FederatedRecord) -> StoreResult<()> {
        let item = HashMap::from([
            (
                keys::PK.to_string(),
                s(fed_pk(
                    &credential.issuer,
                    &credential.subject,
                    &credential.audience,
                )),
            ),
            (keys::SK.to_string(), s(FED_SK)),
            (
                keys::GSI1PK.to_string(),
                s(feds_partition(&credential.tenant)),
            ),
            (keys::GSI1SK.to_string(), s(&credential.id)),
            (keys::DOC.to_string(), to_doc(credential)?),
        ]);
        self.calls.record(Call::PutItem);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if put_failed_condition(&e) => Err(StoreError::Uniqueness {
                attribute: "issuer, subject and audience",
            }),
            Err(e) => Err(translate(e)),
        }
    }

    async fn federated_by_claims(
        &self,
        issuer: &str,
        subject: &str,
        audience: &str,
    ) -> StoreResult<Option<FederatedRecord>> {
        self.calls.record(Call::GetItem);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(fed_pk(issuer, subject, audience)))
            .key(keys::SK, s(FED_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(translate)?;
        out.item.as_ref().map(from_doc).transpose()
    }

    async fn federated(&self, tenant: &TenantId) -> StoreResult<Vec<FederatedRecord>> {
        let items = self.partition(feds_partition(tenant)).await?;
        items.iter().map(from_doc).collect()
    }

    async fn delete_federated(&self, tenant: &TenantId, id: &str) -> StoreResult<()> {
        let all = self.federated(tenant).await?;
        let f = all
            .iter()
            .find(|f| f.id == id)
            .ok_or(StoreError::NotFound)?;
        self.calls.record(Call::DeleteItem);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(keys::PK, s(fed_pk(&f.issuer, &f.subject, &f.audience)))
            .key(keys::SK, s(FED_SK))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(translate(e)),
        }
    }

    async fn claim_jti(
        &self,
        issuer: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        self.calls.record(Call::PutItem);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(digest_key("OAUTH#JTI#", &[issuer, jti])))
            .item(keys::SK, s(JTI_SK))
            .item(TTL, n(expires_at))
            // The TTL sweep runs within days, not at once: an expired record counts as absent.
            .condition_expression("attribute_not_exists(#pk) OR #ttl < :now")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if put_failed_condition(&e) => Ok(false),
            Err(e) => Err(translate(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_keys_do_not_collide_across_boundaries() {
        assert_ne!(
            digest_key("P#", &["ab", "c"]),
            digest_key("P#", &["a", "bc"])
        );
        assert_eq!(fed_pk("i", "s", "a"), fed_pk("i", "s", "a"));
        assert!(fed_pk("i", "s", "a").starts_with("OAUTH#FED#"));
    }
}
