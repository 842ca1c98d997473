//! Starting the service: the configuration resolved once ([`Settings`]), then the store, the
//! token source, OAuth, the change feed and the purge built once, and the function or server
//! they make up. Both binaries are thin calls into this module:
//!
//! - `lambda.rs`: everything a Lambda function runs, picked by `SCIM_FUNCTION` (`api`, `stream`,
//!   `deliver`, `purge`); the only part the Lambda binary (`src/bin/function.rs`) reaches;
//! - `local.rs`: the server of `cargo run` (embedded store, or DynamoDB with the feed read from
//!   the table's stream in process) behind a guarded hyper listener;
//! - `api.rs`: the SCIM/admin/OAuth application both of them serve;
//! - `settings.rs`: flags and environment resolved into settings, once;
//! - `aws.rs`: the AWS SDK configuration every client is built from.

mod api;
mod aws;
pub mod lambda;
pub mod local;
mod settings;

pub use aws::aws_config;
pub use settings::{Mode, Settings};

use crate::config::ServeArgs;

/// Serves as the process is placed: a Lambda function when Lambda started it, otherwise a
/// local server.
///
/// # Errors
/// A setting that cannot work, an AWS resource that cannot be reached at start-up, or the
/// listener failing.
pub async fn serve(args: ServeArgs, mode: Mode) -> anyhow::Result<()> {
    match mode {
        Mode::Lambda => lambda::run(args).await,
        Mode::Local => local::serve(args).await,
    }
}

/// Starts logging to standard error: JSON lines in Lambda (CloudWatch), compact text locally.
pub fn init_tracing(mode: Mode) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a terminal: in a pipe or CloudWatch they are noise and cost time.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match mode {
        Mode::Lambda => builder.json().with_current_span(false).init(),
        Mode::Local => builder.compact().init(),
    }
}
