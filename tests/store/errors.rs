//! Backend failures become the store's typed errors (no emulator needed).

use aws_config::BehaviorVersion;
use scim_lambda::scim::schema::ResourceKind::User;
use scim_lambda::store::dynamo::DynamoStore;
use scim_lambda::store::{Store, StoreError};

use crate::helpers::tenant;

#[tokio::test]
async fn an_unreachable_table_is_unavailable() {
    // Nothing listens on port 1: the connection is refused, after the SDK's own retries.
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:1")
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), "t");
    let err = store.get(&tenant(), User, "x").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_missing_table_is_an_internal_error_not_a_miss() {
    let Some((_, client)) = crate::helpers::dynamo_client().await else {
        return;
    };
    let store = DynamoStore::new(client, "no-such-table");
    let err = store.get(&tenant(), User, "x").await.unwrap_err();
    assert!(matches!(err, StoreError::Internal(_)), "{err:?}");
}
