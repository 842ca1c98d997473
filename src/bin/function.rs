//! The Lambda bootstrap (`scim-lambda-function`): what the deployed functions run and nothing
//! else. It reads its settings from the environment (`SCIM_FUNCTION` picks api, stream, deliver
//! or purge) and reaches only `scim_lambda::run::lambda`, so the local listener, the embedded
//! store and the operator commands (with `token check`'s HTTPS client) are not linked in.

use scim_lambda::config::ServeArgs;
use scim_lambda::run::{self, Mode};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = ServeArgs::from_env();
    run::init_tracing(Mode::Lambda);
    // Boxed: the serving futures are large, and main's own future stays small.
    Box::pin(run::lambda::run(args)).await
}
