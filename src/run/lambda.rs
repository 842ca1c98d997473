//! The Lambda functions, one binary for all four: `SCIM_FUNCTION` picks the SCIM/admin API
//! behind API Gateway, the change feed's stream consumer, the webhook deliverer, or the
//! scheduled purge. Every one runs on DynamoDB with the function's role; nothing here serves a
//! socket or reads a terminal.

use std::sync::Arc;

use anyhow::Context;
use lambda_http::{LambdaEvent, service_fn};

use super::api;
use super::aws::aws_config;
use super::settings::{Mode, Settings, feed_settings};
use crate::config::{Function, ServeArgs};
use crate::feed::wiring;
use crate::store::dynamo::DynamoStore;
use crate::store::dynamo::oauth::DynamoOAuthStore;
use crate::tenancy::purge::{GRACE, purge_pending};

/// Resources one purge run deletes per tenant (a few minutes of DynamoDB writes at most).
const PURGE_BUDGET: usize = 20_000;

/// Runs the function `args.function` names until Lambda stops the instance.
///
/// # Errors
/// A setting that cannot work (the API without a token secret), an AWS resource that cannot
/// be reached at start-up, or the runtime failing.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    match args.function {
        Function::Api => api_function(args).await,
        // The feed's functions need neither a SCIM token nor the router.
        Function::Stream => {
            let config = aws_config().await;
            wiring::stream_function(&config, &args.table, &feed_settings(&args))
                .await
                .map_err(|e| anyhow::anyhow!(e))
        }
        Function::Deliver => {
            let config = aws_config().await;
            wiring::delivery_function(&config, &args.table, &feed_settings(&args))
                .await
                .map_err(|e| anyhow::anyhow!(e))
        }
        Function::Purge => purge_function(&args.table).await,
    }
}

/// The SCIM, admin and OAuth routes over the table; clients built once, before serving, so
/// warm invocations reuse them and their connections.
async fn api_function(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args, Mode::Lambda)?;
    let aws = aws_config().await;
    let keys = api::signing_keys(&settings, Some(&aws)).await?;
    let tokens = api::tokens(&settings, Some(&aws))?;
    let table = &settings.args.table;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table.clone());
    if settings.args.create_table {
        store
            .create_table_if_missing()
            .await
            .context("creating the DynamoDB table")?;
    }
    let oauth_store = DynamoOAuthStore::new(aws_sdk_dynamodb::Client::new(&aws), table.clone());
    let api = api::build(store, oauth_store, tokens, keys, &settings)?;
    lambda_http::run(api.app)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}

/// The scheduled purge: each invocation resumes every pending purge of a deleted tenant.
/// Lambda freezes a process between invocations, so this cannot be a task spawned by the
/// DELETE request.
async fn purge_function(table: &str) -> anyhow::Result<()> {
    let config = aws_config().await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        table.to_string(),
    ));
    let handler = service_fn(move |_event: LambdaEvent<serde_json::Value>| {
        let store = Arc::clone(&store);
        async move {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            // Bounded per run so an invocation ends inside its timeout; the next run resumes.
            let (done, pending) = purge_pending(store.as_ref(), now, GRACE, PURGE_BUDGET).await?;
            tracing::info!(done, pending, "purge run");
            Ok::<_, lambda_http::Error>(serde_json::json!({"purged": done, "pending": pending}))
        }
    });
    lambda_http::lambda_runtime::run(handler)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
