//! Building stores and records for the suites.

use scim_lambda::scim::schema::{ResourceKind, fold_case};
use scim_lambda::store::dynamo::DynamoStore;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::store::{IndexKeys, Record, TenantId};
use serde_json::{Value, json};

use crate::support::emulator;

/// A fresh memory store (always available).
pub async fn memory_store() -> Option<MemoryStore> {
    Some(MemoryStore::new())
}

/// A DynamoDB store on a fresh, randomly named table, or `None` (after saying so) when no
/// emulator is configured.
pub async fn dynamo_store() -> Option<DynamoStore> {
    dynamo_client().await.map(|(store, _)| store)
}

/// [`dynamo_store`] plus a raw client on the same endpoint, for seeding data in bulk.
pub async fn dynamo_client() -> Option<(DynamoStore, aws_sdk_dynamodb::Client)> {
    if !emulator::enabled("DynamoDB store") {
        return None;
    }
    let config = emulator::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let store = DynamoStore::new(
        client.clone(),
        format!("scim-test-{}", uuid::Uuid::new_v4()),
    )
    .with_operation_timeout(emulator::OPERATION_TIMEOUT);
    store.create_table_if_missing().await.expect("create table");
    Some((store, client))
}

/// The default tenant.
pub fn tenant() -> TenantId {
    TenantId::default()
}

/// A new id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A user record at version 1.
pub fn user(user_name: &str) -> Record {
    user_with(user_name, None, None)
}

/// A user record with an externalId and a work email.
pub fn user_with(user_name: &str, external_id: Option<&str>, work_email: Option<&str>) -> Record {
    let id = new_id();
    let mut doc = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "userName": user_name,
        "meta": {"resourceType": "User", "version": "W/\"1\""},
    });
    if let Some(e) = external_id {
        doc["externalId"] = json!(e);
    }
    if let Some(m) = work_email {
        doc["emails"] = json!([{"type": "work", "value": m, "primary": true}]);
    }
    Record {
        id,
        version: 1,
        doc: doc.into(),
        keys: IndexKeys {
            unique: Some(fold_case(user_name)),
            external_id: external_id.map(str::to_string),
            work_emails: work_email.map(fold_case).into_iter().collect(),
        },
    }
}

/// A group record at version 1.
pub fn group(display_name: &str) -> Record {
    let id = new_id();
    Record {
        doc: json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": id,
            "displayName": display_name,
        })
        .into(),
        id,
        version: 1,
        keys: IndexKeys {
            unique: Some(fold_case(display_name)),
            external_id: None,
            work_emails: Vec::new(),
        },
    }
}

/// `record` as its next version, with `field` set to `value` (and the unique key following
/// `userName`/`displayName`).
pub fn next(record: &Record, field: &str, value: Value) -> Record {
    let mut r = record.clone();
    r.version += 1;
    if matches!(field, "userName" | "displayName") {
        r.keys.unique = value.as_str().map(fold_case);
    }
    r.doc.tree_mut().unwrap()[field] = value;
    r
}

/// The unique attribute of `kind`, as the store reports it.
pub fn unique_attr(kind: ResourceKind) -> &'static str {
    kind.unique_attribute()
}
