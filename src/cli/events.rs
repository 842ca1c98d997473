//! `scim-lambda events tail`: follows a tenant's change feed from the store, printing each
//! event as one JSON line, for an operator checking what an application receives.

use crate::clock::{Clock, SystemClock};
use std::io::Write;
use std::time::Duration;

use clap::Subcommand;

use crate::store::TenantId;
use crate::store::dynamo::DynamoStore;
use crate::store::feed::FeedStore;

/// `scim-lambda events ...`.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print a tenant's events as JSON lines, oldest first; with --follow, keep printing new
    /// ones as they are stored.
    Tail {
        /// The tenant.
        #[arg(long, value_parser = crate::config::tenant_id)]
        tenant: TenantId,
        /// The DynamoDB table, as in the stack output TableName.
        #[arg(long, env = "SCIM_TABLE")]
        table: String,
        /// Start after this position (`seq`); 0 replays everything retained.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// Keep following the feed.
        #[arg(long)]
        follow: bool,
    },
}

/// How often `--follow` asks for new events.
const POLL: Duration = Duration::from_secs(1);

/// Prints the events of `tenant` after `after` to `out`, one JSON document per line; with
/// `follow`, keeps polling for new ones until the process is stopped. Returns the position
/// reached (the `after` to continue from).
///
/// # Errors
/// When the store cannot be read or `out` cannot be written.
pub async fn tail_events<F: FeedStore>(
    feed: &F,
    tenant: &TenantId,
    mut after: u64,
    follow: bool,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<u64> {
    loop {
        let now = SystemClock.now_ms() / 1000;
        let page = feed.events(tenant, after, 1000, now).await?;
        for event in &page.events {
            writeln!(out, "{}", event.doc)?;
        }
        out.flush()?;
        let more = page.next > after && !page.events.is_empty();
        after = page.next;
        match (more, follow) {
            (true, _) => continue,
            (false, true) => tokio::time::sleep(POLL).await,
            (false, false) => return Ok(after),
        }
    }
}

/// Runs `scim-lambda events ...` on the deployment's table.
///
/// # Errors
/// When the table cannot be read or standard output written.
pub(super) async fn run(command: EventsCommand) -> anyhow::Result<()> {
    match command {
        EventsCommand::Tail {
            tenant,
            table,
            after,
            follow,
        } => {
            let config = crate::run::aws_config().await;
            let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table);
            tail_events(&store, &tenant, after, follow, &mut std::io::stdout()).await?;
            Ok(())
        }
    }
}
