//! What the registry commands (`tenant ...`, `token create|list|revoke`) share: where the
//! table is, how Tenant URLs are spelled, and how results are printed.

use clap::Args;
use serde::Serialize;

use super::Output;
use crate::store::Store;
use crate::store::dynamo::DynamoStore;
use crate::tenancy::Tenancy;
use crate::tenancy::admin::Admin;

/// Where the registry is and how Tenant URLs are spelled.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// DynamoDB table name (the stack output TableName).
    #[arg(long, env = "SCIM_TABLE", default_value = "scim")]
    pub table: String,
    /// The shared SCIM base URL; Tenant URLs are derived from it (the stack output
    /// TenantUrl, or a local server's URL).
    #[arg(
        long,
        env = "SCIM_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080/scim/v2"
    )]
    pub public_url: String,
    /// Base path of the SCIM API.
    #[arg(long, env = "SCIM_BASE_PATH", default_value = "/scim/v2")]
    pub base_path: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

impl RegistryArgs {
    /// The table, with the operator's AWS configuration.
    pub(super) async fn store(&self) -> DynamoStore {
        let config = crate::run::aws_config().await;
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), self.table.clone())
    }

    /// The admin use cases on `store`, spelling URLs as these arguments say.
    pub(super) fn admin<'a, S: Store>(
        &'a self,
        store: &'a S,
        tenancy: &'a Tenancy,
    ) -> Admin<'a, S> {
        Admin {
            store,
            tenancy,
            base_url: &self.public_url,
            base_path: &self.base_path,
        }
    }

    /// Prints `value` as the admin API's JSON, or as `text` renders it.
    pub(super) fn print<T: Serialize>(
        &self,
        value: &T,
        text: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<()> {
        match self.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(value)?),
            Output::Text => println!("{}", text(value)),
        }
        Ok(())
    }
}
