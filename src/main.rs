//! The binary: reads the configuration, starts tracing, builds the store and the token source
//! once, and serves the router locally or as a Lambda function.

use anyhow::Context;
use aws_config::BehaviorVersion;
use clap::Parser;
use scim_lambda::admin::{CheckOutcome, check_endpoint, rotate_token};
use scim_lambda::auth::{SecretsManagerToken, StaticToken, generate_token};
use scim_lambda::config::{Cli, Command, ServeArgs, StoreKind, TokenCommand};
use scim_lambda::scim::cursor::CursorKey;
use scim_lambda::service::Service;
use scim_lambda::store::dynamo::DynamoStore;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::store::{Store, TenantId};
use scim_lambda::{AppState, Tokens, app};
use secrecy::{ExposeSecret, SecretString};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let in_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    init_tracing(in_lambda);
    match cli.command {
        Some(Command::Serve(args)) => serve(args, in_lambda).await,
        Some(Command::Token(command)) => token(command).await,
        None => serve(ServeArgs::parse_from_env(), in_lambda).await,
    }
}

trait FromEnv {
    fn parse_from_env() -> Self;
}

impl FromEnv for ServeArgs {
    /// `scim-lambda` alone means `scim-lambda serve`, still honouring the environment.
    fn parse_from_env() -> Self {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            args: ServeArgs,
        }
        Only::parse_from(["scim-lambda"]).args
    }
}

async fn serve(args: ServeArgs, in_lambda: bool) -> anyhow::Result<()> {
    let tenant = TenantId::parse(&args.tenant).map_err(anyhow::Error::msg)?;
    // In Lambda the data must outlive the instance: the store is always DynamoDB.
    let store = if in_lambda {
        StoreKind::Dynamodb
    } else {
        args.store
    };
    let needs_aws = store == StoreKind::Dynamodb || args.token_secret_id.is_some();
    // Built once, before serving, so warm invocations reuse the clients and their connections.
    let aws = if needs_aws {
        Some(aws_config::defaults(BehaviorVersion::latest()).load().await)
    } else {
        None
    };
    let tokens = match (&args.token_secret_id, &aws) {
        (Some(id), Some(config)) => Tokens::SecretsManager(SecretsManagerToken::new(
            aws_sdk_secretsmanager::Client::new(config),
            id,
        )),
        // Fail closed: a deployed function without a secret would have no credential at all.
        _ if in_lambda => {
            anyhow::bail!("SCIM_TOKEN_SECRET_ID must name the token secret in Lambda")
        }
        _ => local_token()?,
    };
    match (store, &aws) {
        (StoreKind::Dynamodb, Some(config)) => {
            let dynamo =
                DynamoStore::new(aws_sdk_dynamodb::Client::new(config), args.table.clone());
            if args.create_table {
                dynamo
                    .create_table_if_missing()
                    .await
                    .context("creating the DynamoDB table")?;
            }
            run(app(state(dynamo, tenant, tokens, &args)), &args, in_lambda).await
        }
        _ => {
            run(
                app(state(MemoryStore::new(), tenant, tokens, &args)),
                &args,
                in_lambda,
            )
            .await
        }
    }
}

fn state<S: Store>(store: S, tenant: TenantId, tokens: Tokens, args: &ServeArgs) -> AppState<S> {
    let mut service = Service::new(store, tenant);
    match &args.cursor_key {
        Some(key) => service = service.with_cursor_key(CursorKey::derive(key.as_bytes())),
        None if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() => {
            tracing::warn!("SCIM_CURSOR_KEY is not set: cursors will not work across instances");
        }
        None => {}
    }
    AppState::new(service, tokens, &args.base_path)
        .with_public_url(args.public_url.as_deref())
        .with_metrics(std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some())
}

async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Rotate { secret_id } => {
            let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
            let client = aws_sdk_secretsmanager::Client::new(&config);
            let token = rotate_token(&client, &secret_id).await?;
            // Shown once, for the admin to paste into Entra as the Secret Token.
            println!("{}", token.expose_secret());
            eprintln!(
                "New token stored as AWSCURRENT; the previous one stays valid until the next rotation."
            );
            Ok(())
        }
        TokenCommand::Check { url } => {
            let token =
                std::env::var("SCIM_TOKEN").context("set SCIM_TOKEN to the token to check")?;
            match check_endpoint(&url, &SecretString::from(token)).await {
                CheckOutcome::Ok => {
                    println!(
                        "OK: {url} answered Entra's Test Connection probe with an empty ListResponse."
                    );
                    Ok(())
                }
                CheckOutcome::Problem(why) => anyhow::bail!(why),
            }
        }
    }
}

/// `SCIM_TOKEN` from the environment, or a random token printed once.
fn local_token() -> anyhow::Result<Tokens> {
    let token = match std::env::var("SCIM_TOKEN") {
        Ok(t) if !t.is_empty() => SecretString::from(t),
        _ => {
            let t = generate_token().context("generating a token")?;
            // Printed to the terminal on purpose, once, like an admin console's "Generate".
            println!(
                "SCIM bearer token (set SCIM_TOKEN to choose your own): {}",
                t.expose_secret()
            );
            t
        }
    };
    Ok(Tokens::Static(StaticToken::new(&token)))
}

async fn run(app: scim_lambda::App, args: &ServeArgs, in_lambda: bool) -> anyhow::Result<()> {
    if in_lambda {
        return lambda_http::run(app).await.map_err(|e| anyhow::anyhow!(e));
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!(
        "SCIM endpoint (Tenant URL): http://{addr}{}",
        args.base_path.trim_end_matches('/')
    );
    serve_local(listener, app).await
}

/// How long a client may take to send a request's headers, counted from when the server is
/// ready to read them: after connecting and, on a kept-alive connection, after the previous
/// answer, so it is also the idle timeout. `axum::serve` sets none: a socket that never
/// finished its headers held a connection for a minute.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Most connections served at once; further ones wait in the listen backlog until one ends,
/// so a handful of slow sockets cannot take every task and file descriptor.
const MAX_CONNECTIONS: usize = 256;

/// The local HTTP/1 server: hyper connections with a header-read (and idle) timeout, at most
/// [`MAX_CONNECTIONS`] at a time, until Ctrl-C (open connections finish their request).
async fn serve_local(
    listener: tokio::net::TcpListener,
    app: scim_lambda::App,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::Service as _;

    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut shutdown = std::pin::pin!(tokio::signal::ctrl_c());
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            p = std::sync::Arc::clone(&permits).acquire_owned() => p.context("connection limit")?,
            _ = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
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

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a terminal: in a pipe or CloudWatch they are noise and cost time.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if json {
        builder.json().with_current_span(false).init();
    } else {
        builder.compact().init();
    }
}
