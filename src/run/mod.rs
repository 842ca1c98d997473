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
pub(crate) mod local;
mod settings;

pub use aws::aws_config;
pub use settings::{Mode, Settings};

use crate::config::ServeArgs;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use crate::http::{LogFormat, subscriber};

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
    // Colour codes only for a terminal: in a pipe or CloudWatch they are noise and cost time.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let format = match mode {
        Mode::Lambda => LogFormat::Json,
        Mode::Local => LogFormat::Compact,
    };
    // Set once, first thing in main: nothing can have set another subscriber before.
    let _ = tracing_subscriber::util::SubscriberInitExt::try_init(subscriber(
        format,
        stderr_writer(),
        ansi,
    ));
}

/// Standard error without `std`'s lock around it. Each log line is formatted first and
/// written with one `write`, which the kernel keeps whole; `std::io::Stderr` also holds a
/// process-wide lock across that system call, so a local server's worker threads, logging
/// every request, queued on it and switched threads (futex waits: a third of the sync's
/// system calls, and most of its context switches).
fn stderr_writer() -> BoxMakeWriter {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
            return BoxMakeWriter::new(std::sync::Arc::new(std::fs::File::from(fd)));
        }
    }
    BoxMakeWriter::new(std::io::stderr)
}
