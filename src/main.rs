//! `scim-lambda`: the local server (`cargo run`), the operator commands, and (when Lambda starts
//! it) any of the functions. The wiring lives in `scim_lambda::run`, the commands in
//! `scim_lambda::cli`; the deployed functions use the leaner `src/bin/function.rs`.

use clap::Parser;
use scim_lambda::config::{Cli, Command, ServeArgs};
use scim_lambda::run::{self, Mode};

// The local server allocates and frees parsed documents on several threads at a high rate;
// with jemalloc a sync costs 13 % fewer instructions per request than with glibc's malloc
// (docs/performance.md, "The allocator"). The Lambda bootstrap (src/bin/function.rs) serves
// one request at a time and keeps the system allocator.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mode = Mode::detect();
    run::init_tracing(mode);
    match cli.command {
        // Boxed: the serving futures are large, and main's own future stays small.
        Some(Command::Serve(args)) => Box::pin(run::serve(*args, mode)).await,
        Some(Command::Operator(command)) => Box::pin(scim_lambda::cli::run(command)).await,
        // `scim-lambda` alone means `scim-lambda serve`, still honouring the environment.
        None => Box::pin(run::serve(ServeArgs::from_env(), mode)).await,
    }
}
