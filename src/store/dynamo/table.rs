//! Creating the table and its indexes (on-demand billing), for `--create-table` and tests.

use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification, TimeToLiveStatus,
};

use aws_sdk_dynamodb::client::Waiters;

use super::{DynamoStore, build_error, keys, translate};
use crate::store::StoreError;

impl DynamoStore {
    /// Creates the table with its three GSIs if it does not exist yet, and waits until it is
    /// active. Not counted in [`crate::store::Calls`]: it is set-up, not request work.
    ///
    /// Every index projects all attributes: listings and externalId/email lookups then need no
    /// second read per result, at the price of storing (and writing) each resource up to three
    /// more times.
    ///
    /// # Errors
    /// `Unavailable`/`Internal` as translated from the SDK.
    pub async fn create_table_if_missing(&self) -> Result<(), StoreError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_error)
        };
        let key = |name: &str, ty: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(ty)
                .build()
                .map_err(build_error)
        };
        let gsi = |name: &str, pk: &str| -> Result<GlobalSecondaryIndex, StoreError> {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(pk, KeyType::Hash)?)
                .key_schema(key(keys::GSI1SK, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(build_error)
        };
        let result = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(keys::PK)?)
            .attribute_definitions(attr(keys::SK)?)
            .attribute_definitions(attr(keys::GSI1PK)?)
            .attribute_definitions(attr(keys::GSI1SK)?)
            .attribute_definitions(attr(keys::GSI2PK)?)
            .attribute_definitions(attr(keys::GSI3PK)?)
            .key_schema(key(keys::PK, KeyType::Hash)?)
            .key_schema(key(keys::SK, KeyType::Range)?)
            .global_secondary_indexes(gsi(keys::GSI1, keys::GSI1PK)?)
            .global_secondary_indexes(gsi(keys::GSI2, keys::GSI2PK)?)
            .global_secondary_indexes(gsi(keys::GSI3, keys::GSI3PK)?)
            // The change feed reads the table's stream: every committed write, with the item
            // before and after it (template.yaml defines the same).
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()
                    .map_err(build_error)?,
            )
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(CreateTableError::ResourceInUseException(_))
                ) => {}
            Err(e) => return Err(translate(e)),
        }
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(std::time::Duration::from_secs(120))
            .await
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        // Stored events and their markers expire on `ttl` (enabling it twice is an error).
        let ttl = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(translate)?;
        let enabled = ttl
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status())
            .is_some_and(|s| matches!(s, TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling));
        if enabled {
            return Ok(());
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(super::feed::TTL_ATTRIBUTE)
                    .build()
                    .map_err(build_error)?,
            )
            .send()
            .await
            .map_err(translate)?;
        Ok(())
    }
}
