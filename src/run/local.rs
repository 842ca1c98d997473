//! The local server (`cargo run`, `scim-lambda serve`): the same application as the API
//! function, over the embedded store or a DynamoDB table, with the change feed running in
//! process, behind a hyper listener with a header-read timeout and a connection cap.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::Service as _;

use super::api::{self, Api};
use super::aws::aws_config;
use super::settings::{Mode, Settings, feed_settings};
use crate::App;
use crate::config::{ServeArgs, StoreKind};
use crate::feed::wiring;
use crate::store::dynamo::DynamoStore;
use crate::store::dynamo::oauth::DynamoOAuthStore;
use crate::store::memory::MemoryStore;
use crate::store::memory_oauth::MemoryOAuthStore;

/// How long a client may take to send a request's headers, counted from when the server is
/// ready to read them: after connecting and, on a kept-alive connection, after the previous
/// answer, so it is also the idle timeout. `axum::serve` sets none: a socket that never
/// finished its headers held a connection for a minute.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Most connections served at once; further ones wait in the listen backlog until one ends,
/// so a handful of slow sockets cannot take every task and file descriptor.
const MAX_CONNECTIONS: usize = 256;

/// Serves on `args.listen` until Ctrl-C, printing the URLs once listening.
///
/// # Errors
/// A setting that cannot work, an AWS resource that cannot be reached at start-up, or the
/// address that cannot be bound.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args, Mode::Local)?;
    let aws = if settings.needs_aws() {
        Some(aws_config().await)
    } else {
        None
    };
    let keys = api::signing_keys(&settings, aws.as_ref()).await?;
    let tokens = api::tokens(&settings, aws.as_ref())?;
    let args = &settings.args;
    let api = match settings.store {
        StoreKind::Dynamodb => {
            let config = aws
                .as_ref()
                .context("the AWS configuration was not loaded for the DynamoDB store")?;
            let dynamo =
                DynamoStore::new(aws_sdk_dynamodb::Client::new(config), args.table.clone());
            if args.create_table {
                dynamo
                    .create_table_if_missing()
                    .await
                    .context("creating the DynamoDB table")?;
            }
            // In Lambda the stream function runs the feed; here it reads the stream in process.
            wiring::spawn_local(config, &args.table, &feed_settings(args))
                .await
                .map_err(|e| anyhow::anyhow!(e))
                .context("starting the change feed")?;
            let oauth_store =
                DynamoOAuthStore::new(aws_sdk_dynamodb::Client::new(config), args.table.clone());
            api::build(dynamo, oauth_store, tokens, keys, &settings)?
        }
        StoreKind::Memory => {
            let memory = MemoryStore::with_feed_window(args.memory_feed_events);
            if let Some(attached) = memory.attach_feed() {
                wiring::spawn_memory(attached, &feed_settings(args));
            }
            api::build(memory, MemoryOAuthStore::new(), tokens, keys, &settings)?
        }
    };
    listen(api, args).await
}

async fn listen(api: Api, args: &ServeArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    // One write: a reader that stops after the first line cannot make a later line fail.
    let mut banner = format!(
        "SCIM endpoint (Tenant URL): http://{addr}{}\n",
        args.base_path.trim_end_matches('/')
    );
    if args.admin_token.is_some() {
        banner.push_str(&format!(
            "Admin API: http://{addr}/admin/v1 (Authorization: Bearer $SCIM_ADMIN_TOKEN)\n"
        ));
    }
    if api.oauth {
        banner.push_str(&format!(
            "OAuth token endpoint: http://{addr}/oauth2/token\n"
        ));
    }
    print!("{banner}");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    serve_connections(listener, api.app).await
}

/// HTTP/1 connections with a header-read (and idle) timeout, at most [`MAX_CONNECTIONS`] at a
/// time, until Ctrl-C (open connections finish their request).
async fn serve_connections(listener: TcpListener, app: App) -> anyhow::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut shutdown = std::pin::pin!(tokio::signal::ctrl_c());
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => p.context("connection limit")?,
            _ = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let app = app.clone();
        connections.spawn(async move {
            let _permit = permit;
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut app = app.clone();
                    async move { app.call(req.map(axum::body::Body::new)).await }
                });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(error = %e, "connection ended");
            }
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
    Ok(())
}
