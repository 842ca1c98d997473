//! The binary: reads the configuration once, starts tracing, builds the store and the token
//! source once, and serves the router locally or as a Lambda function.

use std::sync::Arc;

use anyhow::Context;
use aws_config::{BehaviorVersion, SdkConfig};
use axum::Router;
use clap::Parser;
use scim_lambda::admin::{
    CheckOutcome, DropOutcome, check_endpoint, drop_previous_token, recount_counts, rotate_token,
    tail_events,
};
use scim_lambda::auth::TokenDigest;
use scim_lambda::auth::cache::SystemClock;
use scim_lambda::auth::signing::SigningKeys;
use scim_lambda::auth::{SecretsManagerToken, StaticToken, generate_token};
use scim_lambda::config::{
    Cli, Command, EventsCommand, Function, RecountArgs, ServeArgs, StoreKind, TokenCommand,
};
use scim_lambda::feed::wiring::{self, FeedSettings};
use scim_lambda::http::admin::AdminAuth;
use scim_lambda::http::metrics::Settings as MetricSettings;
use scim_lambda::http::oauth::oauth_router;
use scim_lambda::http::oauth_admin::oauth_admin_router;
use scim_lambda::http::{LogFormat, app_with, subscriber};
use scim_lambda::oauth::access::Lifetime;
use scim_lambda::oauth::clock::{SystemWallClock, WallClock};
use scim_lambda::oauth_server::AuthServer;
use scim_lambda::oauth_server::admin::AdminError;
use scim_lambda::oauth_server::cli::Target;
use scim_lambda::oauth_server::settings::{Wiring, wire};
use scim_lambda::scim::cursor::CursorKey;
use scim_lambda::service::Service;
use scim_lambda::store::Store;
use scim_lambda::store::dynamo::DynamoStore;
use scim_lambda::store::dynamo::oauth::DynamoOAuthStore;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::store::memory_oauth::MemoryOAuthStore;
use scim_lambda::store::oauth::OAuthStore;
use scim_lambda::tenancy::Tenancy;
use scim_lambda::tenancy::status::RegistryTenantStatus;
use scim_lambda::{AppState, Tokens};
use secrecy::{ExposeSecret, SecretString};

/// Where the process runs, decided once from `AWS_LAMBDA_RUNTIME_API`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A Lambda function: data must outlive the instance, credentials come from AWS.
    Lambda,
    /// A local server on `--listen`.
    Local,
}

/// Where the bearer token comes from.
enum TokenSetting {
    /// A Secrets Manager secret (its `AWSCURRENT` and `AWSPREVIOUS` versions).
    SecretsManager(String),
    /// A fixed token (local runs).
    Static(SecretString),
}

/// The configuration, resolved once: every later step reads this, never the environment.
struct Settings {
    mode: Mode,
    store: StoreKind,
    token: TokenSetting,
    cursor_key: Option<SecretString>,
    /// The per-request metrics line: in Lambda only.
    metrics: Option<MetricSettings>,
    args: ServeArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mode = if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        Mode::Lambda
    } else {
        Mode::Local
    };
    init_tracing(mode);
    match cli.command {
        // Boxed: the serving futures are large, and main's own future stays small.
        Some(Command::Serve(args)) => Box::pin(start(*args, mode)).await,
        Some(Command::Token(command)) => token(command).await,
        Some(Command::Recount(args)) => recount(args).await,
        Some(Command::Events(EventsCommand::Tail {
            tenant,
            table,
            after,
            follow,
        })) => {
            let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
            let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table);
            let mut out = std::io::stdout();
            tail_events(&store, &tenant, after, follow, &mut out).await?;
            Ok(())
        }
        Some(Command::Client(command)) => {
            let target = command.target().clone();
            oauth_admin(&target, |server| async move { command.run(&server).await }).await
        }
        Some(Command::Federated(command)) => {
            let target = command.target().clone();
            oauth_admin(&target, |server| async move { command.run(&server).await }).await
        }
        Some(Command::Tenant(command)) => Box::pin(scim_lambda::cli::run_tenant(command)).await,
        None => Box::pin(start(serve_args_from_env(), mode)).await,
    }
}

/// Runs the function this instance is configured for: the API, or (in Lambda) one of the
/// change feed's functions, which need neither a SCIM token nor the router.
async fn start(args: ServeArgs, mode: Mode) -> anyhow::Result<()> {
    match (mode, args.function) {
        (Mode::Lambda, Function::Stream) => {
            let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
            wiring::stream_function(&config, &args.table, &feed_settings(&args))
                .await
                .map_err(|e| anyhow::anyhow!(e))
        }
        (Mode::Lambda, Function::Deliver) => {
            let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
            wiring::delivery_function(&config, &args.table, &feed_settings(&args))
                .await
                .map_err(|e| anyhow::anyhow!(e))
        }
        (Mode::Lambda, Function::Purge) => purge_worker(&args.table).await,
        (Mode::Lambda, Function::Api) | (Mode::Local, _) => serve(resolve(args, mode)?).await,
    }
}

fn feed_settings(args: &ServeArgs) -> FeedSettings {
    FeedSettings {
        event_bus: args.event_bus.clone(),
        delivery_queue_url: args.delivery_queue_url.clone(),
        dead_letter_queue_url: args.dead_letter_queue_url.clone(),
        retention_secs: args.event_retention_days.saturating_mul(86_400),
    }
}

/// `scim-lambda` alone means `scim-lambda serve`, still honouring the environment.
fn serve_args_from_env() -> ServeArgs {
    #[derive(clap::Parser)]
    struct Only {
        #[command(flatten)]
        args: ServeArgs,
    }
    Only::parse_from(["scim-lambda"]).args
}

fn resolve(args: ServeArgs, mode: Mode) -> anyhow::Result<Settings> {
    // In Lambda the data must outlive the instance: the store is always DynamoDB.
    let store = match mode {
        Mode::Lambda => StoreKind::Dynamodb,
        Mode::Local => args.store,
    };
    let token = match (&args.token_secret_id, mode) {
        (Some(id), _) => TokenSetting::SecretsManager(id.clone()),
        // Fail closed: a deployed function without a secret would have no credential at all.
        (None, Mode::Lambda) => {
            anyhow::bail!("SCIM_TOKEN_SECRET_ID must name the token secret in Lambda")
        }
        (None, Mode::Local) => TokenSetting::Static(match &args.token {
            Some(t) => t.clone(),
            None => {
                let t = generate_token().context("generating a token")?;
                // Printed to the terminal on purpose, once, like an admin console's "Generate".
                println!(
                    "SCIM bearer token (set SCIM_TOKEN to choose your own): {}",
                    t.expose_secret()
                );
                t
            }
        }),
    };
    if let (TokenSetting::Static(scim), Some(admin)) = (&token, &args.admin_token) {
        // One credential must never open both kinds of routes.
        if scim.expose_secret() == admin.expose_secret() {
            anyhow::bail!("SCIM_ADMIN_TOKEN must differ from SCIM_TOKEN");
        }
    }
    if args.cursor_key.is_none() && mode == Mode::Lambda {
        tracing::warn!("SCIM_CURSOR_KEY is not set: cursors will not work across instances");
    }
    let metrics = match mode {
        Mode::Lambda => {
            let (metrics, unknown) = MetricSettings::from_values(
                Some(&args.metrics),
                args.metrics_stack.as_deref(),
                args.function_name.as_deref(),
            );
            if let Some(value) = unknown {
                tracing::warn!(value, "SCIM_METRICS is not full, status or off; using full");
            }
            Some(metrics)
        }
        Mode::Local => None,
    };
    Ok(Settings {
        mode,
        store,
        token,
        cursor_key: args.cursor_key.clone(),
        metrics,
        args,
    })
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let needs_aws = settings.store == StoreKind::Dynamodb
        || matches!(settings.token, TokenSetting::SecretsManager(_))
        || settings.args.oauth.signing_key_secret_id.is_some();
    // Built once, before serving, so warm invocations reuse the clients and their connections.
    let aws = if needs_aws {
        Some(aws_config::defaults(BehaviorVersion::latest()).load().await)
    } else {
        None
    };
    let keys = signing_keys(&settings, aws.as_ref()).await?;
    let tokens = match (&settings.token, &aws) {
        (TokenSetting::SecretsManager(id), Some(config)) => Tokens::SecretsManager {
            source: SecretsManagerToken::new(aws_sdk_secretsmanager::Client::new(config), id),
            tenant: settings.args.tenant.clone(),
        },
        (TokenSetting::Static(token), _) => {
            Tokens::Static(StaticToken::new(token).for_tenant(settings.args.tenant.clone()))
        }
        (TokenSetting::SecretsManager(_), None) => {
            anyhow::bail!("the AWS configuration was not loaded for the token secret")
        }
    };
    match settings.store {
        StoreKind::Dynamodb => {
            let config = aws_config_for_store(aws.as_ref())?;
            let dynamo = DynamoStore::new(
                aws_sdk_dynamodb::Client::new(config),
                settings.args.table.clone(),
            );
            if settings.args.create_table {
                dynamo
                    .create_table_if_missing()
                    .await
                    .context("creating the DynamoDB table")?;
            }
            // In Lambda the stream function runs the feed; a local server runs it in process.
            if settings.mode == Mode::Local {
                wiring::spawn_local(config, &settings.args.table, &feed_settings(&settings.args))
                    .await
                    .map_err(|e| anyhow::anyhow!(e))
                    .context("starting the change feed")?;
            }
            let oauth_store = DynamoOAuthStore::new(
                aws_sdk_dynamodb::Client::new(config),
                settings.args.table.clone(),
            );
            serve_with(dynamo, oauth_store, tokens, keys, &settings).await
        }
        StoreKind::Memory => {
            let memory = MemoryStore::new();
            if let Some(attached) = memory.attach_feed() {
                wiring::spawn_memory(attached, &feed_settings(&settings.args))
                    .context("starting the change feed")?;
            }
            serve_with(memory, MemoryOAuthStore::new(), tokens, keys, &settings).await
        }
    }
}

/// The signing keys, or `None` when OAuth is off (in Lambda without a signing-key secret).
async fn signing_keys(
    settings: &Settings,
    aws: Option<&SdkConfig>,
) -> anyhow::Result<Option<Arc<SigningKeys>>> {
    let oauth = &settings.args.oauth;
    let keys = match (&oauth.signing_key_secret_id, settings.mode) {
        (Some(id), _) => {
            let config = aws.context("the AWS configuration was not loaded for the signing key")?;
            let client = aws_sdk_secretsmanager::Client::new(config);
            SigningKeys::from_secrets_manager(client, id, SystemWallClock.now())
                .await
                .context("loading the access-token signing keys")?
        }
        (None, Mode::Lambda) => return Ok(None),
        (None, Mode::Local) => SigningKeys::local(oauth.local_seed().as_deref())
            .context("creating a local signing key")?,
    };
    Ok(Some(Arc::new(keys)))
}

async fn serve_with<S: Store, O: OAuthStore>(
    store: S,
    oauth_store: O,
    tokens: Tokens,
    keys: Option<Arc<SigningKeys>>,
    settings: &Settings,
) -> anyhow::Result<()> {
    let mut state = state(store, tokens, settings);
    let mut public = Router::new();
    let mut admin = Router::new();
    if let Some(keys) = keys {
        let oauth = &settings.args.oauth;
        let lifetime =
            Lifetime::new(oauth.access_token_lifetime).context("SCIM_ACCESS_TOKEN_LIFETIME")?;
        let wired = wire(Wiring {
            store: Arc::new(oauth_store),
            keys,
            clock: Arc::new(SystemWallClock),
            // Disabling or deleting a tenant in the registry refuses its clients and tokens.
            tenants: Arc::new(RegistryTenantStatus::new(Arc::clone(&state.service))),
            lifetime,
            issuer: oauth.oauth_issuer.clone(),
            base_path: settings.args.base_path.clone(),
            allow_loopback_http: settings.mode == Mode::Local,
        })
        .context("setting up OAuth")?;
        state = state.with_access_tokens(wired.access);
        public = oauth_router::<S, O>(Arc::clone(&wired.server));
        admin = oauth_admin_router::<O>().with_state(wired.server);
    }
    run(state, public, admin, settings).await
}

fn aws_config_for_store(aws: Option<&SdkConfig>) -> anyhow::Result<&SdkConfig> {
    aws.context("the AWS configuration was not loaded for the DynamoDB store")
}

fn state<S: Store>(store: S, tokens: Tokens, settings: &Settings) -> AppState<S> {
    let mut service = Service::new(store);
    if let Some(key) = &settings.cursor_key {
        service = service.with_cursor_key(CursorKey::derive(key.expose_secret().as_bytes()));
    }
    let args = &settings.args;
    let admin = match (settings.mode, &args.admin_token) {
        (Mode::Lambda, _) => AdminAuth::Iam,
        (Mode::Local, Some(token)) => match TokenDigest::of_secret(token) {
            Some(d) => AdminAuth::Token(d),
            None => AdminAuth::Off,
        },
        (Mode::Local, None) => AdminAuth::Off,
    };
    let tenancy = Tenancy::new(Arc::new(SystemClock), args.tenant_requests_per_second)
        .with_background_purge(settings.mode == Mode::Local);
    AppState::new(service, tokens, &args.base_path)
        .with_tenancy(tenancy)
        .with_admin(admin)
        .with_public_url(args.public_url.as_deref())
        .with_trusted_forwarding(args.trust_forwarded_headers)
        .with_metrics(settings.metrics.clone())
}

/// Runs an OAuth admin command on the DynamoDB table with the operator's AWS credentials.
async fn oauth_admin<F, Fut>(target: &Target, run: F) -> anyhow::Result<()>
where
    F: FnOnce(Arc<AuthServer<DynamoOAuthStore>>) -> Fut,
    Fut: std::future::Future<Output = Result<String, AdminError>>,
{
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let store = DynamoOAuthStore::new(aws_sdk_dynamodb::Client::new(&config), target.table.clone());
    let wired = wire(Wiring {
        store: Arc::new(store),
        // Admin commands never sign: a throwaway key satisfies the wiring.
        keys: Arc::new(SigningKeys::local(None).context("creating a key")?),
        clock: Arc::new(SystemWallClock),
        // Admin commands issue no access token, so no tenant status is consulted.
        tenants: Arc::new(scim_lambda::auth::liveness::AllTenantsActive),
        lifetime: Lifetime::default(),
        issuer: None,
        base_path: "/scim/v2".into(),
        allow_loopback_http: false,
    })
    .context("setting up OAuth")?;
    let out = run(wired.server).await.map_err(|e| anyhow::anyhow!(e))?;
    println!("{out}");
    Ok(())
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
        TokenCommand::DropPrevious { secret_id } => {
            let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
            let client = aws_sdk_secretsmanager::Client::new(&config);
            match drop_previous_token(&client, &secret_id).await? {
                DropOutcome::Dropped { version_id } => println!(
                    "Removed AWSPREVIOUS from version {version_id}: only the current token works \
                     once each function instance refreshes (within 5 minutes)."
                ),
                DropOutcome::NothingToDrop => {
                    println!("No version holds AWSPREVIOUS: only the current token works.");
                }
            }
            Ok(())
        }
        TokenCommand::Check { url, token } => match check_endpoint(&url, &token).await {
            CheckOutcome::Ok => {
                println!(
                    "OK: {url} answered Entra's Test Connection probe with an empty ListResponse."
                );
                Ok(())
            }
            CheckOutcome::Problem(why) => anyhow::bail!(why),
        },
        TokenCommand::Tenant(command) => scim_lambda::cli::run_token(command).await,
    }
}

async fn recount(args: RecountArgs) -> anyhow::Result<()> {
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), args.table.clone());
    let counts = recount_counts(&store, &args.tenant)
        .await
        .with_context(|| format!("recounting table {}", args.table))?;
    for (kind, n) in counts {
        println!("{}: {n}", kind.endpoint());
    }
    Ok(())
}

/// The scheduled purge (a function of the stack, same binary, `SCIM_FUNCTION=purge`):
/// each invocation resumes every pending purge of a deleted tenant. Lambda freezes a process
/// between invocations, so this cannot be a task spawned by the DELETE request.
async fn purge_worker(table: &str) -> anyhow::Result<()> {
    use lambda_http::{LambdaEvent, service_fn};
    use scim_lambda::tenancy::purge::{GRACE, purge_pending};
    let table = table.to_string();
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let store = std::sync::Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        table,
    ));
    let handler = service_fn(move |_event: LambdaEvent<serde_json::Value>| {
        let store = std::sync::Arc::clone(&store);
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

/// Resources one purge run deletes per tenant (a few minutes of DynamoDB writes at most).
const PURGE_BUDGET: usize = 20_000;

async fn run<S: Store>(
    state: AppState<S>,
    public: Router<AppState<S>>,
    admin: Router,
    settings: &Settings,
) -> anyhow::Result<()> {
    let state_has_oauth = state.access.is_some();
    let app = app_with(state, public, admin);
    if settings.mode == Mode::Lambda {
        return lambda_http::run(app).await.map_err(|e| anyhow::anyhow!(e));
    }
    let args = &settings.args;
    let listener = tokio::net::TcpListener::bind(args.listen)
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
    if state_has_oauth {
        banner.push_str(&format!(
            "OAuth token endpoint: http://{addr}/oauth2/token\n"
        ));
    }
    print!("{banner}");
    let _ = std::io::Write::flush(&mut std::io::stdout());
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

fn init_tracing(mode: Mode) {
    // Colour codes only for a terminal: in a pipe or CloudWatch they are noise and cost time.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let format = match mode {
        Mode::Lambda => LogFormat::Json,
        Mode::Local => LogFormat::Compact,
    };
    // Set once, first thing in main: nothing can have set another subscriber before.
    let _ = tracing_subscriber::util::SubscriberInitExt::try_init(subscriber(
        format,
        std::io::stderr,
        ansi,
    ));
}
